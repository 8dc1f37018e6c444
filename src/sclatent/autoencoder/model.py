"""A trained autoencoder: encode cells, predict denoised expression, save and load.

Saved as two files in the model folder: `model.pt` (the network's state dict, loaded with
`weights_only=True`) and `model.json` (model name, settings and gene count to rebuild it, and
the names of the genes it reads and the normalisation of X, so that cells of another file can
be put into the same latent: `sclatent.mapping`).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from sclatent.errors import InputError

from .data import CellData, encode
from .device import select_device
from .networks import Autoencoder
from .params import LIKELIHOODS, resolve_params
from .trainer import save_atomic

log = logging.getLogger("sclatent.autoencoder")

WEIGHTS_NAME = "model.pt"
SPEC_NAME = "model.json"
_CHUNK = 4096
_MAX_LOG_RATE = 20.0  # exp(20) ~ 5e8: far above any count, keeps the prediction finite
# share of a model's genes that cells of another file must have for their latent to mean much
MIN_SHARED_GENES = 0.5


def as_csr(matrix, where: str) -> sp.csr_matrix:
    """`matrix` as CSR float32 (no copy when it already is); `where` names it in errors."""
    if sp.issparse(matrix):
        return sp.csr_matrix(matrix, dtype=np.float32)
    if isinstance(matrix, np.ndarray) and matrix.ndim == 2:
        return sp.csr_matrix(matrix.astype(np.float32, copy=False))
    raise InputError(f"{where}: expected a 2-d sparse or dense matrix, got {type(matrix).__name__}")


def count_inputs(adata, model: str) -> tuple[sp.csr_matrix, np.ndarray]:
    """Raw counts (layers['counts']) and obs['size_factor'] that the count models need."""
    if "counts" not in adata.layers:
        raise InputError(
            f"hvg AnnData: layers['counts'] is missing (model '{model}' models raw counts)"
        )
    if "size_factor" not in adata.obs:
        raise InputError(f"hvg AnnData: obs['size_factor'] is missing (model '{model}' needs it)")
    size_factor = adata.obs["size_factor"].to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(size_factor) & (size_factor > 0)):
        raise InputError("hvg AnnData: obs['size_factor'] must be finite and > 0 in every cell")
    return as_csr(adata.layers["counts"], "hvg AnnData layers['counts']"), size_factor


def expression_scale(x: sp.csr_matrix, counts: sp.csr_matrix, size_factor: np.ndarray) -> float:
    """c such that X = log1p(counts / size_factor * c): the normalisation of X, read from the data.

    With X = log1p(counts / total * target_sum) and size_factor = total / median total,
    c = target_sum / median total is the same in every cell, so a median over cells recovers
    it without knowing either number.
    """
    # the constant is the same in every cell: evenly spaced cells suffice and keep it cheap
    rows = np.unique(np.linspace(0, x.shape[0] - 1, min(x.shape[0], 20_000)).astype(np.int64))
    x_sum = np.asarray(x[rows].expm1().sum(axis=1)).ravel()
    count_sum = np.asarray(counts[rows].sum(axis=1)).ravel()
    usable = count_sum > 0
    if not usable.any():
        raise InputError("hvg AnnData: layers['counts'] has no counts; cannot relate them to X")
    return float(np.median(size_factor[rows][usable] * x_sum[usable] / count_sum[usable]))


def align_genes(
    matrix,
    var_names: Sequence[str],
    genes: Sequence[str],
    *,
    where: str,
    min_shared: float = MIN_SHARED_GENES,
) -> sp.csr_matrix:
    """The columns of `matrix` (cells x `var_names`) in the order of a model's `genes`.

    Genes are matched by name; a model gene the cells lack becomes a column of zeros (logged
    with how many), since an unmeasured gene reads as unexpressed. Fewer shared genes than
    `min_shared` of the model's is an InputError naming `where`: such cells would land in the
    latent by what they lack, not by what they express.
    """
    matrix = as_csr(matrix, where)
    var_names, genes = pd.Index(var_names).astype(str), pd.Index(genes).astype(str)
    if var_names.equals(genes):
        return matrix
    if var_names.has_duplicates:
        duplicated = var_names[var_names.duplicated()].unique()
        raise InputError(
            f"{where}: {len(duplicated)} duplicate gene names (e.g. {', '.join(duplicated[:3])});"
            " genes are matched to the model by name"
        )
    position = var_names.get_indexer(genes)
    shared = np.flatnonzero(position >= 0)
    needed = max(1, math.ceil(min_shared * len(genes)))
    if len(shared) < needed:
        raise InputError(
            f"{where}: only {len(shared)} of the model's {len(genes)} genes are among its "
            f"{len(var_names)} genes (at least {needed} needed; model genes e.g. "
            f"{', '.join(genes[:3])}; these e.g. {', '.join(var_names[:3])})"
        )
    if len(shared) < len(genes):
        log.warning(
            "%s: %d of the model's %d genes are missing; they are set to zero",
            where, len(genes) - len(shared), len(genes),
        )  # fmt: skip
    # a 0/1 matrix picks each shared gene into its model column: one sparse product
    pick = sp.csr_matrix(
        (np.ones(len(shared), dtype=np.float32), (position[shared], shared)),
        shape=(len(var_names), len(genes)),
    )
    return sp.csr_matrix(matrix @ pick, dtype=np.float32)


class FittedAutoencoder:
    """A trained network with what it needs to embed cells and predict their expression.

    `genes` (names of the model's input genes, in order) and `normalize` (the target_sum of
    X) let `encode` and `sclatent.mapping` take cells of any file; models saved without them
    still load and encode inputs of the right width.
    """

    def __init__(
        self,
        network: Autoencoder,
        model: str,
        params: dict,
        n_genes: int,
        genes: Sequence[str] | None = None,
        normalize: dict | None = None,
    ) -> None:
        self.network = network.eval()
        self.model = model
        self.params = params
        self.n_genes = n_genes
        self.genes = None if genes is None else [str(g) for g in genes]
        # values read back from h5ad uns are numpy scalars: plain numbers for model.json
        self.normalize = {
            str(key): value.item() if isinstance(value, np.generic) else value
            for key, value in (normalize or {}).items()
        }
        if self.genes is not None and len(self.genes) != n_genes:
            raise InputError(f"{model}: {len(self.genes)} gene names for {n_genes} input genes")

    @property
    def device(self) -> torch.device:
        return next(self.network.parameters()).device

    def _check_genes(self, x: sp.csr_matrix) -> None:
        if x.shape[1] != self.n_genes:
            raise InputError(
                f"hvg AnnData has {x.shape[1]} genes; the model was trained on {self.n_genes}"
            )

    def encode(self, adata, *, min_shared: float = MIN_SHARED_GENES) -> np.ndarray:
        """Latent coordinates of the cells of `adata`.

        X must be normalised as the training data were (log1p of counts scaled to
        `normalize['target_sum']` per cell over all its genes: the workflow's hvg.h5ad,
        norm.h5ad or deliverable, or `sclatent.mapping.prepare_query` of raw counts). When
        the model knows its genes, X's genes are matched to them by name (`align_genes`).
        """
        if self.genes is None:
            x = as_csr(adata.X, "hvg AnnData X")
            self._check_genes(x)
        else:
            x = align_genes(
                adata.X, adata.var_names, self.genes, where="AnnData X", min_shared=min_shared
            )
        return encode(self.network, CellData(x, self.device))

    def _inputs(self, adata) -> tuple[sp.csr_matrix, float | None]:
        """X of `adata`, and for count models the constant that puts NB means on X's scale."""
        x = as_csr(adata.X, "hvg AnnData X")
        self._check_genes(x)
        if LIKELIHOODS[self.model] == "mse":
            return x, None
        counts, size_factor = count_inputs(adata, self.model)
        return x, expression_scale(x, counts, size_factor)

    @torch.no_grad()
    def _reconstruct_rows(
        self, x: sp.csr_matrix, rows: np.ndarray, scale: float | None
    ) -> np.ndarray:
        self.network.eval()
        batch = torch.from_numpy(x[rows].toarray()).to(self.device)
        mean = self.network(batch)["mean"].float()
        if scale is not None:
            mean = torch.log1p(mean.clamp(max=_MAX_LOG_RATE).exp() * scale)
        return mean.clamp(min=0).cpu().numpy()

    def reconstruct(self, adata, cells: np.ndarray | None = None) -> np.ndarray:
        """Denoised log-normalised expression (dense, cells x genes) of `cells` (default: all).

        ae/dae: the reconstruction of X. Count models: log1p of the NB mean on the scale of X,
        log1p(rate * c), with c the normalisation constant of X (see `expression_scale`).
        Values are clipped at 0 like log expression itself. Pass a subset of cells for large data.
        """
        x, scale = self._inputs(adata)
        cells = np.arange(x.shape[0]) if cells is None else np.asarray(cells)
        parts = [
            self._reconstruct_rows(x, cells[start : start + _CHUNK], scale)
            for start in range(0, len(cells), _CHUNK)
        ]
        return np.concatenate(parts) if parts else np.empty((0, self.n_genes), np.float32)

    def denoise_at(self, adata, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Denoised log expression at the entries (rows[k], cols[k]) (e.g. masked counts)."""
        x, scale = self._inputs(adata)
        rows, cols = np.asarray(rows), np.asarray(cols)
        values = np.empty(len(rows), dtype=np.float32)
        order = np.argsort(rows, kind="stable")
        cells, first = np.unique(rows[order], return_index=True)
        bounds = np.append(first, len(order))
        for start in range(0, len(cells), _CHUNK):
            chunk = cells[start : start + _CHUNK]
            dense = self._reconstruct_rows(x, chunk, scale)
            entries = order[bounds[start] : bounds[start + len(chunk)]]
            values[entries] = dense[np.searchsorted(chunk, rows[entries]), cols[entries]]
        return values

    def save(self, directory: str | Path) -> None:
        """Write model.pt (state dict) and model.json (how to rebuild the network)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        save_atomic(self.network.state_dict(), directory / WEIGHTS_NAME)
        spec = {
            "model": self.model,
            "params": self.params,
            "n_genes": self.n_genes,
            "normalize": self.normalize,
            "genes": self.genes,
        }
        (directory / SPEC_NAME).write_text(json.dumps(spec, indent=2) + "\n")


def build_network(model: str, params: dict, n_genes: int) -> Autoencoder:
    """The untrained network of `model` with the architecture in `params`."""
    return Autoencoder(
        n_genes,
        hidden=params["hidden"],
        latent_dim=params["latent_dim"],
        dropout=params["dropout"],
        batch_norm=params["batch_norm"],
        activation=params["activation"],
        likelihood=LIKELIHOODS[model],
        dispersion=params.get("dispersion", "gene"),
    )


def load_autoencoder(directory: str | Path, device: str = "cpu") -> FittedAutoencoder:
    """The model saved in `directory` by `FittedAutoencoder.save` (weights loaded weights_only)."""
    directory = Path(directory)
    spec_path = directory / SPEC_NAME
    if not spec_path.exists():
        raise InputError(f"{spec_path}: no saved autoencoder here")
    spec = json.loads(spec_path.read_text())
    params = resolve_params(spec["model"], spec["params"])
    network = build_network(spec["model"], params, spec["n_genes"])
    torch_device = select_device(device)
    state = torch.load(directory / WEIGHTS_NAME, map_location=torch_device, weights_only=True)
    network.load_state_dict(state)
    return FittedAutoencoder(
        network.to(torch_device),
        spec["model"],
        params,
        spec["n_genes"],
        genes=spec.get("genes"),
        normalize=spec.get("normalize"),
    )
