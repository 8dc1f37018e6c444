"""Autoencoder latent spaces (ae, dae, nbae, zinbae) and the scVI reference.

    result = train_latent(adata_hvg, "ae", params, seed=0, checkpoint_dir=path, threads=2)
    result = scvi_latent(adata_hvg, params, seed=0, threads=2, save_dir=path)
    model = load_autoencoder(path)  # or load_scvi(path); model.encode(adata)

`default_params(model)` lists every setting with its default. Names are imported lazily, so
that `sclatent.autoencoder.params` (config validation) works without torch; the first use of
a training name imports torch (scvi-tools only with `scvi_latent` and `load_scvi`). Rule
scripts import from the submodules themselves, so the static env check sees what each step
needs.
"""

import importlib

import sclatent.runtime  # noqa: F401 - sets OMP_WAIT_POLICY before any submodule loads torch

_WHERE = {
    "TrainResult": "api",
    "train_latent": "api",
    "select_device": "device",
    "nb_log_prob": "likelihoods",
    "zinb_log_prob": "likelihoods",
    "FittedAutoencoder": "model",
    "align_genes": "model",
    "load_autoencoder": "model",
    "AUTOENCODER_MODELS": "params",
    "default_params": "params",
    "describe_params": "params",
    "resolve_params": "params",
    "plot_history": "plots",
    "TrainingDiverged": "trainer",
    "TrainingInterrupted": "trainer",
    "scvi_latent": "scvi_model",
    "FittedScvi": "scvi_model",
    "load_scvi": "scvi_model",
}


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = list(_WHERE)
