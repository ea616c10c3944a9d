"""``load_yaml`` on libyaml events gives exactly what the pure-Python loader gives.

Every document of the corpus (the example packages, the shipped definitions, and snippets
of valid, odd and hostile YAML) is read both ways; data, types, lines, scalar texts and
every issue must be equal.
"""

from pathlib import Path

import pytest

from nfvo.domain import sources
from nfvo.domain.sources import MAX_DEPTH, load_yaml
from nfvo.errors import ValidationFailed

ROOT = Path(__file__).resolve().parents[3]

# Read by libyaml's scanner and parser; composing and constructing are the Python ones.
LIBYAML_READS = {
    "alias bomb": "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)),
    "alias as key": "a: &x 1\n*x : 2\n",
    "alias in flow": "[&a x, *a]\n",
    "undefined alias": "a: *nope\n",
    "merge key, inline": "a: {x: 1}\nb:\n  <<: {x: 2, y: 3}\n  z: 4\n",
    "merge key, alias": "base: &b {x: 1}\nc:\n  <<: *b\n",
    "alias before a syntax error": "a: *x\nb: [\n",
    "syntax error before an alias": "a: [\nb: *x\n",
    f"{MAX_DEPTH} levels": "a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n",
    f"{MAX_DEPTH + 1} levels": "a: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n",
    f"{MAX_DEPTH + 1} block mappings": "".join("  " * i + "k:\n" for i in range(MAX_DEPTH)) + "  " * MAX_DEPTH + "k: 1\n",
    "several documents": "a: 1\n---\nb: 2\n",
    "explicit documents": "--- 1\n--- 2\n",
    "explicit document": "---\na: 1\n...\n",
    "document start with a sequence": "--- [1, 2]\n",
    "document start with a literal": "--- |\n  x\n",
    "empty": "",
    "comments only": "# x\n# y\n",
    "document start only": "---\n",
    "YAML 1.1 directive": "%YAML 1.1\n---\na: yes\n",
    "YAML 1.2 directive": "%YAML 1.2\n---\na: yes\n",
    "TAG directive": "%TAG !e! tag:example.com,2000:\n---\na: !e!foo 1\n",
    "python tag": "a: !!python/object/apply:os.system [ls]\n",
    "local tag": "a: !local 1\n",
    "verbatim tag": "a: !<tag:yaml.org,2002:str> 1\n",
    "standard tags": "a: !!str 1\nb: !!int '3'\nc: !!float '1'\nd: ! 12\ne: !!str\nf: !!null\n",
    "bad int tag": "a: !!int x\n",
    "binary": "a: !!binary aGVsbG8=\nb: !!binary '!!!'\n",
    "set, omap, pairs": "a: !!set {x, y}\nb: !!omap [x: 1, y: 2]\nc: !!pairs [x: 1, x: 2]\n",
    "duplicate and non-string keys": "name: a\nvendor: b\nname: c\n1.0: x\nyes: y\n",
    "complex keys": "? [a, b]\n: x\n",
    "mapping as key": "? {a: 1}\n: x\n",
    "flow sequence as key": "{[a]: 1}\n",
    "int key in flow": "{1: a}\n",
    "date Python cannot build": "name: x\ndate: 2020-13-45\n",
    "integer of 5000 digits": "n: " + "1" * 5000 + "\n",
    "day out of range": "a:\n  - ok\n  - b: 2020-02-31\n",
    "key Python cannot build": "a: [1, 2]\n? " + "1" * 5000 + "\n: x\n",
    "YAML 1.1 scalars": ("a: [yes, No, on, OFF, y, n, ~, null, Null, '', 1_000, 0o17, 017, 0x1F, 0b101, 1:20, "
                         "1:20.5, .inf, -.Inf, 1e3, 1.0e+3, 685.230_15e+03, 2001-12-14, "
                         "2001-12-14t21:59:43.10-05:00, 2001-12-14 21:59:43.10, =, <<, +1, -0, 0.]\n"),
    "booleans": "a: [True, TRUE, tRue, Yes, YES, On, ON]\n",
    "floats": "a: [1., .5, +.5, 1E3, 1.0E-3, ._, .NaN]\n",
    "strings": ('a: "x\\ty\\u263A\\x41\\N\\_\\L\\P"\nb: \'it\'\'s\'\nc: |\n  line1\n   line2\n\n'
                'd: >-\n  folded\n  text\n\n  para\ne: |+\n  keep\n\nf: plain\n  continued\n'),
    "escapes": 'a: "\\/ \\e \\  \\t \\U0001F600 \\0 \\a \\b \\v \\f \\r"\n',
    "block indentation indicators": "a: |2\n    x\n  y\nb: >1\n  z\n",
    "block scalar without final newline": "a: |-\n  x\n\n  y",
    "block scalar kept to the end": "a: |+\n  x\n\n",
    "folded, more indented": "a: >\n  x\n    y\n  z\n\n  w\n",
    "explicit block key": "? |\n  block key\n: v\n",
    "odd plain scalars": "a: x:y\nb: http://x/y?a=b#c\nc: -x\nd: ?x\ne: x #c\nf: x# not comment\n",
    "percent in values": "a: '%x'\nb: 50%\n",
    "flow, no space after colon": "{a:1, b: 2}\n",
    "flow, JSON": '{"a": [1, 2.5, true, null, "s"], "b": {"c": -1e-3}}',
    "flow, trailing comma": "[a, b, ]\n",
    "flow pair": "[a: 1, b]\n",
    "flow, colon in plain": "{a: b:c}\n",
    "flow, plain over lines": "[a\n  b, c]\n",
    "flow, less indented": "a: [1,\n2]\n",
    "anchors": "a: &x 1\nb: &s\n  - 1\nc: &m\n  k: v\nd: &y !!str 1\ne: !!str &z 2\n",
    "duplicate anchor": "a: &x 1\nb: &x 2\n",
    "keys needing escapes": "'a/b':\n  c~d: 1\n  ? ''\n  : 2\n",
    "empty keys": "'': 1\n\"\": 2\n",
    "unicode": "ключ: значение\n日本: [1]\nb: \U0001F600\nc: x\u3000y\u200bz\nd: \ue000\U0010FFFF\n",
    "BOM first": "\ufeffa: 1\n",
    "BOM inside a value": "a: x\ufeffy\n",
    "NEL line breaks": "a: 1\x85b: 2\nc: 'x\x85y'\n",
    "LS and PS line breaks": "a: 1\u2028b: 2\u2029c: 3\n",
    "CR line breaks": "a: 1\rb: 2\rc: [x,\r y]\r",
    "CRLF line breaks": "a: 1\r\nb:\r\n  - x\r\n  - y\r\n",
    "indentless sequence": "a:\n- 1\n- 2\nb: 3\n",
    "nested sequences": "- - x\n  - y\n- a: 1\n  b: [2]\n",
    "empty values": "a:\nb: []\nc: {}\nd: ''\n",
    "set": "? a\n? b\n",
    "top-level scalar": "just text\n",
    "top-level sequence": "- 1\n- two\n",
    "trailing spaces": "a: 1   \nb:   \n  - x   \n",
    "comments": "a: 1#x\nb: 2 #y\nc:    # c\n  value\nd:\n  # e\n  f: 1\n# g\nh: 2\n",
    "document end, then a comment": "a: 1\n...\n# c\n",
    "document marker after a value": "a: b\n---\n",
    "directive after a document": "a: 1\n%YAML 1.1\n---\nb: 2\n",
    "quoted over lines": "a: 'x\n\n  y'\nb: \"p\\\n  q\"\n",
    "space before colon": "a : 1\nb  :   2\n",
    "long plain scalar": "a: " + "x " * 5000 + "\n",
    "3000 keys": "".join(f"k{i}: {i}\n" for i in range(3000)),
}

