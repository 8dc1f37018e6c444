"""Same config and seed, two runs on CPU: identical metrics, cluster labels and latents.

The two uninterrupted reference runs are made once per session, in the background and side by
side on one core each; test_reliability_faults.py starts them before its own interrupted run
and compares its resumed results with the first of them.
"""

from __future__ import annotations

import platform
import re
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import yaml

from .conftest import run_snakemake, write_workflow_config

pytestmark = pytest.mark.workflow

# Small enough to run in about a minute of CPU: PCA, a short autoencoder training and both
# scCAN flavours (UMAP and its kNN graph add the most time; their seeding is checked in
# test_embed.py).
TINY = {
    "seed": 0,
    "simulate": {"n_cells": 300, "n_genes": 200, "n_types": 3},
    "normalize": {"n_top_genes": 150},
    "pca": {"n_comps": 10},
    "kmeans": {"n_init": 3},
    "latents": ["pca", "ae"],
    "clusterings": ["leiden", "kmeans", "sccan_faithful", "sccan_improved"],
    # nbae and scVI are the recommended clustering's views (sccan_improved), trained anyway
    "autoencoders": {m: {"max_epochs": 5} for m in ("ae", "nbae", "scvi")},
    "denoise": {"enabled": False},
}
SHEET = [{"dataset": "tiny", "input": "simulate"}]
TARGETS = ["results/benchmark/metrics.tsv", "results/benchmark/environment.yaml"]
# metrics columns that measure this run's time and memory, which differ between runs
COST_COLUMN = re.compile(r"_(seconds|rss_mb)$")

_background = ThreadPoolExecutor(max_workers=2)
_reference_runs: list[Future] = []


def _run_tiny(workdir: Path) -> Path:
    run_snakemake(workdir, "--cores", "1", *TARGETS)
    return workdir


def start_reference_runs(tmp_path_factory) -> list[Future]:
    """Start two uninterrupted runs of TINY in their own directories (once per session)."""
    if not _reference_runs:
        for n in (1, 2):
            workdir = tmp_path_factory.mktemp(f"reference{n}")
            write_workflow_config(workdir, TINY, SHEET)
            _reference_runs.append(_background.submit(_run_tiny, workdir))
    return _reference_runs


def reference_runs(tmp_path_factory) -> list[Path]:
    """The working directories of the two reference runs, once they have finished."""
    return [run.result() for run in start_reference_runs(tmp_path_factory)]


def comparable_metrics(workdir: Path) -> pd.DataFrame:
    """metrics.tsv as written (text), without the time and memory columns."""
    table = pd.read_csv(workdir / "results/benchmark/metrics.tsv", sep="\t", dtype=str)
    return table[[c for c in table.columns if not COST_COLUMN.search(c)]]


def cluster_files(workdir: Path) -> dict[str, bytes]:
    results = workdir / "results"
    return {
        str(path.relative_to(results)): path.read_bytes()
        for path in sorted(results.glob("*/clusters/*.tsv"))
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return reference_runs(tmp_path_factory)


def test_metrics_are_identical_apart_from_time_and_memory(runs):
    first, second = (comparable_metrics(run) for run in runs)
    assert list(zip(first["latent"], first["clustering"], strict=True)) == [
        ("ae", "kmeans"),
        ("ae", "leiden"),
        ("pca", "kmeans"),
        ("pca", "leiden"),
        ("sccan", "sccan_faithful"),
        ("sccan", "sccan_improved"),
    ]
    assert {"ari", "nmi", "silhouette", "local_overlap"} <= set(first.columns)
    pd.testing.assert_frame_equal(first, second)


def test_cluster_labels_are_identical_byte_for_byte(runs):
    first, second = (cluster_files(run) for run in runs)
    assert set(first) == {
        f"tiny/clusters/{latent}.{clustering}.tsv"
        for latent in TINY["latents"]
        for clustering in ("kmeans", "leiden")
    } | {f"tiny/clusters/sccan.sccan_{flavour}.tsv" for flavour in ("faithful", "improved")}
    assert first == second
    labels = pd.read_csv(runs[0] / "results/tiny/clusters/pca.leiden.tsv", sep="\t")
    assert labels["cluster"].nunique() > 1


def test_latents_are_numerically_identical(runs):
    paths = sorted(p.relative_to(runs[0]) for p in runs[0].glob("results/*/embed/*.h5ad"))
    assert [p.stem for p in paths] == ["ae", "nbae", "pca", "scvi"]
    for path in paths:
        first, second = (ad.read_h5ad(run / path) for run in runs)
        key = f"X_{path.stem}"
        assert list(first.obs_names) == list(second.obs_names)
        assert first.obsm[key].shape[0] == first.n_obs
        np.testing.assert_array_equal(first.obsm[key], second.obsm[key])
    # scCAN's own VAE views (the faithful flavour's; improved fuses the latents above)
    first, second = (ad.read_h5ad(run / "results/tiny/sccan/faithful/latents.h5ad") for run in runs)
    assert len(first.obsm) > 0 and list(first.obsm) == list(second.obsm)
    for view in first.obsm:
        np.testing.assert_array_equal(first.obsm[view], second.obsm[view], err_msg=view)
    # the trained weights too, not only the latent they produced
    import torch

    weights = [
        torch.load(run / "results/tiny/models/ae/model.pt", weights_only=True) for run in runs
    ]
    for name, tensor in weights[0].items():
        assert torch.equal(tensor, weights[1][name]), name


def test_environment_records_seed_config_versions_and_device(runs):
    record = yaml.safe_load((runs[0] / "results/benchmark/environment.yaml").read_text())
    assert record["seed"] == TINY["seed"] == record["config"]["seed"]
    config = record["config"]
    assert config["simulate"] == TINY["simulate"] and config["latents"] == TINY["latents"]
    assert config["qc"]["max_pct_mito"] == 20  # the resolved config, defaults included
    assert record["python"] == platform.python_version()
    for package in ("snakemake", "numpy", "scanpy", "anndata", "scikit-learn", "torch"):
        assert record["packages"][package] == metadata.version(package), package
    hardware = record["hardware"]
    assert hardware["cpu_cores"] > 0 and "CPU cores" in hardware["summary"]
    if shutil.which("nvidia-smi") is None:
        assert hardware["gpus"] == [] and hardware["summary"].endswith("no GPU")


def test_another_seed_simulates_other_data(runs, tmp_path):
    write_workflow_config(tmp_path, TINY | {"seed": 1}, SHEET)
    run_snakemake(tmp_path, "--cores", "1", "results/tiny/raw.h5ad")
    seed0, seed1 = (ad.read_h5ad(d / "results/tiny/raw.h5ad") for d in (runs[0], tmp_path))
    assert seed0.uns["simulation"]["seed"] == 0 and seed1.uns["simulation"]["seed"] == 1
    assert seed0.shape == seed1.shape
    assert (seed0.X != seed1.X).nnz > 0.5 * seed0.X.nnz
