"""Marker genes, cluster sizes and the marker dotplot on a small AnnData with planted markers."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from sclatent.figures import marker_dotplot
from sclatent.markers import (
    GROUPBY,
    MARKER_COLUMNS,
    cluster_categories,
    cluster_sizes,
    rank_markers,
)

GROUPS = ["0", "1", "2", "10"]


def planted(n_per_group=40, n_genes=60, seed=0):
    """Log-normalised expression where gene 'marker_<g>' is on only in group g."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(GROUPS, n_per_group)
    counts = rng.poisson(0.5, size=(len(labels), n_genes)).astype(np.float32)
    names = [f"gene{i}" for i in range(n_genes)]
    for i, group in enumerate(GROUPS):
        counts[labels == group, i] += rng.poisson(6, size=n_per_group)
        names[i] = f"marker_{group}"
    adata = ad.AnnData(sp.csr_matrix(np.log1p(counts)))
    adata.var_names = names
    adata.obs_names = [f"cell{i}" for i in range(adata.n_obs)]
    return adata, labels


def test_each_group_ranks_its_planted_marker_first():
    adata, labels = planted()
    table = rank_markers(adata, labels, n_genes=5)
    assert list(table.columns) == MARKER_COLUMNS
    assert list(table["cluster"].unique()) == GROUPS  # natural order: 10 after 2
    assert (table.groupby("cluster").size() == 5).all()
    top = table[table["rank"] == 1].set_index("cluster")
    assert list(top["gene"]) == [f"marker_{g}" for g in GROUPS]
    assert (top["pct_in"] > 0.9).all() and (top["pct_out"] < 0.5).all()
    assert (top["logfoldchange"] > 1).all() and (top["pval_adj"] < 1e-6).all()
    assert adata.uns["rank_genes_groups"]["params"]["groupby"] == GROUPBY
    assert list(adata.obs[GROUPBY].cat.categories) == GROUPS


def test_one_cell_cluster_gets_no_rows_and_one_cluster_gives_an_empty_table():
    adata, labels = planted()
    labels = labels.copy()
    labels[0] = "lonely"
    table = rank_markers(adata, labels, n_genes=3)
    assert "lonely" not in set(table["cluster"]) and len(set(table["cluster"])) == 4
    single = rank_markers(planted()[0], np.repeat("0", 160))
    assert single.empty and list(single.columns) == MARKER_COLUMNS


def test_cluster_sizes_in_natural_order():
    sizes = cluster_sizes(["10", "2", "2", "0", "10", "10"])
    assert list(sizes["cluster"]) == ["0", "2", "10"]
    assert list(sizes["cells"]) == [1, 2, 3]
    assert sizes["fraction"].sum() == pytest.approx(1.0)
    assert list(cluster_categories(pd.Series(["b", None, "a"])).categories) == ["a", "b"]


def test_marker_dotplot_writes_a_png(tmp_path):
    adata, labels = planted()
    rank_markers(adata, labels, n_genes=5)
    marker_dotplot(adata, tmp_path / "markers.png", n_genes=2, title="planted")
    assert (tmp_path / "markers.png").read_bytes()[:4] == b"\x89PNG"
    empty, _ = planted()
    rank_markers(empty, np.repeat("0", empty.n_obs))
    marker_dotplot(empty, tmp_path / "none.png", title="one cluster")
    assert (tmp_path / "none.png").read_bytes()[:4] == b"\x89PNG"
