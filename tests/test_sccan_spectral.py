"""scCAN steps 6-7: eigengap estimate of k, spectral clustering and Yu-Shi discretisation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ortho_group
from sklearn.metrics import adjusted_rand_score

from sclatent.sccan import network, spectral


def planted_partition(sizes, p_in: float, p_out: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Weighted planted-partition graph (symmetric, positive weights, 0.5 diagonal like SNF)."""
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(len(sizes)), sizes)
    same = truth[:, None] == truth[None, :]
    weights = np.where(same, p_in, p_out) * rng.uniform(0.5, 1.5, size=same.shape)
    weights = (weights + weights.T) / 2
    np.fill_diagonal(weights, 0.5)
    return weights, truth


@pytest.mark.parametrize(("sizes", "seed"), [((30, 40, 50, 35), 0), ((60, 20, 45, 50, 25, 40), 1)])
def test_eigengap_finds_k_and_spectral_clustering_recovers_the_partition(sizes, seed):
    graph, truth = planted_partition(sizes, 0.05, 0.002, seed)
    values, ks, gaps = spectral.eigengaps(graph, 2, 15)
    best, second = spectral.best_two_ks(ks, gaps)
    assert best == len(sizes)
    assert np.all(np.diff(values) >= -1e-12) and abs(values[0]) < 1e-10
    labels = spectral.spectral_clustering(graph, best)
    assert adjusted_rand_score(truth, labels) == 1.0


def test_partition_is_recovered_after_fusing_noisy_views():
    rng = np.random.default_rng(5)
    truth = np.repeat(np.arange(4), 40)
    centres = rng.normal(0, 3, size=(4, 8))
    views = [centres[truth] + rng.normal(0, 1.0, size=(len(truth), 8)) for _ in range(3)]
    affinity = [network.affinity_network(network.euclidean_distances(v)) for v in views]
    fused = network.fuse_networks(affinity)
    _, ks, gaps = spectral.eigengaps(fused, 2, 15)
    assert spectral.best_two_ks(ks, gaps)[0] == 4
    assert adjusted_rand_score(truth, spectral.spectral_clustering(fused, 4)) == 1.0


def test_lanczos_and_dense_solvers_agree():
    graph, truth = planted_partition((200, 180, 160, 150), 0.04, 0.008, seed=2)
    dense = spectral.eigengaps(graph, 2, 15, solver="dense")
    lanczos = spectral.eigengaps(graph, 2, 15, solver="lanczos")
    np.testing.assert_allclose(lanczos[0], dense[0], atol=1e-10)
    np.testing.assert_allclose(lanczos[2], dense[2], atol=1e-10)
    by_dense = spectral.spectral_clustering(graph, 4, solver="dense")
    by_lanczos = spectral.spectral_clustering(graph, 4, solver="lanczos")
    np.testing.assert_array_equal(by_dense, by_lanczos)
    assert adjusted_rand_score(truth, by_dense) == 1.0


def test_discretisation_is_one_hot_deterministic_and_basis_free():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 5, size=300)
    vectors = np.eye(5)[truth] + rng.normal(0, 0.3, size=(300, 5))
    labels = spectral.discretise(vectors)
    assert labels.shape == (300,) and labels.dtype.kind == "i"
    assert labels.min() >= 0 and labels.max() < 5
    np.testing.assert_array_equal(spectral.discretise(vectors.copy()), labels)
    # any orthonormal basis of the same subspace gives the same labels (no sign games)
    rotation = ortho_group.rvs(5, random_state=1)
    np.testing.assert_array_equal(spectral.discretise(vectors @ rotation), labels)
    assert adjusted_rand_score(truth, labels) > 0.9


def test_discretisation_starts_from_rs_middle_row():
    # two cells per cluster direction; with n = 5 R's round(2.5) = 2 picks the second row
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1], [0.1, 0.9], [1.0, 0.05]])
    labels = spectral.discretise(vectors, max_iterations=1)
    # the first rotation column is row 2 (1-based), i.e. cells like it get label 0
    assert labels[1] == 0 and labels[3] == 0 and labels[0] == 1
