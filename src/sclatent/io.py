"""Read a count matrix in any common single-cell format into the workflow's raw AnnData.

`read_counts` returns X = counts as CSR float32 (cells x genes), unique string cell and gene
names, labels in `obs['truth']` (categorical of str) when given, `var['gene_symbol']` (and
`var['gene_ids']` for 10x input) when the input has them, and `uns['input']` (path, format).

Input files are only ever opened read-only. Every problem with the input (missing or corrupt
file, wrong format, bad values or names, an empty matrix, a table that is evidently transposed,
incomplete labels) raises `InputError` with one line naming the file and the problem. Checks
look at the stored nonzeros, or a sample of the names, so they stay cheap on large matrices.
"""

from __future__ import annotations

import csv
import gzip
import logging
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from sclatent.errors import InputError

if TYPE_CHECKING:
    import anndata

log = logging.getLogger(__name__)

FORMATS = ("h5ad", "10x_h5", "10x_mtx", "loom", "csv", "tsv")
ORIENTATIONS = ("cells_x_genes", "genes_x_cells")
_SUFFIX_FORMATS = {
    ".h5ad": "h5ad",
    ".h5": "10x_h5",
    ".hdf5": "10x_h5",
    ".loom": "loom",
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": None,  # csv or tsv, decided by the header line
}
_HDF5_FORMATS = ("h5ad", "10x_h5", "loom")
_MTX_FILES = {
    "matrix": ("matrix.mtx.gz", "matrix.mtx"),
    "features": ("features.tsv.gz", "features.tsv", "genes.tsv.gz", "genes.tsv"),
    "barcodes": ("barcodes.tsv.gz", "barcodes.tsv"),
}
# Matrix entries handled at once when converting dense input (about 32 MB of float64).
_CHUNK_ENTRIES = 1 << 22
_EXAMPLES = 3
# Separators tried, in this order, when a csv/tsv file's own leaves a single column.
_SEPARATORS = {";": "semicolon", "\t": "tab", ",": "comma", " ": "whitespace"}
# Lines of a text table looked at to find its separator (fewer when they are long).
_HEAD_LINES = 20
_HEAD_CHARS = 1 << 20
# Names that tell cells from genes. A barcode is a run of 8+ bases (10x, Drop-seq), possibly
# with a sample prefix or a -1 / velocyto x suffix; a plate well (A1..P24) ends a name.
_BARCODE = re.compile(r"(?<![A-Za-z])[ACGTN]{8,}x?(?![A-Za-z])")
_PLATE_WELL = re.compile(r"(?:^|[_.:-])[A-P](?:0?[1-9]|1[0-9]|2[0-4])$")
_ENSEMBL_GENE = re.compile(r"^ENS[A-Z]*G\d{11}(?:\.\d+)?$")
_GENE_SYMBOL = re.compile(r"^(?=[A-Za-z0-9.-]*[A-Za-z])[A-Za-z0-9][A-Za-z0-9.-]*$")
_NAME_SAMPLE = 1000
_NAME_SHARE = 0.9  # share of the sampled names that must match for the names to count
# A cells x genes reading with this many times more cells than genes probably has genes as rows.
_CELLS_PER_GENE_SUSPECT = 10


@dataclass
class _Loaded:
    """What a format reader found, before the checks common to all formats."""

    X: Any  # cells x genes, scipy sparse or numpy array
    cells: np.ndarray
    genes: np.ndarray
    var: pd.DataFrame  # extra gene columns (gene_symbol, gene_ids), index ignored
    labels: pd.Series | None = None  # from label_column, one per cell


