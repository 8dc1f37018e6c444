"""Training the autoencoders: shapes, learning, determinism, checkpoints and resume, devices."""

import os
import signal

import numpy as np
import pandas as pd
import pytest
import torch

import sclatent.autoencoder.trainer as trainer_module
from sclatent.autoencoder import (
    AUTOENCODER_MODELS,
    TrainingInterrupted,
    load_autoencoder,
    plot_history,
    select_device,
    train_latent,
)
from sclatent.autoencoder.data import CellData
from sclatent.errors import InputError

from .conftest import sigterm_once_started
from .simulated import simulated_hvg

TINY = {"hidden": [32], "latent_dim": 4, "batch_size": 32, "max_epochs": 6, "patience": 0}


@pytest.fixture(scope="module")
def adata():
    return simulated_hvg(240, 60, seed=0, n_types=3)


def _train(adata, model="ae", params=None, **kwargs):
    kwargs.setdefault("seed", 0)
    kwargs.setdefault("threads", 1)
    return train_latent(adata.copy(), model, {**TINY, **(params or {})}, **kwargs)


@pytest.mark.parametrize("model", AUTOENCODER_MODELS)
def test_each_model_learns_and_returns_a_latent(adata, model):
    result = _train(adata, model, {"max_epochs": 8})
    assert result.latent.shape == (adata.n_obs, 4) and result.latent.dtype == np.float32
    assert np.isfinite(result.latent).all()
    history = result.history
    assert list(history.columns) == ["epoch", "train_loss", "val_loss", "seconds", "lr"]
    assert history["epoch"].tolist() == list(range(1, 9))
    assert history["train_loss"].iloc[-1] < 0.8 * history["train_loss"].iloc[0]
    assert history["val_loss"].iloc[-1] < history["val_loss"].iloc[0]
    assert result.device == "cpu" and result.peak_gpu_memory_bytes is None
    recon = result.model.reconstruct(adata, np.arange(5))
    assert recon.shape == (5, adata.n_vars) and (recon >= 0).all()


def test_latent_written_to_obsm(adata):
    copy = adata.copy()
    result = train_latent(copy, "ae", TINY, seed=0, threads=1, key_added="X_mine")
    np.testing.assert_array_equal(copy.obsm["X_mine"], result.latent)


def test_same_seed_identical_latent_other_seed_differs(adata):
    first, second = _train(adata), _train(adata)
    np.testing.assert_array_equal(first.latent, second.latent)
    pd.testing.assert_series_equal(first.history["train_loss"], second.history["train_loss"])
    assert not np.array_equal(first.latent, _train(adata, seed=1).latent)


def test_early_stopping_restores_best_weights(adata):
    # a learning rate this large makes the loss jump around, so stopping triggers early
    result = _train(adata, params={"max_epochs": 60, "patience": 2, "lr": 0.5, "val_fraction": 0.2})
    history = result.history
    assert result.stopped_early and len(history) < 60
    assert result.best_epoch == int(history["epoch"][history["val_loss"].idxmin()])
    assert len(history) - result.best_epoch == 2  # stopped after `patience` bad epochs
    # the returned model is the best epoch's: its validation loss is the minimum
    assert history["val_loss"].min() < history["val_loss"].iloc[-1]


def test_no_validation_monitors_training_loss(adata):
    result = _train(adata, params={"val_fraction": 0.0})
    assert result.history["val_loss"].isna().all()
    assert result.best_epoch == int(result.history["train_loss"].idxmin()) + 1


def test_weights_load_with_weights_only(adata, tmp_path):
    result = _train(adata, "nbae", checkpoint_dir=tmp_path)
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    assert set(state) == set(result.model.network.state_dict())
    torch.load(tmp_path / "checkpoint.pt", weights_only=True)  # RNG states etc. are plain too
    loaded = load_autoencoder(tmp_path)
    np.testing.assert_array_equal(loaded.encode(adata), result.latent)


def _interrupt_after_epoch(stop_epoch):
    def callback(row):
        if row["epoch"] == stop_epoch:
            raise KeyboardInterrupt

    return callback


