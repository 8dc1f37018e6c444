"""Small file helpers the rule scripts share: atomic writes and latent/label files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd


def _temp_beside(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp{os.getpid()}")


def write_h5ad(adata, path) -> None:
    """Write an AnnData so that a crash never leaves a file that looks complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_beside(path)
    try:
        adata.write_h5ad(tmp, compression=None)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_table(frame: pd.DataFrame, path, **kwargs) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_beside(path)
    try:
        frame.to_csv(tmp, sep="\t", **kwargs)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(data: dict, path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_beside(path)
    try:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=_plain) + "\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def save_latent(obs_names, latent: np.ndarray, name: str, path, uns: dict | None = None) -> None:
    """A latent file: obs names plus obsm['X_{name}'], no expression matrix."""
    import anndata as ad

    holder = ad.AnnData(obs=pd.DataFrame(index=pd.Index(obs_names, dtype=str)))
    holder.obsm[f"X_{name}"] = np.asarray(latent, dtype=np.float32)
    holder.uns.update(uns or {})
    write_h5ad(holder, path)


def load_latent(path, name: str) -> tuple[pd.Index, np.ndarray]:
    import anndata as ad

    holder = ad.read_h5ad(path)
    return holder.obs_names, np.asarray(holder.obsm[f"X_{name}"])


def write_labels(obs_names, labels, path, column: str = "cluster") -> None:
    frame = pd.DataFrame({column: np.asarray(labels)}, index=pd.Index(obs_names, name="cell"))
    write_table(frame, path)


def read_labels(path, column: str) -> pd.Series:
    frame = pd.read_csv(path, sep="\t", index_col="cell", dtype={column: str}, keep_default_na=True)
    return frame[column]
