"""The summary page's tables: winners with k found vs given, ranking, structure, references."""

import numpy as np
import pandas as pd

from sclatent.summary import (
    ari_by_dataset,
    build_summary,
    defaults_note,
    marker_overview,
    method_ranking,
    recommended_table,
    references_beside_ours,
    structure_table,
    upper_bound,
    winners,
)


def metrics_row(dataset, latent, clustering, ari, n_clusters, structure=True, n_types=5):
    return {
        "dataset": dataset,
        "latent": latent,
        "clustering": clustering,
        "ari": ari,
        "nmi": ari,
        "n_clusters": n_clusters,
        "n_types": n_types,
        "recommended": (latent, clustering) == ("sccan", "sccan_improved"),
        "cluster_silhouette": 0.2,
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
        metrics_row("b", "sccan", "sccan_improved", 0.45, 6, structure=False),
    ]
)
# a dataset without labels: no ARI, no k-given rows
UNLABELLED = pd.DataFrame(
    [
        metrics_row("u", "pca", "leiden", np.nan, 9, n_types=0),
        metrics_row("u", "sccan", "sccan_improved", np.nan, 7, structure=False, n_types=0),
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
    assert table.loc["a", "recommended ARI"] == 0.75
    assert table.loc["b", "recommended ARI"] == 0.45


def test_ranking_compares_only_methods_that_estimate_k():
    table = method_ranking(METRICS).set_index("method")
    assert "pca + kmeans" not in table.index  # told k: an upper bound, not a competitor
    assert "sccan + sccan_improved_kgiven" not in table.index
    assert table.loc["pca + leiden", "mean rank"] == (3 + 1) / 2
    assert table.loc["scvi + leiden", "datasets"] == 2
    assert np.isclose(table.loc["scvi + leiden", "mean ARI"], 0.65)
    assert table.index[0] == "scvi + leiden"  # ranks 1 and 2


def test_upper_bound_ranks_the_k_given_methods_apart():
    table = upper_bound(METRICS).set_index("method")
    assert set(table.index) == {"pca + kmeans", "sccan + sccan_improved_kgiven"}
    assert table.index[0] == "pca + kmeans"


def test_unlabelled_datasets_stay_out_of_label_rankings_but_in_the_recommended_table():
    metrics = pd.concat([METRICS, UNLABELLED], ignore_index=True)
    assert "u" not in set(winners(metrics)["dataset"])
    assert method_ranking(metrics).set_index("method").loc["pca + leiden", "datasets"] == 2
    table = recommended_table(metrics).set_index("dataset")
    assert table.loc["u", "labels"] == "no" and table.loc["u", "k found"] == 7
    assert np.isnan(table.loc["u", "ARI"]) and table.loc["a", "ARI"] == 0.75
    assert table.loc["a", "true types"] == 5


def test_summary_page_of_an_unlabelled_run_says_what_was_skipped():
    environment = {"seed": 0, "hardware": {"summary": "test"}}
    page = build_summary(UNLABELLED, {}, environment)
    assert "have no labels (u)" in page
    assert "Winner per dataset" not in page  # nothing to score against
    assert "The recommended clustering on each dataset" in page
    empty = build_summary(UNLABELLED.iloc[:0], {}, environment)  # no rows at all: still a page
    assert "sclatent benchmark summary" in empty


def test_defaults_note_names_the_data_and_flags_overlap():
    assert "leave-one-dataset-out over 11 public labelled datasets" in defaults_note(["mine"])
    assert "not independent evidence" not in defaults_note(["mine"])
    assert "1 of this run's datasets were among them" in defaults_note(["pbmc68k_reduced"])


def test_marker_overview_lists_each_cluster_with_its_top_genes():
    markers = pd.DataFrame(
        {"cluster": [0, 0, 1, 1], "rank": [1, 2, 2, 1], "gene": ["A", "B", "D", "C"]}
    )
    sizes = pd.DataFrame({"cluster": [0, 1, 2], "cells": [10, 5, 1], "fraction": [0.6, 0.3, 0.1]})
    table = marker_overview(markers, sizes).set_index("cluster")
    assert table.loc["0", "top markers"] == "A, B"
    assert table.loc["1", "top markers"] == "C, D"
    assert table.loc["2", "top markers"] == "–"  # a cluster too small to test


def test_ari_table_has_one_row_per_method_and_a_column_per_dataset():
    table = ari_by_dataset(METRICS).set_index("method")
    assert list(table.columns) == ["k", "a", "b", "mean"]
    assert table.loc["scvi + leiden", "b"] == 0.50
    assert np.isclose(table.loc["pca + leiden", "mean"], 0.65)
    assert np.isnan(table.loc["pca + kmeans", "b"])  # not run there: no score invented
    assert table.loc["pca + kmeans", "k"] == "given"
    assert table.loc["sccan + sccan_improved_kgiven", "k"] == "given"
    assert table.loc["sccan + sccan_improved", "k"] == "found"
    assert table.index[0] == "scvi + leiden"  # methods that find k first, best mean first
    assert list(table["k"]) == ["found"] * 3 + ["given"] * 2


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
