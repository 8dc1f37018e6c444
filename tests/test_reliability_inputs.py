"""Bad input through the real workflow: one clear line, non-zero exit, no partial outputs.

Function-level checks of every message live in test_io.py, test_qc.py and test_config.py; here
the real `snakemake` runs on tiny files and we check what a user sees: the exit status, the
`sclatent error: ...` line (or, for start-up validation, the `sclatent: ...` WorkflowError
line) in snakemake's output and in the rule's log, that the failed rule left no output, and
that no input file was changed. All bad datasets run in one `--keep-going` invocation beside
good ones, which must still get through. The last section holds the static security checks.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from sclatent.errors import InputError
from sclatent.sheet import read_dataset_sheet
from sclatent.simulate import simulate_counts

from .conftest import REPO, run_snakemake, write_workflow_config
from .test_io import (
    fingerprint,
    truncate,
    with_user_names,
    without_last_line,
    write_10x_h5,
    write_10x_mtx,
    write_text,
)

N_NEIGHBORS = 15  # the schema default, which the checks below rely on
N_COMPS = 30
CONFIG = {
    "seed": 0,
    "simulate": {"n_cells": 200, "n_genes": 150, "n_types": 3},
    "normalize": {"n_top_genes": 100},
    "pca": {"n_comps": N_COMPS},
    "latents": ["pca", "umap"],
}


# ---- the bad and the good inputs --------------------------------------------------------------


@dataclass(frozen=True)
class BadInput:
    """A dataset whose `rule` must fail with `message` (a regex of the whole line)."""

    dataset: str
    rule: str
    message: str
    write: Callable[[Path, ad.AnnData], dict]


@dataclass(frozen=True)
class GoodInput:
    """A dataset that must reach `target`, with `log_line` (a regex) in logs/{dataset}/{log}."""

    dataset: str
    target: str
    log: str
    log_line: str
    write: Callable[[Path, ad.AnnData], dict]


def h5ad_input(inputs: Path, adata, name: str) -> dict:
    """Write `adata` to inputs/`name` (once) and return its sheet row."""
    if not (inputs / name).exists():
        adata.write_h5ad(inputs / name)
    return {"input": f"inputs/{name}"}


def with_values(base, values):
    """A copy of `base` with X[cell, gene] = value for each (cell, gene): value."""
    X = base.X.toarray()
    for (cell, gene), value in values.items():
        X[cell, gene] = value
    changed = base.copy()
    changed.X = sp.csr_matrix(X)
    return changed


def renamed(base, *, cells=None, genes=None):
    changed = base.copy()
    if cells is not None:
        changed.obs_names = cells
    if genes is not None:
        changed.var_names = genes
    return changed


def single_type(base):
    changed = base.copy()
    changed.obs["cell_type"] = "T"
    return changed


def labels_table(inputs, base, name, edit):
    table = pd.DataFrame({"cell": base.obs_names, "label": base.obs["truth"].astype(str)})
    edit(table).to_csv(inputs / name, index=False)
    return h5ad_input(inputs, base, "counts.h5ad") | {"labels_table": f"inputs/{name}"}


def truncated(inputs: Path, row: dict, member: str = "") -> dict:
    """Cut the row's input file (or a file of its directory) to half its length."""
    truncate(inputs.parent / row["input"] / member)
    return row


def corrupt_h5ad(inputs, base):
    return truncated(inputs, h5ad_input(inputs, base, "corrupt.h5ad"))


def truncated_10x_h5(inputs, base):
    write_10x_h5(base, inputs / "truncated.h5")
    return truncated(inputs, {"input": "inputs/truncated.h5"})


def truncated_10x_mtx(inputs, base):
    write_10x_mtx(base, inputs / "truncated_mtx")
    return truncated(inputs, {"input": "inputs/truncated_mtx"}, "matrix.mtx.gz")


def csv_named_h5ad(inputs, base):
    write_text(base, inputs / "counts_csv.h5ad")
    return {"input": "inputs/counts_csv.h5ad"}


def text_input(inputs: Path, adata, name: str, **options) -> dict:
    """Write `adata` as a CSV/TSV table inputs/`name` (write_text options) and return its row."""
    write_text(adata, inputs / name, **options)
    return {"input": f"inputs/{name}"}


def genes_as_rows(inputs, base, name):
    """A GEO-style gzipped CSV: gene symbols down the rows, cell barcodes across."""
    return text_input(inputs, with_user_names(base), name, genes_x_cells=True)


