"""Rule plot_umaps: one row per latent, coloured by the true types and each clustering."""

from sclatent.runtime import run_rule


def main(smk):
    import json
    from pathlib import Path

    from sclatent.figures import umap_grid
    from sclatent.h5io import load_latent, read_labels

    truth = read_labels(smk.input.truth, "truth")
    coords = {}
    for latent, path in zip(smk.params.latents, smk.input.layouts, strict=True):
        names, layout = load_latent(path, "umap")
        coords[latent] = layout[names.get_indexer(truth.index)]
    clusterings = {}
    for path in smk.input.clusters:
        latent, clustering = Path(path).name.removesuffix(".tsv").split(".")
        clusterings[latent, clustering] = (
            read_labels(path, "cluster").reindex(truth.index).to_numpy()
        )
    scores = {}
    for path in smk.input.metrics:
        row = json.loads(Path(path).read_text())
        scores[row["latent"], row["clustering"]] = row["ari"]
    umap_grid(
        coords,
        truth.to_numpy(),
        clusterings,
        scores,
        smk.output[0],
        smk.wildcards.dataset,
        borrowed_layouts=smk.params.borrowed_layouts,
    )


run_rule(snakemake, main)
