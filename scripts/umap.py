"""Rules umap and umap_layout: a UMAP laid out from a latent's kNN graph.

For the PCA graph it is the UMAP baseline latent; for other latents, the layout they are drawn with.
"""

from sclatent.runtime import run_rule


def main(smk):
    import anndata as ad

    from sclatent.embed import umap_from_graph
    from sclatent.h5io import save_latent

    graph = ad.read_h5ad(smk.input[0])
    coords = umap_from_graph(graph, seed=smk.params.seed, **smk.params.umap)
    save_latent(graph.obs_names, coords, "umap", smk.output[0], uns={"umap": smk.params.umap})


run_rule(snakemake, main)
