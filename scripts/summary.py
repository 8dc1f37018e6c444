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
    write_text(build_summary(metrics, figures, environment, references), smk.output[0])


run_rule(snakemake, main)
