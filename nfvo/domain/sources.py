"""Parse YAML and JSON text into plain values, keeping the source line of every JSON pointer."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace
from typing import Any

import json_source_map
import yaml
from yaml.composer import Composer, ComposerError
from yaml.constructor import BaseConstructor, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import ParserError
from yaml.reader import ReaderError
from yaml.resolver import Resolver
from yaml.scanner import ScannerError

from nfvo.errors import Issue, ValidationFailed

MAX_DEPTH = 64
#: Whether PyYAML was built with libyaml, whose C scanner and parser :func:`load_yaml` uses.
LIBYAML: bool = yaml.__with_libyaml__


@dataclass
class SourceDoc:
    """A parsed document: ``data`` plus the 1-based line of each JSON pointer inside it.

    ``texts`` holds the source text of every YAML scalar by pointer, so that a value the
    YAML 1.1 rules turned into a number (``version: 1.10``) can be read back as written.
    """

    file: str
    data: Any
    lines: dict[str, int] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)

    def line_of(self, pointer: str) -> int | None:
        """Line of the pointer, or of its nearest ancestor that has one."""
        while True:
            if pointer in self.lines:
                return self.lines[pointer]
            if not pointer:
                return None
            pointer = pointer.rsplit("/", 1)[0]

    def issue(self, pointer: str, message: str, *, severity: str = "error") -> Issue:
        """An :class:`Issue` about ``pointer`` in this document."""
        return Issue(message, self.file, self.line_of(pointer), pointer, severity)

    def warning(self, pointer: str, message: str) -> Issue:
        """A warning :class:`Issue` about ``pointer`` in this document."""
        return self.issue(pointer, message, severity="warning")


def child_pointer(pointer: str, key: str | int) -> str:
    """``pointer`` extended by one key or index, escaped as RFC 6901 requires."""
    key = str(key)
    if "~" in key or "/" in key:
        key = key.replace("~", "~0").replace("/", "~1")
    return f"{pointer}/{key}"


# YAML ---------------------------------------------------------------------------------
class _UnbuildableValue(Exception):
    """A scalar YAML accepts but Python cannot build (``2020-13-45``, an int of 5000 digits)."""

    def __init__(self, node: Node, reason: str):
        super().__init__(reason)
        self.node = node
        self.reason = reason


class _Strict:
    """Refuses aliases and deep nesting while composing, and collects key problems.

    Mixed into a loader whose Python ``Composer`` calls ``compose_node``: so an alias is
    refused before anything expands, and nesting is capped before any deep recursion.
    """

    depth: int
    key_problems: list[tuple[str, int]]

    def compose_node(self, parent, index):
        # Refusing aliases outright is what makes alias bombs ("billion laughs") harmless.
        if self.check_event(yaml.AliasEvent):
            raise ComposerError(None, None, "YAML aliases (*name) are not allowed",
                                self.peek_event().start_mark)
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels",
                                    self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:  # the innermost failing node is reported
            raise _UnbuildableValue(node, _reason(exc)) from None

    def construct_mapping(self, node, deep=False):
        if isinstance(node, MappingNode):
            self.flatten_mapping(node)
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                self.key_problems.append(
                    (f"mapping keys must be strings, not {type(key).__name__} ({key_node.value!r})", line))
            elif key in seen:
                self.key_problems.append((f"duplicate key {key!r}", line))
            seen.add(key if isinstance(key, str) else repr(key))
        # SafeConstructor.construct_mapping is flatten_mapping (done above) + this.
        return BaseConstructor.construct_mapping(self, node, deep)


class _PythonLoader(_Strict, yaml.SafeLoader):
    """The strict loader on PyYAML's pure-Python reader, scanner and parser."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.depth = 0
        self.key_problems = []


