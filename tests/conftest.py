"""Shared fixtures: repository paths and a runner for the real snakemake."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import sclatent.runtime  # noqa: F401 - OMP_WAIT_POLICY before a test module loads torch

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def snakemake_executable() -> str:
    beside_python = Path(sys.executable).with_name("snakemake")
    return str(beside_python) if beside_python.exists() else shutil.which("snakemake")


def run_snakemake(workdir: Path, *args: str, check: bool = True, timeout: int = 1200):
    """Run the repository's workflow in `workdir` (its own config/ and results/)."""
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", XDG_CACHE_HOME=str(workdir / ".cache"))
    command = [
        snakemake_executable(),
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--workflow-profile",
        str(REPO / "profiles" / "default"),
        *args,
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
        )
    return result


def sigterm_once_started(args: list[str], marker: Path, timeout: float = 120) -> int:
    """Run `python args...`, send it SIGTERM once it has written `marker` (what SLURM
    preemption does to a training job), and return its exit status."""
    import signal
    import time

    child = subprocess.Popen([sys.executable, *args])
    deadline = time.monotonic() + timeout
    while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGTERM)
    return child.wait(timeout=60)


def write_workflow_config(workdir: Path, config: dict, sheet_rows: list[dict]) -> Path:
    """Write config.yaml and the dataset sheet into workdir/config/."""
    config_dir = workdir / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(key for row in sheet_rows for key in row))
    lines = ["\t".join(columns)] + [
        "\t".join(str(row.get(c, "")) for c in columns) for row in sheet_rows
    ]
    (config_dir / "datasets.tsv").write_text("\n".join(lines) + "\n")
    config = {"datasets": "config/datasets.tsv", **config}
    path = config_dir / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared datasets not found at {SHARED_DATA}")
    return SHARED_DATA
