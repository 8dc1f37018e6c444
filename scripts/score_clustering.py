"""Rule score_clustering: ARI/NMI/AMI of one clustering of one latent against the truth."""

from sclatent.runtime import run_rule


def main(smk):
    from sclatent.h5io import read_labels, write_json
    from sclatent.metrics import clustering_agreement

    clusters = read_labels(smk.input.clusters, "cluster")
    truth = read_labels(smk.input.truth, "truth").reindex(clusters.index)
    scores = clustering_agreement(truth, clusters.to_numpy())
    keys = {k: smk.wildcards[k] for k in ("dataset", "latent", "clustering")}
    write_json(keys | scores, smk.output[0])


run_rule(snakemake, main)