if LIBYAML:
    from yaml.cyaml import CParser

    class _LibyamlLoader(_Strict, Composer, CParser, SafeConstructor, Resolver):
        """The strict loader on libyaml's scanner and parser (events made in C).

        The MRO puts PyYAML's Python ``Composer`` before ``CParser``, so ``CParser`` only
        supplies ``check_event``/``peek_event``/``get_event``; composing (with the checks of
        :class:`_Strict`), ``SafeConstructor`` and ``Resolver`` are those of ``SafeLoader``.
        """

        def __init__(self, stream: str):
            CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            self.depth = 0
            self.key_problems = []


def _yaml_lines(node: Node, pointer: str, lines: dict[str, int], texts: dict[str, str]) -> None:
    lines.setdefault(pointer, node.start_mark.line + 1)
    if isinstance(node, ScalarNode):
        texts[pointer] = node.value
    elif isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode):
                path = child_pointer(pointer, key_node.value)
                lines.setdefault(path, key_node.start_mark.line + 1)
                _yaml_lines(value_node, path, lines, texts)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            _yaml_lines(item, child_pointer(pointer, index), lines, texts)


def _reason(exc: Exception) -> str:
    # int() of thousands of digits says "use sys.set_int_max_str_digits()": not for users.
    return "too many digits" if "digits" in str(exc) else str(exc)


def _pointer_of(root: Node, target: Node) -> str | None:
    """JSON pointer of the value node ``target`` under ``root`` (None for a mapping key)."""
    todo = [(root, "")]
    while todo:
        node, pointer = todo.pop()
        if node is target:
            return pointer
        if isinstance(node, MappingNode):
            todo.extend((value, child_pointer(pointer, key.value)) for key, value in node.value
                        if isinstance(key, ScalarNode))
        elif isinstance(node, SequenceNode):
            todo.extend((item, child_pointer(pointer, i)) for i, item in enumerate(node.value))
    return None


def load_yaml(text: str, file: str, *, libyaml: bool = True) -> SourceDoc:
    """Parse YAML with ``yaml.SafeLoader`` semantics (YAML 1.1: unquoted ``true`` is a bool).

    Mapping keys must be strings and unique; aliases are refused and nesting is capped at
    ``MAX_DEPTH``.  Raises ValidationFailed listing each problem as ``Issue(file, line, message)``;
    a value Python cannot build (``2020-13-45``, an integer of thousands of digits) also
    carries its pointer (none for a mapping key).

    Events come from libyaml's C scanner and parser when PyYAML has it (``LIBYAML``) and
    ``libyaml`` is true; composing and constructing are PyYAML's Python code either way.
    Text libyaml refuses (a syntax error), that holds a character YAML forbids, or that
    holds a tab (libyaml accepts tabs as separators where PyYAML does not) is read by the
    pure-Python loader instead, so every result, message and line is the one
    ``libyaml=False`` (the pure-Python loader throughout) gives.

    As :func:`load_json` does, it refuses text holding NUL or a lone surrogate (``"\\0"``,
    ``"\\ud800"``) and non-finite numbers (``.inf``, ``.nan``), one Issue at each pointer.
    """
    if libyaml and LIBYAML and "\t" not in text and not _NON_PRINTABLE.search(text):
        try:
            return _load_yaml(text, file, _LibyamlLoader, passthrough=_LIBYAML_REFUSALS)
        except _LIBYAML_REFUSALS:
            pass  # the pure-Python loader says why, in its own words and with its line
    return _load_yaml(text, file, _PythonLoader)


# What libyaml's reader, scanner and parser raise; the composer and constructor are Python.
_LIBYAML_REFUSALS = (ScannerError, ParserError, ReaderError, UnicodeError)
# PyYAML's reader checks a whole str for these before parsing; libyaml finds them only when
# it reaches them, after errors the composer may raise earlier in the text.
_NON_PRINTABLE = yaml.reader.Reader.NON_PRINTABLE


