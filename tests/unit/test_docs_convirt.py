"""docs/convirt.md against the code: its example template validates as shown and gives the VNFD
shown, its broken image.conf gives exactly the findings shown, and its day-0 payloads give the
answer and the problem shown.

Fenced blocks: ```` ```python file=NAME ```` (and ``sh``, ``html``) are the example's files,
under ``Web_Server/`` with a disk image ``hda.img``; ```` ```text validate=NAME ```` what
``nfvo package validate`` says of it; ```` ```python broken=image.conf ```` and ```` ```json
findings=image.conf ```` a broken file and its findings; ```` ```json vnfd=NAME ```` the
VNFD; ```` ```json day0=NAME ```` a payload or (``answer``) the answer to ``payload``;
```` ```json problem=NAME ```` the refusal of payload NAME as the API gives it.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from nfvo.domain.archive import ArchiveLimits
from nfvo.domain.convirt import read_files
from nfvo.domain.sources import load_json
from nfvo.errors import ValidationFailed
from nfvo.formats import registry
from nfvo.validate import validate_path
from tests.unit.domain.convirt import samples
from tests.unit.test_docs import blocks

DOC = "convirt.md"
TOP = "Web_Server"


def example_files() -> dict[str, bytes]:
    files = {f"{TOP}/{m['file']}": text.encode() for _, m, text in blocks(DOC) if "file" in m}
    return {**files, f"{TOP}/hda.img": b"\0" * 4096}


def shown(marker: str, value: str) -> str:
    [text] = [t for _, m, t in blocks(DOC) if m.get(marker) == value]
    return text


@pytest.fixture
def package(tmp_path):
    fmt = registry.get("convirt")
    path = samples.write_tar(tmp_path / f"{TOP}.tar", example_files(), gz=False)
    with fmt.open(path, limits=ArchiveLimits(), display_name=path.name, work=tmp_path, strict=True) as opened:
        yield opened


def test_the_example_validates_as_shown(tmp_path):
    path = samples.write_tar(tmp_path / f"{TOP}.tar", example_files(), gz=False)
    validated = validate_path(path, strict=True)
    assert validated.warnings == ()
    assert validated.summary == shown("validate", f"{TOP}.tar").splitlines()


def test_the_example_gives_the_vnfd_shown(package):
    vnfd = registry.get("convirt").vnfd(package, {"hda.img": [f"{TOP}-hda"]})
    assert vnfd == json.loads(shown("vnfd", TOP))


def test_the_broken_image_conf_gives_the_findings_shown():
    files = {**example_files(), f"{TOP}/image.conf": shown("broken", "image.conf").encode()}
    with pytest.raises(ValidationFailed) as refused:
        read_files(files, f"{TOP}.tar")
    assert [e.to_dict() for e in refused.value.errors] == json.loads(shown("findings", "image.conf"))


def test_the_payload_gives_the_answer_shown(package):
    rendered = registry.get("convirt").day0(package, json.loads(shown("day0", "payload")))
    assert {"profile": rendered.profile, "files": rendered.files} == json.loads(shown("day0", "answer"))


def test_the_refused_payload_gives_the_problem_shown(package):
    """As the day-0 API answers it: each problem placed at the line of the body its pointer names."""
    body = load_json(shown("day0", "refused"), "request body")
    with pytest.raises(ValidationFailed) as refused:
        registry.get("convirt").day0(package, body.data)
    placed = [dataclasses.replace(e, file=body.file, line=body.line_of(e.pointer)) for e in refused.value.errors]
    problem = ValidationFailed(refused.value.detail, errors=placed).to_problem()
    expected = json.loads(shown("problem", "refused"))
    assert {key: problem[key] for key in expected} == expected


def test_every_file_of_the_example_is_a_known_kind_and_the_crypt_hash_is_explicit():
    files = example_files()
    assert b"$$1$$9qAFryp3$$" in files[f"{TOP}/image.conf"]
    assert read_files(files).warnings == ()
