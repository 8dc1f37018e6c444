"""Rule mask_counts: hide a fraction of the nonzero counts for the denoising benchmark (of a
seeded sample of denoise.max_cells cells on larger datasets)."""

from sclatent.runtime import run_rule


def main(smk):
    import anndata as ad

    from sclatent.denoise import denoise_sample, mask_hvg
    from sclatent.h5io import write_h5ad

    adata = ad.read_h5ad(smk.input[0])
    cells = denoise_sample(adata.n_obs, smk.params.max_cells, smk.params.seed)
    if len(cells) < adata.n_obs:
        adata = adata[cells].copy()
    masked = mask_hvg(
        adata, fraction=smk.params.fraction, seed=smk.params.seed, target_sum=smk.params.target_sum
    )
    write_h5ad(masked, smk.output[0])


run_rule(snakemake, main)