def read_counts(
    path: str | Path,
    fmt: str = "auto",
    *,
    orientation: str = "cells_x_genes",
    label_column: str | None = None,
    labels_table: str | Path | None = None,
    counts_layer: str | None = None,
    allow_non_integer: bool = False,
    dataset: str | None = None,
) -> anndata.AnnData:
    """Read raw counts and optional cell labels from `path` (file or 10x directory).

    fmt: one of FORMATS or "auto" (from the suffix; a directory is 10x_mtx, `.txt` is csv
        or tsv by its header line). HDF5 files are checked to hold what `fmt` says. When the
        csv/tsv separator leaves a single column, a semicolon, tab, comma or whitespace that
        splits the first lines evenly is used instead, with a logged warning.
    orientation: for csv/tsv only: "cells_x_genes" (a row per cell) or "genes_x_cells".
        The first column holds row names, the header row column names. A table evidently
        the other way round is refused, and far more cells than genes logged (see
        `check_orientation`); the data are never transposed without being asked.
    label_column: a column of the input's cell annotations (h5ad `obs`, loom `col_attrs`).
    labels_table: a CSV/TSV with a header, using columns `cell` and `label` if present,
        else the first two columns; it must label exactly the cells of the matrix.
    counts_layer: where an h5ad keeps its counts if not in X: a `layers` key or "raw"
        (`.raw.X` with `.raw.var`); for loom, a `layers` key instead of the main matrix.
    allow_non_integer: accept non-integer values (with a logged warning) instead of
        rejecting them as probably normalised data.
    dataset: a name prefixed to error messages and stored in `uns['dataset']`.

    Duplicate gene names (common in 10x data: several genes share a symbol) are made unique
    by appending -1, -2, ... with a logged warning; the original symbol stays in
    `var['gene_symbol']` for 10x input. Duplicate cell names are rejected, because they make
    labels ambiguous.
    """
    try:
        return _read_counts(
            Path(path),
            fmt,
            orientation=orientation,
            label_column=label_column,
            labels_table=labels_table,
            counts_layer=counts_layer,
            allow_non_integer=allow_non_integer,
            dataset=dataset,
        )
    except InputError as error:
        if dataset:
            raise InputError(f"dataset {dataset!r}: {error}") from error.__cause__
        raise


def _read_counts(
    path: Path,
    fmt: str,
    *,
    orientation: str,
    label_column: str | None,
    labels_table: str | Path | None,
    counts_layer: str | None,
    allow_non_integer: bool,
    dataset: str | None,
) -> anndata.AnnData:
    import anndata

    if orientation not in ORIENTATIONS:
        raise InputError(f"{path}: orientation must be one of {ORIENTATIONS}, got {orientation!r}")
    if label_column is not None and labels_table is not None:
        raise InputError(f"{path}: give label_column or labels_table, not both")
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt not in FORMATS:
        raise InputError(f"{path}: unknown format {fmt!r} (known: auto, {', '.join(FORMATS)})")
    _check_container(path, fmt)
    if orientation != "cells_x_genes" and fmt not in ("csv", "tsv"):
        raise InputError(f"{path}: orientation applies to csv/tsv input only, not {fmt}")
    if counts_layer is not None and fmt not in ("h5ad", "loom"):
        raise InputError(f"{path}: counts_layer applies to h5ad and loom input only, not {fmt}")
    if label_column is not None and fmt not in ("h5ad", "loom"):
        raise InputError(
            f"{path}: label_column needs h5ad or loom input ({fmt} has no cell annotations); "
            "use labels_table"
        )

    try:
        if fmt == "h5ad":
            loaded = _read_h5ad(path, counts_layer, label_column)
        elif fmt == "10x_h5":
            loaded = _read_10x_h5(path)
        elif fmt == "10x_mtx":
            loaded = _read_10x_mtx(path)
        elif fmt == "loom":
            loaded = _read_loom(path, counts_layer, label_column)
        else:
            loaded = _read_text(path, fmt, orientation)
    except (InputError, MemoryError):
        raise
    except Exception as error:
        raise InputError(
            f"{path}: cannot read as {fmt} (corrupt, truncated or another format): "
            f"{_one_line(error)}"
        ) from error

    X = _as_counts_matrix(loaded.X, path)
    n_cells, n_genes = X.shape
    if n_cells == 0 or n_genes == 0:
        raise InputError(f"{path}: the matrix has {n_cells} cells and {n_genes} genes")
    if len(loaded.cells) != n_cells or len(loaded.genes) != n_genes:
        raise InputError(
            f"{path}: matrix is {n_cells} x {n_genes} but there are {len(loaded.cells)} cell "
            f"names and {len(loaded.genes)} gene names"
        )
    check_not_empty(X, path)
    if fmt in ("csv", "tsv"):
        check_orientation(loaded.cells, loaded.genes, path, orientation)
    check_counts(X, path, allow_non_integer=allow_non_integer)
    cells = pd.Index(np.asarray(loaded.cells).astype(str))
    genes = _unique_gene_names(pd.Index(np.asarray(loaded.genes).astype(str)), path)
    duplicated = cells[cells.duplicated()].unique()
    if len(duplicated):
        raise InputError(
            f"{path}: {len(duplicated)} duplicate cell names ({_examples(duplicated)}); "
            "cell names must be unique so that labels are unambiguous"
        )

    obs = pd.DataFrame(index=cells)
    if loaded.labels is not None:
        where = f"{path} label column {label_column!r}"
        obs["truth"] = _as_labels(pd.Series(loaded.labels.to_numpy(), index=cells), where)
    elif labels_table is not None:
        obs["truth"] = read_labels_table(labels_table, cells)
    var = loaded.var.reset_index(drop=True).set_axis(genes)
    uns: dict[str, Any] = {"input": {"path": str(path), "format": fmt}}
    if dataset:
        uns["dataset"] = dataset
    return anndata.AnnData(X=X, obs=obs, var=var, uns=uns)


