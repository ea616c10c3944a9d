"""Template variables in the strings of ConVirt config files: found with their place, checked, substituted.

ConVirt fills variables with Python's :class:`string.Template`, and so does this module
(its ``safe_substitute``): ``$name`` and ``${name}`` (a name is ASCII letters, digits and
``_``, not starting with a digit) are variables, ``$$`` is a literal ``$``, and a ``$``
followed by anything else is left as written.  Every string of a value is a template,
dict keys included; substitution is one pass (a filled-in value is never expanded again).

Except a crypt(3) hash: a string that is one whole (``$1$salt$hash``, ``$5$``/``$6$`` with an
optional ``rounds=N$``, ``$2a$``/``$2b$``/``$2x$``/``$2y$``/``$2$`` bcrypt, ``$y$``/``$gy$``/``$7$``
yescrypt and scrypt, ``$md5$``/``$md5,rounds=N$`` Sun MD5, ``$sha1$``; salt and hash of
``[./A-Za-z0-9]``), such as the guide's ``admin_password='$1$9qAFryp3$XmvqcFN/CJG4AC7jgyVE8'``,
holds no variables: it is kept as written (:func:`check_uses` warns, suggesting ``$$``).
"""

from __future__ import annotations

import ast
import bisect
import re
import string
from collections.abc import Iterator, Mapping
from typing import Any

from nfvo.domain.convirt.model import ConfigFile, Use
from nfvo.errors import WARNING, Issue

PATTERN = string.Template.pattern
_SALT = "[./A-Za-z0-9]"
CRYPT_HASH = re.compile(
    rf"\$(?:1|5|6|md5|sha1|y|gy|7)(?:,rounds=\d+)?(?:\$rounds=\d+)?(?:\${_SALT}+){{1,3}}\$\$?{_SALT}+"
    rf"|\$2[abxy]?\$\d\d\${_SALT}{{53}}")
_SCHEMES = {"1": "MD5-crypt", "5": "SHA-256-crypt", "6": "SHA-512-crypt", "md5": "Sun MD5", "sha1": "SHA-1-crypt",
            "y": "yescrypt", "gy": "gost-yescrypt", "7": "scrypt"}


def is_crypt_hash(text: str) -> bool:
    """Whether ``text`` is one whole crypt(3) hash (see the module docstring)."""
    return text.startswith("$") and CRYPT_HASH.fullmatch(text) is not None


def scan(text: str) -> list[tuple[str | None, str, int]]:
    """(name or None, written, 0-based offset) of each placeholder of ``text``; ``$$`` is not one,
    nor is anything in a crypt(3) hash."""
    found = []
    if "$" not in text or is_crypt_hash(text):
        return found
    for match in PATTERN.finditer(text):
        if match.group("escaped") is not None:
            continue
        name = match.group("named") or match.group("braced")
        found.append((name, match.group(0) if name else "$", match.start()))
    return found


def strings(value: Any) -> Iterator[str]:
    """Every string in ``value`` (nested lists and dicts, keys included), in order."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, list | tuple):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            for key, nested in reversed(item.items()):
                stack.extend((nested, key))


def substitute(value: Any, values: Mapping[str, str]) -> Any:
    """A copy of ``value`` with the variables of each string that ``values`` names filled in."""
    if isinstance(value, str):
        return string.Template(value).safe_substitute(values) if "$" in value and not is_crypt_hash(value) else value
    if isinstance(value, list):
        return [substitute(item, values) for item in value]
    if isinstance(value, dict):
        return {substitute(key, values): substitute(item, values) for key, item in value.items()}
    return value


def as_text(value: Any) -> str | None:
    """How a scalar option reads inside another string (``str()``), None for a list or dict."""
    return None if isinstance(value, list | dict | tuple) else str(value)


class Columns:
    """1-based character columns of a text's syntax-tree positions (which count UTF-8 bytes)."""

    def __init__(self, lines: list[str]):
        self.lines = lines
        self._wide: dict[int, tuple[list[int], list[int]] | None] = {}

    def column(self, line: int, byte_offset: int) -> int:
        if line not in self._wide:
            self._wide[line] = self._measure(self.lines[line - 1]) if 0 < line <= len(self.lines) else None
        wide = self._wide[line]
        if wide is None:
            return byte_offset + 1
        starts, extra = wide
        index = bisect.bisect_right(starts, byte_offset)
        return byte_offset - (extra[index - 1] if index else 0) + 1

    @staticmethod
    def _measure(text: str) -> tuple[list[int], list[int]] | None:
        """None for an ASCII line, else the byte offset after each wide character and the
        extra bytes counted up to it."""
        if text.isascii():
            return None
        starts, extra, offset, total = [], [], 0, 0
        for char in text:
            size = len(char.encode("utf-8", "surrogatepass"))
            offset += size
            if size > 1:
                total += size - 1
                starts.append(offset)
                extra.append(total)
        return starts, extra


