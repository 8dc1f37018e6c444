"""Rule sccan_cluster: scCAN's network fusion, eigengap k and spectral clustering."""

from sclatent.runtime import run_rule


def main(smk):
    import anndata as ad

    from sclatent.h5io import read_labels, write_json, write_labels
    from sclatent.sccan.api import cluster_latents

    views = ad.read_h5ad(smk.input.latents)
    names = list(views.uns["views"])
    k = read_labels(smk.input.truth, "truth").nunique() if smk.params.k_given else None
    result = cluster_latents(
        [views.obsm[name] for name in names],
        smk.params.flavour,
        smk.params.sccan_params,
        seed=smk.params.seed,
        k=k,
        names=names,
        threads=smk.threads,
    )
    write_labels(views.obs_names, result.labels, smk.output.clusters)
    write_json(result.summary() | {"latent_timings": dict(views.uns["timings"])}, smk.output.record)


run_rule(snakemake, main)
