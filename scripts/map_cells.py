"""Rule map_cells: new cells into a trained reference's latent, labelled by its clusters."""

from sclatent.runtime import run_rule


def main(smk):
    import logging
    from pathlib import Path

    import numpy as np
    import pandas as pd

    from sclatent.errors import InputError
    from sclatent.h5io import load_latent, read_labels, write_h5ad, write_table
    from sclatent.io import read_counts
    from sclatent.mapping import UNASSIGNED, load_model, map_cells

    log = logging.getLogger("sclatent")
    query = smk.params.query
    cells = read_counts(
        smk.input.query,
        fmt=query["format"],
        orientation=query["orientation"],
        label_column=query["label_column"],
        counts_layer=query["counts_layer"],
        allow_non_integer=query["allow_non_integer"],
    )
    model = load_model(smk.input.model, device="cpu")
    reference_cells, reference_latent = load_latent(smk.input.reference_latent, query["latent"])

    def reference_labels(path, column):
        labels = read_labels(path, column)
        if not reference_cells.isin(labels.index).any():
            raise InputError(f"{path}: none of its cells are in {smk.input.reference_latent}")
        return labels.reindex(reference_cells).to_numpy()

    labellings = {"cluster": reference_labels(smk.input.clusters, "cluster")}
    if smk.input.get("truth"):
        truth = reference_labels(smk.input.truth, "truth")
        if pd.notna(truth).any():
            labellings["type"] = truth  # the reference's known types travel too
    mapped = map_cells(
        cells,
        model,
        reference_latent,
        labellings,
        neighbors=smk.params.neighbors,
        min_confidence=smk.params.min_confidence,
        min_shared=smk.params.min_shared_genes,
        where=str(smk.input.query),
    )

    adata = mapped.to_anndata(query["latent"])
    if "truth" in cells.obs:
        adata.obs["truth"] = cells.obs["truth"].array
    adata.uns["mapping"] = {
        "input": str(Path(smk.input.query)),
        "reference": query["reference"],
        "latent": query["latent"],
        "clusters": query["clusters"],
        "neighbors": smk.params.neighbors,
        "min_confidence": smk.params.min_confidence,
        "shared_genes": mapped.shared_genes,
        "model_genes": mapped.model_genes,
    }
    table = adata.obs[["cluster", "cluster_confidence"]].rename(
        columns={"cluster_confidence": "confidence"}
    )
    write_table(table.round(4).rename_axis("cell"), smk.output.labels)
    write_h5ad(adata, smk.output.latent)

    log.info(
        "mapped %d cells onto %s (%s, clusters %s): %.1f%% assigned, median confidence %.2f",
        len(table), query["reference"], query["latent"], query["clusters"],
        100 * np.mean(table["cluster"] != UNASSIGNED), np.median(table["confidence"]),
    )  # fmt: skip
    if {"type", "truth"} <= set(adata.obs):
        agree = np.mean(adata.obs["type"].astype(str) == adata.obs["truth"].astype(str))
        log.info("transferred types match the query's own labels in %.1f%% of cells", 100 * agree)


run_rule(snakemake, main)
