"""Denoising benchmark: hide some observed counts, train on the rest, predict what was hidden.

A fraction of the nonzero entries of `layers['counts']` is set to zero (seeded), X and the
size factors are recomputed from the masked counts with the same convention as hvg.h5ad, and
every method is trained on that masked AnnData. The score is the error at the hidden entries
on the log scale of X: target = log1p(true count * target_sum / masked cell total), prediction
= the method's denoised expression there (autoencoders: `FittedAutoencoder.denoise_at`).
Baselines: 'zero' (the value as observed after masking), 'gene_mean' (mean of X per gene) and
'pca' (rank-k reconstruction of X, computed on the sparse matrix with implicit centering).

Imports only numpy/scipy/pandas/anndata, so the scoring step needs no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, svds

from sclatent.errors import InputError

MASK_KEY = "denoise_mask"
_ROW_CHUNK = 100_000
_ENTRY_CHUNK = 1_000_000


@dataclass
class MaskedEntries:
    """The hidden entries: cell, gene, true count and the log-scale target to predict."""

    rows: np.ndarray
    cols: np.ndarray
    true_counts: np.ndarray
    target: np.ndarray


def _csr(matrix, where: str) -> sp.csr_matrix:
    if not sp.issparse(matrix):
        raise InputError(f"{where}: expected a sparse matrix")
    return sp.csr_matrix(matrix, dtype=np.float32)


def mask_counts(
    counts: sp.csr_matrix, fraction: float = 0.1, seed: int = 0
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, np.ndarray]:
    """Zero out `fraction` of the nonzero entries of `counts` (chosen uniformly, seeded).

    Returns the masked copy and the (row, col, true value) of each hidden entry, sorted by
    row then column.
    """
    if not 0 < fraction < 1:
        raise InputError(f"denoise mask fraction must be in (0, 1), got {fraction}")
    counts = sp.csr_matrix(counts, dtype=np.float32, copy=True)
    counts.sort_indices()
    candidates = np.flatnonzero(counts.data > 0)
    n_hidden = int(round(fraction * len(candidates)))
    if n_hidden == 0:
        raise InputError(
            f"denoise mask: {len(candidates)} nonzero counts, none left to hide at fraction {fraction}"
        )
    rng = np.random.default_rng(seed)
    hidden = np.sort(candidates[rng.choice(len(candidates), n_hidden, replace=False)])
    rows = np.searchsorted(counts.indptr, hidden, side="right") - 1
    cols = counts.indices[hidden].astype(np.int64)
    true_values = counts.data[hidden].copy()
    counts.data[hidden] = 0
    counts.eliminate_zeros()
    return counts, rows, cols, true_values


def _row_sums(matrix: sp.csr_matrix, transform=None) -> np.ndarray:
    """Row sums of `matrix` (or of `transform` applied to its stored values), in row chunks."""
    sums = np.empty(matrix.shape[0], dtype=np.float64)
    for start in range(0, matrix.shape[0], _ROW_CHUNK):
        block = matrix[start : start + _ROW_CHUNK]
        if transform is not None:
            block = block.copy()
            block.data = transform(block.data.astype(np.float64))
        sums[start : start + _ROW_CHUNK] = np.asarray(block.sum(axis=1)).ravel()
    return sums


def _library_totals(
    x: sp.csr_matrix, counts: sp.csr_matrix, size_factor: np.ndarray, target_sum: float
) -> np.ndarray:
    """Each cell's total count over all genes, read back from X = log1p(counts / total * target_sum)."""
    count_sum = _row_sums(counts)
    x_sum = _row_sums(x, np.expm1)
    usable = (count_sum > 0) & (x_sum > 0)
    if not usable.any():
        raise InputError("hvg AnnData: no cell has counts; nothing to mask")
    totals = np.empty_like(count_sum)
    totals[usable] = target_sum * count_sum[usable] / x_sum[usable]
    median_total = np.median(totals[usable] / size_factor[usable])
    totals[~usable] = size_factor[~usable] * median_total
    return totals