def _load_yaml(text: str, file: str, loader_class: type, passthrough: tuple[type[Exception], ...] = ()
               ) -> SourceDoc:
    """Load with ``loader_class``; exceptions in ``passthrough`` propagate, others become ValidationFailed."""
    loader = None
    node = None
    try:
        loader = loader_class(text)
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except passthrough:
        raise
    except _UnbuildableValue as exc:
        bad = exc.node
        shown = bad.value if len(bad.value) <= 40 else bad.value[:37] + "..."
        kind = bad.tag.rsplit(":", 1)[-1]
        raise _failed(file, "YAML", [Issue(f"invalid YAML: {shown!r} is not a valid {kind} ({exc.reason})", file,
                                           bad.start_mark.line + 1, _pointer_of(node, bad))]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = ", ".join(p for p in (exc.context, exc.problem) if p)
        raise _failed(file, "YAML", [Issue(f"invalid YAML: {problem}", file,
                                           mark.line + 1 if mark else None)]) from None
    except ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise _failed(file, "YAML", [Issue(f"invalid YAML: {exc.reason}", file, line)]) from None
    except RecursionError:
        raise _failed(file, "YAML", [Issue("invalid YAML: nested too deeply", file)]) from None
    finally:
        if loader is not None:
            loader.dispose()
    if loader.key_problems:
        raise _failed(file, "YAML", [Issue(msg, file, line) for msg, line in loader.key_problems])
    lines: dict[str, int] = {}
    texts: dict[str, str] = {}
    if node is not None:
        _yaml_lines(node, "", lines, texts)
    doc = SourceDoc(file, data, lines, texts)
    unstorable = _unstorable_issues(doc)  # NUL, lone surrogates, .inf: as load_json refuses them
    if unstorable:
        raise _failed(file, "YAML", unstorable)
    return doc


# Values no database stores --------------------------------------------------------------
# NUL is refused by PostgreSQL (SQLite keeps it) and a lone UTF-16 surrogate (from a JSON or
# YAML "\ud800" escape) is no character at all: no UTF-8 encoder writes it. Both are refused
# where a document is read, at their pointer, so that every database answers alike.
_UNSTORABLE_CHARACTER = re.compile("[\x00\ud800-\udfff]")
# JSON text can hold such characters only through these escapes or as themselves.
_UNSTORABLE_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])|[\x00\ud800-\udfff]")


class _TooManyDigits:
    """Stands for a JSON integer of more digits than Python converts, to be reported at its pointer."""

    def __init__(self, digits: str):
        self.digits = digits


class _Constant:
    """Stands for NaN, Infinity or -Infinity, which Python's json reads although JSON has no such numbers."""

    def __init__(self, name: str):
        self.name = name


def _value_problem(value: Any) -> str | None:
    """Why ``value`` (one string, number or stand-in, not a container) cannot be kept, or None."""
    if isinstance(value, str):
        found = _UNSTORABLE_CHARACTER.search(value)
        if found is None:
            return None
        if found.group() == "\x00":
            return "NUL characters (\\u0000) are not allowed in text"
        return "lone surrogates (\\ud800-\\udfff without their pair) are not allowed in text"
    if isinstance(value, float) and not math.isfinite(value):
        return "numbers must be finite: this one is beyond the range of a double (about 1.8e308) or NaN"
    if isinstance(value, _TooManyDigits):
        return "JSON number has too many digits"
    if isinstance(value, _Constant):
        return f"{value.name} is not allowed: JSON has no such number"
    return None


def unstorable_values(data: Any) -> list[tuple[str, str]]:
    """``(pointer, message)`` of every string (or mapping key: the member's pointer) holding NUL
    or a lone surrogate and of every non-finite number in ``data``, in document order. Pure: it
    only reads ``data``; both :func:`load_json` and :func:`load_yaml` refuse what it finds."""
    found: list[tuple[str, str]] = []
    todo: list[tuple[Any, str]] = [(data, "")]
    while todo:
        value, pointer = todo.pop()
        if isinstance(value, dict):
            for key, item in reversed(list(value.items())):
                child = child_pointer(pointer, key)
                todo.append((item, child))
                todo.append((key, child))  # popped first: a key comes before its value
        elif isinstance(value, list):
            todo.extend((item, child_pointer(pointer, i)) for i, item in reversed(list(enumerate(value))))
        else:
            problem = _value_problem(value)
            if problem is not None:
                found.append((pointer, problem))
    return found