# Nested far deeper than MAX_DEPTH. libyaml releases differ here (0.2.5 reads 10,000 flow
# levels, 0.2.6 stops at 1000 with a ScannerError); nfvo's answer must not.
DEEP = {
    "10,000 flow sequences": "a: " + "[" * 10_000 + "]" * 10_000 + "\n",
    "10,000 unclosed flow sequences": "a: " + "[" * 10_000 + "\n",
    "10,000 flow mappings": "a: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n",
    "10,000 block sequences": "- " * 10_000 + "x\n",
}

# Refused by libyaml, then read by the pure-Python loader: results and messages are PyYAML's own.
LIBYAML_REFUSES = {
    "unclosed flow sequence": "name: x\nvendor: [a, b\nversion: 1\n",
    "unclosed flow sequence at the end": "a: 1\n" * 500 + "b: [\n",
    "mapping in a plain value": "a: b: c\n",
    "bad indentation": "a:\n  b: 1\n c: 2\n",
    "bad sequence indentation": "a:\n  - 1\n - 2\n",
    "unclosed quotes": "a: 'abc\nb: 2\n",
    "unclosed double quotes": 'a: "abc\n',
    "bad escapes": 'a: "\\q"\nb: "\\xZZ"\n',
    "reserved indicators": "a: @x\n",
    "backtick": "a: `x\n",
    "block entry in flow": "a: [b: - c]\n",
    "content after document end": "a: 1\n...\nb\n",
    "document end only": "...\n",
    "content after document start": "--- a: 1\n",
    "YAML 1.3 directive (PyYAML accepts it)": "%YAML 1.3\n---\na: yes\n",
    "YAML 2.0 directive": "%YAML 2.0\n---\na: 1\n",
    "repeated YAML directive": "%YAML 1.1\n%YAML 1.1\n---\na: 1\n",
    "unknown directive (PyYAML accepts it)": "%FOO bar\n---\na: 1\n",
    "directive without document start": "%YAML 1.1\na: 1\n",
    "undeclared tag handle": "a: !foo!bar x\n",
    "bad anchor name": "a: &[x] 1\n",
    "empty key in block mapping": "~: 1\n: 2\n",
    "empty flow entry": "[a, , b]\n",
    "empty key in flow": "{: x}\n",
    "flow key over lines": "{a\n b: 1}\n",
    "key of 1100 characters": "a" * 1100 + ": 1\n",
    "flow key of 1100 characters": "[" + "a" * 1100 + ": 1]\n",
    "plain scalar then key": "a: b\n  c: d\n",
    "plain scalar less indented": "a: b\nc\n",
    "sequence entry after mapping": "a:\nb: []\n- \n",
    "dash in flow": "[a, -b, - c]\n",
    "blank line longer than the block indentation": "a: |\n     \n  x\n",
    "BOM inside (PyYAML accepts it)": "a: 1\n\ufeffb: 2\n",
}

