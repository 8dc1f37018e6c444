"""read_counts: every format round-trips, and every bad input gives one clear InputError line."""

import gzip
import logging
import re
import shutil
from pathlib import Path

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.io
import scipy.sparse as sp

from sclatent.errors import InputError
from sclatent.io import detect_format, read_counts
from sclatent.simulate import simulate_counts

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="module")
def counts():
    """40 cells x 30 genes of integer counts with labels in obs['truth']."""
    return simulate_counts(40, 30, 3, seed=1, n_mito_genes=2, n_rare_types=0)


# ---- writers of each format -------------------------------------------------------------


def write_h5ad(adata, path, *, dense=False):
    out = adata.copy()
    if dense:
        out.X = out.X.toarray()
    out.write_h5ad(path)
    return path


def write_10x_h5(adata, path, *, antibody=True):
    """CellRanger v3 layout; optionally one antibody feature that must be dropped."""
    X = adata.X.tocsr()
    names = list(adata.var_names)
    types = ["Gene Expression"] * len(names)
    if antibody:
        X = sp.hstack([X, sp.csr_matrix(np.full((X.shape[0], 1), 7.0))], format="csr")
        names, types = [*names, "CD3_TotalSeqB"], [*types, "Antibody Capture"]
    with h5py.File(path, "w") as file:
        matrix = file.create_group("matrix")
        matrix["barcodes"] = np.array(adata.obs_names, dtype="S")
        matrix["data"] = X.data.astype(np.int32)
        matrix["indices"] = X.indices.astype(np.int64)
        matrix["indptr"] = X.indptr.astype(np.int64)
        matrix["shape"] = np.array([X.shape[1], X.shape[0]], dtype=np.int32)
        features = matrix.create_group("features")
        features["id"] = np.array([f"ENSG{i:05d}" for i in range(len(names))], dtype="S")
        features["name"] = np.array(names, dtype="S")
        features["feature_type"] = np.array(types, dtype="S")
        features["genome"] = np.array(["GRCh38"] * len(names), dtype="S")
        features["_all_tag_keys"] = np.array(["genome"], dtype="S")
    return path


def write_10x_mtx(adata, directory, *, legacy=False):
    """v3 (gzipped, features.tsv.gz with a type column) or legacy (plain, genes.tsv)."""
    directory.mkdir()
    ids = [f"ENSG{i:05d}" for i in range(adata.n_vars)]
    genes = pd.DataFrame({"id": ids, "name": adata.var_names})
    if legacy:
        scipy.io.mmwrite(directory / "matrix.mtx", sp.coo_matrix(adata.X.T.astype(np.int64)))
        genes.to_csv(directory / "genes.tsv", sep="\t", header=False, index=False)
        pd.Series(adata.obs_names).to_csv(directory / "barcodes.tsv", header=False, index=False)
        return directory
    scipy.io.mmwrite(directory / "tmp.mtx", sp.coo_matrix(adata.X.T.astype(np.int64)))
    with (
        open(directory / "tmp.mtx", "rb") as plain,
        gzip.open(directory / "matrix.mtx.gz", "wb") as packed,
    ):
        shutil.copyfileobj(plain, packed)
    (directory / "tmp.mtx").unlink()
    genes["type"] = "Gene Expression"
    genes.to_csv(directory / "features.tsv.gz", sep="\t", header=False, index=False)
    pd.Series(adata.obs_names).to_csv(directory / "barcodes.tsv.gz", header=False, index=False)
    return directory


def write_loom(adata, path, *, layer=None):
    """Loompy conventions: genes x cells, CellID / Gene, labels as a column attribute."""
    import loompy

    matrix = adata.X.T.toarray()
    layers = {"": matrix} if layer is None else {"": np.log1p(matrix), layer: matrix}
    loompy.create(
        str(path),
        layers,
        row_attrs={"Gene": np.array(adata.var_names)},
        col_attrs={
            "CellID": np.array(adata.obs_names),
            "cell_type": np.array(adata.obs["truth"].astype(str)),
        },
    )
    return path


def write_text(adata, path, *, sep=",", genes_x_cells=False):
    frame = pd.DataFrame(
        adata.X.toarray().astype(int), index=adata.obs_names, columns=adata.var_names
    )
    (frame.T if genes_x_cells else frame).to_csv(path, sep=sep)
    return path


