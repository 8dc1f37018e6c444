"""Steps 6-7 of scCAN: eigengap estimate of k and SNFtool's spectral clustering.

The normalised Laplacians here are symmetric, so only the few smallest eigenpairs are
computed: LAPACK `eigh` restricted by index on small graphs, ARPACK Lanczos (`eigsh`, to
machine precision) on large ones, where a full dense eigendecomposition of 5,000 cells took
about 14 s on one core (and longer on two under load) against about 1 s for Lanczos.
"""

from __future__ import annotations

import numpy as np

EPS = np.finfo(np.float64).eps
LANCZOS_FROM = 1000  # cells; below this the dense solver is fast and exact


def _smallest_laplacian_eigenpairs(
    graph: np.ndarray, count: int, *, zero_diagonal: bool, solver: str, vectors: bool
):
    """Smallest `count` eigenpairs of I - D^-1/2 W D^-1/2, ascending.

    `zero_diagonal` uses W without its diagonal (the degree then leaves it out too), without
    copying the n x n matrix.
    """
    from threadpoolctl import threadpool_limits

    n = graph.shape[0]
    diagonal = np.diagonal(graph).astype(np.float64) if zero_diagonal else np.zeros(n)
    degrees = graph.sum(axis=1, dtype=np.float64) - diagonal
    degrees[degrees == 0] = EPS
    inv_sqrt = 1.0 / np.sqrt(degrees)
    count = min(count, n)
    if solver == "auto":
        solver = "lanczos" if n >= LANCZOS_FROM and count < n // 2 else "dense"
    if solver == "lanczos" and count < n - 1:
        from scipy.sparse.linalg import LinearOperator, eigsh

        def matvec(x):
            y = inv_sqrt * np.ravel(x)
            return inv_sqrt * (graph @ y.astype(graph.dtype) - diagonal * y)

        operator = LinearOperator((n, n), matvec=matvec, dtype=np.float64)
        start = np.random.default_rng(0).uniform(-1.0, 1.0, n)
        result = eigsh(
            operator, k=count, which="LA", tol=0.0, v0=start, return_eigenvectors=vectors
        )
        values, vecs = result if vectors else (result, None)
        order = np.argsort(-values, kind="stable")
        return 1.0 - values[order], (vecs[:, order] if vectors else None)

    from scipy.linalg import eigh

    laplacian = -(inv_sqrt[:, None] * graph * inv_sqrt[None, :]).astype(np.float64)
    laplacian[np.diag_indices(n)] += 1.0 + diagonal * inv_sqrt * inv_sqrt
    # one thread: LAPACK eigh on 2 threads under load was 2-12x slower here than on one
    with threadpool_limits(1):
        result = eigh(
            laplacian, subset_by_index=[0, count - 1], eigvals_only=not vectors, driver="evr"
        )
    values, vecs = result if vectors else (result, None)
    return values, vecs


def eigengaps(graph: np.ndarray, k_min: int, k_max: int, solver: str = "auto"):
    """Eigenvalues (ascending, up to k_max + 1) and gaps lambda_{k+1} - lambda_k, k_min..k_max.

    As SNFtool's estimateNumberOfClustersGivenGraph: W symmetrised, diagonal zeroed,
    L = I - D^-1/2 W D^-1/2. Gaps past the number of cells are NaN.
    """
    values, _ = _smallest_laplacian_eigenpairs(
        graph, k_max + 1, zero_diagonal=True, solver=solver, vectors=False
    )
    ks = np.arange(k_min, k_max + 1)
    gaps = np.full(len(ks), np.nan)
    usable = ks < len(values)
    gaps[usable] = np.abs(values[ks[usable]] - values[ks[usable] - 1])
    return values, ks, gaps


def best_two_ks(ks: np.ndarray, gaps: np.ndarray) -> tuple[int, int]:
    """The k of the largest and second-largest gap (first on ties, as R's stable sort)."""
    order = np.argsort(-np.nan_to_num(gaps, nan=-np.inf), kind="stable")
    second = order[1] if len(order) > 1 else order[0]
    return int(ks[order[0]]), int(ks[second])


def gap_or_count(ks: np.ndarray, gaps: np.ndarray, count: int, ratio: float) -> tuple[int, bool]:
    """(k, clear): the largest gap when it is clear (at least `ratio` x the second largest);
    else the largest gap within +-1 of the Tracy-Widom `count` (the largest anywhere when the
    count is out of range)."""
    k_best, k_second = best_two_ks(ks, gaps)
    gap = dict(zip(ks.tolist(), np.nan_to_num(gaps, nan=-np.inf).tolist(), strict=True))
    if k_best == k_second or gap[k_best] >= ratio * gap[k_second]:
        return k_best, True
    window = [k for k in (count - 1, count, count + 1) if np.isfinite(gap.get(k, -np.inf))]
    if not window:
        return k_best, False
    return max(window, key=lambda k: (gap[k], -k)), False


def spectral_clustering(graph: np.ndarray, k: int, solver: str = "auto") -> np.ndarray:
    """SNFtool's spectralClustering(W, k, type = 3): labels 0..k-1 of every cell.

    Eigenvectors of the k smallest eigenvalues of D^-1/2 (D - W) D^-1/2 (W with its
    diagonal), rows L2-normalised, then Yu-Shi discretisation.
    """
    _, vectors = _smallest_laplacian_eigenpairs(
        graph, k, zero_diagonal=False, solver=solver, vectors=True
    )
    return discretise(vectors)


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    # R: x / sqrt(sum(x^2)); a zero row gives NaN there, and 0 here
    norms = np.sqrt((matrix * matrix).sum(axis=1, keepdims=True))
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def discretise(eigenvectors: np.ndarray, max_iterations: int = 20) -> np.ndarray:
    """Yu & Shi (2003) discretisation as in SNFtool: returns argmax labels (first on ties).

    The first rotation column is row round(n/2) (R: 1-based, halves to even); each further
    column is the row with the smallest cumulative |U R|; then up to `max_iterations` of
    one-hot assignment and SVD, stopping when the Ncut value changes by less than eps.
    The result does not depend on the basis of the eigenvector subspace.
    """
    u = _unit_rows(np.asarray(eigenvectors, dtype=np.float64))
    n, k = u.shape
    rotation = np.zeros((k, k))
    rotation[:, 0] = u[max(round(n / 2), 1) - 1]
    cumulative = np.zeros(n)
    for j in range(1, k):
        cumulative += np.abs(u @ rotation[:, j - 1])
        rotation[:, j] = u[int(np.argmin(cumulative))]
    last_objective = 0.0
    labels = np.argmax(u @ rotation, axis=1)
    for _ in range(max_iterations):
        labels = np.argmax(u @ rotation, axis=1)
        discrete = np.zeros((n, k))
        discrete[np.arange(n), labels] = 1.0
        left, singular, right_t = np.linalg.svd(discrete.T @ u)
        objective = 2.0 * (n - singular.sum())
        if abs(objective - last_objective) < EPS:
            break
        last_objective = objective
        rotation = right_t.T @ left.T
    return labels