def all_zero(inputs, base):
    zeros = base.copy()
    zeros.X = sp.csr_matrix(base.shape, dtype=np.float32)
    return text_input(inputs, zeros, "all_zero.csv")


def mtx_short_barcodes(inputs, base):
    write_10x_mtx(base, inputs / "mtx_short_barcodes", legacy=True)
    without_last_line(inputs / "mtx_short_barcodes" / "barcodes.tsv")
    return {"input": "inputs/mtx_short_barcodes"}


def simulated(n_cells):
    return simulate_counts(n_cells, 80, 3, seed=1, n_mito_genes=3, n_rare_types=0)


BAD_INPUTS = [
    BadInput(
        "corrupt_h5ad",
        "ingest",
        r"dataset 'corrupt_h5ad': inputs/corrupt\.h5ad: cannot open HDF5 file "
        r"\(corrupt or truncated\): .+",
        corrupt_h5ad,
    ),
    BadInput(
        "truncated_h5",
        "ingest",
        r"dataset 'truncated_h5': inputs/truncated\.h5: cannot open HDF5 file "
        r"\(corrupt or truncated\): .+",
        truncated_10x_h5,
    ),
    BadInput(
        "truncated_mtx",
        "ingest",
        r"dataset 'truncated_mtx': inputs/truncated_mtx: cannot read as 10x_mtx "
        r"\(corrupt, truncated or another format\): .+",
        truncated_10x_mtx,
    ),
    BadInput(
        "csv_as_h5ad",
        "ingest",
        r"dataset 'csv_as_h5ad': inputs/counts_csv\.h5ad: not an HDF5 file, so not h5ad "
        r"\(another format or corrupt\)",
        csv_named_h5ad,
    ),
    BadInput(
        "h5ad_as_10x",
        "ingest",
        r"dataset 'h5ad_as_10x': inputs/counts\.h5ad: not a valid 10x_h5 file; "
        r"it looks like h5ad \(use format 'h5ad'\)",
        lambda i, b: h5ad_input(i, b, "counts.h5ad") | {"format": "10x_h5"},
    ),
    BadInput(
        "zero_cells",
        "ingest",
        r"dataset 'zero_cells': inputs/zero_cells\.h5ad: the matrix has 0 cells and 80 genes",
        lambda i, b: h5ad_input(i, b[:0].copy(), "zero_cells.h5ad"),
    ),
    BadInput(
        "zero_genes",
        "ingest",
        r"dataset 'zero_genes': inputs/zero_genes\.h5ad: the matrix has 60 cells and 0 genes",
        lambda i, b: h5ad_input(i, b[:, :0].copy(), "zero_genes.h5ad"),
    ),
    BadInput(
        "negative",
        "ingest",
        r"dataset 'negative': inputs/negative\.h5ad: 1 negative values in the counts "
        r"\(smallest -2\)",
        lambda i, b: h5ad_input(i, with_values(b, {(3, 4): -2}), "negative.h5ad"),
    ),
    BadInput(
        "fractional",
        "ingest",
        r"dataset 'fractional': inputs/fractional\.h5ad: 1 non-integer values \(e\.g\. 2\.5\); "
        r"this looks like normalised data, not raw counts; set allow_non_integer=True to accept it",
        lambda i, b: h5ad_input(i, with_values(b, {(3, 4): 2.5}), "fractional.h5ad"),
    ),
    BadInput(
        "nonfinite",
        "ingest",
        r"dataset 'nonfinite': inputs/nonfinite\.h5ad: 2 NaN or infinite values in the counts",
        lambda i, b: h5ad_input(
            i, with_values(b, {(3, 4): np.nan, (5, 6): np.inf}), "nonfinite.h5ad"
        ),
    ),
    BadInput(
        "dup_cells",
        "ingest",
        r"dataset 'dup_cells': inputs/dup_cells\.h5ad: 1 duplicate cell names \('twin'\); "
        r"cell names must be unique so that labels are unambiguous",
        lambda i, b: h5ad_input(
            i, renamed(b, cells=["twin", "twin", *b.obs_names[2:]]), "dup_cells.h5ad"
        ),
    ),
    BadInput(
        "labels_missing",
        "ingest",
        r"dataset 'labels_missing': labels table inputs/labels_missing\.csv: 3 of 60 cells have "
        r"no row \('cell_000001', 'cell_000002', 'cell_000003'\)",
        lambda i, b: labels_table(i, b, "labels_missing.csv", lambda t: t.iloc[3:]),
    ),
    BadInput(
        "labels_unknown",
        "ingest",
        r"dataset 'labels_unknown': labels table inputs/labels_unknown\.csv: 1 cells not in "
        r"the count matrix \('ghost'\)",
        lambda i, b: labels_table(
            i,
            b,
            "labels_unknown.csv",
            lambda t: pd.concat([t, pd.DataFrame({"cell": ["ghost"], "label": ["x"]})]),
        ),
    ),
    BadInput(
        "no_label_column",
        "ingest",
        r"dataset 'no_label_column': inputs/counts\.h5ad: label column 'celltype' not in obs "
        r"\(available: truth, low_quality\)",
        lambda i, b: h5ad_input(i, b, "counts.h5ad") | {"label_column": "celltype"},
    ),
    BadInput(
        "qc_all",
        "qc",
        r"dataset 'qc_all': QC removed all 60 cells \(max_pct_mito: 60; .*\); "
        r"relax the qc thresholds in the config",
        lambda i, b: h5ad_input(i, renamed(b, genes=[f"MT-{g}" for g in b.var_names]), "mito.h5ad"),
    ),
    BadInput(
        "few_cells",
        "qc",
        rf"dataset 'few_cells': \d+ cells after QC, but the kNN graph needs more than "
        rf"neighbors\.n_neighbors = {N_NEIGHBORS}; lower n_neighbors or relax QC",
        lambda i, b: h5ad_input(i, simulated(12), "few_cells.h5ad"),
    ),
    BadInput(
        "one_type",
        "qc",
        r"dataset 'one_type': the labels name a single cell type \('T'\), so clusterings cannot be scored "
        r"against them; give no labels to run this dataset unlabelled",
        lambda i, b: h5ad_input(i, single_type(b), "one_type.h5ad") | {"label_column": "cell_type"},
    ),
    BadInput(
        "genes_as_rows",
        "ingest",
        r"dataset 'genes_as_rows': inputs/genes_as_rows\.csv\.gz: its rows look like genes "
        r"\('CD3E', 'GAPDH', 'MS4A1', \.\.\.\) and its columns like cell barcodes "
        r"\('[ACGT]{16}-1', '[ACGT]{16}-1', '[ACGT]{16}-1', \.\.\.\), but orientation is "
        r"cells_x_genes; set the dataset sheet's orientation column to genes_x_cells",
        lambda i, b: genes_as_rows(i, b, "genes_as_rows.csv.gz"),
    ),
    BadInput(
        "bar_separated",
        "ingest",
        r"dataset 'bar_separated': inputs/bar_separated\.csv: the csv separator \(comma\) leaves "
        r"a single column, and no other separator \(semicolon, tab, whitespace\) splits the "
        r"first lines into a table",
        lambda i, b: text_input(i, b, "bar_separated.csv", sep="|"),
    ),
    BadInput(
        "all_zero",
        "ingest",
        r"dataset 'all_zero': inputs/all_zero\.csv: the count matrix is empty \(all values are 0\)",
        all_zero,
    ),
    BadInput(
        "mtx_short_barcodes",
        "ingest",
        r"dataset 'mtx_short_barcodes': inputs/mtx_short_barcodes/barcodes\.tsv: 59 rows, but "
        r"matrix\.mtx has 60 cells; it needs one row per cell",
        mtx_short_barcodes,
    ),
]

