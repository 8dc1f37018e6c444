"""Choosing the compute device once per run, and what it can hold."""

from __future__ import annotations

import logging

import torch

from sclatent.errors import InputError

log = logging.getLogger("sclatent.autoencoder")

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()


def select_device(device: str = "auto") -> torch.device:
    """'auto' -> cuda if available, else mps, else cpu; an absent GPU falls back to cpu (logged)."""
    if device not in DEVICE_CHOICES:
        raise InputError(
            f"device '{device}' is unknown (choose one of {', '.join(DEVICE_CHOICES)})"
        )
    chosen = device
    if device == "auto":
        chosen = "cuda" if torch.cuda.is_available() else "mps" if _mps_available() else "cpu"
    elif device == "cuda" and not torch.cuda.is_available():
        log.warning("device 'cuda' requested but no CUDA GPU is visible: training on cpu")
        chosen = "cpu"
    elif device == "mps" and not _mps_available():
        log.warning("device 'mps' requested but MPS is not available: training on cpu")
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
