"""What a result was made with: software versions, hardware, config, seed."""

from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
import subprocess
from importlib import metadata

PACKAGES = [
    "sclatent",
    "snakemake",
    "numpy",
    "scipy",
    "pandas",
    "anndata",
    "scanpy",
    "scikit-learn",
    "umap-learn",
    "pynndescent",
    "leidenalg",
    "igraph",
    "torch",
    "scvi-tools",
    "lightning",
]


def package_versions(names=PACKAGES) -> dict:
    from sclatent import __version__

    versions = {"sclatent": __version__}  # run from the checkout, not necessarily installed
    for name in names:
        if name == "sclatent":
            continue
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def gpu_models() -> list[str]:
    """GPU names from nvidia-smi (without importing torch); empty when there is none."""
    if not shutil.which("nvidia-smi"):
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
    except (subprocess.SubprocessError, OSError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def hardware() -> dict:
    import psutil

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            names = [
                line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")
            ]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    memory_gb = psutil.virtual_memory().total / 2**30
    gpus = gpu_models()
    summary = f"{os.cpu_count()} CPU cores ({cpu}), {memory_gb:.0f} GB RAM, " + (
        f"GPU: {'; '.join(gpus)}" if gpus else "no GPU"
    )
    return {
        "summary": summary,
        "cpu": cpu,
        "cpu_cores": os.cpu_count(),
        "memory_gb": round(memory_gb, 1),
        "gpus": gpus,
        "platform": platform.platform(),
    }


def git_commit(directory) -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(directory), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (subprocess.SubprocessError, OSError):
        return "unknown"


def environment_record(config: dict, workflow_dir) -> dict:
    from sclatent import __version__

    return {
        "sclatent": __version__,
        "workflow_commit": git_commit(workflow_dir),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "seed": config.get("seed"),
        "python": platform.python_version(),
        "packages": package_versions(),
        "hardware": hardware(),
        "config": config,
    }
