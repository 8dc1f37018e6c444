"""Rule gather_metrics: one row per dataset x latent x clustering in metrics.tsv."""

from sclatent.runtime import run_rule


def main(smk):
    import json
    from pathlib import Path

    from sclatent.h5io import write_table
    from sclatent.metrics import metrics_table

    rows = [json.loads(Path(path).read_text()) for path in smk.input]
    table = metrics_table(rows, recommended=tuple(smk.params.recommended))
    write_table(table, smk.output[0], index=False, float_format="%.4f")


run_rule(snakemake, main)
