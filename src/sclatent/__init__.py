"""sclatent: which latent space and which clustering recover your cell types, and at what cost.

Submodules import their heavy dependencies (scanpy, torch, scvi-tools) themselves, so that
`import sclatent` stays cheap and each workflow environment only needs what its step uses.
"""

__version__ = "0.1.0"
