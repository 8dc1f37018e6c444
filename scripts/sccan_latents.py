"""Rule sccan: scCAN's neural part (scaling, gene filter, VAE ensemble) on the QC'd counts,
checkpointed (SIGTERM saves and exits 143; the rerun resumes). A flavour whose VAE settings
equal another's reuses that flavour's VAE views (input `trained`) and adds only its own."""

from sclatent.runtime import run_rule


def main(smk):
    from pathlib import Path

    import anndata as ad
    import pandas as pd

    from sclatent.h5io import write_h5ad
    from sclatent.sccan.api import sccan_latents, vae_views_of

    counts = ad.read_h5ad(smk.input.counts)
    trained, timings = None, {}
    if smk.input.get("trained"):
        views = ad.read_h5ad(smk.input.trained)
        trained = vae_views_of(views, counts.var_names)
        timings = {k: v for k, v in views.uns["timings"].items() if k != "pca"}
    latents, names, genes_used, own_timings = sccan_latents(
        counts,
        smk.wildcards.flavour,
        smk.params.sccan_params,
        seed=smk.params.seed,
        layer=None,
        device=smk.params.device,
        threads=smk.threads,
        # not a declared output: kept when the job fails, so a rerun resumes the networks
        checkpoint_dir=Path(smk.output.latents).parent / "checkpoints",
        trained=trained,
    )
    holder = ad.AnnData(obs=pd.DataFrame(index=counts.obs_names))
    for name, latent in zip(names, latents, strict=True):
        holder.obsm[name] = latent
    holder.uns["views"] = list(names)
    holder.uns["timings"] = timings | own_timings
    if genes_used is not None:
        holder.uns["genes_used"] = counts.var_names[genes_used].to_numpy(dtype=str)
    write_h5ad(holder, smk.output.latents)


run_rule(snakemake, main)
