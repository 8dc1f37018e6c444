"""Rule pca: the PCA latent of the log-normalised HVGs."""

from sclatent.runtime import run_rule


def main(smk):
    import anndata as ad

    from sclatent.embed import pca
    from sclatent.h5io import save_latent

    adata = ad.read_h5ad(smk.input[0])
    scores, _, variance_ratio = pca(adata.X, **smk.params.pca)
    uns = {"pca": {"variance_ratio": variance_ratio, **smk.params.pca}}
    save_latent(adata.obs_names, scores, "pca", smk.output[0], uns=uns)


run_rule(snakemake, main)
