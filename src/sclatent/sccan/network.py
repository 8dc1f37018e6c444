"""Steps 4-5 of scCAN: one affinity network per latent, then similarity network fusion (SNF).

`affinity_network` and `fuse_networks` compute what the reference R code (SNFtool's
`affinityMatrix` and `SNF`, as shipped in scCAN) computes, up to floating-point rounding:
the SNF update S (M) S^T runs with S sparse (K nonzeros a row) through a parallel sparse x
dense kernel on a bandwidth-reducing cell order, instead of two dense n^3 products.
`fuse_networks_reference` is the plain dense transcription kept for tests and benchmarks.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

EPS = np.finfo(np.float64).eps
_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)
_ROW_CHUNK = 512  # rows per block in the dominant-set search


def euclidean_distances(latent: np.ndarray, dtype=np.float64) -> np.ndarray:
    """Dense Euclidean (not squared) distances, symmetric with a zero diagonal."""
    from sclatent.sccan._kernels import distances_from_gram

    z = np.ascontiguousarray(latent, dtype=np.float64)
    gram = z @ z.T
    distances_from_gram(gram, np.einsum("ij,ij->i", z, z))
    return gram.astype(dtype, copy=False)


def _local_scale(sorted_distances: np.ndarray, neighbors: int) -> np.ndarray:
    """Mean distance to the `neighbors` nearest other cells (+ eps), as SNFtool computes it."""
    return sorted_distances[:, 1 : neighbors + 1].mean(axis=1) + EPS


def _gaussian_kernel(dist: np.ndarray, mean_i: np.ndarray, mean_j: np.ndarray, alpha: float):
    """NormalPdf(D; 0, alpha * Sig), Sig = (mu_i + mu_j + D) / 3 (+ eps), elementwise."""
    sig = (mean_i + mean_j) / 2.0 / 3.0 * 2.0 + dist / 3.0 + EPS
    sig[sig <= EPS] = EPS
    sig *= alpha
    out = dist / sig
    out *= out
    out *= -0.5
    np.exp(out, out=out)
    out *= _INV_SQRT_2PI
    out /= sig
    return out


def affinity_network(dist: np.ndarray, neighbors: int = 20, alpha: float = 0.5) -> np.ndarray:
    """Gaussian affinities with a local scale from a dense symmetric distance matrix
    (float64, overwritten and returned).

    Equals SNFtool's affinityMatrix(D, K = neighbors, sigma = alpha); with fewer than
    neighbors + 1 cells (where the R code stops with an error) all other cells are used.
    """
    from sclatent.sccan import _kernels

    dist = np.ascontiguousarray(dist, dtype=np.float64)
    k = min(neighbors, dist.shape[0] - 1)
    scales = _kernels.local_scales(dist, k, EPS)
    _kernels.gaussian_affinity(dist, scales, float(alpha), EPS)
    return dist


def knn_affinity_network(
    latent: np.ndarray, knn: int, neighbors: int = 20, alpha: float = 0.5
) -> sp.csr_matrix:
    """The same kernel kept only on each cell's `knn` nearest neighbours (sparse, symmetric).

    Never forms the n x n distance matrix: memory and time grow with n * knn.
    """
    from sklearn.neighbors import NearestNeighbors

    z = np.asarray(latent, dtype=np.float64)
    n = z.shape[0]
    n_search = min(max(knn, neighbors) + 1, n)
    dist, index = NearestNeighbors(n_neighbors=n_search, algorithm="brute").fit(z).kneighbors(z)
    # kneighbors puts each cell first at distance 0 (ties with duplicates aside)
    means = _local_scale(dist, min(neighbors, n - 1))
    keep = min(knn, n - 1) + 1
    dist, index = dist[:, :keep], index[:, :keep]
    values = _gaussian_kernel(dist, means[:, None], means[index], alpha)
    rows = np.repeat(np.arange(n), keep)
    graph = sp.csr_matrix((values.ravel(), (rows, index.ravel())), shape=(n, n))
    graph.sum_duplicates()
    return ((graph + graph.T) * 0.5).tocsr()


# --- similarity network fusion ------------------------------------------------------------


def _normalize_symmetrize(matrix: np.ndarray) -> np.ndarray:
    """SNF's normalize (rows over 2 * off-diagonal sum, diagonal 0.5), then (X + X^T) / 2,
    in place."""
    from sclatent.sccan._kernels import normalize_symmetrize

    normalize_symmetrize(matrix)
    return matrix


def _dominant_set_mask(rows: np.ndarray, keep: int) -> np.ndarray:
    """Mask of the `keep` largest entries of each row, ties resolved as R's stable sort.

    R zeroes the n - keep smallest entries in stable ascending order, so among equal values
    at the threshold the ones with the highest column index survive.
    """
    n = rows.shape[1]
    if keep >= n:
        return np.ones(rows.shape, dtype=bool)
    threshold = np.partition(rows, n - keep, axis=1)[:, n - keep][:, None]
    mask = rows > threshold
    missing = keep - mask.sum(axis=1)
    at_threshold = rows == threshold
    from_right = np.cumsum(at_threshold[:, ::-1], axis=1)[:, ::-1]
    mask |= at_threshold & (from_right <= missing[:, None])
    return mask


def _snf_keep(n: int, neighbors: int) -> int:
    """Entries kept a row by SNFtool's dominateset: n - 1 when n == K (an R indexing quirk)."""
    return n - 1 if n == neighbors else min(neighbors, n)


