"""Rule mask_counts: hide a fraction of the nonzero counts for the denoising benchmark."""

from sclatent.runtime import run_rule


def main(smk):
    import anndata as ad

    from sclatent.denoise import mask_hvg
    from sclatent.h5io import write_h5ad

    adata = ad.read_h5ad(smk.input[0])
    masked = mask_hvg(
        adata, fraction=smk.params.fraction, seed=smk.params.seed, target_sum=smk.params.target_sum
    )
    write_h5ad(masked, smk.output[0])


run_rule(snakemake, main)