# Never handed to libyaml (a character YAML forbids, a tab): the pure-Python loader reads them.
NOT_FOR_LIBYAML = {
    "control character": "a: 1\nb: \x07\n",
    "control character after an alias": "a: *x\n" + "b: 1\n" * 100 + "c: \x01\n",
    "NUL": "a: \x00\n",
    "DEL": "a: \x7f\n",
    "C1 control": "a: \x9b\n",
    "non-character": "a: \ufffe\n",
    "lone surrogate": "a: \udcff\n",
    "tab after a colon": "a:\t1\n",
    "tab after a value": "a: 1\t\nb:\t2\n",
    "tab before a comment": "a: 1\t# c\n",
    "tab before a colon": "a\t: 1\n",
    "tab in flow": "[a,\tb]\n",
    "tab in a plain scalar": "a: x\ty\n",
    "tab after a dash": "- \tx\n",
    "tab indentation": "a:\n\tb: 1\n",
    "tab-only line": "a: 1\n\t\nb: 2\n",
    "tabs in quoted scalars": "a: \"x\ty\"\nb: 'x\ty'\n",
    "tabs in a block scalar": "a: |\n  x\ty\n  \tz\n",
    "tab-indented block scalar": "a: |\n\tx\n",
}


def files() -> dict[str, str]:
    paths = sorted((ROOT / "examples").rglob("*.yaml")) + sorted((ROOT / "nfvo/domain/definitions").glob("*.yaml"))
    assert len(paths) >= 5, "the example packages and shipped definitions are part of the corpus"
    return {str(p.relative_to(ROOT)): p.read_text("utf-8-sig") for p in paths}


FILES = files()


def outcome(load, text: str):
    """What loading gives, comparable with ``==``: repr keeps 1, 1.0 and True apart."""
    try:
        doc = load(text, "f.yaml")
    except ValidationFailed as exc:
        return "failed", [(i.message, i.file, i.line, i.pointer) for i in exc.errors]
    return "read", repr(doc.data), doc.lines, doc.texts


def pure_python(text: str, file: str):
    return load_yaml(text, file, libyaml=False)


def libyaml_alone(text: str, file: str):
    """The libyaml loader without the fall-back: a refusal by libyaml propagates."""
    return sources._load_yaml(text, file, sources._LibyamlLoader, passthrough=sources._LIBYAML_REFUSALS)


