"""Normalisation and highly-variable-gene selection (scanpy), counts kept alongside."""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp

log = logging.getLogger(__name__)


def normalize(adata, *, target_sum: float = 1e4, n_top_genes: int = 2000) -> None:
    """In place: layers['counts'] = counts, X = log1p(normalize_total), var['highly_variable'].

    HVGs are chosen with seurat_v3 on the raw counts (it models the mean-variance trend of
    counts, so it must see them before normalisation). obs['size_factor'] is each cell's
    total count over the median, the scale the count-model autoencoders need.
    """
    import scanpy as sc

    X = adata.X.tocsr() if sp.issparse(adata.X) else sp.csr_matrix(adata.X)
    X = X.astype(np.float32, copy=False)
    adata.X = X
    adata.layers["counts"] = X.copy()
    totals = np.asarray(X.sum(axis=1)).ravel()
    adata.obs["size_factor"] = (totals / np.median(totals)).astype(np.float32)

    n_top = min(int(n_top_genes), adata.n_vars)
    if n_top < n_top_genes:
        log.warning("only %d genes after QC: all are used as highly variable", adata.n_vars)
    if n_top == adata.n_vars:
        adata.var["highly_variable"] = True
    else:
        sc.pp.highly_variable_genes(
            adata, flavor="seurat_v3", n_top_genes=n_top, layer="counts", subset=False
        )
    sc.pp.normalize_total(adata, target_sum=target_sum)
    sc.pp.log1p(adata)
    adata.X = adata.X.astype(np.float32, copy=False)
    adata.uns["normalize"] = {"target_sum": float(target_sum), "n_top_genes": int(n_top)}
    log.info("normalised %d cells; %d highly variable genes", adata.n_obs, n_top)


def hvg_view(adata):
    """The matrix every latent method reads: HVGs only, log-normalised X plus raw counts."""
    import anndata as ad

    hvg = adata.var["highly_variable"].to_numpy()
    obs_cols = [c for c in ("size_factor", "truth", "batch") if c in adata.obs]
    sub = ad.AnnData(
        X=adata.X[:, hvg],
        obs=adata.obs[obs_cols].copy(),
        var=adata.var.loc[hvg, []].copy(),
        layers={"counts": adata.layers["counts"][:, hvg]},
        uns={"normalize": dict(adata.uns.get("normalize", {}))},
    )
    return sub
