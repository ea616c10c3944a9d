"""Tests of YAML/JSON loading with line numbers per JSON pointer."""

import time

import pytest

from nfvo.domain.sources import MAX_DEPTH, SourceDoc, child_pointer, load_json, load_yaml
from nfvo.errors import Issue, ValidationFailed

METADATA = """\
name: iperf-server
version: 1.10
vim_types:
  - local
image:
    upload: true
    names:
        - a
        - b
"""


def failure(load, text, file="f"):
    with pytest.raises(ValidationFailed) as caught:
        load(text, file)
    return caught.value.errors


def test_yaml_lines_per_pointer_and_yaml_11_values():
    doc = load_yaml(METADATA, "Metadata.yaml")
    assert doc.data["image"]["upload"] is True
    assert doc.data["version"] == 1.1
    assert doc.texts["/version"] == "1.10"
    assert doc.lines["/name"] == 1
    assert doc.lines["/vim_types/0"] == 4
    assert doc.lines["/image"] == 5
    assert doc.lines["/image/upload"] == 6
    assert doc.lines["/image/names/1"] == 9


def test_line_of_falls_back_to_nearest_ancestor_and_issue_carries_it():
    doc = load_yaml(METADATA, "Metadata.yaml")
    assert doc.line_of("/image/link") == 5
    assert doc.line_of("/nope/deeper") == 1
    assert doc.issue("/image/link", "bad") == Issue("bad", "Metadata.yaml", 5, "/image/link")
    assert SourceDoc("x", None).line_of("/a") is None


def test_pointer_escaping():
    assert child_pointer("/a", "b/c~d") == "/a/b~1c~0d"
    doc = load_yaml("'a/b':\n  c: 1\n", "f")
    assert doc.lines["/a~1b/c"] == 2


def test_yaml_syntax_error_names_line():
    errors = failure(load_yaml, "name: x\nvendor: [a, b\nversion: 1\n", "Metadata.yaml")
    assert len(errors) == 1
    assert errors[0].file == "Metadata.yaml"
    assert errors[0].line == 3
    assert "invalid YAML" in errors[0].message


def test_yaml_duplicate_and_non_string_keys_all_reported():
    errors = failure(load_yaml, "name: a\nvendor: b\nname: c\n1.0: x\nyes: y\n")
    assert [(e.line, e.message) for e in errors] == [
        (3, "duplicate key 'name'"),
        (4, "mapping keys must be strings, not float ('1.0')"),
        (5, "mapping keys must be strings, not bool ('yes')"),
    ]


def test_yaml_alias_bomb_refused_quickly():
    bomb = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))
    started = time.monotonic()
    errors = failure(load_yaml, bomb)
    assert time.monotonic() - started < 1
    assert errors[0].line == 2
    assert "aliases" in errors[0].message


def test_yaml_deep_nesting_refused():
    errors = failure(load_yaml, "a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n")
    assert f"nested deeper than {MAX_DEPTH}" in errors[0].message


def test_yaml_python_tags_and_several_documents_refused():
    assert "constructor" in failure(load_yaml, "a: !!python/object/apply:os.system [ls]\n")[0].message
    assert failure(load_yaml, "a: 1\n---\nb: 2\n")[0].line == 2


def test_yaml_control_character_gets_line():
    assert failure(load_yaml, "a: 1\nb: \x07\n")[0].line == 2


def test_empty_yaml_is_none():
    assert load_yaml("", "f").data is None


def test_json_lines_per_pointer():
    doc = load_json('{\n  "name": "x",\n  "vdu": [\n    {"vm_image": [\n      ""]}\n  ]\n}', "vnfd.json")
    assert doc.data["vdu"][0]["vm_image"] == [""]
    assert doc.lines["/name"] == 2
    assert doc.lines["/vdu"] == 3
    assert doc.lines["/vdu/0/vm_image"] == 4
    assert doc.lines["/vdu/0/vm_image/0"] == 5
    assert doc.line_of("/vdu/0/missing") == 4


def test_json_syntax_error_names_line():
    errors = failure(load_json, '{\n  "name": "x",\n  "type": \n}', "vnfd.json")
    assert errors == [Issue("JSON syntax error: Expecting value", "vnfd.json", 4)]


def test_json_duplicate_keys_report_line_and_pointer():
    text = '{\n  "name": "a",\n  "vdu": [{"x": 1,\n    "x": 2}],\n  "name": "b"\n}'
    errors = failure(load_json, text, "vnfd.json")
    assert sorted((e.pointer, e.line) for e in errors) == [("/name", 5), ("/vdu/0/x", 4)]


def test_json_nan_refused():
    assert "NaN" in failure(load_json, '{"a": NaN}')[0].message


@pytest.mark.parametrize("text, line, pointer, words", [
    ("name: x\ndate: 2020-13-45\n", 2, "/date", "2020-13-45"),
    ("n: " + "1" * 5000 + "\n", 1, "/n", "too many digits"),
    ("a:\n  - ok\n  - b: 2020-02-31\n", 3, "/a/1/b", "day is out of range"),
    ("a: [1, 2]\n? " + "1" * 5000 + "\n: x\n", 2, None, "too many digits"),  # a key: no pointer
])
def test_yaml_values_python_cannot_build_are_validation_errors(text, line, pointer, words):
    [issue] = failure(load_yaml, text, "Metadata.yaml")
    assert (issue.file, issue.line, issue.pointer) == ("Metadata.yaml", line, pointer)
    assert issue.message.startswith("invalid YAML") and words in issue.message


def test_json_integer_with_too_many_digits_is_a_validation_error():
    [issue] = failure(load_json, '{\n  "a": [1,\n    ' + "1" * 5000 + "]\n}", "vnfd.json")
    assert (issue.file, issue.line) == ("vnfd.json", 3)
    assert "too many digits" in issue.message


@pytest.mark.parametrize("load, wrap", [(load_yaml, "a: {}\n"), (load_json, '{{"a": {}}}')], ids=["yaml", "json"])
def test_yaml_and_json_share_the_depth_limit(load, wrap):
    fits = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    assert load(wrap.format(fits), "f").data["a"] is not None
    too_deep = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    [issue] = failure(load, wrap.format(too_deep))
    assert f"nested deeper than {MAX_DEPTH} levels" in issue.message and issue.file == "f"


def test_json_nested_900_deep_is_refused_with_line_and_pointer():
    text = '{\n  "name": "x",\n  "free": ' + "[" * 900 + "]" * 900 + "\n}"
    [issue] = failure(load_json, text, "vnfd.json")
    assert (issue.file, issue.line) == ("vnfd.json", 3)
    assert issue.pointer == "/free" + "/0" * (MAX_DEPTH - 1)  # the first value at depth MAX_DEPTH + 1
    assert f"nested deeper than {MAX_DEPTH} levels" in issue.message
