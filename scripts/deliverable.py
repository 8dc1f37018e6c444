"""Rule deliverable: one AnnData that scanpy (and scvi-tools) users open as it is.

Expression (X log-normalised, layers['counts']), every latent (obsm X_<latent>) and its 2-D
layout (X_umap_<latent>), PCA loadings, the recommended method's kNN graph, clusters
(obs['sclatent_cluster']) and markers, one obs column per clustering and the QC metrics, all
under the keys scanpy's own functions write, so its plots and tools read them unchanged.
"""

from sclatent.runtime import run_rule

# QC metrics under the names of scanpy's calculate_qc_metrics (the values are the same).
SCANPY_QC_OBS = {"n_genes": "n_genes_by_counts", "pct_mito": "pct_counts_mt"}
SCANPY_QC_VAR = {"mito": "mt"}


def add_pca_loadings(adata, pca):
    """varm['PCs'] over all genes, zero for the non-HVGs, as scanpy stores an HVG-only PCA."""
    import numpy as np

    pcs = np.zeros((adata.n_vars, pca.varm["PCs"].shape[1]), dtype=np.float32)
    pcs[adata.var_names.get_indexer(pca.var_names)] = pca.varm["PCs"]
    adata.varm["PCs"] = pcs
    adata.uns["pca"] = pca.uns["pca"]


def add_neighbors(adata, graph, latent: str):
    """The latent's kNN graph as sc.pp.neighbors(use_rep='X_<latent>') would leave it."""
    order = graph.obs_names.get_indexer(adata.obs_names)
    for key in ("connectivities", "distances"):
        adata.obsp[key] = graph.obsp[key][order][:, order]
    neighbors = dict(graph.uns["neighbors"])
    neighbors["params"] = {**neighbors["params"], "use_rep": f"X_{latent}"}
    adata.uns["neighbors"] = neighbors
    if f"X_{latent}" not in adata.obsm:
        adata.obsm[f"X_{latent}"] = graph.obsm["X_latent"][order]


def main(smk):
    from pathlib import Path

    import anndata as ad
    import scanpy as sc

    from sclatent.h5io import load_latent, read_labels, write_h5ad
    from sclatent.markers import GROUPBY, cluster_categories

    adata = ad.read_h5ad(smk.input.norm)

    def aligned(names, values):
        return values[names.get_indexer(adata.obs_names)]

    def clusters(path):
        return cluster_categories(read_labels(path, "cluster").reindex(adata.obs_names))

    for name, path in zip(smk.params.latents, smk.input.latents, strict=True):
        adata.obsm[f"X_{name}"] = aligned(*load_latent(path, name))
        if name == "pca":
            add_pca_loadings(adata, ad.read_h5ad(path))
    for name, path in zip(smk.params.laid_out, smk.input.layouts, strict=True):
        adata.obsm[f"X_umap_{name}"] = aligned(*load_latent(path, "umap"))
    if "X_scvi" in adata.obsm:
        adata.obsm["X_scVI"] = adata.obsm["X_scvi"]  # the key scvi-tools looks up
    for path in smk.input.clusters:
        latent, clustering = Path(path).name.removesuffix(".tsv").split(".")
        adata.obs[clustering if latent == "sccan" else f"{latent}_{clustering}"] = clusters(path)
    adata.obs[GROUPBY] = clusters(smk.input.recommended)
    latent = smk.params.recommended_latent
    add_neighbors(adata, ad.read_h5ad(smk.input.graph), latent)
    adata.obs = adata.obs.rename(columns=SCANPY_QC_OBS)
    adata.var = adata.var.rename(columns=SCANPY_QC_VAR)
    markers = ad.read_h5ad(smk.input.markers)
    if "rank_genes_groups" in markers.uns:
        adata.uns["rank_genes_groups"] = markers.uns["rank_genes_groups"]
    if adata.obs[GROUPBY].nunique() > 1:  # the cluster order scanpy's marker plots use
        sc.tl.dendrogram(adata, GROUPBY, use_rep=f"X_{latent}")
    write_h5ad(adata, smk.output[0])


run_rule(snakemake, main)
