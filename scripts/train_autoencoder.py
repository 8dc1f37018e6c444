"""Rule train_autoencoder: train one autoencoder on the HVGs (resuming a checkpoint) and embed."""

from sclatent.runtime import run_rule


def main(smk):
    from pathlib import Path

    import anndata as ad

    from sclatent.autoencoder.api import train_latent
    from sclatent.autoencoder.plots import plot_history
    from sclatent.h5io import save_latent, write_table
    from sclatent.training_record import write_training_record

    model = smk.wildcards.model
    adata = ad.read_h5ad(smk.input[0])
    result = train_latent(
        adata,
        model,
        smk.params.model_params,
        seed=smk.params.seed,
        checkpoint_dir=Path(smk.output.weights).parent,
        device=smk.params.device,
        threads=smk.threads,
        restart_stale=True,
        budget=smk.params.budget,
    )
    save_latent(adata.obs_names, result.latent, model, smk.output.latent)
    write_table(result.history, smk.output.history, index=False)
    plot_history(result.history, smk.output.curve, title=f"{smk.wildcards.dataset}: {model}")
    write_training_record(result, smk.output.info)


run_rule(snakemake, main)
