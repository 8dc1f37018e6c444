"""Rule gather_denoising: one table and one figure of the denoising benchmark."""

from sclatent.runtime import run_rule


def main(smk):
    from pathlib import Path

    import pandas as pd

    from sclatent.figures import denoising_plot
    from sclatent.h5io import write_table

    tables = [
        pd.read_csv(path, sep="\t").assign(dataset=Path(path).parent.parent.name)
        for path in smk.input
    ]
    table = pd.concat(tables, ignore_index=True)[
        ["dataset", "method", "mae", "pearson_r", "n_masked"]
    ]
    write_table(table, smk.output.table, index=False, float_format="%.4f")
    denoising_plot(table, smk.output.figure)


run_rule(snakemake, main)
