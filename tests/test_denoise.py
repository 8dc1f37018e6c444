"""Denoising benchmark: masking, the re-normalised input, baselines, scores, AE vs baselines."""

import numpy as np
import pytest
import scipy.sparse as sp

from sclatent import denoise
from sclatent.errors import InputError

from .simulated import simulated_hvg


@pytest.fixture(scope="module")
def adata():
    # strong cell-type programs and mild NB noise: a low-rank signal an AE can recover
    return simulated_hvg(
        400, 100, seed=0, n_types=4, dispersion=0.05, de_fraction=0.4, de_logfc_median=2.5
    )


@pytest.fixture(scope="module")
def masked(adata):
    return denoise.mask_hvg(adata, fraction=0.1, seed=0)


def test_mask_counts_hides_a_fraction_of_nonzeros(adata):
    counts = adata.layers["counts"]
    masked, rows, cols, true_values = denoise.mask_counts(counts, 0.1, seed=3)
    assert len(rows) == round(0.1 * counts.nnz)
    assert (true_values > 0).all()
    np.testing.assert_array_equal(true_values, counts[rows, cols].A1)
    assert (masked[rows, cols].A1 == 0).all()
    assert masked.nnz == counts.nnz - len(rows)
    # everything else is untouched
    restored = masked + sp.csr_matrix((true_values, (rows, cols)), shape=counts.shape)
    assert (restored != counts).nnz == 0
    assert len(set(zip(rows.tolist(), cols.tolist(), strict=True))) == len(rows)
    again = denoise.mask_counts(counts, 0.1, seed=3)
    np.testing.assert_array_equal(again[1], rows)
    assert not np.array_equal(denoise.mask_counts(counts, 0.1, seed=4)[1], rows)
    with pytest.raises(InputError, match="fraction"):
        denoise.mask_counts(counts, 1.5, seed=0)


def test_masked_input_is_renormalised_like_hvg(adata, masked):
    entries = denoise.masked_entries(masked)
    counts = masked.layers["counts"]
    # in this simulated data every gene is an HVG, so the cell total is the HVG count sum
    new_total = np.asarray(counts.sum(axis=1)).ravel()
    np.testing.assert_allclose(np.asarray(masked.X.expm1().sum(axis=1)).ravel(), 1e4, rtol=1e-4)
    # totals are recovered from float32 X and size factors, as in the workflow's hvg.h5ad
    np.testing.assert_allclose(
        masked.obs["size_factor"], new_total / np.median(new_total), rtol=1e-5
    )
    np.testing.assert_allclose(
        entries.target, np.log1p(entries.true_counts * 1e4 / new_total[entries.rows]), rtol=1e-5
    )
    assert masked.X.nnz == adata.X.nnz - len(entries.rows)
    # the caller's AnnData is left alone
    assert adata.layers["counts"].nnz == masked.layers["counts"].nnz + len(entries.rows)


def test_baselines(masked):
    entries = denoise.masked_entries(masked)
    preds = denoise.baseline_predictions(masked, pca_rank=5)
    zero = denoise.score_masked(preds["zero"], entries.target)
    assert zero["mae"] == pytest.approx(float(entries.target.mean()), rel=1e-6)
    assert np.isnan(zero["pearson_r"]) and zero["n_masked"] == len(entries.rows)
    gene_mean = masked.X.toarray().mean(axis=0)
    np.testing.assert_allclose(preds["gene_mean"], gene_mean[entries.cols], rtol=1e-5)
    # PCA baseline against a dense SVD of the centred matrix
    dense = masked.X.toarray().astype(np.float64)
    centred = dense - dense.mean(axis=0)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    rank5 = dense.mean(axis=0) + (u[:, :5] * s[:5]) @ vt[:5]
    expected = np.maximum(rank5[entries.rows, entries.cols], 0)
    np.testing.assert_allclose(preds["pca"], expected, atol=1e-4)


def test_score_masked():
    truth = np.array([1.0, 2.0, 3.0, 4.0])
    perfect = denoise.score_masked(truth, truth)
    assert perfect["mae"] == 0 and perfect["pearson_r"] == pytest.approx(1.0)
    assert denoise.score_masked(truth + 1, truth)["mae"] == pytest.approx(1.0)
    with pytest.raises(InputError, match="3 predictions for 4"):
        denoise.score_masked(truth[:3], truth)


def test_masked_entries_needs_a_masked_anndata(adata):
    with pytest.raises(InputError, match="denoise_mask"):
        denoise.masked_entries(adata)


def test_autoencoder_beats_zero_and_gene_mean(masked):
    from sclatent.autoencoder import train_latent

    entries = denoise.masked_entries(masked)
    params = {"hidden": [32], "latent_dim": 4, "batch_size": 64, "max_epochs": 40}
    result = train_latent(masked.copy(), "ae", params, seed=0, threads=1)
    predictions = denoise.baseline_predictions(masked, pca_rank=10)
    predictions["ae"] = result.model.denoise_at(masked, entries.rows, entries.cols)
    table = denoise.score_denoising(masked, predictions).set_index("method")
    assert table.loc["ae", "mae"] < table.loc["zero", "mae"]
    assert table.loc["ae", "mae"] < table.loc["gene_mean", "mae"]
    assert table.loc["ae", "pearson_r"] > table.loc["gene_mean", "pearson_r"]
    # denoise_at agrees with the dense reconstruction
    dense = result.model.reconstruct(masked)
    np.testing.assert_allclose(predictions["ae"], dense[entries.rows, entries.cols], rtol=1e-6)


def test_totals_include_genes_outside_the_hvg_subset():
    full = simulated_hvg(300, 80, seed=1)  # X normalised over all 80 genes
    hvg = full[:, :40].copy()
    total = np.asarray(full.layers["counts"].sum(axis=1)).ravel()
    masked = denoise.mask_hvg(hvg, fraction=0.2, seed=0)
    entries = denoise.masked_entries(masked)
    removed = np.bincount(entries.rows, weights=entries.true_counts, minlength=hvg.n_obs)
    new_total = total - removed
    expected_x = np.log1p(masked.layers["counts"].toarray() * (1e4 / new_total)[:, None])
    np.testing.assert_allclose(masked.X.toarray(), expected_x, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        masked.obs["size_factor"], new_total / np.median(new_total), rtol=1e-5
    )


def test_denoising_sample_keeps_small_datasets_whole_and_is_seeded():
    np.testing.assert_array_equal(denoise.denoise_sample(300, 500), np.arange(300))
    np.testing.assert_array_equal(denoise.denoise_sample(300, None), np.arange(300))
    sample = denoise.denoise_sample(20_000, 5_000, seed=3)
    assert len(sample) == len(np.unique(sample)) == 5_000
    assert (np.diff(sample) > 0).all()
    np.testing.assert_array_equal(sample, denoise.denoise_sample(20_000, 5_000, seed=3))
