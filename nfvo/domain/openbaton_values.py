"""How Open Baton read the scalar values of Metadata.yaml and the VNFD: text, lists of text,
versions as written, counts and flags (a string "true" is a flag). Each answers None (or an
empty tuple) for a value of another kind; the caller reports it."""

from __future__ import annotations

from typing import Any

from nfvo.domain.sources import SourceDoc


def text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def texts(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return ()


def version(doc: SourceDoc, pointer: str) -> str | None:
    value = doc.data.get(pointer[1:])
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # As written: YAML 1.1 would turn "1.10" into 1.1.
        return doc.texts.get(pointer, str(value))
    return None


def count(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None
