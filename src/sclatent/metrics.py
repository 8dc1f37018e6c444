"""Scores of a clustering against known labels."""

from __future__ import annotations

import numpy as np
import pandas as pd

# column order of results/benchmark/metrics.tsv; columns added by later steps follow
METRIC_COLUMNS = [
    "dataset",
    "latent",
    "clustering",
    "ari",
    "nmi",
    "ami",
    "n_clusters",
    "n_types",
    "n_cells",
    "silhouette",
    "knn_accuracy",
    "local_overlap",
    "global_spearman",
    "latent_dim",
    "latent_seconds",
    "latent_peak_rss_mb",
    "clustering_seconds",
    "clustering_peak_rss_mb",
]


def clustering_agreement(truth, predicted) -> dict:
    """ARI, NMI and AMI of predicted clusters against true labels, plus both counts.

    Cells without a true label (NaN) are left out; without any labels only the number of
    clusters is reported and the scores are NaN.
    """
    from sklearn import metrics

    predicted = np.asarray(predicted)
    result = {
        "n_clusters": int(pd.Series(predicted).nunique()),
        "n_types": 0,
        "n_cells": len(predicted),
    }
    nan = float("nan")
    if truth is None:
        return result | {"ari": nan, "nmi": nan, "ami": nan}
    truth = pd.Series(truth).reset_index(drop=True)
    known = truth.notna().to_numpy()
    if not known.any():
        return result | {"ari": nan, "nmi": nan, "ami": nan}
    t, p = truth[known].astype(str).to_numpy(), predicted[known]
    return result | {
        "n_types": int(pd.Series(t).nunique()),
        "ari": float(metrics.adjusted_rand_score(t, p)),
        "nmi": float(metrics.normalized_mutual_info_score(t, p)),
        "ami": float(metrics.adjusted_mutual_info_score(t, p)),
    }


def _sample(n: int, size: int, seed: int) -> np.ndarray:
    """A sorted, seeded sample of at most `size` of n indices."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def _dense(matrix) -> np.ndarray:
    return np.asarray(matrix.toarray() if hasattr(matrix, "toarray") else matrix, dtype=np.float64)


def knn_sets(points: np.ndarray, k: int) -> np.ndarray:
    """Indices of each point's k nearest other points (Euclidean, exact)."""
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=k + 1).fit(points)
    neighbours = nn.kneighbors(points, return_distance=False)
    return neighbours[:, 1:]


def neighbour_overlap(reference: np.ndarray, latent: np.ndarray, k: int = 15) -> float:
    """Mean fraction of each cell's k nearest neighbours in the reference kept in the latent.

    1 means the latent keeps every local neighbourhood; a random latent scores about k/n.
    """
    k = min(k, len(reference) - 1)
    ref, lat = knn_sets(reference, k), knn_sets(latent, k)
    shared = [len(np.intersect1d(a, b, assume_unique=True)) for a, b in zip(ref, lat, strict=True)]
    return float(np.mean(shared) / k)


def distance_correlation(reference: np.ndarray, latent: np.ndarray) -> float:
    """Spearman correlation of all pairwise Euclidean distances, reference vs latent.

    It measures global structure: whether far-apart cells stay far apart. 1 for any
    isometry (or monotone rescaling) of the reference.
    """
    from scipy.spatial.distance import pdist
    from scipy.stats import spearmanr

    return float(spearmanr(pdist(reference), pdist(latent)).statistic)


def label_transfer_accuracy(neighbour_graph, truth) -> float:
    """Accuracy of predicting each labelled cell's type by a vote of its kNN-graph neighbours.

    `neighbour_graph` is the sparse cells x cells kNN distance matrix of the latent (itself
    excluded); ties go to the first label in sorted order.
    """
    import scipy.sparse as sp

    truth = pd.Series(truth).reset_index(drop=True)
    known = truth.notna().to_numpy()
    codes, _ = pd.factorize(truth.astype("string"), sort=True)
    graph = sp.csr_matrix(neighbour_graph)
    graph = graph[known][:, known]
    codes = codes[known]
    n_types = codes.max() + 1
    indicator = sp.csr_matrix(
        (np.ones(len(codes)), (np.arange(len(codes)), codes)), shape=(len(codes), n_types)
    )
    adjacency = graph.copy()
    adjacency.data[:] = 1.0
    votes = np.asarray((adjacency @ indicator).todense())
    has_neighbours = np.diff(adjacency.indptr) > 0
    predicted = votes.argmax(axis=1)
    return float(np.mean(predicted[has_neighbours] == codes[has_neighbours]))


def latent_scores(
    latent: np.ndarray,
    expression,
    truth=None,
    neighbour_graph=None,
    *,
    k: int = 15,
    local_sample: int = 5000,
    global_sample: int = 1000,
    silhouette_sample: int = 5000,
    seed: int = 0,
) -> dict:
    """Structure and label scores of one latent space.

    - local_overlap: kNN overlap with the expression space (HVG log-expression) on a sample;
    - global_spearman: pairwise-distance correlation with the expression space on a sample;
    - silhouette: cell-type silhouette in the latent (sampled), when labels exist;
    - knn_accuracy: label transfer by kNN-graph vote, when labels and a graph are given.
    Samples are seeded and shared between the two spaces so the comparison is like for like.
    """
    from sklearn.metrics import silhouette_score

    latent = np.asarray(latent, dtype=np.float64)
    n = latent.shape[0]
    local = _sample(n, local_sample, seed)
    glob = _sample(n, global_sample, seed + 1)
    scores = {
        "local_overlap": neighbour_overlap(_dense(expression[local]), latent[local], k),
        "global_spearman": distance_correlation(_dense(expression[glob]), latent[glob]),
        "latent_dim": int(latent.shape[1]),
        "silhouette": float("nan"),
        "knn_accuracy": float("nan"),
    }
    if truth is None:
        return scores
    truth = pd.Series(truth).reset_index(drop=True)
    known = np.flatnonzero(truth.notna().to_numpy())
    if len(known) and truth.iloc[known].nunique() > 1:
        picked = known[_sample(len(known), silhouette_sample, seed + 2)]
        scores["silhouette"] = float(
            silhouette_score(latent[picked], truth.iloc[picked].astype(str).to_numpy())
        )
    if neighbour_graph is not None:
        scores["knn_accuracy"] = label_transfer_accuracy(neighbour_graph, truth)
    return scores


def summed_cost(benchmark_files, prefix: str) -> dict:
    """Wall seconds (summed) and peak RSS (max) over Snakemake `benchmark:` files."""
    seconds, peak_mb = 0.0, 0.0
    for path in benchmark_files:
        frame = pd.read_csv(path, sep="\t")
        seconds += float(frame["s"].iloc[-1])
        rss = pd.to_numeric(frame["max_rss"], errors="coerce").iloc[-1]
        peak_mb = max(peak_mb, 0.0 if pd.isna(rss) else float(rss))
    return {f"{prefix}_seconds": seconds, f"{prefix}_peak_rss_mb": peak_mb}
