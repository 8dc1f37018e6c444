"""Latents of every labelled dataset in ../shared/data, cached for the accuracy study.

Each dataset goes through the paper-mode steps of the workflow (QC without cell filters,
normalisation, seurat_v3 HVGs, PCA of the log-normalised HVGs), then, per seed, the trained
latents (nbae, scVI and scCAN's VAE ensemble). Everything is written to one .npz per dataset
and seed, so clustering rules can be compared without retraining.

    .venv/bin/python benchmarks/latent_cache.py [--seeds 0,1,2] [--models nbae,scvi,sccan]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
CACHE = REPO / "results" / "accuracy_cache"
MODELS = ("nbae", "scvi", "sccan")


def paper_config() -> dict:
    """The resolved config of paper mode (schema defaults under config/paper.yaml)."""
    import yaml

    from sclatent.config import load_schema, validate

    config = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    schema = load_schema(REPO / "workflow" / "schemas" / "config.schema.yaml")
    return validate(config, schema, "config/paper.yaml")


def preprocess(path: Path, config: dict):
    """(qc'd counts AnnData, hvg AnnData, PCA scores, truth) as the workflow computes them."""
    import anndata as ad

    from sclatent.embed import pca
    from sclatent.preprocess import hvg_view, normalize
    from sclatent.qc import filter_cells_and_genes

    raw = ad.read_h5ad(path)
    raw.obs["truth"] = raw.obs["cell_type"].astype(str)
    kept, _ = filter_cells_and_genes(raw, config["qc"], dataset=path.stem)
    counts = kept.copy()
    normalize(kept, **config["normalize"])
    hvg = hvg_view(kept)
    scores, _, _ = pca(hvg.X, **config["pca"])
    return counts, hvg, scores, kept.obs["truth"].to_numpy(dtype=str)


def signal_counts(dataset: str, sizes, seed: int = 0) -> dict[int, int]:
    """{subsample size: the Tracy-Widom count of the dataset's HVG matrix}, as the workflow
    takes it for the k rule gap_or_count (sclatent.sccan.signal_count)."""
    from sclatent.sccan.signal_count import signal_count

    _, hvg, _, _ = preprocess(DATA / f"{dataset}.h5ad", paper_config())
    return {size: signal_count(hvg.X, size, seed=seed) for size in sizes}


def cache_path(cache: Path, dataset: str, seed: int) -> Path:
    return cache / f"{dataset}.seed{seed}.npz"


def load(cache: Path, dataset: str, seed: int) -> dict:
    """The cached arrays of a dataset and seed: truth, pca, nbae, scvi, sccan views."""
    saved = np.load(cache_path(cache, dataset, seed), allow_pickle=False)
    return {key: saved[key] for key in saved.files}


def cache_reader_options(parser, out: Path) -> None:
    """The options of every script that reads this cache: --cache, --out, --seeds, --datasets,
    --threads."""
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--out", type=Path, default=out)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument(
        "--datasets", default="", help="comma-separated names (default: all cached)"
    )
    parser.add_argument("--threads", type=int, default=2)


def chosen_runs(args) -> tuple[list[str], list[int]]:
    """(cached datasets, seeds) that the options of cache_reader_options select."""
    seeds = [int(s) for s in args.seeds.split(",")]
    datasets = sorted({p.name.split(".")[0] for p in args.cache.glob("*.seed*.npz")})
    if args.datasets:
        datasets = [d for d in datasets if d in set(args.datasets.split(","))]
    return datasets, seeds


def train(model: str, counts, hvg, seed: int, threads: int) -> dict:
    """{array name: latent} of one model: nbae, scvi or the scCAN VAE views."""
    if model == "nbae":
        from sclatent.autoencoder.api import train_latent

        return {"nbae": train_latent(hvg.copy(), "nbae", seed=seed, threads=threads).latent}
    if model == "scvi":
        from sclatent.autoencoder.scvi_model import scvi_latent

        return {"scvi": scvi_latent(hvg.copy(), seed=seed, threads=threads).latent}
    from sclatent.sccan import sccan_latents

    latents, names, _, _ = sccan_latents(counts, "faithful", seed=seed, threads=threads)
    return {f"sccan_{name}": z for name, z in zip(names, latents, strict=True)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--datasets", default="", help="comma-separated names (default: all)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    import anndata as ad

    from sclatent.runtime import setup_logging

    setup_logging()
    config = paper_config()
    args.cache.mkdir(parents=True, exist_ok=True)
    files = sorted(args.data.glob("*.h5ad"), key=lambda p: ad.read_h5ad(p, backed="r").n_obs)
    if args.datasets:
        files = [f for f in files if f.stem in set(args.datasets.split(","))]
    seeds = [int(s) for s in args.seeds.split(",")]
    models = [m for m in args.models.split(",") if m]
    for path in files:
        counts, hvg, scores, truth = preprocess(path, config)
        for seed in seeds:
            target = cache_path(args.cache, path.stem, seed)
            arrays = load(args.cache, path.stem, seed) if target.exists() else {}
            arrays |= {"truth": truth, "pca": scores, "obs_names": hvg.obs_names.to_numpy(str)}
            for model in models:
                if model == "sccan" and any(k.startswith("sccan_vae") for k in arrays):
                    continue
                if model != "sccan" and model in arrays:
                    continue
                start = time.perf_counter()
                arrays |= train(model, counts, hvg, seed, args.threads)
                arrays[f"seconds_{model}"] = np.float64(time.perf_counter() - start)
                print(
                    f"{path.stem} seed {seed} {model}: {arrays[f'seconds_{model}']:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
                tmp = target.with_suffix(".tmp.npz")
                np.savez(tmp, **arrays)
                tmp.replace(target)
            if not models:
                np.savez(target, **arrays)
    return 0


if __name__ == "__main__":
    sys.exit(main())
