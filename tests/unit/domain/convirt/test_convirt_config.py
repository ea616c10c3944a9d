"""One python-syntax config file read from its syntax tree: literals, computed options, and every refusal at its line."""

import builtins

import pytest

from nfvo.domain.convirt.config import parse_config
from nfvo.domain.convirt.expressions import MAX_INT, MAX_VALUE_CHARS
from tests.unit.domain.convirt import samples

FILE = "Fedora/image.conf"


def read(text: str):
    config, issues = parse_config(text, FILE)
    return config, [(i.line, i.pointer, i.severity, i.message) for i in issues]


def accepted(text: str):
    config, found = read(text)
    assert found == []
    return config


def refused(text: str) -> list[tuple]:
    """(line, message) of each error."""
    _, found = read(text)
    errors = [(line, message) for line, _, severity, message in found if severity == "error"]
    assert errors, found
    return errors


def only_error(text: str) -> tuple[int, str]:
    errors = refused(text)
    assert len(errors) == 1, errors
    return errors[0]


# literals --------------------------------------------------------------------------------
def test_literals_keep_their_values_lines_and_order():
    config = accepted("# a comment\nname = 'vm'\n\nmemory = 256\nratio = -0.5\nflag = True\nneg = -3\n"
                      "disk = ['a', \"b\", '''c''']\nmeta = {'k': [1, 2], 3: {'x': False}}\n"
                      "joined = ('one '\n          'two')\n")
    assert [(o.name, o.value, o.line) for o in config.options] == [
        ("name", "vm", 2), ("memory", 256, 4), ("ratio", -0.5, 5), ("flag", True, 6), ("neg", -3, 7),
        ("disk", ["a", "b", "c"], 8), ("meta", {"k": [1, 2], 3: {"x": False}}, 9), ("joined", "one two", 10)]
    assert config.values()["memory"] == 256
    assert config.computed == () and config.customizable is None
    assert not any(o.computed for o in config.options)


def test_the_samples_read_cleanly():
    for text in (samples.FEDORA_IMAGE_CONF, samples.FEDORA_VM_CONF, samples.CD_IMAGE_CONF, samples.CD_VM_CONF):
        accepted(text)


def test_crlf_and_cr_line_ends_count_as_lines():
    config = accepted("a = 1\r\nb = 2\rc = 3\n")
    assert [(o.name, o.line) for o in config.options] == [("a", 1), ("b", 2), ("c", 3)]


# computed options ------------------------------------------------------------------------
def test_computed_options_are_evaluated_from_earlier_literals():
    config = accepted(samples.FEDORA_IMAGE_CONF)
    assert config.computed == ("hda_disk_size_mb", "label")
    assert config.option("hda_disk_size_mb").value == 8 * 1024 + 512
    assert config.option("label").value == "fc-xen-8"
    assert config.option("label").references == ("KERNEL_TYPE", "hda_disk_size")
    assert config.customizable == ("hda_disk_size", "firewall", "admin_user", "swap_size_mb")
    assert "computed_options" not in config.values() and "customizable_options" not in config.values()


@pytest.mark.parametrize("expression, value", [
    ("a + b", 7), ("a - b", -1), ("a * b", 12), ("b / 2", 2.0), ("b // 3", 1), ("b % 3", 1), ("-a", -3),
    ("+a", 3), ("s + '-' + s", "x-x"), ("s * 3", "xxx"), ("2 * s", "xx"), ("l + [3]", [1, 2, 3]), ("l * 2", [1, 2, 1, 2]),
    ("'%s/%d' % (s, a)", "x/3"), ("'%(s)s' % d", "v"), ("'%05.1f' % b", "004.0"), ("'%s' % l", "[1, 2]"),
    ("[a, s, [b]]", [3, "x", [4]]), ("{s: a, 'k': l}", {"x": 3, "k": [1, 2]}), ("a", 3), ("'lit'", "lit"),
    ("(a + b) * 2", 14), ("'100%%' % ()", "100%"),
])
def test_computed_expressions(expression, value):
    config = accepted(f"a = 3\nb = 4\ns = 'x'\nl = [1, 2]\nd = {{'s': 'v'}}\ncomputed_options = ['r']\nr = {expression}\n")
    assert config.option("r").value == value and config.option("r").computed


def test_a_computed_option_may_use_an_earlier_computed_one():
    config = accepted("computed_options = ['b', 'c']\na = 2\nb = a * 10\nc = b + 1\n")
    assert config.option("c").value == 21