def write_labels(adata, path, *, sep=",", header=("cell", "label")):
    table = pd.DataFrame({header[0]: adata.obs_names, header[1]: adata.obs["truth"].astype(str)})
    table.to_csv(path, sep=sep, index=False)
    return path


def barcodes(n, seed=0):
    """n distinct 10x-style cell barcodes (16 bases and the -1 suffix)."""
    rng = np.random.default_rng(seed)
    names = list(dict.fromkeys("".join(rng.choice(list("ACGT"), 16)) + "-1" for _ in range(2 * n)))
    return names[:n]


def gene_symbols(n):
    """n distinct human gene symbols, as a real count table's gene names look."""
    famous = ["CD3E", "GAPDH", "MS4A1", "LYZ", "NKG7", "HLA-DRA", "RPL13A", "ACTB", "C1orf112"]
    return (famous + [f"ZNF{100 + i}" for i in range(n)])[:n]


def with_user_names(adata, seed=0):
    """A copy named like real data: barcodes for cells, symbols for genes (MT- genes kept)."""
    named = adata.copy()
    plain = ~named.var_names.str.startswith("MT-")
    genes = np.array(named.var_names, dtype=object)
    genes[plain] = gene_symbols(int(plain.sum()))
    named.var_names = genes.astype(str)
    named.obs_names = barcodes(named.n_obs, seed)
    return named


