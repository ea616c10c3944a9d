"""Values of config-file expressions, read by walking the syntax tree: literals, and what computed options may compute.

Nothing is executed: no ``eval``, no ``exec``, no ``compile`` of package text.

A *literal* is a string, an int, a float, True/False, ``-``/``+`` before a number, or a list
or dict of literals (dict keys: strings, numbers, booleans).  A *computed* expression is a
literal, the name of an option defined earlier in the same file, a list or dict of computed
expressions, unary ``-``/``+`` of a number, or a binary operation:

* ``+``: number + number, string + string, list + list;
* ``-``, ``/``, ``//``: numbers; ``*``: numbers, or a string or list repeated an int of times;
* ``%``: numbers (modulo), or string formatting ``'fmt' % value`` where value is a literal,
  a name, or a tuple ``(a, b)`` of them (the only place a tuple is accepted).  Format specs
  may not use ``*`` and widths and precisions are at most ``MAX_FORMAT_WIDTH``.

Booleans are not numbers here.  Every result is bounded: ints within +-``MAX_INT``, floats
finite, a value at most ``MAX_VALUE_CHARS`` characters long as Python text (its *weight*),
nesting at most ``MAX_DEPTH``.  Anything else raises :class:`ExpressionError`.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Mapping
from typing import Any

MAX_VALUE_CHARS = 65_536
MAX_INT = 2**63 - 1
MAX_DEPTH = 64
MAX_FORMAT_WIDTH = 1024
_MAX_TRANSIENT = 16 * 2**20  # a formatting's result is judged before it is made
_FORMAT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)", re.DOTALL)
_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%"}
_CONSTRUCTS = {
    ast.Call: "a function call", ast.Attribute: "attribute access (.name)", ast.Subscript: "a subscript ([...])",
    ast.Lambda: "a lambda", ast.ListComp: "a comprehension", ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension", ast.GeneratorExp: "a generator expression", ast.JoinedStr: "an f-string",
    ast.FormattedValue: "an f-string", ast.IfExp: "a conditional expression (x if c else y)",
    ast.Compare: "a comparison", ast.BoolOp: "and/or", ast.NamedExpr: "an assignment expression (:=)",
    ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield", ast.Starred: "unpacking (*)",
    ast.Set: "a set", ast.Slice: "a slice",
}


class ExpressionError(Exception):
    """Why an expression is refused; ``node`` is where (its ``lineno``/``col_offset``)."""

    def __init__(self, message: str, node: ast.AST):
        super().__init__(message)
        self.message, self.node = message, node


class NotALiteral(ExpressionError):
    """The expression is one a computed option may use, but not a literal."""


def kind(value: Any) -> str:
    """``a string``, ``a number``, ``a boolean``, ``a list``, ``a dict`` or ``a tuple``."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return {str: "a string", list: "a list", dict: "a dict", tuple: "a tuple"}.get(type(value), "a value")


def weight(value: Any) -> int:
    """About how many characters ``repr(value)`` takes (walks the value without recursion)."""
    total, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, bool | int | float):
            total += _number_size(item)
        elif isinstance(item, list | tuple):
            total += 2 + 2 * len(item)
            stack.extend(item)
        elif isinstance(item, dict):
            total += 2 + 4 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        if total > _MAX_TRANSIENT:
            break
    return total


def literal(node: ast.expr) -> Any:
    """The value of a literal; raises NotALiteral for an expression only a computed option may
    use, ExpressionError for anything refused outright."""
    return _Walker(None).value(node)


def evaluate(node: ast.expr, env: Mapping[str, tuple[Any, int]]) -> Any:
    """The value of a computed expression; ``env`` maps each earlier option to (value, weight)."""
    return _Walker(env).value(node)


