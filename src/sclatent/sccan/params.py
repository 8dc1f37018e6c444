"""Parameters of the two scCAN flavours: one key set, two sets of defaults.

`faithful` holds every default of the reference R packages (scCAN 1.0.x + scDHA); `improved`
holds our choices, each justified by the ablation table in docs/sccan.md. Any key may be set
in either flavour; unknown keys and bad values raise `InputError` naming the key.
"""

from __future__ import annotations

from numbers import Integral, Real

from sclatent.errors import InputError

FLAVOURS = ("faithful", "improved")

FAITHFUL: dict = {
    # 1. input scaling
    "log_threshold": 100.0,  # log2(x + 1) when max(X) - min(X) exceeds this
    # 2. gene filter (non-negative linear autoencoder), only with more genes than n_genes
    "n_genes": 5000,
    "gene_filter_epochs": 10,
    # 3. latent spaces (stacked Bayesian autoencoder)
    "use_vae": True,  # False: cluster only the extra latents given to sccan_cluster
    "vae_min_cells": 0,  # fewer cells: the PCA view (if any) replaces the VAE views
    "n_models": 3,
    "n_snapshots": 3,
    "vae_views": "all",  # "all" snapshots or only the "last" snapshot of each model
    "train_cells": 2000,  # training subsample per model (and per gene-filter replicate)
    "big_data_cells": 50000,  # from this many cells on: the scDHA big-data variant
    "train_cells_big": 5000,
    "warmup_epochs": 10,
    "train_epochs": 20,
    "drop_last": False,  # R torch's dataloader default (the last, smaller batch is kept)
    # built-in extra view: PCA of log-normalised counts on seurat_v3 HVGs (0 = none)
    "pca_view_components": 0,
    # 4. affinity per latent
    "affinity_neighbors": 20,  # K of the local scale
    "affinity_alpha": 0.5,  # sd = alpha * Sig
    "affinity_knn": None,  # None: dense; int: keep only that many nearest neighbours a row
    # 5. similarity network fusion
    "snf_neighbors": 30,
    "snf_iterations": 10,
    "dtype": "float64",  # of the n x n fusion matrices
    # 6. number of clusters
    "k_min": 2,
    "k_max": 15,
    "k_rule": "min_best_second",  # or "max_best_second", "best"
    # 7. spectral clustering
    "eigen_solver": "auto",  # "dense" (LAPACK eigh), "lanczos" (ARPACK eigsh) or "auto"
    # 8. big data: sample, cluster the sample, transfer labels
    "sample_size": 5000,
    "sampling": "uniform",  # or "sketch"
    "transfer": "one_latent",  # or "all_latents"
    "transfer_neighbors": 10,
}

IMPROVED: dict = FAITHFUL | {
    "vae_min_cells": 500,
    "pca_view_components": 50,
    "k_min": 3,
    "k_rule": "best",
    "sampling": "sketch",
    "transfer": "all_latents",
    "dtype": "float32",
}

_CHOICES = {
    "vae_views": ("all", "last"),
    "dtype": ("float64", "float32"),
    "k_rule": ("min_best_second", "max_best_second", "best"),
    "eigen_solver": ("auto", "dense", "lanczos"),
    "sampling": ("uniform", "sketch"),
    "transfer": ("one_latent", "all_latents"),
}
_POSITIVE_INTS = {
    "n_genes",
    "gene_filter_epochs",
    "n_models",
    "n_snapshots",
    "train_cells",
    "big_data_cells",
    "train_cells_big",
    "affinity_neighbors",
    "snf_neighbors",
    "snf_iterations",
    "k_min",
    "k_max",
    "sample_size",
    "transfer_neighbors",
}
_NON_NEGATIVE_INTS = {"warmup_epochs", "train_epochs", "pca_view_components", "vae_min_cells"}
_BOOLS = {"use_vae", "drop_last"}


def default_params(flavour: str) -> dict:
    """A fresh copy of the defaults of `flavour` ("faithful" or "improved")."""
    if flavour not in FLAVOURS:
        raise InputError(f"sccan flavour: {flavour!r} is not one of {', '.join(FLAVOURS)}")
    return dict(FAITHFUL if flavour == "faithful" else IMPROVED)


def resolve_params(flavour: str, params: dict | None) -> dict:
    """Defaults of `flavour` updated by `params`, every value checked."""
    resolved = default_params(flavour)
    for key, value in (params or {}).items():
        if key not in resolved:
            raise InputError(f"sccan params: unknown key {key!r}")
        resolved[key] = _checked(key, value)
    if resolved["k_min"] < 2 or resolved["k_max"] < resolved["k_min"]:
        raise InputError(
            f"sccan params: k_min/k_max must satisfy 2 <= k_min <= k_max, got "
            f"{resolved['k_min']}/{resolved['k_max']}"
        )
    return resolved


def _checked(key: str, value):
    if key in _CHOICES:
        if value not in _CHOICES[key]:
            raise InputError(
                f"sccan params: {key} must be one of {', '.join(_CHOICES[key])}, got {value!r}"
            )
        return value
    if key in _BOOLS:
        if not isinstance(value, bool):
            raise InputError(f"sccan params: {key} must be true or false, got {value!r}")
        return value
    if key in _POSITIVE_INTS | _NON_NEGATIVE_INTS:
        low = 1 if key in _POSITIVE_INTS else 0
        if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
            raise InputError(f"sccan params: {key} must be an integer >= {low}, got {value!r}")
        return int(value)
    if key == "affinity_knn":
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, Integral) or value < 1
        ):
            raise InputError(
                f"sccan params: affinity_knn must be null or an integer >= 1, got {value!r}"
            )
        return value if value is None else int(value)
    # remaining keys are positive reals
    if isinstance(value, bool) or not isinstance(value, Real) or not value > 0:
        raise InputError(f"sccan params: {key} must be a positive number, got {value!r}")
    return float(value)
