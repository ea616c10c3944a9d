"""Template variables: string.Template rules, each placeholder at its line and column, checks and substitution."""

import string

import pytest

from nfvo.domain.convirt.config import parse_config
from nfvo.domain.convirt.template import check_uses, scan, strings, substitute


def uses(text: str, name: str = "x"):
    config, issues = parse_config(text, "T/vm_conf.template")
    assert issues == []
    return [(u.name, u.written, u.line, u.column) for u in config.option(name).uses]


def test_scan_follows_string_template():
    found = scan("$A ${B} $$C $1 $ ${bad name} $_x9 $é ${C}D $")
    assert [(n, w) for n, w, _ in found] == [("A", "$A"), ("B", "${B}"), (None, "$"), (None, "$"), (None, "$"),
                                             ("_x9", "$_x9"), (None, "$"), ("C", "${C}"), (None, "$")]
    assert scan("no variables") == [] and scan("$$") == []


@pytest.mark.parametrize("text", ["$A-${B}", "$$A $A", "${A}x $Ax", "$1 $ $A", "a$A$A$$", "${A"])
def test_substitute_is_string_templates_safe_substitute(text):
    values = {"A": "1", "B": "$A"}
    assert substitute(text, values) == string.Template(text).safe_substitute(values)


def test_substitute_is_one_pass_and_walks_lists_and_dicts():
    value = ["$A", {"$A": ["${B}", 3]}, True]
    assert substitute(value, {"A": "$B", "B": "b"}) == ["$B", {"$B": ["b", 3]}, True]
    assert value == ["$A", {"$A": ["${B}", 3]}, True]  # a copy: the template's value is unchanged
    assert list(strings(value)) == ["$A", "$A", "${B}"]


def test_each_placeholder_at_its_line_and_column():
    assert uses("x = 'file:/vm_disks/$VM_NAME.disk.xm,hda,w'\n") == [("VM_NAME", "$VM_NAME", 1, 21)]
    assert uses("  \nx = ['a', \"${IMAGE_STORE}/$IMAGE_NAME\"]\n") == [
        ("IMAGE_STORE", "${IMAGE_STORE}", 2, 12), ("IMAGE_NAME", "$IMAGE_NAME", 2, 27)]
    assert uses("x = {'k$A': '$B'}\n") == [("A", "$A", 1, 8), ("B", "$B", 1, 14)]


def test_columns_count_characters_not_bytes():
    assert uses("x = 'ééé $VM_NAME'\n") == [("VM_NAME", "$VM_NAME", 1, 10)]
    assert uses("y = '日本'; x = '$VM_NAME'\n".replace("; ", "\n")) == [("VM_NAME", "$VM_NAME", 2, 6)]


def test_placeholders_in_multi_line_and_concatenated_strings():
    assert uses('x = """first\n  $A\n    ${B}"""\n') == [("A", "$A", 2, 3), ("B", "${B}", 3, 5)]
    assert uses("x = ('$A'\n     '-$B')\n") == [("A", "$A", 1, 7), ("B", "$B", 2, 8)]


def test_a_placeholder_the_source_does_not_spell_is_placed_at_its_literal():
    assert uses("x = '\\x24A'\n") == [("A", "$A", 1, 5)]
    assert uses("x = ('$' 'A')\n") == [("A", "$A", 1, 6)]


def test_computed_options_place_their_own_and_new_placeholders():
    text = "a = '$VM_NAME'\ncomputed_options = ['x', 'y']\nx = a + '/${IMAGE_NAME}'\ny = '$' + 'FOO'\n"
    assert uses(text, "a") == [("VM_NAME", "$VM_NAME", 1, 6)]
    assert uses(text, "x") == [("IMAGE_NAME", "${IMAGE_NAME}", 3, 11)]  # $VM_NAME is a's
    assert uses(text, "y") == [("FOO", "$FOO", 4, 5)]  # made by the expression: at its start


def test_check_uses():
    config, _ = parse_config("name = '$VM_NAME'\ndisk = ['$UNDEFINED', 'x $$ y $1', '${LIST}', '$NUM $FLAG']\n",
                             "T/vm_conf.template")
    found = check_uses(config, {"VM_NAME": "", "LIST": [1], "NUM": 2, "FLAG": True}, "it can use X")
    assert [(i.line, i.pointer, i.severity, i.message) for i in found] == [
        (2, "/disk", "error", "undefined variable $UNDEFINED (column 10): it can use X; write $$ for a literal $"),
        (2, "/disk", "warning", "'$' (column 31) is not followed by a variable name: left as written "
                                "(write $$ for a literal $)"),
        (2, "/disk", "error", "${LIST} (column 37) is a list: only a string, number or boolean can be put into a "
                              "string")]


@pytest.mark.parametrize("text", [
    "$1$9qAFryp3$XmvqcFN/CJG4AC7jgyVE8", "$5$saltsalt$Hash./09", "$6$rounds=5000$usesomesillystri$D4IrlXatmP7rx3P3",
    "$2b$12$" + "R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"[:53], "$2y$10$" + "a" * 53,
    "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7", "$md5,rounds=5000$GUBv0xjJ$$mSwgIswd",
    "$sha1$40000$jtNX3nZ2$hBNaIXkt4wBI2o5rsi8KejSjNqIq"])
def test_a_whole_crypt_hash_holds_no_variables_and_is_never_filled(text):
    assert scan(text) == [] and substitute(text, {"XmvqcFN": "x", "D4IrlXatmP7rx3P3": "x", "F5Jx5fExrKuPp53xLKQ": "x",
                                                  "GUBv0xjJ": "x", "jtNX3nZ2": "x", "a": "x", "Hash": "x"}) == text
    config, _ = parse_config(f"x = '{text}'\n", "T/image.conf")
    [warning] = check_uses(config, {}, "")
    assert warning.severity == "warning" and "crypt(3) hash" in warning.message and warning.pointer == "/x"


@pytest.mark.parametrize("text", ["$1$salt", "$1$ab$cd ef", "x $1$ab$cd", "$2b$12$short", "$VM_NAME$x$y", "$9$a$b"])
def test_what_is_not_a_whole_crypt_hash_is_a_template(text):
    assert scan(text) != []


def test_a_computed_option_made_of_a_hash_is_not_warned_about_twice():
    config, issues = parse_config("pw = '$6$abc$def'\ncomputed_options = ['copy']\ncopy = pw + ''\n", "T/image.conf")
    assert issues == []
    assert [(i.line, i.pointer) for i in check_uses(config, {}, "")] == [(1, "/pw")]
