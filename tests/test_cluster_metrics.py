"""Leiden and k-means recover separated groups; agreement and label-free scores behave as
defined; metrics.tsv keeps one schema."""

import numpy as np
import pytest

from sclatent.cluster import kmeans, leiden
from sclatent.embed import knn_graph
from sclatent.metrics import (
    METRIC_COLUMNS,
    cluster_silhouette,
    clustering_agreement,
    kmeans_rerun,
    label_free_scores,
    leiden_rerun,
    metrics_table,
    stability,
    views_silhouette,
)


def blobs(seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 10, size=(4, 8))
    latent = np.vstack([rng.normal(c, 1.0, size=(75, 8)) for c in centres]).astype(np.float32)
    return latent, np.repeat(np.arange(4), 75)


def test_kmeans_and_leiden_recover_blobs():
    latent, truth = blobs()
    assert clustering_agreement(truth, kmeans(latent, 4, seed=0))["ari"] == pytest.approx(1.0)
    labels = leiden(knn_graph(latent, n_neighbors=15, seed=0), resolution=0.5, seed=0)
    scores = clustering_agreement(truth, labels)
    assert scores["ari"] > 0.95 and scores["n_clusters"] == 4


def test_leiden_is_seeded():
    latent, _ = blobs(1)
    graph = knn_graph(latent, n_neighbors=10, seed=0)
    first = leiden(graph.copy(), resolution=2.0, seed=3)
    np.testing.assert_array_equal(first, leiden(graph.copy(), resolution=2.0, seed=3))


def test_leiden_gives_scanpys_communities_without_scanpy():
    import scanpy as sc

    latent, _ = blobs(2)
    graph = knn_graph(latent, n_neighbors=10, seed=0)
    for resolution, seed in ((1.0, 0), (3.0, 5)):
        scanpys = sc.tl.leiden(
            graph,
            resolution=resolution,
            random_state=seed,
            flavor="igraph",
            n_iterations=2,
            directed=False,
            copy=True,
        ).obs["leiden"]
        ours = leiden(graph, resolution=resolution, seed=seed)
        np.testing.assert_array_equal(ours, scanpys.astype(int).to_numpy())


def test_identical_and_permuted_labels_score_one():
    truth = np.array(["a", "a", "b", "b", "c", "c"])
    for predicted in ([0, 0, 1, 1, 2, 2], [2, 2, 0, 0, 1, 1]):
        scores = clustering_agreement(truth, np.array(predicted))
        assert scores["ari"] == pytest.approx(1) and scores["nmi"] == pytest.approx(1)
        assert scores["ami"] == pytest.approx(1)
        assert scores["n_clusters"] == scores["n_types"] == 3


def test_random_labels_score_near_zero_and_nmi_is_symmetric():
    rng = np.random.default_rng(0)
    truth, predicted = rng.integers(0, 5, 5000), rng.integers(0, 5, 5000)
    scores = clustering_agreement(truth, predicted)
    assert abs(scores["ari"]) < 0.01 and abs(scores["ami"]) < 0.01
    assert scores["nmi"] == pytest.approx(clustering_agreement(predicted, truth)["nmi"])


def test_missing_labels_give_nan_scores_but_count_clusters():
    scores = clustering_agreement(None, np.array([0, 1, 1]))
    assert np.isnan(scores["ari"]) and scores["n_clusters"] == 2
    partial = clustering_agreement([None, "a", "b"], np.array([0, 0, 1]))
    assert partial["n_types"] == 2 and partial["ari"] == pytest.approx(1)


def test_cluster_silhouette_matches_sklearn_on_small_data():
    from sklearn.metrics import silhouette_score

    latent, truth = blobs(2)
    labels = kmeans(latent, 3, seed=0)  # one cluster spans two blobs: not a perfect score
    expected = silhouette_score(latent.astype(np.float64), labels)
    assert cluster_silhouette(latent, labels) == pytest.approx(expected)
    assert cluster_silhouette(latent, truth) > cluster_silhouette(latent, labels)


