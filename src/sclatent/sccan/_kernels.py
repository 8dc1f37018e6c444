"""Numba kernels of the fusion step (compiled on first use, cached next to this file).

Every n x n pass of an SNF iteration runs here, in parallel and in cache-sized tiles:
NumPy would run them on one core, and `X += X.T` walks one operand column by column.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

TILE = 64


@njit(parallel=True, cache=True, nogil=True)
def sparse_times_dense(indptr, indices, data, dense, out):  # pragma: no cover - compiled
    """out = S @ dense for CSR S: each output row accumulates the dense rows its row names,
    four at a time (a quarter of the passes over the output row).

    With the cells in a bandwidth-reducing order the rows gathered for consecutive output
    rows overlap, so they are served from cache.
    """
    n_cols = dense.shape[1]
    for i in prange(indptr.shape[0] - 1):
        row = out[i]
        row[:] = 0.0
        p = indptr[i]
        end = indptr[i + 1]
        while p + 4 <= end:
            w0, w1, w2, w3 = data[p], data[p + 1], data[p + 2], data[p + 3]
            s0, s1 = dense[indices[p]], dense[indices[p + 1]]
            s2, s3 = dense[indices[p + 2]], dense[indices[p + 3]]
            for j in range(n_cols):
                row[j] += w0 * s0[j] + w1 * s1[j] + w2 * s2[j] + w3 * s3[j]
            p += 4
        while p < end:
            weight = data[p]
            source = dense[indices[p]]
            for j in range(n_cols):
                row[j] += weight * source[j]
            p += 1


@njit(parallel=True, cache=True, nogil=True)
def difference_over(total, view, divisor, out):  # pragma: no cover - compiled
    """out = (total - view) / divisor, elementwise."""
    for i in prange(total.shape[0]):
        for j in range(total.shape[1]):
            out[i, j] = (total[i, j] - view[i, j]) / divisor


@njit(parallel=True, cache=True, nogil=True)
def transpose_into(source, out):  # pragma: no cover - compiled
    """out = source.T for a square matrix, tile by tile."""
    n = source.shape[0]
    tiles = (n + TILE - 1) // TILE
    for bi in prange(tiles):
        for bj in range(tiles):
            for i in range(bi * TILE, min(n, (bi + 1) * TILE)):
                for j in range(bj * TILE, min(n, (bj + 1) * TILE)):
                    out[j, i] = source[i, j]


@njit(parallel=True, cache=True, nogil=True)
def normalize_symmetrize(x):  # pragma: no cover - compiled
    """In place: SNF's normalize (row i over 2 * its off-diagonal sum, a zero sum counting
    as 1; diagonal 0.5), then (X + X^T) / 2."""
    n = x.shape[0]
    denominator = np.empty(n)
    for i in prange(n):
        total = 0.0
        for j in range(n):
            total += x[i, j]
        off_diagonal = total - x[i, i]
        denominator[i] = 2.0 * (off_diagonal if off_diagonal != 0.0 else 1.0)
    tiles = (n + TILE - 1) // TILE
    first_tile, second_tile = _upper_tile_pairs(tiles)
    for pair in prange(first_tile.shape[0]):  # the upper triangle of tiles, each pair once
        bi = first_tile[pair]
        bj = second_tile[pair]
        for i in range(bi * TILE, min(n, (bi + 1) * TILE)):
            start = i + 1 if bi == bj else bj * TILE
            for j in range(start, min(n, (bj + 1) * TILE)):
                value = (x[i, j] / denominator[i] + x[j, i] / denominator[j]) / 2.0
                x[i, j] = value
                x[j, i] = value
    for i in prange(n):
        x[i, i] = 0.5


@njit(parallel=True, cache=True, nogil=True)
def distances_from_gram(gram, squared_norms):  # pragma: no cover - compiled
    """In place: Gram matrix Z Z^T -> Euclidean distances sqrt(max(|z_i|^2 + |z_j|^2 - 2 z_i.z_j,
    0)), made exactly symmetric ((D + D^T) / 2) with a zero diagonal."""
    n = gram.shape[0]
    tiles = (n + TILE - 1) // TILE
    first_tile, second_tile = _upper_tile_pairs(tiles)
    for pair in prange(first_tile.shape[0]):
        bi = first_tile[pair]
        bj = second_tile[pair]
        for i in range(bi * TILE, min(n, (bi + 1) * TILE)):
            start = i + 1 if bi == bj else bj * TILE
            for j in range(start, min(n, (bj + 1) * TILE)):
                upper = np.sqrt(max(squared_norms[i] + squared_norms[j] - 2.0 * gram[i, j], 0.0))
                lower = np.sqrt(max(squared_norms[j] + squared_norms[i] - 2.0 * gram[j, i], 0.0))
                value = (upper + lower) / 2.0
                gram[i, j] = value
                gram[j, i] = value
    for i in prange(n):
        gram[i, i] = 0.0


@njit(parallel=True, cache=True, nogil=True)
def local_scales(dist, neighbors, eps):  # pragma: no cover - compiled
    """Mean distance of each cell to its `neighbors` nearest other cells, + eps (SNFtool:
    the mean of the 2nd..(K+1)th smallest entries of the row)."""
    n = dist.shape[0]
    out = np.empty(n)
    for i in prange(n):
        smallest = np.partition(dist[i].copy(), neighbors)[: neighbors + 1]
        out[i] = (smallest.sum() - smallest.min()) / neighbors + eps
    return out


@njit(parallel=True, cache=True, nogil=True)
def gaussian_affinity(dist, scales, alpha, eps):  # pragma: no cover - compiled
    """In place: distances -> SNFtool affinities NormalPdf(D; 0, alpha * Sig) with
    Sig = (mu_i + mu_j) / 3 + D / 3 + eps (at least eps); symmetric by construction, so
    (W + W^T) / 2 changes nothing."""
    n = dist.shape[0]
    inv_sqrt_2pi = 1.0 / np.sqrt(2.0 * np.pi)
    tiles = (n + TILE - 1) // TILE
    first_tile, second_tile = _upper_tile_pairs(tiles)
    for pair in prange(first_tile.shape[0]):
        bi = first_tile[pair]
        bj = second_tile[pair]
        for i in range(bi * TILE, min(n, (bi + 1) * TILE)):
            start = i if bi == bj else bj * TILE
            for j in range(start, min(n, (bj + 1) * TILE)):
                d = dist[i, j]
                sig = (scales[i] + scales[j]) / 2.0 / 3.0 * 2.0 + d / 3.0 + eps
                if sig <= eps:
                    sig = eps
                sd = alpha * sig
                x = d / sd
                value = inv_sqrt_2pi * np.exp(-0.5 * x * x) / sd
                dist[i, j] = value
                dist[j, i] = value


@njit(cache=True, nogil=True)
def _upper_tile_pairs(tiles):  # pragma: no cover - compiled
    """(row tile, column tile) of every tile on or above the diagonal, row-major."""
    count = tiles * (tiles + 1) // 2
    first_tile = np.empty(count, dtype=np.int64)
    second_tile = np.empty(count, dtype=np.int64)
    k = 0
    for bi in range(tiles):
        for bj in range(bi, tiles):
            first_tile[k] = bi
            second_tile[k] = bj
            k += 1
    return first_tile, second_tile
