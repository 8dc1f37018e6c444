"""Rule score_latent: structure kept (local, global) and label scores of one latent."""

from sclatent.runtime import run_rule


def main(smk):
    from sclatent.h5io import load_latent, read_labels, read_matrix, write_json
    from sclatent.metrics import latent_scores

    names, latent = load_latent(smk.input.latent, smk.wildcards.latent)
    hvg_names, expression = read_matrix(smk.input.hvg)
    graph_names, distances = read_matrix(smk.input.graph, "obsp/distances")
    truth = read_labels(smk.input.truth, "truth").reindex(names)
    order = hvg_names.get_indexer(names)
    if not graph_names.equals(names):
        place = graph_names.get_indexer(names)
        distances = distances[place][:, place]
    scores = latent_scores(
        latent,
        expression[order],
        truth.to_numpy(),
        distances,
        k=smk.params.k,
        seed=smk.params.seed,
    )
    write_json(scores, smk.output[0])


run_rule(snakemake, main)