def test_pyyaml_has_libyaml():
    assert sources.LIBYAML, ("PyYAML was built without libyaml; install a PyYAML wheel "
                             "(pip install --force-reinstall pyyaml) or libyaml-dev before building it")


@pytest.mark.parametrize("text", [*FILES.values(), *LIBYAML_READS.values(), *DEEP.values(),
                                  *LIBYAML_REFUSES.values(), *NOT_FOR_LIBYAML.values()],
                         ids=[*FILES, *LIBYAML_READS, *DEEP, *LIBYAML_REFUSES, *NOT_FOR_LIBYAML])
def test_load_yaml_gives_what_the_pure_python_loader_gives(text):
    assert outcome(load_yaml, text) == outcome(pure_python, text)


@pytest.mark.parametrize("text", [*FILES.values(), *LIBYAML_READS.values()], ids=[*FILES, *LIBYAML_READS])
def test_libyaml_reads_these_itself_with_the_same_result(text):
    assert "\t" not in text and not sources._NON_PRINTABLE.search(text)
    assert outcome(libyaml_alone, text) == outcome(pure_python, text)


@pytest.mark.parametrize("text", list(LIBYAML_REFUSES.values()), ids=list(LIBYAML_REFUSES))
def test_libyaml_refuses_these(text):
    assert "\t" not in text and not sources._NON_PRINTABLE.search(text)
    with pytest.raises(sources._LIBYAML_REFUSALS):
        libyaml_alone(text, "f.yaml")


@pytest.mark.parametrize("text", list(NOT_FOR_LIBYAML.values()), ids=list(NOT_FOR_LIBYAML))
def test_texts_with_tabs_or_forbidden_characters_are_not_for_libyaml(text, monkeypatch):
    expected = outcome(pure_python, text)
    monkeypatch.setattr(sources, "_LibyamlLoader", None)  # load_yaml must not need it
    assert outcome(load_yaml, text) == expected


def test_libyaml_alone_would_accept_tabs_pyyaml_refuses():
    # Why a text with a tab goes to the pure-Python loader.
    assert outcome(libyaml_alone, "a:\t1\n") == ("read", "{'a': 1}", {"": 1, "/a": 1}, {"/a": "1"})
    assert outcome(pure_python, "a:\t1\n")[0] == "failed"


@pytest.mark.parametrize("name", sorted(FILES))
def test_valid_files_are_read_by_libyaml_alone(name, monkeypatch):
    expected = outcome(pure_python, FILES[name])
    monkeypatch.setattr(sources, "_PythonLoader", None)  # no fall-back possible
    assert outcome(load_yaml, FILES[name]) == expected


@pytest.mark.parametrize("name", sorted(DEEP))
def test_deep_nesting_is_refused_by_both_loaders(name):
    # Whichever libyaml is installed: either it reads the events and nfvo's own depth check
    # refuses, or libyaml refuses and the pure-Python loader does; the answer is the same.
    for load in (load_yaml, pure_python):
        _, [(message, file, line, pointer)] = outcome(load, DEEP[name])
        assert (message, file, line, pointer) == (f"invalid YAML: nested deeper than {MAX_DEPTH} levels",
                                                  "f.yaml", 1, None)


@pytest.mark.parametrize("name", sorted(DEEP))
def test_deep_nesting_through_libyaml_alone_is_refused_or_falls_back(name):
    try:
        result = outcome(libyaml_alone, DEEP[name])
    except sources._LIBYAML_REFUSALS:
        return  # load_yaml then asks the pure-Python loader (the test above)
    assert result == outcome(pure_python, DEEP[name])


def test_alias_bomb_is_refused_by_libyaml_loader_at_the_first_alias():
    _, [(message, _, line, _)] = outcome(libyaml_alone, LIBYAML_READS["alias bomb"])
    assert (message, line) == ("invalid YAML: YAML aliases (*name) are not allowed", 2)


def test_syntax_errors_keep_pure_python_messages():
    _, [(message, _, line, _)] = outcome(load_yaml, LIBYAML_REFUSES["unclosed flow sequence"])
    assert (message, line) == ("invalid YAML: while parsing a flow sequence, expected ',' or ']', but got ':'", 3)
    _, [(message, _, line, _)] = outcome(load_yaml, NOT_FOR_LIBYAML["control character after an alias"])
    assert (message, line) == ("invalid YAML: special characters are not allowed", 102)