def detect_format(path: str | Path) -> str:
    """Format of `path` from its suffix (ignoring .gz) or, for a directory, its files."""
    path = Path(path)
    if path.is_dir() or path.name in _MTX_FILES["matrix"]:
        return "10x_mtx"
    suffix = _suffix(path)
    if suffix not in _SUFFIX_FORMATS:
        known = ", ".join(sorted(_SUFFIX_FORMATS))
        raise InputError(
            f"{path}: cannot tell the format from suffix {suffix!r} (known: {known}, a 10x "
            "directory, each optionally .gz for text); give fmt explicitly"
        )
    fmt = _SUFFIX_FORMATS[suffix]
    if fmt is None:
        fmt = "tsv" if "\t" in _first_line(path) else "csv"
    return fmt


def read_labels_table(table: str | Path, cells: pd.Index) -> pd.Categorical:
    """Labels for `cells` from a CSV/TSV table (columns `cell`/`label` or the first two).

    Every cell needs exactly one non-empty label and the table may name no other cells.
    """
    table = Path(table)
    if not table.is_file():
        raise InputError(f"labels table {table}: no such file")
    sep = "\t" if "\t" in _first_line(table) else ","
    try:
        frame = pd.read_csv(table, sep=sep, dtype=str)
    except Exception as error:
        raise InputError(f"labels table {table}: cannot read: {_one_line(error)}") from error
    if {"cell", "label"} <= set(frame.columns):
        cell_column, label_column = "cell", "label"
    elif frame.shape[1] >= 2:
        cell_column, label_column = frame.columns[:2]
    else:
        raise InputError(
            f"labels table {table}: needs a cell and a label column, found {list(frame.columns)}"
        )
    table_cells = frame[cell_column].astype(str)
    repeated = table_cells[table_cells.duplicated()].unique()
    if len(repeated):
        raise InputError(
            f"labels table {table}: {len(repeated)} cells listed more than once "
            f"({_examples(repeated)})"
        )
    unknown = table_cells[~table_cells.isin(cells)]
    if len(unknown):
        raise InputError(
            f"labels table {table}: {len(unknown)} cells not in the count matrix "
            f"({_examples(unknown)})"
        )
    missing = cells[~cells.isin(table_cells)]
    if len(missing):
        raise InputError(
            f"labels table {table}: {len(missing)} of {len(cells)} cells have no row "
            f"({_examples(missing)})"
        )
    labels = pd.Series(frame[label_column].to_numpy(), index=table_cells.to_numpy()).loc[cells]
    return _as_labels(labels, f"labels table {table} column {label_column!r}")


