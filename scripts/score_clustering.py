"""Rule score_clustering: one metrics row: agreement with the truth, latent scores, cost."""

from sclatent.runtime import run_rule


def main(smk):
    import json
    from pathlib import Path

    from sclatent.h5io import read_labels, write_json
    from sclatent.metrics import clustering_agreement, summed_cost

    clusters = read_labels(smk.input.clusters, "cluster")
    truth = read_labels(smk.input.truth, "truth").reindex(clusters.index)
    row = {k: smk.wildcards[k] for k in ("dataset", "latent", "clustering")}
    row |= clustering_agreement(truth, clusters.to_numpy())
    row |= json.loads(Path(smk.input.latent_scores).read_text())
    row |= summed_cost(smk.input.latent_cost, "latent")
    row |= summed_cost(smk.input.clustering_cost, "clustering")
    write_json(row, smk.output[0])


run_rule(snakemake, main)
