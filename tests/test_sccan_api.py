"""scCAN end to end: parameters, scaling, the VAE ensemble, the big-data path, determinism."""

from __future__ import annotations

import logging

import anndata as ad
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import adjusted_rand_score

from sclatent.errors import InputError
from sclatent.sccan import (
    cluster_latents,
    default_params,
    resolve_params,
    sccan_cluster,
    sccan_latents,
)
from sclatent.sccan.scaling import scale_counts

from .conftest import sigterm_once_started

# small and quick: two models, two snapshots, few epochs (the algorithm is unchanged)
QUICK = {
    "n_models": 2,
    "n_snapshots": 2,
    "warmup_epochs": 1,
    "train_epochs": 2,
    "gene_filter_epochs": 1,
}


def synthetic_counts(n_per_group=50, n_groups=3, n_genes=300, seed=0):
    """Poisson counts with group-specific marker genes, CSR float32."""
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(n_groups), n_per_group)
    means = rng.gamma(0.6, 2.0, size=(n_groups, n_genes))
    markers = rng.choice(n_genes, size=(n_groups, 20), replace=False)
    for group, genes in enumerate(markers):
        means[group, genes] *= 25
    counts = rng.poisson(means[truth] * rng.uniform(0.5, 1.5, size=(len(truth), 1)))
    counts[:, :3] = 0  # silent genes
    return sp.csr_matrix(counts.astype(np.float32)), truth


def latent_blobs(n_cells, n_groups, seed, n_views=3, dim=8):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, n_groups, size=n_cells)
    centres = rng.normal(0, 4, size=(n_groups, dim))
    return [centres[truth] + rng.normal(size=(n_cells, dim)) for _ in range(n_views)], truth


def test_unknown_or_bad_params_raise_input_error_naming_the_key():
    with pytest.raises(InputError, match="'snf_neighbours'"):
        resolve_params("faithful", {"snf_neighbours": 20})
    with pytest.raises(InputError, match="k_rule"):
        resolve_params("improved", {"k_rule": "largest"})
    with pytest.raises(InputError, match="sample_size"):
        resolve_params("faithful", {"sample_size": 0})
    with pytest.raises(InputError, match="flavour"):
        default_params("fast")
    with pytest.raises(InputError, match="'bogus'"):
        sccan_cluster(synthetic_counts()[0], "faithful", {"bogus": 1})


def test_faithful_defaults_are_the_reference_defaults():
    faithful = default_params("faithful")
    assert faithful["snf_neighbors"] == 30 and faithful["snf_iterations"] == 10
    assert faithful["affinity_neighbors"] == 20 and faithful["affinity_alpha"] == 0.5
    assert (faithful["k_min"], faithful["k_max"], faithful["k_rule"]) == (2, 15, "min_best_second")
    assert faithful["sample_size"] == 5000 and faithful["n_genes"] == 5000
    assert (faithful["sampling"], faithful["transfer"]) == ("uniform", "one_latent")
    assert default_params("improved").keys() == faithful.keys()


def test_scaling_logs_drops_silent_genes_and_min_max_scales_each_cell():
    counts = np.array([[0, 3, 0, 255], [1, 1, 0, 1], [7, 7, 0, 7], [2, 0, 0, 4]], dtype=np.float32)
    scaled, kept = scale_counts(sp.csr_matrix(counts))
    np.testing.assert_array_equal(kept, [0, 1, 3])
    logged = np.log2(counts[:, kept] + 1)
    low = logged.min(axis=1, keepdims=True)
    span = logged.max(axis=1, keepdims=True) - low
    expected = np.divide(logged - low, span, out=np.zeros_like(logged), where=span > 0)
    np.testing.assert_allclose(scaled.toarray(), expected, rtol=1e-6)
    assert sp.isspmatrix_csr(scaled) and scaled.dtype == np.float32
    # small range: taken as already logged, no log2
    small, _ = scale_counts(sp.csr_matrix(np.array([[0, 2.0], [4.0, 1.0]])))
    np.testing.assert_allclose(small.toarray(), [[0, 1], [1, 0]])
    with pytest.raises(InputError, match="negative"):
        scale_counts(np.array([[1.0, -1.0], [0.0, 2.0]]))


