"""Hostile config files: deep nesting, NUL bytes, bad encodings, huge values and very long files give findings, never a crash."""

import pytest

from nfvo.domain.convirt.config import MAX_CONFIG_CHARS, parse_config
from nfvo.domain.convirt.expressions import MAX_DEPTH, MAX_VALUE_CHARS
from nfvo.domain.convirt.package import read_files
from nfvo.errors import ValidationFailed
from tests.unit.domain.convirt import samples


def findings_of(text: str) -> list[tuple]:
    config, issues = parse_config(text, "T/image.conf")
    return [(i.file, i.line, i.severity, i.message) for i in issues]


def one_error(text: str) -> tuple:
    found = findings_of(text)
    assert len(found) == 1 and found[0][2] == "error", found
    return found[0]


@pytest.mark.parametrize("text, message", [
    ("x = " + "1+" * 10_000 + "1\n", "too"),  # the parser gives up: RecursionError
    ("x = " + "-" * 30_000 + "1\n", "too"),  # MemoryError from the parser's stack
    ("x = " + "[" * 300 + "]" * 300 + "\n", "too many nested parentheses"),  # SyntaxError
    ("x = " + "not " * 10_000 + "1\n", "too"),
    ("x = " + "a." * 20_000 + "b\n", "too"),
    ("x = (" + "a if b else " * 5_000 + "c)\n", "too"),
    ("x = " + "(" * 250 + "1" + ")" * 250 + "\n", "too many nested parentheses"),
])
def test_what_the_parser_cannot_read_is_one_error(text, message):
    assert len(text) <= MAX_CONFIG_CHARS  # the parser itself is reached
    _, _, _, text_of = one_error(text)
    assert message in text_of


@pytest.mark.parametrize("text", [
    "computed_options = ['x']\nx = " + "1 + " * 500 + "1\n",
    "x = " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n",
    "computed_options = ['x']\nx = " + "-" * (MAX_DEPTH + 5) + "1\n",
])
def test_nesting_beyond_the_limit_is_one_error_at_its_line(text):
    _, line, _, message = one_error(text)
    assert line == text.count("\n") and f"nested more than {MAX_DEPTH} levels deep" in message


def test_a_nul_byte_is_an_error_at_its_line():
    assert one_error("a = 1\nb = 'x\x00y'\n")[1:] == (2, "error", "holds a NUL byte: not a text file")


def test_a_lone_surrogate_is_an_error():
    assert "cannot be read as Python syntax" in one_error("x = '\ud800'\n")[3]


@pytest.mark.parametrize("text, line", [("print 'python 2'\n", 1), ("a = 1\n  b = 2\n", 2), ("a = 'open\n", 1),
                                        ("a = [1,\n", 1), ("def\n", 1)])
def test_not_python_syntax_is_an_error_at_its_line(text, line):
    _, at, _, message = one_error(text)
    assert at == line and message.startswith("not valid Python syntax")


def test_a_file_longer_than_the_limit_is_not_read():
    text = "a = 1\n" * (MAX_CONFIG_CHARS // 6 + 1)
    assert one_error(text) == ("T/image.conf", None, "error", f"longer than {MAX_CONFIG_CHARS} characters: not read")


def test_a_long_file_within_the_limit_is_read():
    text = "".join(f"o{n} = '$VM_NAME'\n" for n in range(3_000))
    assert len(text) <= MAX_CONFIG_CHARS
    config, issues = parse_config(text, "T/image.conf")
    assert issues == [] and len(config.options) == 3_000
    assert (config.options[-1].uses[0].line, config.options[-1].uses[0].column) == (3_000, 10)


def test_a_long_file_of_refused_lines_lists_each_and_the_package_caps_the_listing():
    text = "import os\n" * 5_000
    assert len(findings_of(text)) == 5_000
    files = samples.fedora()
    files["Fedora_Core_Install/image.conf"] = text.encode()
    with pytest.raises(ValidationFailed) as caught:
        read_files(files)
    # and the two $KERNEL_TYPE of vm_conf.template, which image.conf no longer defines
    assert caught.value.detail == "5002 problems in package template"
    assert len(caught.value.errors) == 101 and "more problems were found" in caught.value.errors[-1].message


BIG = "s = '" + "a" * 40_000 + "'\ncomputed_options = ['x']\n"


@pytest.mark.parametrize("text", [
    "computed_options = ['x']\nx = 'a' * 70_000\n",
    "computed_options = ['x']\nx = [1] * 30_000\n",
    BIG + "x = s + s\n",
    BIG + "x = '%s%s' % (s, s)\n",
    BIG + "x = {'a': s, 'b': s}\n",
    BIG + "x = [s, [s]]\n",
])
def test_a_value_too_large_is_one_error(text):
    assert len(text) <= MAX_CONFIG_CHARS  # a literal that long is refused with its file
    assert f"longer than {MAX_VALUE_CHARS} characters" in one_error(text)[3]


def test_values_that_would_explode_when_written_out_are_refused():
    text = ("computed_options = ['a', 'b', 'c', 'd']\na = ['" + "x" * 50 + "'] * 100\n"
            "b = [a] * 100\nc = [b] * 100\nd = [c] * 100\n")
    assert [(line, m.split(" (")[0]) for _, line, _, m in findings_of(text)] == [
        (3, f"the value is longer than {MAX_VALUE_CHARS} characters")]  # c and d follow from b
    text = "computed_options = ['a', 'b', 'c', 'd']\na = ['" + "x" * 50 + "'] * 100\nb = [a] * 100\nc = [b] * 100\n"
    assert [(line, "longer than" in m) for _, line, _, m in findings_of(text)] == [(3, True), (1, False)]


def test_many_placeholders_on_one_wide_line_are_placed():
    text = "x = [" + "'é$VM_NAME', " * 3_000 + "]\n"
    config, issues = parse_config(text, "T/image.conf")
    assert issues == []
    uses = config.option("x").uses
    assert len(uses) == 3_000 and uses[0].column == 8 and uses[1].column == 8 + 13 and uses[-1].column == 8 + 13 * 2999


def test_non_utf8_config_files_are_errors_at_their_line():
    files = samples.fedora()
    files["Fedora_Core_Install/image.conf"] = b"a = 1\nb = '\xff\xfe'\n"
    files["Fedora_Core_Install/vm_conf.template"] = b"\x80"
    files["Fedora_Core_Install/description.htm"] = b"<b>\xe9</b>"
    with pytest.raises(ValidationFailed) as caught:
        read_files(files)
    assert [(e.file, e.line, e.severity, e.message) for e in caught.value.errors] == [
        ("Fedora_Core_Install/description.htm", 1, "warning", "not UTF-8 text"),
        ("Fedora_Core_Install/image.conf", 2, "error", "not UTF-8 text"),
        ("Fedora_Core_Install/vm_conf.template", 1, "error", "not UTF-8 text")]
