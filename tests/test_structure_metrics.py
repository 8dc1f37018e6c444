"""Structure-preservation and label-transfer scores on hand-made cases."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import ortho_group

from sclatent.metrics import (
    distance_correlation,
    label_transfer_accuracy,
    latent_scores,
    neighbour_overlap,
)


@pytest.fixture(scope="module")
def points():
    return np.random.default_rng(0).normal(size=(300, 10))


def test_isometric_latent_keeps_all_structure(points):
    rotated = points @ ortho_group.rvs(10, random_state=1) * 3.0 + 7.0
    assert distance_correlation(points, rotated) == pytest.approx(1.0)
    assert neighbour_overlap(points, rotated, k=10) == pytest.approx(1.0)


def test_random_latent_keeps_almost_none(points):
    noise = np.random.default_rng(5).normal(size=(300, 2))
    assert abs(distance_correlation(points, noise)) < 0.1
    assert neighbour_overlap(points, noise, k=10) < 0.1


def test_projection_keeps_part_of_the_structure(points):
    projected = points[:, :3]
    overlap = neighbour_overlap(points, projected, k=10)
    assert 0.1 < overlap < 0.9
    assert 0.3 < distance_correlation(points, projected) < 0.95


def test_label_transfer_accuracy_counts_majority_votes():
    # cells 0-2 type a, 3-5 type b; cell 2 is wired to b-neighbours only
    rows = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    cols = [1, 2, 0, 2, 3, 4, 4, 5, 3, 5, 3, 4]
    graph = sp.csr_matrix((np.ones(12), (rows, cols)), shape=(6, 6))
    truth = ["a", "a", "a", "b", "b", "b"]
    assert label_transfer_accuracy(graph, truth) == pytest.approx(5 / 6)


def test_latent_scores_on_separated_types():
    rng = np.random.default_rng(0)
    truth = np.repeat(["x", "y", "z"], 100)
    centres = {"x": 0.0, "y": 6.0, "z": 12.0}
    expression = np.stack([rng.normal(centres[t], 1.0, 20) for t in truth])
    from sclatent.embed import knn_graph

    graph = knn_graph(expression[:, :5], n_neighbors=10, seed=0).obsp["distances"]
    scores = latent_scores(expression[:, :5], sp.csr_matrix(expression), truth, graph, k=10)
    assert scores["silhouette"] > 0.5
    assert scores["knn_accuracy"] == pytest.approx(1.0)
    assert scores["global_spearman"] > 0.8
    assert scores["latent_dim"] == 5
    unlabelled = latent_scores(expression[:, :5], expression, None)
    assert np.isnan(unlabelled["silhouette"]) and np.isnan(unlabelled["knn_accuracy"])


def test_unlabelled_cells_leave_label_scores_empty_and_structure_scored(points):
    from sclatent.embed import knn_graph

    graph = knn_graph(points, n_neighbors=10, seed=0).obsp["distances"]
    unlabelled = np.full(len(points), np.nan, dtype=object)
    assert np.isnan(label_transfer_accuracy(graph, unlabelled))
    scores = latent_scores(points[:, :4], points, unlabelled, graph, k=10)
    assert np.isnan(scores["silhouette"]) and np.isnan(scores["knn_accuracy"])
    assert 0 < scores["local_overlap"] <= 1 and 0 < scores["global_spearman"] <= 1