def _unstorable_issues(doc: SourceDoc) -> list[Issue]:
    """An Issue per unstorable value; a pointer through a key that holds such a character shows
    it as a ``\\u0000``-style escape, so that the finding itself can be stored and served."""
    return [replace(issue, pointer=_printable(issue.pointer))
            for issue in (doc.issue(pointer, message) for pointer, message in unstorable_values(doc.data))]


def _printable(pointer: str) -> str:
    return _UNSTORABLE_CHARACTER.sub(lambda found: f"\\u{ord(found.group()):04x}", pointer)


# JSON ---------------------------------------------------------------------------------
def load_json(text: str, file: str) -> SourceDoc:
    """Parse JSON; duplicate keys, NaN/Infinity, numbers beyond a double's range (``1e999``),
    integers of more digits than Python converts, text holding NUL or a lone surrogate, and
    nesting deeper than ``MAX_DEPTH`` (as for YAML) are errors.

    Raises ValidationFailed with ``Issue(file, line, message)`` for a syntax error (line from
    the decoder), or else with one Issue, carrying line and pointer, for the first value nested
    too deep, or else one per duplicate key (at the repeat) and per value that cannot be kept.
    Never RecursionError nor ValueError, whatever the text.
    """
    duplicates: list[tuple[dict, str]] = []  # holds each dict alive so its id() stays unique
    flagged = {"value": False}  # a stand-in or a non-finite number was read

    def pairs(items: list[tuple[str, Any]]) -> dict:
        obj: dict = {}
        for key, value in items:
            if key in obj:
                duplicates.append((obj, key))
            obj[key] = value
        return obj

    def constant(name: str) -> _Constant:
        flagged["value"] = True
        return _Constant(name)

    def integer(digits: str) -> int | _TooManyDigits:
        try:
            return int(digits)
        except ValueError:  # more digits than Python converts
            flagged["value"] = True
            return _TooManyDigits(digits)

    def number(digits: str) -> float:
        value = float(digits)
        if not math.isfinite(value):
            flagged["value"] = True
        return value

    try:
        data = json.loads(text, object_pairs_hook=pairs, parse_constant=constant, parse_int=integer,
                          parse_float=number)
    except json.JSONDecodeError as exc:
        raise _failed(file, "JSON", [Issue(f"JSON syntax error: {exc.msg}", file, exc.lineno)]) from None
    except RecursionError:  # deeper than Python's json recurses: find where in the text
        raise _failed(file, "JSON", [_too_deep_issue(text, file, None)]) from None
    deep = _first_too_deep(data)
    if deep is not None:
        raise _failed(file, "JSON", [_too_deep_issue(text, file, deep)])
    doc = SourceDoc(file, data, _json_lines(text, long_numbers=flagged["value"]))
    issues = []
    if duplicates:
        where = _pointers_of_dicts(data)
        for obj, key in duplicates:
            if id(obj) in where:  # a dict that was itself overwritten by a duplicate is gone
                pointer = child_pointer(where[id(obj)], key)
                issues.append(Issue(f"duplicate key {key!r}", file, doc.lines.get(pointer), pointer))
    if flagged["value"] or _UNSTORABLE_ESCAPE.search(text):
        issues.extend(_unstorable_issues(doc))
    if issues:
        raise _failed(file, "JSON", issues)
    return doc


def _too_deep_issue(text: str, file: str, pointer: str | None) -> Issue:
    """The Issue for JSON ``text`` nested deeper than ``MAX_DEPTH``: line and pointer from the text
    (``pointer``, from the parsed data, wins when given)."""
    found = _too_deep_in_text(text)
    line = text.count("\n", 0, found[0]) + 1 if found else None
    if pointer is None and found:
        pointer = found[1]
    return Issue(f"nested deeper than {MAX_DEPTH} levels", file, line, pointer)


