"""Clusterings of a latent space: Leiden on its kNN graph and k-means with a given k."""

from __future__ import annotations

import numpy as np


def leiden(graph, *, resolution: float = 1.0, seed: int = 0) -> np.ndarray:
    """Leiden communities of a kNN graph from `embed.knn_graph` (igraph backend, seeded)."""
    import scanpy as sc

    sc.tl.leiden(
        graph,
        resolution=resolution,
        random_state=seed,
        flavor="igraph",
        n_iterations=2,
        directed=False,
        key_added="leiden",
    )
    return graph.obs["leiden"].astype(int).to_numpy()


def kmeans(latent: np.ndarray, k: int, *, seed: int = 0, n_init: int = 10) -> np.ndarray:
    """k-means with the number of clusters given (the k-given setting of many papers)."""
    from sklearn.cluster import KMeans

    if k < 1:
        raise ValueError(f"k-means needs k >= 1, got {k}")
    model = KMeans(n_clusters=k, n_init=n_init, random_state=seed)
    return model.fit_predict(np.asarray(latent, dtype=np.float64)).astype(int)
