"""Rule score_latent: structure kept (local, global) and label scores of one latent."""

from sclatent.runtime import run_rule


def main(smk):
    import anndata as ad

    from sclatent.h5io import load_latent, read_labels, write_json
    from sclatent.metrics import latent_scores

    names, latent = load_latent(smk.input.latent, smk.wildcards.latent)
    hvg = ad.read_h5ad(smk.input.hvg)
    graph = ad.read_h5ad(smk.input.graph)
    truth = read_labels(smk.input.truth, "truth").reindex(names)
    order = hvg.obs_names.get_indexer(names)
    scores = latent_scores(
        latent,
        hvg.X[order],
        truth.to_numpy(),
        graph.obsp["distances"],
        k=smk.params.k,
        seed=smk.params.seed,
    )
    write_json(scores, smk.output[0])


run_rule(snakemake, main)
