"""What a training run cost and where it ran, for the metrics table and the report."""

from __future__ import annotations


def training_record(result) -> dict:
    """Device, GPU model, peak GPU memory, seconds, epochs and library versions of a run.

    Training runs in its own (conda) environment, so its versions are recorded here rather
    than by the report's environment step.
    """
    import sys

    import torch

    gpu_name = None
    if result.device.startswith("cuda"):
        gpu_name = torch.cuda.get_device_name(torch.device(result.device))

    history = result.history
    versions = {"torch": torch.__version__, "cuda": torch.version.cuda}
    if "scvi" in sys.modules:
        versions["scvi-tools"] = sys.modules["scvi"].__version__
    return {
        "versions": versions,
        "device": result.device,
        "gpu_model": gpu_name,
        "peak_gpu_memory_mb": (
            None if result.peak_gpu_memory_bytes is None else result.peak_gpu_memory_bytes / 2**20
        ),
        "train_seconds": result.seconds,
        "epochs": int(len(history)),
        "best_epoch": result.best_epoch,
        "stopped_early": bool(result.stopped_early),
        "resumed_from_epoch": result.resumed_from_epoch,
        "final_val_loss": float(history["val_loss"].iloc[-1]) if len(history) else None,
    }


def write_training_record(result, path) -> None:
    from sclatent.h5io import write_json

    write_json(training_record(result), path)
