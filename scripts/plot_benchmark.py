"""Rule plot_benchmark: cross-dataset figures (score heatmap, structure, cost)."""

from sclatent.runtime import run_rule


def main(smk):
    import pandas as pd

    from sclatent.figures import ari_heatmap, cost_plot, cost_table, structure_scatter

    metrics = pd.read_csv(smk.input[0], sep="\t")
    ari_heatmap(metrics, smk.output.heatmap)
    structure_scatter(metrics, smk.output.structure)
    cost_plot(cost_table(metrics), smk.output.cost)


run_rule(snakemake, main)
