"""Values no database stores (NUL, lone surrogates, non-finite numbers), too long integers and too deep
nesting: load_json and load_yaml refuse them at their pointer and line, and never crash."""

import pytest

from nfvo.domain.sources import MAX_DEPTH, load_json, load_yaml, unstorable_values
from nfvo.errors import ValidationFailed


def failure(load, text, file="f"):
    with pytest.raises(ValidationFailed) as caught:
        load(text, file)
    return caught.value.errors


def where(errors):
    return [(e.file, e.line, e.pointer) for e in errors]


@pytest.mark.parametrize("number, words", [
    ("1e999", "finite"), ("-1e999", "finite"), ("1" * 400 + ".0", "finite"),
    ("NaN", "NaN is not allowed"), ("Infinity", "Infinity is not allowed"), ("-Infinity", "-Infinity is not allowed"),
])
def test_json_non_finite_numbers_are_refused_at_their_pointer(number, words):
    [issue] = failure(load_json, '{\n  "a": {\n    "b": [1,\n      ' + number + "]}}", "vnfd.json")
    assert (issue.file, issue.line, issue.pointer) == ("vnfd.json", 4, "/a/b/1")
    assert words in issue.message


def test_json_large_finite_numbers_are_kept():
    assert load_json("[1e308, 1.7976931348623157e308, -1e308, 1e-999]", "f").data == [
        1e308, 1.7976931348623157e308, -1e308, 0.0]


@pytest.mark.parametrize("escape", ["\\ud800", "\\uDBFF", "\\udc00", "\\uDFFF", "\\udc00\\ud800", "x\\ud83d"])
def test_json_lone_surrogates_are_refused(escape):
    [issue] = failure(load_json, '{"name": "a' + escape + 'b"}')
    assert issue.pointer == "/name" and issue.line == 1 and "lone surrogates" in issue.message


def test_json_surrogate_pairs_are_one_character_and_kept():
    assert load_json('{"name": "\\ud83d\\ude00"}', "f").data == {"name": "\U0001F600"}


def test_json_bad_keys_are_reported_with_a_printable_pointer():
    errors = failure(load_json, '{"a\\u0000": 1,\n "b\\ud800": {"c": "\\udfff"}}')
    assert where(errors) == [("f", 1, "/a\\u0000"), ("f", 2, "/b\\ud800"), ("f", 2, "/b\\ud800/c")]
    assert [e.message.split(" ")[0] for e in errors] == ["NUL", "lone", "lone"]


def test_json_every_problem_is_reported_at_once_in_document_order():
    text = '{\n"x": "\\u0000",\n"y": [1e999, ' + "7" * 5000 + '],\n"x": NaN\n}'
    errors = failure(load_json, text)
    # the repeated "x" replaced the first one's value: its NUL is gone, its NaN is not
    assert where(errors) == [("f", 4, "/x"), ("f", 4, "/x"), ("f", 3, "/y/0"), ("f", 3, "/y/1")]
    assert "duplicate key" in errors[0].message and "NaN" in errors[1].message
    assert "finite" in errors[2].message and "too many digits" in errors[3].message


def test_json_deeper_than_python_recurses_has_line_and_pointer():
    text = '{"ok": 1,\n "a/b": {"c~d":\n' + "[" * 200_000 + "]" * 200_000 + "}}"
    [issue] = failure(load_json, text, "vnfd.json")
    assert issue.line == 3 and issue.pointer == "/a~1b/c~0d" + "/0" * (MAX_DEPTH - 2)
    assert f"nested deeper than {MAX_DEPTH} levels" in issue.message


@pytest.mark.parametrize("text", [
    "[" * 1_000_000, '{"a":' * 100_000, '{"a": "\\ud800', "[" * 5000 + '"\\', "1" * 100_000, "-" + "9" * 5000,
    '{"' + "k" * 1000 + '": ' * 3000,
])
def test_hostile_json_is_always_a_validation_failure(text):
    assert failure(load_json, text)


@pytest.mark.parametrize("text, pointer, line, words", [
    ('name: "a\\0b"\n', "/name", 1, "NUL"),
    ("a: 1\nname: \"\\x00\"\n", "/name", 2, "NUL"),
    ('name: "\\ud800"\n', "/name", 1, "lone surrogates"),
    ("a:\n  - 1\n  - '\\udfff'\n  - \"\\udfff\"\n", "/a/2", 4, "lone surrogates"),
    ("weight: .inf\n", "/weight", 1, "finite"),
    ("weight: -.Inf\n", "/weight", 1, "finite"),
    ("x:\n  weight: .nan\n", "/x/weight", 2, "finite"),
    ("weight: 1.0e+999\n", "/weight", 1, "finite"),
    ('"k\\0": 1\n', "/k\\u0000", 1, "NUL"),
])
def test_yaml_refuses_the_same_values_at_their_pointer(text, pointer, line, words):
    [issue] = failure(load_yaml, text, "Metadata.yaml")
    assert (issue.file, issue.line, issue.pointer) == ("Metadata.yaml", line, pointer)
    assert words in issue.message


def test_yaml_text_that_merely_looks_like_an_escape_is_kept():
    assert load_yaml("a: '\\ud800'\nb: 'x\\0'\nc: 1.5e+30\n", "f").data == {"a": "\\ud800", "b": "x\\0", "c": 1.5e30}


def test_json_lines_of_keys_with_slashes_tildes_and_escapes():
    doc = load_json('{"a/b":\n {"c~d":\n  {"\\u00e9": 1,\n   "x": [\n    2]}}}', "f")
    assert doc.lines == {"": 1, "/a~1b": 1, "/a~1b/c~0d": 2, "/a~1b/c~0d/\u00e9": 3, "/a~1b/c~0d/x": 4,
                         "/a~1b/c~0d/x/0": 5}


def test_unstorable_values_walks_keys_before_values_in_document_order():
    data = {"a": ["ok", "\x00"], "b\ud800": {"c": float("inf")}, "d": float("nan"), "e": [1.5, "\udc00"]}
    assert [p for p, _ in unstorable_values(data)] == ["/a/1", "/b\ud800", "/b\ud800/c", "/d", "/e/1"]
    assert unstorable_values({"fine": ["text", 1, 2.5, None, True, {"x": "\U0001F600"}]}) == []