def test_faithful_run_on_counts_is_deterministic_and_finds_the_groups():
    counts, truth = synthetic_counts()
    params = QUICK | {"n_genes": 150}  # more genes than n_genes: the gene filter runs
    first = sccan_cluster(counts, "faithful", params, seed=3, threads=1)
    again = sccan_cluster(counts, "faithful", params, seed=3, threads=1)
    np.testing.assert_array_equal(first.labels, again.labels)
    np.testing.assert_array_equal(first.eigenvalues, again.eigenvalues)
    assert len(first.latent_names) == 4 and first.latent_names[0] == "vae1_snapshot1"
    assert 100 <= len(first.genes_used) <= 150 and first.genes_used.max() < 300
    assert {"scaling", "gene_filter", "vae", "sampling_affinity_fusion"} <= set(first.timings)
    assert first.k == min(first.k_best, first.k_second)
    assert adjusted_rand_score(truth, first.labels) > 0.9


def test_k_given_is_used_by_both_flavours():
    latents, truth = latent_blobs(200, 3, seed=4)
    for flavour in ("faithful", "improved"):
        result = cluster_latents(latents, flavour, seed=0, k=5)
        assert result.k == 5 and result.k_given and result.n_clusters <= 5
        assert result.k_best == 3


def test_anndata_input_views_extra_latents_and_slots():
    counts, truth = synthetic_counts(seed=1)
    adata = ad.AnnData(X=sp.csr_matrix(np.log1p(counts.toarray())))
    adata.layers["counts"] = counts
    views, _ = latent_blobs(len(truth), 3, seed=0)
    adata.obsm["X_nbae"] = views[0]
    everywhere = {"learned_views_min_cells": 0}
    result = sccan_cluster(
        adata,
        "improved",
        everywhere,
        seed=0,
        extra_latents={"nbae": "X_nbae", "scvi": views[1], "more": views[2]},
    )
    # improved fuses PCA (computed from the counts) with the nbae and scVI latents it is given,
    # in that order; a latent it does not name is fused beside them
    assert result.latent_names == ["pca", "nbae", "scvi", "more"]
    result.write_to(adata, key_added="sccan_improved")
    assert adata.obs["sccan_improved"].nunique() == result.n_clusters
    assert adata.uns["sccan_improved"]["k"] == result.k
    # below learned_views_min_cells (300 by default) cells only the PCA view is fused
    small = sccan_cluster(adata, "improved", seed=0, extra_latents={"nbae": views[0]})
    assert small.latent_names == ["pca"]
    with pytest.raises(InputError, match="the view 'nbae' is not available"):
        sccan_cluster(adata, "improved", everywhere)
    with pytest.raises(InputError, match="X_umap"):
        sccan_cluster(adata, "improved", everywhere, extra_latents=["X_umap"])
    with pytest.raises(InputError, match="shape"):
        sccan_cluster(adata, "improved", everywhere, extra_latents={"nbae": views[0][:10]})
    with pytest.raises(InputError, match="views"):
        sccan_cluster(adata, "improved", {"views": []})


@pytest.mark.parametrize("flavour", ["faithful", "improved"])
def test_big_data_path_labels_every_cell(flavour):
    # the improved k rule reads the expression's Tracy-Widom count: the 4 planted groups
    latents, truth = latent_blobs(600, 4, seed=2)
    result = cluster_latents(latents, flavour, {"sample_size": 150}, seed=7, k_count=4)
    assert len(result.sample) == 150 and len(np.unique(result.sample)) == 150
    assert result.labels.shape == (600,) and result.labels.min() >= 0
    assert adjusted_rand_score(truth, result.labels) > 0.95
    again = cluster_latents(latents, flavour, {"sample_size": 150}, seed=7, k_count=4)
    np.testing.assert_array_equal(result.labels, again.labels)
    other = cluster_latents(latents, flavour, {"sample_size": 150}, seed=8, k_count=4)
    assert not np.array_equal(other.sample, result.sample)


