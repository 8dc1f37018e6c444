"""Parameter tables (with defaults) for the autoencoders and for scVI.

Each model has one flat dict of settings; the workflow config exposes the same keys. The
tables are JSON-schema fragments checked by `sclatent.config.resolve`, the validation of the
whole project: unknown keys and bad values raise `InputError` naming the key, so a typo in the
config never trains a silently different model. Importing this module does not import torch.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from sclatent.config import (
    BOOLEAN,
    FRACTION,
    NON_NEGATIVE_INT,
    NON_NEGATIVE_NUMBER,
    POSITIVE_INT,
    POSITIVE_NUMBER,
    expected,
    one_of,
    resolve,
)
from sclatent.errors import InputError

AUTOENCODER_MODELS = ("ae", "dae", "nbae", "zinbae")
ACTIVATIONS = ("relu", "elu", "gelu", "silu", "tanh", "leaky_relu")
CORRUPTIONS = ("mask", "gaussian", "mask+gaussian")


def _param(rule: dict, default: Any, description: str) -> dict:
    return rule | {"default": default, "description": description}


_TRAINING = {
    "hidden": _param(
        {"type": "array", "items": POSITIVE_INT},
        [256, 128],
        "encoder hidden layer sizes (the decoder mirrors them)",
    ),
    "latent_dim": _param(POSITIVE_INT, 16, "size of the latent space"),
    "dropout": _param(FRACTION, 0.1, "dropout after each hidden layer"),
    "batch_norm": _param(BOOLEAN, True, "batch normalisation in hidden layers"),
    "activation": _param(one_of(*ACTIVATIONS), "relu", "hidden layer activation"),
    "lr": _param(POSITIVE_NUMBER, 1e-3, "AdamW learning rate"),
    "weight_decay": _param(NON_NEGATIVE_NUMBER, 1e-4, "AdamW weight decay"),
    "batch_size": _param(POSITIVE_INT, 256, "cells per minibatch"),
    "max_epochs": _param(
        POSITIVE_INT | {"type": ["integer", "null"]},
        None,
        "upper limit of epochs; null: 100 up to 10,000 cells, then a budget of about 1 million cells seen (10 epochs at 100k cells, 2 from 500k)",
    ),
    "val_fraction": _param(
        FRACTION,
        0.1,
        "cells held out for validation loss and early stopping (0: monitor the training loss)",
    ),
    "patience": _param(
        NON_NEGATIVE_INT, 10, "epochs without improvement before stopping (0: never stop early)"
    ),
    "min_delta": _param(
        NON_NEGATIVE_NUMBER,
        1e-4,
        "smallest decrease of the monitored loss that counts as improvement",
    ),
    "checkpoint_every": _param(
        POSITIVE_INT, 5, "epochs between checkpoints (also written on exit and on SIGTERM)"
    ),
    "amp": _param(
        one_of("none", "bf16", "fp16"),
        "none",
        "mixed precision autocast (CUDA only; ignored on CPU)",
    ),
}

_CORRUPTION = {
    "corruption": _param(
        one_of(*CORRUPTIONS), "mask", "input corruption of the denoising AE (training only)"
    ),
    "corruption_rate": _param(FRACTION, 0.2, "fraction of input entries set to zero by 'mask'"),
    "noise_std": _param(
        NON_NEGATIVE_NUMBER,
        0.1,
        "standard deviation of the 'gaussian' noise (log-expression units)",
    ),
}

_COUNT_MODEL = {
    "dispersion": _param(
        one_of("gene", "gene-cell"),
        "gene",
        "NB dispersion per gene, or per gene and cell (DCA)",
    ),
}

_SCVI = {
    "n_latent": _param(POSITIVE_INT, 16, "size of the latent space"),
    "n_hidden": _param(POSITIVE_INT, 128, "nodes per hidden layer"),
    "n_layers": _param(POSITIVE_INT, 1, "hidden layers in encoder and decoder"),
    "dropout_rate": _param(FRACTION, 0.1, "dropout rate"),
    "gene_likelihood": _param(one_of("zinb", "nb", "poisson"), "zinb", "count likelihood"),
    "max_epochs": _param(
        POSITIVE_INT | {"type": ["integer", "null"]},
        None,
        "upper limit of epochs; null: the autoencoders' budget (100 up to 10,000 cells, then about 1 million cells seen); scvi-tools' own heuristic allows 8x more at 100k cells",
    ),
    "kl_warmup_epochs": _param(
        NON_NEGATIVE_INT | {"type": ["integer", "null"]},
        None,
        "epochs over which the KL weight rises to 1; null: a quarter of max_epochs (scvi-tools' 400 never finishes in a short run)",
    ),
    "batch_size": _param(POSITIVE_INT, 128, "cells per minibatch"),
    "lr": _param(POSITIVE_NUMBER, 1e-3, "Adam learning rate"),
    "weight_decay": _param(NON_NEGATIVE_NUMBER, 1e-6, "weight decay"),
    "val_fraction": _param(
        {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        0.1,
        "cells held out for the validation ELBO",
    ),
    "early_stopping": _param(BOOLEAN, True, "stop when the validation ELBO stops improving"),
    "patience": _param(POSITIVE_INT, 10, "epochs without improvement before stopping"),
    "min_delta": _param(
        NON_NEGATIVE_NUMBER,
        0.5,
        "smallest ELBO decrease (per cell, summed over genes) that counts as improvement",
    ),
}

_SCHEMAS: dict[str, dict[str, dict]] = {
    "ae": _TRAINING,
    "dae": {**_TRAINING, **_CORRUPTION},
    "nbae": {**_TRAINING, **_COUNT_MODEL},
    "zinbae": {**_TRAINING, **_COUNT_MODEL},
    "scvi": _SCVI,
}

LIKELIHOODS = {"ae": "mse", "dae": "mse", "nbae": "nb", "zinbae": "zinb"}


# Past this many cells the automatic budget stops growing: about a million cells seen, the
# ~3,900 optimiser steps of 100 epochs over 10,000 cells.
BUDGET_CELLS = 10_000


def auto_max_epochs(n_cells: int, cap: int = 100, floor: int = 2, budget: float = 1.0) -> int:
    """Epoch limit when max_epochs is null: `cap` up to BUDGET_CELLS cells, then about
    cap * BUDGET_CELLS cells seen (10 epochs at 100k cells, the floor of 2 from 500k).

    A budget of optimiser steps rather than epochs: an epoch of more cells holds more steps,
    and the steps that train a model on 10,000 cells train it on more, so training time stays
    about flat in the number of cells. `budget` scales it (the workflow's
    training.simulated_budget for simulated datasets).
    """
    epochs = min(cap, cap * BUDGET_CELLS / max(n_cells, 1))
    return max(floor, round(budget * epochs))


def _schema(model: str) -> dict[str, dict]:
    if model not in _SCHEMAS:
        raise InputError(f"model '{model}' is unknown (choose one of {', '.join(_SCHEMAS)})")
    return _SCHEMAS[model]


def default_params(model: str) -> dict[str, Any]:
    """The default settings of `model` ('ae', 'dae', 'nbae', 'zinbae' or 'scvi')."""
    return {key: copy.deepcopy(rule["default"]) for key, rule in _schema(model).items()}


def describe_params(model: str) -> dict[str, str]:
    """One line per setting of `model`: what it does and which values it takes."""
    return {
        key: f"{rule['description']} ({expected(rule)})" for key, rule in _schema(model).items()
    }


def resolve_params(model: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults of `model` overridden by `params`; unknown keys and bad values raise InputError."""
    return resolve(params, _schema(model), f"params of model '{model}'")
