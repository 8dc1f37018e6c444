"""scVI (scvi-tools) latent of the HVG counts: the established reference for the autoencoders.

Runs `scvi.model.SCVI` on `layers['counts']` with the settings of `default_params('scvi')`,
seeded through `scvi.settings.seed`, on the device `select_device` picks.

Inside a SLURM job Lightning detects SLURM (from SLURM_NTASKS) and acts as the job manager: it
installs SIGUSR1/SIGTERM handlers that run `scontrol requeue` on the job, and refuses to start
when --ntasks > 1 lacks --ntasks-per-node. Under Snakemake, resubmission is the workflow's
business, so the trainer gets a plain `LightningEnvironment` plugin, and SLURM_NTASKS is hidden
from Lightning while training (scvi-tools also builds a device connector of its own, outside
the plugin's reach). Progress bars are off; one log line per epoch.

The trained model is kept with scvi-tools' own `save` (a directory that
`scvi.model.SCVI.load(dir, adata=...)` opens, for normalised expression, differential
expression or new cells); `load_scvi` wraps such a directory with the `encode(adata)` of the
autoencoders, matching genes by name.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.plugins.environments import LightningEnvironment

from sclatent.errors import InputError
from sclatent.runtime import set_threads

from .api import TrainResult, _gpu_peak, _reset_gpu_peak
from .device import select_device
from .model import MIN_SHARED_GENES, align_genes, as_csr
from .params import auto_max_epochs, resolve_params
from .trainer import HISTORY_COLUMNS

log = logging.getLogger("sclatent.autoencoder")

_ACCELERATORS = {"cuda": "gpu", "mps": "mps", "cpu": "cpu"}
SCVI_WEIGHTS = "model.pt"  # the file scvi-tools' save writes (no prefix)


def _metric(metrics: dict, key: str) -> float:
    value = metrics.get(key)
    return float(value) if value is not None else float("nan")


class _EpochLog(Callback):
    """One log line and one history row per epoch (after validation has run)."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.rows: list[dict] = []
        self._started = time.perf_counter()

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._started = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        metrics = trainer.callback_metrics
        row = {
            "epoch": trainer.current_epoch + 1,
            "train_loss": _metric(metrics, "elbo_train"),
            "val_loss": _metric(metrics, "elbo_validation"),
            "seconds": time.perf_counter() - self._started,
            "lr": float(trainer.optimizers[0].param_groups[0]["lr"]),
        }
        self.rows.append(row)
        log.info(
            "epoch %d/%d elbo_train %.3f elbo_validation %.3f %.2fs %s",
            row["epoch"], trainer.max_epochs, row["train_loss"], row["val_loss"], row["seconds"],
            self.device,
        )  # fmt: skip


