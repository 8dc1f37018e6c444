"""Rule markers: marker genes, sizes and a dotplot of the recommended clustering's clusters."""

from sclatent.runtime import run_rule


def main(smk):
    from pathlib import Path

    import anndata as ad

    from sclatent.figures import marker_dotplot
    from sclatent.h5io import read_labels, write_h5ad, write_table
    from sclatent.markers import GROUPBY, cluster_sizes, rank_markers

    adata = ad.read_h5ad(smk.input.norm)
    labels = read_labels(smk.input.clusters, "cluster").reindex(adata.obs_names)
    table = rank_markers(adata, labels, n_genes=smk.params.markers["n_genes"])
    write_table(table, smk.output.table, index=False)
    write_table(cluster_sizes(labels), smk.output.sizes, index=False)
    method = Path(smk.input.clusters).name.removesuffix(".tsv").replace(".", " + ")
    n_plotted = smk.params.markers["dotplot_genes"]
    title = f"{smk.wildcards.dataset}: top {n_plotted} markers of each {method} cluster"
    marker_dotplot(adata, smk.output.figure, n_genes=n_plotted, title=title)
    result = {k: adata.uns[k] for k in ("rank_genes_groups",) if k in adata.uns}
    write_h5ad(ad.AnnData(obs=adata.obs[[GROUPBY]], uns=result), smk.output.result)


run_rule(snakemake, main)
