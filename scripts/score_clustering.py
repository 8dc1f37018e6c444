"""Rule score_clustering: one metrics row: agreement with the truth, latent scores, cost."""

from sclatent.runtime import run_rule


def main(smk):
    import json
    from pathlib import Path

    import pandas as pd

    from sclatent.h5io import read_labels, write_json
    from sclatent.metrics import clustering_agreement, summed_cost

    clusters = read_labels(smk.input.clusters, "cluster")
    truth = read_labels(smk.input.truth, "truth").reindex(clusters.index)
    row = {k: smk.wildcards[k] for k in ("dataset", "latent", "clustering")}
    row |= clustering_agreement(truth, clusters.to_numpy())
    row |= json.loads(Path(smk.input.latent_scores).read_text())
    row |= summed_cost(smk.input.latent_cost, "latent")
    row |= summed_cost(smk.input.clustering_cost, "clustering")
    if smk.input.get("training"):
        training = json.loads(Path(smk.input.training).read_text())
        row |= {"device": training["device"], "peak_gpu_memory_mb": training["peak_gpu_memory_mb"]}
        row |= {"train_epochs": training["epochs"]}
    if smk.input.get("denoising"):
        scores = pd.read_csv(smk.input.denoising, sep="\t").iloc[0]
        row |= {"denoise_mae": scores["mae"], "denoise_pearson_r": scores["pearson_r"]}
    write_json(row, smk.output[0])


run_rule(snakemake, main)
