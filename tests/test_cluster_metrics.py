"""Leiden and k-means recover separated groups; agreement scores behave as defined."""

import numpy as np
import pytest

from sclatent.cluster import kmeans, leiden
from sclatent.embed import knn_graph
from sclatent.metrics import clustering_agreement


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
