"""Rule gather_metrics: one row per dataset x latent x clustering in metrics.tsv."""

from sclatent.runtime import run_rule


def main(smk):
    import json
    from pathlib import Path

    import pandas as pd

    from sclatent.h5io import write_table
    from sclatent.metrics import METRIC_COLUMNS

    rows = [json.loads(Path(path).read_text()) for path in smk.input]
    table = pd.DataFrame(rows).sort_values(["dataset", "latent", "clustering"])
    first = [c for c in METRIC_COLUMNS if c in table.columns]
    table = table[first + [c for c in table.columns if c not in first]]
    write_table(table, smk.output[0], index=False, float_format="%.4f")


run_rule(snakemake, main)