def construct_problem(node: ast.expr) -> ExpressionError | None:
    """The first construct in ``node`` that no option may use (a call, attribute, lambda...), or None."""
    for child in ast.walk(node):
        what = _CONSTRUCTS.get(type(child))
        if what:
            return ExpressionError(f"{what} is not allowed: nothing in the file is run", child)
        if isinstance(child, ast.BinOp) and type(child.op) not in _OPERATORS:
            return _operator_error(child)
        if isinstance(child, ast.UnaryOp) and not isinstance(child.op, ast.USub | ast.UAdd):
            return _operator_error(child)
    return None


def _operator_error(node: ast.BinOp | ast.UnaryOp) -> ExpressionError:
    return ExpressionError(f"the operator {type(node.op).__name__} is not allowed (computed options may use "
                           "+ - * / // % and unary -)", node)


class _Walker:
    """Evaluates one expression; ``env`` None reads a literal."""

    def __init__(self, env: Mapping[str, tuple[Any, int]] | None):
        self.env = env

    def value(self, node: ast.expr) -> Any:
        result, size = self._eval(node, 0)
        self._bounded(size, node)
        return result

    def _eval(self, node: ast.expr, depth: int) -> tuple[Any, int]:
        if depth > MAX_DEPTH:
            raise ExpressionError(f"nested more than {MAX_DEPTH} levels deep", node)
        if isinstance(node, ast.Constant):
            return _constant(node)
        if isinstance(node, ast.List):
            return self._list(node.elts, depth)
        if isinstance(node, ast.Dict):
            return self._dict(node, depth)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            if self.env is None and not isinstance(node.operand, ast.Constant):
                raise NotALiteral("an expression", node)
            operand, _ = self._eval(node.operand, depth + 1)
            if not _is_number(operand):
                raise ExpressionError(f"unary {'-' if isinstance(node.op, ast.USub) else '+'} needs a number, "
                                      f"not {kind(operand)}", node)
            return self._number(-operand if isinstance(node.op, ast.USub) else operand, node)
        if isinstance(node, ast.Name | ast.BinOp | ast.Tuple) and self.env is None:
            raise NotALiteral("an expression", node)
        if isinstance(node, ast.Name):
            if node.id not in self.env:
                raise ExpressionError(f"undefined name '{node.id}': an expression may use only options "
                                      "assigned earlier in the same file", node)
            return self.env[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return self._binop(node, depth)
        if isinstance(node, ast.Tuple):
            raise ExpressionError("a tuple is not allowed: use a list [...]", node)
        raise construct_problem(node) or ExpressionError(f"{type(node).__name__} is not allowed", node)

    def _list(self, elements: list[ast.expr], depth: int) -> tuple[list, int]:
        items, size = [], 2
        for element in elements:
            item, item_size = self._eval(element, depth + 1)
            items.append(item)
            size += item_size + 2
            self._bounded(size, element)
        return items, size

    def _dict(self, node: ast.Dict, depth: int) -> tuple[dict, int]:
        result, size = {}, 2
        for key_node, value_node in zip(node.keys, node.values, strict=True):
            if key_node is None:
                raise ExpressionError("unpacking (**) is not allowed", value_node)
            key, key_size = self._eval(key_node, depth + 1)
            if not isinstance(key, str | int | float):
                raise ExpressionError(f"a dict key must be a string, number or boolean, not {kind(key)}", key_node)
            item, item_size = self._eval(value_node, depth + 1)
            result[key] = item
            size += key_size + item_size + 4
            self._bounded(size, value_node)
        return result, size

    def _binop(self, node: ast.BinOp, depth: int) -> tuple[Any, int]:
        left, left_size = self._eval(node.left, depth + 1)
        if isinstance(node.op, ast.Mod) and isinstance(left, str):
            if isinstance(node.right, ast.Tuple):
                parts = [self._eval(e, depth + 2) for e in node.right.elts]
                right, right_size = tuple(p[0] for p in parts), sum(p[1] for p in parts) + 2
            else:
                right, right_size = self._eval(node.right, depth + 1)
            return self._format(node, left, right, right_size)
        right, right_size = self._eval(node.right, depth + 1)
        symbol = _OPERATORS[type(node.op)]
        if _is_number(left) and _is_number(right):
            try:
                result = _ARITHMETIC[symbol](left, right)
            except ZeroDivisionError:
                raise ExpressionError("division by zero", node) from None
            except OverflowError:
                raise ExpressionError("the result is too large", node) from None
            return self._number(result, node)
        if symbol == "+" and type(left) is type(right) and isinstance(left, str | list):
            size = left_size + right_size
            self._bounded(size, node)
            return left + right, size
        if symbol == "*" and (isinstance(left, str | list) and _is_int(right) or
                              isinstance(right, str | list) and _is_int(left)):
            sequence, size, count = (left, left_size, right) if _is_int(right) else (right, right_size, left)
            size = 2 + (size - 2) * max(count, 0)
            self._bounded(size, node)
            return sequence * count, size
        raise ExpressionError(f"cannot apply {symbol} to {kind(left)} and {kind(right)}", node)

    def _format(self, node: ast.BinOp, text: str, argument: Any, argument_size: int) -> tuple[str, int]:
        specs = 0
        for spec in _FORMAT_SPEC.finditer(text):
            width, precision, _ = spec.groups()
            if "*" in (width, precision):
                raise ExpressionError("a '*' width or precision is not allowed in a format", node)
            if max(int(width or 0), int(precision or 0)) > MAX_FORMAT_WIDTH:
                raise ExpressionError(f"a format width or precision is at most {MAX_FORMAT_WIDTH}", node)
            specs += 1
        if len(text) + specs * (MAX_FORMAT_WIDTH + 330 + 4 * argument_size) > _MAX_TRANSIENT:
            raise ExpressionError(f"the formatted string could be longer than {MAX_VALUE_CHARS} characters", node)
        try:
            result = text % argument
        except (TypeError, ValueError, KeyError, OverflowError) as exc:
            raise ExpressionError(f"cannot format the string: {type(exc).__name__}: {str(exc)[:80]}", node) from None
        size = len(result) + 2
        self._bounded(size, node)
        return result, size

    def _number(self, number: int | float, node: ast.AST) -> tuple[int | float, int]:
        if isinstance(number, int) and abs(number) > MAX_INT:
            raise ExpressionError(f"an integer is at most {MAX_INT} in size", node)
        if isinstance(number, float) and not math.isfinite(number):
            raise ExpressionError("the result is not a finite number", node)
        return number, _number_size(number)

    @staticmethod
    def _bounded(size: int, node: ast.AST) -> None:
        if size > MAX_VALUE_CHARS:
            raise ExpressionError(f"the value is longer than {MAX_VALUE_CHARS} characters", node)


_ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
               "//": operator.floordiv, "%": operator.mod}


def _number_size(value: bool | int | float) -> int:
    """Characters of repr(value); ints beyond MAX_INT are counted by their bits, never turned into text."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        return value.bit_length() // 3 + 2
    return len(repr(value))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _constant(node: ast.Constant) -> tuple[Any, int]:
    value = node.value
    if isinstance(value, bool):
        return value, _number_size(value)
    if isinstance(value, str):
        if len(value) > MAX_VALUE_CHARS:
            raise ExpressionError(f"the value is longer than {MAX_VALUE_CHARS} characters", node)
        return value, len(value) + 2
    if isinstance(value, int):
        if abs(value) > MAX_INT:
            raise ExpressionError(f"an integer is at most {MAX_INT} in size", node)
        return value, _number_size(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ExpressionError("not a finite number", node)
        return value, _number_size(value)
    what = {type(None): "None", bytes: "a bytes literal", complex: "a complex number",
            type(...): "an ellipsis (...)"}.get(type(value), type(value).__name__)
    raise ExpressionError(f"{what} is not allowed: use a string, number, boolean, list or dict", node)
