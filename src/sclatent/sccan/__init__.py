"""scCAN-style clustering: autoencoder latents fused by SNF, spectral clustering.

`sccan_cluster(counts_or_adata, flavour="faithful" | "improved", params, seed=..., k=...)`
runs everything; `sccan_latents` and `cluster_latents` are its two halves (latents can be
computed once and clustered many ways). See docs/sccan.md for the method, every deviation
from the reference R packages and the evidence behind the improved defaults.

The names are imported on first use, so that a job that only reads views or parameters
(`sclatent.sccan.views`, `sclatent.sccan.params`) does not import torch.
"""

_EXPORTS = {
    "SccanResult": "sclatent.sccan.api",
    "cluster_latents": "sclatent.sccan.api",
    "sccan_cluster": "sclatent.sccan.api",
    "sccan_latents": "sclatent.sccan.api",
    "FLAVOURS": "sclatent.sccan.params",
    "default_params": "sclatent.sccan.params",
    "resolve_params": "sclatent.sccan.params",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'sclatent.sccan' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)
