"""scCAN steps 4-5: affinity networks and similarity network fusion against plain code."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sclatent.sccan import network


def blobs(n_per_group: int, n_groups: int, dim: int, seed: int, spread: float = 4.0):
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(n_groups), n_per_group)
    centres = rng.normal(0.0, spread, size=(n_groups, dim))
    return centres[truth] + rng.normal(size=(len(truth), dim)), truth


def plain_affinity(points, k, alpha):
    """SNFtool's affinityMatrix written out with loops and the math module."""
    n = len(points)
    dist = [[math.dist(points[i], points[j]) for j in range(n)] for i in range(n)]
    means = [sum(sorted(dist[i])[1 : k + 1]) / k + 2.0**-52 for i in range(n)]
    w = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            sig = max((means[i] + means[j]) / 3.0 + dist[i][j] / 3.0 + 2.0**-52, 2.0**-52)
            sd = alpha * sig
            w[i][j] = math.exp(-0.5 * (dist[i][j] / sd) ** 2) / (sd * math.sqrt(2 * math.pi))
    return np.array([[(w[i][j] + w[j][i]) / 2 for j in range(n)] for i in range(n)])


def plain_snf(views, k, iterations):
    """SNFtool's SNF written out with explicit loops (a different code path from the library)."""
    n = len(views[0])

    def normalize(x):
        out = np.zeros((n, n))
        for i in range(n):
            off = sum(x[i][j] for j in range(n) if j != i) or 1.0
            for j in range(n):
                out[i][j] = 0.5 if i == j else x[i][j] / (2 * off)
        return (out + out.T) / 2

    def dominate(x):
        out = np.zeros((n, n))
        for i in range(n):
            top = sorted(range(n), key=lambda j: x[i][j])[n - k :]
            total = sum(x[i][j] for j in top)
            for j in top:
                out[i][j] = x[i][j] / total
        return out

    p = [normalize(v) for v in views]
    s = [dominate(v) for v in p]
    for _ in range(iterations):
        nxt = []
        for v in range(len(p)):
            others = sum(p[u] for u in range(len(p)) if u != v) / (len(p) - 1)
            nxt.append(s[v] @ others @ s[v].T)
        p = [normalize(x) for x in nxt]
    return normalize(sum(p) / len(p))


def test_affinity_and_fusion_match_hand_computation_on_seven_points():
    rng = np.random.default_rng(3)
    views = [rng.normal(size=(7, 2)) for _ in range(3)]
    expected_affinity = [plain_affinity(v, k=3, alpha=0.5) for v in views]
    affinity = [network.affinity_network(network.euclidean_distances(v), 3, 0.5) for v in views]
    for got, want in zip(affinity, expected_affinity, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    fused = network.fuse_networks(affinity, neighbors=4, iterations=3)
    np.testing.assert_allclose(fused, plain_snf(expected_affinity, k=4, iterations=3), rtol=1e-12)
    np.testing.assert_allclose(np.diag(fused), 0.5)
    np.testing.assert_allclose(fused, fused.T)


@pytest.mark.parametrize("n_cells", [40, 30, 97])
def test_sparse_snf_equals_dense_reference(n_cells):
    # n_cells == 30 == K exercises the reference's quirk of dropping the smallest entry
    views = [blobs(n_cells // 3 + 1, 3, 6, seed)[0][:n_cells] for seed in range(4)]
    affinity = [network.affinity_network(network.euclidean_distances(v)) for v in views]
    reference = network.fuse_networks_reference(affinity, neighbors=30, iterations=10)
    fast = network.fuse_networks(affinity, neighbors=30, iterations=10)
    np.testing.assert_allclose(fast, reference, rtol=1e-9, atol=1e-15)
    single = network.fuse_networks(affinity, neighbors=30, iterations=10, dtype=np.float32)
    np.testing.assert_allclose(single, reference, rtol=1e-4, atol=1e-7)


def test_dominant_set_keeps_k_largest_and_resolves_ties_like_r():
    row = np.array([[0.5, 0.2, 0.2, 0.1, 0.2, 0.3]])
    # keep 4: 0.5, 0.3 and two of the three 0.2s; R's stable sort zeroes the first tie
    kept = network.dominant_set(row.repeat(6, axis=0)[:, :6], 4).toarray()[0]
    np.testing.assert_allclose(kept, np.array([0.5, 0, 0.2, 0, 0.2, 0.3]) / 1.2)


def test_knn_affinity_is_the_dense_kernel_restricted_to_neighbours():
    points, _ = blobs(20, 3, 5, seed=1)
    dense = network.affinity_network(network.euclidean_distances(points), 20, 0.5)
    sparse = network.knn_affinity_network(points, knn=8, neighbors=20, alpha=0.5).toarray()
    assert (np.count_nonzero(sparse, axis=1) < 20).all()
    np.testing.assert_array_equal(sparse > 0, (sparse > 0).T)
    both = np.zeros_like(dense, dtype=bool)
    order = np.argsort(network.euclidean_distances(points), axis=1)[:, :9]
    for i, row in enumerate(order):
        both[i, row] = True
    # (distances from two Gram-matrix computations: equal to ~1e-8)
    np.testing.assert_allclose(sparse[both & both.T], dense[both & both.T], rtol=1e-6)
    # a pair that is a neighbour in one direction only carries half the symmetric weight
    np.testing.assert_allclose(sparse[both ^ both.T], dense[both ^ both.T] / 2, rtol=1e-6)
