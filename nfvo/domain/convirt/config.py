"""One python-syntax ConVirt config file (``image.conf``, ``vm_conf.template``) read from its syntax tree; nothing is run.

A file is a sequence of ``name = value`` statements.  A value is a literal (see
:mod:`nfvo.domain.convirt.expressions`), or, for a name listed in the file's
``computed_options``, a computed expression over literals and options assigned earlier in
the file, evaluated here by walking the tree.  ``computed_options`` and
``customizable_options`` are lists of option names (string literals), not options.

ERROR, each at its line (and column, in the message): text that is not Python syntax
(or holds a NUL byte, or is nested too deeply for the parser, or is longer than
``MAX_CONFIG_CHARS``); any statement but ``name = value`` (imports, calls, augmented,
annotated, unpacking, attribute or subscript assignments, if/for/def...); a value that is
not a literal (a call, attribute access, subscript, lambda, comprehension, f-string, None,
a tuple, a name...), or an expression not listed in ``computed_options``; a computed
expression that is refused or fails (an undefined or later name, division by zero, a
result over the limits; one that names a refused option is refused without a finding of
its own); an option assigned twice; assigning a predefined variable (``VM_NAME``,
``IMAGE_STORE``, ``IMAGE_NAME``) or a name starting with ``__``;
``computed_options``/``customizable_options`` that are not lists of strings, or assigned
twice; a ``customizable_options`` entry that is not an option of the file, or is computed.
WARNING: a ``computed_options`` entry the file does not assign; an entry listed twice.
"""

from __future__ import annotations

import ast
from collections import deque
from typing import Any

from nfvo.domain.convirt.expressions import (
    ExpressionError,
    NotALiteral,
    construct_problem,
    evaluate,
    literal,
    weight,
)
from nfvo.domain.convirt.model import (
    COMPUTED_OPTIONS,
    CUSTOMIZABLE_OPTIONS,
    PREDEFINED,
    SPECIAL_NAMES,
    ConfigFile,
    Option,
    Use,
)
from nfvo.domain.convirt.template import Columns, constant_uses, scan, strings
from nfvo.errors import ERROR, WARNING, Issue

MAX_CONFIG_CHARS = 2**16  # real files are a few KB; a dense file costs ~500 bytes of syntax tree per character
_RUN = "nothing in the file is run"
_STATEMENTS = {ast.If: "an if", ast.For: "a for", ast.AsyncFor: "a for", ast.While: "a while",
               ast.FunctionDef: "a def", ast.AsyncFunctionDef: "a def", ast.ClassDef: "a class",
               ast.With: "a with", ast.AsyncWith: "a with", ast.Try: "a try", ast.Delete: "a del",
               ast.Global: "a global", ast.Nonlocal: "a nonlocal", ast.Pass: "a pass", ast.Assert: "an assert",
               ast.Raise: "a raise", ast.Return: "a return", ast.Break: "a break", ast.Continue: "a continue",
               ast.Match: "a match"}


