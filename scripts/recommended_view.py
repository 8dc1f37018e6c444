"""Rule recommended_view: the recommended clustering on the PCA UMAP and the evidence for k."""

from sclatent.runtime import run_rule


def main(smk):
    import json
    from pathlib import Path

    from sclatent.figures import recommended_figure
    from sclatent.h5io import load_latent, read_labels
    from sclatent.recommend import k_evidence

    clusters = read_labels(smk.input.clusters, "cluster")
    truth = read_labels(smk.input.truth, "truth").reindex(clusters.index)
    names, layout = load_latent(smk.input.layout, "umap")
    record = json.loads(Path(smk.input.record).read_text())
    recommended_figure(
        layout[names.get_indexer(clusters.index)],
        clusters.to_numpy(),
        truth.to_numpy(),
        k_evidence(record),
        smk.output[0],
        smk.wildcards.dataset,
        smk.params.method,
    )


run_rule(snakemake, main)
