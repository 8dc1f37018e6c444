"""Rule denoise_autoencoder: train on the masked counts, predict the hidden ones, score."""

from sclatent.runtime import run_rule


def main(smk):
    from pathlib import Path

    import anndata as ad

    from sclatent.autoencoder.api import train_latent
    from sclatent.denoise import masked_entries, score_denoising
    from sclatent.h5io import write_table

    model = smk.wildcards.model
    masked = ad.read_h5ad(smk.input[0])
    result = train_latent(
        masked,
        model,
        smk.params.model_params,
        seed=smk.params.seed,
        checkpoint_dir=Path(smk.output[0]).with_suffix(""),
        device=smk.params.device,
        threads=smk.threads,
        restart_stale=True,
    )
    entries = masked_entries(masked)
    predicted = result.model.denoise_at(masked, entries.rows, entries.cols)
    write_table(score_denoising(masked, {model: predicted}), smk.output[0], index=False)


run_rule(snakemake, main)
