"""Label-free rules for the number of clusters k, scored on the recommended clustering's fusion.

The recommended clustering reads k from the eigengaps of the fused graph (3..20) with the rule
`gap_or_count` (the largest gap when clear, else the largest near the expression's Tracy-Widom
count). This script compares it with other label-free rules: how often k lands within ±2 of
the published number of types, and at what ARI. For every labelled dataset and seed it fuses the views of
the recommended clustering (its defaults: PCA, nbae and scVI; PCA alone below
learned_views_min_cells), clusters the fused graph spectrally at every k in 2..20 and scores
each k against the labels. A rule then only picks a k per dataset and seed, so rules are
compared on the same partitions:

- eigengap rules: the largest gap (the default), the largest k whose gap is at least a share of
  the largest, the gap weighted by sqrt(k);
- the Tracy-Widom count of SC3 (sccan.signal_count): eigenvalues of the cell-standardised
  log-normalised HVG matrix above the random-matrix edge (p = 0.001), on random subsamples of
  m cells (median of 7), because the count grows with the number of cells; alone, bounding
  where the largest gap is looked for, or only when the largest gap is not clear (the rule
  `gap_or_count`);
- bounds that use the labels: the best k of each dataset, unconstrained and within ±2 of the
  true number on all, or all but two, datasets.

Latents come from benchmarks/latent_cache.py; partitions and counts are cached in --out.

    .venv/bin/python benchmarks/latent_cache.py --seeds 0,1,2
    .venv/bin/python benchmarks/k_rules.py --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from latent_cache import cache_reader_options, chosen_runs, load, signal_counts  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "results" / "k_rules"
KS = range(2, 21)
SUBSAMPLES = (500, 600, 800, 1000)


def partitions(arrays: dict, seed: int, threads: int) -> pd.DataFrame:
    """Eigengaps of the recommended fusion, and ARI of its spectral clustering at each k."""
    from sklearn.metrics import adjusted_rand_score
    from threadpoolctl import threadpool_limits

    from sclatent.sccan import bigdata, spectral
    from sclatent.sccan.api import fuse_sample
    from sclatent.sccan.params import fused_views, resolve_params

    params = resolve_params("improved", {})
    truth = arrays["truth"]
    names = fused_views(params, len(truth))
    latents = [np.asarray(arrays[n], dtype=np.float64) for n in names]
    with threadpool_limits(threads):
        sample, fused = fuse_sample(latents, params, seed=seed)
        values, ks, gaps = spectral.eigengaps(fused, KS[0], KS[-1], params["eigen_solver"])
        _, vectors = spectral._smallest_laplacian_eigenpairs(
            fused, KS[-1], zero_diagonal=False, solver=params["eigen_solver"], vectors=True
        )
    rows = []
    for k, gap in zip(ks, gaps, strict=True):
        labels = spectral.discretise(vectors[:, :k])
        if len(sample) < len(truth):
            labels = bigdata.transfer_labels(
                latents, sample, labels, neighbors=params["transfer_neighbors"]
            )
        rows.append({"k": int(k), "gap": gap, "ari": adjusted_rand_score(truth, labels)})
    return pd.DataFrame(rows).assign(n_types=len(np.unique(truth)), n_cells=len(truth))


def compute(datasets, seeds, cache: Path, out: Path, threads: int) -> pd.DataFrame:
    out.mkdir(parents=True, exist_ok=True)
    frames = []
    for dataset in datasets:
        target = out / f"{dataset}.tracy_widom.tsv"
        if not target.exists():
            counts = signal_counts(dataset, SUBSAMPLES)
            pd.Series(counts, name="count").rename_axis("m").to_csv(target, sep="\t")
        tw = pd.read_csv(target, sep="\t").set_index("m")["count"]
        for seed in seeds:
            target = out / f"{dataset}.seed{seed}.tsv"
            if not target.exists():
                start = time.perf_counter()
                partitions(load(cache, dataset, seed), seed, threads).to_csv(
                    target, sep="\t", index=False
                )
                print(
                    f"{dataset} seed {seed}: {time.perf_counter() - start:.0f} s", file=sys.stderr
                )
            table = pd.read_csv(target, sep="\t").assign(dataset=dataset, seed=seed)
            frames.append(table.assign(**{f"tw{m}": tw[m] for m in SUBSAMPLES}))
    return pd.concat(frames, ignore_index=True)


def largest_gap(lo, hi):
    """The k of the largest gap in lo..hi (lo, hi: functions of the Tracy-Widom count t)."""

    def pick(run, t):
        window = run[(run.k >= max(3, lo(t))) & (run.k <= min(KS[-1], hi(t)))]
        window = window if len(window) else run[run.k >= 3]
        return int(window.loc[window.gap.idxmax(), "k"])

    return pick


def share_of_largest(share):
    def pick(run, t):
        usable = run[run.k >= 3]
        return int(usable[usable.gap >= share * usable.gap.max()].k.max())

    return pick


def weighted_gap(weight):
    def pick(run, t):
        usable = run[run.k >= 3]
        return int(usable.k.iloc[np.argmax(usable.gap * weight(usable.k))])

    return pick


RULES = {
    "largest gap 3-20": (None, largest_gap(lambda t: 3, lambda t: KS[-1])),
    "largest k with gap >= 0.6 x largest": (None, share_of_largest(0.6)),
    "largest k with gap >= 0.7 x largest": (None, share_of_largest(0.7)),
    "largest gap x sqrt(k)": (None, weighted_gap(np.sqrt)),
}
for m in SUBSAMPLES:
    RULES[f"Tracy-Widom count, m {m}"] = (m, lambda run, t: int(np.clip(t, 2, KS[-1])))
    RULES[f"largest gap within count ±1, m {m}"] = (
        m,
        largest_gap(lambda t: t - 1, lambda t: t + 1),
    )
    RULES[f"largest gap in 3..count+1, m {m}"] = (m, largest_gap(lambda t: 3, lambda t: t + 1))


def clear_gap_or_count(ratio):
    """The recommended rule `gap_or_count` (sccan.spectral) at a gap ratio."""
    from sclatent.sccan.spectral import gap_or_count

    def pick(run, t):
        usable = run[run.k >= 3]
        return gap_or_count(usable.k.to_numpy(), usable.gap.to_numpy(), int(t), ratio)[0]

    return pick


for m, ratio in itertools.product(SUBSAMPLES, (1.5, 2.0, 3.0)):
    default = " (default)" if (m, ratio) == (1000, 2.0) else ""
    RULES[f"largest gap if {ratio:g} x the next, else within count ±1, m {m}{default}"] = (
        m,
        clear_gap_or_count(ratio),
    )


def report(table: pd.DataFrame) -> None:
    datasets = table.groupby("dataset").n_cells.first().sort_values().index
    true = table.groupby("dataset").n_types.first()[datasets]
    rows = {}
    for name, (m, rule) in RULES.items():
        picks = []
        for (dataset, _seed), run in table.groupby(["dataset", "seed"]):
            k = rule(run, run[f"tw{m}"].iloc[0] if m else None)
            picks.append({"dataset": dataset, "k": k, "ari": run.set_index("k").ari[k]})
        rows[name] = pd.DataFrame(picks).groupby("dataset").mean()
    # what the labels allow: per dataset, the best k over seeds (mean ARI per k)
    per_k = table.groupby(["dataset", "k"]).ari.mean().unstack()
    per_k = per_k.loc[datasets]
    near = per_k.where(np.abs(per_k.columns.values[None, :] - true.values[:, None]) <= 2)
    free, within = per_k.max(axis=1), near.max(axis=1)
    two_free = max(
        itertools.combinations(datasets, 2),
        key=lambda pair: sum(free[d] if d in pair else within[d] for d in datasets),
    )
    bounds = {
        "labels: best k": free,
        "labels: best k within ±2 everywhere": within,
        "labels: best k within ±2 but on " + " and ".join(two_free): within.where(
            ~within.index.isin(two_free), free
        ),
    }
    lines = ["| rule | mean ARI | k within ±2 | " + " | ".join(datasets) + " |"]
    lines.append("|---|---:|---:|" + "---:|" * len(datasets))
    for name, frame in rows.items():
        frame = frame.loc[datasets]
        hits = int(((frame.k - true).abs() <= 2).sum())
        cells = " | ".join(f"{k:.3g}" for k in frame.k)
        lines.append(f"| {name} | {frame.ari.mean():.3f} | {hits} of {len(datasets)} | {cells} |")
    for name, best in bounds.items():
        lines.append(f"| {name} | {best[datasets].mean():.3f} | | |")
    lines.append("| true number of types | | | " + " | ".join(str(t) for t in true) + " |")
    print("\n".join(lines))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cache_reader_options(parser, OUT)
    args = parser.parse_args(argv)
    datasets, seeds = chosen_runs(args)
    report(compute(datasets, seeds, args.cache, args.out, args.threads))
    return 0


if __name__ == "__main__":
    sys.exit(main())
