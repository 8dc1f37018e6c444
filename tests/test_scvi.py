"""The scVI reference latent: shape, reproducibility, and running inside a SLURM job."""

import os

import numpy as np
import pytest

pytest.importorskip("scvi")

from sclatent.autoencoder import scvi_latent  # noqa: E402
from sclatent.errors import InputError  # noqa: E402

from .simulated import simulated_hvg  # noqa: E402

TINY = {"n_latent": 4, "n_hidden": 32, "max_epochs": 3, "batch_size": 64}


@pytest.fixture(scope="module")
def adata():
    return simulated_hvg(300, 80, seed=0, n_types=3)


@pytest.fixture(scope="module")
def first_run(adata):
    return scvi_latent(adata.copy(), TINY, seed=0, threads=1)


def test_latent_shape_history_and_obsm(adata, first_run):
    assert first_run.latent.shape == (300, 4) and first_run.latent.dtype == np.float32
    assert np.isfinite(first_run.latent).all()
    history = first_run.history
    assert list(history.columns) == ["epoch", "train_loss", "val_loss", "seconds", "lr"]
    assert history["epoch"].tolist() == [1, 2, 3]
    assert history["val_loss"].notna().all()
    assert first_run.device == "cpu"
    copy = adata.copy()
    result = scvi_latent(copy, {**TINY, "max_epochs": 1}, seed=0, threads=1)
    np.testing.assert_array_equal(copy.obsm["X_scvi"], result.latent)
    assert "_scvi_uuid" not in copy.uns  # scvi-tools annotated its own AnnData, not ours


def test_same_seed_reproduces_the_latent(adata, first_run):
    # on CPU with the same thread count scvi-tools is bitwise reproducible for a seed
    again = scvi_latent(adata.copy(), TINY, seed=0, threads=1)
    np.testing.assert_array_equal(again.latent, first_run.latent)
    other = scvi_latent(adata.copy(), TINY, seed=1, threads=1)
    assert not np.allclose(other.latent, first_run.latent)


@pytest.mark.parametrize("ntasks", ["1", "2"])
def test_runs_inside_a_slurm_job(adata, monkeypatch, ntasks):
    """Lightning must not act as the SLURM job manager: with SLURM detected it installs a
    SIGUSR1 handler that runs `scontrol requeue` (and with --ntasks=2 refuses to start)."""
    import signal

    for key, value in {
        "SLURM_JOB_ID": "4242",
        "SLURM_JOB_NAME": "sclatent_scvi",
        "SLURM_NTASKS": ntasks,
        "SLURM_NNODES": "1",
        "SLURM_NODELIST": "node1",
        "SLURM_PROCID": "0",
        "SLURM_LOCALID": "0",
        "SLURM_NODEID": "0",
    }.items():
        monkeypatch.setenv(key, value)
    usr1_handlers = []
    original_usr1 = signal.getsignal(signal.SIGUSR1)
    real_signal = signal.signal

    def recording_signal(signum, handler):
        if signum == signal.SIGUSR1:
            usr1_handlers.append(handler)
        return real_signal(signum, handler)

    monkeypatch.setattr(signal, "signal", recording_signal)
    result = scvi_latent(adata.copy(), {**TINY, "max_epochs": 1}, seed=0, threads=1)
    assert result.latent.shape == (300, 4)
    assert all(handler == original_usr1 for handler in usr1_handlers)  # at most restored
    assert os.environ["SLURM_NTASKS"] == ntasks  # the job's environment is left as it was


def test_bad_input(adata):
    with pytest.raises(InputError, match="unknown key 'n_epochs'"):
        scvi_latent(adata, {"n_epochs": 3}, seed=0)
    without_counts = adata.copy()
    del without_counts.layers["counts"]
    with pytest.raises(InputError, match=r"layers\['counts'\]"):
        scvi_latent(without_counts, TINY, seed=0)


def test_saved_model_reopens_in_scvi_tools_and_in_sclatent(adata, tmp_path):
    """The directory `save_dir` keeps is scvi-tools' own: SCVI.load(dir, adata=...) opens it;
    sclatent.load_model gives the same latent, genes matched by name."""
    import anndata as ad
    import scvi

    import sclatent
    from sclatent.autoencoder import FittedScvi

    result = scvi_latent(adata.copy(), TINY, seed=0, threads=1, save_dir=tmp_path / "scvi/model")
    counts = ad.AnnData(X=adata.layers["counts"].copy(), obs=adata.obs[[]], var=adata.var[[]])
    reopened = scvi.model.SCVI.load(str(tmp_path / "scvi/model"), adata=counts)
    np.testing.assert_allclose(reopened.get_latent_representation(), result.latent, atol=1e-5)
    assert reopened.get_normalized_expression().shape == adata.shape

    for path in (tmp_path / "scvi", tmp_path / "scvi/model"):
        model = sclatent.load_model(path)
        assert isinstance(model, FittedScvi) and model.genes == list(adata.var_names)
        np.testing.assert_allclose(model.encode(adata), result.latent, atol=1e-5)
    shuffled = adata[:, adata.var_names[::-1]].copy()
    np.testing.assert_allclose(model.encode(shuffled), result.latent, atol=1e-5)
    without_counts = adata.copy()
    del without_counts.layers["counts"]
    with pytest.raises(InputError, match=r"layers\['counts'\] is missing \(scVI reads raw"):
        model.encode(without_counts)
