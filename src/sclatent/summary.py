"""The two-minute summary page: who won on each dataset, by how much, at what cost."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np
import pandas as pd

from sclatent.recommend import CHOSEN_ON, RECOMMENDED


def gives_k(clustering: str) -> bool:
    """Clusterings told the true number of types; the others must find it themselves."""
    return clustering == "kmeans" or clustering.endswith("_kgiven")


BASELINE = ("pca", "leiden")

_STYLE = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h3 { font-size: 1.08em; margin-top: 1.4em; } h2 { font-size: 1.25em; margin-top: 1.6em;
     border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
table { border-collapse: collapse; font-size: 0.88em; margin: 0.6em 0; }
th, td { padding: 0.28em 0.7em; border-bottom: 1px solid #e4e4e4; text-align: right; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
td.method { text-align: left; font-family: monospace; }
.lead { font-size: 1.05em; background: #f6f9fc; padding: 0.8em 1em; border-left: 4px solid #4a7bb7; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.4em 0; }
.muted { color: #777; font-size: 0.85em; }
"""


def _method(row) -> str:
    return f"{row['latent']} + {row['clustering']}"


def _fmt(value, digits=2) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return "–"
    if isinstance(value, (int, np.integer)):
        return f"{value:,}"
    return f"{value:.{digits}f}"


