"""The Tracy-Widom count of the expression matrix and the k rule that reads it (gap_or_count)."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pytest
import scipy.sparse as sp

from sclatent.errors import InputError
from sclatent.figures import recommended_figure
from sclatent.recommend import k_evidence
from sclatent.sccan import cluster_latents, resolve_params, sccan_cluster
from sclatent.sccan.api import choose_k
from sclatent.sccan.signal_count import signal_count, signal_count_of_file, tracy_widom_count
from sclatent.sccan.spectral import gap_or_count

from .test_sccan_api import latent_blobs, synthetic_counts


def planted(groups: int, cells: int = 400, genes: int = 600, seed: int = 0):
    """Gaussian noise plus, per group, a shift of 1 on its own block of 40 genes."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, groups, cells)
    centres = np.zeros((groups, genes))
    for group in range(groups):
        centres[group, group * 40 : (group + 1) * 40] = 1.0
    return centres[truth] + rng.normal(size=(cells, genes))


def test_pure_noise_has_no_signal_direction():
    rng = np.random.default_rng(1)
    for cells, genes in ((300, 500), (800, 300), (200, 200)):
        assert tracy_widom_count(rng.normal(size=(cells, genes))) == 0


@pytest.mark.parametrize("groups", [2, 3, 5])
def test_count_is_the_number_of_planted_groups(groups):
    x = planted(groups)
    assert tracy_widom_count(x) == groups
    assert signal_count(x, 200, seed=1) == groups  # on subsamples of half the cells
    assert signal_count(sp.csr_matrix(x), 200, seed=1) == groups


def test_count_from_a_file_reads_the_same_cells_as_in_memory(tmp_path):
    x = sp.csr_matrix(planted(3, cells=500).astype(np.float32))
    path = tmp_path / "hvg.h5ad"
    ad.AnnData(X=x).write_h5ad(path)
    for seed in (0, 4):
        assert signal_count_of_file(path, 150, seed=seed) == signal_count(x, 150, seed=seed)
    assert signal_count_of_file(path, 150, seed=0) == 3
    dense = tmp_path / "dense.h5ad"  # a dense X is read row by row too
    ad.AnnData(X=x.toarray()).write_h5ad(dense)
    assert signal_count_of_file(dense, 150, seed=4) == signal_count(x, 150, seed=4)
    assert signal_count_of_file(dense, 1000, seed=0) == 3  # fewer cells than asked: all of them


def test_gap_or_count_takes_a_clear_gap_else_the_largest_gap_near_the_count():
    ks = np.arange(3, 11)
    clear = np.array([0.01, 0.30, 0.02, 0.1, 0.02, 0.01, 0.03, 0.01])  # k 4: 3 x the next
    assert gap_or_count(ks, clear, 8, 2.0) == (4, True)
    assert gap_or_count(ks, clear, 8, 4.0) == (9, False)  # 0.30 < 4 x 0.1: read near 8
    flat = np.array([0.05, 0.04, 0.02, 0.01, 0.03, 0.01, 0.045, 0.02])  # k 3 barely largest
    assert gap_or_count(ks, flat, 8, 2.0) == (9, False)
    assert gap_or_count(ks, flat, 6, 2.0) == (7, False)
    assert gap_or_count(ks, flat, 30, 2.0) == (3, False)  # count out of range: largest gap
    ties = np.array([0.05, 0.04, 0.02, 0.02, 0.02, 0.01, 0.01, 0.02])
    assert gap_or_count(ks, ties, 6, 2.0) == (5, False)  # equal gaps: the smaller k


def test_the_count_rule_needs_the_count_and_checks_its_params():
    latents, _ = latent_blobs(150, 4, seed=2)
    params = {"k_rule": "gap_or_count"}
    with pytest.raises(InputError, match="Tracy-Widom count"):
        cluster_latents(latents, "improved", params, seed=0)
    with pytest.raises(InputError, match="dominant_gap_ratio"):
        resolve_params("improved", params | {"dominant_gap_ratio": 0.5})
    with pytest.raises(InputError, match="count_cells"):
        resolve_params("improved", params | {"count_cells": 5})
    # k given: no count is needed
    assert cluster_latents(latents, "improved", params, seed=0, k=4).k == 4


def test_clear_gap_wins_over_a_wrong_count_and_a_flat_profile_follows_the_count():
    latents, truth = latent_blobs(240, 4, seed=5)
    result = cluster_latents(latents, "improved", {"k_rule": "gap_or_count"}, seed=0, k_count=9)
    assert result.k == 4 and result.k_count == 9
    # a graph with no clear gap: uniform noise fused
    rng = np.random.default_rng(0)
    noise = [rng.uniform(size=(200, 6)) for _ in range(3)]
    params = resolve_params("improved", {"k_rule": "gap_or_count", "dominant_gap_ratio": 50.0})
    from sclatent.sccan.api import fuse_sample

    _, fused = fuse_sample(noise, params, seed=0)
    found = choose_k(fused, params, count=11)
    gaps = dict(zip(found["ks"], found["gaps"], strict=True))
    assert found["k"] in (10, 11, 12) and gaps[found["k"]] == max(gaps[k] for k in (10, 11, 12))


def test_counts_input_computes_the_count_and_the_evidence_explains_it(tmp_path):
    counts, truth = synthetic_counts(n_per_group=60, n_groups=4, seed=3)
    params = {"views": ["pca"], "k_rule": "gap_or_count", "count_cells": 100}
    result = sccan_cluster(counts, "improved", params, seed=0, threads=1)
    assert result.k_count == 4 and result.k == 4
    record = result.summary()
    assert record["k_count"] == 4
    evidence = k_evidence(record)
    assert evidence["count"] == 4 and "the largest eigengap" in evidence["rule"]
    # the same record with a stricter ratio reads k near the count, and says so
    record["params"] = record["params"] | {"dominant_gap_ratio": 1e6}
    evidence = k_evidence(record)
    assert "within ±1 of the Tracy-Widom count 4" in evidence["rule"]
    coords = np.random.default_rng(0).normal(size=(len(truth), 2))
    path = tmp_path / "recommended.png"
    recommended_figure(coords, result.labels, truth.astype(str), evidence, path, "toy", "sccan")
    assert path.stat().st_size > 10_000
    # k given: no count, and the evidence says k was given
    given = sccan_cluster(counts, "improved", params, seed=0, k=3, threads=1)
    assert given.k_count is None and k_evidence(given.summary())["count"] is None
