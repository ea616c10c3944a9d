"""Parse YAML and JSON text into plain values, keeping the source line of every JSON pointer."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
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
    return SourceDoc(file, data, lines, texts)


# JSON ---------------------------------------------------------------------------------
class _RefusedConstant(ValueError):
    pass


class _LongNumber(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _RefusedConstant(name)


def _parse_int(digits: str) -> int:
    try:
        return int(digits)
    except ValueError:  # more digits than Python converts
        raise _LongNumber(digits) from None


def load_json(text: str, file: str) -> SourceDoc:
    """Parse JSON; duplicate keys, NaN/Infinity, integers of more digits than Python
    converts and nesting deeper than ``MAX_DEPTH`` (as for YAML) are errors.

    Raises ValidationFailed with ``Issue(file, line, message)`` for a syntax error (line
    from the decoder), one Issue per duplicate key (line and pointer of the repeat), and
    one for the first value nested too deep (its line and pointer).
    """
    duplicates: list[tuple[dict, str]] = []  # holds each dict alive so its id() stays unique

    def pairs(items: list[tuple[str, Any]]) -> dict:
        obj: dict = {}
        for key, value in items:
            if key in obj:
                duplicates.append((obj, key))
            obj[key] = value
        return obj

    try:
        data = json.loads(text, object_pairs_hook=pairs, parse_constant=_refuse_constant, parse_int=_parse_int)
    except _RefusedConstant as exc:
        raise _failed(file, "JSON", [Issue(f"JSON syntax error: {exc} is not allowed", file)]) from None
    except _LongNumber as exc:
        line = text.count("\n", 0, max(0, text.find(str(exc)))) + 1
        raise _failed(file, "JSON", [Issue("JSON number has too many digits", file, line)]) from None
    except json.JSONDecodeError as exc:
        raise _failed(file, "JSON", [Issue(f"JSON syntax error: {exc.msg}", file, exc.lineno)]) from None
    except RecursionError:
        raise _failed(file, "JSON", [Issue("JSON is nested too deeply", file)]) from None
    deep = _first_too_deep(data)
    if deep is not None:
        offset = _offset_too_deep(text)
        line = text.count("\n", 0, offset) + 1 if offset is not None else None
        raise _failed(file, "JSON", [Issue(f"nested deeper than {MAX_DEPTH} levels", file, line, deep)])
    lines = _json_lines(text)
    if duplicates:
        where = _pointers_of_dicts(data)
        issues = []
        for obj, key in duplicates:
            if id(obj) in where:  # a dict that was itself overwritten by a duplicate is gone
                pointer = child_pointer(where[id(obj)], key)
                issues.append(Issue(f"duplicate key {key!r}", file, lines.get(pointer), pointer))
        raise _failed(file, "JSON", issues)
    if "\\u0000" in text or "\x00" in text:
        nul = [Issue("NUL characters (\\u0000) are not allowed in text", file, lines.get(p), p)
               for p in _pointers_with_nul(data)]
        if nul:
            raise _failed(file, "JSON", nul)
    return SourceDoc(file, data, lines)


def _pointers_with_nul(data: Any) -> list[str]:
    """Pointers of the strings (keys: the member itself) that hold a NUL character, in document order."""
    found, todo = [], [(data, "")]
    while todo:
        value, pointer = todo.pop()
        if isinstance(value, str) and "\x00" in value:
            found.append(pointer)
        elif isinstance(value, dict):
            for key, item in reversed(list(value.items())):
                child = child_pointer(pointer, key)
                if "\x00" in key:
                    found.append(child)
                todo.append((item, child))
        elif isinstance(value, list):
            todo.extend((item, child_pointer(pointer, i)) for i, item in reversed(list(enumerate(value))))
    return found


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


def _offset_too_deep(text: str) -> int | None:
    """Where, in valid JSON ``text``, the first key or value deeper than ``MAX_DEPTH`` starts."""
    depth, index, end = 0, 0, len(text)
    while index < end:
        char = text[index]
        if char in "]}":
            depth -= 1
        elif char not in " \t\r\n,:":
            if depth >= MAX_DEPTH:
                return index
            if char in "[{":
                depth += 1
            elif char == '"':
                index += 1
                while text[index] != '"':
                    index += 2 if text[index] == "\\" else 1
            else:
                while index + 1 < end and text[index + 1] not in " \t\r\n,:]}":
                    index += 1
        index += 1
    return None


def _json_lines(text: str) -> dict[str, int]:
    try:
        entries = json_source_map.calculate(text)
    except Exception:  # lines are a convenience: the text already parsed as JSON
        return {"": 1}
    return {pointer: (entry.key_start or entry.value_start).line + 1
            for pointer, entry in entries.items()}


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
