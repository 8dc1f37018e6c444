"""Baseline latent spaces (PCA, UMAP) and the kNN graph every graph method shares."""

from __future__ import annotations

import logging

import numpy as np
import scipy.linalg
import scipy.sparse as sp

log = logging.getLogger(__name__)


def pca(X, n_comps: int = 50, *, scale: bool = False, chunk_rows: int = 8192):
    """Exact PCA of a (sparse) cells x genes matrix without densifying it.

    The genes x genes covariance is accumulated from dense row blocks (a BLAS product per
    block), then solved with a symmetric eigensolver; the cells are projected sparsely. This is
    deterministic and scales linearly in cells, which a randomised SVD of the centred matrix
    does not do without materialising it. With `scale`, genes are standardised (correlation
    PCA), as scanpy's scale() + pca() would do, but without the dense scaled copy.

    Returns (scores n x k float32, loadings genes x k, explained variance ratio).
    """
    n_cells, n_genes = X.shape
    k = int(min(n_comps, n_genes - 1, n_cells - 1))
    if k < n_comps:
        log.warning("n_comps=%d reduced to %d (%d cells x %d genes)", n_comps, k, n_cells, n_genes)
    if k < 1:
        raise ValueError(f"PCA needs at least 2 cells and 2 genes, got {n_cells} x {n_genes}")
    X = X.tocsr() if sp.issparse(X) else np.asarray(X)
    mean = np.asarray(X.mean(axis=0), dtype=np.float64).ravel()
    gram = np.zeros((n_genes, n_genes))
    for start in range(0, n_cells, chunk_rows):
        block = X[start : start + chunk_rows]
        block = block.toarray() if sp.issparse(block) else np.asarray(block)
        block = block.astype(np.float32, copy=False)
        gram += block.T @ block
    cov = gram / n_cells - np.outer(mean, mean)
    sd = np.sqrt(np.clip(np.diag(cov), 0, None))
    sd[sd == 0] = 1.0
    if scale:
        cov = cov / np.outer(sd, sd)
    eigval, eigvec = scipy.linalg.eigh(cov, subset_by_index=[n_genes - k, n_genes - 1])
    order = np.argsort(eigval)[::-1]
    eigval, eigvec = eigval[order], eigvec[:, order]
    # a sign per component, fixed so results do not depend on the LAPACK build
    flip = np.sign(eigvec[np.abs(eigvec).argmax(axis=0), np.arange(k)])
    eigvec *= flip
    loadings = eigvec / sd[:, None] if scale else eigvec
    scores = np.asarray(X @ loadings) - mean @ loadings
    total_var = float(np.trace(cov))
    return scores.astype(np.float32), loadings.astype(np.float32), eigval / total_var


# Below this many cells the kNN search is exact (brute force, one BLAS product per block of
# cells): faster there than building an approximate index, and no numba compilation.
# On 2 cores an exact search of 100k cells x 50 dimensions takes ~20 s; pynndescent took 60-80 s
# per graph at 100k (docs/scale.md). At a million cells exact would take about half an hour.
EXACT_KNN_MAX_CELLS = 120_000


def nearest_neighbors(latent: np.ndarray, n_neighbors: int, *, seed: int = 0, threads: int = 1):
    """(indices, distances), n x n_neighbors, each cell first with distance 0, then its
    n_neighbors - 1 nearest other cells in increasing distance (Euclidean).

    Exact below EXACT_KNN_MAX_CELLS; above it pynndescent, set up as scanpy and umap do.
    """
    latent = np.ascontiguousarray(latent, dtype=np.float32)
    n = latent.shape[0]
    k = min(n_neighbors, n)
    if n <= EXACT_KNN_MAX_CELLS:
        from sklearn.neighbors import NearestNeighbors

        search = NearestNeighbors(n_neighbors=k - 1, algorithm="brute")
        distances, indices = search.fit(latent).kneighbors()  # each cell's others
        return _with_self(indices, distances)
    from sclatent.numba_cache import cache_numba_kernels

    cache_numba_kernels()
    from pynndescent import NNDescent

    index = NNDescent(
        latent,
        n_neighbors=k,
        metric="euclidean",
        random_state=seed,
        n_trees=min(64, 5 + round(n**0.5 / 20.0)),
        n_iters=max(5, round(np.log2(n))),
        n_jobs=threads,
        low_memory=True,
    )
    indices, distances = index.neighbor_graph
    return _self_first(indices, distances)


def _self_first(indices: np.ndarray, distances: np.ndarray):
    """An approximate search may miss a cell itself or rank a duplicate first: put each cell
    first with distance 0 and keep its k - 1 nearest others."""
    n, k = indices.shape
    others = indices != np.arange(n)[:, None]
    lacks_self = others.all(axis=1)
    others[lacks_self, -1] = False
    return _with_self(indices[others].reshape(n, k - 1), distances[others].reshape(n, k - 1))


def _with_self(indices: np.ndarray, distances: np.ndarray):
    """Each cell's nearest others with the cell itself put first, at distance 0."""
    n = indices.shape[0]
    return (
        np.hstack([np.arange(n)[:, None], indices]).astype(np.int64),
        np.hstack([np.zeros((n, 1)), distances]).astype(np.float32),
    )


