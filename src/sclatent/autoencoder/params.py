"""Parameter schemas (with defaults) for the autoencoders and for scVI.

Each model has one flat dict of settings; the workflow config exposes the same keys. Unknown
keys and bad values raise `InputError` naming the key, so a typo in the config never trains a
silently different model. Importing this module does not import torch.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sclatent.errors import InputError

AUTOENCODER_MODELS = ("ae", "dae", "nbae", "zinbae")
ACTIVATIONS = ("relu", "elu", "gelu", "silu", "tanh", "leaky_relu")
CORRUPTIONS = ("mask", "gaussian", "mask+gaussian")


@dataclass(frozen=True)
class _Param:
    default: Any
    check: Callable[[Any], bool]
    expected: str
    help: str


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _positive_int(value: Any) -> bool:
    return _is_int(value) and value > 0


def _non_negative_int(value: Any) -> bool:
    return _is_int(value) and value >= 0


def _positive_number(value: Any) -> bool:
    return _is_number(value) and value > 0


def _non_negative_number(value: Any) -> bool:
    return _is_number(value) and value >= 0


def _fraction_below_one(value: Any) -> bool:
    return _is_number(value) and 0 <= value < 1


def _layer_sizes(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(_positive_int(v) for v in value)


def _one_of(*choices: Any) -> Callable[[Any], bool]:
    return lambda value: value in choices


_TRAINING = {
    "hidden": _Param(
        [256, 128],
        _layer_sizes,
        "a list of positive ints",
        "encoder hidden layer sizes (the decoder mirrors them)",
    ),
    "latent_dim": _Param(16, _positive_int, "a positive int", "size of the latent space"),
    "dropout": _Param(
        0.1, _fraction_below_one, "a number in [0, 1)", "dropout after each hidden layer"
    ),
    "batch_norm": _Param(
        True, _one_of(True, False), "true or false", "batch normalisation in hidden layers"
    ),
    "activation": _Param(
        "relu", _one_of(*ACTIVATIONS), f"one of {', '.join(ACTIVATIONS)}", "hidden layer activation"
    ),
    "lr": _Param(1e-3, _positive_number, "a positive number", "AdamW learning rate"),
    "weight_decay": _Param(1e-4, _non_negative_number, "a number >= 0", "AdamW weight decay"),
    "batch_size": _Param(256, _positive_int, "a positive int", "cells per minibatch"),
    "max_epochs": _Param(
        None,
        lambda v: v is None or _positive_int(v),
        "null or a positive int",
        "upper limit of epochs; null: 100 up to 20,000 cells, then a budget of about 2 million cells seen (20 epochs at 100k cells, 2 at 1M)",
    ),
    "val_fraction": _Param(
        0.1,
        _fraction_below_one,
        "a number in [0, 1)",
        "cells held out for validation loss and early stopping (0: monitor the training loss)",
    ),
    "patience": _Param(
        10,
        _non_negative_int,
        "an int >= 0",
        "epochs without improvement before stopping (0: never stop early)",
    ),
    "min_delta": _Param(
        1e-4,
        _non_negative_number,
        "a number >= 0",
        "smallest decrease of the monitored loss that counts as improvement",
    ),
    "checkpoint_every": _Param(
        5,
        _positive_int,
        "a positive int",
        "epochs between checkpoints (also written on exit and on SIGTERM)",
    ),
    "amp": _Param(
        "none",
        _one_of("none", "bf16", "fp16"),
        "one of none, bf16, fp16",
        "mixed precision autocast (CUDA only; ignored on CPU)",
    ),
}

_CORRUPTION = {
    "corruption": _Param(
        "mask",
        _one_of(*CORRUPTIONS),
        f"one of {', '.join(CORRUPTIONS)}",
        "input corruption of the denoising AE (training only)",
    ),
    "corruption_rate": _Param(
        0.2,
        _fraction_below_one,
        "a number in [0, 1)",
        "fraction of input entries set to zero by 'mask'",
    ),
    "noise_std": _Param(
        0.1,
        _non_negative_number,
        "a number >= 0",
        "standard deviation of the 'gaussian' noise (log-expression units)",
    ),
}

_COUNT_MODEL = {
    "dispersion": _Param(
        "gene",
        _one_of("gene", "gene-cell"),
        "one of gene, gene-cell",
        "NB dispersion per gene, or per gene and cell (DCA)",
    ),
}

_SCVI = {
    "n_latent": _Param(16, _positive_int, "a positive int", "size of the latent space"),
    "n_hidden": _Param(128, _positive_int, "a positive int", "nodes per hidden layer"),
    "n_layers": _Param(1, _positive_int, "a positive int", "hidden layers in encoder and decoder"),
    "dropout_rate": _Param(0.1, _fraction_below_one, "a number in [0, 1)", "dropout rate"),
    "gene_likelihood": _Param(
        "zinb", _one_of("zinb", "nb", "poisson"), "one of zinb, nb, poisson", "count likelihood"
    ),
    "max_epochs": _Param(
        None,
        lambda v: v is None or _positive_int(v),
        "null or a positive int",
        "upper limit of epochs; null: the autoencoders' budget (100 up to 20,000 cells, then about 2 million cells seen); scvi-tools' own heuristic allows 4x more",
    ),
    "kl_warmup_epochs": _Param(
        None,
        lambda v: v is None or _non_negative_int(v),
        "null or an int >= 0",
        "epochs over which the KL weight rises to 1; null: a quarter of max_epochs (scvi-tools' 400 never finishes in a short run)",
    ),
    "batch_size": _Param(128, _positive_int, "a positive int", "cells per minibatch"),
    "lr": _Param(1e-3, _positive_number, "a positive number", "Adam learning rate"),
    "weight_decay": _Param(1e-6, _non_negative_number, "a number >= 0", "weight decay"),
    "val_fraction": _Param(
        0.1,
        lambda v: _is_number(v) and 0 < v < 1,
        "a number in (0, 1)",
        "cells held out for the validation ELBO",
    ),
    "early_stopping": _Param(
        True, _one_of(True, False), "true or false", "stop when the validation ELBO stops improving"
    ),
    "patience": _Param(
        10, _positive_int, "a positive int", "epochs without improvement before stopping"
    ),
    "min_delta": _Param(
        0.5,
        _non_negative_number,
        "a number >= 0",
        "smallest ELBO decrease (per cell, summed over genes) that counts as improvement",
    ),
}

_SCHEMAS: dict[str, dict[str, _Param]] = {
    "ae": _TRAINING,
    "dae": {**_TRAINING, **_CORRUPTION},
    "nbae": {**_TRAINING, **_COUNT_MODEL},
    "zinbae": {**_TRAINING, **_COUNT_MODEL},
    "scvi": _SCVI,
}

LIKELIHOODS = {"ae": "mse", "dae": "mse", "nbae": "nb", "zinbae": "zinb"}


def auto_max_epochs(n_cells: int, cap: int = 100, floor: int = 2) -> int:
    """Epoch limit when max_epochs is null: `cap` up to 20,000 cells, then ~ cap * 20,000 / n.

    A budget of cells seen rather than epochs: past 20,000 cells an epoch holds enough steps
    that fewer epochs converge, and training time stays about flat in the number of cells.
    """
    return max(floor, min(cap, round(cap * 20_000 / max(n_cells, 1))))


def _schema(model: str) -> dict[str, _Param]:
    if model not in _SCHEMAS:
        raise InputError(f"model '{model}' is unknown (choose one of {', '.join(_SCHEMAS)})")
    return _SCHEMAS[model]


def default_params(model: str) -> dict[str, Any]:
    """The default settings of `model` ('ae', 'dae', 'nbae', 'zinbae' or 'scvi')."""
    return {key: copy.deepcopy(p.default) for key, p in _schema(model).items()}


def describe_params(model: str) -> dict[str, str]:
    """One line per setting of `model`: what it does and which values it takes."""
    return {key: f"{p.help} ({p.expected})" for key, p in _schema(model).items()}


def resolve_params(model: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults of `model` overridden by `params`; unknown keys and bad values raise InputError."""
    schema = _schema(model)
    resolved = default_params(model)
    for key, value in (params or {}).items():
        if key not in schema:
            raise InputError(
                f"params of model '{model}': unknown key '{key}' (known: {', '.join(schema)})"
            )
        if not schema[key].check(value):
            raise InputError(
                f"params of model '{model}': '{key}' must be {schema[key].expected}, got {value!r}"
            )
        resolved[key] = list(value) if isinstance(value, tuple) else value
    return resolved
