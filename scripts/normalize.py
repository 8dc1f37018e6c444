"""Rule normalize: log-normalised expression, HVGs, and the HVG matrix latent methods read."""

from sclatent.runtime import run_rule


def main(smk):
    import anndata as ad

    from sclatent.h5io import write_h5ad
    from sclatent.preprocess import hvg_view, normalize

    adata = ad.read_h5ad(smk.input[0])
    normalize(adata, **smk.params.normalize)
    write_h5ad(hvg_view(adata), smk.output.hvg)
    write_h5ad(adata, smk.output.norm)


run_rule(snakemake, main)