def _table(frame: pd.DataFrame, method_columns=("method",)) -> str:
    # long dataset names as headers may break after an underscore, so wide tables fit the page
    head = "".join(f"<th>{html.escape(str(c)).replace('_', '_<wbr>')}</th>" for c in frame.columns)
    rows = []
    for _, row in frame.iterrows():
        cells = []
        for column, value in row.items():
            css = ' class="method"' if column in method_columns else ""
            text = value if isinstance(value, str) else _fmt(value)
            cells.append(f"<td{css}>{html.escape(str(text))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def labelled(metrics: pd.DataFrame) -> pd.DataFrame:
    """Rows of datasets with known types (an unlabelled dataset has n_types 0 and no ARI)."""
    return metrics[(metrics["n_types"] > 0) & metrics["ari"].notna()]


def estimating_k(metrics: pd.DataFrame) -> pd.DataFrame:
    """Rows of methods that find the number of clusters themselves: the ones a user can run
    on data without labels, and the only ones rankings compare."""
    return metrics[~metrics["clustering"].map(gives_k).astype(bool)]


def winners(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per labelled dataset: best method with k estimated, its margin, the recommended
    clustering's score, the baseline, and (apart) the best method given the true k."""
    rows = []
    for dataset, group in labelled(metrics).groupby("dataset", sort=True):
        told_k = group["clustering"].map(gives_k)
        estimated = group[~told_k].sort_values("ari", ascending=False)
        given = group[told_k].sort_values("ari", ascending=False)
        best = estimated.iloc[0] if len(estimated) else None
        runner = estimated.iloc[1] if len(estimated) > 1 else None
        baseline = group[(group["latent"] == BASELINE[0]) & (group["clustering"] == BASELINE[1])]
        row = {
            "dataset": dataset,
            "cells": int(group["n_cells"].iloc[0]),
            "types": int(group["n_types"].iloc[0]),
        }
        if best is not None:
            row |= {
                "best (k found)": _method(best),
                "ARI": best["ari"],
                "k found": int(best["n_clusters"]),
                "margin over next": best["ari"] - runner["ari"] if runner is not None else np.nan,
                "next best": _method(runner) if runner is not None else "–",
                "seconds": best["latent_seconds"] + best["clustering_seconds"],
            }
        recommended = group[group["recommended"].astype(bool)] if "recommended" in group else []
        row["recommended ARI"] = recommended["ari"].iloc[0] if len(recommended) else np.nan
        row["PCA+Leiden ARI"] = baseline["ari"].iloc[0] if len(baseline) else np.nan
        if len(given):
            row |= {"best (k given)": _method(given.iloc[0]), "ARI (k given)": given.iloc[0]["ari"]}
        rows.append(row)
    return pd.DataFrame(rows)


def method_ranking(metrics: pd.DataFrame) -> pd.DataFrame:
    """Mean ARI and mean rank (1 = best) across labelled datasets of every method that
    estimates k; methods told the true k are an upper bound, shown apart (`upper_bound`)."""
    return _ranking(estimating_k(labelled(metrics)))


def upper_bound(metrics: pd.DataFrame) -> pd.DataFrame:
    """The methods told the true number of types, ranked among themselves: what a perfect
    choice of k would allow, not a method a user without labels can run."""
    given = labelled(metrics)
    return _ranking(given[given["clustering"].map(gives_k).astype(bool)])


def _ranking(metrics: pd.DataFrame) -> pd.DataFrame:
    from sclatent.figures import method_label

    frame = metrics.assign(
        method=method_label(metrics),
        seconds=metrics["latent_seconds"] + metrics["clustering_seconds"],
    )
    frame["rank"] = frame.groupby("dataset")["ari"].rank(ascending=False)
    table = frame.groupby("method").agg(
        mean_ARI=("ari", "mean"),
        mean_rank=("rank", "mean"),
        mean_NMI=("nmi", "mean"),
        datasets=("dataset", "nunique"),
        mean_seconds=("seconds", "mean"),
    )
    table = table.sort_values(["mean_rank", "mean_ARI"], ascending=[True, False]).reset_index()
    return table.rename(columns=lambda c: c.replace("_", " "))


def ari_by_dataset(metrics: pd.DataFrame) -> pd.DataFrame:
    """Methods x datasets ARI with the mean, best first: the cross-dataset table a paper prints."""
    from sclatent.figures import method_label

    frame = metrics.assign(
        method=method_label(metrics),
        k=metrics["clustering"].map(lambda c: "given" if gives_k(c) else "found"),
    )
    table = frame.pivot_table(index=["method", "k"], columns="dataset", values="ari")
    table["mean"] = table.mean(axis=1)
    # methods that find k first, best mean first; those given k after them, apart
    table = table.reset_index().sort_values(["k", "mean"], ascending=[True, False])
    return table.reset_index(drop=True).rename_axis(columns=None)


def structure_table(metrics: pd.DataFrame) -> pd.DataFrame:
    from sclatent.figures import structure_rows

    per_latent = structure_rows(metrics)
    table = per_latent.groupby("latent").agg(
        local=("local_overlap", "mean"),
        global_=("global_spearman", "mean"),
        silhouette=("silhouette", "mean"),
        knn_accuracy=("knn_accuracy", "mean"),
    )
    table = table.rename(columns={"global_": "global", "knn_accuracy": "kNN accuracy"})
    return table.sort_values("local", ascending=False).reset_index()


def references_beside_ours(published: pd.DataFrame, metrics: pd.DataFrame) -> pd.DataFrame:
    """Published scores with this run's best score on the same dataset and k setting."""
    win = winners(metrics).set_index("dataset")
    rows = []
    for ref in published.itertuples():
        given = str(getattr(ref, "k_given", "")).lower() == "yes"
        ours_column = "ARI (k given)" if given else "ARI"
        method_column = "best (k given)" if given else "best (k found)"
        in_run = ref.dataset in win.index and ours_column in win.columns
        rows.append(
            {
                "dataset": ref.dataset,
                "method": ref.method,
                "published ARI": ref.value if str(ref.metric).upper() == "ARI" else np.nan,
                "k given": "yes" if given else "no",
                "our best": win.loc[ref.dataset, method_column] if in_run else "not run",
                "our ARI": win.loc[ref.dataset, ours_column] if in_run else np.nan,
                "source": ref.source,
            }
        )
    return pd.DataFrame(rows)


def _image(path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img alt="{html.escape(Path(path).stem)}" src="data:image/png;base64,{data}">'


def recommended_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, labelled or not: the recommended clustering's k and its scores."""
    rows = []
    for dataset, group in metrics.groupby("dataset", sort=True):
        chosen = group[group["recommended"].astype(bool)]
        if not len(chosen):
            continue
        row = chosen.iloc[0]
        has_labels = row["n_types"] > 0 and pd.notna(row["ari"])
        rows.append(
            {
                "dataset": dataset,
                "cells": int(row["n_cells"]),
                "labels": "yes" if has_labels else "no",
                "k found": int(row["n_clusters"]),
                "true types": int(row["n_types"]) if has_labels else None,
                "ARI": row["ari"],
                "NMI": row["nmi"],
                "cluster silhouette": row.get("cluster_silhouette", np.nan),
                "seconds": row["latent_seconds"] + row["clustering_seconds"],
            }
        )
    table = pd.DataFrame(rows)
    if len(table):  # a count, empty for unlabelled datasets, not a float
        table["true types"] = table["true types"].astype("Int64")
    return table


def _headline(metrics: pd.DataFrame, win: pd.DataFrame, ranking: pd.DataFrame) -> str:
    latent, clustering = RECOMMENDED
    lines = [
        f"Recommended clustering: <b>{html.escape(latent)} + {html.escape(clustering)}</b>, "
        f"which finds the number of clusters without labels; it ran on all "
        f"{metrics['dataset'].nunique()} dataset(s)."
    ]
    unlabelled = sorted(set(metrics["dataset"]) - set(labelled(metrics)["dataset"]))
    if len(win) and "recommended ARI" in win:
        scored = win.dropna(subset=["recommended ARI"])
        if len(scored):
            lines.append(
                f"On the {len(scored)} labelled dataset(s) its mean ARI is "
                f"{scored['recommended ARI'].mean():.2f}, against "
                f"{scored['PCA+Leiden ARI'].mean():.2f} for PCA + Leiden."
            )
    if len(ranking):
        top = ranking.iloc[0]
        lines.append(
            f"Among the methods that estimate k, <b>{html.escape(top['method'])}</b> ranks best "
            f"here (mean rank {top['mean rank']:.1f}, mean ARI {top['mean ARI']:.2f}); methods "
            "told the true number of types are shown apart, as an upper bound."
        )
    if unlabelled:
        lines.append(
            f"{len(unlabelled)} dataset(s) have no labels ({html.escape(', '.join(unlabelled))}): "
            "there k-means with the true k, the k-given scCAN variants and every label score "
            "(ARI, NMI, AMI, kNN label transfer, silhouette of the types) are skipped; their "
            "clusters are described by marker genes and label-free scores below."
        )
    return " ".join(lines)


def defaults_note(datasets) -> str:
    """Which data the defaults were chosen on, and whether this run's datasets were among them."""
    names = ", ".join(CHOSEN_ON)
    overlap = sorted(set(datasets) & set(CHOSEN_ON))
    text = (
        f"The defaults that change accuracy (the settings of {RECOMMENDED[1]} and the Leiden "
        f"resolution) were chosen leave-one-dataset-out over {len(CHOSEN_ON)} public labelled "
        f"datasets ({names}): each setting was picked on all but one (by mean ARI, and by how "
        "often its number of clusters came within 2 of the known number of types) and scored on "
        "the one left out (benchmarks/accuracy.py; figures in docs/accuracy.md)."
    )
    if overlap:
        text += (
            f" {len(overlap)} of this run's datasets were among them, so their scores here are "
            "not independent evidence for those defaults."
        )
    return text


def marker_overview(markers: pd.DataFrame, sizes: pd.DataFrame, n_genes: int = 5) -> pd.DataFrame:
    """One row per cluster: its size and its top marker genes, best first."""
    top = (
        markers.sort_values(["cluster", "rank"])
        .groupby("cluster", sort=False)["gene"]
        .apply(lambda genes: ", ".join(map(str, genes.iloc[:n_genes])))
    )
    table = sizes.assign(cluster=sizes["cluster"].astype(str)).set_index("cluster")
    top.index = top.index.astype(str)
    table["top markers"] = top.reindex(table.index).fillna("–")
    return table.reset_index()


def _dataset_section(name: str, page: dict, metrics: pd.DataFrame) -> list[str]:
    rows = metrics[(metrics["dataset"] == name) & metrics["recommended"].astype(bool)]
    facts = []
    if len(rows):
        row = rows.iloc[0]
        facts.append(f"{int(row['n_cells']):,} cells; {int(row['n_clusters'])} clusters found")
        if row["n_types"] > 0 and pd.notna(row["ari"]):
            facts.append(f"{int(row['n_types'])} known types; ARI {row['ari']:.2f}")
        else:
            facts.append("no labels: the clusters are described by their marker genes")
    parts = [f"<h3 id='dataset-{html.escape(name)}'>{html.escape(name)}</h3>"]
    parts.append(f"<p>{html.escape('; '.join(facts))}.</p>")
    if page.get("recommended_figure"):
        parts.append(_image(page["recommended_figure"]))
    if page.get("markers") is not None and page.get("sizes") is not None:
        parts.append(
            "<p>Clusters, their share of the cells and their top marker genes (Wilcoxon on "
            "log-normalised expression of all genes that passed QC; markers.tsv has more).</p>"
        )
        parts.append(_table(marker_overview(page["markers"], page["sizes"]), ("top markers",)))
    if page.get("markers_figure"):
        parts.append(_image(page["markers_figure"]))
    return parts


def build_summary(
    metrics: pd.DataFrame,
    figures: dict[str, str],
    environment: dict,
    references: pd.DataFrame | None = None,
    extra_tables: dict[str, pd.DataFrame] | None = None,
    datasets: dict[str, dict] | None = None,
) -> str:
    """A self-contained HTML page (figures embedded) a person reads in two minutes.

    datasets: per dataset, its 'recommended_figure' and 'markers_figure' (PNG paths) and its
    'markers' and 'sizes' tables, shown in a section of its own.
    """
    win = winners(metrics)
    ranking = method_ranking(metrics)
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>sclatent summary</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>sclatent benchmark summary</h1>",
        f"<p class='muted'>seed {environment.get('seed')} · sclatent {environment.get('sclatent')}"
        f" · {html.escape(str(environment.get('date', '')))} · "
        f"{html.escape(str(environment.get('hardware', {}).get('summary', '')))}</p>",
        f"<p class='lead'>{_headline(metrics, win, ranking)}</p>",
        "<h2>The recommended clustering on each dataset</h2>",
        "<p>k found without labels; ARI and NMI against the known types where there are any; "
        "cluster silhouette (label-free: -1 to 1, higher means tighter, better separated "
        "clusters; it favours few clusters). Each dataset's section below shows why this k.</p>",
        _table(recommended_table(metrics)),
        f"<p class='muted'>{html.escape(defaults_note(metrics['dataset'].unique()))}</p>",
    ]
    if len(win):
        parts += [
            "<h2>Winner per dataset</h2>",
            "<p>Best latent + clustering by ARI among methods that estimate the number of "
            "clusters, its margin over the runner-up, the recommended clustering and the PCA + "
            "Leiden baseline; at the right, apart, the best method told the true k (an upper "
            "bound, not a competitor). Seconds = making the latent plus clustering it.</p>",
            _table(win, method_columns=("best (k found)", "next best", "best (k given)")),
            "<h2>Methods that estimate k, across datasets</h2>",
            _table(ranking),
            figures.get("ari_heatmap", "") and _image(figures["ari_heatmap"]),
            "<p>The same ARIs as a table (k: the number of clusters found by the method or given "
            "as the true number of types).</p>",
            _table(ari_by_dataset(labelled(metrics))),
        ]
        bound = upper_bound(metrics)
        if len(bound):
            parts += [
                "<h2>Upper bound: methods told the true number of types</h2>",
                "<p>What each latent allows when k is known. A user without labels cannot run "
                "these; they show how much is lost in choosing k.</p>",
                _table(bound),
            ]
    parts += [
        "<h2>Structure kept by each latent</h2>",
        "<p>local: kNN overlap with the HVG expression space; global: Spearman correlation of "
        "pairwise distances; silhouette of the true types and kNN label-transfer accuracy in "
        "the latent (means over datasets).</p>",
        _table(structure_table(metrics), method_columns=("latent",)),
        figures.get("structure", "") and _image(figures["structure"]),
    ]
    for title, table in (extra_tables or {}).items():
        parts += [f"<h2>{html.escape(title)}</h2>", _table(table)]
    if references is not None and len(references):
        parts += [
            "<h2>Published figures beside ours</h2>",
            "<p>Reference scores reported by the cited papers on the same datasets "
            "(their preprocessing may differ), and our best ARI.</p>",
            _table(references, method_columns=("method", "source")),
        ]
    if datasets:
        parts.append("<h2>Datasets: the recommended clusters and what they are</h2>")
        for name in sorted(datasets):
            parts += _dataset_section(name, datasets[name], metrics)
    parts += [
        "<h2>Cost</h2>",
        figures.get("cost", "") and _image(figures["cost"]),
        "<h2>Software and hardware</h2>",
        "<pre>" + html.escape(_environment_text(environment)) + "</pre>",
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p)


def _environment_text(environment: dict) -> str:
    import yaml

    shown = {k: v for k, v in environment.items() if k != "config"}
    return yaml.safe_dump(shown, sort_keys=False)