GOOD_INPUTS = [
    GoodInput(
        "tiny",
        "results/tiny/embed/pca.h5ad",
        "ingest.log",
        r"rule ingest, wildcards \{'dataset': 'tiny'\}",
        lambda i, b: {"input": "simulate"},
    ),
    GoodInput(
        "small",
        "results/small/embed/pca.h5ad",
        "embed/pca.log",
        rf"n_comps={N_COMPS} reduced to 24 \(25 cells x \d+ genes\)",
        lambda i, b: h5ad_input(i, simulated(25), "small.h5ad") | {"label_column": "truth"},
    ),
    GoodInput(
        "fractional_ok",
        "results/fractional_ok/qc.h5ad",
        "ingest.log",
        r"WARNING sclatent\.io: inputs/fractional\.h5ad: 1 non-integer values \(e\.g\. 2\.5\); "
        r"this looks like normalised data, not raw counts; accepted because allow_non_integer=True",
        lambda i, b: (
            h5ad_input(i, with_values(b, {(3, 4): 2.5}), "fractional.h5ad")
            | {"allow_non_integer": "true"}
        ),
    ),
    GoodInput(
        "dup_genes",
        "results/dup_genes/qc.h5ad",
        "ingest.log",
        r"WARNING sclatent\.io: inputs/dup_genes\.h5ad: 1 gene names occur more than once "
        r"\('Gene00001'\); made unique by appending -1, -2, \.\.\.",
        lambda i, b: h5ad_input(
            i, renamed(b, genes=["Gene00001", *b.var_names[1:-1], "Gene00001"]), "dup_genes.h5ad"
        ),
    ),
    GoodInput(
        "no_symbols",
        "results/no_symbols/qc.h5ad",
        "qc.log",
        r"WARNING sclatent\.qc: no mitochondrial genes \(names starting with MT-/mt-/Mt-\): "
        r"pct_mito QC skipped",
        lambda i, b: h5ad_input(
            i, renamed(b, genes=[f"ENSG{n:011d}" for n in range(b.n_vars)]), "no_symbols.h5ad"
        ),
    ),
    GoodInput(
        "semicolon",
        "results/semicolon/qc.h5ad",
        "ingest.log",
        r"WARNING sclatent\.io: inputs/semicolon\.csv: the csv separator \(comma\) leaves a "
        r"single column; read with the semicolon separator found in its first lines",
        lambda i, b: text_input(i, b, "semicolon.csv", sep=";"),
    ),
    GoodInput(
        "genes_x_cells",
        "results/genes_x_cells/qc.h5ad",
        "ingest.log",
        r"rule ingest, wildcards \{'dataset': 'genes_x_cells'\}",
        lambda i, b: genes_as_rows(i, b, "genes_x_cells.csv.gz") | {"orientation": "genes_x_cells"},
    ),
]