def _first_too_deep(data: Any) -> str | None:
    """Pointer of the first value (in document order) deeper than ``MAX_DEPTH``; the root is at depth 1."""
    todo = [(data, "", 1)]
    while todo:
        value, pointer, depth = todo.pop()
        if depth > MAX_DEPTH:
            return pointer
        if isinstance(value, dict):
            todo.extend((v, child_pointer(pointer, k), depth + 1) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            todo.extend((v, child_pointer(pointer, i), depth + 1) for i, v in reversed(list(enumerate(value))))
    return None


def _too_deep_in_text(text: str) -> tuple[int, str] | None:
    """Offset and pointer of the first key or value deeper than ``MAX_DEPTH`` in JSON ``text``,
    which needs to be well-formed only up to there; None when there is none. Memory is bounded
    by ``MAX_DEPTH``, however deep the text."""
    frames: list[list] = []  # per open container: [is_object, key or index, expecting a key]
    index, end = 0, len(text)
    while index < end:
        char = text[index]
        if char in "]}":
            if frames:
                frames.pop()
        elif char == ",":
            if frames and frames[-1][0]:
                frames[-1][2] = True
            elif frames:
                frames[-1][1] += 1
        elif char not in " \t\r\n:":
            start = index
            if char == '"':
                index += 1
                while index < end and text[index] != '"':
                    index += 2 if text[index] == "\\" else 1
                if frames and frames[-1][0] and frames[-1][2]:
                    frames[-1][1:] = [_json_key(text[start:index + 1]), False]
            elif char not in "[{":
                while index + 1 < end and text[index + 1] not in " \t\r\n,:]}":
                    index += 1
            if len(frames) >= MAX_DEPTH:
                pointer = ""
                for frame in frames:
                    pointer = child_pointer(pointer, frame[1])
                return start, pointer
            if char in "[{":
                frames.append([char == "{", None if char == "{" else 0, char == "{"])
        index += 1
    return None


def _json_key(quoted: str) -> str:
    try:
        return json.loads(quoted)
    except ValueError:
        return quoted.strip('"')


def _json_lines(text: str, *, long_numbers: bool = False) -> dict[str, int]:
    """Line of every pointer. ``long_numbers``: the text may hold integers json_source_map cannot
    convert; each long run of digits is shortened first (a run never spans lines: lines stay right)."""
    if long_numbers:
        text = _LONG_DIGITS.sub("0", text)
    try:
        entries = json_source_map.calculate(text)
    except Exception:  # lines are a convenience: the text already parsed as JSON
        return {"": 1}
    # json_source_map joins raw key text ("a/b", "\\u00e9"); rebuild each pointer from its parent's
    # (entries come parents first) with the decoded key, escaped as RFC 6901 requires.
    ours, lines = {"": ""}, {}
    for raw, entry in entries.items():
        if raw:
            if entry.key_start is not None:
                raw_key = text[entry.key_start.position + 1:entry.key_end.position - 1]
                parent, segment = raw[:-len(raw_key) - 1], _json_key(f'"{raw_key}"')
            else:
                parent, segment = raw.rsplit("/", 1)
            if parent not in ours:
                continue
            ours[raw] = child_pointer(ours[parent], segment)
        lines[ours[raw]] = (entry.key_start or entry.value_start).line + 1
    return lines


_LONG_DIGITS = re.compile(r"[0-9]{1000,}")


def _pointers_of_dicts(data: Any) -> dict[int, str]:
    found: dict[int, str] = {}
    todo = [(data, "")]
    while todo:
        value, pointer = todo.pop()
        if isinstance(value, dict):
            found[id(value)] = pointer
            todo.extend((v, child_pointer(pointer, k)) for k, v in value.items())
        elif isinstance(value, list):
            todo.extend((v, child_pointer(pointer, i)) for i, v in enumerate(value))
    return found


def _failed(file: str, kind: str, issues: list[Issue]) -> ValidationFailed:
    return ValidationFailed(f"{file} is not valid {kind}", errors=issues)
