"""Parameters of the two scCAN flavours: one key set, two sets of defaults.

`faithful` holds every default of the reference R packages (scCAN 1.0.x + scDHA); `improved`
holds our choices, chosen leave-one-dataset-out over the labelled datasets in ../shared/data
(benchmarks/accuracy.py; docs/accuracy.md has the figures). Any key may be set
in either flavour; `RULES` (JSON-schema fragments checked by `sclatent.config.resolve`, the
project's one validation) says which values each key takes: unknown keys and bad values raise
`InputError` naming the key.
"""

from __future__ import annotations

from sclatent.config import (
    BOOLEAN,
    NON_NEGATIVE_INT,
    POSITIVE_INT,
    POSITIVE_NUMBER,
    must_be,
    one_of,
    resolve,
)
from sclatent.errors import InputError

FLAVOURS = ("faithful", "improved")

FAITHFUL: dict = {
    # 1. input scaling
    "log_threshold": 100.0,  # log2(x + 1) when max(X) - min(X) exceeds this
    # 2. gene filter (non-negative linear autoencoder), only with more genes than n_genes
    "n_genes": 5000,
    "gene_filter_epochs": 10,
    # 3. the views fused, in order: "vae" (scCAN's own VAE ensemble, trained here), "pca"
    # (PCA of the log-normalised HVGs), or another latent given by name (nbae, scvi, ...)
    "views": ["vae"],
    "learned_views_min_cells": 0,  # fewer cells: only the PCA view is fused
    # the VAE ensemble (stacked Bayesian autoencoder)
    "n_models": 3,
    "n_snapshots": 3,
    "vae_views": "all",  # "all" snapshots or only the "last" snapshot of each model
    "train_cells": 2000,  # training subsample per model (and per gene-filter replicate)
    "big_data_cells": 50000,  # from this many cells on: the scDHA big-data variant
    "train_cells_big": 5000,
    "warmup_epochs": 10,
    "train_epochs": 20,
    "drop_last": False,  # R torch's dataloader default (the last, smaller batch is kept)
    # components of the PCA view when scCAN computes it from the counts itself
    "pca_view_components": 50,
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
    "k_rule": "min_best_second",  # or "max_best_second", "best", "gap_or_count"
    # gap_or_count: the largest gap when it is at least dominant_gap_ratio x the second;
    # otherwise the largest gap within +-1 of the expression's Tracy-Widom count, taken on
    # subsamples of count_cells cells (sccan.signal_count)
    "dominant_gap_ratio": 2.0,
    "count_cells": 1000,
    # 7. spectral clustering
    "eigen_solver": "auto",  # "dense" (LAPACK eigh), "lanczos" (ARPACK eigsh) or "auto"
    # 8. big data: sample, cluster the sample, transfer labels
    "sample_size": 5000,
    "sampling": "uniform",  # or "sketch"
    "transfer": "one_latent",  # or "all_latents"
    "transfer_neighbors": 10,
}

IMPROVED: dict = FAITHFUL | {
    "views": ["pca", "nbae", "scvi"],
    "learned_views_min_cells": 300,
    "k_min": 3,
    "k_max": 20,
    "k_rule": "gap_or_count",
    "sampling": "sketch",
    "transfer": "all_latents",
    "dtype": "float32",
}

RULES: dict = {
    "log_threshold": POSITIVE_NUMBER,
    "n_genes": POSITIVE_INT,
    "gene_filter_epochs": POSITIVE_INT,
    "views": {
        "type": "array",
        "minItems": 1,
        "uniqueItems": True,
        "items": {"type": "string", "pattern": "^[A-Za-z0-9_]+$"},
    },
    "learned_views_min_cells": NON_NEGATIVE_INT,
    "n_models": POSITIVE_INT,
    "n_snapshots": POSITIVE_INT,
    "vae_views": one_of("all", "last"),
    "train_cells": POSITIVE_INT,
    "big_data_cells": POSITIVE_INT,
    "train_cells_big": POSITIVE_INT,
    "warmup_epochs": NON_NEGATIVE_INT,
    "train_epochs": NON_NEGATIVE_INT,
    "drop_last": BOOLEAN,
    "pca_view_components": NON_NEGATIVE_INT,
    "affinity_neighbors": POSITIVE_INT,
    "affinity_alpha": POSITIVE_NUMBER,
    "affinity_knn": POSITIVE_INT | {"type": ["integer", "null"]},
    "snf_neighbors": POSITIVE_INT,
    "snf_iterations": POSITIVE_INT,
    "dtype": one_of("float64", "float32"),
    "k_min": {"type": "integer", "minimum": 2},
    "k_max": POSITIVE_INT,
    "k_rule": one_of("min_best_second", "max_best_second", "best", "gap_or_count"),
    "dominant_gap_ratio": {"type": "number", "minimum": 1},
    "count_cells": {"type": "integer", "minimum": 10},
    "eigen_solver": one_of("auto", "dense", "lanczos"),
    "sample_size": POSITIVE_INT,
    "sampling": one_of("uniform", "sketch"),
    "transfer": one_of("one_latent", "all_latents"),
    "transfer_neighbors": POSITIVE_INT,
}


def default_params(flavour: str) -> dict:
    """A fresh copy of the defaults of `flavour` ("faithful" or "improved")."""
    if flavour not in FLAVOURS:
        raise InputError(f"sccan flavour: {flavour!r} is not one of {', '.join(FLAVOURS)}")
    return dict(FAITHFUL if flavour == "faithful" else IMPROVED)


def fused_views(params: dict, n_cells: int) -> list[str]:
    """The views a run fuses: `views`, or only PCA below `learned_views_min_cells` cells, where
    networks trained on so few cells give poor latents (docs/accuracy.md)."""
    if n_cells < params["learned_views_min_cells"]:
        return ["pca"]
    return list(params["views"])


def uses_count(params: dict) -> bool:
    """Whether the k rule reads the expression's Tracy-Widom count (`signal_count`)."""
    return params["k_rule"] == "gap_or_count"


def resolve_params(flavour: str, params: dict | None) -> dict:
    """Defaults of `flavour` updated by `params`, every value checked against `RULES`."""
    resolved = resolve(default_params(flavour) | dict(params or {}), RULES, "sccan params")
    if resolved["k_max"] < resolved["k_min"]:
        raise must_be(
            "sccan params", "k_max", f"k_min ({resolved['k_min']}) or more", resolved["k_max"]
        )
    return resolved
