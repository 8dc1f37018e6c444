"""Clusterings of a latent space: Leiden on its kNN graph and k-means with a given k."""

from __future__ import annotations

import numpy as np


class _IgraphRandom:
    """igraph's random number source drawn from a seeded numpy RandomState, as scanpy's
    sc.tl.leiden(flavor="igraph") seeds it, so the communities are the same as scanpy's."""

    def __init__(self, seed: int) -> None:
        self._rng = np.random.RandomState(seed)

    def getrandbits(self, k: int) -> int:
        return self._rng.tomaxint() & ((1 << k) - 1)

    def randint(self, a: int, b: int) -> int:
        return self._rng.randint(a, b + 1)

    def __getattr__(self, name: str):
        return getattr(self._rng, "normal" if name == "gauss" else name)


def leiden(graph, *, resolution: float = 1.0, seed: int = 0) -> np.ndarray:
    """Leiden communities (modularity, 2 iterations, igraph) of a kNN graph from
    `embed.knn_graph`, or of its sparse connectivities: sc.tl.leiden(flavor="igraph") without
    importing scanpy, which costs a small job more than the clustering (the same edges,
    weights and seeding as scanpy's)."""
    import random

    import igraph as ig

    adjacency = graph.obsp["connectivities"] if hasattr(graph, "obsp") else graph
    sources, targets = adjacency.nonzero()
    network = ig.Graph(directed=False)
    network.add_vertices(adjacency.shape[0])
    network.add_edges(list(zip(sources, targets, strict=True)))
    network.es["weight"] = np.asarray(adjacency[sources, targets]).ravel()
    ig.set_random_number_generator(_IgraphRandom(seed))
    try:
        partition = network.community_leiden(
            objective_function="modularity",
            weights="weight",
            resolution=resolution,
            n_iterations=2,
        )
    finally:
        ig.set_random_number_generator(random)
    return np.asarray(partition.membership, dtype=int)


def kmeans(latent: np.ndarray, k: int, *, seed: int = 0, n_init: int = 10) -> np.ndarray:
    """k-means with the number of clusters given (the k-given setting of many papers)."""
    from sklearn.cluster import KMeans

    if k < 1:
        raise ValueError(f"k-means needs k >= 1, got {k}")
    model = KMeans(n_clusters=k, n_init=n_init, random_state=seed)
    return model.fit_predict(np.asarray(latent, dtype=np.float64)).astype(int)