def denoise_sample(n_cells: int, max_cells: int | None, seed: int = 0) -> np.ndarray:
    """The cells the denoising benchmark uses: all of them, or a seeded sample of max_cells.

    The error on hidden counts is an average over millions of entries already at a few
    thousand cells, while each retrained model costs about as much as the latent's own
    training: on a large dataset a sample gives the same comparison at a fraction of the cost.
    """
    if max_cells is None or n_cells <= max_cells:
        return np.arange(n_cells)
    rng = np.random.default_rng(seed + 7)  # not the masking's stream
    return np.sort(rng.choice(n_cells, size=max_cells, replace=False))


def mask_hvg(adata_hvg, fraction: float = 0.1, seed: int = 0, target_sum: float = 1e4):
    """A new hvg-shaped AnnData with `fraction` of the counts hidden; entries in uns['denoise_mask'].

    X, layers['counts'] and obs['size_factor'] are rebuilt from the masked counts following the
    hvg.h5ad convention (X = log1p(counts / total * target_sum), size factor = total / median
    total, totals over all genes); `target_sum` must be the one used to make hvg.h5ad.
    """
    import anndata as ad

    for key in ("counts",):
        if key not in adata_hvg.layers:
            raise InputError(f"hvg AnnData: layers['{key}'] is missing (needed to mask counts)")
    if "size_factor" not in adata_hvg.obs:
        raise InputError("hvg AnnData: obs['size_factor'] is missing (needed to mask counts)")
    x = _csr(adata_hvg.X, "hvg AnnData X")
    counts = _csr(adata_hvg.layers["counts"], "hvg AnnData layers['counts']")
    size_factor = adata_hvg.obs["size_factor"].to_numpy(dtype=np.float64)
    totals = _library_totals(x, counts, size_factor, target_sum)

    masked, rows, cols, true_counts = mask_counts(counts, fraction, seed)
    removed = np.bincount(rows, weights=true_counts, minlength=masked.shape[0])
    new_totals = np.maximum(totals - removed, 1.0)
    scale = target_sum / new_totals
    new_x = sp.csr_matrix(sp.diags(scale.astype(np.float32)) @ masked, dtype=np.float32)
    new_x.data = np.log1p(new_x.data)
    target = np.log1p(true_counts * scale[rows]).astype(np.float32)

    obs = adata_hvg.obs.copy()
    obs["size_factor"] = new_totals / np.median(new_totals)
    result = ad.AnnData(X=new_x, obs=obs, var=adata_hvg.var.copy(), uns=dict(adata_hvg.uns))
    result.layers["counts"] = masked
    result.uns[MASK_KEY] = {
        "rows": rows,
        "cols": cols,
        "true_counts": true_counts,
        "target": target,
        "fraction": float(fraction),
        "seed": int(seed),
        "target_sum": float(target_sum),
    }
    return result


def masked_entries(masked_adata) -> MaskedEntries:
    """The hidden entries recorded by `mask_hvg`."""
    if MASK_KEY not in masked_adata.uns:
        raise InputError(
            f"AnnData has no uns['{MASK_KEY}']: make it with sclatent.denoise.mask_hvg"
        )
    stored = masked_adata.uns[MASK_KEY]
    return MaskedEntries(
        rows=np.asarray(stored["rows"], dtype=np.int64),
        cols=np.asarray(stored["cols"], dtype=np.int64),
        true_counts=np.asarray(stored["true_counts"], dtype=np.float32),
        target=np.asarray(stored["target"], dtype=np.float32),
    )


# ---------------------------------------------------------------------- baselines
def zero_baseline(entries: MaskedEntries) -> np.ndarray:
    """The hidden values as observed after masking: zero."""
    return np.zeros(len(entries.rows), dtype=np.float32)


