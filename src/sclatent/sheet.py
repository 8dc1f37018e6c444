"""The dataset sheet: one row per dataset, validated before anything runs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from sclatent.config import check_safe_name, load_schema, validate
from sclatent.errors import InputError

SIMULATE = "simulate"
# names of result files and folders that a dataset of the same name would collide with
RESERVED_NAMES = {"raw", "qc", "norm", "hvg", "truth", "benchmark"}


def read_dataset_sheet(path, schema_path) -> pd.DataFrame:
    """Read and validate the sheet; return it indexed by dataset name."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: dataset sheet not found")
    try:
        table = pd.read_csv(path, sep="\t", dtype=str, comment="#", skip_blank_lines=True)
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: not a readable tab-separated table ({error})") from None
    if table.empty:
        raise InputError(f"{path}: the dataset sheet lists no datasets")
    schema = load_schema(schema_path)
    rows = []
    for number, record in enumerate(table.to_dict("records"), start=2):
        row = {k.strip(): v.strip() for k, v in record.items() if isinstance(v, str) and v.strip()}
        where = f"{path}, line {number}"
        if "dataset" in row:
            check_safe_name(row["dataset"], "dataset name", where)
            if row["dataset"] in RESERVED_NAMES:
                raise InputError(
                    f"{where}: dataset name {row['dataset']!r} is reserved for result files "
                    f"({', '.join(sorted(RESERVED_NAMES))}); choose another"
                )
        if "allow_non_integer" in row:
            row["allow_non_integer"] = _as_bool(
                row["allow_non_integer"], "allow_non_integer", where
            )
        row = validate(row, schema, where)
        if row["input"] == SIMULATE:
            row["format"] = SIMULATE
        rows.append(row)
    sheet = pd.DataFrame(rows)
    duplicated = sheet["dataset"][sheet["dataset"].duplicated()].unique()
    if len(duplicated):
        raise InputError(f"{path}: dataset names must be unique, repeated: {', '.join(duplicated)}")
    return sheet.set_index("dataset", drop=False)


def _as_bool(text: str, key: str, where: str) -> bool:
    """A yes/no cell of the sheet (read as text) as a boolean; anything else is an error."""
    value = text.strip().lower()
    if value in {"true", "yes", "1"}:
        return True
    if value in {"false", "no", "0"}:
        return False
    raise InputError(f"{where}: key '{key}': {text!r} is not true or false")


def simulation_overrides(text: str | float | None, where: str) -> dict:
    """Parse 'key=value;key=value' into a dict of YAML-typed values."""
    if not isinstance(text, str) or not text.strip():
        return {}
    overrides = {}
    for item in text.split(";"):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(
                f"{where}: simulate overrides must look like key=value;key=value, got {item!r}"
            )
        overrides[key.strip()] = yaml.safe_load(value.strip())
    return overrides


def missing_inputs(sheet: pd.DataFrame) -> list[str]:
    """Messages for datasets whose input path does not exist and has no URL to fetch it from."""
    problems = []
    for row in sheet.itertuples():
        if row.input == SIMULATE or (isinstance(getattr(row, "url", None), str)):
            continue
        if not Path(row.input).exists():
            problems.append(f"dataset '{row.dataset}': input {row.input} does not exist")
        table = getattr(row, "labels_table", None)
        if isinstance(table, str) and not Path(table).is_file():
            problems.append(f"dataset '{row.dataset}': labels_table {table} does not exist")
    return problems
