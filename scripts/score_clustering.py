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
    if smk.input.get("latent_scores"):
        row |= json.loads(Path(smk.input.latent_scores).read_text())
    if smk.input.get("sccan_record"):
        record = json.loads(Path(smk.input.sccan_record).read_text())
        row |= {"k_eigengap_best": record["k_best"], "k_eigengap_second": record["k_second"]}
        row |= {"fused_views": len(record["latent_names"]), "clustered_cells": record["n_sample"]}
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
