"""Rule train_scvi: the scVI latent of the HVG counts (scvi-tools), the established reference,
and the model itself (scvi-tools' save), for reuse and for mapping new cells."""

from sclatent.runtime import run_rule


def main(smk):
    import anndata as ad

    from sclatent.autoencoder.plots import plot_history
    from sclatent.autoencoder.scvi_model import scvi_latent
    from sclatent.h5io import save_latent, write_table
    from sclatent.training_record import write_training_record

    adata = ad.read_h5ad(smk.input[0])
    result = scvi_latent(
        adata,
        smk.params.model_params,
        seed=smk.params.seed,
        device=smk.params.device,
        threads=smk.threads,
        save_dir=smk.output.model,
        budget=smk.params.budget,
    )
    save_latent(adata.obs_names, result.latent, "scvi", smk.output.latent)
    write_table(result.history, smk.output.history, index=False)
    plot_history(result.history, smk.output.curve, title=f"{smk.wildcards.dataset}: scvi")
    write_training_record(result, smk.output.info)


run_rule(snakemake, main)
