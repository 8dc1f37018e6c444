"""Config and dataset-sheet validation: defaults, and one readable line per mistake."""

import pytest
import yaml

from sclatent.config import load_schema, validate
from sclatent.errors import InputError
from sclatent.sheet import missing_inputs, read_dataset_sheet, simulation_overrides

from .conftest import REPO

SCHEMAS = REPO / "workflow" / "schemas"


@pytest.fixture(scope="module")
def config_schema():
    return load_schema(SCHEMAS / "config.schema.yaml")


def test_defaults_fill_nested_sections(config_schema):
    config = validate({"seed": 3}, config_schema, "config")
    assert config["seed"] == 3
    assert config["qc"]["mad"]["total_counts"] == 5
    assert config["normalize"]["n_top_genes"] == 2000
    assert config["latents"][:2] == ["pca", "umap"]
    assert config["training"]["device"] == "auto"


def test_slurm_profile_makes_a_missing_gpu_an_error(config_schema):
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    config = validate({"training": profile["config"]["training"]}, config_schema, "config")
    assert config["training"] == {
        "device": "auto",
        "on_missing_gpu": "error",
        "simulated_budget": 1,
    }
    assert validate({}, config_schema, "config")["training"]["on_missing_gpu"] == "cpu"


def test_unknown_key_is_named(config_schema):
    with pytest.raises(InputError, match=r"unknown key 'max_pct_mitoo' in 'qc'") as caught:
        validate({"qc": {"max_pct_mitoo": 3}}, config_schema, "config")
    assert "\n" not in str(caught.value)
    assert "max_pct_mito," in str(caught.value)  # the known keys are listed


def test_unknown_method_is_named(config_schema):
    with pytest.raises(InputError, match=r"'latents.1': 'pcaa' is not one of"):
        validate({"latents": ["pca", "pcaa"]}, config_schema, "config")


def test_bad_value_names_the_key(config_schema):
    with pytest.raises(InputError, match=r"key 'leiden.resolution'") as caught:
        validate({"leiden": {"resolution": -1}}, config_schema, "config")
    assert str(caught.value) == "config: key 'leiden.resolution' must be a number > 0, got -1"
    with pytest.raises(InputError, match=r"key 'pca.n_comps' must be an integer >= 2, got 2.5"):
        validate({"pca": {"n_comps": 2.5}}, config_schema, "config")


def write_sheet(tmp_path, text):
    path = tmp_path / "datasets.tsv"
    path.write_text(text)
    return path


def test_sheet_reads_and_marks_simulated(tmp_path):
    path = write_sheet(
        tmp_path, "dataset\tinput\tlabel_column\nsim\tsimulate\t\nreal\tx.h5ad\tcell_type\n"
    )
    sheet = read_dataset_sheet(path, SCHEMAS / "datasets.schema.yaml")
    assert list(sheet.index) == ["sim", "real"]
    assert sheet.loc["sim", "format"] == "simulate"
    assert sheet.loc["real", "format"] == "auto"
    assert sheet.loc["real", "label_column"] == "cell_type"
    assert missing_inputs(sheet) == ["dataset 'real': input x.h5ad does not exist"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dataset\tinput\nmy data\tsimulate\n", r"line 2: dataset name 'my data' may only contain"),
        ("dataset\tinput\n../etc\tsimulate\n", r"dataset name '../etc' may only contain"),
        ("dataset\tinput\nraw\tsimulate\n", r"dataset name 'raw' is reserved"),
        ("dataset\tinput\na\tsimulate\na\tsimulate\n", r"unique, repeated: a"),
        ("dataset\tinput\tformat\na\tx.txt\tparquet\n", r"key 'format': 'parquet' is not one of"),
        ("dataset\tinput\tcolour\na\tsimulate\tred\n", r"unknown key 'colour'"),
        ("dataset\na\n", r"'input' is a required property"),
        ("dataset\tinput\n", r"lists no datasets"),
    ],
)
def test_sheet_errors_are_one_line(tmp_path, text, message):
    path = write_sheet(tmp_path, text)
    with pytest.raises(InputError, match=message) as caught:
        read_dataset_sheet(path, SCHEMAS / "datasets.schema.yaml")
    assert str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_simulation_overrides_are_typed():
    assert simulation_overrides("n_cells=100;dropout_midpoint=0.5; n_types = 3", "x") == {
        "n_cells": 100,
        "dropout_midpoint": 0.5,
        "n_types": 3,
    }
    with pytest.raises(InputError, match="key=value"):
        simulation_overrides("n_cells:100", "x")
