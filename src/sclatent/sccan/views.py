"""The views scCAN fuses: its own VAE snapshots, the PCA view, and the workflow's latents.

Kept apart from the fusion and the networks so that the jobs which only read views (scoring)
need neither torch nor numba.
"""

from __future__ import annotations

import numpy as np

from sclatent.errors import InputError
from sclatent.sccan.params import fused_views


def expression_hvgs(counts, *, n_top_genes: int = 2000):
    """The log-normalised HVG matrix (cells x HVGs, sparse) the normalize rule makes from raw
    counts: `preprocess.normalize` (seurat_v3 HVGs, log1p of counts per 1e4)."""
    import anndata as ad

    from sclatent.preprocess import normalize
    from sclatent.sccan.scaling import as_csr_float32

    adata = ad.AnnData(X=as_csr_float32(counts))
    normalize(adata, n_top_genes=n_top_genes)
    return adata.X[:, adata.var["highly_variable"].to_numpy()]


def pca_view(counts, n_components: int, *, n_top_genes: int = 2000) -> np.ndarray:
    """The project's PCA baseline latent made from raw counts: `embed.pca` of
    `expression_hvgs`, as the normalize and pca rules make it."""
    from sclatent.embed import pca

    scores, _, _ = pca(expression_hvgs(counts, n_top_genes=n_top_genes), n_comps=n_components)
    return np.asarray(scores, dtype=np.float64)


def assemble_views(
    params: dict,
    n_cells: int,
    vae: tuple[list[np.ndarray], list[str]] = ([], []),
    given: dict | None = None,
    *,
    counts=None,
) -> tuple[list[np.ndarray], list[str]]:
    """The views a run fuses, in the order of `fused_views`: the VAE snapshots for "vae", the
    PCA view for "pca" (`given['pca']`, else computed from `counts`), any other name from
    `given` (the workflow's latents, or a caller's)."""
    given = dict(given or {})
    latents, names = [], []
    for view in fused_views(params, n_cells):
        if view == "vae":
            latents += list(vae[0])
            names += list(vae[1])
        elif view in given:
            latents.append(np.asarray(given[view], dtype=np.float64))
            names.append(view)
        elif view == "pca" and counts is not None:
            latents.append(pca_view(counts, params["pca_view_components"]))
            names.append("pca")
        else:
            raise InputError(
                f"sccan: the view {view!r} is not available: give it as an extra latent named "
                f"{view!r}, or leave it out of the params' views"
            )
    return latents, names


def load_views(params: dict, latent_files: dict, vae_file=None):
    """The views a workflow run fuses, read from its files: (cell names, latents, view names).

    latent_files: view name -> the workflow's latent file (embed/{latent}.h5ad); vae_file: the
    sccan rule's file of VAE views (when the views include "vae"). Rows follow the cells of
    the first file.
    """
    import anndata as ad

    from sclatent.h5io import load_latent

    given, cells = {}, None
    for name, path in latent_files.items():
        names, latent = load_latent(path, name)
        cells = names if cells is None else cells
        given[name] = latent[names.get_indexer(cells)]
    vae = ([], [])
    if vae_file is not None:
        holder = ad.read_h5ad(vae_file)
        cells = holder.obs_names if cells is None else cells
        order = holder.obs_names.get_indexer(cells)
        names = list(holder.uns["views"])
        vae = ([np.asarray(holder.obsm[name])[order] for name in names], names)
    latents, names = assemble_views(params, len(cells), vae, given)
    return cells, latents, names