def test_sketch_sample_gives_rare_groups_more_than_their_share():
    from sclatent.sccan.bigdata import choose_sample, transfer_labels

    rng = np.random.default_rng(0)
    truth = np.repeat([0, 1], [2940, 60])
    z = np.where(truth[:, None] == 0, 0.0, 12.0) + rng.normal(size=(3000, 4))
    sketch = choose_sample([z], 500, how="sketch", seed=0)
    assert len(sketch) == 500 and len(np.unique(sketch)) == 500
    # the rare group (2% of cells, 10 expected in a uniform sample) gets a larger share
    assert (truth[sketch] == 1).sum() >= 20
    # transfer: a cell takes the majority label of its nearest sampled cells
    labels = transfer_labels([z, z + 0.01], sketch, truth[sketch], neighbors=10)
    np.testing.assert_array_equal(labels, truth)


# ---- the VAEs train through the project's Trainer: device, log lines, NaN guard, resume ----


def _vae_views(counts, **kwargs):
    """The faithful flavour's VAE latents of `counts` with the quick settings (gene filter on)."""
    latents, names, genes_used, _ = sccan_latents(
        counts, "faithful", QUICK | {"n_genes": 150}, seed=3, threads=1, **kwargs
    )
    return latents, names, genes_used


@pytest.fixture(scope="module")
def counts_and_views():
    counts, _ = synthetic_counts()
    return counts, _vae_views(counts)


def test_vae_epochs_are_logged_and_a_cuda_request_falls_back(counts_and_views, caplog, monkeypatch):
    import torch

    counts, (reference, _, _) = counts_and_views
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with caplog.at_level(logging.INFO, logger="sclatent"):
        latents, _, _ = _vae_views(counts, device="cuda")
    assert "device 'cuda' requested but this machine has none: training on cpu" in caplog.text
    for line in ("epoch 1/1 (gene filter 3) train_loss", "epoch 1/5 (VAE 2 warm-up) train_loss"):
        assert line in caplog.text
    assert "epoch 5/5 (VAE 2) train_loss" in caplog.text
    for latent, same in zip(latents, reference, strict=True):
        np.testing.assert_array_equal(latent, same)
    monkeypatch.setenv("SCLATENT_ON_MISSING_GPU", "error")  # what profiles/slurm asks for
    with pytest.raises(InputError, match="device 'cuda' requested but this machine has none"):
        _vae_views(counts, device="cuda")


def test_flavours_with_the_same_vae_settings_share_the_trained_views():
    """The workflow trains the VAEs once for every flavour that fuses them with the same
    settings; a flavour without "vae" in its views trains none."""
    from sclatent.sccan.api import same_vae_views

    counts, _ = synthetic_counts()
    settings = QUICK | {"n_genes": 150}
    with_vae = settings | {"views": ["vae", "pca"]}
    assert same_vae_views("improved", with_vae, "faithful", settings)
    assert not same_vae_views("improved", with_vae | {"n_models": 3}, "faithful", settings)
    assert not same_vae_views("improved", settings, "faithful", settings)  # pca, nbae, scvi
    latents, names, genes, timings = sccan_latents(counts, "improved", settings, seed=3)
    assert (latents, names, genes) == ([], [], None) and "vae" not in timings


def test_vae_divergence_stops_training(counts_and_views, monkeypatch):
    from sclatent.autoencoder import TrainingDiverged
    from sclatent.sccan.latent import StackedBayesianAE

    monkeypatch.setattr(
        StackedBayesianAE, "warmup_loss", staticmethod(lambda out, batch: out[0].sum() * np.nan)
    )
    with pytest.raises(TrainingDiverged, match="epoch 1"):
        _vae_views(counts_and_views[0])