def dominant_set(matrix: np.ndarray, neighbors: int) -> sp.csr_matrix:
    """The K largest entries of each row, row-normalised (SNFtool's .dominateset), sparse."""
    n = matrix.shape[0]
    keep = _snf_keep(n, neighbors)
    indices = np.empty((n, keep), dtype=np.int64)
    for start in range(0, n, _ROW_CHUNK):
        mask = _dominant_set_mask(matrix[start : start + _ROW_CHUNK], keep)
        indices[start : start + len(mask)] = np.nonzero(mask)[1].reshape(len(mask), keep)
    values = np.take_along_axis(matrix, indices, axis=1).astype(np.float64)
    values /= values.sum(axis=1, keepdims=True)
    indptr = np.arange(0, n * keep + 1, keep)
    return sp.csr_matrix((values.ravel(), indices.ravel(), indptr), shape=(n, n))


def _initial_view(affinity, dtype, overwrite: bool) -> np.ndarray:
    if sp.issparse(affinity):
        dense = np.ascontiguousarray(affinity.toarray(), dtype=np.float64)
    else:
        dense = (np.ascontiguousarray if overwrite else np.array)(affinity, dtype=np.float64)
    return _normalize_symmetrize(dense).astype(dtype, copy=False)


def fuse_networks(
    affinities,
    neighbors: int = 30,
    iterations: int = 10,
    dtype=np.float64,
    *,
    overwrite: bool = False,
) -> np.ndarray:
    """SNF of the affinity networks (dense or sparse; any iterable), as SNFtool's SNF.

    Jacobi updates P_v <- normalize(S_v (sum_{u != v} P_u / (V - 1)) S_v^T); the
    multiplications run in `dtype` on a reverse Cuthill-McKee order of the cells (so that
    the rows a sparse row gathers sit close in memory), and the result is put back in the
    original order. Returns the fused dense n x n network. With one view there is nothing
    to fuse (the R code divides by V - 1 = 0): the normalised view is returned.
    `overwrite=True` lets dense float64 inputs be normalised in place (saves V n^2 copies).
    """
    from sclatent.sccan import _kernels as kernels

    views = [_initial_view(a, dtype, overwrite) for a in affinities]
    n_views = len(views)
    if n_views == 1:
        return _finish(views, dtype)
    sparse_views = [dominant_set(view, neighbors) for view in views]
    order = _locality_order(sparse_views)
    for i in range(n_views):
        views[i] = views[i][np.ix_(order, order)]
        sparse_views[i] = _permuted(sparse_views[i], order, dtype)

    n = views[0].shape[0]
    total = np.empty((n, n), dtype=dtype)
    buffer = np.empty((n, n), dtype=dtype)
    product = np.empty((n, n), dtype=dtype)
    for _ in range(iterations):
        np.copyto(total, views[0])
        for view in views[1:]:
            np.add(total, view, out=total)
        for view, s in zip(views, sparse_views, strict=True):
            kernels.difference_over(total, view, float(n_views - 1), buffer)
            kernels.sparse_times_dense(s.indptr, s.indices, s.data, buffer, product)  # S M
            kernels.transpose_into(product, buffer)  # (S M)^T = M S^T, M being symmetric
            kernels.sparse_times_dense(s.indptr, s.indices, s.data, buffer, view)  # S M S^T
            kernels.normalize_symmetrize(view)
    fused = _finish(views, dtype)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(n)
    return fused[np.ix_(inverse, inverse)]


def _finish(views: list[np.ndarray], dtype) -> np.ndarray:
    fused = np.zeros(views[0].shape, dtype=np.float64)
    for view in views:
        fused += view
    fused /= len(views)
    return _normalize_symmetrize(fused).astype(dtype, copy=False)


def _locality_order(sparse_views: list[sp.csr_matrix]) -> np.ndarray:
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    pattern = sparse_views[0].copy()
    for s in sparse_views[1:]:
        pattern = pattern + s
    pattern = (pattern + pattern.T).tocsr()
    return np.asarray(reverse_cuthill_mckee(pattern, symmetric_mode=True), dtype=np.int64)


def _permuted(matrix: sp.csr_matrix, order: np.ndarray, dtype) -> sp.csr_matrix:
    permuted = matrix[order][:, order].tocsr()
    permuted.sort_indices()
    permuted.data = permuted.data.astype(dtype)
    permuted.indices = permuted.indices.astype(np.int64)
    permuted.indptr = permuted.indptr.astype(np.int64)
    return permuted


def fuse_networks_reference(
    affinities: list, neighbors: int = 30, iterations: int = 10
) -> np.ndarray:
    """Plain dense transcription of SNFtool's SNF (n^3 products); for tests and benchmarks."""

    def normalize(x):
        off = x.sum(axis=1) - np.diag(x)
        off[off == 0] = 1.0
        x = x / (2.0 * off)[:, None]
        np.fill_diagonal(x, 0.5)
        return x

    def dominate(x, k):
        n = x.shape[0]
        keep = _snf_keep(n, k)
        out = np.zeros_like(x)
        for i in range(n):
            largest = np.argsort(x[i], kind="stable")[n - keep :]
            out[i, largest] = x[i, largest]
        return out / out.sum(axis=1, keepdims=True)

    walls = [np.array(a.toarray() if sp.issparse(a) else a, dtype=np.float64) for a in affinities]
    walls = [normalize(w) for w in walls]
    walls = [(w + w.T) / 2 for w in walls]
    news = [dominate(w, neighbors) for w in walls]
    count = len(walls)
    for _ in range(iterations if count > 1 else 0):
        nexts = []
        for j in range(count):
            others = sum(walls[k] for k in range(count) if k != j) / (count - 1)
            nexts.append(news[j] @ others @ news[j].T)
        walls = [normalize(x) for x in nexts]
        walls = [(w + w.T) / 2 for w in walls]
    fused = normalize(sum(walls) / count)
    return (fused + fused.T) / 2
