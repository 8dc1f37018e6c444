"""Faults: interrupted runs resume, and no crash leaves a file that looks complete.

The workflow test interrupts one run twice: first with SIGTERM to snakemake and its jobs (what
`kill`, `scancel` or a scheduler's time limit send), then with SIGKILL of the whole process
group (a crash, the OOM killer or a power loss),
resumes it with `--unlock` and `--rerun-incomplete`, and compares its results with an
uninterrupted run of the same config (test_reproducibility.reference_runs, which run in the
background meanwhile).
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from sclatent import h5io

from .conftest import REPO, run_snakemake, snakemake_executable, write_workflow_config
from .test_reproducibility import (
    SHEET,
    TARGETS,
    TINY,
    cluster_files,
    comparable_metrics,
    reference_runs,
    start_reference_runs,
)

# ---- atomic writes ----------------------------------------------------------------------------


def small_adata():
    return ad.AnnData(np.arange(6, dtype=np.float32).reshape(3, 2))


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_h5ad_write_interrupted_midway_leaves_no_file(tmp_path, monkeypatch, error):
    def write_half_then_fail(self, path, **kwargs):
        Path(path).write_bytes(b"\x89HDF\r\n\x1a\n half a file")
        raise error

    monkeypatch.setattr(ad.AnnData, "write_h5ad", write_half_then_fail)
    with pytest.raises(type(error)):
        h5io.write_h5ad(small_adata(), tmp_path / "out.h5ad")
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("write", "name"),
    [
        (lambda path: h5io.write_h5ad(small_adata(), path), "out.h5ad"),
        (lambda path: h5io.write_table(pd.DataFrame({"a": [1, 2]}), path), "out.tsv"),
        (lambda path: h5io.write_json({"ari": 0.5}, path), "out.json"),
        (lambda path: h5io.write_text("text", path), "out.txt"),
    ],
)
def test_crash_before_the_rename_keeps_the_old_file(tmp_path, monkeypatch, write, name):
    path = tmp_path / name
    path.write_bytes(b"previous complete version")

    def crash(source, destination):
        raise OSError("killed before the rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="killed before the rename"):
        write(path)
    assert path.read_bytes() == b"previous complete version"
    assert leftovers(tmp_path) == [name]
    monkeypatch.undo()
    write(path)  # the same writer succeeds once nothing fails
    assert path.read_bytes() != b"previous complete version"
    assert leftovers(tmp_path) == [name]


def test_temporaries_of_a_killed_writer_are_removed_on_the_next_write(tmp_path):
    for pid in (123, 456):  # as a SIGKILLed writer leaves them
        (tmp_path / f".out.h5ad.tmp{pid}").write_bytes(b"partial")
    (tmp_path / ".other.h5ad.tmp789").write_bytes(b"another output's, kept")
    h5io.write_h5ad(small_adata(), tmp_path / "out.h5ad")
    assert leftovers(tmp_path) == [".other.h5ad.tmp789", "out.h5ad"]
    np.testing.assert_array_equal(ad.read_h5ad(tmp_path / "out.h5ad").X, small_adata().X)


SLOW_RULE_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from types import SimpleNamespace
    import anndata as ad
    import numpy as np
    from sclatent import h5io
    from sclatent.runtime import run_rule

    out, log = sys.argv[1:3]

    def write_slowly(self, path, **kwargs):
        Path(path).write_bytes(b"partial")
        print("writing", flush=True)
        time.sleep(120)

    ad.AnnData.write_h5ad = write_slowly

    def main(smk):
        h5io.write_h5ad(ad.AnnData(np.zeros((2, 2), dtype=np.float32)), smk.output[0])

    job = SimpleNamespace(
        log=[log], output=[out], threads=1, rule="slow", wildcards={}, config={},
    )
    run_rule(job, main)
    """
)


def test_sigterm_during_a_write_cleans_up(tmp_path):
    """Snakemake and SLURM cancel jobs with SIGTERM: the rule script removes its temporary."""
    output = tmp_path / "results" / "out.h5ad"
    job = subprocess.Popen(
        [sys.executable, "-c", SLOW_RULE_SCRIPT, str(output), str(tmp_path / "job.log")],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO / "src"), OMP_WAIT_POLICY="PASSIVE"),
    )
    try:
        assert job.stdout.readline().strip() == "writing"
        assert leftovers(output.parent) == [f".out.h5ad.tmp{job.pid}"]
        job.send_signal(signal.SIGTERM)
        assert job.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        job.kill()
        job.wait()
    assert leftovers(output.parent) == []
    assert "rule slow" in (tmp_path / "job.log").read_text()


# ---- a run interrupted twice, then resumed ----------------------------------------------------


def start_snakemake(workdir: Path, *args: str) -> subprocess.Popen:
    """Like conftest.run_snakemake, but in the background and in its own process group."""
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
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", XDG_CACHE_HOME=str(workdir / ".cache"))
    log = open(workdir / f"run{time.monotonic_ns()}.out", "w")  # noqa: SIM115 - closed below
    try:
        return subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    finally:
        log.close()


def incomplete_outputs(workdir: Path) -> set[str]:
    """Outputs of the jobs Snakemake has marked as running (its .snakemake/incomplete)."""
    markers = workdir / ".snakemake" / "incomplete"
    if not markers.is_dir():
        return set()
    return {base64.urlsafe_b64decode(m.name).decode() for m in markers.iterdir() if m.is_file()}


def wait_for_a_running_job(process: subprocess.Popen, workdir: Path, after: str) -> set[str]:
    """Wait until output `after` exists and a job whose output is not written yet runs."""
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        running = {p for p in incomplete_outputs(workdir) if not (workdir / p).exists()}
        if (workdir / after).exists() and running:
            return running
        if process.poll() is not None:
            pytest.fail(f"snakemake ended (exit {process.returncode}) before it could be killed")
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    pytest.fail(f"no job started after {after} within 15 minutes")


