"""What SONATA function and service descriptors share: the schema run, identities, id checks."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from nfvo.domain import json_schema
from nfvo.domain.sources import SourceDoc, child_pointer
from nfvo.errors import Issue

#: bytes per size unit. kB, MB, GB... count as KiB, MiB, GiB: a VDU asking for "512 MB" gets
#: the 512 MiB flavour it means (OpenStack's flavours count MiB); PT and PiT are the public
#: schema's spellings of PB and PiB
UNITS = {unit: 2**(10 * power) for power, units in enumerate(
    [("B",), ("kB", "KB", "KiB"), ("MB", "MiB"), ("GB", "GiB"), ("TB", "TiB"), ("PB", "PiB", "PT", "PiT")])
    for unit in units}


def schema_issues(doc: SourceDoc, schema: str) -> list[Issue]:
    """The bundled schema's findings; unknown keys are warnings (the SONATA tools pass them on)."""
    return json_schema.schema_issues(doc, schema, _unknown_key)


def _unknown_key(key: str, known: Iterable[str]) -> str:
    return f"unknown key '{key}' (not in the SONATA schema{json_schema.close_match(key, known)})"


def text(doc: SourceDoc, pointer: str, value: Any) -> str:
    """A scalar as the descriptor wrote it (``version: 0.10`` stays ``0.10``, not ``0.1``)."""
    if isinstance(value, str):
        return value
    return doc.texts.get(pointer, "" if value is None else str(value))


def items(data: Any, key: str) -> list[tuple[str, dict]]:
    """``(pointer, mapping)`` of each mapping in the list ``data[key]`` (others: the schema's)."""
    values = data.get(key) if isinstance(data, dict) else None
    if not isinstance(values, list):
        return []
    return [(f"/{key}/{i}", v) for i, v in enumerate(values) if isinstance(v, dict)]


def unique_ids(doc: SourceDoc, entries: Iterable[tuple[str, dict]], key: str, what: str) -> tuple[dict[str, str],
                                                                                                  list[Issue]]:
    """The string ``key`` of each entry by value (with its pointer), and an error for each repeat."""
    seen: dict[str, str] = {}
    issues = []
    for pointer, entry in entries:
        value = entry.get(key)
        if not isinstance(value, str):
            continue
        at = child_pointer(pointer, key)
        if value in seen:
            issues.append(doc.issue(at, f"{what} id {value!r} is used by {seen[value]} too; ids must be unique"))
        else:
            seen[value] = at
    return seen, issues


def size_in(value: Any, unit: Any, target: int, default_unit: str = "MB") -> int:
    """A ``size``/``size_unit`` pair in whole ``target`` units, rounded up; 0 when not a size."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0 or not math.isfinite(value):
        return 0
    factor = UNITS.get(unit if isinstance(unit, str) else default_unit, UNITS[default_unit])
    return max(1, math.ceil(value * factor / target))
