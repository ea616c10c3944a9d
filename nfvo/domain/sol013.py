"""ETSI GS NFV-SOL 013 query parameters (attribute filters, attribute selectors) and byte ranges (pure).

``filter`` (SOL013 clause 5.2): ``(op,attr/path,value[,value...])`` conditions joined by ``;``,
all of which must hold.  ``op`` is one of ``eq neq gt gte lt lte cont ncont in nin``;
``gt``, ``gte``, ``lt`` and ``lte`` take one value, the others one or more (any of which
may match; ``neq``, ``ncont`` and ``nin`` hold when none matches).  A value may be quoted with single quotes (``'a,b'``, a quote inside is
``''``).  Attribute paths use ``/``; when a path crosses a list, the condition holds when
it holds for any element.

Attribute selectors (clause 5.3): ``all_fields``, ``fields``, ``exclude_fields``,
``exclude_default``; without any of them the answer is as with ``exclude_default``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

from nfvo.errors import BadRequest, Issue

OPERATORS = ("eq", "neq", "gt", "gte", "lt", "lte", "cont", "ncont", "in", "nin")
_ORDERING = ("gt", "gte", "lt", "lte")  # these take exactly one value
_NEGATED = {"neq": "eq", "ncont": "cont", "nin": "in"}


@dataclass(frozen=True)
class Condition:
    """One ``(op,attr,values...)`` term; ``path`` is the attribute split at ``/``."""

    op: str
    path: tuple[str, ...]
    values: tuple[str, ...]

    def holds(self, document: dict) -> bool:
        """Whether ``document`` satisfies this term (any element, where the path crosses a list)."""
        found = list(_values_at(document, self.path))
        if self.op in _NEGATED:
            return not any(_compare(_NEGATED[self.op], value, self.values) for value in found)
        return any(_compare(self.op, value, self.values) for value in found)


def _values_at(document: Any, path: tuple[str, ...]) -> Iterable[Any]:
    if isinstance(document, list):
        for item in document:
            yield from _values_at(item, path)
        return
    if not path:
        yield document
        return
    if isinstance(document, dict) and path[0] in document:
        yield from _values_at(document[path[0]], path[1:])


def _number(text: Any) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _compare(op: str, value: Any, wanted: tuple[str, ...]) -> bool:
    if isinstance(value, (dict, list)):
        return False
    text = _text(value)
    if op in ("eq", "in"):
        return text in wanted
    if op == "cont":
        return any(w in text for w in wanted)
    a, b = _number(value), _number(wanted[0])
    left, right = (a, b) if a is not None and b is not None else (text, wanted[0])
    return {"gt": left > right, "gte": left >= right, "lt": left < right, "lte": left <= right}[op]


_TERM = re.compile(r"\(([^,()]*),([^,()]*)((?:,(?:'(?:[^']|'')*'|[^,()']*))*)\)")
_VALUE = re.compile(r",('(?:[^']|'')*'|[^,()']*)")


def parse_filter(text: str, known: Callable[[tuple[str, ...]], bool], *, parameter: str = "filter") -> list[Condition]:
    """The conditions of a ``filter`` expression; every attribute path must satisfy ``known``.

    Raises BadRequest listing every malformed term, unknown operator or unknown attribute at
    once (each Issue's pointer is ``/<parameter>``), the expression quoted in the detail.
    """
    conditions, issues, position = [], [], 0
    where = f"/{parameter}"
    while position < len(text):
        match = _TERM.match(text, position)
        if match is None:
            issues.append(Issue(f"cannot read a term at character {position + 1}: expected (op,attribute,value)",
                                pointer=where))
            break
        op, attribute, rest = match.group(1).strip(), match.group(2).strip(), match.group(3)
        values = tuple(v[1:-1].replace("''", "'") if v.startswith("'") else v for v in _VALUE.findall(rest))
        path = tuple(attribute.split("/"))
        if op not in OPERATORS:
            issues.append(Issue(f"unknown operator {op!r} (use one of {', '.join(OPERATORS)})", pointer=where))
        elif not values:
            issues.append(Issue(f"({op},{attribute}) has no value", pointer=where))
        elif op in _ORDERING and len(values) != 1:
            issues.append(Issue(f"{op} takes exactly one value", pointer=where))
        if not attribute or not known(path):
            issues.append(Issue(f"unknown attribute {attribute!r}", pointer=where))
        conditions.append(Condition(op, path, values))
        position = match.end()
        if position < len(text):
            if text[position] != ";":
                issues.append(Issue(f"expected ';' between terms at character {position + 1}", pointer=where))
                break
            position += 1
    if not text:
        issues.append(Issue("the filter is empty", pointer=where))
    if issues:
        raise BadRequest(f"Invalid {parameter} {text!r}", errors=issues)
    return conditions


def matches(document: dict, conditions: Iterable[Condition]) -> bool:
    return all(c.holds(document) for c in conditions)


def known_path(sample_keys: Collection[str], nested: dict[str, Collection[str]]) -> Callable[[tuple[str, ...]], bool]:
    """An attribute check for :func:`parse_filter`: a top-level key, or ``key/sub`` for keys in
    ``nested`` (whose value lists the known sub-attributes, ``*`` meaning any)."""

    def known(path: tuple[str, ...]) -> bool:
        if not path or path[0] not in sample_keys:
            return False
        if len(path) == 1:
            return True
        subs = nested.get(path[0])
        return subs is not None and ("*" in subs or path[1] in subs)

    return known


# attribute selectors ----------------------------------------------------------------
@dataclass(frozen=True)
class Selection:
    """Which attributes of each answer document to keep."""

    all_fields: bool = False
    fields: tuple[tuple[str, ...], ...] = ()
    exclude_fields: tuple[tuple[str, ...], ...] = ()
    exclude_default: bool = False

    def apply(self, document: dict, complex_attributes: Collection[str]) -> dict:
        """``document`` with the selected attributes. Without any selector, or with
        ``exclude_default`` alone, the ``complex_attributes`` are left out."""
        if self.all_fields:
            return document
        if self.exclude_fields:
            return _without(document, self.exclude_fields)
        kept = {k: v for k, v in document.items() if k not in complex_attributes}
        for path in self.fields:
            if path[0] in document:
                kept[path[0]] = _merge(kept.get(path[0]), _project(document[path[0]], path[1:]))
        return kept


def _project(value: Any, path: tuple[str, ...]) -> Any:
    if not path:
        return value
    if isinstance(value, list):
        return [_project(item, path) for item in value]
    if isinstance(value, dict) and path[0] in value:
        return {path[0]: _project(value[path[0]], path[1:])}
    return {} if isinstance(value, dict) else value


def _merge(old: Any, new: Any) -> Any:
    if isinstance(old, dict) and isinstance(new, dict):
        return {**old, **{k: _merge(old.get(k), v) for k, v in new.items()}}
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [_merge(a, b) for a, b in zip(old, new, strict=True)]
    return new


def _without(document: Any, paths: tuple[tuple[str, ...], ...]) -> Any:
    if isinstance(document, list):
        return [_without(item, paths) for item in document]
    if not isinstance(document, dict):
        return document
    result = {}
    for key, value in document.items():
        here = [p for p in paths if p[0] == key]
        if any(len(p) == 1 for p in here):
            continue
        result[key] = _without(value, tuple(p[1:] for p in here)) if here else value
    return result


def parse_selection(args: dict[str, str], known: Callable[[tuple[str, ...]], bool]) -> Selection:
    """The selectors among ``args`` (query parameters; a flag may have an empty value).

    SOL013 allows ``all_fields``, ``fields``, ``exclude_fields`` or ``exclude_default`` alone,
    and ``exclude_default`` with ``fields``; any other combination, or an unknown attribute,
    raises BadRequest naming the parameters.
    """
    given = [name for name in ("all_fields", "fields", "exclude_fields", "exclude_default") if name in args]
    issues = []
    if len(given) > 1 and set(given) != {"fields", "exclude_default"}:
        issues.append(Issue(f"{' and '.join(given)} cannot be combined (only fields with exclude_default)",
                            pointer=f"/{given[1]}"))
    lists = {}
    for name in ("fields", "exclude_fields"):
        if name in args:
            paths = [tuple(item.strip().split("/")) for item in args[name].split(",") if item.strip()]
            if not paths:
                issues.append(Issue(f"{name} names no attribute", pointer=f"/{name}"))
            issues += [Issue(f"unknown attribute {'/'.join(p)!r}", pointer=f"/{name}") for p in paths if not known(p)]
            lists[name] = tuple(paths)
    if issues:
        raise BadRequest("Invalid attribute selector", errors=issues)
    return Selection("all_fields" in args, lists.get("fields", ()), lists.get("exclude_fields", ()),
                     "exclude_default" in args)


# byte ranges ------------------------------------------------------------------------
class RangeError(ValueError):
    """A Range header that cannot be read, or no part of which lies within the content."""


_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d{0,19})\s*-\s*(\d{0,19})\s*$")  # 19 digits: beyond any file size


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (first, last) byte positions, inclusive, a ``Range: bytes=...`` header asks for out of
    ``size`` bytes; None without a header (the whole content).  Only one range is served.

    Raises RangeError for a header that is not one ``bytes=first-last``, ``bytes=first-`` or
    ``bytes=-suffix`` range, or one that starts past the end (HTTP 416).
    """
    if header is None or not header.strip():
        return None
    match = _RANGE.match(header)
    if match is None or match.group(1) == match.group(2) == "":
        raise RangeError(f"cannot read Range {header!r}: use one range, bytes=FIRST-LAST, bytes=FIRST- or bytes=-N")
    first, last = match.group(1), match.group(2)
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeError(f"Range {header!r} selects no byte of the {size} bytes")
        return max(0, size - suffix), size - 1
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if start >= size or (last != "" and int(last) < start):
        raise RangeError(f"Range {header!r} lies outside the {size} bytes")
    return start, end