def constant_uses(node: ast.Constant, columns: Columns) -> list[Use]:
    """The placeholders of a string constant, each where it is written in the source.

    When the source of the literal does not spell its placeholders as the value holds
    them (escape sequences, implicit concatenation that splits one), each is placed at the
    start of the literal.
    """
    found = scan(node.value)
    if not found:
        return []
    start = columns.column(node.lineno, node.col_offset)
    raw = []
    for number in range(node.lineno, (node.end_lineno or node.lineno) + 1):
        text = columns.lines[number - 1]
        first = start - 1 if number == node.lineno else 0
        last = columns.column(number, node.end_col_offset) - 1 if number == node.end_lineno else len(text)
        raw += [(name, written, number, first + offset + 1) for name, written, offset in scan(text[first:last])]
    if [(n, w) for n, w, _, _ in raw] == [(n, w) for n, w, _ in found]:
        return [Use(name, written, line, column) for name, written, line, column in raw]
    return [Use(name, written, node.lineno, start) for name, written, _ in found]


def check_uses(config: ConfigFile, defined: Mapping[str, Any], can_use: str) -> list[Issue]:
    """Every finding about the placeholders of ``config``'s options; ``defined`` maps each
    variable the file may use to its value, ``can_use`` says which those are (for messages).

    ERROR: an undefined variable, or one whose value is a list or dict (only strings,
    numbers and booleans can be put into a string).  WARNING: a ``$`` not followed by a name;
    a string that is a crypt(3) hash (kept as written), once per option, unless a computed
    option took it from an option it names.  Each at the option's file and line, the column
    in the message, pointer ``/<option>``.
    """
    issues = []
    for option in config.options:
        pointer = f"/{option.name}"
        crypt = _crypt_hash(config, option)
        if crypt:
            issues.append(Issue(f"a crypt(3) hash ({_SCHEMES.get(crypt, 'bcrypt')}): kept as written, its $ are not "
                                "variables; write each $ as $$ to say so", config.file, option.line, pointer, WARNING))
        for use in option.uses:
            where = f"(column {use.column})"
            if use.name is None:
                issues.append(Issue(f"'$' {where} is not followed by a variable name: left as written "
                                    "(write $$ for a literal $)", config.file, use.line, pointer, WARNING))
            elif use.name not in defined:
                issues.append(Issue(f"undefined variable {use.written} {where}: {can_use}; write $$ for a "
                                    "literal $", config.file, use.line, pointer))
            elif as_text(defined[use.name]) is None:
                issues.append(Issue(f"{use.written} {where} is {_kind(defined[use.name])}: only a string, number "
                                    "or boolean can be put into a string", config.file, use.line, pointer))
    return issues


def _crypt_hash(config: ConfigFile, option) -> str | None:
    """The scheme id (``1``, ``2b``, ``md5``...) of the first crypt(3) hash among the strings of
    ``option``'s value that are not those of an option a computed option names."""
    inherited = {text for ref in option.references if (named := config.option(ref)) is not None
                 for text in strings(named.value)}
    for text in strings(option.value):
        if text not in inherited and is_crypt_hash(text):
            return text[1:].split("$", 1)[0].split(",", 1)[0]
    return None


def _kind(value: Any) -> str:
    return "a dict" if isinstance(value, dict) else "a list"
