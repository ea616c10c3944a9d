"""Findings from the bundled JSON Schemas (``nfvo/schemas/*.json``), each at its line and pointer.

Conventions the schemas may use: ``x-message`` on a subschema replaces the validator's message;
``x-severity: "warning"`` makes a failure of that subschema a warning; ``x-anyOf-message`` on a
schema with ``anyOf`` is the message when no branch holds. A missing required key is an error at
the key's would-be pointer; a key ``additionalProperties: false`` does not know is a warning whose
message the caller words (its product ignores unknown keys, or not).
"""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Callable, Iterable
from importlib import resources
from typing import Any

import jsonschema

from nfvo.domain.sources import SourceDoc, child_pointer
from nfvo.errors import ERROR, WARNING, Issue


@functools.cache
def validator(name: str) -> jsonschema.Draft202012Validator:
    """The validator of the bundled schema ``nfvo/schemas/<name>.json`` (no network, ever)."""
    text = resources.files("nfvo").joinpath("schemas", f"{name}.json").read_text("utf-8")
    return jsonschema.Draft202012Validator(json.loads(text))


def schema_issues(doc: SourceDoc, schema: str, unknown_key: Callable[[str, Iterable[str]], str]) -> list[Issue]:
    """Every finding of schema ``schema`` on ``doc.data``, once each, in the validator's order;
    ``unknown_key(key, known_keys)`` words the warning for a key the schema does not know."""
    found: list[Issue] = []
    for error in validator(schema).iter_errors(doc.data):
        pointer = "".join(child_pointer("", part) for part in error.absolute_path)
        severity = WARNING if isinstance(error.schema, dict) and error.schema.get("x-severity") == WARNING else ERROR
        if error.validator == "required":
            found.extend(doc.issue(child_pointer(pointer, key), f"'{key}' is required", severity=severity)
                         for key in error.validator_value if key not in error.instance)
        elif error.validator == "additionalProperties":
            known = error.schema.get("properties", {})
            found.extend(doc.warning(child_pointer(pointer, key), unknown_key(key, known))
                         for key in error.instance if key not in known)
        else:
            found.append(doc.issue(pointer, message(error), severity=severity))
    # iter_errors yields one "required" error per missing key; each lists them all.
    return list(dict.fromkeys(found))


def close_match(key: str, known: Iterable[str]) -> str:
    """``; did you mean 'x'?`` for the known key closest to ``key``, or nothing."""
    close = [k for k in difflib.get_close_matches(key, list(known), n=2) if k != key][:1]
    return f"; did you mean '{close[0]}'?" if close else ""


_TYPE_NAMES = {"string": "a string", "array": "a list", "object": "a mapping", "integer": "an integer",
               "number": "a number", "boolean": "a boolean", "null": "null"}


def message(error: jsonschema.ValidationError) -> str:
    """A short message for one schema failure, in the words nfvo uses everywhere."""
    if isinstance(error.schema, dict) and "x-message" in error.schema:
        return error.schema["x-message"]
    value = error.validator_value
    if error.validator == "anyOf" and isinstance(error.schema, dict) and "x-anyOf-message" in error.schema:
        return error.schema["x-anyOf-message"]
    if error.validator == "type":
        wanted = [value] if isinstance(value, str) else value
        return f"must be {' or '.join(_TYPE_NAMES[t] for t in wanted)}, not {kind(error.instance)}"
    if error.validator in ("minLength", "minProperties") or (error.validator == "minItems" and value == 1):
        return "must not be empty"
    if error.validator == "minItems":
        return f"must have at least {value} items"
    if error.validator == "minimum":
        return f"must be at least {value}"
    if error.validator == "enum":
        return f"must be one of {', '.join(map(str, value))} (got {error.instance!r})"
    return error.message


def kind(value: Any) -> str:
    """What a parsed value is, in words: ``a string``, ``a list``, ``null``..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"
