"""The tiny workflow on a real one-node SLURM, through profiles/slurm.

start_local_slurm.sh starts slurmctld, slurmd and munged from Debian's packages (installed with
apt-get when missing) with fake GPUs; Snakemake submits every job with sbatch through
profiles/slurm plus the test-only layer tests/cluster/profile. A local run of the same config
runs at the same time, and the SLURM run must reproduce its metrics and cluster labels. Training
rules that profiles/slurm sends to a GPU but the workflow does not have yet are stood in for by
gpu_probe/Snakefile, so the GPU request is checked for every training rule of the profile. The
small steps of each latent go to SLURM as one group job (profiles/slurm `groups`), and the
quick gathering steps run where Snakemake runs (the Snakefile's localrules).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ..conftest import REPO, run_snakemake, write_workflow_config
from ..test_workflow import TINY

pytestmark = pytest.mark.cluster

HERE = Path(__file__).resolve().parent
SLURM_PROFILE = REPO / "profiles" / "slurm"
TEST_PROFILE = HERE / "profile"
GPU_PROBE = HERE / "gpu_probe" / "Snakefile"
# /tmp: the daemons' users must reach the cluster directory (TMPDIR may be private)
CLUSTER_PARENT = "/tmp"
# one private cluster per machine at a time: it owns /etc/slurm/slurm.conf while it runs
LOCK_FILE = Path(CLUSTER_PARENT) / "sclatent-local-slurm.lock"
SLURM_PROGRAMS = ("slurmctld", "slurmd", "munged", "sbatch", "squeue", "scontrol")
# node CPUs offered on top of the real ones: jobs share the cores while others wait on polling
NODE_CPUS = "8"
RUN_TIMEOUT_S = 1800
# metrics columns that measure the machine, not the result
COST_COLUMN = re.compile(r"(?:_seconds|_mb)$")


def slurm_unavailable_reason() -> str | None:
    if not sys.platform.startswith("linux"):
        return "a local SLURM needs Linux"
    if os.geteuid() != 0:
        return "starting slurmctld, slurmd and munged (and installing them) needs root"
    installed = all(
        shutil.which(name) or Path("/usr/sbin", name).exists() for name in SLURM_PROGRAMS
    )
    if not installed and not shutil.which("apt-get"):
        return "the SLURM packages are not installed and there is no apt-get to install them"
    return None


def free_ports(count: int) -> list[int]:
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


@pytest.fixture(scope="module")
def slurm_conf():
    """A running private cluster; yields its slurm.conf. Stops only what it started."""
    reason = slurm_unavailable_reason()
    if reason:
        pytest.skip(reason)
    with open(LOCK_FILE, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        cluster_dir = Path(tempfile.mkdtemp(prefix="sclatent-slurm-", dir=CLUSTER_PARENT))
        ctld_port, slurmd_port = free_ports(2)
        env = dict(
            os.environ,
            SLURMCTLD_PORT=str(ctld_port),
            SLURMD_PORT=str(slurmd_port),
            NODE_CPUS=NODE_CPUS,
        )
        try:
            started = subprocess.run(
                [str(HERE / "start_local_slurm.sh"), str(cluster_dir)],
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert started.returncode == 0, f"local SLURM did not start:\n{started.stderr}"
            yield cluster_dir / "slurm.conf"
        finally:
            subprocess.run(
                [str(HERE / "stop_local_slurm.sh"), str(cluster_dir), "--purge"],
                capture_output=True,
                timeout=300,
            )


def profile_gpu_rules() -> set[str]:
    """Rules that profiles/slurm sends to a GPU."""
    profile = yaml.safe_load((SLURM_PROFILE / "config.yaml").read_text())
    return {
        rule
        for rule, resources in profile.get("set-resources", {}).items()
        if int(resources.get("gpu", 0)) > 0 or "gpu" in str(resources.get("gres", ""))
    }


def tiny_config() -> dict:
    """tests/test_workflow.py's tiny config: one latent or clustering for each rule."""
    return dict(TINY)