def test_cluster_silhouette_is_sampled_with_its_seed_and_undefined_for_one_cluster():
    latent, truth = blobs(3)
    sampled = cluster_silhouette(latent, truth, sample=100, seed=4)
    assert sampled == cluster_silhouette(latent, truth, sample=100, seed=4)
    assert sampled != cluster_silhouette(latent, truth)
    assert np.isnan(cluster_silhouette(latent, np.zeros(len(truth), dtype=int)))
    assert np.isnan(views_silhouette([], truth))
    assert views_silhouette([latent, latent * 3], truth) == pytest.approx(
        cluster_silhouette(latent, truth)
    )


def clean_blobs(seed=0):
    """Three well-separated blobs of 60 cells: every method finds them whatever its seed."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0] * 5, [20.0] * 5, [-20.0] * 5])
    latent = np.vstack([rng.normal(c, 1.0, size=(60, 5)) for c in centres]).astype(np.float32)
    return latent, np.repeat(np.arange(3), 60)


def test_stability_of_clean_blobs_is_one_for_kmeans_and_leiden():
    latent, truth = clean_blobs()
    assert stability(truth, kmeans_rerun(latent, 3, n_init=3), seed=0) == pytest.approx(1.0)
    graph = knn_graph(latent, n_neighbors=15, seed=0)
    labels = leiden(graph.copy(), resolution=0.5, seed=0)
    rerun = leiden_rerun(graph, resolution=0.5)
    assert stability(labels, rerun, seed=0) == pytest.approx(1.0)


def test_stability_of_a_random_partition_is_low():
    latent, _ = clean_blobs()
    noise = np.random.default_rng(1).integers(0, 3, len(latent))
    assert stability(noise, kmeans_rerun(latent, 3, n_init=3), seed=0) < 0.05


def test_stability_reruns_on_seeded_subsamples_with_new_seeds():
    seen = []

    def recluster(cells, seed):
        seen.append((tuple(cells), seed))
        return np.zeros(len(cells), dtype=int)

    stability(np.zeros(50, dtype=int), recluster, seed=7)
    first = list(seen)
    stability(np.zeros(50, dtype=int), recluster, seed=7)
    assert seen[3:] == first  # deterministic given the seed
    assert [seed for _, seed in first] == [8, 9, 10]  # never the original run's seed 7
    assert {len(cells) for cells, _ in first} == {40}
    assert len({cells for cells, _ in first}) == 3


def test_label_free_scores_of_each_kind_of_clustering():
    latent, truth = clean_blobs()
    graph = knn_graph(latent, n_neighbors=15, seed=0)
    leiden_row = label_free_scores("leiden", truth, latent=latent, graph=graph, resolution=0.5)
    kmeans_row = label_free_scores("kmeans", truth, latent=latent, n_init=3)
    sccan_row = label_free_scores("sccan_improved", truth, views=[latent])
    for row in (leiden_row, kmeans_row, sccan_row):
        assert row["cluster_silhouette"] > 0.8
    assert leiden_row["stability"] == pytest.approx(1.0)
    assert kmeans_row["stability"] == pytest.approx(1.0)
    assert np.isnan(sccan_row["stability"])  # a scCAN re-run costs a whole clustering


def test_metrics_table_has_one_schema_with_or_without_rows():
    empty = metrics_table([], recommended=("pca", "leiden"))
    assert list(empty.columns) == METRIC_COLUMNS and empty.empty
    rows = [
        {"dataset": "b", "latent": "pca", "clustering": "leiden", "ari": float("nan")},
        {"dataset": "a", "latent": "pca", "clustering": "kmeans", "ari": 0.9, "extra": 1},
        {"dataset": "a", "latent": "pca", "clustering": "leiden", "ari": 0.8},
        {"dataset": "a", "latent": "sccan", "clustering": "sccan_improved_kgiven", "ari": 0.7},
    ]
    table = metrics_table(rows, recommended=("pca", "leiden"))
    assert list(table.columns) == [*METRIC_COLUMNS, "extra"]
    assert list(table["dataset"]) == ["a", "a", "a", "b"]
    assert list(table["k_given"]) == [True, False, True, False]
    assert list(table["recommended"]) == [False, True, False, True]
