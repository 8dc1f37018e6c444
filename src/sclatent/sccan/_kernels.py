"""Numba kernels of the fusion step (compiled on first use, cached next to this file)."""

from __future__ import annotations

from numba import njit, prange


@njit(parallel=True, cache=True, nogil=True)
def sparse_times_dense(indptr, indices, data, dense, out):  # pragma: no cover - compiled
    """out = S @ dense for CSR S: each output row accumulates the dense rows its row names.

    Parallel over output rows; with the cells in a bandwidth-reducing order the gathered
    rows of consecutive output rows overlap, so they are served from cache.
    """
    n_cols = dense.shape[1]
    for i in prange(indptr.shape[0] - 1):
        row = out[i]
        row[:] = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            weight = data[p]
            source = dense[indices[p]]
            for j in range(n_cols):
                row[j] += weight * source[j]
