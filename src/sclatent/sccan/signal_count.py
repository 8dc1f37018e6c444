"""How many principal directions of the expression matrix stand above noise (SC3's k estimate).

Random-matrix theory: for a cells x genes matrix of independent standardised noise, the largest
eigenvalue of X X^T sits near the Tracy-Widom edge; every eigenvalue past it is signal, and
their count estimates the number of cell groups. The count grows with the number of cells
(more cells resolve finer structure), so it is taken on random subsamples of a fixed size, and
the median over draws is kept. The recommended clustering uses it only to bound where the
fused graph's eigengap is read (`sccan.api.choose_k`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

# Tracy-Widom (GOE) quantile at p = 0.001, as SC3
TRACY_WIDOM_EDGE = 3.273
DRAWS = 7


def tracy_widom_count(x) -> int:
    """Eigenvalues of X X^T (X: cells x genes, each cell standardised) above the TW edge."""
    x = np.asarray(x.toarray() if sp.issparse(x) else x, dtype=np.float64)
    cells, genes = x.shape
    if cells < 3 or genes < 3:
        return 0
    x = (x - x.mean(1, keepdims=True)) / (x.std(1, ddof=1, keepdims=True) + 1e-12)
    root_g, root_n = np.sqrt(genes - 1), np.sqrt(cells)
    mu = (root_g + root_n) ** 2
    sigma = (root_g + root_n) * (1 / root_g + 1 / root_n) ** (1 / 3)
    values = np.linalg.eigvalsh(x @ x.T if cells <= genes else x.T @ x)
    return int((values > TRACY_WIDOM_EDGE * sigma + mu).sum())


def signal_count(x, cells: int, *, seed: int = 0, draws: int = DRAWS) -> int:
    """Median Tracy-Widom count over `draws` random subsamples of `cells` cells (all cells when
    there are fewer). x: cells x genes log-normalised expression (dense, sparse, or a backed
    AnnData's X: only the drawn rows are read)."""
    n = x.shape[0]
    rng = np.random.default_rng(seed)
    if n <= cells:
        return tracy_widom_count(x[:])
    counts = [
        tracy_widom_count(x[np.sort(rng.choice(n, cells, replace=False))]) for _ in range(draws)
    ]
    return int(np.median(counts))


def signal_count_of_file(path, cells: int, *, seed: int = 0) -> int:
    """`signal_count` of an h5ad file's X (the workflow's hvg.h5ad), read backed: only the
    drawn cells are loaded, however large the file."""
    import anndata as ad

    adata = ad.read_h5ad(path, backed="r")
    try:
        return signal_count(adata.X, cells, seed=seed)
    finally:
        adata.file.close()
