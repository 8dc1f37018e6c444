"""What the clusters are: marker genes (scanpy's Wilcoxon test) and cluster sizes.

Markers are ranked on the log-normalised expression of every gene that passed QC, not only
the HVGs a latent was learned from: a cluster's best marker may be a gene the latent never saw.
Nothing here reads the known types, so it describes any clustering, labelled data or not.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

# The obs column of the recommended clustering, in the deliverable and in rank_genes_groups.
GROUPBY = "sclatent_cluster"
MARKER_COLUMNS = [
    "cluster",
    "rank",
    "gene",
    "score",
    "logfoldchange",
    "pval_adj",
    "pct_in",
    "pct_out",
]


def natural_key(value):
    """Sort key that puts cluster '2' before '10' and 'type2' before 'type10'."""
    text = str(value)
    digits = "".join(ch for ch in text if ch.isdigit())
    return (int(digits) if digits else -1, text)


def cluster_categories(labels) -> pd.Categorical:
    """Cluster labels as a categorical in natural order, the order every table and plot uses."""
    labels = pd.Series(labels).astype("string")
    categories = sorted(labels.dropna().unique(), key=natural_key)
    return pd.Categorical(labels.to_numpy(dtype=object, na_value=None), categories=categories)


def cluster_sizes(labels) -> pd.DataFrame:
    """Cells per cluster and their fraction of all clustered cells, in natural order."""
    counts = pd.Series(cluster_categories(labels)).value_counts(sort=False)
    return pd.DataFrame(
        {
            "cluster": counts.index.astype(str),
            "cells": counts.to_numpy(),
            "fraction": counts.to_numpy() / max(int(counts.sum()), 1),
        }
    )


def rank_markers(adata, labels, *, n_genes: int = 25) -> pd.DataFrame:
    """Wilcoxon markers of each cluster against all other cells; one row per cluster x gene.

    `adata.X` must be log-normalised expression; `labels` are aligned to its cells. Writes
    obs[GROUPBY] and uns['rank_genes_groups'] (the top `n_genes` per cluster, with the
    fraction of cells expressing every gene inside and outside each cluster) as scanpy does,
    so scanpy's plots read them. A cluster of one cell cannot be tested and gets no rows; with
    fewer than two clusters there is nothing to compare and the table is empty.
    """
    import scanpy as sc

    adata.obs[GROUPBY] = cluster_categories(labels)
    sizes = adata.obs[GROUPBY].value_counts(sort=False)
    testable = [str(c) for c, n in sizes.items() if n >= 2]
    if len(sizes) < 2 or not testable:
        log.warning("%d cluster(s): no markers to rank", len(sizes))
        return pd.DataFrame(columns=MARKER_COLUMNS)
    if len(testable) < len(sizes):
        log.warning(
            "clusters of one cell get no markers: %s", sorted(set(sizes.index) - set(testable))
        )
    sc.tl.rank_genes_groups(
        adata,
        GROUPBY,
        groups=testable,
        method="wilcoxon",
        use_raw=False,
        pts=True,
        n_genes=min(n_genes, adata.n_vars),
    )
    return marker_table(adata.uns["rank_genes_groups"])


def marker_table(result: dict) -> pd.DataFrame:
    """scanpy's rank_genes_groups result as a long table (cluster, rank, gene, statistics)."""
    frames = []
    for cluster in result["names"].dtype.names:
        genes = np.asarray(result["names"][cluster]).astype(str)
        frames.append(
            pd.DataFrame(
                {
                    "cluster": cluster,
                    "rank": np.arange(1, len(genes) + 1),
                    "gene": genes,
                    "score": np.asarray(result["scores"][cluster], dtype=float),
                    "logfoldchange": np.asarray(result["logfoldchanges"][cluster], dtype=float),
                    "pval_adj": np.asarray(result["pvals_adj"][cluster], dtype=float),
                    "pct_in": result["pts"][cluster].reindex(genes).to_numpy(dtype=float),
                    "pct_out": result["pts_rest"][cluster].reindex(genes).to_numpy(dtype=float),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)[MARKER_COLUMNS]
