"""The workflow's static checks: snakemake --lint, snakefmt and ruff report nothing."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO, snakemake_executable


def tool(name):
    path = Path(sys.executable).with_name(name)
    found = str(path) if path.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed in this environment")
    return found


def run(command):
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)


def test_snakemake_lint_is_clean():
    result = run([snakemake_executable(), "--lint"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations" in result.stdout + result.stderr, result.stdout + result.stderr


def test_snakefmt_check_passes():
    result = run([tool("snakefmt"), "--check", "."])
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_check_passes():
    result = run([tool("ruff"), "check", "."])
    assert result.returncode == 0, result.stdout + result.stderr
