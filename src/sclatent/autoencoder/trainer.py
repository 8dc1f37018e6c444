"""The one training loop of every network: AdamW, early stopping, checkpoints and resume.

The autoencoders train in one phase until early stopping or max_epochs. Other schedules are
a list of `Phase`s: each starts a fresh optimiser and may change the loss, constrain weights
after each step or encode every cell after its last epochs (scCAN's warm-up, training and
snapshot epochs, sclatent.sccan.latent). Every network gets the same per-epoch log line, NaN
guard, device handling, checkpoints and resume.

Everything a run needs to continue exactly where it stopped is one checkpoint file (model,
optimizer, early-stopping state, RNG states, epoch, position inside the epoch, history,
snapshots), written atomically every few epochs, when training ends, when an exception leaves the loop
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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from sclatent.errors import InputError

from .data import Batch, CellData, encode, even_batches

log = logging.getLogger("sclatent.autoencoder")

CHECKPOINT_NAME = "checkpoint.pt"
HISTORY_COLUMNS = ("epoch", "train_loss", "val_loss", "seconds", "lr")
_EVAL_BATCH = 4096


class TrainingInterrupted(SystemExit):
    """Training stopped by a signal after saving a checkpoint; exits with 128 + signal number."""


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite."""


@dataclass(frozen=True)
class Phase:
    """Consecutive epochs with one loss; every phase starts with a fresh optimiser.

    loss(out, batch): None is the network's own `loss`. after_step(network): run after every
    optimiser step (a weight constraint). snapshots: the phase's last that many epochs each
    end with `network.encode` of every cell of the trainer's `snapshot_data`, kept in order
    in `Trainer.snapshots` and in the checkpoint. name: shown in the per-epoch log line.
    """

    epochs: int
    name: str = ""
    loss: Callable[[Any, Batch], torch.Tensor] | None = None
    after_step: Callable[[torch.nn.Module], None] | None = None
    snapshots: int = 0


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


def _adamw(params: dict) -> Callable[[Iterable[torch.nn.Parameter]], torch.optim.Optimizer]:
    return lambda weights: torch.optim.AdamW(
        weights, lr=params["lr"], weight_decay=params["weight_decay"]
    )


