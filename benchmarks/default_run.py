"""What `make run` costs, rule by rule, next to the plain scanpy recipe on the same cells.

Runs the default workflow (this checkout's config/config.yaml and config/datasets.tsv) with
`snakemake --cores N` in a fresh work directory. numba's compiled kernels persist per
installation (sclatent.numba_cache), so a run after the first finds them; `--cold-kernels`
gives the run and the recipe an empty numba cache instead, as the first run after installing
does. Then, in the same run and on the same QC'd cells, times the scanpy recipe
(normalize_total, log1p, seurat_v3 HVGs, PCA, neighbors, Leiden, UMAP) in a fresh process,
imports included. Prints each rule's jobs and wall seconds (summed over its jobs, from the
`benchmark:` files; the rule of each file from Snakemake's log), the run's total wall time, the
recipe's seconds and the ratio of the two, and writes default_run.md (the same tables) there.

    .venv/bin/python benchmarks/default_run.py --workdir /tmp/sclatent-default
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from scale import REPO, snakemake_command

# The recipe of scanpy's tutorials, timed step by step in a process of its own.
RECIPE = """
import json, sys, time
started = time.perf_counter()
import anndata as ad
import scanpy as sc
from sklearn.metrics import adjusted_rand_score
times = {"import": time.perf_counter() - started}

def step(name, call):
    start = time.perf_counter()
    call()
    times[name] = time.perf_counter() - start

adata = ad.read_h5ad(sys.argv[1])
step("hvg", lambda: sc.pp.highly_variable_genes(adata, n_top_genes=2000, flavor="seurat_v3"))
step("normalize_total", lambda: sc.pp.normalize_total(adata, target_sum=1e4))
step("log1p", lambda: sc.pp.log1p(adata))
adata = adata[:, adata.var["highly_variable"]].copy()
step("pca", lambda: sc.pp.pca(adata, n_comps=50))
step("neighbors", lambda: sc.pp.neighbors(adata, n_neighbors=15))
step("leiden", lambda: sc.tl.leiden(adata, flavor="igraph", n_iterations=2, directed=False))
step("umap", lambda: sc.tl.umap(adata))
truth = adata.obs["truth"].astype(str)
known = truth != "nan"
ari = adjusted_rand_score(truth[known], adata.obs["leiden"][known])
total = time.perf_counter() - started
print(json.dumps({"seconds": total, "steps": times, "ari": ari, "cells": adata.n_obs}))
"""

JOB = re.compile(r"^(?:local)?rule (\w+):$")


def run_workflow(workdir: Path, cores: int) -> tuple[float, str]:
    """The default run in workdir (a copy of the default config); its wall seconds and log."""
    if workdir.exists():
        shutil.rmtree(workdir)
    (workdir / "config").mkdir(parents=True)
    for name in ("config.yaml", "datasets.tsv"):
        shutil.copy(REPO / "config" / name, workdir / "config" / name)
    start = time.perf_counter()
    result = subprocess.run(
        snakemake_command(workdir, cores), capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    log = result.stdout + result.stderr
    (workdir / "snakemake.log").write_text(log)
    if result.returncode != 0:
        sys.exit(f"snakemake failed ({result.returncode}); see {workdir / 'snakemake.log'}")
    return seconds, log


def job_seconds(workdir: Path, log: str) -> pd.DataFrame:
    """One row per job: its rule and wall seconds (benchmark file named in the log)."""
    rows, rule = [], None
    for line in log.splitlines():
        header = JOB.match(line)
        if header:
            rule = header[1]
        elif rule and line.startswith("    benchmark: "):
            bench = pd.read_csv(workdir / line.split(": ", 1)[1], sep="\t")
            rows.append({"rule": rule, "seconds": float(bench["s"].iloc[-1])})
            rule = None
    return pd.DataFrame(rows, columns=["rule", "seconds"])


def per_rule(jobs: pd.DataFrame) -> pd.DataFrame:
    table = jobs.groupby("rule")["seconds"].agg(jobs="count", seconds="sum")
    table["seconds"] = table["seconds"].round(1)
    return table.sort_values("seconds", ascending=False)


def scanpy_recipe(workdir: Path) -> dict:
    """The recipe on the workflow's QC'd cells of the first dataset, in a fresh process."""
    qc = sorted(workdir.glob("results/*/qc.h5ad"))[0]
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    result = subprocess.run(
        [sys.executable, "-c", RECIPE, str(qc)], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/sclatent-default"))
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument(
        "--cold-kernels",
        action="store_true",
        help="compile every numba kernel again (empty NUMBA_CACHE_DIR), as the first run does",
    )
    args = parser.parse_args()
    if args.cold_kernels:
        cache = args.workdir.with_name(args.workdir.name + "-numba")
        shutil.rmtree(cache, ignore_errors=True)
        os.environ["NUMBA_CACHE_DIR"] = str(cache)

    wall, log = run_workflow(args.workdir, args.cores)
    rules = per_rule(job_seconds(args.workdir, log))
    recipe = scanpy_recipe(args.workdir)
    metrics = pd.read_csv(args.workdir / "results/benchmark/metrics.tsv", sep="\t")
    baseline = metrics[(metrics["latent"] == "pca") & (metrics["clustering"] == "leiden")]
    lines = [
        rules.to_markdown(),
        "",
        f"workflow: {wall:.0f} s wall ({int(rules['jobs'].sum())} jobs, "
        f"{rules['seconds'].sum():.0f} s of job time, --cores {args.cores}, numba kernels "
        + ("compiled in the run)" if args.cold_kernels else "from the installation's cache)"),
        f"scanpy recipe on the same {recipe['cells']:,} cells: {recipe['seconds']:.1f} s "
        f"(import {recipe['steps']['import']:.1f} s; "
        + ", ".join(f"{k} {v:.1f}" for k, v in recipe["steps"].items() if k != "import")
        + f"); Leiden ARI {recipe['ari']:.3f}",
        f"workflow / recipe: {wall / recipe['seconds']:.1f}x"
        + (f"; workflow PCA + Leiden ARI {baseline['ari'].iloc[0]:.3f}" if len(baseline) else ""),
    ]
    text = "\n".join(lines)
    print(text)
    (args.workdir / "default_run.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
