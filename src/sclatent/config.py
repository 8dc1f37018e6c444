"""Workflow configuration: validation against the JSON schema, with defaults filled in.

Snakemake's own `validate` reports a wrong key as a multi-line jsonschema dump; users need one
line that names the key and the problem, so we validate here and raise `InputError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from sclatent.errors import InputError

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def _extend_with_defaults(validator_class):
    """A validator that fills `default` values of missing properties before validating them."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    default = subschema["default"]
                    instance[name] = dict(default) if isinstance(default, dict) else default
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_Validator = _extend_with_defaults(jsonschema.Draft202012Validator)


def _describe(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        known = ", ".join(sorted(error.schema.get("properties", {})))
        where = f" in '{path}'" if path else ""
        return f"unknown key{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))}{where} (known: {known})"
    if error.validator == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        return f"key '{path}': {error.instance!r} is not one of: {allowed}"
    return f"key '{path}': {error.message}" if path else error.message


def validate(instance: dict, schema: Mapping[str, Any], source: str) -> dict:
    """Fill defaults into `instance` and validate it; raise InputError naming the first bad key."""
    validator = _Validator(schema)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        raise InputError(f"{source}: {_describe(errors[0])}")
    return instance


def load_schema(path: str | Path) -> dict:
    with open(path) as handle:
        return yaml.safe_load(handle)


def check_safe_name(name: str, what: str, source: str) -> None:
    """Names become file paths and wildcards: allow letters, digits, '_' and '-' only."""
    if not _SAFE_NAME.match(str(name)):
        raise InputError(
            f"{source}: {what} {name!r} may only contain letters, digits, '_' and '-' "
            "(and must start with a letter or digit), because it becomes part of file paths"
        )