# ---- one keep-going run over all of them ---------------------------------------------------


@dataclass
class BatchRun:
    workdir: Path
    returncode: int
    output: str
    inputs_before: dict
    inputs_after: dict


def input_fingerprints(inputs: Path) -> dict:
    return {path.name: fingerprint(path) for path in sorted(inputs.iterdir())}


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> BatchRun:
    workdir = tmp_path_factory.mktemp("bad_inputs")
    inputs = workdir / "inputs"
    inputs.mkdir()
    base = simulated(60)
    rows = []
    for case in [*BAD_INPUTS, *GOOD_INPUTS]:
        rows.append({"dataset": case.dataset, **case.write(inputs, base)})
    write_workflow_config(workdir, CONFIG, rows)
    targets = [f"results/{case.dataset}/qc.h5ad" for case in BAD_INPUTS]
    targets += [case.target for case in GOOD_INPUTS]
    before = input_fingerprints(inputs)
    result = run_snakemake(
        workdir, "--cores", "2", "--keep-going", *targets, check=False, timeout=900
    )
    return BatchRun(
        workdir,
        result.returncode,
        result.stdout + result.stderr,
        before,
        input_fingerprints(inputs),
    )


@pytest.mark.workflow
def test_the_run_fails_as_a_whole(batch):
    assert batch.returncode != 0
    assert "Traceback" not in batch.output  # bad input is never reported as a crash


@pytest.mark.workflow
@pytest.mark.parametrize("case", BAD_INPUTS, ids=lambda case: case.dataset)
def test_bad_input_is_one_line_naming_dataset_and_problem(batch, case):
    # The job prints the line to the terminal in one write; snakemake's own output may run
    # into it from the left (both share stderr), so only the line's end is anchored.
    line = re.compile(rf"sclatent error: {case.message}$", re.MULTILINE)
    assert line.search(batch.output), f"no line matching {line.pattern!r}:\n{batch.output[-6000:]}"
    log_name = f"logs/{case.dataset}/{case.rule}.log"
    assert f"Logfile {log_name}:" in batch.output  # the profile shows failed logs
    log = (batch.workdir / log_name).read_text()
    assert re.search(
        rf"^\S+ \S+ ERROR sclatent: sclatent error: {case.message}$", log, re.MULTILINE
    )
    assert "Traceback" not in log


@pytest.mark.workflow
@pytest.mark.parametrize("case", BAD_INPUTS, ids=lambda case: case.dataset)
def test_failed_rule_leaves_no_output(batch, case):
    results = batch.workdir / "results" / case.dataset
    left = sorted(str(p.relative_to(results)) for p in results.rglob("*") if p.is_file())
    if case.rule == "ingest":
        assert left == []
    else:  # only the raw counts of the ingest that succeeded, and its benchmark
        assert left == ["benchmarks/ingest.tsv", "raw.h5ad"]