@contextlib.contextmanager
def _slurm_hidden_from_lightning() -> Iterator[None]:
    """Without SLURM_NTASKS, Lightning's SLURMEnvironment.detect() is False (restored after)."""
    saved = os.environ.pop("SLURM_NTASKS", None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ["SLURM_NTASKS"] = saved


def scvi_latent(
    adata_hvg,
    params: Mapping[str, Any] | None = None,
    *,
    seed: int,
    device: str = "auto",
    threads: int | None = None,
    key_added: str = "X_scvi",
    save_dir: str | None = None,
    budget: float = 1.0,
) -> TrainResult:
    """Train scVI on `layers['counts']` of hvg.h5ad and return its latent (posterior means).

    History columns are those of `train_latent`, with the per-cell negative ELBO as losses.
    Writes the latent to `adata_hvg.obsm[key_added]`; `save_dir` keeps the scvi-tools model
    (`scvi.model.SCVI.load(save_dir, adata=...)` or `load_scvi(save_dir)` reopen it).
    `budget` scales the automatic epoch limit (max_epochs null; `auto_max_epochs`).
    """
    import scvi

    params = resolve_params("scvi", params)
    if "counts" not in adata_hvg.layers:
        raise InputError("hvg AnnData: layers['counts'] is missing (scVI models raw counts)")
    started = time.perf_counter()
    if threads is not None:
        set_threads(threads)
    torch_device = select_device(device)
    _reset_gpu_peak(torch_device)
    scvi.settings.seed = seed
    scvi.settings.verbosity = logging.WARNING

    counts = as_csr(adata_hvg.layers["counts"], "hvg AnnData layers['counts']")
    adata = _counts_anndata(counts, adata_hvg.obs_names, adata_hvg.var_names)
    scvi.model.SCVI.setup_anndata(adata)
    model = scvi.model.SCVI(
        adata,
        n_latent=params["n_latent"],
        n_hidden=params["n_hidden"],
        n_layers=params["n_layers"],
        dropout_rate=params["dropout_rate"],
        gene_likelihood=params["gene_likelihood"],
    )
    max_epochs = params["max_epochs"] or auto_max_epochs(adata.n_obs, budget=budget)
    warmup = params["kl_warmup_epochs"]
    warmup = max(1, max_epochs // 4) if warmup is None else warmup
    epoch_log = _EpochLog(torch_device.type)
    log.info(
        "training scvi on %d cells x %d genes, at most %d epochs",
        adata.n_obs,
        adata.n_vars,
        max_epochs,
    )
    with (
        tempfile.TemporaryDirectory(prefix="sclatent-scvi-") as scratch,
        _slurm_hidden_from_lightning(),
    ):
        model.train(
            max_epochs=max_epochs,
            accelerator=_ACCELERATORS[torch_device.type],
            devices=[torch_device.index or 0] if torch_device.type == "cuda" else 1,
            train_size=1 - params["val_fraction"],
            batch_size=params["batch_size"],
            early_stopping=params["early_stopping"],
            early_stopping_patience=params["patience"],
            early_stopping_min_delta=params["min_delta"],
            plan_kwargs={
                "lr": params["lr"],
                "weight_decay": params["weight_decay"],
                "n_epochs_kl_warmup": warmup,
            },
            plugins=[LightningEnvironment()],
            callbacks=[epoch_log],
            enable_progress_bar=False,
            enable_checkpointing=False,
            default_root_dir=scratch,
        )
    latent = np.asarray(model.get_latent_representation(), dtype=np.float32)
    if save_dir:
        model.save(save_dir, overwrite=True, save_anndata=False)
    adata_hvg.obsm[key_added] = latent
    history = pd.DataFrame(epoch_log.rows, columns=list(HISTORY_COLUMNS))
    val = history["val_loss"].to_numpy(dtype=float)
    best_epoch = (
        int(history["epoch"].iloc[np.nanargmin(val)]) if np.isfinite(val).any() else len(history)
    )
    seconds = time.perf_counter() - started
    log.info("scvi latent %s in %.1fs on %s", latent.shape, seconds, torch_device)
    return TrainResult(
        latent=latent,
        history=history,
        device=str(torch_device),
        seconds=seconds,
        peak_gpu_memory_bytes=_gpu_peak(torch_device),
        model=model,
        best_epoch=best_epoch,
        stopped_early=len(history) < max_epochs,
        resumed_from_epoch=None,
    )


def _counts_anndata(counts, obs_names, var_names):
    """A bare AnnData over the counts: scvi-tools annotates it, not the caller's object."""
    import anndata as ad

    return ad.AnnData(
        X=counts,
        obs=pd.DataFrame(index=pd.Index(obs_names, dtype=str).copy()),
        var=pd.DataFrame(index=pd.Index(var_names, dtype=str).copy()),
    )


def scvi_directory(path: str | Path) -> Path | None:
    """The scvi-tools save directory at `path` or at its `model/` (how train_scvi keeps it)."""
    path = Path(path)
    for candidate in (path, path / "model"):
        if (candidate / SCVI_WEIGHTS).is_file() and not (candidate / "model.json").exists():
            return candidate
    return None


class FittedScvi:
    """A saved scVI model with the `encode(adata)` of `FittedAutoencoder`.

    `model` is the `scvi.model.SCVI` (loaded without data); scvi-tools' own methods take the
    cells as `adata=self.align(adata)`.
    """

    def __init__(self, directory: str | Path, device: str = "cpu") -> None:
        import scvi
        from scvi.model.base._save_load import _load_saved_files

        found = scvi_directory(directory)
        if found is None:
            raise InputError(f"{directory}: no saved scVI model here (no {SCVI_WEIGHTS})")
        self.directory = found
        torch_device = select_device(device)
        scvi.settings.verbosity = logging.WARNING
        try:
            # the genes, read by scvi-tools' own loader (the one SCVI.load uses below)
            _, var_names, _, _ = _load_saved_files(str(found), False, map_location="cpu")
            self.genes = [str(g) for g in var_names]
            self.model = scvi.model.SCVI.load(
                str(found),
                adata=False,
                accelerator=_ACCELERATORS[torch_device.type],
                # a list, as in training: Lightning reads devices=0 as "no GPU"
                device=[torch_device.index or 0] if torch_device.type == "cuda" else "auto",
            )
        except (OSError, KeyError, ValueError, RuntimeError) as error:
            raise InputError(f"{found}: cannot load the scVI model: {error}") from error
        self.n_genes = len(self.genes)
        self.normalize: dict = {}  # scVI reads raw counts

    def align(self, adata, *, min_shared: float = MIN_SHARED_GENES, where: str = "AnnData"):
        """A bare AnnData of the cells' raw counts (layers['counts']) on the model's genes."""
        if "counts" not in adata.layers:
            raise InputError(
                f"{where}: layers['counts'] is missing (scVI reads raw counts; "
                "sclatent.mapping.prepare_query makes them from a counts file)"
            )
        counts = align_genes(
            adata.layers["counts"],
            adata.var_names,
            self.genes,
            where=f"{where} layers['counts']",
            min_shared=min_shared,
        )
        return _counts_anndata(counts, adata.obs_names, self.genes)

    def encode(self, adata, *, min_shared: float = MIN_SHARED_GENES) -> np.ndarray:
        """Latent coordinates (posterior means) of the cells of `adata` from their counts."""
        query = self.align(adata, min_shared=min_shared)
        return np.asarray(self.model.get_latent_representation(adata=query), dtype=np.float32)


def load_scvi(directory: str | Path, device: str = "cpu") -> FittedScvi:
    """The scVI model saved in `directory` (or `directory/model`) by `scvi_latent`."""
    return FittedScvi(directory, device)


__all__ = ["FittedScvi", "load_scvi", "scvi_directory", "scvi_latent"]
