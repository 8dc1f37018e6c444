"""Scores of latents and clusterings: against known labels, and label-free ones."""

from __future__ import annotations

import numpy as np
import pandas as pd

# The columns of results/benchmark/metrics.tsv, in order: one schema for every run, labelled
# datasets or not (config/README.md, "metrics.tsv columns", defines each). A score a row cannot
# have (label scores without labels, training columns of an untrained latent) is left empty.
LABEL_SCORES = ["ari", "nmi", "ami", "silhouette", "knn_accuracy"]
METRIC_COLUMNS = [
    "dataset",
    "latent",
    "clustering",
    "k_given",
    "recommended",
    "ari",
    "nmi",
    "ami",
    "n_clusters",
    "n_types",
    "n_cells",
    "silhouette",
    "knn_accuracy",
    "cluster_silhouette",
    "stability",
    "local_overlap",
    "global_spearman",
    "latent_dim",
    "latent_seconds",
    "latent_peak_rss_mb",
    "clustering_seconds",
    "clustering_peak_rss_mb",
    "device",
    "peak_gpu_memory_mb",
    "train_epochs",
    "denoise_mae",
    "denoise_pearson_r",
    "k_eigengap_best",
    "k_eigengap_second",
    "k_tracy_widom",
    "fused_views",
    "clustered_cells",
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
    excluded); ties go to the first label in sorted order. NaN when no cell has a label.
    """
    import scipy.sparse as sp

    truth = pd.Series(truth).reset_index(drop=True)
    known = truth.notna().to_numpy()
    if not known.any():
        return float("nan")
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


def cluster_silhouette(latent: np.ndarray, clusters, *, sample: int = 5000, seed: int = 0) -> float:
    """Silhouette of a clustering's own partition in its latent (Euclidean), on a seeded sample.

    Label-free: it says how compact and separated the clusters are where they were found.
    NaN when the sample holds one cluster only or every cell is its own cluster, where the
    silhouette is undefined.
    """
    from sklearn.metrics import silhouette_score

    clusters = np.asarray(pd.Series(clusters).astype(str))
    picked = _sample(len(clusters), sample, seed)
    found = len(np.unique(clusters[picked]))
    if not 1 < found < len(picked):
        return float("nan")
    latent = np.asarray(latent, dtype=np.float64)
    return float(silhouette_score(latent[picked], clusters[picked]))


def views_silhouette(views: list[np.ndarray], clusters, *, sample: int = 5000, seed: int = 0):
    """`cluster_silhouette` of a partition found on several views (scCAN's fused latents):
    the mean over the views, each scored on the same cells."""
    scores = [cluster_silhouette(view, clusters, sample=sample, seed=seed) for view in views]
    return float(np.mean(scores)) if scores else float("nan")


# perturbations behind `stability`: re-runs on seeded subsamples of this fraction of the cells
STABILITY_ROUNDS = 3
STABILITY_FRACTION = 0.8


def stability(
    clusters,
    recluster,
    *,
    seed: int = 0,
    rounds: int = STABILITY_ROUNDS,
    fraction: float = STABILITY_FRACTION,
) -> float:
    """Agreement of a clustering with itself under perturbation: the mean ARI between the
    partition and the same method re-run, with another seed, on a seeded subsample.

    `recluster(cells, seed)` re-runs the method on the cells with those indices and returns
    their labels. Round r draws its subsample with seed + 1000 + r and re-runs with seed + 1 + r,
    so the score is deterministic given the config seed and no round repeats the original run.
    1: the method finds the same clusters whatever cells and seed it gets; about 0: chance.
    """
    from sklearn.metrics import adjusted_rand_score

    clusters = np.asarray(clusters)
    n = len(clusters)
    size = max(2, int(round(fraction * n)))
    agreement = []
    for r in range(rounds):
        cells = _sample(n, size, seed + 1000 + r)
        again = recluster(cells, seed + 1 + r)
        agreement.append(adjusted_rand_score(clusters[cells], np.asarray(again)))
    return float(np.mean(agreement))


def leiden_rerun(graph, *, resolution: float):
    """`stability`'s re-run of Leiden: the kNN graph (an AnnData from `embed.knn_graph`, or its
    sparse connectivities) restricted to the subsampled cells, as it is, without rebuilding
    the neighbours."""
    from sclatent.cluster import leiden

    adjacency = graph.obsp["connectivities"] if hasattr(graph, "obsp") else graph
    adjacency = adjacency.tocsr()

    def recluster(cells, seed):
        return leiden(adjacency[cells][:, cells], resolution=resolution, seed=seed)

    return recluster


def kmeans_rerun(latent: np.ndarray, k: int, *, n_init: int = 10):
    """`stability`'s re-run of k-means: the same k on the subsampled cells of the latent."""
    from sclatent.cluster import kmeans

    latent = np.asarray(latent)

    def recluster(cells, seed):
        return kmeans(latent[cells], k, seed=seed, n_init=n_init)

    return recluster