def parse_config(text: str, file: str) -> tuple[ConfigFile, list[Issue]]:
    """The options of one config file and every finding about it (see the module docstring);
    ``file`` is its member name, used in each finding.  Never raises on bad input: a file that
    cannot be read at all gives one finding and an empty ConfigFile."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    tree, problem = _parse(text, file)
    if tree is None:
        return ConfigFile(file, parsed=False), [problem]
    reader = _Reader(file, Columns(text.split("\n")))
    try:
        return reader.read(tree.body), reader.issues
    except (RecursionError, MemoryError):
        return ConfigFile(file, parsed=False), [Issue("nested too deeply or too large to be read", file)]


def _parse(text: str, file: str) -> tuple[ast.Module | None, Issue | None]:
    if len(text) > MAX_CONFIG_CHARS:
        return None, Issue(f"longer than {MAX_CONFIG_CHARS} characters: not read", file)
    if "\x00" in text:
        return None, Issue("holds a NUL byte: not a text file", file, text.count("\n", 0, text.index("\x00")) + 1)
    try:
        return ast.parse(text, filename=file), None
    except SyntaxError as exc:
        column = f" (column {exc.offset})" if exc.offset else ""
        return None, Issue(f"not valid Python syntax: {exc.msg}{column}", file, exc.lineno)
    except (RecursionError, MemoryError):
        return None, Issue("nested too deeply or too large for the Python parser", file)
    except ValueError as exc:  # a lone surrogate, and whatever else the parser refuses as a value
        return None, Issue(f"cannot be read as Python syntax: {str(exc)[:120]}", file)


class _Reader:
    def __init__(self, file: str, columns: Columns):
        self.file, self.columns = file, columns
        self.issues: list[Issue] = []
        self.options: dict[str, Option] = {}
        self.env: dict[str, tuple[Any, int]] = {}
        self.refused: set[str] = set()  # names whose assignment was refused (and reported)

    def error(self, message: str, node: ast.AST, pointer: str | None = None, severity: str = ERROR) -> None:
        column = self.columns.column(node.lineno, node.col_offset)
        self.issues.append(Issue(f"{message} (column {column})", self.file, node.lineno, pointer, severity))

    def read(self, body: list[ast.stmt]) -> ConfigFile:
        specials = self._specials(body)
        computed = specials.get(COMPUTED_OPTIONS, ((), None))[0]
        for statement in body:
            name = self._target(statement)
            if name is None or name in SPECIAL_NAMES or not self._name_ok(name, statement):
                continue
            self._option(name, statement, name in computed)
        self._check_lists(specials)
        customizable = specials[CUSTOMIZABLE_OPTIONS][0] if CUSTOMIZABLE_OPTIONS in specials else None
        computed = tuple(n for n in dict.fromkeys(computed) if n in self.options)
        if customizable is not None:
            customizable = tuple(n for n in dict.fromkeys(customizable)
                                 if n in self.options and not self.options[n].computed)
        return ConfigFile(self.file, tuple(self.options.values()), computed, customizable, tuple(sorted(self.refused)))

    def _specials(self, body: list[ast.stmt]) -> dict[str, tuple[tuple[str, ...], ast.Assign]]:
        """computed_options and customizable_options: (names, statement)."""
        found: dict[str, tuple[tuple[str, ...], ast.Assign]] = {}
        for statement in body:
            if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                    and isinstance(statement.targets[0], ast.Name) and statement.targets[0].id in SPECIAL_NAMES):
                continue
            name, value = statement.targets[0].id, statement.value
            if name in found:
                self.error(f"{name} is assigned twice (first at line {found[name][1].lineno})", statement, f"/{name}")
            elif not (isinstance(value, ast.List) and all(
                    isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts)):
                self.error(f"{name} must be a list of option names (strings)", value, f"/{name}")
                found[name] = ((), statement)
            else:
                found[name] = (tuple(e.value for e in value.elts), statement)
        return found

    def _target(self, statement: ast.stmt) -> str | None:
        """The name a statement assigns, or None (the statement refused)."""
        if isinstance(statement, ast.Assign):
            targets = statement.targets
            if len(targets) == 1 and isinstance(targets[0], ast.Name):
                return targets[0].id
            if any(isinstance(t, ast.Attribute | ast.Subscript) for t in targets):
                self.error(f"assigning to an attribute or subscript is not allowed: {_RUN}", statement)
            else:
                self.error("assign one name at a time (name = value)", statement)
        elif isinstance(statement, ast.AugAssign):
            self.error("an augmented assignment (x += ...) is not allowed: assign each option once", statement)
        elif isinstance(statement, ast.AnnAssign):
            self.error("an annotated assignment is not allowed: write name = value", statement)
        elif isinstance(statement, ast.Import | ast.ImportFrom):
            self.error(f"an import statement is not allowed: {_RUN}", statement)
        elif isinstance(statement, ast.Expr):
            problem = construct_problem(statement.value)
            if problem is not None:
                self.error(problem.message, problem.node)
            else:
                self.error("an expression on its own is not allowed: only name = value assignments", statement)
        else:
            what = _STATEMENTS.get(type(statement), f"a {type(statement).__name__}")
            self.error(f"{what} statement is not allowed: only name = value assignments ({_RUN})", statement)
        return None

    def _name_ok(self, name: str, statement: ast.Assign) -> bool:
        pointer = f"/{name}"
        if name in PREDEFINED:
            self.refused.add(name)
            self.error(f"{name} is predefined (ConVirt fills it at provisioning): it cannot be assigned",
                       statement, pointer)
        elif name.startswith("__"):
            self.refused.add(name)
            self.error(f"'{name}': names starting with '__' are reserved", statement, pointer)
        elif name in self.options:
            self.error(f"'{name}' is assigned twice (first at line {self.options[name].line})", statement, pointer)
        else:
            return True
        return False

    def _option(self, name: str, statement: ast.Assign, computed: bool) -> None:
        """Read one option; a computed one that names a refused option is refused without a
        finding of its own (the refused one has its finding)."""
        node, pointer = statement.value, f"/{name}"
        if computed and any(isinstance(n, ast.Name) and n.id in self.refused for n in ast.walk(node)):
            self.refused.add(name)
            return
        try:
            value = evaluate(node, self.env) if computed else literal(node)
        except NotALiteral as exc:
            self.refused.add(name)
            problem = construct_problem(node)
            if problem is not None:
                self.error(problem.message, problem.node, pointer)
            else:
                self.error(f"'{name}' is an expression, not a literal: list it in {COMPUTED_OPTIONS} to compute "
                           "it", exc.node, pointer)
            return
        except ExpressionError as exc:
            self.refused.add(name)
            self.error(exc.message, exc.node, pointer)
            return
        references = tuple(dict.fromkeys(n.id for n in ast.walk(node) if isinstance(n, ast.Name))) if computed else ()
        uses = self._uses(node, value, references)
        self.options[name] = Option(name, value, statement.lineno, computed, node if computed else None,
                                    references, uses)
        self.env[name] = (value, weight(value))

    def _uses(self, node: ast.expr, value: Any, references: tuple[str, ...]) -> tuple[Use, ...]:
        """The placeholders of ``value``, each where the file writes it; one that a computed
        option takes from an option it names is that option's, not reported again here."""
        own: dict[tuple[str | None, str], deque[Use]] = {}
        constants = [n for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
        for constant in sorted(constants, key=lambda n: (n.lineno, n.col_offset)):
            for use in constant_uses(constant, self.columns):
                own.setdefault((use.name, use.written), deque()).append(use)
        inherited = {(n, w) for ref in references for text in strings(self.env[ref][0]) for n, w, _ in scan(text)}
        start = (node.lineno, self.columns.column(node.lineno, node.col_offset))
        uses = []
        for text in strings(value):
            for name, written, _ in scan(text):
                mine = own.get((name, written))
                if mine:
                    uses.append(mine.popleft())
                elif (name, written) not in inherited:
                    uses.append(Use(name, written, *start))
        return tuple(uses)

    def _check_lists(self, specials: dict[str, tuple[tuple[str, ...], ast.Assign]]) -> None:
        for special, (names, statement) in specials.items():
            seen: set[str] = set()
            for index, name in enumerate(names):
                item = statement.value.elts[index]
                pointer = f"/{special}/{index}"
                if name in seen:
                    self.error(f"'{name}' is listed twice in {special}", item, pointer, WARNING)
                elif name in SPECIAL_NAMES or name in PREDEFINED:
                    self.error(f"'{name}' is not an option: {special} names options of the file", item, pointer)
                elif special == COMPUTED_OPTIONS:
                    if name not in self.options and name not in self.refused:
                        self.error(f"'{name}' is listed in {special} but the file does not assign it", item,
                                   pointer, WARNING)
                elif name not in self.options:
                    if name not in self.refused:
                        self.error(f"'{name}' is not an option of the file: {special} must name its options",
                                   item, pointer)
                elif self.options[name].computed:
                    self.error(f"'{name}' is a computed option: it is recomputed, so it cannot be customizable",
                               item, pointer)
                seen.add(name)