@pytest.mark.parametrize("model", ["dae", "zinbae"])
def test_resume_after_interruption_is_bitwise_identical(adata, tmp_path, model):
    params = {"max_epochs": 7, "checkpoint_every": 2, "dropout": 0.2}
    reference = _train(adata, model, params)
    with pytest.raises(KeyboardInterrupt):
        _train(
            adata, model, params, checkpoint_dir=tmp_path, epoch_callback=_interrupt_after_epoch(3)
        )
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["epoch"] == 3
    resumed = _train(adata, model, params, checkpoint_dir=tmp_path)
    assert resumed.resumed_from_epoch == 3
    np.testing.assert_array_equal(resumed.latent, reference.latent)
    columns = ["epoch", "train_loss", "val_loss"]
    pd.testing.assert_frame_equal(resumed.history[columns], reference.history[columns])


def test_sigterm_mid_epoch_saves_checkpoint_and_resumes_bitwise(adata, tmp_path, monkeypatch):
    params = {"max_epochs": 4, "checkpoint_every": 10}
    reference = _train(adata, "dae", params)
    calls = {"n": 0}
    real_batch = CellData.batch

    def batch_then_sigterm(self, rows):
        calls["n"] += 1
        if calls["n"] == 10:  # 7 training batches per epoch: this is inside epoch 2
            os.kill(os.getpid(), signal.SIGTERM)
        return real_batch(self, rows)

    monkeypatch.setattr(CellData, "batch", batch_then_sigterm)
    with pytest.raises(TrainingInterrupted) as stopped:
        _train(adata, "dae", params, checkpoint_dir=tmp_path)
    assert stopped.value.code == 128 + signal.SIGTERM
    monkeypatch.setattr(CellData, "batch", real_batch)
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert (state["epoch"], state["step"]) == (1, 2)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # handler removed again
    resumed = _train(adata, "dae", params, checkpoint_dir=tmp_path)
    np.testing.assert_array_equal(resumed.latent, reference.latent)


def test_finished_run_is_not_retrained(adata, tmp_path):
    first = _train(adata, checkpoint_dir=tmp_path)
    again = _train(adata, checkpoint_dir=tmp_path)
    assert again.resumed_from_epoch == TINY["max_epochs"]
    np.testing.assert_array_equal(again.latent, first.latent)


def test_checkpoint_of_other_settings_is_refused(adata, tmp_path):
    _train(adata, checkpoint_dir=tmp_path)
    with pytest.raises(InputError, match="params differ"):
        _train(adata, params={"lr": 0.01}, checkpoint_dir=tmp_path)


def test_denoising_corruption_only_in_training(adata, monkeypatch):
    calls = []
    real_corrupt = trainer_module.corrupt

    def counting_corrupt(x, params, generator):
        calls.append(x.shape[0])
        return real_corrupt(x, params, generator)

    monkeypatch.setattr(trainer_module, "corrupt", counting_corrupt)
    result = _train(adata, "dae", {"max_epochs": 3})
    n_train = adata.n_obs - round(0.1 * adata.n_obs)
    assert sum(calls) == 3 * n_train  # every training cell once per epoch, nothing else
    calls.clear()
    _train(adata, "ae", {"max_epochs": 1})
    assert calls == []
    # encoding is deterministic: no noise and no dropout
    np.testing.assert_array_equal(result.model.encode(adata), result.model.encode(adata))


def test_corrupt_kinds():
    x = torch.ones(200, 50)
    gen = torch.Generator().manual_seed(0)
    masked = trainer_module.corrupt(
        x, {"corruption": "mask", "corruption_rate": 0.3, "noise_std": 1.0}, gen
    )
    assert set(masked.unique().tolist()) == {0.0, 1.0}
    assert abs((masked == 0).float().mean().item() - 0.3) < 0.02
    noisy = trainer_module.corrupt(
        x, {"corruption": "gaussian", "corruption_rate": 0.3, "noise_std": 0.5}, gen
    )
    assert (noisy != 0).all() and abs((noisy - x).std().item() - 0.5) < 0.02


def test_device_auto_is_cpu_without_gpu(monkeypatch, adata):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert select_device("auto").type == "cpu"
    assert select_device("cuda").type == "cpu"  # falls back instead of failing
    assert _train(adata, params={"max_epochs": 1, "amp": "bf16"}, device="auto").device == "cpu"
    with pytest.raises(InputError, match="device 'tpu'"):
        select_device("tpu")
    # training.on_missing_gpu: error (profiles/slurm), handed to the job by run_rule
    monkeypatch.setenv("SCLATENT_ON_MISSING_GPU", "error")
    with pytest.raises(InputError, match=r"device 'cuda' requested .*on_missing_gpu: error"):
        select_device("cuda")
    assert select_device("auto").type == "cpu"