def check_not_empty(X: Any, source: Any) -> None:
    """Reject a matrix without a single count, before QC blames its filters for it."""
    values = X.data if sp.issparse(X) else np.asarray(X)
    if not values.any():
        raise InputError(f"{source}: the count matrix is empty (all values are 0)")


def check_orientation(cells: Any, genes: Any, source: Any, orientation: str) -> None:
    """Stop (or warn) when a text table was evidently read the wrong way round.

    Genes read as cells would go through QC and clustering as cells, and only a labels table
    would notice. Names decide when they are clear: cell names that look like genes, with gene
    names that look like barcodes (or cell names that are Ensembl gene ids), raise; far more
    cells than genes, with names that do not show the orientation is right, is only logged,
    because a table of many cells and few (e.g. highly variable) genes is valid. The data are
    never transposed here: only the user knows which way the file is written.
    """
    cell_kind, gene_kind = _name_kind(cells), _name_kind(genes)
    other = ORIENTATIONS[1 - ORIENTATIONS.index(orientation)]
    cell_axis, gene_axis = (
        ("rows", "columns") if orientation == ORIENTATIONS[0] else ("columns", "rows")
    )
    advice = f"set the dataset sheet's orientation column to {other}"
    genes_as_cells = cell_kind == "ensembl" and gene_kind != "ensembl"
    genes_as_cells |= cell_kind in ("ensembl", "symbols") and gene_kind == "barcodes"
    if genes_as_cells:
        evidence = f"its {cell_axis} look like genes ({_examples(cells)})"
        if gene_kind == "barcodes":
            evidence += f" and its {gene_axis} like cell barcodes ({_examples(genes)})"
        raise InputError(f"{source}: {evidence}, but orientation is {orientation}; {advice}")
    right_way_round = cell_kind == "barcodes" or gene_kind == "ensembl"
    n_cells, n_genes = len(cells), len(genes)
    if not right_way_round and n_cells >= _CELLS_PER_GENE_SUSPECT * n_genes:
        log.warning(
            "%s: read as %s it has %d cells but only %d genes; if its %s are genes, %s",
            source,
            orientation,
            n_cells,
            n_genes,
            cell_axis,
            advice,
        )


def _name_kind(names: Any) -> str | None:
    """'barcodes', 'ensembl' or 'symbols' when nearly all of a sample of `names` look so."""
    names = np.asarray(names)
    if names.size > _NAME_SAMPLE:
        names = names[np.linspace(0, names.size - 1, _NAME_SAMPLE).astype(int)]
    names = [str(name) for name in names]

    def share(matches) -> float:
        return sum(map(bool, matches)) / max(len(names), 1)

    barcode = [_BARCODE.search(n) or _PLATE_WELL.search(n) for n in names]
    if share(barcode) >= _NAME_SHARE:
        return "barcodes"
    if share(_ENSEMBL_GENE.match(n) for n in names) >= _NAME_SHARE:
        return "ensembl"
    symbol = (_GENE_SYMBOL.match(n) and not b for n, b in zip(names, barcode, strict=True))
    if share(symbol) >= _NAME_SHARE:
        return "symbols"
    return None


