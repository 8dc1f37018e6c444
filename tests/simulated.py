"""hvg.h5ad-shaped test data from the project's simulator, `sclatent.simulate`."""

from __future__ import annotations


def simulated_hvg(n_cells: int, n_genes: int, *, seed: int = 0, n_types: int = 3, **options):
    """What the workflow's normalize step makes of simulated counts, every gene kept as HVG:
    X log1p(counts normalised to 1e4), layers['counts'], obs['size_factor'], obs['truth'].

    No mitochondrial genes and no low-quality cells (QC would remove them); `options` are
    further `SimulationParams`.
    """
    from sclatent.preprocess import hvg_view, normalize
    from sclatent.simulate import simulate_counts

    options = {"n_mito_genes": 0, "low_quality_fraction": 0.0} | options
    adata = simulate_counts(n_cells, n_genes, n_types, seed=seed, **options)
    normalize(adata, n_top_genes=n_genes)
    return hvg_view(adata)
