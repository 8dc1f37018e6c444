"""Figures of the benchmark report, readable at a glance (matplotlib, PNG)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sclatent.markers import natural_key


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _palette(n: int):
    plt = _pyplot()
    cmap = plt.get_cmap("tab20" if n > 10 else "tab10")
    return [cmap(i % cmap.N) for i in range(n)]


def _as_text(labels) -> np.ndarray:
    """Labels as strings, missing ones as 'NA', so they can key a colour table."""
    return pd.Series(labels).astype("string").fillna("NA").to_numpy()


def category_colours(labels) -> dict:
    """One colour per label, in natural order (the true types' colours in the UMAP grid)."""
    categories = sorted(pd.unique(_as_text(labels)), key=natural_key)
    return dict(zip(categories, _palette(len(categories)), strict=True))


def _further_colours(used, n: int) -> list:
    """n colours distinct from `used`: matplotlib's qualitative maps, then evenly spaced hues."""
    plt = _pyplot()
    pool = [
        tuple(c)
        for name in ("tab10", "tab20", "tab20b", "tab20c")
        for c in plt.get_cmap(name).colors
    ]
    taken = {tuple(c)[:3] for c in used}
    free = [c for c in dict.fromkeys(pool) if c[:3] not in taken]
    if len(free) < n:
        hues = plt.get_cmap("hsv")
        free += [hues(i / (n - len(free))) for i in range(n - len(free))]
    return free[:n]


def cluster_colours(truth, clusters, type_colours: dict) -> dict:
    """Colours of a clustering's clusters that follow the true types, so panels compare.

    Clusters are matched one-to-one to types by the Hungarian method on the contingency table
    (the pairing that keeps the most cells together); a matched cluster takes its type's
    colour, the others get further colours no type uses. Cells without a type do not vote.
    """
    from scipy.optimize import linear_sum_assignment

    truth, clusters = _as_text(truth), _as_text(clusters)
    known = truth != "NA"
    table = pd.crosstab(clusters[known], truth[known])
    rows, columns = linear_sum_assignment(table.to_numpy(), maximize=True)
    colours = {
        table.index[i]: type_colours[table.columns[j]]
        for i, j in zip(rows, columns, strict=True)
        if table.iat[i, j] > 0
    }
    unmatched = [c for c in sorted(pd.unique(clusters), key=natural_key) if c not in colours]
    extra = _further_colours(type_colours.values(), len(unmatched))
    return colours | dict(zip(unmatched, extra, strict=True))


def _scatter_labels(ax, coords, labels, title, legend=False, colours=None):
    labels = _as_text(labels)
    colours = colours or category_colours(labels)
    categories = sorted(pd.unique(labels), key=natural_key)
    order = np.random.default_rng(0).permutation(len(labels))  # no category painted last
    size = max(0.5, min(8.0, 4000 / max(len(labels), 1)))
    ax.scatter(
        coords[order, 0],
        coords[order, 1],
        c=[colours[label] for label in labels[order]],
        s=size,
        linewidths=0,
        rasterized=True,
    )
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    if legend and len(categories) <= 25:
        handles = [ax.scatter([], [], color=colours[c], s=12, label=str(c)) for c in categories]
        ax.legend(
            handles=handles, fontsize=6, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False
        )


def umap_grid(
    coords: dict,
    truth,
    clusterings: dict,
    scores: dict,
    path,
    dataset: str,
    note: str = "",
    borrowed_layouts: dict | None = None,
):
    """One row per latent: its 2-D UMAP coloured by the true types, then by each clustering.

    coords: latent -> (n x 2); clusterings: (latent, clustering) -> labels aligned to coords;
    scores: (latent, clustering) -> ARI shown in the panel title; borrowed_layouts: latent ->
    the latent whose UMAP it is drawn on (scCAN has no 2-D layout of its own). With known
    types, each cluster takes the colour of the type it matches (`cluster_colours`).
    """
    borrowed_layouts = borrowed_layouts or {}
    plt = _pyplot()
    latents = list(coords)
    has_truth = truth is not None and pd.Series(truth).notna().any()
    per_row = {latent: sorted(c for lat, c in clusterings if lat == latent) for latent in latents}
    type_colours = category_colours(truth) if has_truth else None
    # without labels and clusterings, a latent's layout is still drawn, in one colour
    n_columns = max(1, int(has_truth) + max(map(len, per_row.values()), default=0))
    fig, axes = plt.subplots(
        len(latents), n_columns, figsize=(2.9 * n_columns + 1.2, 2.7 * len(latents)), squeeze=False
    )
    for i, latent in enumerate(latents):
        panels = (["truth"] if has_truth else []) + per_row[latent] or ["layout"]
        for j in range(n_columns):
            ax = axes[i, j]
            if j >= len(panels):
                ax.axis("off")
                continue
            if panels[j] == "layout":
                _scatter_labels(ax, coords[latent], np.zeros(len(coords[latent])), latent)
                continue
            if panels[j] == "truth":
                _scatter_labels(
                    ax,
                    coords[latent],
                    truth,
                    f"{latent}: true types",
                    legend=i == 0,
                    colours=type_colours,
                )
                continue
            labels = clusterings[latent, panels[j]]
            ari = scores.get((latent, panels[j]), float("nan"))
            title = f"{latent} + {panels[j]}: k={pd.Series(labels).nunique()}"
            _scatter_labels(
                ax,
                coords[latent],
                labels,
                title + ("" if np.isnan(ari) else f", ARI {ari:.2f}"),
                colours=cluster_colours(truth, labels, type_colours) if has_truth else None,
            )
        borrowed = borrowed_layouts.get(latent)
        axes[i, 0].set_ylabel(
            latent + (f" (on the {borrowed} UMAP)" if borrowed else ""), fontsize=10
        )
    fig.suptitle(
        f"{dataset}: UMAP of each latent space" + (f" ({note})" if note else ""), fontsize=11
    )
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def method_label(frame: pd.DataFrame) -> pd.Series:
    return frame["latent"] + " + " + frame["clustering"]


def ari_heatmap(metrics: pd.DataFrame, path, score: str = "ari"):
    """Datasets x methods heatmap of a score: the methods that estimate k ordered by their
    mean rank among themselves (1 = best), then, apart and ranked among themselves, the
    methods told the true k (an upper bound, not competitors).

    Datasets without the score (no labels) are left out; with none left, the figure says so.
    """
    from sclatent.summary import gives_k

    plt = _pyplot()
    frame = metrics.assign(method=method_label(metrics))
    given = set(frame.loc[frame["clustering"].map(gives_k).astype(bool), "method"])
    table = frame.pivot_table(index="dataset", columns="method", values=score, aggfunc="first")
    if table.empty:
        fig, ax = plt.subplots(figsize=(6.5, 1.6))
        ax.axis("off")
        ax.text(0.5, 0.5, f"No dataset has labels: no {score.upper()} to show.", ha="center")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return pd.Series(dtype=float)
    found = [m for m in table.columns if m not in given]
    ranks = pd.concat(
        [
            table[columns].rank(axis=1, ascending=False).mean(axis=0).sort_values()
            for columns in (found, [m for m in table.columns if m in given])
            if columns
        ]
    )
    table = table[ranks.index]
    width = max(6.5, 2.6 + 0.75 * table.shape[1])
    fig, ax = plt.subplots(figsize=(width, 2.2 + 0.42 * table.shape[0]))
    image = ax.imshow(table.to_numpy(dtype=float), cmap="viridis", vmin=0, vmax=1, aspect="auto")
    for (i, j), value in np.ndenumerate(table.to_numpy(dtype=float)):
        if not np.isnan(value):
            ax.text(
                j,
                i,
                f"{value:.2f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if value < 0.6 else "black",
            )
    ax.set_yticks(range(table.shape[0]), table.index, fontsize=8)
    ax.set_xticks(
        range(table.shape[1]),
        [f"{m}\n({'k given, ' if m in given else ''}rank {r:.1f})" for m, r in ranks.items()],
        rotation=60,
        ha="right",
        fontsize=7,
    )
    if found and len(found) < table.shape[1]:
        ax.axvline(len(found) - 0.5, color="white", linewidth=4)
    fig.colorbar(image, ax=ax, label=score.upper(), fraction=0.03)
    ax.set_title(
        f"{score.upper()} per dataset: methods that estimate k by mean rank, then (right) "
        "those told the true k",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return ranks


def structure_rows(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per dataset x latent with structure scores (scCAN's fused graph has none)."""
    scored = metrics.dropna(subset=["local_overlap", "global_spearman"], how="all")
    return scored.drop_duplicates(["dataset", "latent"])


def structure_scatter(metrics: pd.DataFrame, path):
    """Local (kNN overlap) against global (distance correlation) structure kept, per latent."""
    plt = _pyplot()
    per_latent = structure_rows(metrics)
    latents = sorted(per_latent["latent"].unique())
    datasets = sorted(per_latent["dataset"].unique())
    colours = dict(zip(latents, _palette(len(latents)), strict=True))
    markers = dict(zip(datasets, "osD^v<>pP*Xh", strict=False))
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    for row in per_latent.itertuples():
        ax.scatter(
            row.local_overlap,
            row.global_spearman,
            color=colours[row.latent],
            marker=markers.get(row.dataset, "o"),
            s=45,
            edgecolors="black",
            linewidths=0.4,
        )
    for latent in latents:
        ax.scatter([], [], color=colours[latent], label=latent, s=40)
    for dataset in datasets:
        ax.scatter([], [], color="0.6", marker=markers.get(dataset, "o"), label=dataset, s=40)
    ax.set_xlabel("local structure kept (kNN overlap with HVG space)")
    ax.set_ylabel("global structure kept (Spearman of distances)")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    ax.set_title("What each latent keeps: local vs global structure")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def cost_plot(costs: pd.DataFrame, path):
    """Wall time and peak memory of each method against the number of cells (log-log).

    costs: one row per dataset x step with n_cells, seconds, peak_rss_mb, step.
    """
    plt = _pyplot()
    steps = sorted(costs["step"].unique())
    colours = dict(zip(steps, _palette(len(steps)), strict=True))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    for step in steps:
        rows = costs[costs["step"] == step].sort_values("n_cells")
        for ax, column in zip(axes, ("seconds", "peak_rss_mb"), strict=True):
            ax.plot(rows["n_cells"], rows[column], marker="o", color=colours[step], label=step)
    for ax, label in zip(axes, ("wall time (s)", "peak memory (MB)"), strict=True):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("cells")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3, which="both")
    axes[1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.suptitle("Cost of each step against dataset size")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def cost_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per dataset: the cost of making each latent and (averaged over latents) each clustering."""
    latents = metrics.drop_duplicates(["dataset", "latent"]).assign(
        step="latent " + metrics["latent"],
        seconds=metrics["latent_seconds"],
        peak_rss_mb=metrics["latent_peak_rss_mb"],
    )
    clusterings = (
        metrics.groupby(["dataset", "clustering"], as_index=False)
        .agg(
            n_cells=("n_cells", "first"),
            seconds=("clustering_seconds", "mean"),
            peak_rss_mb=("clustering_peak_rss_mb", "max"),
        )
        .assign(step=lambda f: "clustering " + f["clustering"])
    )
    columns = ["dataset", "step", "n_cells", "seconds", "peak_rss_mb"]
    return pd.concat([latents[columns], clusterings[columns]], ignore_index=True)


def denoising_plot(table: pd.DataFrame, path):
    """Error on the hidden counts per method and dataset (MAE, lower is better; Pearson r)."""
    plt = _pyplot()
    methods = list(dict.fromkeys(["zero", "gene_mean", "pca", *sorted(table["method"].unique())]))
    methods = [m for m in methods if m in set(table["method"])]
    datasets = sorted(table["dataset"].unique())
    colours = dict(zip(methods, _palette(len(methods)), strict=True))
    fig, axes = plt.subplots(1, 2, figsize=(max(8, 1.6 * len(datasets) + 5), 4.2))
    width = 0.8 / len(methods)
    for ax, column, label in zip(
        axes,
        ("mae", "pearson_r"),
        (
            "MAE on hidden counts (log scale), lower is better",
            "Pearson r with hidden counts, higher is better",
        ),
        strict=True,
    ):
        for j, method in enumerate(methods):
            rows = table[table["method"] == method].set_index("dataset").reindex(datasets)
            ax.bar(
                np.arange(len(datasets)) + j * width,
                rows[column],
                width,
                color=colours[method],
                label=method,
            )
        ax.set_xticks(
            np.arange(len(datasets)) + 0.4 - width / 2,
            datasets,
            rotation=20,
            ha="right",
            fontsize=8,
        )
        ax.set_ylabel(label, fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    axes[1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.suptitle("Denoising: predicting hidden counts")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def marker_dotplot(adata, path, *, n_genes: int = 3, title: str = ""):
    """The top markers of each cluster as a dotplot (clusters in rows, their genes in columns).

    Dot size is the fraction of the cluster's cells expressing the gene, colour its mean
    expression scaled to 0-1 per gene, so a clean diagonal of dark, large dots means every
    cluster has genes of its own. Reads uns['rank_genes_groups'] from `markers.rank_markers`.
    """
    import scanpy as sc

    plt = _pyplot()
    if "rank_genes_groups" not in adata.uns:
        fig, ax = plt.subplots(figsize=(5, 1.5))
        ax.axis("off")
        ax.text(0.5, 0.5, f"{title}\nfewer than two clusters: no markers", ha="center", va="center")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return
    plot = sc.pl.rank_genes_groups_dotplot(
        adata,
        n_genes=n_genes,
        dendrogram=False,
        standard_scale="var",
        colorbar_title="mean expression\n(scaled per gene)",
        size_title="fraction of cells\nin cluster (%)",
        title=title,
        return_fig=True,
        show=False,
    )
    plot.savefig(path, dpi=110)
    plt.close("all")


def recommended_figure(coords, clusters, truth, evidence: dict, path, dataset: str, method: str):
    """The recommended clustering at a glance: why it chose k, and the cells on the PCA UMAP
    coloured by its clusters (and by the true types where known, colours matched).

    evidence: 'ks' and 'gaps' (eigengap lambda_{k+1} - lambda_k of the fused graph per
    candidate k), 'k' (clusters asked for), 'count' (the expression's Tracy-Widom count the
    rule read, or None), 'rule' (how k was picked, in words).
    """
    plt = _pyplot()
    has_truth = truth is not None and pd.Series(truth).notna().any()
    n_panels = 3 if has_truth else 2
    fig, axes = plt.subplots(
        1, n_panels, figsize=(4.2 * n_panels + 1.6, 4.0), width_ratios=[1.2] + [1] * (n_panels - 1)
    )
    ax = axes[0]
    ks, gaps = np.asarray(evidence["ks"]), np.asarray(evidence["gaps"], dtype=float)
    chosen = ks == evidence["k"]
    ax.bar(ks[~chosen], gaps[~chosen], color="#9db4d3", width=0.7)
    ax.bar(
        ks[chosen], gaps[chosen], color="#c0392b", width=0.7, label=f"chosen k = {evidence['k']}"
    )
    if evidence.get("count") is not None:
        count = evidence["count"]
        ax.axvspan(count - 1.5, count + 1.5, color="#f5cba7", alpha=0.5, zorder=0,
                   label=f"Tracy-Widom count {count} ± 1")  # fmt: skip
    ax.set_xlabel("number of clusters k")
    ax.set_ylabel("eigengap  $\\lambda_{k+1} - \\lambda_k$")
    ax.set_xticks(ks)
    ax.tick_params(axis="x", labelsize=7)
    ax.set_title(evidence["rule"], fontsize=9)
    ax.legend(fontsize=8, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    type_colours = category_colours(truth) if has_truth else None
    _scatter_labels(
        axes[1],
        coords,
        clusters,
        f"{method}: {pd.Series(clusters).nunique()} clusters",
        legend=not has_truth,
        colours=cluster_colours(truth, clusters, type_colours) if has_truth else None,
    )
    if has_truth:
        n_types = pd.Series(truth).dropna().nunique()
        title = f"true types ({n_types})"
        _scatter_labels(axes[2], coords, truth, title, legend=True, colours=type_colours)
    fig.suptitle(f"{dataset}: the recommended clustering and the evidence for its k", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
