"""Accuracy of scCAN (faithful, improved) against a scanpy PCA + Leiden baseline.

For every labeled dataset in the shared data folder: ARI, NMI and the number of clusters of
  - faithful and improved with k estimated, and with k given (the true number of types);
  - the baseline: normalize_total 1e4, log1p, seurat_v3 HVG 2000 (all genes if fewer),
    PCA 50, 15-NN graph, Leiden resolution 1.0 (seed 0);
  - with --ablation: each improved switch on its own, from the faithful flavour.
The VAE latents depend only on the data and the seed, so they are computed once per dataset
and cached (--cache); every clustering variant reuses them.

    .venv/bin/python benchmarks/sccan_accuracy.py [--ablation] [--datasets a,b] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"


def scores(truth, labels) -> dict:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    return {
        "ari": adjusted_rand_score(truth, labels),
        "nmi": normalized_mutual_info_score(truth, labels),
        "clusters": len(np.unique(labels)),
    }


def baseline_leiden(adata, seed: int = 0) -> np.ndarray:
    """normalize_total 1e4, log1p, seurat_v3 HVG 2000, PCA 50, 15-NN, Leiden res 1.0."""
    import scanpy as sc

    a = adata.copy()
    a.layers["counts"] = a.X.copy()
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    if a.n_vars > 2000:
        sc.pp.highly_variable_genes(a, flavor="seurat_v3", n_top_genes=2000, layer="counts")
        a = a[:, a.var["highly_variable"]].copy()
    sc.pp.pca(a, n_comps=min(50, a.n_obs - 1, a.n_vars - 1), random_state=seed)
    sc.pp.neighbors(a, n_neighbors=15, random_state=seed)
    sc.tl.leiden(
        a, resolution=1.0, random_state=seed, flavor="igraph", n_iterations=2, directed=False
    )
    return a.obs["leiden"].astype(int).to_numpy()


def cached_latents(adata, name: str, cache: Path, seed: int, threads: int):
    """VAE latents (faithful latent stage) and a 50-component PCA view, cached as .npz."""
    from sclatent.sccan import sccan_latents
    from sclatent.sccan.api import pca_view

    path = cache / f"{name}.seed{seed}.npz"
    if path.exists():
        saved = np.load(path, allow_pickle=False)
        names = [str(v) for v in saved["names"]]
        return (
            [saved[f"z{i}"] for i in range(len(names))],
            names,
            saved["pca"],
            {"vae_seconds": float(saved["vae_seconds"])},
        )
    start = time.perf_counter()
    latents, names, _, timings = sccan_latents(adata, "faithful", seed=seed, threads=threads)
    seconds = time.perf_counter() - start
    pca = pca_view(adata.X, 50, seed=seed)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        names=np.array(names),
        pca=pca,
        vae_seconds=seconds,
        **{f"z{i}": z for i, z in enumerate(latents)},
    )
    print(f"  {name}: latents in {seconds:.0f}s {timings}", file=sys.stderr, flush=True)
    return latents, names, pca, {"vae_seconds": seconds}


# Each variant: (flavour, params overrides, use the PCA view?, k given?)
MAIN_VARIANTS = {
    "faithful": ("faithful", {}, False, False),
    "improved": ("improved", {}, True, False),
    "faithful_kgiven": ("faithful", {}, False, True),
    "improved_kgiven": ("improved", {}, True, True),
}


def ablation_variants() -> dict:
    """Each improved switch alone on top of the faithful flavour (and a few combinations)."""
    return {
        "F+best_k": ("faithful", {"k_rule": "best"}, False, False),
        "F+float32": ("faithful", {"dtype": "float32"}, False, False),
        "F+last_snapshots": ("faithful", {"vae_views": "last"}, False, False),
        "F+pca_view": ("faithful", {}, True, False),
        "F+knn_affinity30": ("faithful", {"affinity_knn": 30}, False, False),
        "F+k_max30": ("faithful", {"k_max": 30}, False, False),
        "F+best_k+k_max30": ("faithful", {"k_rule": "best", "k_max": 30}, False, False),
        "F+best_k+pca": ("faithful", {"k_rule": "best"}, True, False),
        "F+pca_only": ("faithful", {"use_vae": False}, True, False),
    }


def run_variant(latents, names, pca, variant, seed: int, k_true: int, threads: int):
    from sclatent.sccan import cluster_latents

    flavour, overrides, with_pca, k_given = variant
    params = dict(overrides)
    views, view_names = list(latents), list(names)
    if params.pop("vae_views", "all") == "last":
        keep = [i for i, v in enumerate(view_names) if v.endswith("_snapshot3")]
        views, view_names = [views[i] for i in keep], [view_names[i] for i in keep]
    if not params.pop("use_vae", True):
        views, view_names = [], []
    if with_pca:
        views, view_names = views + [pca], view_names + ["pca"]
    start = time.perf_counter()
    result = cluster_latents(
        views,
        flavour,
        params,
        seed=seed,
        k=k_true if k_given else None,
        names=view_names,
        threads=threads,
    )
    return result, time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--cache", type=Path, default=REPO / "results" / "sccan_benchmark")
    parser.add_argument("--datasets", default="", help="comma-separated names (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ablation", action="store_true", help="also each improved switch")
    parser.add_argument("--latents-only", action="store_true", help="only fill the cache")
    args = parser.parse_args(argv)

    import anndata as ad

    files = sorted(args.data.glob("*.h5ad"), key=lambda p: ad.read_h5ad(p, backed="r").n_obs)
    if args.datasets:
        wanted = set(args.datasets.split(","))
        files = [f for f in files if f.stem in wanted]
    variants = dict(MAIN_VARIANTS) | (ablation_variants() if args.ablation else {})
    rows = []
    for path in files:
        adata = ad.read_h5ad(path)
        truth = adata.obs["cell_type"].astype(str).to_numpy()
        k_true = len(np.unique(truth))
        latents, names, pca, info = cached_latents(
            adata, path.stem, args.cache, args.seed, args.threads
        )
        if args.latents_only:
            continue
        base = {"dataset": path.stem, "cells": adata.n_obs, "types": k_true}
        start = time.perf_counter()
        labels = baseline_leiden(adata, seed=0)
        rows.append(
            base
            | {"method": "pca_leiden"}
            | scores(truth, labels)
            | {"k": len(np.unique(labels)), "seconds": time.perf_counter() - start}
        )
        for label, variant in variants.items():
            result, seconds = run_variant(
                latents, names, pca, variant, args.seed, k_true, args.threads
            )
            rows.append(
                base
                | {"method": label}
                | scores(truth, result.labels)
                | {"k": result.k, "seconds": seconds + info["vae_seconds"]}
            )
            print(
                f"  {path.stem} {label}: ARI {rows[-1]['ari']:.3f} k {result.k}",
                file=sys.stderr,
                flush=True,
            )
    if not rows:
        return 0
    table = pd.DataFrame(rows)
    args.cache.mkdir(parents=True, exist_ok=True)
    out = args.cache / ("accuracy_ablation.tsv" if args.ablation else "accuracy.tsv")
    table.to_csv(out, sep="\t", index=False)
    wide = table.pivot_table(
        index="dataset", columns="method", values=["ari", "nmi", "k"], sort=False
    )
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 100)
    for metric in ("ari", "nmi", "k"):
        print(f"\n{metric.upper()} (rows: datasets; types = true number of cell types)")
        frame = wide[metric].copy()
        frame.insert(0, "types", table.groupby("dataset", sort=False)["types"].first())
        if metric != "k":
            frame.loc["mean"] = frame.mean()
        print(frame.round(3).to_markdown())
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
