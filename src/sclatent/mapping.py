"""Map new cells onto a trained reference: into its latent, then onto its clusters.

A model trained by the workflow (`results/{dataset}/models/{model}/`: an autoencoder's
model.json + model.pt, or scVI's scvi-tools directory `models/scvi/model/`) keeps the names of
the genes it reads and how X was normalised. New cells from any file the workflow reads go
through the same preprocessing (`prepare_query`: counts scaled to the reference's target sum
over all their genes, log1p, the reference's HVGs by name), the reference model puts them into
the reference's latent, and each takes the label that wins the vote of its nearest reference
cells there (`transfer`, the vote scCAN uses too), with the winner's vote share as confidence.

    model = load_model("results/pbmc/models/nbae")
    mapped = map_cells(read_counts("new.h5ad"), model, reference_latent, {"cluster": clusters})
    mapped.latent, mapped.labels["cluster"]  # cells x dims; DataFrame label, confidence
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from sclatent.errors import InputError

log = logging.getLogger(__name__)

UNASSIGNED = "unassigned"
DEFAULT_TARGET_SUM = 1e4  # preprocess.normalize's default, for models that read counts only


def load_model(path: str | Path, device: str = "cpu"):
    """The trained model at `path`, with `.encode(adata)`, `.genes` and `.normalize`.

    `path` is a model folder of the workflow (`results/{dataset}/models/{model}/`) or a file in
    it: an autoencoder's (ae, dae, nbae, zinbae: model.json + model.pt) gives a
    `FittedAutoencoder`, scVI's (its scvi-tools directory, or the folder holding it as
    `model/`) a `FittedScvi`.
    """
    path = Path(path)
    if path.is_file():
        path = path.parent
    if not path.is_dir():
        raise InputError(f"{path}: no such model folder")
    if (path / "model.json").is_file():
        from sclatent.autoencoder.model import load_autoencoder

        return load_autoencoder(path, device)
    from sclatent.autoencoder.scvi_model import load_scvi, scvi_directory

    if scvi_directory(path) is None:
        raise InputError(
            f"{path}: no trained model here (an autoencoder's model.json or scVI's model.pt)"
        )
    return load_scvi(path, device)


def prepare_query(adata, model, *, min_shared: float = 0.5, where: str = "query"):
    """Raw counts (X, as `sclatent.io.read_counts` gives them) as the model's training data
    were: the workflow's hvg.h5ad layout on the model's genes, so that `model.encode` reads
    them as it read the reference.

    X = log1p(counts / total * target_sum), the total over all the cells' genes (as
    `preprocess.normalize` scales before taking the HVGs), target_sum from the model;
    layers['counts'] and obs['size_factor'] as `normalize` makes them; genes matched by name
    (`align_genes`: missing ones zero, too few shared an InputError naming `where`).
    """
    import anndata as ad

    from sclatent.autoencoder.model import align_genes, as_csr

    if model.genes is None:
        raise InputError(
            f"{where}: the model records no gene names (saved by an older sclatent); "
            "retrain it (snakemake --forcerun train_autoencoder) to map cells with it"
        )
    counts = as_csr(adata.X, f"{where} X")
    totals = np.asarray(counts.sum(axis=1), dtype=np.float64).ravel()
    aligned = align_genes(counts, adata.var_names, model.genes, where=where, min_shared=min_shared)
    empty = int(np.count_nonzero(aligned.getnnz(axis=1) == 0))
    if empty:
        log.warning(
            "%s: %d of %d cells have no counts on the model's genes; their place in the "
            "latent says nothing about them",
            where, empty, aligned.shape[0],
        )  # fmt: skip
    target_sum = float(model.normalize.get("target_sum", DEFAULT_TARGET_SUM))
    scale = np.divide(target_sum, totals, out=np.zeros_like(totals), where=totals > 0)
    x = sp.csr_matrix(sp.diags(scale.astype(np.float32)) @ aligned, dtype=np.float32)
    x.data = np.log1p(x.data)
    median = np.median(totals[totals > 0]) if (totals > 0).any() else 1.0
    obs = pd.DataFrame(index=pd.Index(adata.obs_names, dtype=str))
    obs["size_factor"] = np.where(totals > 0, totals / median, 1.0).astype(np.float32)
    if "truth" in adata.obs:
        obs["truth"] = adata.obs["truth"].to_numpy()
    return ad.AnnData(
        X=x,
        obs=obs,
        var=pd.DataFrame(index=pd.Index(model.genes, dtype=str)),
        layers={"counts": aligned},
        uns={"normalize": {"target_sum": target_sum}},
    )


def _label_order(labels: pd.Index) -> list:
    """Labels sorted as numbers when all are (Leiden's '0', '1', ..., '10'), else as text."""
    values = [str(v) for v in labels]
    if all(v.lstrip("-").isdigit() for v in values):
        return sorted(values, key=int)
    return sorted(values)


def transfer(
    reference_latent: np.ndarray,
    reference_labels,
    query_latent: np.ndarray,
    *,
    neighbors: int = 15,
    min_confidence: float = 0.0,
) -> pd.DataFrame:
    """Label of each query cell: the majority label of its `neighbors` nearest reference cells
    in the latent (Euclidean; ties: the first label in order), and `confidence`, the winner's
    share of the votes. Cells below `min_confidence` get UNASSIGNED. Reference cells without
    a label (NaN) do not vote.
    """
    from sclatent.label_transfer import knn_vote

    labels = pd.Series(np.asarray(reference_labels, dtype=object))
    reference_latent = np.asarray(reference_latent)
    if len(labels) != reference_latent.shape[0]:
        raise InputError(
            f"{len(labels)} reference labels for {reference_latent.shape[0]} reference cells"
        )
    known = labels.notna().to_numpy()
    if not known.any():
        raise InputError("the reference has no labelled cells to transfer labels from")
    values = labels[known].astype(str)
    order = _label_order(pd.Index(values.unique()))
    codes = pd.Categorical(values, categories=order).codes
    winner, share = knn_vote(
        [reference_latent[known]], codes, [np.asarray(query_latent)], neighbors=neighbors
    )
    label = np.asarray(order, dtype=object)[winner]
    label[share < min_confidence] = UNASSIGNED
    categories = order + ([UNASSIGNED] if (share < min_confidence).any() else [])
    return pd.DataFrame(
        {"label": pd.Categorical(label, categories=categories), "confidence": share}
    )


@dataclass
class MappedCells:
    """Query cells in a reference's latent, with labels transferred from the reference."""

    cells: pd.Index
    latent: np.ndarray  # cells x latent dims, float32
    labels: dict[str, pd.DataFrame] = field(default_factory=dict)  # name -> label, confidence
    shared_genes: int = 0  # model genes found in the query
    model_genes: int = 0

    def obs(self) -> pd.DataFrame:
        """One row per cell: each labelling's label and `<name>_confidence`."""
        columns = {}
        for name, frame in self.labels.items():
            columns[name] = frame["label"].array  # stays categorical
            columns[f"{name}_confidence"] = frame["confidence"].to_numpy()
        return pd.DataFrame(columns, index=pd.Index(self.cells, dtype=str))

    def to_anndata(self, latent_name: str):
        """The cells as an AnnData without expression: obsm['X_<latent_name>'] and `obs()`."""
        import anndata as ad

        return ad.AnnData(
            obs=self.obs(), obsm={f"X_{latent_name}": np.asarray(self.latent, np.float32)}
        )


def map_cells(
    query,
    model,
    reference_latent: np.ndarray,
    reference_labels: Mapping[str, object],
    *,
    neighbors: int = 15,
    min_confidence: float = 0.0,
    min_shared: float = 0.5,
    where: str = "query",
) -> MappedCells:
    """Put the raw-count cells of `query` into the latent of `model` and transfer every
    labelling of `reference_labels` (name -> one label per row of `reference_latent`, the
    reference cells' coordinates in the same latent) by kNN vote (`transfer`)."""
    prepared = prepare_query(query, model, min_shared=min_shared, where=where)
    latent = np.asarray(model.encode(prepared), dtype=np.float32)
    reference_latent = np.asarray(reference_latent)
    if reference_latent.ndim != 2 or reference_latent.shape[1] != latent.shape[1]:
        raise InputError(
            f"{where}: the model gives {latent.shape[1]} latent dimensions, the reference "
            f"latent has shape {reference_latent.shape}: they are not the same model"
        )
    labels = {
        name: transfer(
            reference_latent,
            values,
            latent,
            neighbors=neighbors,
            min_confidence=min_confidence,
        ).set_axis(prepared.obs_names)
        for name, values in reference_labels.items()
    }
    shared = len(set(map(str, query.var_names)) & set(model.genes))
    return MappedCells(prepared.obs_names, latent, labels, shared, len(model.genes))


__all__ = [
    "UNASSIGNED",
    "MappedCells",
    "load_model",
    "map_cells",
    "prepare_query",
    "transfer",
]
