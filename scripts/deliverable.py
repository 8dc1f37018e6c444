"""Rule deliverable: one AnnData with the expression, every latent and every clustering."""

from sclatent.runtime import run_rule


def main(smk):
    from pathlib import Path

    import anndata as ad

    from sclatent.h5io import load_latent, read_labels, write_h5ad

    adata = ad.read_h5ad(smk.input.norm)
    for name in smk.params.latents:
        names, latent = load_latent(getattr(smk.input, name), name)
        adata.obsm[f"X_{name}"] = latent[names.get_indexer(adata.obs_names)]
    for path in smk.input.clusters:
        latent, clustering = Path(path).name.removesuffix(".tsv").split(".")
        key = clustering if latent == "sccan" else f"{latent}_{clustering}"
        labels = read_labels(path, "cluster").reindex(adata.obs_names)
        adata.obs[key] = labels.astype("category")
    write_h5ad(adata, smk.output[0])


run_rule(snakemake, main)
