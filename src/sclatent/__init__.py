"""sclatent: which latent space and which clustering recover your cell types, and at what cost.

Submodules import their heavy dependencies (scanpy, torch, scvi-tools) themselves, so that
`import sclatent` stays cheap and each workflow environment only needs what its step uses.

    model = sclatent.load_model("results/pbmc/models/nbae")  # or .../models/scvi
    latent = model.encode(adata)

`load_model` (`sclatent.mapping`) is imported on first use, with torch (and scvi-tools for
scVI); `sclatent.mapping` also puts new cells onto the reference's clusters.
"""

import importlib

__version__ = "0.1.0"

_WHERE = {"load_model": "mapping"}


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["load_model"]
