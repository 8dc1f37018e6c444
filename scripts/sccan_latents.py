"""Rule sccan: scCAN's neural part (scaling, gene filter, VAE ensemble) on the QC'd counts,
checkpointed (SIGTERM saves and exits 143; the rerun resumes). Flavours with the same VAE
settings read one such file (`vae_views_owner` in common.smk)."""

from sclatent.runtime import run_rule


def main(smk):
    from pathlib import Path

    import anndata as ad
    import pandas as pd

    from sclatent.h5io import write_h5ad
    from sclatent.sccan.api import sccan_latents

    counts = ad.read_h5ad(smk.input.counts)
    latents, names, genes_used, timings = sccan_latents(
        counts,
        smk.wildcards.flavour,
        smk.params.sccan_params,
        seed=smk.params.seed,
        layer=None,
        device=smk.params.device,
        threads=smk.threads,
        # not a declared output: kept when the job fails, so a rerun resumes the networks
        checkpoint_dir=Path(smk.output.latents).parent / "checkpoints",
    )
    holder = ad.AnnData(obs=pd.DataFrame(index=counts.obs_names))
    for name, latent in zip(names, latents, strict=True):
        holder.obsm[name] = latent
    holder.uns["views"] = list(names)
    holder.uns["timings"] = timings
    if genes_used is not None:
        holder.uns["genes_used"] = counts.var_names[genes_used].to_numpy(dtype=str)
    write_h5ad(holder, smk.output.latents)


run_rule(snakemake, main)
