"""Rule denoise_baselines: zero, gene-mean and PCA predictions of the hidden counts, scored."""

from sclatent.runtime import run_rule


def main(smk):
    import anndata as ad

    from sclatent.denoise import baseline_predictions, score_denoising
    from sclatent.h5io import write_table

    masked = ad.read_h5ad(smk.input[0])
    predictions = baseline_predictions(masked, pca_rank=smk.params.pca_rank, seed=smk.params.seed)
    write_table(score_denoising(masked, predictions), smk.output[0], index=False)


run_rule(snakemake, main)
