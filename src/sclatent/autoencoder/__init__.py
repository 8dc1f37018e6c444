"""Autoencoder latent spaces (ae, dae, nbae, zinbae) and the scVI reference.

    result = train_latent(adata_hvg, "ae", params, seed=0, checkpoint_dir=path, threads=2)
    result = scvi_latent(adata_hvg, params, seed=0, threads=2)

`default_params(model)` lists every setting with its default. Importing this package imports
torch (scvi-tools only when `scvi_latent` is called).
"""

import os

# must precede the first torch import: busy-waiting OpenMP threads starve other processes
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .api import TrainResult, train_latent  # noqa: E402
from .device import select_device  # noqa: E402
from .likelihoods import nb_log_prob, zinb_log_prob  # noqa: E402
from .model import FittedAutoencoder, load_autoencoder  # noqa: E402
from .params import (  # noqa: E402
    AUTOENCODER_MODELS,
    default_params,
    describe_params,
    resolve_params,
)
from .plots import plot_history  # noqa: E402
from .trainer import TrainingDiverged, TrainingInterrupted  # noqa: E402


def scvi_latent(adata_hvg, params=None, **kwargs):
    """scVI latent of the HVG counts; see `sclatent.autoencoder.scvi_model.scvi_latent`."""
    from .scvi_model import scvi_latent as run

    return run(adata_hvg, params, **kwargs)


__all__ = [
    "AUTOENCODER_MODELS",
    "FittedAutoencoder",
    "TrainResult",
    "TrainingDiverged",
    "TrainingInterrupted",
    "default_params",
    "describe_params",
    "load_autoencoder",
    "nb_log_prob",
    "plot_history",
    "resolve_params",
    "scvi_latent",
    "select_device",
    "train_latent",
    "zinb_log_prob",
]
