"""Validation of every setting against JSON schema, with defaults filled in.

One mechanism for the workflow config (workflow/schemas/config.schema.yaml), the dataset
sheet, and the parameter tables of the models and the simulator, which are JSON-schema
`properties` fragments in their modules (built from the fragments below) resolved with
`resolve`. Snakemake's own `validate` reports a wrong key as a multi-line jsonschema dump;
users need one line that names the key and the problem, so every error is an `InputError`
of one line.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from sclatent.errors import InputError

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")

# fragments of the parameter tables
BOOLEAN = {"type": "boolean"}
POSITIVE_INT = {"type": "integer", "minimum": 1}
NON_NEGATIVE_INT = {"type": "integer", "minimum": 0}
POSITIVE_NUMBER = {"type": "number", "exclusiveMinimum": 0}
NON_NEGATIVE_NUMBER = {"type": "number", "minimum": 0}
FRACTION = {"type": "number", "minimum": 0, "exclusiveMaximum": 1}  # [0, 1)


def one_of(*choices) -> dict:
    return {"enum": list(choices)}


def _extend_with_defaults(validator_class):
    """A validator that fills (copies of) `default` values of missing properties first."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def _is_integer(_checker, value) -> bool:
    # numpy integers count; booleans and integral floats (2.0) do not: they would be used as
    # sizes and counts
    return isinstance(value, Integral) and not isinstance(value, bool)


def _is_number(_checker, value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


_Validator = jsonschema.validators.extend(
    _extend_with_defaults(jsonschema.Draft202012Validator),
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine_many(
        {"integer": _is_integer, "number": _is_number}
    ),
)


def _bounds(schema: Mapping) -> str:
    """' >= 0', ' < 1', ' in [0, 1)' or '' from a numeric schema's limits."""
    low = [(b, schema[k]) for k, b in (("minimum", "["), ("exclusiveMinimum", "(")) if k in schema]
    high = [(b, schema[k]) for k, b in (("maximum", "]"), ("exclusiveMaximum", ")")) if k in schema]
    if low and high:
        (opening, lowest), (closing, highest) = low[0], high[0]
        return f" in {opening}{lowest:g}, {highest:g}{closing}"
    if low:
        return f" {'>=' if low[0][0] == '[' else '>'} {low[0][1]:g}"
    if high:
        return f" {'<=' if high[0][0] == ']' else '<'} {high[0][1]:g}"
    return ""


def expected(schema: Mapping) -> str:
    """What a value must be to satisfy `schema`, in words: 'an integer >= 1', 'one of a, b'."""
    if "enum" in schema:
        return "one of " + ", ".join(map(str, schema["enum"]))
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    words = []
    for kind in (t for t in types if t != "null"):
        if kind in ("integer", "number"):
            words.append(("an integer" if kind == "integer" else "a number") + _bounds(schema))
        elif kind == "array":
            text = "a non-empty list" if schema.get("minItems") else "a list"
            text += " without repeats" if schema.get("uniqueItems") else ""
            words.append(
                text + (f", each {expected(schema['items'])}" if "items" in schema else "")
            )
        else:
            words.append({"boolean": "true or false", "object": "a mapping"}.get(kind, f"a {kind}"))
    text = " or ".join(words) or "a valid value"
    return f"null or {text}" if "null" in types else text


def must_be(source: str, key: str, rule: str, value: Any) -> InputError:
    """The one-line error of a bad value (also for rules between keys a schema cannot state)."""
    return InputError(f"{source}: key '{key}' must be {rule}, got {value!r}")


def _describe(error: jsonschema.ValidationError, source: str) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        known = ", ".join(sorted(error.schema.get("properties", {})))
        where = f" in '{path}'" if path else ""
        return f"{source}: unknown key{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))}{where} (known: {known})"
    if error.validator == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        return f"{source}: key '{path}': {error.instance!r} is not one of: {allowed}"
    if path and error.validator != "required":
        return str(must_be(source, path, expected(error.schema), error.instance))
    return f"{source}: key '{path}': {error.message}" if path else f"{source}: {error.message}"


def validate(instance: dict, schema: Mapping[str, Any], source: str) -> dict:
    """Fill defaults into `instance` and validate it; raise InputError naming the first bad key."""
    validator = _Validator(schema)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        raise InputError(_describe(errors[0], source))
    return instance


def resolve(values: Mapping[str, Any] | None, properties: Mapping[str, dict], source: str) -> dict:
    """`values` checked against a parameter table (JSON-schema `properties`), with the table's
    defaults for the keys it leaves out, in the table's order; tuples become lists."""
    instance = {
        key: list(value) if isinstance(value, tuple) else copy.deepcopy(value)
        for key, value in (values or {}).items()
    }
    schema = {"type": "object", "additionalProperties": False, "properties": properties}
    validate(instance, schema, source)
    return {key: instance[key] for key in properties if key in instance}


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