@pytest.mark.workflow
@pytest.mark.parametrize("case", GOOD_INPUTS, ids=lambda case: case.dataset)
def test_good_inputs_complete_beside_the_bad_ones(batch, case):
    assert (batch.workdir / case.target).is_file()
    log = (batch.workdir / "logs" / case.dataset / case.log).read_text()
    assert re.search(case.log_line, log), log


@pytest.mark.workflow
def test_small_dataset_latent_has_fewer_components(batch):
    latent = ad.read_h5ad(batch.workdir / "results/small/embed/pca.h5ad").obsm["X_pca"]
    assert latent.shape == (25, 24)
    tiny = ad.read_h5ad(batch.workdir / "results/tiny/embed/pca.h5ad").obsm["X_pca"]
    assert tiny.shape[1] == N_COMPS


@pytest.mark.workflow
def test_accepted_non_integer_values_are_kept(batch):
    raw = ad.read_h5ad(batch.workdir / "results/fractional_ok/raw.h5ad")
    assert raw.X[3, 4] == pytest.approx(2.5)


@pytest.mark.workflow
def test_duplicate_genes_are_made_unique(batch):
    raw = ad.read_h5ad(batch.workdir / "results/dup_genes/raw.h5ad")
    assert raw.var_names.is_unique
    assert {"Gene00001", "Gene00001-1"} <= set(raw.var_names)


@pytest.mark.workflow
def test_genes_x_cells_table_is_read_the_way_the_sheet_says(batch):
    raw = ad.read_h5ad(batch.workdir / "results/genes_x_cells/raw.h5ad")
    expected = with_user_names(simulated(60))
    assert list(raw.obs_names) == list(expected.obs_names)
    assert list(raw.var_names) == list(expected.var_names)
    assert (raw.X != expected.X).nnz == 0
    assert "WARNING" not in (batch.workdir / "logs/genes_x_cells/ingest.log").read_text()


@pytest.mark.workflow
def test_no_input_file_is_changed(batch):
    assert batch.inputs_after == batch.inputs_before
    assert len(batch.inputs_before) >= 15


# ---- start-up validation: nothing runs ----------------------------------------------------------


STARTUP_CASES = {
    "missing_file": (
        {},
        [{"dataset": "gone", "input": "inputs/gone.h5ad"}],
        r"sclatent: config/datasets\.tsv: dataset 'gone': input inputs/gone\.h5ad does not exist",
    ),
    "shell_characters_in_name": (
        {},
        [{"dataset": "a;rm -rf x", "input": "simulate"}],
        r"sclatent: config/datasets\.tsv, line 2: dataset name 'a;rm -rf x' may only contain "
        r"letters, digits, '_' and '-' \(and must start with a letter or digit\), because it "
        r"becomes part of file paths",
    ),
    "path_traversal_in_name": (
        {},
        [{"dataset": "../x", "input": "simulate"}],
        r"sclatent: config/datasets\.tsv, line 2: dataset name '\.\./x' may only contain",
    ),
    "unknown_method": (
        {"latents": ["pca", "tsne"]},
        [{"dataset": "tiny", "input": "simulate"}],
        r"sclatent: config: key 'latents\.1': 'tsne' is not one of: pca, umap",
    ),
    # the dataset wildcard only matches names in the sheet, so no other path can be requested
    "dataset_not_in_sheet": (
        {},
        [{"dataset": "tiny", "input": "simulate"}],
        r"No rule to produce results/evil/raw\.h5ad",
    ),
}
TARGETS = {"dataset_not_in_sheet": ["results/evil/raw.h5ad"]}


