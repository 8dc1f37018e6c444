"""Accuracy of scCAN (faithful, improved) against a scanpy PCA + Leiden baseline.

For every labeled dataset in the shared data folder: ARI, NMI and k of
  - faithful and improved with k estimated, and with k given (the true number of types);
  - the baseline: normalize_total 1e4, log1p, seurat_v3 HVG 2000 (all genes if fewer),
    PCA 50, 15-NN graph, Leiden resolution 1.0 (seed 0);
  - with --ablation: each improved switch alone on top of faithful, and improved without
    each of its switches; and the big-data path forced with a 1,000-cell sample on the
    datasets with more cells (sampling and label-transfer switches).
The VAE latents depend only on the data and the seed: they are computed once per dataset
and cached (--cache), with the PCA view; fused networks are shared by variants that differ
only after fusion.

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
PCA_COMPONENTS = 50


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


def cached_views(adata, name: str, cache: Path, seed: int, threads: int) -> dict:
    """{'vae': (latents, names), 'pca': matrix, 'vae_seconds': s}, cached as .npz files."""
    from sclatent.sccan import sccan_latents
    from sclatent.sccan.api import pca_view

    cache.mkdir(parents=True, exist_ok=True)
    vae_path = cache / f"{name}.seed{seed}.npz"
    if not vae_path.exists():
        start = time.perf_counter()
        latents, names, _, timings = sccan_latents(adata, "faithful", seed=seed, threads=threads)
        seconds = time.perf_counter() - start
        arrays = {f"z{i}": z for i, z in enumerate(latents)}
        np.savez(vae_path, names=np.array(names), vae_seconds=seconds, **arrays)
        print(f"  {name}: VAE latents in {seconds:.0f}s {timings}", file=sys.stderr, flush=True)
    pca_path = cache / f"{name}.seed{seed}.pca_hvg{PCA_COMPONENTS}.npy"
    if not pca_path.exists():
        np.save(pca_path, pca_view(adata.X, PCA_COMPONENTS, seed=seed))
    saved = np.load(vae_path, allow_pickle=False)
    names = [str(v) for v in saved["names"]]
    return {
        "vae": ([saved[f"z{i}"] for i in range(len(names))], names),
        "pca": np.load(pca_path),
        "vae_seconds": float(saved["vae_seconds"]),
    }


def views_for(params: dict, views: dict, n_cells: int) -> tuple[list, list]:
    """The latents a flavour's params ask for, as `sccan_latents` would build them."""
    latents, names = [], []
    few_cells = n_cells < params["vae_min_cells"] and params["pca_view_components"]
    if params["use_vae"] and not few_cells:
        for latent, name in zip(*views["vae"], strict=True):
            if params["vae_views"] == "all" or name.endswith(f"_snapshot{params['n_snapshots']}"):
                latents.append(latent)
                names.append(name)
    if params["pca_view_components"]:
        latents.append(views["pca"][:, : params["pca_view_components"]])
        names.append("pca")
    return latents, names


MAIN = {
    "faithful": ("faithful", {}, False),
    "improved": ("improved", {}, False),
    "faithful k given": ("faithful", {}, True),
    "improved k given": ("improved", {}, True),
}


def ablation_variants() -> dict:
    """Each improved switch alone on faithful, and improved without each switch."""
    return {
        "F + k max(best,2nd)": ("faithful", {"k_rule": "max_best_second"}, False),
        "F + k best": ("faithful", {"k_rule": "best"}, False),
        "F + k best in 3..15": ("faithful", {"k_rule": "best", "k_min": 3}, False),
        "F + PCA view": ("faithful", {"pca_view_components": 50}, False),
        "F + PCA view, VAE only >=500 cells": (
            "faithful",
            {"pca_view_components": 50, "vae_min_cells": 500},
            False,
        ),
        "F + float32": ("faithful", {"dtype": "float32"}, False),
        "F + last snapshots only": ("faithful", {"vae_views": "last"}, False),
        "F + kNN affinity (30)": ("faithful", {"affinity_knn": 30}, False),
        "I - k rule (min of best two in 2..15)": (
            "improved",
            {"k_rule": "min_best_second", "k_min": 2},
            False,
        ),
        "I - k from 3 (best in 2..15)": ("improved", {"k_min": 2}, False),
        "I - PCA view": ("improved", {"pca_view_components": 0, "vae_min_cells": 0}, False),
        "I - VAE only >=500 cells": ("improved", {"vae_min_cells": 0}, False),
        "I - float32": ("improved", {"dtype": "float64"}, False),
        "I + kNN affinity (30)": ("improved", {"affinity_knn": 30}, False),
        "I + k max(best,2nd) in 2..15": (
            "improved",
            {"k_rule": "max_best_second", "k_min": 2},
            False,
        ),
    }


