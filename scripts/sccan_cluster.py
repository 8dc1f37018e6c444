"""Rule sccan_cluster: scCAN's network fusion of its views, eigengap k and spectral clustering."""

from sclatent.runtime import run_rule


def main(smk):
    from sclatent.h5io import read_labels, write_json, write_labels
    from sclatent.sccan.api import cluster_latents
    from sclatent.sccan.params import resolve_params
    from sclatent.sccan.signal_count import signal_count_of_file
    from sclatent.sccan.views import load_views

    params = resolve_params(smk.params.flavour, smk.params.sccan_params)
    latent_files = dict(zip(smk.params.view_latents, smk.input.views, strict=True))
    cells, latents, names = load_views(params, latent_files, smk.input.get("vae"))
    k = read_labels(smk.input.truth, "truth").nunique() if smk.params.k_given else None
    hvg = smk.input.get("hvg")  # given when the k rule reads its Tracy-Widom count
    k_count = None
    if hvg is not None:
        k_count = signal_count_of_file(hvg, params["count_cells"], seed=smk.params.seed)
    result = cluster_latents(
        latents,
        smk.params.flavour,
        params,
        seed=smk.params.seed,
        k=k,
        names=names,
        threads=smk.threads,
        k_count=k_count,
    )
    write_labels(cells, result.labels, smk.output.clusters)
    write_json(result.summary(), smk.output.record)


run_rule(snakemake, main)