def gene_mean_baseline(x: sp.csr_matrix, entries: MaskedEntries) -> np.ndarray:
    """Each gene's mean of (masked) X over all cells."""
    gene_mean = np.asarray(x.mean(axis=0), dtype=np.float64).ravel()
    return gene_mean[entries.cols].astype(np.float32)


def pca_baseline(
    x: sp.csr_matrix, entries: MaskedEntries, rank: int = 50, seed: int = 0
) -> np.ndarray:
    """Rank-`rank` PCA reconstruction of (masked) X at the hidden entries, clipped at 0.

    Truncated SVD of the gene-centred matrix through a linear operator, so X stays sparse.
    """
    x = sp.csr_matrix(x, dtype=np.float64)
    n_cells, n_genes = x.shape
    rank = min(int(rank), min(x.shape) - 1)
    if rank < 1:
        raise InputError(f"PCA baseline needs rank >= 1 and a matrix larger than {x.shape}")
    mean = np.asarray(x.mean(axis=0)).ravel()
    x_t = x.T.tocsr()
    centred = LinearOperator(
        (n_cells, n_genes),
        matvec=lambda v: x @ v.ravel() - mean @ v.ravel(),
        rmatvec=lambda u: x_t @ u.ravel() - mean * u.sum(),
        matmat=lambda v: x @ v - (mean @ v)[None, :],
        rmatmat=lambda u: x_t @ u - np.outer(mean, u.sum(axis=0)),
        dtype=np.float64,
    )
    v0 = np.random.default_rng(seed).standard_normal(min(x.shape))
    u, s, vt = svds(centred, k=rank, v0=v0, solver="arpack")
    scores = u * s
    prediction = np.empty(len(entries.rows), dtype=np.float32)
    for start in range(0, len(entries.rows), _ENTRY_CHUNK):
        rows = entries.rows[start : start + _ENTRY_CHUNK]
        cols = entries.cols[start : start + _ENTRY_CHUNK]
        values = mean[cols] + np.einsum("ij,ji->i", scores[rows], vt[:, cols])
        prediction[start : start + len(rows)] = np.maximum(values, 0)
    return prediction


def baseline_predictions(masked_adata, pca_rank: int = 50, seed: int = 0) -> dict[str, np.ndarray]:
    """Predictions of the 'zero', 'gene_mean' and 'pca' baselines at the hidden entries."""
    entries = masked_entries(masked_adata)
    x = _csr(masked_adata.X, "masked AnnData X")
    return {
        "zero": zero_baseline(entries),
        "gene_mean": gene_mean_baseline(x, entries),
        "pca": pca_baseline(x, entries, pca_rank, seed),
    }


# ---------------------------------------------------------------------- scores
def score_masked(pred_values: np.ndarray, true_values: np.ndarray) -> dict[str, float]:
    """MAE and Pearson r between predictions and targets (r is NaN for constant predictions)."""
    pred = np.asarray(pred_values, dtype=np.float64)
    true = np.asarray(true_values, dtype=np.float64)
    if pred.shape != true.shape:
        raise InputError(
            f"denoising score: {pred.shape[0]} predictions for {true.shape[0]} hidden entries"
        )
    pearson = np.nan
    if len(pred) > 1 and np.std(pred) > 0 and np.std(true) > 0:
        pearson = float(np.corrcoef(pred, true)[0, 1])
    return {
        "mae": float(np.mean(np.abs(pred - true))),
        "pearson_r": pearson,
        "n_masked": int(len(true)),
    }


def score_denoising(masked_adata, predictions: dict[str, np.ndarray]) -> pd.DataFrame:
    """One row per method: method, mae, pearson_r, n_masked (lower MAE is better)."""
    target = masked_entries(masked_adata).target
    rows = [{"method": name, **score_masked(pred, target)} for name, pred in predictions.items()]
    return pd.DataFrame(rows, columns=["method", "mae", "pearson_r", "n_masked"])
