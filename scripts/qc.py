"""Rule qc: per-cell metrics and filters, the QC figure and the filter table."""

from sclatent.runtime import run_rule


def main(smk):
    import anndata as ad
    import pandas as pd

    from sclatent.h5io import write_h5ad, write_labels, write_table
    from sclatent.qc import check_enough_cells, filter_cells_and_genes, plot_qc

    dataset = smk.wildcards.dataset
    adata = ad.read_h5ad(smk.input[0])
    kept, table = filter_cells_and_genes(adata, smk.params.qc, dataset=dataset)
    check_enough_cells(kept, dataset, smk.params.n_neighbors)
    plot_qc(adata.obs, table, smk.output.figure, dataset)
    write_table(table, smk.output.table, index=False)
    truth = kept.obs["truth"] if "truth" in kept.obs else pd.Series(pd.NA, index=kept.obs_names)
    write_labels(kept.obs_names, truth, smk.output.truth, column="truth")
    write_h5ad(kept, smk.output.h5ad)


run_rule(snakemake, main)
