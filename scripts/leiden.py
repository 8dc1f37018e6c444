"""Rule leiden: Leiden communities of a latent's kNN graph."""

from sclatent.runtime import run_rule


def main(smk):
    import anndata as ad

    from sclatent.cluster import leiden
    from sclatent.h5io import write_labels

    graph = ad.read_h5ad(smk.input[0])
    labels = leiden(graph, resolution=smk.params.resolution, seed=smk.params.seed)
    write_labels(graph.obs_names, labels, smk.output[0])


run_rule(snakemake, main)