@pytest.mark.workflow
@pytest.mark.parametrize("name", STARTUP_CASES)
def test_startup_validation_stops_before_any_job(tmp_path, name):
    config, rows, message = STARTUP_CASES[name]
    workdir = tmp_path / "run"
    sentinel = workdir / "x" / "keep.txt"
    sentinel.parent.mkdir(parents=True)
    sentinel.write_text("must survive")
    write_workflow_config(workdir, CONFIG | config, rows)
    targets = TARGETS.get(name, [])
    result = run_snakemake(workdir, "--cores", "1", *targets, check=False, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert re.search(rf"^{message}", output, re.MULTILINE), output[-4000:]
    assert "Traceback" not in output
    assert sentinel.read_text() == "must survive"
    assert not (workdir / "results").exists() and not (workdir / "logs").exists()
    assert not (tmp_path / "x").exists()


# ---- security hygiene (static) ----------------------------------------------------------------


def python_sources():
    files = sorted((REPO / "src").rglob("*.py")) + sorted((REPO / "scripts").glob("*.py"))
    assert len(files) > 20
    return files


SAFE_YAML_LOADERS = {"yaml.SafeLoader", "yaml.CSafeLoader", "SafeLoader", "CSafeLoader"}
ALWAYS_UNSAFE = {
    "yaml.unsafe_load",
    "yaml.unsafe_load_all",
    "yaml.full_load",
    "yaml.full_load_all",
    "os.system",
    "os.popen",
}


def is_unsafe(call: ast.Call) -> bool:
    """A call that may run code from a file or hand a string to a shell."""
    name = ast.unparse(call.func)
    keywords = {k.arg: ast.unparse(k.value) for k in call.keywords}
    if name in ALWAYS_UNSAFE:
        return True
    if name in ("yaml.load", "yaml.load_all"):
        positional = [ast.unparse(arg) for arg in call.args[1:2]]
        return keywords.get("Loader", "".join(positional)) not in SAFE_YAML_LOADERS
    if name == "torch.load":
        return keywords.get("weights_only") != "True"
    return keywords.get("shell") == "True"


def unsafe_calls(source: str) -> list[str]:
    return [
        f"line {node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and is_unsafe(node)
    ]


def test_unsafe_call_checker_catches_what_it_should():
    bad = [
        "yaml.load(text)",
        "yaml.load(text, Loader=yaml.Loader)",
        "yaml.unsafe_load(text)",
        "torch.load(path)",
        "torch.load(path, weights_only=False)",
        "subprocess.run(command, shell=True)",
        "os.system(command)",
    ]
    good = [
        "yaml.safe_load(text)",
        "yaml.load(text, Loader=yaml.SafeLoader)",
        "torch.load(path, weights_only=True, map_location='cpu')",
        "subprocess.run(['git', 'status'])",
    ]
    assert [len(unsafe_calls(code)) for code in bad] == [1] * len(bad)
    assert [unsafe_calls(code) for code in good] == [[]] * len(good)


def test_yaml_torch_and_subprocess_are_used_safely():
    problems = {
        str(path.relative_to(REPO)): found
        for path in python_sources()
        if (found := unsafe_calls(path.read_text()))
    }
    assert problems == {}


def shell_commands(rule_file_text: str) -> list[str]:
    """The text of every `shell:` directive (and shell() call) of a rule file."""
    commands, lines = [], rule_file_text.splitlines()
    for number, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("shell:"):
            indent = len(line) - len(line.lstrip())
            body = [stripped.removeprefix("shell:")]
            for following in lines[number + 1 :]:
                if following.strip() and len(following) - len(following.lstrip()) <= indent:
                    break
                body.append(following.strip())
            commands.append(" ".join(body).strip())
        elif re.search(r"\bshell\(", stripped):
            commands.append(stripped)
    return commands


def test_shell_commands_use_no_wildcard_or_config_value():
    rule_files = [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]
    assert len(rule_files) > 5
    # the check itself: a command interpolating a wildcard or a param is caught
    probe = 'rule x:\n    shell:\n        "echo {wildcards.dataset} {params.cmd} > {output}"\n'
    assert shell_commands(probe) == ['"echo {wildcards.dataset} {params.cmd} > {output}"']
    user_values = re.compile(r"\{(wildcards|params|config)\b|config\[")
    for path in rule_files:
        for command in shell_commands(path.read_text()):
            assert not user_values.search(command), f"{path.name}: {command}"


# ---- the sheet's allow_non_integer switch -----------------------------------------------------


def test_allow_non_integer_switch_reads_yes_and_no_and_rejects_others(tmp_path):
    schema = REPO / "workflow" / "schemas" / "datasets.schema.yaml"
    sheet = tmp_path / "datasets.tsv"
    sheet.write_text(
        "dataset\tinput\tallow_non_integer\na\tsimulate\ttrue\nb\tsimulate\tNo\nc\tsimulate\t\n"
    )
    assert read_dataset_sheet(sheet, schema)["allow_non_integer"].to_dict() == {
        "a": True,
        "b": False,
        "c": False,
    }
    sheet.write_text("dataset\tinput\tallow_non_integer\na\tsimulate\tmaybe\n")
    with pytest.raises(InputError, match=r"line 2: key 'allow_non_integer': 'maybe' is not true"):
        read_dataset_sheet(sheet, schema)