def _smooth_knn_dist(distances: np.ndarray, n_iter: int = 64, tolerance: float = 1e-5):
    """umap-learn's smooth_knn_dist (local_connectivity 1, bandwidth 1), vectorised: per cell
    rho, the distance to its nearest other cell, and sigma, found by bisection so that the
    memberships of its neighbours sum to log2(k)."""
    n, k = distances.shape
    nonzero = np.where(distances > 0, distances, np.inf)
    rho = nonzero.min(axis=1)
    rho[~np.isfinite(rho)] = 0.0
    target = np.log2(k)
    shifted = distances[:, 1:].astype(np.float64) - rho[:, None]
    lo, hi, mid = np.zeros(n), np.full(n, np.inf), np.ones(n)
    active = np.ones(n, dtype=bool)
    for _ in range(n_iter):
        if not active.any():
            break
        rows = np.flatnonzero(active)
        d, m = shifted[rows], mid[rows, None]
        psum = np.where(d > 0, np.exp(-np.maximum(d, 0) / m), 1.0).sum(axis=1)
        converged = np.abs(psum - target) < tolerance
        active[rows[converged]] = False
        rows, psum = rows[~converged], psum[~converged]
        above = psum > target
        hi[rows[above]] = mid[rows[above]]
        lo[rows[~above]] = mid[rows[~above]]
        unbounded = ~np.isfinite(hi[rows])
        mid[rows] = np.where(~above & unbounded, mid[rows] * 2, (lo[rows] + hi[rows]) / 2)
    floor = 1e-3 * np.where(rho > 0, distances.mean(axis=1), distances.mean())
    return np.maximum(mid, floor), rho


def umap_connectivities(indices: np.ndarray, distances: np.ndarray):
    """UMAP's fuzzy simplicial set of a kNN graph (what scanpy stores as connectivities), in
    numpy: memberships exp(-(d - rho) / sigma), symmetrised by the fuzzy union A + A' - A*A'.

    The same graph as umap-learn's fuzzy_simplicial_set, without compiling its numba kernels
    in every process.
    """
    n, k = indices.shape
    sigma, rho = _smooth_knn_dist(distances)
    sigma[sigma == 0] = np.inf  # every distance zero: full membership, as in umap-learn
    excess = distances.astype(np.float64) - rho[:, None]
    strength = np.where(excess <= 0, 1.0, np.exp(-np.maximum(excess, 0) / sigma[:, None]))
    strength[indices == np.arange(n)[:, None]] = 0.0
    membership = sp.csr_matrix(
        (strength.ravel(), indices.ravel(), np.arange(0, n * k + 1, k)), shape=(n, n)
    )
    membership.eliminate_zeros()
    transpose = membership.T.tocsr()
    fused = membership + transpose - membership.multiply(transpose)
    fused.eliminate_zeros()
    return sp.csr_matrix(fused, dtype=np.float32)


def knn_graph(latent: np.ndarray, *, n_neighbors: int = 15, seed: int = 0, threads: int = 1):
    """The kNN graph of a latent as scanpy's sc.pp.neighbors leaves it: an AnnData with
    obsp['distances'] (the n_neighbors - 1 nearest other cells), obsp['connectivities'] (UMAP
    memberships) and uns['neighbors'], so scanpy's UMAP, Leiden and plots read it unchanged.

    The latent stays in obsm['X_latent'] because UMAP's layout reads it beside the graph.
    """
    import anndata as ad

    latent = np.asarray(latent, dtype=np.float32)
    indices, distances = nearest_neighbors(latent, n_neighbors, seed=seed, threads=threads)
    n, k = indices.shape
    holder = ad.AnnData(obsm={"X_latent": latent})
    holder.obs_names = holder.obs_names.astype(str)
    holder.obsp["distances"] = sp.csr_matrix(
        (distances[:, 1:].ravel(), indices[:, 1:].ravel(), np.arange(0, n * (k - 1) + 1, k - 1)),
        shape=(n, n),
    )
    holder.obsp["connectivities"] = umap_connectivities(indices, distances)
    holder.uns["neighbors"] = {
        "connectivities_key": "connectivities",
        "distances_key": "distances",
        "params": {
            "n_neighbors": k,
            "method": "umap",
            "random_state": seed,
            "metric": "euclidean",
            "use_rep": "X_latent",
        },
    }
    return holder


def umap_from_graph(graph, *, seed: int = 0, min_dist: float = 0.5, n_components: int = 2):
    """UMAP coordinates of the cells in a kNN graph made by `knn_graph`: sc.tl.umap's call of
    umap-learn (spectral start, 500 epochs up to 10,000 cells, then 200), without scanpy."""
    from sclatent.numba_cache import cache_numba_kernels

    cache_numba_kernels()
    from umap.umap_ import find_ab_params, simplicial_set_embedding

    a, b = find_ab_params(1.0, min_dist)
    connectivities = graph.obsp["connectivities"]
    coords, _ = simplicial_set_embedding(
        data=graph.obsm["X_latent"],
        graph=connectivities.tocoo(),
        n_components=n_components,
        initial_alpha=1.0,
        a=a,
        b=b,
        gamma=1.0,
        negative_sample_rate=5,
        n_epochs=500 if connectivities.shape[0] <= 10_000 else 200,
        init="spectral",
        random_state=np.random.RandomState(seed),
        metric="euclidean",
        metric_kwds={},
        densmap=False,
        densmap_kwds={},
        output_dens=False,
    )
    return np.asarray(coords, dtype=np.float32)