@pytest.mark.parametrize("expression, message", [
    ("later", "undefined name 'later'"),
    ("undefined_thing", "undefined name 'undefined_thing'"),
    ("a / 0", "division by zero"), ("a // 0", "division by zero"), ("a % 0", "division by zero"),
    ("s - s", "cannot apply - to a string and a string"), ("s + a", "cannot apply + to a string and a number"),
    ("l + s", "cannot apply + to a list and a string"), ("t + 1", "cannot apply + to a boolean and a number"),
    ("-s", "unary - needs a number, not a string"),
    ("a ** 2", "the operator Pow is not allowed"), ("a << 2", "the operator LShift is not allowed"),
    ("not a", "the operator Not is not allowed"), ("~a", "the operator Invert is not allowed"),
    ("(a, s)", "a tuple is not allowed"),
    ("'%*d' % (3, a)", "a '*' width or precision is not allowed"),
    ("'%99999d' % a", "a format width or precision is at most 1024"),
    ("'%s %s' % s", "cannot format the string: TypeError"), ("'%(k)s' % d", "cannot format the string: KeyError"),
    ("'%c' % big", "cannot format the string"),
    ("s * 100000", f"the value is longer than {MAX_VALUE_CHARS} characters"),
    ("l * 100000", f"the value is longer than {MAX_VALUE_CHARS} characters"),
    ("big * big", f"an integer is at most {MAX_INT} in size"), ("big + big", f"an integer is at most {MAX_INT}"),
    ("1e308 * 10.0", "the result is not a finite number"),
    ("{l: 1}", "a dict key must be a string, number or boolean, not a list"),
    ("{**d}", "unpacking (**) is not allowed"), ("[*l]", "unpacking (*) is not allowed"),
])
def test_computed_expressions_refused(expression, message):
    line, text = only_error(f"a = 3\ns = 'x'\nl = [1, 2]\nd = {{'s': 1}}\nt = True\nbig = {MAX_INT}\n"
                            f"computed_options = ['r']\nr = {expression}\nlater = 1\n")
    assert line == 8 and message in text, text


def test_repetition_is_judged_before_it_is_made():
    line, message = only_error(f"s = 'x'\ncomputed_options = ['r']\nr = s * {MAX_INT}\n")
    assert line == 3 and "longer than" in message


def test_an_expression_not_listed_in_computed_options_is_refused():
    line, message = only_error("a = 1\nb = a + 1\n")
    assert line == 2 and "'b' is an expression, not a literal: list it in computed_options" in message


def test_a_listed_option_the_file_does_not_assign_is_a_warning():
    _, found = read("computed_options = ['gone', 'gone']\na = 1\n")
    assert [(line, pointer, severity) for line, pointer, severity, _ in found] == [
        (1, "/computed_options/0", "warning"), (1, "/computed_options/1", "warning")]


def test_the_option_lists_are_checked():
    errors = refused("a = 1\ncomputed_options = ['c']\nc = a + 1\ncustomizable_options = ['a', 'nope', 'c', "
                     "'VM_NAME', 'computed_options']\n")
    assert [m.split(" (column")[0] for _, m in errors] == [
        "'nope' is not an option of the file: customizable_options must name its options",
        "'c' is a computed option: it is recomputed, so it cannot be customizable",
        "'VM_NAME' is not an option: customizable_options names options of the file",
        "'computed_options' is not an option: customizable_options names options of the file"]
    assert refused("computed_options = 'a'\n")[0][1].startswith("computed_options must be a list of option names")
    assert refused("customizable_options = [x]\n")[0][1].startswith("customizable_options must be a list")
    assert "assigned twice" in refused("customizable_options = []\ncustomizable_options = []\n")[0][1]


def test_an_empty_customizable_list_means_nothing_is_customizable():
    config = accepted("a = 1\ncustomizable_options = []\n")
    assert config.customizable == () and config.customizable_names() == ()
    assert accepted("a = 1\ncomputed_options = ['b']\nb = a\n").customizable_names() == ("a",)


