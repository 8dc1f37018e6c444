"""Baseline latents: PCA equals a dense reference; the kNN graph and UMAP are scanpy's,
seeded, without scanpy."""

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import PCA

from sclatent import embed
from sclatent.embed import knn_graph, pca, umap_from_graph


def random_sparse(n=400, g=60, seed=0):
    """Log counts with a clear low-rank structure, so the leading components are well separated."""
    rng = np.random.default_rng(seed)
    factors = rng.gamma(1.0, 1.0, (n, 6)) @ (
        rng.gamma(0.3, 1.0, (6, g)) * np.linspace(3, 0.5, 6)[:, None]
    )
    dense = rng.poisson(factors).astype(np.float32)
    return sp.csr_matrix(np.log1p(dense))


def test_pca_matches_dense_sklearn_up_to_sign():
    X = random_sparse()
    scores, loadings, ratio = pca(X, 10, chunk_rows=64)
    reference = PCA(10, svd_solver="full").fit(X.toarray())
    expected = reference.transform(X.toarray())
    signs = np.sign((scores * expected).sum(0))
    np.testing.assert_allclose(scores, expected * signs, atol=2e-3)
    np.testing.assert_allclose(ratio, reference.explained_variance_ratio_, rtol=1e-3)
    assert scores.dtype == np.float32 and loadings.shape == (60, 10)


def test_scaled_pca_matches_pca_of_standardised_genes():
    X = random_sparse(seed=2)
    scores, _, _ = pca(X, 5, scale=True)
    dense = X.toarray().astype(np.float64)
    standardised = (dense - dense.mean(0)) / dense.std(0)
    expected = PCA(5, svd_solver="full").fit_transform(standardised)
    signs = np.sign((scores * expected).sum(0))
    np.testing.assert_allclose(scores, expected * signs, atol=2e-3)


def test_pca_is_deterministic_and_clamps_components():
    X = random_sparse(n=30, g=8)
    first, _, _ = pca(X, 50)
    second, _, _ = pca(X, 50)
    assert first.shape == (30, 7)
    np.testing.assert_array_equal(first, second)


def test_knn_graph_and_umap_are_reproducible():
    rng = np.random.default_rng(0)
    latent = np.vstack([rng.normal(c, 0.3, size=(60, 5)) for c in (0, 4, 8)]).astype(np.float32)
    graph = knn_graph(latent, n_neighbors=10, seed=0)
    connectivities = graph.obsp["connectivities"]
    assert connectivities.shape == (180, 180)
    assert (connectivities != connectivities.T).nnz == 0
    first = umap_from_graph(graph.copy(), seed=0)
    second = umap_from_graph(knn_graph(latent, n_neighbors=10, seed=0), seed=0)
    assert first.shape == (180, 2)
    np.testing.assert_array_equal(first, second)


def clusters_with_a_duplicate(n=300, dim=6, seed=0):
    rng = np.random.default_rng(seed)
    latent = np.vstack([rng.normal(c, 1.0, size=(n // 3, dim)) for c in (0, 3, 6)])
    latent[7] = latent[8]  # two identical cells
    return latent.astype(np.float32)


def test_knn_graph_is_scanpys_graph():
    """The exact search and the numpy fuzzy simplicial set give what sc.pp.neighbors stores."""
    import anndata as ad
    import scanpy as sc

    latent = clusters_with_a_duplicate()
    reference = ad.AnnData(obsm={"X": latent})
    sc.pp.neighbors(reference, n_neighbors=12, use_rep="X", random_state=0)
    graph = knn_graph(latent, n_neighbors=12, seed=0)
    for key in ("distances", "connectivities"):
        ours, theirs = graph.obsp[key], reference.obsp[key]
        assert ours.nnz == theirs.nnz
        # the two identical cells may list each other in either order
        assert abs(ours - theirs)[9:].max() < 1e-6, key
    assert graph.uns["neighbors"]["params"]["n_neighbors"] == 12
    assert graph.uns["neighbors"]["connectivities_key"] == "connectivities"


def test_approximate_search_above_the_exact_limit_puts_each_cell_first(monkeypatch):
    latent = clusters_with_a_duplicate(n=600, dim=4, seed=1)
    exact_indices, exact_distances = embed.nearest_neighbors(latent, 10)
    monkeypatch.setattr(embed, "EXACT_KNN_MAX_CELLS", 100)
    indices, distances = embed.nearest_neighbors(latent, 10, seed=0)
    assert indices.shape == (600, 10) and (indices[:, 0] == np.arange(600)).all()
    assert (distances[:, 0] == 0).all() and (np.diff(distances, axis=1) >= 0).all()
    # pynndescent finds nearly all of the exact neighbours on such data
    shared = np.mean(
        [len(np.intersect1d(a, b)) for a, b in zip(indices, exact_indices, strict=True)]
    )
    assert shared > 9.5
    np.testing.assert_allclose(distances[:, 1], exact_distances[:, 1], rtol=1e-4)


def test_umap_layout_is_scanpys():
    import scanpy as sc

    graph = knn_graph(clusters_with_a_duplicate(n=150), n_neighbors=10, seed=0)
    ours = umap_from_graph(graph, seed=2, min_dist=0.3)
    sc.tl.umap(graph, min_dist=0.3, random_state=2)
    np.testing.assert_array_equal(ours, graph.obsm["X_umap"].astype(np.float32))
