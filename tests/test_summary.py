"""The summary page's tables: winners with k found vs given, ranking, structure, references."""

import numpy as np
import pandas as pd

from sclatent.summary import (
    ari_by_dataset,
    method_ranking,
    references_beside_ours,
    structure_table,
    winners,
)


def metrics_row(dataset, latent, clustering, ari, n_clusters, structure=True):
    return {
        "dataset": dataset,
        "latent": latent,
        "clustering": clustering,
        "ari": ari,
        "nmi": ari,
        "n_clusters": n_clusters,
        "n_types": 5,
        "n_cells": 1000,
        "latent_seconds": 10.0,
        "clustering_seconds": 2.0,
        "local_overlap": 0.3 if structure else np.nan,
        "global_spearman": 0.5 if structure else np.nan,
        "silhouette": 0.1 if structure else np.nan,
        "knn_accuracy": 0.9 if structure else np.nan,
    }


METRICS = pd.DataFrame(
    [
        metrics_row("a", "pca", "leiden", 0.70, 6),
        metrics_row("a", "pca", "kmeans", 0.95, 5),  # told k: never the k-found winner
        metrics_row("a", "scvi", "leiden", 0.80, 5),
        metrics_row("a", "sccan", "sccan_improved", 0.75, 4, structure=False),
        metrics_row("a", "sccan", "sccan_improved_kgiven", 0.90, 5, structure=False),
        metrics_row("b", "pca", "leiden", 0.60, 7),
        metrics_row("b", "scvi", "leiden", 0.50, 4),
    ]
)


def test_winner_is_the_best_method_that_found_k_itself():
    table = winners(METRICS).set_index("dataset")
    assert table.loc["a", "best (k found)"] == "scvi + leiden"
    assert table.loc["a", "next best"] == "sccan + sccan_improved"
    assert np.isclose(table.loc["a", "margin over next"], 0.05)
    assert table.loc["a", "PCA+Leiden ARI"] == 0.70
    assert table.loc["a", "best (k given)"] == "pca + kmeans"
    assert table.loc["a", "seconds"] == 12.0
    assert table.loc["b", "best (k found)"] == "pca + leiden"


def test_ranking_averages_ranks_over_datasets():
    table = method_ranking(METRICS).set_index("method")
    assert table.loc["pca + leiden", "mean rank"] == (5 + 1) / 2
    assert table.loc["scvi + leiden", "datasets"] == 2
    assert np.isclose(table.loc["scvi + leiden", "mean ARI"], 0.65)
    assert table.index[0] == "pca + kmeans"  # rank 1 on its only dataset


def test_ari_table_has_one_row_per_method_and_a_column_per_dataset():
    table = ari_by_dataset(METRICS).set_index("method")
    assert list(table.columns) == ["k", "a", "b", "mean"]
    assert table.loc["scvi + leiden", "b"] == 0.50
    assert np.isclose(table.loc["pca + leiden", "mean"], 0.65)
    assert np.isnan(table.loc["pca + kmeans", "b"])  # not run there: no score invented
    assert table.loc["pca + kmeans", "k"] == "given"
    assert table.loc["sccan + sccan_improved_kgiven", "k"] == "given"
    assert table.loc["sccan + sccan_improved", "k"] == "found"
    assert table.index[0] == "pca + kmeans"  # best mean first


def test_structure_table_leaves_out_latents_without_structure_scores():
    table = structure_table(METRICS)
    assert set(table["latent"]) == {"pca", "scvi"}


def test_references_are_matched_to_the_same_k_setting():
    published = pd.DataFrame(
        [
            {
                "dataset": "a",
                "method": "X",
                "metric": "ARI",
                "value": 0.8,
                "k_given": "yes",
                "source": "doi",
            },
            {
                "dataset": "a",
                "method": "Y",
                "metric": "ARI",
                "value": 0.6,
                "k_given": "no",
                "source": "doi",
            },
            {
                "dataset": "c",
                "method": "Z",
                "metric": "ARI",
                "value": 0.5,
                "k_given": "no",
                "source": "doi",
            },
        ]
    )
    table = references_beside_ours(published, METRICS)
    assert list(table["our best"]) == ["pca + kmeans", "scvi + leiden", "not run"]
    assert table["our ARI"].iloc[0] == 0.95 and np.isnan(table["our ARI"].iloc[2])
