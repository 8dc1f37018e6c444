"""Synthetic hvg.h5ad-shaped data (cell types x NB noise) for tests and speed benchmarks.

Not a simulator of real biology: a low-rank mean (one expression program per cell type plus a
shared gene baseline) times a log-normal library size, with gamma-Poisson (NB) noise, built in
row chunks so 100k+ cells stay cheap. The AnnData follows the workflow's hvg.h5ad contract.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def synthetic_counts(
    n_cells: int,
    n_genes: int,
    *,
    n_types: int = 5,
    mean_total: float = 1500.0,
    theta: float = 4.0,
    effect_sd: float = 1.5,
    program_fraction: float = 0.15,
    seed: int = 0,
    chunk: int = 10_000,
) -> tuple[sp.csr_matrix, np.ndarray]:
    """NB counts (CSR float32, cells x genes) and the cell type of each cell.

    Each type shifts the log mean of `program_fraction` of the genes by N(0, effect_sd);
    `theta` is the NB inverse dispersion (smaller: noisier).
    """
    rng = np.random.default_rng(seed)
    baseline = rng.normal(-1.0, 1.5, n_genes)
    in_program = rng.random((n_types, n_genes)) < program_fraction
    programs = np.where(in_program, rng.normal(0.0, effect_sd, (n_types, n_genes)), 0.0)
    log_rate = baseline + programs
    rate = np.exp(log_rate - np.log(np.exp(log_rate).sum(axis=1, keepdims=True)))
    types = rng.integers(0, n_types, n_cells)
    parts = []
    for start in range(0, n_cells, chunk):
        cell_types = types[start : start + chunk]
        library = mean_total * rng.lognormal(0.0, 0.4, len(cell_types))
        mu = rate[cell_types] * library[:, None]
        counts = rng.poisson(rng.gamma(theta, mu / theta)).astype(np.float32)
        parts.append(sp.csr_matrix(counts))
    return sp.vstack(parts, format="csr"), types


def synthetic_hvg(n_cells: int, n_genes: int, *, seed: int = 0, **kwargs):
    """AnnData like hvg.h5ad: X log1p(CP10k), layers['counts'], obs['size_factor'], obs['truth']."""
    import anndata as ad
    import pandas as pd

    counts, types = synthetic_counts(n_cells, n_genes, seed=seed, **kwargs)
    total = np.asarray(counts.sum(axis=1)).ravel()
    total = np.maximum(total, 1.0)
    x = sp.diags((1e4 / total).astype(np.float32)) @ counts
    x.data = np.log1p(x.data)
    obs = pd.DataFrame(
        {
            "size_factor": total / np.median(total),
            "truth": pd.Categorical([f"type_{t}" for t in types]),
        },
        index=[f"cell{i}" for i in range(n_cells)],
    )
    var = pd.DataFrame(index=[f"gene{j}" for j in range(n_genes)])
    adata = ad.AnnData(X=sp.csr_matrix(x, dtype=np.float32), obs=obs, var=var)
    adata.layers["counts"] = counts
    adata.uns["seed"] = seed
    return adata
