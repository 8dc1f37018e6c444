"""The table `make run` ends with: every method of each dataset in one line, readable at a glance.

metrics.tsv has 31 columns, too wide for a terminal; this keeps what a person reads first:
the method, its accuracy (ARI, or the clusters' silhouette on a dataset without labels), the
number of clusters (marked when it was given), the seconds it cost, and which row the
workflow recommends.

    python -m sclatent.overview results/benchmark/metrics.tsv
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

RECOMMENDED_MARK = "<- recommended"


def _has_labels(group: pd.DataFrame) -> bool:
    return bool(group["ari"].notna().any())


def _number(value, digits: int) -> str:
    return "-" if pd.isna(value) else f"{value:.{digits}f}"


def overview(metrics: pd.DataFrame) -> str:
    """One block per dataset, its methods from best to worst score; a plain-text table.

    The score is the ARI against the known types, or, on a dataset without labels, the
    silhouette of the method's own clusters (a label-free score: compare rows with similar k).
    k given (k-means, *_kgiven) is marked "given"; seconds add the latent's and the
    clustering's steps.
    """
    lines = []
    for dataset, group in metrics.groupby("dataset", sort=True):
        labelled = _has_labels(group)
        score = "ari" if labelled else "cluster_silhouette"
        group = group.assign(
            method=group["latent"] + " + " + group["clustering"],
            seconds=group["latent_seconds"].fillna(0) + group["clustering_seconds"].fillna(0),
        ).sort_values([score, "method"], ascending=[False, True], na_position="last")
        cells = int(group["n_cells"].iloc[0])
        about = f"{int(group['n_types'].iloc[0])} known types" if labelled else "no labels"
        lines.append(f"{dataset}: {cells:,} cells, {about}")
        width = max(len("method"), *(len(m) for m in group["method"]))
        header = "ARI" if labelled else "silhouette"
        lines.append(f"  {'method':<{width}}  {header:>10}  {'k':>8}  {'seconds':>7}")
        for row in group.itertuples():
            k = f"{int(row.n_clusters)}" + (" given" if bool(row.k_given) else "")
            mark = f"  {RECOMMENDED_MARK}" if bool(row.recommended) else ""
            lines.append(
                f"  {row.method:<{width}}  {_number(getattr(row, score), 3):>10}  {k:>8}"
                f"  {_number(row.seconds, 0):>7}{mark}"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("metrics", type=Path, help="results/benchmark/metrics.tsv")
    args = parser.parse_args(argv)
    metrics = pd.read_csv(args.metrics, sep="\t")
    print(overview(metrics) if len(metrics) else "metrics.tsv has no rows\n")
    summary = args.metrics.with_name("summary.html")
    print(f"The verdict, figures and costs: {summary}")


if __name__ == "__main__":
    main()
