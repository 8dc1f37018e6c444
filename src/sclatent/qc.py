"""Per-cell quality control: metrics, threshold and MAD-outlier filters, and a QC figure.

Filters are evaluated independently on the same metrics, so the table can say both how many
cells each filter flags and how many it alone removed; a cell is dropped if any filter flags it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from sclatent.errors import InputError
from sclatent.io import check_not_empty

log = logging.getLogger(__name__)

MITO_PREFIXES = ("MT-", "mt-", "Mt-")


def add_qc_metrics(adata, mito_prefixes=MITO_PREFIXES) -> bool:
    """Write total_counts, n_genes and pct_mito (when mitochondrial genes are named) to obs.

    Returns whether mitochondrial genes were found; without gene symbols the mito share cannot
    be computed and mito filters are skipped (with a warning).
    """
    X = sp.csr_matrix(adata.X) if not sp.issparse(adata.X) else adata.X.tocsr()
    adata.obs["total_counts"] = np.asarray(X.sum(axis=1)).ravel()
    adata.obs["n_genes"] = np.diff(X.indptr)
    symbols = adata.var.get("gene_symbol", adata.var_names)
    is_mito = np.asarray(pd.Index(symbols).astype(str).str.startswith(tuple(mito_prefixes)))
    adata.var["mito"] = is_mito
    if not is_mito.any():
        log.warning(
            "no mitochondrial genes (names starting with %s): pct_mito QC skipped",
            "/".join(mito_prefixes),
        )
        return False
    mito_counts = np.asarray(X[:, np.flatnonzero(is_mito)].sum(axis=1)).ravel()
    total = adata.obs["total_counts"].to_numpy()
    adata.obs["pct_mito"] = np.divide(
        100.0 * mito_counts, total, out=np.zeros_like(total, dtype=float), where=total > 0
    )
    return True


def mad_bounds(values: np.ndarray, n_mads: float) -> tuple[float, float]:
    """median +- n_mads * MAD (scaled to the standard deviation of a normal)."""
    median = float(np.median(values))
    mad = 1.4826 * float(np.median(np.abs(values - median)))
    return median - n_mads * mad, median + n_mads * mad


@dataclass
class CellFilter:
    name: str
    rule: str
    flagged: np.ndarray


def cell_filters(obs: pd.DataFrame, params: dict, has_mito: bool) -> list[CellFilter]:
    """Build every configured cell filter (absolute thresholds, then MAD outlier rules)."""
    filters = []
    metrics = {"total_counts": "total counts", "n_genes": "genes detected", "pct_mito": "% mito"}

    def add(metric, op, threshold, label):
        values = obs[metric].to_numpy(dtype=float)
        flagged = values < threshold if op == "<" else values > threshold
        filters.append(CellFilter(label, f"{metrics[metric]} {op} {threshold:.4g}", flagged))

    for key, metric, op in [
        ("min_counts", "total_counts", "<"),
        ("max_counts", "total_counts", ">"),
        ("min_genes", "n_genes", "<"),
        ("max_genes", "n_genes", ">"),
        ("max_pct_mito", "pct_mito", ">"),
    ]:
        threshold = params.get(key)
        if threshold is None or (metric == "pct_mito" and not has_mito):
            continue
        add(metric, op, threshold, key)

    for metric, n_mads in (params.get("mad") or {}).items():
        if n_mads is None or (metric == "pct_mito" and not has_mito):
            continue
        if metric == "pct_mito":
            _, upper = mad_bounds(obs[metric].to_numpy(dtype=float), n_mads)
            add(metric, ">", upper, f"mad_{metric}")
            continue
        # counts and genes are log-normal-ish: outliers are judged on the log scale
        lower, upper = mad_bounds(np.log1p(obs[metric].to_numpy(dtype=float)), n_mads)
        add(metric, "<", float(np.expm1(lower)), f"mad_{metric}_low")
        add(metric, ">", float(np.expm1(upper)), f"mad_{metric}_high")
    return filters


def filter_cells_and_genes(adata, params: dict, dataset: str = "dataset"):
    """Apply QC; return (filtered AnnData, table of cells/genes each filter removed).

    Raises InputError when the matrix has no counts, or QC would remove every cell or gene;
    the message suggests only a setting that can change the outcome.
    """
    check_not_empty(adata.X, f"dataset {dataset!r}")
    has_mito = add_qc_metrics(adata, params.get("mito_prefixes") or MITO_PREFIXES)
    filters = cell_filters(adata.obs, params, has_mito)
    n_cells = adata.n_obs
    flagged = np.zeros((n_cells, len(filters)), dtype=bool)
    for j, f in enumerate(filters):
        flagged[:, j] = f.flagged
    drop = flagged.any(axis=1)
    only_this = flagged & (flagged.sum(axis=1) == 1)[:, None]
    rows = [
        {
            "filter": f.name,
            "rule": f.rule,
            "cells_flagged": int(flagged[:, j].sum()),
            "cells_removed_only_by_this": int(only_this[:, j].sum()),
        }
        for j, f in enumerate(filters)
    ]
    rows.append(
        {
            "filter": "all_cell_filters",
            "rule": "any filter above",
            "cells_flagged": int(drop.sum()),
            "cells_removed_only_by_this": int(drop.sum()),
        }
    )
    flagged_per_filter = "; ".join(f"{row['filter']}: {row['cells_flagged']}" for row in rows[:-1])
    if drop.all():
        raise InputError(
            f"dataset {dataset!r}: QC removed all {n_cells} cells ({flagged_per_filter}); "
            "relax the qc thresholds in the config"
        )
    adata.obs["qc_pass"] = ~drop
    kept = adata[~drop].copy()

    min_cells = int(params.get("min_cells_per_gene") or 0)
    X = kept.X.tocsr()
    cells_per_gene = np.bincount(X.indices[X.data != 0], minlength=kept.n_vars)
    if not cells_per_gene.any():  # no gene setting can help: the cells with counts are gone
        raise InputError(
            f"dataset {dataset!r}: the {kept.n_obs} cells left after the cell filters have no "
            f"counts (cells flagged: {flagged_per_filter}); relax the qc thresholds in the config"
        )
    keep_genes = cells_per_gene >= min_cells
    if not keep_genes.any():
        most = int(cells_per_gene.max())
        raise InputError(
            f"dataset {dataset!r}: the gene filter removed all {kept.n_vars} genes (the most "
            f"widely detected gene is in {most} of {kept.n_obs} cells, fewer than "
            f"qc.min_cells_per_gene = {min_cells}); lower qc.min_cells_per_gene to {most}"
        )
    rows.append(
        {
            "filter": "min_cells_per_gene",
            "rule": f"gene detected in < {min_cells} cells",
            "cells_flagged": 0,
            "cells_removed_only_by_this": 0,
            "genes_removed": int((~keep_genes).sum()),
        }
    )
    kept = kept[:, keep_genes].copy()
    table = pd.DataFrame(rows)
    table["genes_removed"] = table.get("genes_removed", 0)
    table["genes_removed"] = table["genes_removed"].fillna(0).astype(int)
    table.insert(0, "dataset", dataset)
    table["cells_before"] = n_cells
    table["cells_after"] = kept.n_obs
    table["genes_after"] = kept.n_vars
    log.info("QC kept %d of %d cells and %d genes", kept.n_obs, n_cells, kept.n_vars)
    return kept, table


def plot_qc(obs: pd.DataFrame, filters_table: pd.DataFrame, path, dataset: str) -> None:
    """Histograms of the QC metrics with thresholds, and counts vs genes coloured by fate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [m for m in ("total_counts", "n_genes", "pct_mito") if m in obs]
    fig, axes = plt.subplots(1, len(metrics) + 1, figsize=(4.2 * (len(metrics) + 1), 3.8))
    passed = obs["qc_pass"].to_numpy() if "qc_pass" in obs else np.ones(len(obs), bool)
    labels = {"total_counts": "total counts", "n_genes": "genes detected", "pct_mito": "% mito"}
    for ax, metric in zip(axes, metrics, strict=False):
        values = obs[metric].to_numpy(dtype=float)
        log_scale = metric != "pct_mito"
        shown = np.log10(values + 1) if log_scale else values
        ax.hist(shown, bins=60, color="0.55")
        for rule in filters_table["rule"]:
            if rule.startswith(labels[metric] + " "):
                threshold = float(rule.split()[-1])
                ax.axvline(np.log10(threshold + 1) if log_scale else threshold, color="crimson")
        ax.set_xlabel(f"log10({labels[metric]} + 1)" if log_scale else labels[metric])
        ax.set_ylabel("cells")
    ax = axes[-1]
    ax.scatter(
        obs["total_counts"][passed],
        obs["n_genes"][passed],
        s=3,
        c="0.3",
        label="kept",
        rasterized=True,
    )
    ax.scatter(
        obs["total_counts"][~passed],
        obs["n_genes"][~passed],
        s=3,
        c="crimson",
        label=f"removed ({int((~passed).sum())})",
        rasterized=True,
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("total counts")
    ax.set_ylabel("genes detected")
    ax.legend(loc="lower right", fontsize=8, markerscale=3)
    fig.suptitle(f"{dataset}: QC ({int(passed.sum())} of {len(obs)} cells kept)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def check_enough_cells(adata, dataset: str, n_neighbors: int) -> None:
    """Stop early, with the reason, when the cells left cannot support the analysis."""
    n_cells = adata.n_obs
    if n_cells <= n_neighbors:
        raise InputError(
            f"dataset {dataset!r}: {n_cells} cells after QC, but the kNN graph needs more than "
            f"neighbors.n_neighbors = {n_neighbors}; lower n_neighbors or relax QC"
        )
    if "truth" in adata.obs:
        types = adata.obs["truth"].dropna().unique()
        if len(types) == 1:
            raise InputError(
                f"dataset {dataset!r}: the labels name a single cell type ({types[0]!r}), so clusterings "
                "cannot be scored against them; give no labels to run this dataset unlabelled"
            )
