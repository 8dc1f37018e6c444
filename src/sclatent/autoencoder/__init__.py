"""Autoencoder latent spaces (ae, dae, nbae, zinbae) and the scVI reference.

    result = train_latent(adata_hvg, "ae", params, seed=0, checkpoint_dir=path, threads=2)
    result = scvi_latent(adata_hvg, params, seed=0, threads=2)

`default_params(model)` lists every setting with its default. Names are imported lazily, so
that `sclatent.autoencoder.params` (config validation) works without torch; the first use of
a training name imports torch (scvi-tools only when `scvi_latent` is called).
"""

import importlib
import os

# must precede the first torch import: busy-waiting OpenMP threads starve other processes
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_WHERE = {
    "TrainResult": "api",
    "train_latent": "api",
    "select_device": "device",
    "nb_log_prob": "likelihoods",
    "zinb_log_prob": "likelihoods",
    "FittedAutoencoder": "model",
    "load_autoencoder": "model",
    "AUTOENCODER_MODELS": "params",
    "default_params": "params",
    "describe_params": "params",
    "resolve_params": "params",
    "plot_history": "plots",
    "TrainingDiverged": "trainer",
    "TrainingInterrupted": "trainer",
}


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def scvi_latent(adata_hvg, params=None, **kwargs):
    """scVI latent of the HVG counts; see `sclatent.autoencoder.scvi_model.scvi_latent`."""
    from .scvi_model import scvi_latent as run

    return run(adata_hvg, params, **kwargs)


__all__ = [*_WHERE, "scvi_latent"]
