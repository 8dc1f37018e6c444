"""Figures of the benchmark report, readable at a glance (matplotlib, PNG)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _palette(n: int):
    plt = _pyplot()
    cmap = plt.get_cmap("tab20" if n > 10 else "tab10")
    return [cmap(i % cmap.N) for i in range(n)]


def _scatter_labels(ax, coords, labels, title, legend=False):
    labels = pd.Series(labels).astype("string").fillna("NA").to_numpy()
    categories = sorted(pd.unique(labels), key=_natural_key)
    colours = dict(zip(categories, _palette(len(categories)), strict=True))
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


def _natural_key(value):
    text = str(value)
    digits = "".join(ch for ch in text if ch.isdigit())
    return (int(digits) if digits else -1, text)


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
    the latent whose UMAP it is drawn on (scCAN has no 2-D layout of its own).
    """
    borrowed_layouts = borrowed_layouts or {}
    plt = _pyplot()
    latents = list(coords)
    has_truth = truth is not None and pd.Series(truth).notna().any()
    per_row = {latent: sorted(c for lat, c in clusterings if lat == latent) for latent in latents}
    n_columns = int(has_truth) + max((len(methods) for methods in per_row.values()), default=0)
    fig, axes = plt.subplots(
        len(latents), n_columns, figsize=(2.9 * n_columns + 1.2, 2.7 * len(latents)), squeeze=False
    )
    for i, latent in enumerate(latents):
        panels = (["truth"] if has_truth else []) + per_row[latent]
        for j in range(n_columns):
            ax = axes[i, j]
            if j >= len(panels):
                ax.axis("off")
                continue
            if panels[j] == "truth":
                _scatter_labels(ax, coords[latent], truth, f"{latent}: true types", legend=i == 0)
                continue
            labels = clusterings[latent, panels[j]]
            ari = scores.get((latent, panels[j]), float("nan"))
            title = f"{latent} + {panels[j]}: k={pd.Series(labels).nunique()}"
            _scatter_labels(
                ax, coords[latent], labels, title + ("" if np.isnan(ari) else f", ARI {ari:.2f}")
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
    """Datasets x methods heatmap of a score, methods ordered by mean rank (1 = best)."""
    plt = _pyplot()
    frame = metrics.assign(method=method_label(metrics))
    table = frame.pivot_table(index="dataset", columns="method", values=score, aggfunc="first")
    ranks = table.rank(axis=1, ascending=False).mean(axis=0)
    table = table[ranks.sort_values().index]
    ranks = ranks[table.columns]
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
        [f"{m}\n(rank {r:.1f})" for m, r in ranks.items()],
        rotation=60,
        ha="right",
        fontsize=7,
    )
    fig.colorbar(image, ax=ax, label=score.upper(), fraction=0.03)
    ax.set_title(f"{score.upper()} per dataset (methods sorted by mean rank)", fontsize=10)
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