def big_data_variants() -> dict:
    """The big-data path forced by a 1,000-cell sample: sampling and transfer switches."""
    small = {"sample_size": 1000}
    return {
        "S1000 faithful": ("faithful", small, False),
        "S1000 F + sketch": ("faithful", small | {"sampling": "sketch"}, False),
        "S1000 F + all-latent vote": ("faithful", small | {"transfer": "all_latents"}, False),
        "S1000 improved": ("improved", small, False),
        "S1000 I - sketch": ("improved", small | {"sampling": "uniform"}, False),
        "S1000 I - all-latent vote": ("improved", small | {"transfer": "one_latent"}, False),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--cache", type=Path, default=REPO / "results" / "sccan_benchmark")
    parser.add_argument("--datasets", default="", help="comma-separated names (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ablation", action="store_true", help="also the ablation variants")
    args = parser.parse_args(argv)

    import anndata as ad

    from sclatent.sccan import cluster_latents, resolve_params

    files = sorted(args.data.glob("*.h5ad"), key=lambda p: ad.read_h5ad(p, backed="r").n_obs)
    if args.datasets:
        files = [f for f in files if f.stem in set(args.datasets.split(","))]
    rows = []
    for path in files:
        adata = ad.read_h5ad(path)
        truth = adata.obs["cell_type"].astype(str).to_numpy()
        k_true = len(np.unique(truth))
        views = cached_views(adata, path.stem, args.cache, args.seed, args.threads)
        base = {"dataset": path.stem, "cells": adata.n_obs, "types": k_true}
        start = time.perf_counter()
        labels = baseline_leiden(adata, seed=0)
        seconds = time.perf_counter() - start
        rows.append(
            base
            | {"method": "PCA+Leiden"}
            | scores(truth, labels)
            | {"k": len(np.unique(labels)), "seconds": seconds}
        )
        variants = dict(MAIN)
        if args.ablation:
            variants |= ablation_variants()
            if adata.n_obs > 1000:
                variants |= big_data_variants()
        fusion_cache: dict = {}
        for label, (flavour, overrides, k_given) in variants.items():
            params = resolve_params(flavour, overrides)
            latents, names = views_for(params, views, adata.n_obs)
            start = time.perf_counter()
            result = cluster_latents(
                latents,
                flavour,
                params,
                seed=args.seed,
                k=k_true if k_given else None,
                names=names,
                threads=args.threads,
                fusion_cache=fusion_cache,
            )
            rows.append(
                base
                | {"method": label}
                | scores(truth, result.labels)
                | {"k": result.k, "seconds": time.perf_counter() - start}
            )
            print(
                f"  {path.stem} {label}: ARI {rows[-1]['ari']:.3f} k {result.k}",
                file=sys.stderr,
                flush=True,
            )
    table = pd.DataFrame(rows)
    args.cache.mkdir(parents=True, exist_ok=True)
    out = args.cache / ("accuracy_ablation.tsv" if args.ablation else "accuracy.tsv")
    table.to_csv(out, sep="\t", index=False)
    print_tables(table)
    print(f"\nwritten: {out}")
    return 0


def print_tables(table: pd.DataFrame) -> None:
    """ARI, NMI and k: datasets as rows, methods as columns, plus the mean ARI / NMI."""
    order = list(dict.fromkeys(table["method"]))
    for metric in ("ari", "nmi", "k"):
        wide = table.pivot_table(index="dataset", columns="method", values=metric, sort=False)
        wide = wide[[m for m in order if m in wide.columns]]
        wide.insert(0, "types", table.groupby("dataset", sort=False)["types"].first())
        if metric != "k":
            wide.loc["mean"] = wide.mean()
        print(f"\n{metric.upper()}\n")
        print(wide.T.round(3).to_markdown() if len(order) > 6 else wide.round(3).to_markdown())


if __name__ == "__main__":
    sys.exit(main())
