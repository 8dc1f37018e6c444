"""Normalisation keeps the counts, log-normalises X and picks HVGs on counts."""

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from sclatent.preprocess import hvg_view, normalize


def make_counts(n_cells=300, n_genes=120, seed=1):
    rng = np.random.default_rng(seed)
    means = rng.gamma(0.5, 4.0, n_genes)
    X = rng.negative_binomial(2, 2 / (2 + means), size=(n_cells, n_genes)).astype(np.float32)
    obs = pd.DataFrame(
        {"truth": ["a", "b", "c"] * (n_cells // 3)}, index=[f"c{i}" for i in range(n_cells)]
    )
    return ad.AnnData(
        sp.csr_matrix(X), obs=obs, var=pd.DataFrame(index=[f"g{i}" for i in range(n_genes)])
    )


def test_counts_kept_and_x_is_log_normalised():
    adata = make_counts()
    counts = adata.X.toarray()
    normalize(adata, target_sum=1e4, n_top_genes=50)
    np.testing.assert_array_equal(adata.layers["counts"].toarray(), counts)
    expected = np.log1p(counts / counts.sum(1, keepdims=True) * 1e4)
    np.testing.assert_allclose(adata.X.toarray(), expected, rtol=1e-5, atol=1e-6)
    assert adata.X.dtype == np.float32 and sp.issparse(adata.X)
    assert adata.var["highly_variable"].sum() == 50
    totals = counts.sum(1)
    np.testing.assert_allclose(adata.obs["size_factor"], totals / np.median(totals), rtol=1e-6)


def test_hvg_view_holds_only_hvgs_with_their_counts():
    adata = make_counts()
    normalize(adata, n_top_genes=40)
    view = hvg_view(adata)
    hvg = adata.var_names[adata.var["highly_variable"]]
    assert list(view.var_names) == list(hvg)
    np.testing.assert_array_equal(
        view.layers["counts"].toarray(), adata[:, hvg].layers["counts"].toarray()
    )
    assert list(view.obs.columns) == ["size_factor", "truth"]


def test_fewer_genes_than_requested_uses_all():
    adata = make_counts(n_genes=30)
    normalize(adata, n_top_genes=2000)
    assert adata.var["highly_variable"].all()