def test_count_model_needs_counts_and_size_factor(adata):
    without_counts = adata.copy()
    del without_counts.layers["counts"]
    with pytest.raises(InputError, match=r"layers\['counts'\]"):
        _train(without_counts, "nbae")
    _train(without_counts, "ae", {"max_epochs": 1})  # the MSE models do not need them
    without_sf = adata.copy()
    del without_sf.obs["size_factor"]
    with pytest.raises(InputError, match=r"obs\['size_factor'\]"):
        _train(without_sf, "zinbae")
    with pytest.raises(InputError, match="scvi_latent"):
        train_latent(adata, "scvi", seed=0)


def test_device_rows_gather_equals_scipy_rows(adata):
    # the on-device gather (used on GPUs) exercised on the CPU against scipy's row slicing
    from sclatent.autoencoder.data import DeviceRows

    rows_source = DeviceRows(adata.X, torch.device("cpu"))
    rows = torch.tensor([5, 0, 239, 5, 17])
    expected = adata.X[rows.numpy()].toarray()
    np.testing.assert_array_equal(rows_source.dense(rows).numpy(), expected)


@pytest.mark.parametrize("model", ["dae", "zinbae"])
def test_gpu_data_path_gives_the_same_training(adata, monkeypatch, model):
    # pretend the device can hold the matrices: minibatches are then gathered by DeviceRows
    import sclatent.autoencoder.data as data_module

    host = _train(adata, model, {"max_epochs": 3})
    monkeypatch.setattr(data_module, "device_memory_budget", lambda device: 1 << 40)
    used = []
    monkeypatch.setattr(
        data_module.DeviceRows, "dense", _recording(data_module.DeviceRows.dense, used)
    )
    gathered = _train(adata, model, {"max_epochs": 3})
    assert used, "the device path was not taken"
    np.testing.assert_array_equal(gathered.latent, host.latent)


def _recording(method, calls):
    def wrapper(self, rows):
        calls.append(len(rows))
        return method(self, rows)

    return wrapper


def test_count_model_prediction_is_on_the_scale_of_x(adata):
    result = _train(adata, "nbae", {"max_epochs": 30, "lr": 0.01})
    predicted = result.model.reconstruct(adata)
    observed = adata.X.toarray()
    # per-gene means of the denoised and the observed log expression agree closely
    gene_error = np.abs(predicted.mean(axis=0) - observed.mean(axis=0))
    assert np.median(gene_error) < 0.3 * np.median(observed.mean(axis=0))


def test_plot_history(adata, tmp_path):
    result = _train(adata, params={"max_epochs": 3})
    plot_history(result.history, tmp_path / "loss.png", title="ae")
    assert (tmp_path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


_CHILD = """
import sys
import time
from pathlib import Path
import anndata as ad
from sclatent.autoencoder import train_latent

marker = Path(sys.argv[2])
def announce(row):
    if row["epoch"] == 2:
        marker.write_text("training")
    if row["epoch"] >= 2:  # slow down so that the signal lands before the run ends
        time.sleep(0.3)

adata = ad.read_h5ad(sys.argv[3])
params = {"hidden": [32], "latent_dim": 4, "batch_size": 16, "max_epochs": 12, "patience": 0}
train_latent(adata, "ae", params, seed=0, threads=1, checkpoint_dir=sys.argv[1], epoch_callback=announce)
"""


def test_sigterm_to_a_training_process(adata, tmp_path):
    """What SLURM preemption does: SIGTERM -> checkpoint, exit 143; the rerun resumes."""
    marker, data = tmp_path / "started", tmp_path / "hvg.h5ad"
    adata.write_h5ad(data)
    args = ["-c", _CHILD, str(tmp_path / "ckpt"), str(marker), str(data)]
    assert sigterm_once_started(args, marker) == 128 + signal.SIGTERM
    state = torch.load(tmp_path / "ckpt" / "checkpoint.pt", weights_only=True)
    assert 2 <= state["epoch"] < 12
    params = {"batch_size": 16, "max_epochs": 12}
    resumed = _train(adata, params=params, checkpoint_dir=tmp_path / "ckpt")
    assert resumed.resumed_from_epoch == state["epoch"]
    np.testing.assert_array_equal(resumed.latent, _train(adata, params=params).latent)
