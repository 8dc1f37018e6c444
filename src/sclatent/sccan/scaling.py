"""Input scaling of scDHA: log2 when the range is large, drop silent genes, min-max each cell.

A count matrix has minimum 0 in nearly every row, so the per-cell min-max is a division by
the row maximum and the matrix stays sparse; rows without zeros are shifted on their stored
entries only.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from sclatent.errors import InputError


def as_csr_float32(matrix, *, name: str = "X") -> sp.csr_matrix:
    """A cells x genes matrix as CSR float32 (a copy), checked finite and non-negative."""
    if sp.issparse(matrix):
        csr = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    else:
        csr = sp.csr_matrix(np.asarray(matrix, dtype=np.float32))
    if csr.ndim != 2 or csr.shape[0] < 2 or csr.shape[1] < 1:
        raise InputError(
            f"{name}: need a cells x genes matrix with at least 2 cells, got {csr.shape}"
        )
    if not np.isfinite(csr.data).all():
        raise InputError(f"{name}: contains NaN or infinite values")
    if csr.nnz and csr.data.min() < 0:
        raise InputError(f"{name}: contains negative values; scCAN needs raw counts")
    csr.sum_duplicates()
    csr.eliminate_zeros()
    return csr


def scale_counts(matrix, *, log_threshold: float = 100.0) -> tuple[sp.csr_matrix, np.ndarray]:
    """Scale raw counts as scDHA does; returns (scaled CSR float32, indices of kept genes).

    1. log2(x + 1) when max(X) - min(X) > log_threshold (otherwise X counts as logged);
    2. drop genes that are zero in every cell;
    3. min-max scale every cell to [0, 1] (a constant cell becomes all zeros).
    """
    csr = as_csr_float32(matrix)
    n_cells, n_genes = csr.shape
    if csr.nnz == 0:
        raise InputError("X: every entry is zero")
    has_implicit_zero = csr.nnz < n_cells * n_genes
    low = 0.0 if has_implicit_zero else float(csr.data.min())
    if float(csr.data.max()) - low > log_threshold:
        np.log2(csr.data.astype(np.float64) + 1.0, out=csr.data, casting="same_kind")

    kept_genes = np.flatnonzero(np.bincount(csr.indices, minlength=n_genes) > 0)
    csr = csr[:, kept_genes].tocsr()
    csr.sort_indices()

    row_nnz = np.diff(csr.indptr)
    row_of_entry = np.repeat(np.arange(n_cells), row_nnz)
    row_max = np.zeros(n_cells, dtype=np.float64)
    np.maximum.at(row_max, row_of_entry, csr.data)
    row_min = np.zeros(n_cells, dtype=np.float64)
    full_rows = row_nnz == csr.shape[1]
    if full_rows.any():
        nonempty = row_nnz > 0
        segment_min = np.minimum.reduceat(csr.data, csr.indptr[:-1][nonempty])
        row_min[full_rows] = segment_min[full_rows[nonempty]]
    span = row_max - row_min
    scale = np.divide(1.0, span, out=np.zeros_like(span), where=span > 0)
    csr.data = ((csr.data - row_min[row_of_entry]) * scale[row_of_entry]).astype(np.float32)
    csr.eliminate_zeros()
    return csr, kept_genes
