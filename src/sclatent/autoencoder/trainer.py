"""Minibatch training of an `Autoencoder`: AdamW, early stopping, checkpoints and resume.

Everything a run needs to continue exactly where it stopped is one checkpoint file (model,
optimizer, early-stopping state, RNG states, epoch, position inside the epoch, history),
written atomically every few epochs, when training ends, when an exception leaves the loop
between two steps and when SIGTERM arrives (SLURM preemption or time limit). A rerun with the
same checkpoint directory resumes from it; on CPU it ends bitwise identical to a run that was
never interrupted. Checkpoints hold only tensors and plain Python values, so they load with
`torch.load(..., weights_only=True)`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from sclatent.errors import InputError

from .data import CellData
from .networks import Autoencoder

log = logging.getLogger("sclatent.autoencoder")

CHECKPOINT_NAME = "checkpoint.pt"
HISTORY_COLUMNS = ("epoch", "train_loss", "val_loss", "seconds", "lr")
_EVAL_BATCH = 4096


class TrainingInterrupted(SystemExit):
    """Training stopped by a signal after saving a checkpoint; exits with 128 + signal number."""


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite."""


def corrupt(x: torch.Tensor, params: dict, generator: torch.Generator) -> torch.Tensor:
    """Denoising-AE input noise: zero a fraction of entries ('mask') and/or add Gaussian noise."""
    kind = params["corruption"]
    if "mask" in kind and params["corruption_rate"] > 0:
        keep = (
            torch.rand(x.shape, generator=generator, device=x.device) >= params["corruption_rate"]
        )
        x = x * keep
    if "gaussian" in kind and params["noise_std"] > 0:
        x = x + params["noise_std"] * torch.randn(x.shape, generator=generator, device=x.device)
    return x