def check_counts(X: sp.csr_matrix, source: Any, *, allow_non_integer: bool = False) -> None:
    """Reject NaN/Inf, negative and (unless allowed) non-integer values in a sparse matrix."""
    n_nonfinite = n_negative = n_fractional = 0
    smallest, fractional_example = 0.0, None
    for start in range(0, X.data.size, _CHUNK_ENTRIES):
        chunk = X.data[start : start + _CHUNK_ENTRIES]
        finite = np.isfinite(chunk)
        n_nonfinite += int(chunk.size - finite.sum())
        chunk = chunk[finite]
        n_negative += int((chunk < 0).sum())
        if chunk.size:
            smallest = min(smallest, float(chunk.min()))
        fractional = chunk[chunk != np.round(chunk)]
        n_fractional += fractional.size
        if fractional.size and fractional_example is None:
            fractional_example = float(fractional[0])
    if n_nonfinite:
        raise InputError(f"{source}: {n_nonfinite} NaN or infinite values in the counts")
    if n_negative:
        raise InputError(
            f"{source}: {n_negative} negative values in the counts (smallest {smallest:g})"
        )
    if n_fractional:
        message = (
            f"{source}: {n_fractional} non-integer values (e.g. {fractional_example:g}); "
            "this looks like normalised data, not raw counts"
        )
        if not allow_non_integer:
            raise InputError(f"{message}; set allow_non_integer=True to accept it")
        log.warning("%s; accepted because allow_non_integer=True", message)


def _read_h5ad(path: Path, counts_layer: str | None, label_column: str | None) -> _Loaded:
    import h5py
    from anndata.io import read_elem

    with h5py.File(path, "r") as file:
        obs = read_elem(file["obs"])
        if counts_layer == "raw":
            if "raw" not in file:
                raise InputError(f"{path}: counts_layer 'raw' given but the file has no .raw")
            matrix, var = file["raw/X"], read_elem(file["raw/var"])
        elif counts_layer not in (None, "X"):
            layers = list(file["layers"]) if "layers" in file else []
            if counts_layer not in layers:
                available = ["X", *layers, *(["raw"] if "raw" in file else [])]
                raise InputError(
                    f"{path}: counts_layer {counts_layer!r} not found "
                    f"(available: {', '.join(available)})"
                )
            matrix, var = file["layers"][counts_layer], read_elem(file["var"])
        else:
            if "X" not in file:
                raise InputError(f"{path}: the file has no X; name the counts with counts_layer")
            matrix, var = file["X"], read_elem(file["var"])
        X = read_elem(matrix)
    labels = None
    if label_column is not None:
        if label_column not in obs.columns:
            raise InputError(
                f"{path}: label column {label_column!r} not in obs "
                f"(available: {', '.join(map(str, obs.columns)) or 'none'})"
            )
        labels = obs[label_column]
    extra = var[["gene_symbol"]] if "gene_symbol" in var.columns else pd.DataFrame(index=var.index)
    return _Loaded(X, obs.index.to_numpy(), var.index.to_numpy(), extra, labels)


def _read_10x_h5(path: Path) -> _Loaded:
    import scanpy as sc

    with warnings.catch_warnings():  # duplicate gene names are handled (and logged) later
        warnings.filterwarnings("ignore", "Variable names are not unique", UserWarning)
        adata = sc.read_10x_h5(path, gex_only=True)
    var = pd.DataFrame({"gene_symbol": adata.var_names.to_numpy()})
    if "gene_ids" in adata.var.columns:
        var["gene_ids"] = adata.var["gene_ids"].to_numpy()
    return _Loaded(adata.X, adata.obs_names.to_numpy(), adata.var_names.to_numpy(), var)