# the Snakefile's localrules (and the target rule, local by nature)
LOCAL_RULES = {
    "all",
    "gather_metrics",
    "gather_denoising",
    "plot_benchmark",
    "environment",
    "summary",
}


@dataclass
class Job:
    rule: str
    local: bool
    wildcards: str = ""
    resources: dict = field(default_factory=dict)
    group: str | None = None  # the group job it ran in (profiles/slurm `groups`)


@dataclass
class SlurmRun:
    """What one Snakemake run through the SLURM profile printed and what SLURM recorded."""

    workdir: Path
    output: str
    seconds: float
    jobs: dict[str, Job]  # Snakemake job id -> job
    slurm_ids: dict[str, str]  # Snakemake job id (a group job's: a uuid) -> SLURM job id
    sbatch_calls: list[str]
    records: dict[str, dict[str, str]]  # SLURM job id -> scontrol fields

    def submitted(self):
        """(job, SLURM record, sbatch calls) of every job that went to SLURM; a group job is
        one Job named after its group."""
        for jobid, slurm_id in self.slurm_ids.items():
            comment = self.records[slurm_id]["Comment"]
            job = self.jobs.get(jobid) or Job(rule=comment.removeprefix("rule_"), local=False)
            calls = [
                c for c in self.sbatch_calls if re.search(rf"--comment {re.escape(comment)}\s", c)
            ]
            yield job, self.records[slurm_id], calls


JOB_HEADER = re.compile(r"^(    )?(local)?rule (\w+):$")
GROUP_HEADER = re.compile(r"Group job (\w+) \(jobs in lexicogr\. order\):$")


def parse_jobs(output: str) -> dict[str, Job]:
    """Snakemake's job blocks ("rule x:" / "localrule x:" and their indented fields), and the
    jobs of a group job ("Group job g (...):" followed by its jobs' blocks, indented)."""
    jobs, current, fields, group = {}, None, {}, None

    def finish(job):
        job.wildcards = fields.get("wildcards", "")
        job.resources = dict(
            item.split("=", 1) for item in fields.get("resources", "").split(", ") if item
        )
        jobs[fields["jobid"]] = job

    for line in output.splitlines() + [""]:
        header, group_header = JOB_HEADER.match(line), GROUP_HEADER.search(line)
        if current and (header or group_header or not line.startswith("    ") or ": " not in line):
            finish(current)
            current = None
        if group_header:
            group = group_header[1]
        elif header:
            group = group if header[1] else None
            current, fields = Job(rule=header[3], local=bool(header[2]), group=group), {}
        elif current:
            key, value = line.strip().split(": ", 1)
            fields[key] = value
    return jobs


def group_targets(call: str) -> set[tuple[str, str]]:
    """(rule, latent) of every job an sbatch call of a group job runs (its --target-jobs)."""
    return set(re.findall(r"(\w+):(?:\w+=\w+,)*?latent=(\w+)", call.partition("--wrap")[2]))


def scontrol_records(slurm_conf: Path) -> dict[str, dict[str, str]]:
    shown = subprocess.run(
        ["scontrol", "show", "job", "--oneliner"],
        env=dict(os.environ, SLURM_CONF=str(slurm_conf)),
        capture_output=True,
        text=True,
        check=True,
    )
    records = {}
    for line in shown.stdout.splitlines():
        fields = dict(item.split("=", 1) for item in line.split() if "=" in item)
        records[fields["JobId"]] = fields
    return records


