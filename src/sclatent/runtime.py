"""Process set-up shared by every rule script: threads, logging and the compute device.

Torch with OpenMP busy-waiting runs orders of magnitude slower when another process holds a
core, so OMP_WAIT_POLICY=PASSIVE must be in the environment before torch (or any OpenMP
library) loads: it is set here, on import, and every module that loads torch imports this one
first (`sclatent.autoencoder` does, and scCAN trains through it). Thread pools must match the
threads Snakemake granted the rule: `set_threads` is the one place that sets them.
"""

from __future__ import annotations

import logging
import os
import sys

# OpenMP reads it once, when the library loads; a value the user set wins
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# what a job does when `device` asks for a GPU it cannot see: "cpu" (warn, train on the CPU)
# or "error"; run_rule copies it from the config key training.on_missing_gpu
ON_MISSING_GPU = "SCLATENT_ON_MISSING_GPU"

_THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)


def prepare_job_environment(source_dir) -> None:
    """Environment every job inherits: sclatent importable (OpenMP waiting passively: above).

    Jobs run in their own (conda) environments and, on a cluster, on other nodes; both inherit
    the environment of the Snakemake process, so putting the checkout's `src` on PYTHONPATH
    makes `import sclatent` work everywhere without installing the package into each env.
    """
    paths = [str(source_dir)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))


def set_threads(threads: int) -> int:
    """Limit OpenMP, BLAS, numba and torch to `threads`, loaded or not.

    Libraries not loaded yet read the environment; loaded ones are told directly. numba's own
    variable is only set before numba loads: changed after its threads started, it makes the
    next compilation fail.
    """
    threads = max(1, int(threads))
    for var in _THREAD_VARS:
        os.environ[var] = str(threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)
    if "numba" in sys.modules:
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    else:
        os.environ["NUMBA_NUM_THREADS"] = str(threads)
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(threads)
    return threads


def setup_logging(log_path: str | None = None, level: int = logging.INFO) -> logging.Logger:
    """Send this process's log records (and warnings) to the rule's log file."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        handlers = [logging.FileHandler(log_path, mode="w")]
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.captureWarnings(True)
    return logging.getLogger("sclatent")


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)


def run_rule(snakemake, main) -> None:
    """Run a rule script's `main(snakemake)` with logging, threads and clean failure.

    The log goes to the rule's log file. Bad input (`InputError`) becomes one line on the
    terminal and in the log, a non-zero exit and no partial outputs; anything else keeps its
    traceback in the log, because that is a bug to report. SIGTERM (Snakemake or SLURM
    cancelling the job) exits through Python's clean-up, so temporary files are removed.
    The config's training.on_missing_gpu reaches `select_device` through the environment.
    """
    import signal
    from pathlib import Path

    from sclatent.errors import InputError

    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    terminal = sys.stderr
    log_path = snakemake.log[0] if len(snakemake.log) else None
    if log_path:
        sys.stderr = open(log_path, "w", buffering=1)  # noqa: SIM115 - lives as long as the job
    logger = setup_logging(None)
    set_threads(snakemake.threads)
    os.environ[ON_MISSING_GPU] = snakemake.config.get("training", {}).get("on_missing_gpu", "cpu")
    logger.info(
        "rule %s, wildcards %s, threads %d",
        snakemake.rule,
        dict(snakemake.wildcards),
        snakemake.threads,
    )
    try:
        main(snakemake)
    except InputError as error:
        message = f"sclatent error: {error}"
        logger.error(message)
        print(message, file=terminal, flush=True)
        for path in snakemake.output:
            if Path(path).is_file():
                Path(path).unlink()
        sys.exit(1)