def result_files(workdir: Path) -> dict[str, int]:
    """Every file under results/ with its modification time."""
    return {
        str(p.relative_to(workdir)): p.stat().st_mtime_ns
        for p in (workdir / "results").rglob("*")
        if p.is_file()
    }


def locks(workdir: Path) -> list[str]:
    directory = workdir / ".snakemake" / "locks"
    return sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []


def terminate(process: subprocess.Popen) -> bool:
    """SIGTERM to snakemake and its jobs; SIGKILL if they are not gone in 2 minutes.

    Returns whether SIGKILL was needed.
    """
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=120)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return True


@dataclass
class InterruptedRun:
    workdir: Path
    # after SIGTERM
    term_running: set[str]
    term_exit: int
    term_escalated: bool
    term_locks: list[str]
    term_incomplete: set[str]
    term_files: dict[str, int]
    # after SIGKILL of the process group
    kill_running: set[str]
    kill_locks: list[str]
    kill_incomplete: set[str]
    kill_files: dict[str, int]
    # the restarts
    locked_restart: subprocess.CompletedProcess
    resumed_files: dict[str, int]
    dry_run: subprocess.CompletedProcess


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory) -> InterruptedRun:
    start_reference_runs(tmp_path_factory)  # in the background, meanwhile
    workdir = tmp_path_factory.mktemp("interrupted")
    write_workflow_config(workdir, TINY, SHEET)
    # One job at a time, so each kill hits exactly one; both kills hit short jobs (QC, then
    # PCA or the environment record) so that little work is thrown away.
    run = ["--cores", "1", *TARGETS]

    process = start_snakemake(workdir, *run)
    term_running = wait_for_a_running_job(process, workdir, "results/tiny/raw.h5ad")
    term_escalated = terminate(process)
    term = {
        "term_running": term_running,
        "term_exit": process.returncode,
        "term_escalated": term_escalated,
        "term_locks": locks(workdir),
        "term_incomplete": incomplete_outputs(workdir),
        "term_files": result_files(workdir),
    }
    if term["term_locks"]:  # only after an escalation to SIGKILL (a test below fails then)
        run_snakemake(workdir, "--unlock")

    process = start_snakemake(workdir, *run)
    kill_running = wait_for_a_running_job(process, workdir, "results/tiny/norm.h5ad")
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    kill = {
        "kill_running": kill_running,
        "kill_locks": locks(workdir),
        "kill_incomplete": incomplete_outputs(workdir),
        "kill_files": result_files(workdir),
    }

    locked_restart = run_snakemake(workdir, *run, check=False)
    run_snakemake(workdir, "--unlock")
    run_snakemake(workdir, *run, "--rerun-incomplete")  # fails the tests if it fails
    return InterruptedRun(
        workdir=workdir,
        **term,
        **kill,
        locked_restart=locked_restart,
        resumed_files=result_files(workdir),
        dry_run=run_snakemake(workdir, "--dry-run", *TARGETS),
    )


def temporaries(files) -> list[str]:
    """Hidden files a job left, except Snakemake's own marker in a directory output."""
    return [
        path
        for path in files
        if Path(path).name.startswith(".") and Path(path).name != ".snakemake_timestamp"
    ]


@pytest.mark.workflow
def test_sigterm_stops_the_run_cleanly(interrupted):
    assert interrupted.term_exit != 0
    assert not interrupted.term_escalated, "snakemake ignored SIGTERM for 2 minutes"
    assert interrupted.term_locks == []
    assert interrupted.term_incomplete == set()  # Snakemake removed what the job had begun
    assert not interrupted.term_running & set(interrupted.term_files)
    assert temporaries(interrupted.term_files) == []
    assert "results/tiny/raw.h5ad" in interrupted.term_files


@pytest.mark.workflow
def test_sigkill_leaves_a_lock_and_marks_the_running_job_incomplete(interrupted):
    assert interrupted.kill_locks != []
    assert interrupted.kill_running <= interrupted.kill_incomplete
    assert not interrupted.kill_running & set(interrupted.kill_files)
    restart = interrupted.locked_restart
    assert restart.returncode != 0
    assert "Directory cannot be locked" in restart.stdout + restart.stderr
    assert "--unlock" in restart.stdout + restart.stderr


@pytest.mark.workflow
def test_resume_redoes_only_unfinished_jobs(interrupted):
    before, after = interrupted.kill_files, interrupted.resumed_files
    finished = {p for p in before if p not in interrupted.kill_incomplete}
    assert {"results/tiny/raw.h5ad", "results/tiny/hvg.h5ad"} <= finished
    assert {p: after[p] for p in finished} == {p: before[p] for p in finished}
    # whatever the killed job had written is redone, even a file that looks complete
    rebuilt = {p for p in interrupted.kill_incomplete if p in after and after[p] != before.get(p)}
    assert rebuilt == interrupted.kill_incomplete
    assert set(TARGETS) <= set(after)
    assert temporaries(after) == []


@pytest.mark.workflow
def test_resumed_results_equal_an_uninterrupted_run(interrupted, tmp_path_factory):
    reference = reference_runs(tmp_path_factory)[0]
    pd.testing.assert_frame_equal(
        comparable_metrics(interrupted.workdir), comparable_metrics(reference)
    )
    assert cluster_files(interrupted.workdir) == cluster_files(reference)


@pytest.mark.workflow
def test_nothing_left_to_do_after_the_resume(interrupted):
    output = interrupted.dry_run.stdout + interrupted.dry_run.stderr
    assert "Nothing to be done" in output
