"""docs/nfvis.md against the code: its example package, payloads, answer and problem, and the token table.

Fenced blocks: ```` ```xml file=image_properties.xml ```` and ```` ```text file=iosxe_config.txt ````
form the example; ```` ```json day0=NAME ```` is a payload or (``answer``) the answer to
``payload``; ```` ```json problem=NAME ```` the refusal of payload NAME (its type, title,
status, detail and errors).
"""

import json
import re
from pathlib import Path

import pytest

from nfvo.domain.nfvis.day0 import check_day0, render
from nfvo.domain.nfvis.properties import parse_properties
from nfvo.domain.nfvis.tokens import PLATFORM_TOKENS
from nfvo.errors import ValidationFailed

DOC = Path(__file__).resolve().parents[4] / "docs" / "nfvis.md"
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def blocks() -> list[tuple[dict[str, str], str]]:
    found = []
    for match in FENCE.finditer(DOC.read_text(encoding="utf-8")):
        markers = dict(w.split("=", 1) for w in match.group(1).split() if "=" in w)
        found.append((markers, match.group(2)))
    return found


def example():
    files = {m["file"]: text for m, text in blocks() if "file" in m}
    properties, issues = parse_properties(files["image_properties.xml"])
    return properties, issues, {"iosxe_config.txt": files["iosxe_config.txt"]}


def test_the_example_package_is_clean():
    properties, issues, files = example()
    assert issues == [] and check_day0(properties, files) == []


def test_the_example_payload_gives_the_answer_shown():
    properties, _, files = example()
    shown = {m["day0"]: json.loads(text) for m, text in blocks() if "day0" in m}
    assert render(properties, files, shown["payload"]) == shown["answer"]


@pytest.mark.parametrize("name", [m["problem"] for m, _ in blocks() if "problem" in m])
def test_the_broken_payloads_give_the_problems_shown(name):
    properties, _, files = example()
    [payload] = [json.loads(t) for m, t in blocks() if m.get("day0") == name]
    [shown] = [json.loads(t) for m, t in blocks() if m.get("problem") == name]
    with pytest.raises(ValidationFailed) as caught:
        render(properties, files, payload)
    problem = caught.value.to_problem()
    assert {key: problem[key] for key in shown} == shown


def test_the_token_table_lists_every_platform_token():
    text = DOC.read_text(encoding="utf-8")
    listed = re.findall(r"^\| `(NICID_<n>_[A-Z_]+)` \|", text, re.MULTILINE)
    assert listed == [name for name, _ in PLATFORM_TOKENS]
