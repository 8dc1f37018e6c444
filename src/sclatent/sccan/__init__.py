"""scCAN-style clustering: autoencoder latents fused by SNF, spectral clustering.

`sccan_cluster(counts_or_adata, flavour="faithful" | "improved", params, seed=..., k=...)`
runs everything; `sccan_latents` and `cluster_latents` are its two halves (latents can be
computed once and clustered many ways). See docs/sccan.md for the method, every deviation
from the reference R packages and the evidence behind the improved defaults.
"""

from sclatent.sccan.api import SccanResult, cluster_latents, sccan_cluster, sccan_latents
from sclatent.sccan.params import FLAVOURS, default_params, resolve_params

__all__ = [
    "FLAVOURS",
    "SccanResult",
    "cluster_latents",
    "default_params",
    "resolve_params",
    "sccan_cluster",
    "sccan_latents",
]