def run_through_slurm(workdir: Path, slurm_conf: Path, *args: str) -> tuple[str, float]:
    start = time.monotonic()
    result = run_snakemake(
        workdir,
        "--workflow-profile",
        "none",
        "--profile",
        str(SLURM_PROFILE),
        "--profile",
        str(TEST_PROFILE),
        "--verbose",
        *args,
        check=False,
        timeout=RUN_TIMEOUT_S,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"SLURM run failed ({result.returncode}):\n{output[-12000:]}"
    return output, time.monotonic() - start


def collect(workdir: Path, output: str, seconds: float, records) -> SlurmRun:
    return SlurmRun(
        workdir=workdir,
        output=output,
        seconds=seconds,
        jobs=parse_jobs(output),
        slurm_ids=dict(re.findall(r"Job (\S+) has been submitted with SLURM jobid (\d+)", output)),
        sbatch_calls=re.findall(r"^sbatch call: (.*)$", output, flags=re.MULTILINE),
        records=records,
    )


@dataclass
class Runs:
    local: Path
    slurm: SlurmRun
    probe: SlurmRun | None
    workflow_rules: set[str]


@pytest.fixture(scope="module")
def runs(slurm_conf, tmp_path_factory):
    """The local run, the SLURM run and (if needed) the GPU probe, at the same time."""
    previous = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(slurm_conf)  # for sbatch, squeue and scontrol in the runs
    try:
        yield start_runs(slurm_conf, tmp_path_factory)
    finally:
        if previous is None:
            del os.environ["SLURM_CONF"]
        else:
            os.environ["SLURM_CONF"] = previous


def start_runs(slurm_conf, tmp_path_factory) -> Runs:
    config = tiny_config()
    local_dir, slurm_dir, probe_dir = (
        tmp_path_factory.mktemp(name) for name in ("local", "slurm", "probe")
    )
    for workdir in (local_dir, slurm_dir):
        write_workflow_config(workdir, config, [{"dataset": "tiny", "input": "simulate"}])
    listed = run_snakemake(slurm_dir, "--list-rules").stdout.split()
    workflow_rules = set(listed)
    probes = sorted(profile_gpu_rules() - workflow_rules)
    with ThreadPoolExecutor(max_workers=3) as pool:
        local = pool.submit(run_snakemake, local_dir, "--cores", "2", timeout=RUN_TIMEOUT_S)
        slurm = pool.submit(run_through_slurm, slurm_dir, slurm_conf)
        probe = None
        if probes:
            probe = pool.submit(
                run_through_slurm,
                probe_dir,
                slurm_conf,
                "--snakefile",
                str(GPU_PROBE),
                "--config",
                f"rules=[{','.join(probes)}]",
            )
        local.result()
        slurm_output, slurm_seconds = slurm.result()
        probe_result = probe.result() if probe else None
    records = scontrol_records(slurm_conf)
    runs = Runs(
        local=local_dir,
        slurm=collect(slurm_dir, slurm_output, slurm_seconds, records),
        probe=probe_result and collect(probe_dir, *probe_result, records),
        workflow_rules=workflow_rules,
    )
    print(f"\nSLURM run {slurm_seconds:.0f} s; sbatch calls of the GPU jobs:")
    for job, _, calls in all_submitted(runs):
        if "gpu" in job.resources:
            print("\n".join(f"  {job.rule}: {call.partition(' --wrap')[0]}" for call in calls))
    return runs


def all_submitted(runs: Runs):
    for run in (runs.slurm, runs.probe):
        if run:
            yield from run.submitted()


def test_every_job_went_through_sbatch(runs):
    run = runs.slurm
    run_id = re.search(r"SLURM run ID: (\S+)", run.output)[1]
    remote = {jobid for jobid, job in run.jobs.items() if not job.local and not job.group}
    assert remote, "Snakemake printed no jobs"
    alone = {jobid for jobid in run.slurm_ids if jobid in run.jobs}
    assert alone == remote, "every non-local job outside a group has a SLURM job id"
    assert len(run.slurm_ids) > len(alone), "the group jobs went to SLURM too"
    for job, record, calls in run.submitted():
        assert record["JobName"] == run_id
        assert record["JobState"] == "COMPLETED", (job, record)
        assert record["Comment"].startswith(f"rule_{job.rule}"), (job, record)
        assert calls, f"no sbatch call logged for {job}"
    local = {job.rule for job in run.jobs.values() if job.local}
    assert local == LOCAL_RULES & runs.workflow_rules, local


def test_each_latents_small_steps_went_to_slurm_as_one_job(runs):
    """profiles/slurm groups each latent's small steps: one sbatch call runs its kNN graph,
    Leiden, k-means, scores and layout (PCA's and UMAP's together: UMAP is laid out from the
    PCA graph), instead of one call each."""
    run = runs.slurm
    grouped = [job for job in run.jobs.values() if job.group]
    assert {job.group for job in grouped} == {"per_latent"}
    calls = [c for c in run.sbatch_calls if "--comment rule_per_latent" in c]
    per_call = [group_targets(call) for call in calls]
    latents = {latent for targets in per_call for _, latent in targets}
    assert latents == set(TINY["latents"]) | {"sccan"}
    for latent in TINY["latents"]:
        (steps,) = [targets for targets in per_call if ("knn_graph", latent) in targets]
        rules = {rule for rule, of in steps if of == latent}
        assert {"knn_graph", "leiden", "kmeans", "score_latent", "score_clustering"} <= rules
    # PCA with UMAP, AE, scVI, and scCAN's two score steps: 5 calls for about 30 steps
    assert len(calls) == 5
    assert len(grouped) > 4 * len(calls)


def test_training_rules_of_the_workflow_run_on_slurm(runs):
    """Every GPU rule of the profile that the workflow has is part of the SLURM run."""
    present = profile_gpu_rules() & runs.workflow_rules
    ran = {job.rule for job, _, _ in runs.slurm.submitted()}
    assert present <= ran, (
        f"rules {sorted(present - ran)} exist but the latents and clusterings of "
        "tests/test_workflow.py's TINY do not run them"
    )


def test_gpu_jobs_were_submitted_with_their_gpu_request(runs):
    gpu_rules = set()
    for job, record, calls in all_submitted(runs):
        gpus = int(job.resources.get("gpu", 0))
        if gpus == 0:
            assert "gpu" not in record.get("TresPerJob", "")
            assert not any("--gpus" in call or "--gres" in call for call in calls)
            continue
        gpu_rules.add(job.rule)
        assert record["TresPerJob"] == f"gres:gpu:{gpus}", record
        assert record["Partition"] == job.resources["slurm_partition"] == "gpu"
        cpus = job.resources["cpus_per_gpu"]
        for call in calls:
            assert f"--gpus={gpus}" in call.split(), call
            assert f"--cpus-per-gpu={cpus}" in call.split(), call
            assert "-p gpu" in call, call
    assert gpu_rules == profile_gpu_rules(), "every GPU rule of profiles/slurm ran on SLURM"


def test_gpu_probes_saw_their_allocated_gpu(runs):
    if not runs.probe:
        pytest.skip("every GPU rule of profiles/slurm exists in the workflow: no probes ran")
    for path in sorted((runs.probe.workdir / "probe").glob("*.txt")):
        seen = dict(line.split("=", 1) for line in path.read_text().splitlines())
        assert seen["SLURM_JOB_ID"].isdigit(), path
        assert seen["SLURM_JOB_PARTITION"] == "gpu", path
        assert seen["SLURM_GPUS_ON_NODE"] == "1", path
        assert seen["CUDA_VISIBLE_DEVICES"] in {"0", "1"}, path


def test_slurm_run_reproduces_the_local_run(runs):
    tables = [
        pd.read_csv(workdir / "results/benchmark/metrics.tsv", sep="\t")
        for workdir in (runs.local, runs.slurm.workdir)
    ]
    results = [table.loc[:, ~table.columns.str.contains(COST_COLUMN)] for table in tables]
    assert len(results[0]) > 0
    pd.testing.assert_frame_equal(results[0], results[1])
    local_labels = sorted((runs.local / "results/tiny/clusters").glob("*.tsv"))
    assert local_labels
    for path in local_labels:
        slurm_path = runs.slurm.workdir / path.relative_to(runs.local)
        assert slurm_path.read_text() == path.read_text(), path.name


def test_laptop_profile_stays_executor_neutral():
    """profiles/default is loaded implicitly, so an executor there would break laptop runs."""
    laptop = yaml.safe_load((REPO / "profiles" / "default" / "config.yaml").read_text())
    assert "executor" not in laptop
    assert yaml.safe_load((SLURM_PROFILE / "config.yaml").read_text())["executor"] == "slurm"
