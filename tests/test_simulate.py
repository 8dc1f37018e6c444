"""The count simulator: shape, types, determinism, realism knobs and parameter checks."""

import numpy as np
import pytest
import scipy.sparse as sp

from sclatent import simulate
from sclatent.errors import InputError
from sclatent.simulate import SimulationParams, simulate_counts


@pytest.fixture(scope="module")
def default_data():
    return simulate_counts(seed=0)


def _mito_share(adata):
    totals = np.asarray(adata.X.sum(axis=1)).ravel()
    mito = np.asarray(adata.X[:, adata.var_names.str.startswith("MT-")].sum(axis=1)).ravel()
    return mito / np.maximum(totals, 1)


def test_default_shape_dtype_names_and_sparsity(default_data):
    X = default_data.X
    assert default_data.shape == (3000, 2000)
    assert sp.isspmatrix_csr(X) and X.dtype == np.float32
    assert np.all(X.data > 0) and np.all(X.data == np.round(X.data))
    assert X.has_canonical_format
    assert 0.05 <= X.nnz / np.prod(X.shape) <= 0.25
    assert default_data.obs_names[0] == "cell_000001" and default_data.obs_names.is_unique
    assert default_data.var_names[0] == "Gene00001" and default_data.var_names.is_unique
    assert default_data.var_names.str.startswith("MT-").sum() == 13
    assert "batch" not in default_data.obs


def test_default_labels_have_a_rare_type(default_data):
    truth = default_data.obs["truth"]
    assert list(truth.cat.categories) == [f"type_{t:02d}" for t in range(1, 9)]
    proportions = truth.value_counts(normalize=True)
    assert proportions["type_08"] == pytest.approx(0.015, abs=0.001)
    assert proportions.drop("type_08").min() > 0.05


def test_type_proportions_are_honoured():
    adata = simulate_counts(1000, 100, 3, seed=2, type_proportions=[5, 3, 2])
    counts = adata.obs["truth"].value_counts()
    assert counts.to_dict() == {"type_01": 500, "type_02": 300, "type_03": 200}


def test_every_type_gets_a_cell_even_when_tiny():
    adata = simulate_counts(20, 50, 4, seed=0, type_proportions=[100, 100, 100, 0.01])
    assert adata.obs["truth"].value_counts().min() == 1


def test_same_seed_same_matrix_other_seed_differs():
    first = simulate_counts(300, 200, 3, seed=5)
    again = simulate_counts(300, 200, 3, seed=5)
    other = simulate_counts(300, 200, 3, seed=6)
    assert (first.X != again.X).nnz == 0
    assert first.obs.equals(again.obs)
    assert (first.X != other.X).nnz > 0


def test_threads_do_not_change_the_matrix(monkeypatch):
    monkeypatch.setattr(simulate, "_BLOCK_ENTRIES", 64 * 100)  # blocks of 64 cells
    one = simulate_counts(1000, 100, 4, seed=3)
    two = simulate_counts(1000, 100, 4, seed=3, threads=2)
    assert (one.X != two.X).nnz == 0


def test_types_differ_more_than_halves_of_one_type(default_data):
    X = default_data.X
    truth = default_data.obs["truth"].to_numpy()
    first, second = np.flatnonzero(truth == "type_01"), np.flatnonzero(truth == "type_02")

    def n_changed(rows_a, rows_b):
        mean_a = np.asarray(X[rows_a].mean(axis=0)).ravel()
        mean_b = np.asarray(X[rows_b].mean(axis=0)).ravel()
        return (np.abs(np.log((mean_a + 0.1) / (mean_b + 0.1))) > 0.5).sum()

    half = len(first) // 2
    within = n_changed(first[:half], first[half:])
    between = n_changed(first[:half], second[:half])
    assert between > 100 > 10 * max(within, 1)


def test_lineages_make_some_types_closer():
    adata = simulate_counts(4000, 1000, 6, seed=1, n_lineages=2, n_rare_types=0)
    X = adata.X.multiply(1e4 / adata.X.sum(axis=1)).log1p().tocsr()
    truth = adata.obs["truth"].to_numpy()
    centres = {t: np.asarray(X[truth == t].mean(axis=0)).ravel() for t in np.unique(truth)}

    def distance(a, b):
        return np.linalg.norm(centres[a] - centres[b])

    # types are dealt round-robin: types 1, 3, 5 share lineage 1, types 2, 4, 6 lineage 2
    within = [distance("type_01", "type_03"), distance("type_02", "type_04")]
    across = [distance("type_01", "type_02"), distance("type_03", "type_04")]
    assert max(within) < min(across)


