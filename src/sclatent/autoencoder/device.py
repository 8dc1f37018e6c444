"""Choosing the compute device once per run, and what it can hold."""

from __future__ import annotations

import logging
import os

import torch

from sclatent.errors import InputError
from sclatent.runtime import ON_MISSING_GPU

log = logging.getLogger("sclatent.autoencoder")

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()


def select_device(device: str = "auto") -> torch.device:
    """'auto' -> cuda if available, else mps, else cpu; every network trains where this says.

    An explicit 'cuda' or 'mps' that is not there falls back to the CPU with a warning, or
    raises InputError when the environment variable SCLATENT_ON_MISSING_GPU is 'error' (the
    SLURM profile's setting: a GPU job on a CPU node would train for hours).
    """
    if device not in DEVICE_CHOICES:
        raise InputError(
            f"device '{device}' is unknown (choose one of {', '.join(DEVICE_CHOICES)})"
        )
    available = {"cuda": torch.cuda.is_available(), "mps": _mps_available(), "cpu": True}
    chosen = device
    if device == "auto":
        chosen = next(kind for kind in ("cuda", "mps", "cpu") if available[kind])
    elif not available[device]:
        if os.environ.get(ON_MISSING_GPU) == "error":
            raise InputError(
                f"device '{device}' requested but this machine has none "
                "(training.on_missing_gpu: error); run the job on a GPU node"
            )
        log.warning("device '%s' requested but this machine has none: training on cpu", device)
        chosen = "cpu"
    selected = torch.device(chosen)
    if selected.type == "cuda":
        index = torch.cuda.current_device()
        selected = torch.device("cuda", index)
        log.info("device: cuda:%d (%s)", index, torch.cuda.get_device_name(index))
    else:
        log.info("device: %s (%d torch threads)", chosen, torch.get_num_threads())
    return selected


def device_memory_budget(device: torch.device) -> int:
    """Bytes of input data we allow ourselves to keep on `device` (half of what is free)."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return free // 2
    if device.type == "mps" and hasattr(torch.mps, "recommended_max_memory"):
        return torch.mps.recommended_max_memory() // 4
    return 0
