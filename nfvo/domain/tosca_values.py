"""Checks of TOSCA values against property definitions: types, entry schemas, data types, constraints.

Values of the primitive types, ``list``/``map`` with ``entry_schema``, every data type nfvo or
the package defines, and the TOSCA scalar units are checked; a ``tosca.*`` data type that is
defined nowhere is accepted as it is, except a SOL001 data type: a value of one that neither is
imported nor declared is refused, as tosca-parser refuses it (only when a value needs it).  Values that are TOSCA functions (``{get_input: x}``)
are not checked.
"""

from __future__ import annotations

import re
from typing import Any

from nfvo.domain.sources import SourceDoc, child_pointer
from nfvo.domain.tosca_types import PRIMITIVES, TypeDef, TypeModel, chain, definitions, hint, sol001_import_hint
from nfvo.domain.tosca_units import parse_scalar

FUNCTIONS = frozenset(("get_input", "get_property", "get_attribute", "get_operation_output", "get_artifact",
                       "get_nodes_of_type", "concat", "join", "token"))
_VERSION = re.compile(r"^\d+\.\d+(\.\d+(\.[A-Za-z0-9_]+(-\d+)?)?)?$")
_DECLARING_SECTIONS = ("node_types", "data_types", "capability_types", "policy_types", "group_types",
                       "relationship_types", "artifact_types")


def is_function(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in FUNCTIONS


def check_type_definitions(model: TypeModel, doc: SourceDoc) -> None:
    """Property definitions in the package's own types must name known types, with valid defaults."""
    for section in _DECLARING_SECTIONS:
        defined = doc.data.get(section)
        for name, body in (defined.items() if isinstance(defined, dict) else ()):
            props = body.get("properties") if isinstance(body, dict) else None
            for prop, definition in (props.items() if isinstance(props, dict) else ()):
                pointer = child_pointer(child_pointer(child_pointer(child_pointer("", section), name),
                                                      "properties"), prop)
                if not isinstance(definition, dict) or not isinstance(definition.get("type"), str):
                    model.issues.append(doc.issue(pointer, "a property definition needs a 'type'"))
                    continue
                _check_declared_type(model, doc, pointer, definition)
                if "default" in definition:
                    check_value(model, doc, child_pointer(pointer, "default"), definition["default"], definition)


def _check_declared_type(model: TypeModel, doc: SourceDoc, pointer: str, definition: dict) -> None:
    kind = definition["type"]
    if kind not in PRIMITIVES and not kind.startswith("tosca."):
        chain(model, "data", kind, doc, child_pointer(pointer, "type"))
    schema = definition.get("entry_schema")
    if isinstance(schema, dict) and isinstance(schema.get("type"), str):
        _check_declared_type(model, doc, child_pointer(pointer, "entry_schema"), schema)


def check_value(model: TypeModel, doc: SourceDoc, pointer: str, value: Any, definition: Any) -> None:
    """Check ``value`` against a property definition ``{type, entry_schema, constraints}``."""
    if is_function(value) or not isinstance(definition, dict):
        return
    kind = definition.get("type")
    if isinstance(definition.get("entry_schema"), str):
        definition = dict(definition, entry_schema={"type": definition["entry_schema"]})
    problem = _type_problem(model, doc, pointer, value, kind, definition)
    if problem:
        model.issues.append(doc.issue(pointer, problem))
        return
    constraints = definition.get("constraints")
    for constraint in constraints if isinstance(constraints, list) else ():
        problem = _constraint_problem(value, kind, constraint)
        if problem:
            model.issues.append(doc.issue(pointer, problem))


def _type_problem(model: TypeModel, doc: SourceDoc, pointer: str, value: Any, kind: Any,
                  definition: dict) -> str | None:
    if value is None:
        return f"must be a {kind}, not null"
    if kind == "string":
        return None if isinstance(value, str) else f"must be a string, not {shown(doc, pointer, value)} " \
                                                    f"(quote it: '{as_written(doc, pointer, value)}')"
    if kind == "integer":
        return None if isinstance(value, int) and not isinstance(value, bool) else \
            f"must be an integer, not {shown(doc, pointer, value)}"
    if kind == "float":
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) else \
            f"must be a number, not {shown(doc, pointer, value)}"
    if kind == "boolean":
        return None if isinstance(value, bool) else f"must be true or false, not {shown(doc, pointer, value)}"
    if kind == "version":
        text = as_written(doc, pointer, value)
        return None if isinstance(value, (str, int, float)) and not isinstance(value, bool) \
            and _VERSION.match(text) else f"{text!r} is not a TOSCA version (major.minor[.fix[.qualifier[-build]]])"
    if isinstance(kind, str) and kind.startswith("scalar-unit."):
        try:
            parse_scalar(value, kind.split(".", 1)[1])
        except (ValueError, KeyError) as exc:
            return str(exc)
        return None
    if kind in ("list", "map"):
        container = list if kind == "list" else dict
        if not isinstance(value, container):
            return f"must be a {kind}, not {shown(doc, pointer, value)}"
        schema = definition.get("entry_schema")
        items = enumerate(value) if kind == "list" else value.items()
        for key, item in items:
            check_value(model, doc, child_pointer(pointer, key), item, schema)
        return None
    if not isinstance(kind, str) or kind in PRIMITIVES:
        return None
    types = chain(model, "data", kind)
    if types is None and sol001_import_hint("data", kind):
        return f"unknown data type {kind!r}{sol001_import_hint('data', kind)}"
    if types is None:
        return None  # unknown tosca.* types are accepted; others were reported at their definition
    base = next((t.body.get("derived_from") for t in reversed(types)
                 if t.body.get("derived_from") in PRIMITIVES), None)
    if base:
        return _type_problem(model, doc, pointer, value, base, definition)
    if not isinstance(value, dict):
        return f"must be a mapping ({kind}), not {shown(doc, pointer, value)}"
    check_properties(model, doc, pointer, value, definitions(types, "properties"), f"data type {kind}")
    return None