def _read_10x_mtx(path: Path) -> _Loaded:
    """10x MatrixMarket directory: genes x cells matrix.mtx, features/genes.tsv, barcodes."""
    import scipy.io

    directory = path if path.is_dir() else path.parent
    found = {}
    for role, names in _MTX_FILES.items():
        found[role] = next((directory / n for n in names if (directory / n).is_file()), None)
        if found[role] is None:
            raise InputError(f"{directory}: 10x directory without {' or '.join(names)}")
    features = pd.read_csv(found["features"], sep="\t", header=None, dtype=str)
    barcodes = pd.read_csv(found["barcodes"], sep="\t", header=None, dtype=str)[0]
    matrix = sp.csr_matrix(scipy.io.mmread(found["matrix"]).T)  # 10x stores genes x cells
    n_cells, n_genes = matrix.shape
    for role, n_rows, n_expected, what in (
        ("barcodes", len(barcodes), n_cells, "cell"),
        ("features", len(features), n_genes, "gene"),
    ):
        if n_rows != n_expected:
            raise InputError(
                f"{found[role]}: {n_rows} rows, but {found['matrix'].name} has {n_expected} "
                f"{what}s; it needs one row per {what}"
            )
    symbols = features[1] if features.shape[1] > 1 else features[0]
    var = pd.DataFrame({"gene_symbol": symbols.to_numpy(), "gene_ids": features[0].to_numpy()})
    if features.shape[1] > 2:  # CellRanger v3: keep gene expression, drop antibody/CRISPR
        expression = (features[2] == "Gene Expression").to_numpy()
        matrix, var = matrix[:, expression], var[expression]
    return _Loaded(matrix, barcodes.to_numpy(), var["gene_symbol"].to_numpy(), var)


def _read_loom(path: Path, counts_layer: str | None, label_column: str | None) -> _Loaded:
    """Loom: genes x cells main matrix (or a layer), names in row/col attributes."""
    import h5py

    with h5py.File(path, "r") as file:
        if counts_layer in (None, "", "matrix"):
            matrix = file["matrix"]
        else:
            layers = [name for name in file.get("layers", {}) if name]
            if counts_layer not in layers:
                raise InputError(
                    f"{path}: counts_layer {counts_layer!r} not in the loom layers "
                    f"(available: {', '.join(['matrix', *layers])})"
                )
            matrix = file["layers"][counts_layer]
        cells = _loom_names(file, path, "col_attrs", ("CellID", "obs_names", "cell_names"))
        genes = _loom_names(file, path, "row_attrs", ("Gene", "var_names", "gene_names"))
        labels = None
        if label_column is not None:
            if label_column not in file["col_attrs"]:
                raise InputError(
                    f"{path}: label column {label_column!r} not in the loom col_attrs "
                    f"(available: {', '.join(file['col_attrs'])})"
                )
            labels = pd.Series(_strings(file["col_attrs"][label_column][()]))
        n_genes, n_cells = matrix.shape
        step = max(1, _CHUNK_ENTRIES // max(n_genes, 1))
        blocks = [
            sp.csr_matrix(matrix[:, start : start + step].T) for start in range(0, n_cells, step)
        ]
    X = sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, n_genes))
    var = pd.DataFrame(index=range(len(genes)))
    return _Loaded(X, cells, genes, var, labels)


def _loom_names(file: Any, path: Path, group: str, keys: tuple[str, ...]) -> np.ndarray:
    attributes = file[group]
    for key in keys:
        if key in attributes:
            return _strings(attributes[key][()])
    raise InputError(
        f"{path}: no {group} with names ({' or '.join(keys)}; found {', '.join(attributes)})"
    )


