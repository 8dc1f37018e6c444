"""Rule denoise_autoencoder: train on the masked counts, predict the hidden ones, score.

The retrained model is checkpointed beside the table (so an interrupted job resumes) and
removed once the table is written, unless the config keeps intermediates: nothing reads it.
"""

from sclatent.runtime import run_rule


def main(smk):
    import shutil
    from pathlib import Path

    import anndata as ad

    from sclatent.autoencoder.api import train_latent
    from sclatent.denoise import masked_entries, score_denoising
    from sclatent.h5io import write_table

    model = smk.wildcards.model
    masked = ad.read_h5ad(smk.input[0])
    checkpoints = Path(smk.output[0]).with_suffix("")
    result = train_latent(
        masked,
        model,
        smk.params.model_params,
        seed=smk.params.seed,
        checkpoint_dir=checkpoints,
        device=smk.params.device,
        threads=smk.threads,
        restart_stale=True,
        budget=smk.params.budget,
    )
    entries = masked_entries(masked)
    predicted = result.model.denoise_at(masked, entries.rows, entries.cols)
    write_table(score_denoising(masked, {model: predicted}), smk.output[0], index=False)
    if not smk.params.keep:
        shutil.rmtree(checkpoints)


run_rule(snakemake, main)