class Trainer:
    """Fits a network (`forward`, `loss(out, target, log_size_factor)`, `encode`) to `CellData`.

    params: the training settings of `params.py` (lr, weight_decay, batch_size, max_epochs,
    val_fraction, patience, min_delta, checkpoint_every, amp, optional corruption).
    phases: the schedule (default: one phase of max_epochs); optimizer: builds each phase's
    optimiser from the weights (default AdamW with lr and weight_decay); batch_sizes: the
    minibatch sizes of an epoch from the number of training cells (default: even_batches of
    batch_size); restore_best: end on the weights of the best epoch rather than the last.
    restart_stale: discard a checkpoint of other settings or data instead of refusing it;
    retrain_finished: discard a finished checkpoint instead of reusing it.
    """

    def __init__(
        self,
        network: torch.nn.Module,
        data: CellData,
        params: dict,
        *,
        seed: int,
        checkpoint_dir: Path | None = None,
        fingerprint: dict | None = None,
        epoch_callback: Callable[[dict], None] | None = None,
        restart_stale: bool = False,
        retrain_finished: bool = False,
        phases: Sequence[Phase] | None = None,
        optimizer: Callable[[Iterable[torch.nn.Parameter]], torch.optim.Optimizer] | None = None,
        batch_sizes: Callable[[int], list[int]] | None = None,
        restore_best: bool = True,
        snapshot_data: CellData | None = None,
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
        self.retrain_finished = retrain_finished
        phases = phases if phases is not None else [Phase(params["max_epochs"])]
        self.phases = [phase for phase in phases if phase.epochs > 0]
        self.max_epochs = sum(phase.epochs for phase in self.phases)
        self.restore_best = restore_best
        self.snapshot_data = snapshot_data
        self.snapshots: list[np.ndarray] = []
        self.new_optimizer = optimizer or _adamw(params)
        self.optimizer = self.new_optimizer(network.parameters())
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
        batch_sizes = batch_sizes or (lambda n: even_batches(n, params["batch_size"]))
        self.batch_sizes = batch_sizes(len(self.train_cells))
        self.n_batches = len(self.batch_sizes)

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
            "snapshots": [torch.from_numpy(snapshot) for snapshot in self.snapshots],
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
        self.snapshots = [snapshot.numpy() for snapshot in state.get("snapshots", [])]
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
        finished = self.retrain_finished and state.get("finished")
        if finished or (self.restart_stale and state.get("fingerprint") != self.fingerprint):
            reason = "finished" if finished else "of other settings or data"
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

    def _phase(self) -> tuple[int, int, Phase]:
        """Index, first epoch and settings of the phase the next epoch belongs to."""
        start = 0
        for index, phase in enumerate(self.phases):
            if self.epoch < start + phase.epochs:
                return index, start, phase
            start += phase.epochs
        return len(self.phases) - 1, start - self.phases[-1].epochs, self.phases[-1]

    def _loss(self, phase: Phase, out, batch: Batch) -> torch.Tensor:
        if phase.loss is not None:
            return phase.loss(out, batch)
        return self.network.loss(out, batch.target, batch.log_size_factor)

    def _train_step(self, phase: Phase, rows) -> torch.Tensor:
        batch = self.data.batch(rows)
        x = batch.x
        if "corruption" in self.params:
            x = corrupt(x, self.params, self.noise_generator)
        with self._autocast():
            out = self.network(x)
        loss = self._loss(phase, out, batch)
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            loss.backward()
            self.optimizer.step()
        if phase.after_step is not None:
            with torch.no_grad():
                phase.after_step(self.network)
        return loss.detach()

    @torch.no_grad()
    def mean_loss(self, cells: torch.Tensor) -> float:
        """Loss of `cells` in eval mode on clean input (no dropout, no corruption)."""
        self.network.eval()
        phase = self._phase()[2]
        total = torch.zeros((), device=self.device)
        for rows in self.data.split(cells, even_batches(len(cells), _EVAL_BATCH)):
            batch = self.data.batch(rows)
            with self._autocast():
                out = self.network(batch.x)
            total += self._loss(phase, out, batch) * len(rows)
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
        else:
            self.bad_epochs += 1
        if self.restore_best and self.best_epoch == self.epoch:
            self.best_state = _clone_state(self.network)
        patience = self.params["patience"]
        self.stopped_early = patience > 0 and self.bad_epochs >= patience
        self.finished = self.stopped_early or self.epoch >= self.max_epochs

    def _run_epoch(self, stop: _StopSignals) -> None:
        index, start, phase = self._phase()
        if index > 0 and self.epoch == start and self.step == 0:
            self.optimizer = self.new_optimizer(self.network.parameters())
        # resumed inside an epoch, the generator holds that epoch's start state (see _state),
        # so the same permutation is drawn again
        self.epoch_shuffle_state = self.shuffle_generator.get_state()
        order = torch.randperm(len(self.train_cells), generator=self.shuffle_generator)
        batches = self.data.split(self.train_cells[order], self.batch_sizes)
        started = time.perf_counter() - self.epoch_seconds
        self.network.train()
        for step in range(self.step, self.n_batches):
            self._between_steps = False
            loss = self._train_step(phase, batches[step])
            self.loss_sum += loss * len(batches[step])
            self.step = step + 1
            self._between_steps = True
            if stop.received is not None:
                self.epoch_seconds = time.perf_counter() - started
                raise TrainingInterrupted(128 + stop.received)
        train_loss = self.loss_sum.item() / max(sum(self.batch_sizes), 1)
        val_loss = self.mean_loss(self.val_cells) if len(self.val_cells) else math.nan
        self._between_steps = False
        if self.epoch - start >= phase.epochs - phase.snapshots:
            self.snapshots.append(encode(self.network, self.snapshot_data))
        seconds = time.perf_counter() - started
        self._end_epoch(train_loss, val_loss, seconds)
        self._between_steps = True
        log.info(
            "epoch %d/%d%s train_loss %.5f val_loss %.5f %.2fs %s",
            self.epoch, self.max_epochs, f" ({phase.name})" if phase.name else "",
            train_loss, val_loss, seconds, self.device.type,
        )  # fmt: skip
        if self.stopped_early:
            log.info("early stopping: no improvement for %d epochs", self.bad_epochs)
        if not math.isfinite(train_loss):
            raise TrainingDiverged(
                f"training loss is {train_loss} at epoch {self.epoch}: lower 'lr' or check the input"
            )

    def fit(self) -> Trainer:
        """Train through the phases or until early stopping (resuming if a checkpoint exists)."""
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
