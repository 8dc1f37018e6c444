"""QC metrics, threshold and MAD filters, and the errors QC can raise."""

import logging

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from sclatent.errors import InputError
from sclatent.qc import add_qc_metrics, filter_cells_and_genes, mad_bounds, plot_qc

NO_FILTERS = {"mad": {}, "max_pct_mito": None, "min_cells_per_gene": 0}


def make_counts(n_cells=200, n_genes=50, seed=0, mito=True):
    rng = np.random.default_rng(seed)
    X = rng.poisson(3.0, size=(n_cells, n_genes)).astype(np.float32)
    names = [f"G{i}" for i in range(n_genes)]
    if mito:
        names[:3] = ["MT-CO1", "MT-ND1", "MT-ATP6"]
    obs = pd.DataFrame(index=[f"c{i}" for i in range(n_cells)])
    return ad.AnnData(sp.csr_matrix(X), obs=obs, var=pd.DataFrame(index=names))


def test_metrics_match_a_direct_computation():
    adata = make_counts()
    assert add_qc_metrics(adata)
    dense = adata.X.toarray()
    np.testing.assert_allclose(adata.obs["total_counts"], dense.sum(1))
    np.testing.assert_array_equal(adata.obs["n_genes"], (dense > 0).sum(1))
    np.testing.assert_allclose(
        adata.obs["pct_mito"], 100 * dense[:, :3].sum(1) / dense.sum(1), rtol=1e-6
    )


def test_no_gene_symbols_skips_mito_with_a_warning(caplog):
    adata = make_counts(mito=False)
    with caplog.at_level(logging.WARNING):
        kept, table = filter_cells_and_genes(adata, {"max_pct_mito": 5, "mad": {"pct_mito": 3}})
    assert "pct_mito QC skipped" in caplog.text
    assert "pct_mito" not in adata.obs
    assert not table["filter"].str.contains("mito").any()
    assert kept.n_obs == adata.n_obs


def test_thresholds_remove_exactly_the_flagged_cells():
    adata = make_counts()
    adata.X[:10] = adata.X[:10] * 0  # ten empty cells
    adata.X.eliminate_zeros()
    adata.X[10, :3] = 500  # one cell dominated by mitochondrial reads
    params = NO_FILTERS | {"min_counts": 1, "max_pct_mito": 50}
    kept, table = filter_cells_and_genes(adata, params, dataset="toy")
    assert kept.n_obs == adata.n_obs - 11
    assert "c10" not in kept.obs_names and "c0" not in kept.obs_names
    rows = table.set_index("filter")
    assert rows.loc["min_counts", "cells_flagged"] == 10
    assert rows.loc["max_pct_mito", "cells_flagged"] == 1
    assert rows.loc["all_cell_filters", "cells_flagged"] == 11
    assert (table["dataset"] == "toy").all()


def test_mad_rule_flags_outliers_on_log_scale():
    values = np.r_[np.full(99, 100.0), 100000.0]
    low, high = mad_bounds(np.log1p(values), 3)
    assert low == high == pytest.approx(np.log1p(100))  # MAD of a constant bulk is 0
    adata = make_counts(n_cells=300)
    adata.X[0] = adata.X[0] * 50
    kept, table = filter_cells_and_genes(adata, NO_FILTERS | {"mad": {"total_counts": 5}})
    assert "c0" not in kept.obs_names
    assert table.set_index("filter").loc["mad_total_counts_high", "cells_flagged"] >= 1


def test_gene_filter_counts_cells_per_gene():
    adata = make_counts()
    adata.X[:, 5] = 0
    adata.X[:2, 5] = 1
    adata.X.eliminate_zeros()
    kept, table = filter_cells_and_genes(adata, NO_FILTERS | {"min_cells_per_gene": 3})
    assert "G5" not in kept.var_names
    assert table.set_index("filter").loc["min_cells_per_gene", "genes_removed"] == 1


def test_qc_removing_every_cell_is_a_clear_error():
    adata = make_counts()
    with pytest.raises(
        InputError, match=r"dataset 'toy': QC removed all 200 cells \(min_counts: 200\)"
    ):
        filter_cells_and_genes(adata, NO_FILTERS | {"min_counts": 10**6}, dataset="toy")


def test_plot_writes_a_png(tmp_path):
    adata = make_counts()
    _, table = filter_cells_and_genes(adata, {"mad": {"total_counts": 3}}, dataset="toy")
    path = tmp_path / "qc.png"
    plot_qc(adata.obs, table, path, "toy")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_too_few_cells_for_the_knn_graph_is_named():
    from sclatent.qc import check_enough_cells

    adata = make_counts(n_cells=10)
    with pytest.raises(
        InputError,
        match=r"dataset 'toy': 10 cells after QC, but the kNN graph needs more than neighbors.n_neighbors = 15",
    ):
        check_enough_cells(adata, "toy", 15)
    check_enough_cells(adata, "toy", 5)


def test_a_single_labelled_type_is_rejected():
    from sclatent.qc import check_enough_cells

    adata = make_counts(n_cells=40)
    adata.obs["truth"] = pd.Categorical(["T"] * 40)
    with pytest.raises(
        InputError, match=r"dataset 'toy': the labels name a single cell type \('T'\)"
    ):
        check_enough_cells(adata, "toy", 15)


def test_all_zero_matrix_is_called_empty_not_blamed_on_the_filters():
    adata = make_counts()
    adata.X = sp.csr_matrix(adata.shape, dtype=np.float32)
    with pytest.raises(InputError) as error:
        filter_cells_and_genes(adata, NO_FILTERS | {"min_cells_per_gene": 3}, dataset="toy")
    assert str(error.value) == "dataset 'toy': the count matrix is empty (all values are 0)"


def test_gene_filter_removing_every_gene_suggests_a_value_that_works():
    adata = make_counts(n_cells=20)
    X = np.zeros(adata.shape, dtype=np.float32)
    X[np.arange(20), np.arange(20) % 5] = 1  # each gene of the first five in 4 cells
    adata.X = sp.csr_matrix(X)
    params = NO_FILTERS | {"min_cells_per_gene": 10}
    with pytest.raises(InputError) as error:
        filter_cells_and_genes(adata.copy(), params, dataset="toy")
    assert str(error.value) == (
        "dataset 'toy': the gene filter removed all 50 genes (the most widely detected gene is "
        "in 4 of 20 cells, fewer than qc.min_cells_per_gene = 10); lower qc.min_cells_per_gene "
        "to 4"
    )
    kept, _ = filter_cells_and_genes(adata.copy(), params | {"min_cells_per_gene": 4})
    assert kept.n_vars == 5


def test_cells_left_without_counts_ask_for_other_cell_filters_not_the_gene_filter():
    adata = make_counts(n_cells=20, mito=False)
    X = adata.X.toarray()
    X[10:] = 0  # the cells with counts are all above max_counts; the empty ones stay
    adata.X = sp.csr_matrix(X)
    params = NO_FILTERS | {"max_counts": 10, "min_cells_per_gene": 3}
    with pytest.raises(InputError) as error:
        filter_cells_and_genes(adata.copy(), params, dataset="toy")
    assert str(error.value) == (
        "dataset 'toy': the 10 cells left after the cell filters have no counts (cells flagged: "
        "max_counts: 10); relax the qc thresholds in the config"
    )
    kept, _ = filter_cells_and_genes(adata.copy(), params | {"max_counts": None})
    assert kept.n_obs == 20