def check_properties(model: TypeModel, doc: SourceDoc, pointer: str, values: Any,
                     declared: dict[str, tuple[Any, TypeDef]], owner: str, supplied: set[str] = frozenset()) -> None:
    """Known names, values of their declared types, required ones present (or ``supplied``)."""
    values = values if isinstance(values, dict) else {}
    for key, value in values.items():
        if key not in declared:
            model.issues.append(doc.issue(child_pointer(pointer, key),
                                          f"unknown property '{key}' of {owner}{hint(key, declared)}"))
            continue
        check_value(model, doc, child_pointer(pointer, key), value, declared[key][0])
    for key, (definition, _) in declared.items():
        if key in values or key in supplied or not isinstance(definition, dict):
            continue
        if definition.get("required", True) is not False and "default" not in definition:
            model.issues.append(doc.issue(pointer, f"property '{key}' of {owner} is required"))


def _constraint_problem(value: Any, kind: Any, constraint: Any) -> str | None:
    if not isinstance(constraint, dict) or len(constraint) != 1:
        return None
    operator, limit = next(iter(constraint.items()))
    scalar = kind.split(".", 1)[1] if isinstance(kind, str) and kind.startswith("scalar-unit.") else None

    def number(item: Any) -> Any:
        return parse_scalar(item, scalar) if scalar else item

    try:
        current = number(value)
        if operator == "valid_values" and isinstance(limit, list):
            if current not in [number(v) for v in limit]:
                return f"must be one of {', '.join(map(str, limit))}, not {value!r}"
        elif operator == "equal" and current != number(limit):
            return f"must be {limit!r}, not {value!r}"
        elif operator in ("greater_than", "greater_or_equal", "less_than", "less_or_equal"):
            bound = number(limit)
            ok = {"greater_than": current > bound, "greater_or_equal": current >= bound,
                  "less_than": current < bound, "less_or_equal": current <= bound}[operator]
            if not ok:
                return f"must be {operator.replace('_', ' ')} {limit}, not {value!r}"
        elif operator == "in_range" and isinstance(limit, list) and len(limit) == 2:
            low, high = number(limit[0]), number(limit[1])
            if not low <= current <= high:
                return f"must be in the range {limit[0]}..{limit[1]}, not {value!r}"
        elif operator in ("length", "min_length", "max_length") and isinstance(value, (str, list, dict)):
            size = len(value)
            ok = {"length": size == limit, "min_length": size >= limit, "max_length": size <= limit}[operator]
            if not ok:
                return f"{operator.replace('_', ' ')} must be {limit}, not {size}"
        elif operator == "pattern" and isinstance(value, str) and isinstance(limit, str):
            if not re.fullmatch(limit, value):
                return f"{value!r} does not match the pattern {limit!r}"
    except (TypeError, ValueError, re.error):
        return None  # a malformed constraint in the type, or a value already reported as of a wrong type
    return None


def as_written(doc: SourceDoc, pointer: str, value: Any) -> str:
    return doc.texts.get(pointer, str(value)) if not isinstance(value, str) else value


def shown(doc: SourceDoc, pointer: str, value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {as_written(doc, pointer, value)}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