def save_atomic(obj: Any, path: Path) -> None:
    """torch.save to a temporary file in the same folder, then rename over `path`."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        torch.save(obj, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class _StopSignals:
    """Turn SIGTERM into a flag the training loop checks between steps (main thread only)."""

    def __init__(self, signals: tuple[int, ...] = (signal.SIGTERM,)) -> None:
        self.signals = signals
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum, _frame) -> None:
        self.received = signum

    def __enter__(self) -> _StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in self.signals:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *_exc) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def _clone_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {key: value.detach().clone() for key, value in module.state_dict().items()}


class Trainer:
    """Fits an `Autoencoder` to `CellData` with the settings of `params` (see `params.py`)."""

    def __init__(
        self,
        network: Autoencoder,
        data: CellData,
        params: dict,
        *,
        seed: int,
        checkpoint_dir: Path | None = None,
        fingerprint: dict | None = None,
        epoch_callback: Callable[[dict], None] | None = None,
        restart_stale: bool = False,
    ) -> None:
        self.network = network
        self.data = data
        self.params = params
        self.device = data.device
        self.checkpoint_path = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir else None
        self.fingerprint = fingerprint or {}
        self.epoch_callback = epoch_callback
        # a workflow re-running a job wants a fresh model unless an interrupted run of the
        # very same settings and data can be continued
        self.restart_stale = restart_stale
        self.optimizer = torch.optim.AdamW(
            network.parameters(), lr=params["lr"], weight_decay=params["weight_decay"]
        )
        self.amp_dtype = None
        if self.device.type == "cuda" and params["amp"] != "none":
            self.amp_dtype = torch.bfloat16 if params["amp"] == "bf16" else torch.float16
        elif params["amp"] != "none":
            log.info("amp=%s ignored: mixed precision is used on CUDA only", params["amp"])
        self.scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None

        # one CPU generator draws the validation split and then each epoch's permutation, so
        # the cell order is the same on every device; input noise has its own device stream
        self.shuffle_generator = torch.Generator().manual_seed(seed)
        self.noise_generator = torch.Generator(device=self.device).manual_seed(seed + 1)
        order = torch.randperm(data.n_cells, generator=self.shuffle_generator)
        n_val = int(round(params["val_fraction"] * data.n_cells))
        if n_val >= data.n_cells:
            n_val = 0
        self.val_cells, self.train_cells = order[:n_val].sort().values, order[n_val:]
        self.n_batches = max(1, math.ceil(len(self.train_cells) / params["batch_size"]))

        self.epoch = 0  # completed epochs
        self.step = 0  # completed steps of the current epoch
        self.epoch_shuffle_state = self.shuffle_generator.get_state()
        self.loss_sum = torch.zeros((), device=self.device)
        self.epoch_seconds = 0.0
        self.best_loss = math.inf
        self.best_epoch = 0
        self.bad_epochs = 0
        self.best_state: dict[str, torch.Tensor] | None = None
        self.finished = False
        self.stopped_early = False
        self.resumed_from: tuple[int, int] | None = None
        self._between_steps = True  # False while a step or the epoch bookkeeping is half done
        self.history: dict[str, list] = {column: [] for column in HISTORY_COLUMNS}

    # ----------------------------------------------------------------- checkpoint state
    def _state(self) -> dict:
        in_epoch = self.step > 0
        return {
            "format": 1,
            "fingerprint": self.fingerprint,
            "epoch": self.epoch,
            "step": self.step,
            "finished": self.finished,
            "stopped_early": self.stopped_early,
            "network": self.network.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler else None,
            "best": {
                "loss": self.best_loss,
                "epoch": self.best_epoch,
                "bad_epochs": self.bad_epochs,
                "state": self.best_state,
            },
            "loss_sum": self.loss_sum.detach().cpu(),
            "epoch_seconds": self.epoch_seconds,
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state(self.device)
                if self.device.type == "cuda"
                else None,
                "shuffle": self.epoch_shuffle_state
                if in_epoch
                else self.shuffle_generator.get_state(),
                "noise": self.noise_generator.get_state(),
            },
            "history": self.history,
        }

    def _load_state(self, state: dict) -> None:
        if state.get("fingerprint") != self.fingerprint:
            saved, now = state.get("fingerprint", {}), self.fingerprint
            differing = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
            raise InputError(
                f"{self.checkpoint_path}: checkpoint of a different run ({', '.join(differing)} "
                "differ); remove the checkpoint folder to start over"
            )
        self.network.load_state_dict(state["network"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scaler and state["scaler"]:
            self.scaler.load_state_dict(state["scaler"])
        self.epoch, self.step = state["epoch"], state["step"]
        self.finished, self.stopped_early = state["finished"], state["stopped_early"]
        best = state["best"]
        self.best_loss, self.best_epoch = best["loss"], best["epoch"]
        self.bad_epochs, self.best_state = best["bad_epochs"], best["state"]
        self.loss_sum = state["loss_sum"].to(self.device)
        self.epoch_seconds = state["epoch_seconds"]
        rng = state["rng"]
        torch.set_rng_state(rng["torch"])
        if rng["cuda"] is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state(rng["cuda"], self.device)
        self.shuffle_generator.set_state(rng["shuffle"])
        self.epoch_shuffle_state = rng["shuffle"]
        self.noise_generator.set_state(rng["noise"])
        self.history = {column: list(state["history"][column]) for column in HISTORY_COLUMNS}
        self.resumed_from = (self.epoch, self.step)

    def save_checkpoint(self) -> None:
        if self.checkpoint_path is not None:
            self.checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
            save_atomic(self._state(), self.checkpoint_path)

    def _resume(self) -> None:
        if self.checkpoint_path is None or not self.checkpoint_path.exists():
            return
        # on the CPU: RNG states must stay there; weights and optimizer state are copied
        # onto the device by load_state_dict
        state = torch.load(self.checkpoint_path, map_location="cpu", weights_only=True)
        if self.restart_stale and (
            state.get("finished") or state.get("fingerprint") != self.fingerprint
        ):
            reason = "finished" if state.get("finished") else "of other settings or data"
            log.info("starting over: the checkpoint %s is %s", self.checkpoint_path, reason)
            self.checkpoint_path.unlink()
            return
        self._load_state(state)
        where = f"epoch {self.epoch}" + (f", step {self.step}" if self.step else "")
        done = " (training had already finished)" if self.finished else ""
        log.info("resuming from %s at %s%s", self.checkpoint_path, where, done)

    # ----------------------------------------------------------------- training
    def _autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda", dtype=self.amp_dtype)

    def _train_step(self, rows) -> torch.Tensor:
        batch = self.data.batch(rows)
        x = batch.x
        if "corruption" in self.params:
            x = corrupt(x, self.params, self.noise_generator)
        with self._autocast():
            out = self.network(x)
        loss = self.network.loss(out, batch.target, batch.log_size_factor)
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            loss.backward()
            self.optimizer.step()
        return loss.detach()

    @torch.no_grad()
    def mean_loss(self, cells: torch.Tensor) -> float:
        """Loss of `cells` in eval mode on clean input (no dropout, no corruption)."""
        self.network.eval()
        total = torch.zeros((), device=self.device)
        n_batches = max(1, math.ceil(len(cells) / _EVAL_BATCH))
        for rows in self.data.split(cells, n_batches):
            batch = self.data.batch(rows)
            with self._autocast():
                out = self.network(batch.x)
            total += self.network.loss(out, batch.target, batch.log_size_factor) * len(rows)
        return total.item() / len(cells)

    def _end_epoch(self, train_loss: float, val_loss: float, seconds: float) -> None:
        """Record the epoch, update early stopping; no exception may leave this half done."""
        self.epoch += 1
        self.step = 0
        self.loss_sum = torch.zeros((), device=self.device)
        self.epoch_seconds = 0.0
        lr = self.optimizer.param_groups[0]["lr"]
        for column, value in zip(
            HISTORY_COLUMNS, (self.epoch, train_loss, val_loss, seconds, lr), strict=True
        ):
            self.history[column].append(value)
        monitored = val_loss if len(self.val_cells) else train_loss
        if monitored < self.best_loss - self.params["min_delta"]:
            self.best_loss, self.best_epoch, self.bad_epochs = monitored, self.epoch, 0
            self.best_state = _clone_state(self.network)
        else:
            self.bad_epochs += 1
        patience = self.params["patience"]
        self.stopped_early = patience > 0 and self.bad_epochs >= patience
        self.finished = self.stopped_early or self.epoch >= self.params["max_epochs"]

    def _run_epoch(self, stop: _StopSignals) -> None:
        # resumed inside an epoch, the generator holds that epoch's start state (see _state),
        # so the same permutation is drawn again
        self.epoch_shuffle_state = self.shuffle_generator.get_state()
        order = torch.randperm(len(self.train_cells), generator=self.shuffle_generator)
        batches = self.data.split(self.train_cells[order], self.n_batches)
        started = time.perf_counter() - self.epoch_seconds
        self.network.train()
        for index in range(self.step, self.n_batches):
            self._between_steps = False
            loss = self._train_step(batches[index])
            self.loss_sum += loss * len(batches[index])
            self.step = index + 1
            self._between_steps = True
            if stop.received is not None:
                self.epoch_seconds = time.perf_counter() - started
                raise TrainingInterrupted(128 + stop.received)
        train_loss = self.loss_sum.item() / len(self.train_cells)
        val_loss = self.mean_loss(self.val_cells) if len(self.val_cells) else math.nan
        seconds = time.perf_counter() - started
        self._between_steps = False
        self._end_epoch(train_loss, val_loss, seconds)
        self._between_steps = True
        log.info(
            "epoch %d/%d train_loss %.5f val_loss %.5f %.2fs %s",
            self.epoch, self.params["max_epochs"], train_loss, val_loss, seconds, self.device.type,
        )  # fmt: skip
        if self.stopped_early:
            log.info("early stopping: no improvement for %d epochs", self.bad_epochs)
        if not math.isfinite(train_loss):
            raise TrainingDiverged(
                f"training loss is {train_loss} at epoch {self.epoch}: lower 'lr' or check the input"
            )

    def fit(self) -> Trainer:
        """Train until early stopping or max_epochs (resuming if a checkpoint exists); keep the best weights."""
        self._resume()
        with _StopSignals() as stop:
            try:
                while not self.finished:
                    self._run_epoch(stop)
                    if self.epoch_callback is not None:
                        self.epoch_callback(self.history_row(-1))
                    if not self.finished and self.epoch % self.params["checkpoint_every"] == 0:
                        self.save_checkpoint()
                    if stop.received is not None and not self.finished:
                        raise TrainingInterrupted(128 + stop.received)
            except TrainingDiverged:
                raise
            except BaseException as exc:
                if self._between_steps:
                    self.save_checkpoint()
                if isinstance(exc, TrainingInterrupted):
                    saved = f"checkpoint saved to {self.checkpoint_path}; rerun to resume"
                    if self.checkpoint_path is None:
                        saved = "no checkpoint_dir, progress is lost"
                    log.warning(
                        "stopped by signal %d at epoch %d step %d: %s",
                        exc.code - 128, self.epoch, self.step, saved,
                    )  # fmt: skip
                raise
            if self.best_state is not None:
                self.network.load_state_dict(self.best_state)
                log.info(
                    "restored the best weights (epoch %d, loss %.5f)",
                    self.best_epoch,
                    self.best_loss,
                )
            self.save_checkpoint()
        self.network.eval()
        return self

    def history_row(self, index: int) -> dict:
        return {column: self.history[column][index] for column in HISTORY_COLUMNS}

    def history_frame(self) -> pd.DataFrame:
        """Per-epoch table: epoch, train_loss, val_loss, seconds, lr (for history.tsv)."""
        return pd.DataFrame(self.history, columns=list(HISTORY_COLUMNS))
