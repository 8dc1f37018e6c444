"""Small file helpers the rule scripts share: atomic writes and latent/label files.

The small steps read latents, kNN graphs and matrices straight from the h5ad files with h5py:
importing anndata would cost them more than their work (the layout is anndata's, stable
since its format 0.1: obs index named by obs.attrs['_index'], sparse matrices as groups of
data, indices and indptr)."""

from __future__ import annotations

import glob
import json
import os
from contextlib import contextmanager
from pathlib import Path

import h5py
import numpy as np
import pandas as pd


@contextmanager
def _atomic(path):
    """Yield a temporary path beside `path`; move it onto `path` only if the block succeeds.

    A crash, an exception or SIGTERM (see `runtime.run_rule`) leaves either the old file or
    none, never a half-written one under the final name. Temporaries left by a killed writer
    (SIGKILL, power loss) are removed on the next write; Snakemake runs one job per output.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{glob.escape(path.name)}.tmp*"):
        stale.unlink(missing_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_h5ad(adata, path) -> None:
    """Write an AnnData so that a crash never leaves a file that looks complete."""
    with _atomic(path) as tmp:
        adata.write_h5ad(tmp, compression=None)


def write_table(frame: pd.DataFrame, path, **kwargs) -> None:
    with _atomic(path) as tmp:
        frame.to_csv(tmp, sep="\t", **kwargs)


def write_text(text: str, path) -> None:
    with _atomic(path) as tmp:
        tmp.write_text(text)


def write_json(data: dict, path) -> None:
    write_text(json.dumps(data, indent=2, sort_keys=True, default=_plain) + "\n", path)


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def save_latent(
    obs_names,
    latent: np.ndarray,
    name: str,
    path,
    uns: dict | None = None,
    varm: dict | None = None,
    var_names=None,
) -> None:
    """A latent file: obs names plus obsm['X_{name}'], no expression matrix.

    A linear latent may keep its gene loadings in varm (genes named by `var_names`).
    """
    import anndata as ad

    var = pd.DataFrame(index=pd.Index([] if var_names is None else var_names, dtype=str))
    holder = ad.AnnData(obs=pd.DataFrame(index=pd.Index(obs_names, dtype=str)), var=var)
    holder.obsm[f"X_{name}"] = np.asarray(latent, dtype=np.float32)
    holder.varm.update(varm or {})
    holder.uns.update(uns or {})
    write_h5ad(holder, path)


def _obs_names(handle) -> pd.Index:
    obs = handle["obs"]
    return pd.Index(obs[obs.attrs["_index"]].asstr()[...], dtype=str)


def _matrix(node):
    """A dense array or a CSR/CSC matrix stored by anndata."""
    import scipy.sparse as sp

    if isinstance(node, h5py.Dataset):
        return node[...]
    kind = node.attrs["encoding-type"]
    parts = (node["data"][...], node["indices"][...], node["indptr"][...])
    shape = tuple(node.attrs["shape"])
    return (
        sp.csr_matrix(parts, shape=shape)
        if kind == "csr_matrix"
        else sp.csc_matrix(parts, shape=shape)
    )


def load_latent(path, name: str) -> tuple[pd.Index, np.ndarray]:
    """(cell names, obsm['X_{name}']) of a latent file."""
    with h5py.File(path, "r") as handle:
        return _obs_names(handle), np.asarray(handle["obsm"][f"X_{name}"][...])


def read_matrix(path, key: str = "X"):
    """(cell names, the matrix at `key`: 'X', 'layers/counts', 'obsp/connectivities'...)."""
    with h5py.File(path, "r") as handle:
        return _obs_names(handle), _matrix(handle[key])


def write_labels(obs_names, labels, path, column: str = "cluster") -> None:
    frame = pd.DataFrame({column: np.asarray(labels)}, index=pd.Index(obs_names, name="cell"))
    write_table(frame, path)


def read_labels(path, column: str) -> pd.Series:
    frame = pd.read_csv(path, sep="\t", index_col="cell", dtype={column: str}, keep_default_na=True)
    return frame[column]