def test_sigterm_inside_a_snapshot_epoch_saves_checkpoint_and_resumes_bitwise(
    counts_and_views, tmp_path, monkeypatch
):
    import os
    import signal

    import torch

    from sclatent.autoencoder import TrainingInterrupted
    from sclatent.autoencoder.data import CellData

    counts, (reference, names, genes_used) = counts_and_views
    calls = {"n": 0}
    real_batch = CellData.batch

    def batch_then_sigterm(self, rows):
        calls["n"] += 1
        # 50 batches an epoch: 3 gene-filter replicates x 1 epoch, then VAE 1's epochs 1-5
        # (warm-up, 2 training, 2 snapshot epochs); call 360 is step 10 of its last epoch
        if calls["n"] == 360:
            os.kill(os.getpid(), signal.SIGTERM)
        return real_batch(self, rows)

    monkeypatch.setattr(CellData, "batch", batch_then_sigterm)
    with pytest.raises(TrainingInterrupted) as stopped:
        _vae_views(counts, checkpoint_dir=tmp_path)
    assert stopped.value.code == 128 + signal.SIGTERM
    monkeypatch.setattr(CellData, "batch", real_batch)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # handler removed again
    state = torch.load(tmp_path / "vae1" / "checkpoint.pt", weights_only=True)
    assert (state["epoch"], state["step"], len(state["snapshots"])) == (4, 10, 1)
    for replicate in (1, 2, 3):
        checkpoint = tmp_path / f"gene_filter{replicate}" / "checkpoint.pt"
        assert torch.load(checkpoint, weights_only=True)["finished"]
    resumed, resumed_names, resumed_genes = _vae_views(counts, checkpoint_dir=tmp_path)
    assert resumed_names == names
    np.testing.assert_array_equal(resumed_genes, genes_used)
    for latent, same in zip(resumed, reference, strict=True):
        np.testing.assert_array_equal(latent, same)
    assert not tmp_path.exists()  # checkpoints are removed once every latent is computed


_CHILD = """
import sys
import time
from pathlib import Path

import scipy.sparse as sp

from sclatent.autoencoder.data import CellData
from sclatent.sccan.api import sccan_latents

marker = Path(sys.argv[3])
real_batch = CellData.batch
calls = [0]


def announce(self, rows):
    calls[0] += 1
    if calls[0] == 300:  # inside VAE 1
        marker.write_text("training")
    if calls[0] >= 300:  # slow down so that the signal lands before the run ends
        time.sleep(0.02)
    return real_batch(self, rows)


CellData.batch = announce
params = {
    "n_models": 2, "n_snapshots": 2, "warmup_epochs": 1, "train_epochs": 2,
    "gene_filter_epochs": 1, "n_genes": 150,
}
sccan_latents(
    sp.load_npz(sys.argv[1]), "faithful", params, seed=3, threads=1, checkpoint_dir=sys.argv[2]
)
"""


def test_sigterm_to_a_sccan_process(counts_and_views, tmp_path):
    """What SLURM preemption does to rule sccan: SIGTERM -> checkpoint, exit 143; the rerun
    reuses the finished networks, resumes the interrupted VAE and ends where an uninterrupted
    run ends."""
    import signal

    import torch

    counts, (reference, _, _) = counts_and_views
    sp.save_npz(tmp_path / "counts.npz", counts)
    marker, checkpoints = tmp_path / "started", tmp_path / "ckpt"
    args = ["-c", _CHILD, str(tmp_path / "counts.npz"), str(checkpoints), str(marker)]
    assert sigterm_once_started(args, marker) == 128 + signal.SIGTERM
    state = torch.load(checkpoints / "vae1" / "checkpoint.pt", weights_only=True)
    assert not state["finished"] and 2 <= state["epoch"] <= 5
    resumed, _, _ = _vae_views(counts, checkpoint_dir=checkpoints)
    for latent, same in zip(resumed, reference, strict=True):
        np.testing.assert_array_equal(latent, same)