def test_low_quality_cells_have_few_counts_and_high_mito_share(default_data):
    low = default_data.obs["low_quality"].to_numpy()
    assert low.sum() == 60
    share = _mito_share(default_data)
    totals = np.asarray(default_data.X.sum(axis=1)).ravel()
    assert np.median(share[low]) > 0.25 > 0.08 > np.median(share[~low])
    assert np.median(totals[low]) < 0.5 * np.median(totals[~low])


def test_library_size_follows_its_median():
    small = simulate_counts(500, 300, 2, seed=0, library_median=500, low_quality_fraction=0)
    large = simulate_counts(500, 300, 2, seed=0, library_median=5000, low_quality_fraction=0)
    ratio = np.median(large.X.sum(axis=1).A1) / np.median(small.X.sum(axis=1).A1)
    assert 7 < ratio < 13


def test_dropout_adds_zeros_and_can_be_disabled():
    kwargs = {"n_cells": 400, "n_genes": 300, "n_types": 2, "seed": 4}
    none = simulate_counts(**kwargs, dropout_shape=0)
    strong = simulate_counts(**kwargs, dropout_shape=2, dropout_midpoint=1)
    assert strong.X.nnz < 0.8 * none.X.nnz


def test_batches_are_labelled_and_shift_expression():
    adata = simulate_counts(2000, 500, 2, seed=0, n_batches=2, batch_effect=0.5)
    batch = adata.obs["batch"]
    assert list(batch.cat.categories) == ["batch_1", "batch_2"]
    assert 0.4 < (batch == "batch_1").mean() < 0.6
    means = [
        np.asarray(adata.X[(batch == b).to_numpy()].mean(axis=0)).ravel()
        for b in batch.cat.categories
    ]
    expressed = (means[0] > 1) & (means[1] > 1)
    assert np.median(np.abs(np.log(means[0][expressed] / means[1][expressed]))) > 0.2


def test_parameters_are_recorded(default_data):
    assert default_data.uns["simulation"]["n_cells"] == 3000
    assert default_data.uns["simulation"]["seed"] == 0


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"n_cells": 0}, "n_cells"),
        ({"n_genes": 2.5}, "n_genes"),
        ({"n_types": 5, "n_cells": 3}, "n_cells"),
        ({"de_fraction": 1.5}, "de_fraction"),
        ({"dispersion": 0}, "dispersion"),
        ({"library_median": -1}, "library_median"),
        ({"rare_fraction": 0.0}, "rare_fraction"),
        ({"n_rare_types": 8}, "n_rare_types"),
        ({"n_lineages": -1}, "n_lineages"),
        ({"n_mito_genes": 14}, "n_mito_genes"),
        ({"type_proportions": [1, 2]}, "type_proportions"),
        ({"type_proportions": [1, 1, 1, 1, 1, 1, 1, -1]}, "type_proportions"),
        ({"type_proportions": "abc"}, "type_proportions"),
        ({"batch_effect": float("nan")}, "batch_effect"),
        ({"seed": True}, "seed"),
        ({"threads": 0}, "threads"),
    ],
)
def test_invalid_parameters_name_the_parameter(options, name):
    # an element of a list is named by its position: 'type_proportions.7'
    with pytest.raises(InputError, match=rf"simulation parameters: key '{name}(\.\d+)?' must be"):
        simulate_counts(**options)


def test_from_dict_rejects_unknown_keys_in_one_line():
    with pytest.raises(InputError, match="simulation parameters: unknown key 'n_cell'") as error:
        SimulationParams.from_dict({"n_cell": 10})
    assert "\n" not in str(error.value)


def test_from_dict_round_trips_to_dict():
    params = SimulationParams.from_dict(
        {"n_cells": 100, "type_proportions": [1, 2, 3]} | {"n_types": 3}
    )
    assert params.type_proportions == (1.0, 2.0, 3.0)
    assert SimulationParams.from_dict(params.to_dict()) == params
    assert SimulationParams.from_dict(None) == SimulationParams()
