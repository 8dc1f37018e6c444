"""Rule pca: the PCA latent of the log-normalised HVGs, with its gene loadings."""

from sclatent.runtime import run_rule


def main(smk):
    import anndata as ad

    from sclatent.embed import pca
    from sclatent.h5io import save_latent

    adata = ad.read_h5ad(smk.input[0])
    scores, loadings, variance_ratio = pca(adata.X, **smk.params.pca)
    uns = {
        "pca": {
            "variance_ratio": variance_ratio,
            "variance": scores.var(axis=0, ddof=1, dtype="float64"),
            "params": {"zero_center": True, "mask_var": "highly_variable", **smk.params.pca},
        }
    }
    save_latent(
        adata.obs_names,
        scores,
        "pca",
        smk.output[0],
        uns=uns,
        varm={"PCs": loadings},
        var_names=adata.var_names,
    )


run_rule(snakemake, main)
