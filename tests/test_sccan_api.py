"""scCAN end to end: parameters, scaling, the VAE ensemble, the big-data path, determinism."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import adjusted_rand_score

from sclatent.errors import InputError
from sclatent.sccan import cluster_latents, default_params, resolve_params, sccan_cluster
from sclatent.sccan.scaling import scale_counts

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


def test_anndata_input_extra_latents_and_slots():
    counts, truth = synthetic_counts(seed=1)
    adata = ad.AnnData(X=sp.csr_matrix(np.log1p(counts.toarray())))
    adata.layers["counts"] = counts
    views, _ = latent_blobs(len(truth), 3, seed=0)
    adata.obsm["X_pca"] = views[0]
    result = sccan_cluster(
        adata, "improved", {"use_vae": False}, seed=0, extra_latents=["X_pca", views[1]]
    )
    # improved adds its own PCA view of the counts
    assert result.latent_names == ["pca", "X_pca", "extra2"]
    result.write_to(adata, key_added="sccan_improved")
    assert adata.obs["sccan_improved"].nunique() == result.n_clusters
    assert adata.uns["sccan_improved"]["k"] == result.k
    with pytest.raises(InputError, match="X_umap"):
        sccan_cluster(adata, "improved", {"use_vae": False}, extra_latents=["X_umap"])
    with pytest.raises(InputError, match="shape"):
        sccan_cluster(adata, "improved", {"use_vae": False}, extra_latents=[views[0][:10]])
    with pytest.raises(InputError, match="no latent"):
        sccan_cluster(adata, "improved", {"use_vae": False, "pca_view_components": 0})


@pytest.mark.parametrize("flavour", ["faithful", "improved"])
def test_big_data_path_labels_every_cell(flavour):
    latents, truth = latent_blobs(600, 4, seed=2)
    result = cluster_latents(latents, flavour, {"sample_size": 150}, seed=7)
    assert len(result.sample) == 150 and len(np.unique(result.sample)) == 150
    assert result.labels.shape == (600,) and result.labels.min() >= 0
    assert adjusted_rand_score(truth, result.labels) > 0.95
    again = cluster_latents(latents, flavour, {"sample_size": 150}, seed=7)
    np.testing.assert_array_equal(result.labels, again.labels)
    other = cluster_latents(latents, flavour, {"sample_size": 150}, seed=8)
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
