"""Rule summary: the two-minute HTML summary of the benchmark."""

from sclatent.runtime import run_rule


def main(smk):
    from pathlib import Path

    import pandas as pd
    import yaml

    from sclatent.h5io import write_text
    from sclatent.summary import build_summary, references_beside_ours

    metrics = pd.read_csv(smk.input.metrics, sep="\t")
    environment = yaml.safe_load(Path(smk.input.environment).read_text())
    figures = {
        "ari_heatmap": smk.input.heatmap,
        "structure": smk.input.structure,
        "cost": smk.input.cost,
    }
    references = None
    if smk.input.get("references"):
        published = pd.read_csv(smk.input.references, sep="\t")
        references = references_beside_ours(published, metrics)
    pages = {
        dataset: {
            "recommended_figure": recommended,
            "markers_figure": markers_figure,
            "markers": pd.read_csv(markers, sep="\t"),
            "sizes": pd.read_csv(sizes, sep="\t"),
        }
        for dataset, recommended, markers_figure, markers, sizes in zip(
            smk.params.datasets,
            smk.input.recommended_figures,
            smk.input.markers_figures,
            smk.input.markers,
            smk.input.sizes,
            strict=True,
        )
    }
    page = build_summary(metrics, figures, environment, references, datasets=pages)
    write_text(page, smk.output[0])


run_rule(snakemake, main)