# refusals: each at its line, and nothing runs ---------------------------------------------
@pytest.mark.parametrize("statement, message", [
    ("x = __import__('os').system('true')", "a function call is not allowed"),
    ("x = open('/etc/passwd')", "a function call is not allowed"),
    ("x = os.environ", "attribute access (.name) is not allowed"),
    ("x = a[0]", "a subscript ([...]) is not allowed"),
    ("x = [i for i in range(3)]", "a comprehension is not allowed"),
    ("x = {i: i for i in 'ab'}", "a comprehension is not allowed"),
    ("x = (i for i in 'ab')", "a generator expression is not allowed"),
    ("x = lambda: 1", "a lambda is not allowed"),
    ("x = f'{a}'", "an f-string is not allowed"),
    ("x = 1 if a else 2", "a conditional expression"),
    ("x = a == 1", "a comparison is not allowed"),
    ("x = a or 1", "and/or is not allowed"),
    ("x = (y := 1)", "an assignment expression (:=) is not allowed"),
    ("x = {1, 2}", "a set is not allowed"),
    ("x = None", "None is not allowed"),
    ("x = b'bytes'", "a bytes literal is not allowed"),
    ("x = 1j", "a complex number is not allowed"),
    ("x = ...", "an ellipsis (...) is not allowed"),
    ("x = (1, 2)", "'x' is an expression, not a literal"),
    ("x = a", "'x' is an expression, not a literal"),
    ("x = 1e999", "not a finite number"),
    (f"x = {MAX_INT + 1}", "an integer is at most"),
    ("x = [1, [2, print]]", "'x' is an expression, not a literal"),
    ("x = 'a' + os.system('true')", "a function call is not allowed"),
    ("import os", "an import statement is not allowed"),
    ("from os import system", "an import statement is not allowed"),
    ("a += 1", "an augmented assignment (x += ...) is not allowed"),
    ("x: int = 1", "an annotated assignment is not allowed"),
    ("x, y = 1, 2", "assign one name at a time"),
    ("x = y = 1", "assign one name at a time"),
    ("os.environ = {}", "assigning to an attribute or subscript is not allowed"),
    ("d['k'] = 1", "assigning to an attribute or subscript is not allowed"),
    ("print('x')", "a function call is not allowed"),
    ("'a bare string'", "an expression on its own is not allowed"),
    ("if a:\n    x = 1", "an if statement is not allowed"),
    ("for i in []:\n    pass", "a for statement is not allowed"),
    ("def f():\n    pass", "a def statement is not allowed"),
    ("class C:\n    pass", "a class statement is not allowed"),
    ("with open('f') as f:\n    pass", "a with statement is not allowed"),
    ("try:\n    pass\nexcept Exception:\n    pass", "a try statement is not allowed"),
    ("del a", "a del statement is not allowed"),
    ("global a", "a global statement is not allowed"),
    ("pass", "a pass statement is not allowed"),
    ("VM_NAME = 'x'", "VM_NAME is predefined"),
    ("__builtins__ = {}", "names starting with '__' are reserved"),
    ("a = 2", "'a' is assigned twice (first at line 2)"),
])
def test_everything_but_literal_assignments_is_refused_at_its_line(statement, message):
    line, text = only_error(f"# line 1\na = 1\n{statement}\nz = 'after'\n")
    assert line == 3 and message in text, text


def test_a_refused_computed_expression_is_also_refused_when_listed():
    errors = refused("computed_options = ['x', 'y', 'z']\nx = __import__('os').getcwd()\ny = [n for n in 'ab']\n"
                     "z = (lambda: 1)\n")
    assert [(line, message.split(":")[0]) for line, message in errors] == [
        (2, "a function call is not allowed"), (3, "a comprehension is not allowed"), (4, "a lambda is not allowed")]


def test_every_problem_of_a_file_is_reported():
    errors = refused("import os\nx = os.getcwd()\ny = 1\ny += 1\nz = [1, None]\n")
    assert [line for line, _ in errors] == [1, 2, 4, 5]


PAYLOADS = [
    "x = __import__('os').system('touch {marker}')",
    "x = open('{marker}', 'w').write('pwned')",
    "x = [open('{marker}', 'w') for _ in [1]]",
    "x = (lambda: open('{marker}', 'w'))()",
    "x = f\"{{open('{marker}', 'w')}}\"",
    "x = __import__('builtins').__dict__.setdefault('convirt_pwned', 1)",
    "import builtins; builtins.convirt_pwned = 1",
    "__import__('builtins').convirt_pwned = 1",
    "setattr(__import__('builtins'), 'convirt_pwned', 1)",
    "x = globals().setdefault('convirt_pwned', 1)",
    "exec(\"open('{marker}', 'w')\")",
    "x = eval(\"__import__('builtins').__setattr__('convirt_pwned', 1)\")",
]


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("computed", [False, True])
def test_nothing_in_a_file_is_ever_run(tmp_path, payload, computed):
    marker = tmp_path / "pwned"
    head = "computed_options = ['x']\n" if computed else ""
    errors = refused(head + "a = 1\n" + payload.format(marker=marker) + "\n")
    assert errors and all(line == (3 if computed else 2) for line, _ in errors)
    assert not marker.exists()
    assert not hasattr(builtins, "convirt_pwned")
    assert "convirt_pwned" not in globals()