def without_last_line(path):
    """Drop the last line of a (possibly gzipped) text file, as a cut-off copy would."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:
        lines = handle.readlines()
    with opener(path, "wt") as handle:
        handle.writelines(lines[:-1])
    return path


# ---- helpers -------------------------------------------------------------------------------


def fingerprint(path):
    """Bytes and mtime of a file, or of every file in a directory."""
    files = (
        sorted(p for p in Path(path).rglob("*") if p.is_file())
        if Path(path).is_dir()
        else [Path(path)]
    )
    return [(f.name, f.read_bytes(), f.stat().st_mtime_ns) for f in files]


def assert_same_counts(result, original, *, labels=True):
    assert sp.isspmatrix_csr(result.X) and result.X.dtype == np.float32
    assert list(result.obs_names) == list(original.obs_names)
    assert list(result.var_names) == list(original.var_names)
    assert (result.X != original.X).nnz == 0
    if labels:
        assert result.obs["truth"].dtype == "category"
        assert list(result.obs["truth"].astype(str)) == list(original.obs["truth"].astype(str))
    else:
        assert "truth" not in result.obs


def bad_input(path, problem):
    """pytest.raises for an InputError naming `path` and matching `problem`."""
    return pytest.raises(InputError, match=re.escape(str(path)) + r"[^\n]*" + problem)


def truncate(path):
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: len(data) // 2])
    return path


# ---- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("dense", [False, True])
def test_h5ad_round_trip_with_label_column(counts, tmp_path, dense):
    path = write_h5ad(counts, tmp_path / "data.h5ad", dense=dense)
    before = fingerprint(path)
    result = read_counts(path, label_column="truth")
    assert_same_counts(result, counts)
    assert result.uns["input"] == {"path": str(path), "format": "h5ad"}
    assert fingerprint(path) == before


def test_h5ad_counts_from_a_layer_or_raw(counts, tmp_path):
    normalised = counts.copy()
    normalised.layers["counts"] = counts.X.copy()
    normalised.raw = counts.copy()
    normalised.X = counts.X.multiply(1 / counts.X.sum(axis=1)).tocsr()
    normalised.var["gene_symbol"] = [f"SYM{i}" for i in range(counts.n_vars)]
    path = write_h5ad(normalised, tmp_path / "normalised.h5ad")
    from_layer = read_counts(path, counts_layer="counts", label_column="truth")
    assert_same_counts(from_layer, counts)
    assert list(from_layer.var["gene_symbol"]) == list(normalised.var["gene_symbol"])
    assert_same_counts(read_counts(path, counts_layer="raw", label_column="truth"), counts)
    with bad_input(path, "non-integer values.*allow_non_integer=True"):
        read_counts(path)
    with bad_input(path, r"counts_layer 'umi' not found \(available: X, counts, raw\)"):
        read_counts(path, counts_layer="umi")


def test_10x_h5_round_trip_keeps_gene_expression_only(counts, tmp_path):
    path = write_10x_h5(counts, tmp_path / "filtered_feature_bc_matrix.h5")
    before = fingerprint(path)
    result = read_counts(path, labels_table=write_labels(counts, tmp_path / "labels.csv"))
    assert_same_counts(result, counts)
    assert list(result.var["gene_symbol"]) == list(counts.var_names)
    assert result.var["gene_ids"].iloc[0] == "ENSG00000"
    assert fingerprint(path) == before


@pytest.mark.parametrize("legacy", [False, True])
def test_10x_mtx_round_trip(counts, tmp_path, legacy):
    directory = write_10x_mtx(counts, tmp_path / "filtered_feature_bc_matrix", legacy=legacy)
    before = fingerprint(directory)
    assert detect_format(directory) == "10x_mtx"
    result = read_counts(directory, labels_table=write_labels(counts, tmp_path / "labels.csv"))
    assert_same_counts(result, counts)
    assert list(result.var["gene_ids"][:2]) == ["ENSG00000", "ENSG00001"]
    matrix_file = directory / ("matrix.mtx" if legacy else "matrix.mtx.gz")
    assert_same_counts(read_counts(matrix_file), counts, labels=False)
    assert fingerprint(directory) == before


def test_loom_round_trip_with_label_column_and_layer(counts, tmp_path):
    path = write_loom(counts, tmp_path / "data.loom")
    before = fingerprint(path)
    assert_same_counts(read_counts(path, label_column="cell_type"), counts)
    assert fingerprint(path) == before
    layered = write_loom(counts, tmp_path / "layered.loom", layer="counts")
    assert_same_counts(read_counts(layered, counts_layer="counts"), counts, labels=False)
    with bad_input(
        path, r"label column 'truth' not in the loom col_attrs \(available: CellID, cell_type\)"
    ):
        read_counts(path, label_column="truth")


def test_loom_written_by_anndata(counts, tmp_path):
    path = tmp_path / "anndata.loom"
    counts.write_loom(path)
    assert_same_counts(read_counts(path, label_column="truth"), counts)


@pytest.mark.parametrize(
    ("name", "sep", "genes_x_cells"),
    [
        ("counts.csv", ",", False),
        ("counts.tsv.gz", "\t", True),
        ("counts.txt", "\t", False),
        ("counts.csv.gz", ",", True),
    ],
)
def test_text_round_trip(counts, tmp_path, name, sep, genes_x_cells):
    path = write_text(counts, tmp_path / name, sep=sep, genes_x_cells=genes_x_cells)
    before = fingerprint(path)
    labels = write_labels(counts, tmp_path / "labels.tsv", sep="\t", header=("barcode", "type"))
    orientation = "genes_x_cells" if genes_x_cells else "cells_x_genes"
    result = read_counts(path, orientation=orientation, labels_table=labels)
    assert_same_counts(result, counts)
    assert result.uns["input"]["format"] == ("csv" if sep == "," else "tsv")
    assert fingerprint(path) == before


def test_text_header_without_corner_field(counts, tmp_path):
    path = tmp_path / "r_style.csv"
    frame = pd.DataFrame(
        counts.X.toarray().astype(int), index=counts.obs_names, columns=counts.var_names
    )
    lines = [",".join(counts.var_names)] + [
        f"{cell},{','.join(map(str, row))}" for cell, row in frame.iterrows()
    ]
    path.write_text("\n".join(lines) + "\n")
    assert_same_counts(read_counts(path), counts, labels=False)


def test_explicit_format_overrides_suffix(counts, tmp_path):
    path = write_text(counts, tmp_path / "matrix.dat", sep="\t")
    with pytest.raises(InputError, match="cannot tell the format from suffix '.dat'"):
        read_counts(path)
    assert_same_counts(read_counts(path, fmt="tsv"), counts, labels=False)


def test_dataset_name_prefixes_errors_and_is_stored(counts, tmp_path):
    path = write_h5ad(counts, tmp_path / "data.h5ad")
    assert read_counts(path, dataset="pbmc").uns["dataset"] == "pbmc"
    with pytest.raises(InputError, match=r"^dataset 'pbmc': .*data\.h5ad.*label column 'x'"):
        read_counts(path, dataset="pbmc", label_column="x")


# ---- broken or wrong files -----------------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "absent.h5ad"
    with bad_input(path, "no such file or directory"):
        read_counts(path)


@pytest.mark.parametrize(
    ("writer", "name"),
    [(write_h5ad, "data.h5ad"), (write_10x_h5, "data.h5"), (write_loom, "data.loom")],
)
def test_truncated_hdf5_files(counts, tmp_path, writer, name):
    path = truncate(writer(counts, tmp_path / name))
    with bad_input(path, "corrupt or truncated") as error:
        read_counts(path)
    assert "\n" not in str(error.value)


def test_truncated_mtx(counts, tmp_path):
    directory = write_10x_mtx(counts, tmp_path / "mtx")
    truncate(directory / "matrix.mtx.gz")
    with bad_input(directory, "cannot read as 10x_mtx .*corrupt, truncated"):
        read_counts(directory)


def test_mtx_directory_missing_a_file(counts, tmp_path):
    directory = write_10x_mtx(counts, tmp_path / "mtx")
    (directory / "barcodes.tsv.gz").unlink()
    with bad_input(directory, "10x directory without barcodes.tsv.gz or barcodes.tsv"):
        read_counts(directory)


def test_csv_named_h5ad(counts, tmp_path):
    path = write_text(counts, tmp_path / "data.h5ad")
    with bad_input(path, "not an HDF5 file, so not h5ad"):
        read_counts(path)


def test_h5ad_given_as_10x_h5(counts, tmp_path):
    path = write_h5ad(counts, tmp_path / "data.h5ad")
    with bad_input(path, r"not a valid 10x_h5 file; it looks like h5ad \(use format 'h5ad'\)"):
        read_counts(path, fmt="10x_h5")


def test_h5ad_given_as_csv(counts, tmp_path):
    path = write_h5ad(counts, tmp_path / "data.h5ad")
    with bad_input(path, "is an HDF5 file, not csv; it looks like h5ad"):
        read_counts(path, fmt="csv")


@pytest.mark.parametrize("shape", [(0, 5), (5, 0)])
def test_empty_matrix(tmp_path, shape):
    path = write_h5ad(ad.AnnData(sp.csr_matrix(shape, dtype=np.float32)), tmp_path / "empty.h5ad")
    with bad_input(path, f"the matrix has {shape[0]} cells and {shape[1]} genes"):
        read_counts(path)


def test_header_only_csv(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text(",g1,g2\n")
    with bad_input(path, "only a header row"):
        read_counts(path)


def _with_value(counts, value):
    X = counts.X.toarray()
    X[3, 4] = value
    broken = counts.copy()
    broken.X = sp.csr_matrix(X)
    return broken


def test_negative_values(counts, tmp_path):
    path = write_h5ad(_with_value(counts, -2), tmp_path / "negative.h5ad")
    with bad_input(path, r"1 negative values in the counts \(smallest -2\)"):
        read_counts(path)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_nan_and_inf(counts, tmp_path, value):
    path = write_h5ad(_with_value(counts, value), tmp_path / "nonfinite.h5ad")
    with bad_input(path, "1 NaN or infinite values"):
        read_counts(path)


def test_nan_in_csv(counts, tmp_path):
    path = write_text(counts, tmp_path / "counts.csv")
    text = path.read_text().splitlines()
    text[2] = text[2].rsplit(",", 1)[0] + ",NA"
    path.write_text("\n".join(text) + "\n")
    with bad_input(path, "1 NaN or infinite values"):
        read_counts(path)


def test_non_numeric_csv(counts, tmp_path):
    path = write_text(counts, tmp_path / "counts.csv")
    text = path.read_text().splitlines()
    text[2] = text[2].rsplit(",", 1)[0] + ",abc"
    path.write_text("\n".join(text) + "\n")
    with bad_input(path, "non-numeric value"):
        read_counts(path)


def test_non_integer_values_need_the_switch(counts, tmp_path, caplog):
    path = write_h5ad(_with_value(counts, 2.5), tmp_path / "fractional.h5ad")
    with bad_input(path, r"1 non-integer values \(e\.g\. 2\.5\).*set allow_non_integer=True"):
        read_counts(path)
    with caplog.at_level(logging.WARNING, logger="sclatent.io"):
        result = read_counts(path, allow_non_integer=True)
    assert result.X[3, 4] == pytest.approx(2.5)
    assert "accepted because allow_non_integer=True" in caplog.text


def test_duplicate_cells_are_rejected(counts, tmp_path):
    duplicated = counts.copy()
    duplicated.obs_names = ["twin", "twin", *counts.obs_names[2:]]
    path = tmp_path / "dup_cells.csv"
    write_text(duplicated, path)
    with bad_input(path, "1 duplicate cell names \\('twin'\\).*labels are unambiguous"):
        read_counts(path)


def test_duplicate_genes_are_made_unique(counts, tmp_path, caplog):
    path = write_10x_h5(counts, tmp_path / "dup_genes.h5", antibody=False)
    with h5py.File(path, "r+") as file:
        names = file["matrix/features/name"][()]
        names[1] = names[0]
        file["matrix/features/name"][...] = names
    with caplog.at_level(logging.WARNING, logger="sclatent.io"):
        result = read_counts(path)
    first = counts.var_names[0]
    assert list(result.var_names[:2]) == [first, f"{first}-1"]
    assert list(result.var["gene_symbol"][:2]) == [first, first]
    assert "1 gene names occur more than once" in caplog.text


@pytest.mark.parametrize(
    ("role", "file_name", "message"),
    [
        (
            "barcodes",
            "barcodes.tsv",
            "39 rows, but matrix.mtx has 40 cells; it needs one row per cell",
        ),
        (
            "features",
            "genes.tsv",
            "29 rows, but matrix.mtx has 30 genes; it needs one row per gene",
        ),
    ],
)
def test_mtx_directory_with_a_row_missing(counts, tmp_path, role, file_name, message):
    directory = write_10x_mtx(counts, tmp_path / "filtered_gene_bc_matrices", legacy=True)
    without_last_line(directory / file_name)
    with pytest.raises(InputError) as error:
        read_counts(directory, dataset="pbmc")
    assert str(error.value) == f"dataset 'pbmc': {directory / file_name}: {message}"


# ---- shape checks: empty, separator, orientation ----------------------------------------------


@pytest.mark.parametrize("name", ["zeros.csv", "zeros.h5ad"])
def test_all_zero_matrix_is_called_empty(counts, tmp_path, name):
    zeros = counts.copy()
    zeros.X = sp.csr_matrix(counts.shape, dtype=np.float32)
    path = tmp_path / name
    if name.endswith(".csv"):
        write_text(zeros, path)
    else:
        write_h5ad(zeros, path, dense=True)
    with pytest.raises(InputError) as error:
        read_counts(path)
    assert str(error.value) == f"{path}: the count matrix is empty (all values are 0)"


@pytest.mark.parametrize(
    ("name", "sep", "own", "found"),
    [
        ("counts.csv", ";", "csv separator (comma)", "semicolon"),
        ("counts.csv.gz", "\t", "csv separator (comma)", "tab"),
        ("counts.txt", " ", "csv separator (comma)", "whitespace"),
        ("counts.tsv", ",", "tsv separator (tab)", "comma"),
    ],
)
def test_other_separator_is_found_and_logged(counts, tmp_path, caplog, name, sep, own, found):
    path = write_text(counts, tmp_path / name, sep=sep)
    with caplog.at_level(logging.WARNING, logger="sclatent.io"):
        result = read_counts(path, labels_table=write_labels(counts, tmp_path / "labels.csv"))
    assert_same_counts(result, counts)
    assert caplog.messages == [
        f"{path}: the {own} leaves a single column; read with the {found} separator found in "
        "its first lines"
    ]


def test_r_style_whitespace_table_with_aligned_columns(tmp_path):
    path = tmp_path / "counts.txt"  # R's write.table: quoted names, no corner field
    path.write_text('"CD3E" "GAPDH"\n"c1"   1   0\n"c2"  12   3\n')
    result = read_counts(path)
    assert list(result.obs_names) == ["c1", "c2"]
    assert list(result.var_names) == ["CD3E", "GAPDH"]
    assert result.X.toarray().tolist() == [[1, 0], [12, 3]]


def test_unknown_separator_is_named(counts, tmp_path):
    path = write_text(counts, tmp_path / "counts.csv", sep="|")
    with pytest.raises(InputError) as error:
        read_counts(path)
    assert str(error.value) == (
        f"{path}: the csv separator (comma) leaves a single column, and no other separator "
        "(semicolon, tab, whitespace) splits the first lines into a table"
    )


def test_genes_as_rows_read_as_cells_is_refused(counts, tmp_path):
    user = with_user_names(counts)
    path = write_text(user, tmp_path / "GSE000_counts.csv.gz", genes_x_cells=True)
    with pytest.raises(InputError) as error:
        read_counts(path, dataset="gse")
    cells = ", ".join(repr(name) for name in user.obs_names[:3])
    assert str(error.value) == (
        f"dataset 'gse': {path}: its rows look like genes ('CD3E', 'GAPDH', 'MS4A1', ...) "
        f"and its columns like cell barcodes ({cells}, ...), but orientation is cells_x_genes; "
        "set the dataset sheet's orientation column to genes_x_cells"
    )


def test_cells_as_columns_read_as_genes_is_refused(counts, tmp_path):
    user = with_user_names(counts)
    path = write_text(user, tmp_path / "counts.csv")
    with pytest.raises(InputError) as error:
        read_counts(path, orientation="genes_x_cells")
    cells = ", ".join(repr(name) for name in user.obs_names[:3])
    assert str(error.value) == (
        f"{path}: its columns look like genes ('CD3E', 'GAPDH', 'MS4A1', ...) and its rows "
        f"like cell barcodes ({cells}, ...), but orientation is genes_x_cells; set the dataset "
        "sheet's orientation column to cells_x_genes"
    )


def test_ensembl_ids_as_rows_are_refused_whatever_the_cell_names(counts, tmp_path):
    ids = counts.copy()
    ids.var_names = [f"ENSG{i:011d}.5" for i in range(counts.n_vars)]
    path = write_text(ids, tmp_path / "counts.tsv", sep="\t", genes_x_cells=True)
    with pytest.raises(InputError) as error:
        read_counts(path)
    assert str(error.value) == (
        f"{path}: its rows look like genes ('ENSG00000000000.5', 'ENSG00000000001.5', "
        "'ENSG00000000002.5', ...), but orientation is cells_x_genes; set the dataset sheet's "
        "orientation column to genes_x_cells"
    )


@pytest.mark.parametrize("user_names", [True, False], ids=["barcodes_symbols", "plain_names"])
def test_right_way_round_reads_without_warning(counts, tmp_path, caplog, user_names):
    data = with_user_names(counts) if user_names else counts
    labels = write_labels(data, tmp_path / "labels.csv")
    rows_are_cells = write_text(data, tmp_path / "cells_x_genes.csv")
    rows_are_genes = write_text(data, tmp_path / "genes_x_cells.csv.gz", genes_x_cells=True)
    with caplog.at_level(logging.WARNING, logger="sclatent.io"):
        assert_same_counts(read_counts(rows_are_cells, labels_table=labels), data)
        assert_same_counts(
            read_counts(rows_are_genes, orientation="genes_x_cells", labels_table=labels), data
        )
    assert caplog.messages == []


def test_far_more_rows_than_columns_only_warns_and_is_not_transposed(tmp_path, caplog):
    tall = simulate_counts(30, 400, 3, seed=2, n_mito_genes=0, n_rare_types=0)
    path = write_text(tall, tmp_path / "counts.csv", genes_x_cells=True)
    with caplog.at_level(logging.WARNING, logger="sclatent.io"):
        result = read_counts(path)
    assert result.shape == (400, 30)  # as the user asked: no silent transposition
    assert caplog.messages == [
        f"{path}: read as cells_x_genes it has 400 cells but only 30 genes; if its rows are "
        "genes, set the dataset sheet's orientation column to genes_x_cells"
    ]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sclatent.io"):
        assert_same_counts(read_counts(path, orientation="genes_x_cells"), tall, labels=False)
    assert caplog.messages == []


def test_many_barcoded_cells_and_few_genes_is_not_suspect(tmp_path, caplog):
    many_cells = with_user_names(simulate_counts(400, 30, 3, seed=2, n_rare_types=0))
    path = write_text(many_cells, tmp_path / "hvg_counts.csv")
    with caplog.at_level(logging.WARNING, logger="sclatent.io"):
        assert_same_counts(read_counts(path), many_cells, labels=False)
    assert caplog.messages == []


# ---- labels --------------------------------------------------------------------------------


def test_missing_label_column_lists_the_columns(counts, tmp_path):
    path = write_h5ad(counts, tmp_path / "data.h5ad")
    with bad_input(path, r"label column 'celltype' not in obs \(available: truth, low_quality\)"):
        read_counts(path, label_column="celltype")


def test_nan_label_in_column(counts, tmp_path):
    unlabelled = counts.copy()
    unlabelled.obs.loc[unlabelled.obs_names[5], "truth"] = np.nan
    path = write_h5ad(unlabelled, tmp_path / "data.h5ad")
    with bad_input(path, f"1 cells have an empty or NaN label \\('{counts.obs_names[5]}'\\)"):
        read_counts(path, label_column="truth")


def test_label_column_needs_annotated_format(counts, tmp_path):
    path = write_text(counts, tmp_path / "counts.csv")
    with bad_input(path, "label_column needs h5ad or loom input.*use labels_table"):
        read_counts(path, label_column="truth")


def _labels_table(counts, tmp_path, edit):
    table = pd.DataFrame({"cell": counts.obs_names, "label": counts.obs["truth"].astype(str)})
    path = tmp_path / "labels.csv"
    edit(table).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (
            lambda t: t.iloc[3:],
            r"3 of 40 cells have no row \('cell_000001', 'cell_000002', 'cell_000003'\)",
        ),
        (
            lambda t: pd.concat([t, pd.DataFrame({"cell": ["ghost"], "label": ["x"]})]),
            r"1 cells not in the count matrix \('ghost'\)",
        ),
        (lambda t: pd.concat([t, t.iloc[:1]]), r"1 cells listed more than once \('cell_000001'\)"),
        (lambda t: t.assign(label=[""] + list(t.label[1:])), r"1 cells have an empty or NaN label"),
        (lambda t: t[["cell"]], r"needs a cell and a label column"),
    ],
)
def test_bad_labels_table(counts, tmp_path, edit, problem):
    data = write_h5ad(counts, tmp_path / "data.h5ad")
    table = _labels_table(counts, tmp_path, edit)
    with pytest.raises(InputError, match=f"labels table {re.escape(str(table))}[^\n]*{problem}"):
        read_counts(data, labels_table=table)


def test_labels_table_columns_found_by_name(counts, tmp_path):
    data = write_h5ad(counts, tmp_path / "data.h5ad")
    table = pd.DataFrame(
        {"batch": "b1", "label": counts.obs["truth"].astype(str), "cell": counts.obs_names}
    )
    path = tmp_path / "labels.csv"
    table.to_csv(path, index=False)
    assert_same_counts(read_counts(data, labels_table=path), counts)


def test_option_errors(counts, tmp_path):
    path = write_h5ad(counts, tmp_path / "data.h5ad")
    with bad_input(path, "unknown format 'xlsx'"):
        read_counts(path, fmt="xlsx")
    with bad_input(path, "orientation must be one of"):
        read_counts(path, orientation="rows")
    with bad_input(path, "orientation applies to csv/tsv input only"):
        read_counts(path, orientation="genes_x_cells")
    with bad_input(path, "give label_column or labels_table, not both"):
        read_counts(path, label_column="truth", labels_table=tmp_path / "labels.csv")


# ---- a real dataset ------------------------------------------------------------------------


def test_real_shared_dataset():
    path = SHARED_DATA / "pbmc68k_reduced.h5ad"
    if not path.is_file():
        pytest.skip(f"shared dataset {path} not present")
    before = fingerprint(path)
    result = read_counts(path, label_column="cell_type")
    expected = ad.read_h5ad(path)
    assert result.shape == expected.shape == (700, 765)
    assert (result.X != expected.X).nnz == 0
    assert list(result.obs["truth"].astype(str)) == list(expected.obs["cell_type"].astype(str))
    assert result.obs["truth"].nunique() == 10
    assert fingerprint(path) == before