def summed_cost(benchmark_files, prefix: str) -> dict:
    """Wall seconds (summed) and peak RSS (max) over Snakemake `benchmark:` files."""
    seconds, peak_mb = 0.0, 0.0
    for path in benchmark_files:
        frame = pd.read_csv(path, sep="\t")
        seconds += float(frame["s"].iloc[-1])
        rss = pd.to_numeric(frame["max_rss"], errors="coerce").iloc[-1]
        peak_mb = max(peak_mb, 0.0 if pd.isna(rss) else float(rss))
    return {f"{prefix}_seconds": seconds, f"{prefix}_peak_rss_mb": peak_mb}


def label_free_scores(
    clustering: str,
    clusters,
    *,
    latent: np.ndarray | None = None,
    graph=None,
    views: list[np.ndarray] | None = None,
    seed: int = 0,
    resolution: float = 1.0,
    n_init: int = 10,
) -> dict:
    """cluster_silhouette and stability of one clustering, aligned to `latent` (or `views`).

    Leiden is re-run on `graph` (the latent's kNN graph or its connectivities), k-means on
    `latent`. scCAN's
    partitions are scored on their fused `views` and get no stability: a re-run repeats the
    whole network fusion and spectral clustering, which costs as much as the clustering itself.
    """
    nan = float("nan")
    if views is not None:
        return {
            "cluster_silhouette": views_silhouette(views, clusters, seed=seed),
            "stability": nan,
        }
    clusters = np.asarray(clusters)
    scores = {"cluster_silhouette": cluster_silhouette(latent, clusters, seed=seed)}
    if clustering == "leiden":
        rerun = leiden_rerun(graph, resolution=resolution)
    elif clustering == "kmeans":
        rerun = kmeans_rerun(latent, len(np.unique(clusters)), n_init=n_init)
    else:
        return scores | {"stability": nan}
    return scores | {"stability": stability(clusters, rerun, seed=seed)}


def metrics_table(rows: list[dict], *, recommended: tuple[str, str]) -> pd.DataFrame:
    """metrics.tsv from the rows of score_clustering: METRIC_COLUMNS in order (then any other
    column), whatever rows exist, so that labelled and unlabelled runs, and a run without
    rows, share one schema.

    k_given marks the clusterings told the true number of types; recommended marks the
    (latent, clustering) the workflow recommends on every dataset.
    """
    from sclatent.summary import gives_k

    extra = [column for row in rows for column in row if column not in METRIC_COLUMNS]
    table = pd.DataFrame(rows, columns=[*METRIC_COLUMNS, *dict.fromkeys(extra)])
    table["k_given"] = table["clustering"].map(gives_k).astype(bool)
    latent, clustering = recommended
    table["recommended"] = (table["latent"] == latent) & (table["clustering"] == clustering)
    return table.sort_values(["dataset", "latent", "clustering"], ignore_index=True)
