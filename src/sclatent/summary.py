"""The two-minute summary page: who won on each dataset, by how much, at what cost."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np
import pandas as pd


def gives_k(clustering: str) -> bool:
    """Clusterings told the true number of types; the others must find it themselves."""
    return clustering == "kmeans" or clustering.endswith("_kgiven")


BASELINE = ("pca", "leiden")

_STYLE = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.25em; margin-top: 1.6em;
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
    if value is None or (isinstance(value, float) and np.isnan(value)):
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


def winners(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per dataset: best method with k estimated, its margin, the baseline and the k-given best."""
    rows = []
    for dataset, group in metrics.groupby("dataset", sort=True):
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
        row["PCA+Leiden ARI"] = baseline["ari"].iloc[0] if len(baseline) else np.nan
        if len(given):
            row |= {"best (k given)": _method(given.iloc[0]), "ARI (k given)": given.iloc[0]["ari"]}
        rows.append(row)
    return pd.DataFrame(rows)


def method_ranking(metrics: pd.DataFrame) -> pd.DataFrame:
    """Mean ARI and mean rank (1 = best) of every method across datasets."""
    frame = metrics.assign(
        method=metrics.apply(_method, axis=1),
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
    frame = metrics.assign(
        method=metrics.apply(_method, axis=1),
        k=metrics["clustering"].map(lambda c: "given" if gives_k(c) else "found"),
    )
    table = frame.pivot_table(index=["method", "k"], columns="dataset", values="ari")
    table["mean"] = table.mean(axis=1)
    return table.sort_values("mean", ascending=False).reset_index().rename_axis(columns=None)


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


def _headline(win: pd.DataFrame, ranking: pd.DataFrame) -> str:
    top = ranking.iloc[0]
    lines = [
        f"Across {int(win.shape[0])} dataset(s), <b>{html.escape(top['method'])}</b> ranks best "
        f"(mean rank {top['mean rank']:.1f}, mean ARI {top['mean ARI']:.2f})."
    ]
    if "best (k found)" in win:
        baseline = " + ".join(BASELINE)
        beaten = win[(win["best (k found)"] != baseline) & (win["ARI"] > win["PCA+Leiden ARI"])]
        gain = (beaten["ARI"] - beaten["PCA+Leiden ARI"]).mean() if len(beaten) else 0.0
        lines.append(
            f"Among methods that find k themselves, another method beats the PCA + Leiden "
            f"baseline on {len(beaten)} of {len(win)} dataset(s)"
            + (f" (by {gain:.2f} ARI on average there)." if len(beaten) else ".")
        )
    return " ".join(lines)


def build_summary(
    metrics: pd.DataFrame,
    figures: dict[str, str],
    environment: dict,
    references: pd.DataFrame | None = None,
    extra_tables: dict[str, pd.DataFrame] | None = None,
) -> str:
    """A self-contained HTML page (figures embedded) a person reads in two minutes."""
    win = winners(metrics)
    ranking = method_ranking(metrics)
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>sclatent summary</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>sclatent benchmark summary</h1>",
        f"<p class='muted'>seed {environment.get('seed')} · sclatent {environment.get('sclatent')}"
        f" · {html.escape(str(environment.get('date', '')))} · "
        f"{html.escape(str(environment.get('hardware', {}).get('summary', '')))}</p>",
        f"<p class='lead'>{_headline(win, ranking)}</p>",
        "<h2>Winner per dataset</h2>",
        "<p>Best latent + clustering by ARI among methods that estimate the number of clusters, "
        "its margin over the runner-up, the PCA + Leiden baseline, and the best method given "
        "the true k. Seconds = making the latent plus clustering it.</p>",
        _table(win, method_columns=("best (k found)", "next best", "best (k given)")),
        "<h2>Methods across datasets</h2>",
        _table(ranking),
        figures.get("ari_heatmap", "") and _image(figures["ari_heatmap"]),
        "<p>The same ARIs as a table (k: the number of clusters found by the method or given "
        "as the true number of types).</p>",
        _table(ari_by_dataset(metrics)),
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
