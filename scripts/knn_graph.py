"""Rule knn_graph: the kNN graph of one latent, shared by UMAP and Leiden."""

from sclatent.runtime import run_rule


def main(smk):
    from sclatent.embed import knn_graph
    from sclatent.h5io import load_latent, write_h5ad

    names, latent = load_latent(smk.input[0], smk.wildcards.latent)
    graph = knn_graph(
        latent, n_neighbors=smk.params.n_neighbors, seed=smk.params.seed, threads=smk.threads
    )
    graph.obs_names = names
    write_h5ad(graph, smk.output[0])


run_rule(snakemake, main)
