"""Rule score_clustering: one metrics row: agreement with the truth, label-free scores of the
partition, latent scores, cost."""

from sclatent.runtime import run_rule


def label_free(smk, clusters):
    """cluster_silhouette and stability, with the clusters aligned to the latent's cells."""
    from sclatent.h5io import load_latent, read_matrix
    from sclatent.metrics import label_free_scores

    settings = {k: smk.params[k] for k in ("seed", "resolution", "n_init")}
    clustering = smk.wildcards.clustering
    if smk.params.sccan:
        from sclatent.sccan.params import resolve_params
        from sclatent.sccan.views import load_views

        sccan = smk.params.sccan
        params = resolve_params(sccan["flavour"], sccan["params"])
        files = dict(zip(sccan["view_latents"], smk.input.views, strict=True))
        cells, latents, _ = load_views(params, files, smk.input.get("vae"))
        labels = clusters.reindex(cells).to_numpy()
        return label_free_scores(clustering, labels, views=latents, **settings)
    names, latent = load_latent(smk.input.latent, smk.wildcards.latent)
    graph = None
    if smk.input.get("graph"):
        graph_names, graph = read_matrix(smk.input.graph, "obsp/connectivities")
        if not graph_names.equals(names):
            place = graph_names.get_indexer(names)
            graph = graph[place][:, place]
    labels = clusters.reindex(names).to_numpy()
    return label_free_scores(clustering, labels, latent=latent, graph=graph, **settings)


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
    row |= label_free(smk, clusters)
    if smk.input.get("latent_scores"):
        row |= json.loads(Path(smk.input.latent_scores).read_text())
    if smk.input.get("sccan_record"):
        record = json.loads(Path(smk.input.sccan_record).read_text())
        row |= {"k_eigengap_best": record["k_best"], "k_eigengap_second": record["k_second"]}
        row |= {"k_tracy_widom": record.get("k_count")}
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
