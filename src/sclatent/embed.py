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


def knn_graph(latent: np.ndarray, *, n_neighbors: int = 15, seed: int = 0):
    """scanpy's kNN graph (UMAP connectivities) on a latent: an AnnData with obsp filled.

    The latent stays in obsm['X_latent'] because UMAP's layout reads it beside the graph.
    """
    import anndata as ad
    import scanpy as sc

    holder = ad.AnnData(obsm={"X_latent": np.asarray(latent, dtype=np.float32)})
    holder.obs_names = holder.obs_names.astype(str)
    sc.pp.neighbors(holder, n_neighbors=n_neighbors, use_rep="X_latent", random_state=seed)
    return holder


def umap_from_graph(graph, *, seed: int = 0, min_dist: float = 0.5, n_components: int = 2):
    """UMAP coordinates of the cells in a kNN graph made by `knn_graph`."""
    import scanpy as sc

    sc.tl.umap(graph, min_dist=min_dist, n_components=n_components, random_state=seed)
    return np.asarray(graph.obsm.pop("X_umap"), dtype=np.float32)
