"""`python -m sclatent.precompile`: the numba kernels of the default workflow, compiled once
when the environment is installed (`make` does it), so the first run does not compile them in
its jobs. Apart from `sclatent.numba_cache` so that the scanpy-only rules, which import that,
do not import torch through this."""

from sclatent.numba_cache import cache_numba_kernels


def compile_kernels(n_cells: int = 300) -> None:
    """Compile, on a small simulated dataset, the numba kernels a first run would otherwise
    compile inside its jobs: scanpy's HVG and Wilcoxon kernels, the UMAP layout and the scCAN
    fusion in both precisions. `make` runs it once after installing (about 40 s), so the
    first `make run` costs what every later one does; numba recompiles anything it missed.
    """
    import numpy as np

    from sclatent.embed import knn_graph, pca, umap_from_graph
    from sclatent.markers import rank_markers
    from sclatent.preprocess import normalize
    from sclatent.sccan.api import cluster_latents
    from sclatent.simulate import simulate_counts

    cache_numba_kernels()
    adata = simulate_counts(n_cells=n_cells, n_genes=500, n_types=3, seed=0)
    adata = adata[adata.X.getnnz(axis=1) > 0].copy()
    normalize(adata, n_top_genes=200)
    latent = pca(adata.X[:, adata.var["highly_variable"].to_numpy()], n_comps=10)[0]
    rank_markers(adata, adata.obs["truth"].astype(str).to_numpy(), n_genes=5)
    umap_from_graph(knn_graph(latent, n_neighbors=15), n_components=2)
    views = [latent, np.asarray(latent[:, :5], dtype=np.float32)]
    for flavour in ("faithful", "improved"):
        cluster_latents(views, flavour, k=3)


if __name__ == "__main__":
    compile_kernels()