def _read_text(path: Path, fmt: str, orientation: str) -> _Loaded:
    """Dense CSV/TSV with names in the first column and the header row, read in chunks."""
    head = _head_lines(path, _HEAD_LINES)
    if not head:
        raise InputError(f"{path}: empty file")
    if len(head) == 1:
        raise InputError(f"{path}: only a header row, no data")
    sep = _text_separator(path, fmt, head)
    header, first_row = _split_lines(head[:2], sep)
    # A header may or may not name the first (row-name) column.
    if len(header) == len(first_row) - 1:
        column_names = header
    elif len(header) == len(first_row):
        column_names = header[1:]
    else:
        raise InputError(
            f"{path}: header has {len(header)} fields but the first row {len(first_row)}; "
            f"is the separator {sep!r} right?"
        )
    rows_per_chunk = max(1, _CHUNK_ENTRIES // max(len(column_names), 1))
    row_names, blocks = [], []
    chunks = pd.read_csv(
        path, sep=r"\s+" if sep == " " else sep, header=None, skiprows=1, index_col=0,
        dtype={0: str}, chunksize=rows_per_chunk,
    )  # fmt: skip
    for chunk in chunks:
        if chunk.shape[1] != len(column_names):
            raise InputError(
                f"{path}: rows have {chunk.shape[1]} values but the header names "
                f"{len(column_names)} columns"
            )
        try:
            values = chunk.to_numpy(dtype=np.float64)
        except ValueError as error:
            raise InputError(f"{path}: non-numeric value in the matrix ({error})") from error
        blocks.append(sp.csr_matrix(values.astype(np.float32)))
        row_names.extend(chunk.index.astype(str))
    matrix = sp.vstack(blocks, format="csr")
    row_names, column_names = np.asarray(row_names), np.asarray(column_names)
    if orientation == "genes_x_cells":
        matrix, row_names, column_names = matrix.T.tocsr(), column_names, row_names
    var = pd.DataFrame(index=range(len(column_names)))
    return _Loaded(matrix, row_names, column_names, var)


def _text_separator(path: Path, fmt: str, head: list[str]) -> str:
    """The separator of a csv/tsv table: the format's own, or one that the first lines show.

    Spreadsheets save CSV with ';' where ',' is the decimal mark, and R writes spaces; read
    with the format's separator such a file is a single column. csv.Sniffer is not used: it
    fails on short files and on headers without a row-name field, both common here. Instead
    a separator counts when it splits every sampled row into the same number (2 or more) of
    fields and the header into as many, or one fewer.
    """
    own = "," if fmt == "csv" else "\t"
    if len(_split_lines(head[1:2], own)[0]) > 1:
        return own
    for sep, name in _SEPARATORS.items():
        if sep != own and _splits_evenly(head, sep):
            log.warning(
                "%s: the %s separator (%s) leaves a single column; read with the %s separator "
                "found in its first lines",
                path,
                fmt,
                _SEPARATORS[own],
                name,
            )
            return sep
    others = ", ".join(name for sep, name in _SEPARATORS.items() if sep != own)
    raise InputError(
        f"{path}: the {fmt} separator ({_SEPARATORS[own]}) leaves a single column, and no "
        f"other separator ({others}) splits the first lines into a table"
    )


def _splits_evenly(lines: list[str], sep: str) -> bool:
    header, *rows = _split_lines(lines, sep)
    width = len(rows[0])
    return width > 1 and len(header) in (width, width - 1) and all(len(r) == width for r in rows)


def _split_lines(lines: list[str], sep: str) -> list[list[str]]:
    """Fields of each line; a space separator also takes runs of spaces (aligned columns)."""
    return list(csv.reader(lines, delimiter=sep, skipinitialspace=sep == " "))


def _check_container(path: Path, fmt: str) -> None:
    """Fail early and clearly when the file cannot be `fmt`, e.g. a CSV named .h5ad."""
    if fmt == "10x_mtx":
        if not path.is_dir() and path.name not in _MTX_FILES["matrix"]:
            raise InputError(f"{path}: 10x_mtx needs a directory with matrix.mtx(.gz)")
        return
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a {fmt} file")
    import h5py

    is_hdf5 = h5py.is_hdf5(path)
    if fmt in _HDF5_FORMATS and not is_hdf5:
        raise InputError(f"{path}: not an HDF5 file, so not {fmt} (another format or corrupt)")
    if fmt not in _HDF5_FORMATS and is_hdf5:
        raise InputError(f"{path}: is an HDF5 file, not {fmt}; {_hdf5_hint(path)}")
    if is_hdf5:
        kind = _hdf5_kind(path)
        if kind != fmt:
            raise InputError(f"{path}: not a valid {fmt} file; {_hdf5_hint(path)}")


def _hdf5_kind(path: Path) -> str | None:
    """Which of h5ad, 10x_h5 and loom an HDF5 file holds, from its layout (None: none)."""
    import h5py

    try:
        with h5py.File(path, "r") as file:
            if file.attrs.get("encoding-type") == "anndata" or {"obs", "var"} <= set(file):
                return "h5ad"
            if isinstance(file.get("matrix"), h5py.Dataset) and "col_attrs" in file:
                return "loom"
            groups = [file[name] for name in file if isinstance(file[name], h5py.Group)]
            if any("barcodes" in group for group in groups):
                return "10x_h5"  # v3 keeps /matrix/barcodes, v2 /<genome>/barcodes
    except Exception as error:
        raise InputError(
            f"{path}: cannot open HDF5 file (corrupt or truncated): {_one_line(error)}"
        ) from error
    return None


def _hdf5_hint(path: Path) -> str:
    kind = _hdf5_kind(path)
    if kind is None:
        return "its layout matches none of h5ad, 10x_h5, loom"
    return f"it looks like {kind} (use format {kind!r})"


def _as_counts_matrix(X: Any, path: Path) -> sp.csr_matrix:
    """CSR float32 in canonical form (sorted indices, no duplicates, no stored zeros)."""
    if not sp.issparse(X):
        X = np.asarray(X)
        if X.ndim != 2:
            raise InputError(f"{path}: expected a 2-D matrix, got shape {X.shape}")
    X = sp.csr_matrix(X, dtype=np.float32)
    X.sum_duplicates()
    X.eliminate_zeros()
    return X


def _unique_gene_names(genes: pd.Index, path: Path) -> pd.Index:
    if genes.is_unique:
        return genes
    import anndata

    repeated = genes[genes.duplicated()].unique()
    log.warning(
        "%s: %d gene names occur more than once (%s); made unique by appending -1, -2, ...",
        path,
        len(repeated),
        _examples(repeated),
    )
    return anndata.utils.make_index_unique(genes)


def _as_labels(labels: pd.Series, where: str) -> pd.Categorical:
    """Categorical of strings; NaN or blank labels raise InputError naming a few cells."""
    text = labels.astype("object")
    empty = text.isna().to_numpy() | (text.astype(str).str.strip() == "").to_numpy()
    if empty.any():
        raise InputError(
            f"{where}: {int(empty.sum())} cells have an empty or NaN label "
            f"({_examples(labels.index[empty])})"
        )
    return pd.Categorical(text.astype(str).to_numpy())


def _strings(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind in "SO":
        return np.array([v.decode() if isinstance(v, bytes) else str(v) for v in values])
    return values.astype(str)


def _open_text(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", newline="")
    return open(path, newline="")


def _first_line(path: Path) -> str:
    try:
        return next(iter(_head_lines(path, 1)), "")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read as text: {_one_line(error)}") from error


def _head_lines(path: Path, max_lines: int) -> list[str]:
    """The first non-blank lines of a text file: at most `max_lines`, and about a MB."""
    lines, size = [], 0
    with _open_text(path) as handle:
        for line in handle:
            if not line.strip():
                continue
            lines.append(line)
            size += len(line)
            if len(lines) >= max_lines or (size > _HEAD_CHARS and len(lines) >= 2):
                break
    return lines


def _suffix(path: Path) -> str:
    suffixes = path.suffixes
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1].lower() if suffixes else ""


def _examples(names: Any) -> str:
    names = list(names)
    shown = ", ".join(repr(str(name)) for name in names[:_EXAMPLES])
    return shown + (", ..." if len(names) > _EXAMPLES else "")


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return f"{type(error).__name__}: {text}" if not text.startswith(type(error).__name__) else text
