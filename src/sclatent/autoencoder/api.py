"""`train_latent`: the one call a rule script makes to train an autoencoder and embed cells."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from sclatent.errors import InputError
from sclatent.runtime import set_threads

from .data import CellData, digest, encode
from .device import select_device
from .model import FittedAutoencoder, as_csr, build_network, count_inputs
from .params import AUTOENCODER_MODELS, LIKELIHOODS, auto_max_epochs, resolve_params
from .trainer import Trainer

log = logging.getLogger("sclatent.autoencoder")


@dataclass
class TrainResult:
    """What a training run produced (the latent is also written to `adata.obsm`)."""

    latent: np.ndarray  # cells x latent_dim, float32
    history: pd.DataFrame  # epoch, train_loss, val_loss, seconds, lr
    device: str  # 'cpu', 'cuda:0', ...
    seconds: float  # wall time of the call (this process only when resumed)
    peak_gpu_memory_bytes: int | None  # torch's peak allocation on CUDA, else None
    model: FittedAutoencoder | Any  # the fitted model (scVI: the scvi.model.SCVI)
    best_epoch: int
    stopped_early: bool
    resumed_from_epoch: int | None  # epoch of the checkpoint this run continued from


def _reset_gpu_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def _gpu_peak(device: torch.device) -> int | None:
    return int(torch.cuda.max_memory_allocated(device)) if device.type == "cuda" else None


def train_latent(
    adata_hvg,
    model: str,
    params: Mapping[str, Any] | None = None,
    *,
    seed: int,
    checkpoint_dir: str | Path | None = None,
    device: str = "auto",
    threads: int | None = None,
    key_added: str | None = None,
    epoch_callback: Callable[[dict], None] | None = None,
    restart_stale: bool = False,
    budget: float = 1.0,
) -> TrainResult:
    """Train autoencoder `model` ('ae', 'dae', 'nbae', 'zinbae') on hvg.h5ad and embed all cells.

    Input is `X` (log-normalised HVGs, sparse); the count models also read `layers['counts']`
    and `obs['size_factor']`. `params` overrides `default_params(model)`; unknown keys raise
    InputError. With `checkpoint_dir`, progress is checkpointed there (and resumed from there
    when a checkpoint exists), and the final weights are saved as model.pt + model.json.
    SIGTERM saves a checkpoint and exits with status 143 (`TrainingInterrupted`).
    Writes the latent to `adata_hvg.obsm[key_added or f'X_{model}']`.
    `epoch_callback(row)` is called after every epoch with that epoch's history row.
    `restart_stale` discards a finished checkpoint or one of other settings or data instead of
    resuming from it or refusing it (what a workflow re-running the job needs).
    `budget` scales the automatic epoch limit (max_epochs null; `auto_max_epochs`).
    """
    if model not in AUTOENCODER_MODELS:
        raise InputError(
            f"model '{model}' is not an autoencoder (choose one of {', '.join(AUTOENCODER_MODELS)};"
            " scVI runs through scvi_latent)"
        )
    params = resolve_params(model, params)
    started = time.perf_counter()
    if threads is not None:
        set_threads(threads)
    torch_device = select_device(device)
    _reset_gpu_peak(torch_device)

    x = as_csr(adata_hvg.X, "hvg AnnData X")
    counts = size_factor = None
    if LIKELIHOODS[model] != "mse":
        counts, size_factor = count_inputs(adata_hvg, model)
        if counts.shape != x.shape:
            raise InputError(
                f"hvg AnnData: layers['counts'] has shape {counts.shape}, X has {x.shape}"
            )
    if x.shape[0] < 2:
        raise InputError(f"hvg AnnData has {x.shape[0]} cells; training needs at least 2")
    data = CellData(x, torch_device, counts, size_factor)
    if params["max_epochs"] is None:
        params["max_epochs"] = auto_max_epochs(x.shape[0], budget=budget)

    torch.manual_seed(seed)
    network = build_network(model, params, x.shape[1]).to(torch_device)
    fingerprint = {
        "model": model,
        "params": {k: v for k, v in params.items() if k != "checkpoint_every"},
        "seed": seed,
        "n_cells": x.shape[0],
        "n_genes": x.shape[1],
        "data_digest": digest(x, counts),
    }
    log.info(
        "training %s on %d cells x %d genes (%d parameters)",
        model, x.shape[0], x.shape[1], sum(p.numel() for p in network.parameters()),
    )  # fmt: skip
    trainer = Trainer(
        network,
        data,
        params,
        seed=seed,
        checkpoint_dir=Path(checkpoint_dir) if checkpoint_dir else None,
        fingerprint=fingerprint,
        epoch_callback=epoch_callback,
        restart_stale=restart_stale,
        retrain_finished=restart_stale,
    ).fit()

    fitted = FittedAutoencoder(
        network,
        model,
        params,
        x.shape[1],
        genes=adata_hvg.var_names,
        normalize=adata_hvg.uns.get("normalize"),
    )
    latent = encode(network, data)
    if checkpoint_dir:
        fitted.save(checkpoint_dir)
    adata_hvg.obsm[key_added or f"X_{model}"] = latent
    seconds = time.perf_counter() - started
    log.info("%s latent %s in %.1fs on %s", model, latent.shape, seconds, torch_device)
    return TrainResult(
        latent=latent,
        history=trainer.history_frame(),
        device=str(torch_device),
        seconds=seconds,
        peak_gpu_memory_bytes=_gpu_peak(torch_device),
        model=fitted,
        best_epoch=trainer.best_epoch,
        stopped_early=trainer.stopped_early,
        resumed_from_epoch=trainer.resumed_from[0] if trainer.resumed_from else None,
    )
