"""The convirt package never runs package text: no eval, exec, compile or imports by name, no processes, no files."""

import ast
import importlib
import inspect
import sys

import pytest

MODULES = ["nfvo.domain.convirt", "nfvo.domain.convirt.config", "nfvo.domain.convirt.deployment",
           "nfvo.domain.convirt.expressions",
           "nfvo.domain.convirt.model", "nfvo.domain.convirt.package", "nfvo.domain.convirt.render",
           "nfvo.domain.convirt.template"]
FORBIDDEN_BUILTINS = {"eval", "exec", "compile", "__import__", "open", "getattr", "setattr", "globals", "locals",
                      "vars", "breakpoint", "input"}
FORBIDDEN_METHODS = {"literal_eval", "import_module", "system", "popen", "run", "exec", "eval", "spawn", "load"}
ALLOWED_IMPORTS = {"__future__", "ast", "bisect", "collections", "dataclasses", "math", "operator", "posixpath", "re",
                   "string", "typing", "nfvo"}


@pytest.mark.parametrize("name", MODULES)
def test_no_module_runs_or_imports_by_name(name):
    tree = ast.parse(inspect.getsource(importlib.import_module(name)))
    calls = [n.func for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert {f.id for f in calls if isinstance(f, ast.Name)} & FORBIDDEN_BUILTINS == set()
    methods = {(f.value.id if isinstance(f.value, ast.Name) else "", f.attr) for f in calls if isinstance(f, ast.Attribute)}
    assert {m for _, m in methods} & FORBIDDEN_METHODS == set()
    assert {(o, m) for o, m in methods if m == "compile"} <= {("re", "compile")}
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported <= ALLOWED_IMPORTS, imported - ALLOWED_IMPORTS


def test_every_module_has_a_docstring_and_stays_small():
    for name in MODULES:
        source = inspect.getsource(importlib.import_module(name))
        assert ast.get_docstring(ast.parse(source)), name
        assert source.count("\n") <= 300, name


def test_the_public_names():
    package = importlib.import_module("nfvo.domain.convirt")
    assert all(hasattr(package, n) for n in package.__all__)
    assert "subprocess" not in {m.split(".")[0] for m in sys.modules if m.startswith("nfvo.domain.convirt")}
