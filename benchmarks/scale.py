"""How the workflow scales with cells: per-rule wall seconds and peak RSS at 10k, 100k and 1M.

Each size is a real `snakemake` run in its own directory on the project's simulator: the
default config (config/config.yaml, which trains simulated data with
`training.simulated_budget` of the automatic budget) with more cells. Up to `--full-max`
cells the run does everything the default config does; above it, the 1M chain of the scale
target: ingest -> QC -> normalise -> PCA ->
autoencoder -> scCAN (improved) -> Leiden -> metrics. Per-rule figures come from Snakemake's
`benchmark:` files; the total is the wall time of the whole run. Prints one table, writes
scale.tsv, scale.md (the same table in Markdown) and scale.png (log-log time and memory
against cells) into the work directory.

    .venv/bin/python benchmarks/scale.py                               # 10k, 100k, 1M
    .venv/bin/python benchmarks/scale.py --sizes 10000 --workdir /tmp/s
    .venv/bin/python benchmarks/scale.py --report-only                 # re-print finished runs

A finished size is not re-run (Snakemake has nothing to do), so an interrupted sweep resumes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
CHAIN = {
    "latents": ["pca", "ae"],
    "clusterings": ["leiden", "sccan_improved"],
    "denoise": {"enabled": False},
}


def snakemake_command(workdir: Path, cores: int, *targets: str) -> list[str]:
    """This checkout's workflow, run in workdir (its own config/ and results/) on `cores`."""
    return [
        str(Path(sys.executable).with_name("snakemake")),
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--workflow-profile",
        str(REPO / "profiles" / "default"),
        "--cores",
        str(cores),
        *targets,
    ]


def run_size(n_cells: int, workdir: Path, cores: int, full: bool) -> float:
    """Run the workflow on n_cells simulated cells in workdir; return its wall seconds."""
    (workdir / "config").mkdir(parents=True, exist_ok=True)
    (workdir / "config" / "datasets.tsv").write_text("dataset\tinput\nsim\tsimulate\n")
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["datasets"] = "config/datasets.tsv"
    config["simulate"] = config.get("simulate", {}) | {"n_cells": n_cells}
    config |= {} if full else CHAIN
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    targets = [] if full else ["results/benchmark/metrics.tsv"]
    command = snakemake_command(workdir, cores, *targets)
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    start = time.perf_counter()
    with open(workdir / "snakemake.log", "a") as log:
        subprocess.run(command, check=True, env=env, stdout=log, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    record = workdir / "wall.json"
    if not record.exists():  # the first, complete run is the one that counts
        record.write_text(json.dumps({"seconds": seconds, "full": full, "cores": cores}))
    return seconds


def collect(n_cells: int, workdir: Path) -> pd.DataFrame:
    """One row per job: step (its benchmark path), seconds and peak RSS."""
    rows = []
    for path in sorted((workdir / "results").glob("**/benchmarks/**/*.tsv")):
        bench = pd.read_csv(path, sep="\t")
        parts = path.with_suffix("").parts
        after = len(parts) - parts[::-1].index("benchmarks")
        step = "/".join(parts[after:])
        rows.append(
            {
                "cells": n_cells,
                "step": step,
                "seconds": float(bench["s"].iloc[-1]),
                "peak_rss_mb": float(bench["max_rss"].iloc[-1]),
            }
        )
    return pd.DataFrame(rows)


def table(jobs: pd.DataFrame, walls: dict) -> pd.DataFrame:
    """Steps x sizes: seconds and peak RSS (GB), then the run's total wall and max RSS."""
    sizes = sorted(jobs["cells"].unique())
    out = jobs.pivot_table(index="step", columns="cells", values=["seconds", "peak_rss_mb"])
    frame = pd.DataFrame(index=out.index)
    for n in sizes:
        frame[f"{n:,} s"] = out["seconds"][n].round(1)
        frame[f"{n:,} GB"] = (out["peak_rss_mb"][n] / 1024).round(2)
    frame = frame.sort_values(f"{sizes[-1]:,} s", ascending=False)
    total = {}
    for n in sizes:
        total[f"{n:,} s"] = round(walls[n], 0)
        total[f"{n:,} GB"] = round(jobs.loc[jobs["cells"] == n, "peak_rss_mb"].max() / 1024, 2)
    frame.loc["TOTAL (wall of the run; max job RSS)"] = total
    return frame


def growth(jobs: pd.DataFrame) -> pd.Series:
    """Log-log slope of seconds between the two largest sizes a step ran at (1 = linear)."""
    slopes = {}
    for step, group in jobs.groupby("step"):
        group = group.sort_values("cells")
        if len(group) >= 2 and (group["seconds"].iloc[-2:] > 0.5).all():
            (n0, n1), (t0, t1) = group["cells"].iloc[-2:], group["seconds"].iloc[-2:]
            slopes[step] = np.log(t1 / t0) / np.log(n1 / n0)
    return pd.Series(slopes, name="slope", dtype=float).round(2)


def plot(jobs: pd.DataFrame, path: Path) -> None:
    """The report's log-log cost figure, for the 12 slowest steps."""
    from sclatent.figures import cost_plot

    top = jobs.groupby("step")["seconds"].max().sort_values(ascending=False).index[:12]
    cost_plot(jobs[jobs["step"].isin(top)].rename(columns={"cells": "n_cells"}), path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/sclatent-scale"))
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument(
        "--full-max", type=int, default=100_000, help="largest size that runs every method"
    )
    parser.add_argument("--report-only", action="store_true", help="tabulate finished runs")
    args = parser.parse_args()

    frames, walls = [], {}
    for n in args.sizes:
        workdir = args.workdir / str(n)
        if not args.report_only:
            print(f"running {n:,} cells in {workdir} ...", flush=True)
            run_size(n, workdir, args.cores, full=n <= args.full_max)
        record = workdir / "wall.json"
        if not record.exists():
            print(f"{n:,} cells: no finished run in {workdir}", file=sys.stderr)
            continue
        walls[n] = json.loads(record.read_text())["seconds"]
        frames.append(collect(n, workdir))
    if not frames:
        sys.exit("no finished run to report")
    jobs = pd.concat(frames, ignore_index=True)
    result = table(jobs, walls)
    slopes = growth(jobs)
    result["slope"] = slopes.reindex(result.index)
    with pd.option_context("display.width", 250, "display.max_rows", 200):
        print(result.to_string(na_rep="-"))
    result.to_csv(args.workdir / "scale.tsv", sep="\t")
    (args.workdir / "scale.md").write_text(result.to_markdown(floatfmt="g") + "\n")
    plot(jobs, args.workdir / "scale.png")
    print(f"\nwrote scale.tsv, scale.md (a Markdown table) and scale.png in {args.workdir}")


if __name__ == "__main__":
    main()
