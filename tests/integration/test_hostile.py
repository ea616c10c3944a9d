"""Hostile and malformed uploads: each answers 4xx problem+json, writes nothing outside NFVO_HOME,
leaves no half-onboarded state, and the service keeps serving."""

from __future__ import annotations

import io
import json
import os
import tarfile
import uuid
from pathlib import Path

import pytest

from tests.integration.harness import assert_problem, embedded_nfvo, example_files, make_tar

pytestmark = pytest.mark.integration

MAX_PACKAGE = 4 * 2**20


@pytest.fixture(scope="module")
def nfvo(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    with embedded_nfvo(base, NFVO_MAX_PACKAGE_SIZE=str(MAX_PACKAGE), NFVO_MAX_ARCHIVE_MEMBERS="50") as node:
        good = make_tar(base / "good.tar", example_files("iperf-server"))
        assert node.api.upload(good).status_code == 200
        yield node


def _snapshot(nfvo) -> dict:
    """What must not change when an upload is refused: packages, VNFDs, images, and the files in NFVO_HOME."""
    api = nfvo.api
    vim = api.get("/api/v1/datacenters").json()[0]
    files = sorted(str(p.relative_to(nfvo.home)) for p in nfvo.home.rglob("*")
                   if p.is_file() and p.suffix not in (".log", ".sqlite-wal", ".sqlite-shm", ".sqlite"))
    return {"packages": api.get("/api/v1/vnf-packages").json(), "vnfds": api.get("/api/v1/vnf-descriptors").json(),
            "images": api.get(f"/api/v1/datacenters/{vim['id']}/images").json(), "files": files}


def _tar_with(path: Path, members: list[tarfile.TarInfo], base: dict | None = None) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, content in (base or {}).items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        for info in members:
            tar.addfile(info, io.BytesIO(b"x" * info.size) if info.isreg() else None)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, size: int = 1, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname = kind, (size if kind == tarfile.REGTYPE else 0), linkname
    return info


CANARY = f"/tmp/nfvo-canary-{uuid.uuid4().hex}"

ARCHIVE_ATTACKS = {
    "dot-dot": [_member("../../../escaped.txt")],
    "absolute": [_member(CANARY)],
    "symlink": [_member("scripts/evil.sh", tarfile.SYMTYPE, linkname="/etc/passwd")],
    "hardlink": [_member("scripts/evil.sh", tarfile.LNKTYPE, linkname="/etc/shadow")],
    "device": [_member("dev-null", tarfile.CHRTYPE)],
    "fifo": [_member("pipe", tarfile.FIFOTYPE)],
    "too-many-members": [_member(f"scripts/s{i}.sh") for i in range(60)],
}


@pytest.mark.parametrize("attack", sorted(ARCHIVE_ATTACKS))
def test_hostile_archive_members_are_refused_and_named(nfvo, tmp_path, attack):
    before = _snapshot(nfvo)
    base = {k: v for k, v in example_files("iperf-server").items() if not k.startswith("images/")}
    tar = _tar_with(tmp_path / f"{attack}.tar", ARCHIVE_ATTACKS[attack], base)
    body = assert_problem(nfvo.api.upload(tar), 422, "unsafe-archive")
    if attack != "too-many-members":
        assert ARCHIVE_ATTACKS[attack][0].name in json.dumps(body)
    assert _snapshot(nfvo) == before
    assert not os.path.exists(CANARY)
    assert not (nfvo.home.parent / "escaped.txt").exists() and not Path("/escaped.txt").exists()
    assert list((nfvo.home / "work").iterdir()) == [] and list((nfvo.home / "uploads").iterdir()) == []


MALFORMED = {
    "not-a-tar": os.urandom(4096),
    "truncated-tar": None,  # built in the test from a real tar
    "empty": b"",
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_archives_are_refused(nfvo, tmp_path, kind):
    before = _snapshot(nfvo)
    data = MALFORMED[kind]
    if data is None:
        full = make_tar(tmp_path / "full.tar", example_files("iperf-server")).read_bytes()
        data = full[: len(full) // 2 + 100]
    path = tmp_path / f"{kind}.tar"
    path.write_bytes(data)
    assert_problem(nfvo.api.upload(path), 422, "unsafe-archive")
    assert _snapshot(nfvo) == before


def _package(tmp_path, name: str, **replace) -> Path:
    files = dict(example_files("iperf-server"))
    files.update(replace)
    return make_tar(tmp_path / f"{name}.tar", files)


def test_yaml_alias_bomb_is_refused(nfvo, tmp_path):
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=False))
    body = assert_problem(nfvo.api.upload(_package(tmp_path, "bomb", **{"Metadata.yaml": "name: x\n" + bomb})), 422)
    assert any(e.get("file") == "Metadata.yaml" and "alias" in e["message"].lower() for e in body["errors"]), body


def test_yaml_syntax_error_names_file_and_line(nfvo, tmp_path):
    body = assert_problem(nfvo.api.upload(_package(tmp_path, "syntax", **{
        "Metadata.yaml": "name: x\nvim_types: [local\nprovider: y\n"})), 422)
    [error] = body["errors"]
    assert error["file"] == "Metadata.yaml" and error["line"] in (2, 3)


def test_deeply_nested_and_invalid_json_vnfd(nfvo, tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    body = assert_problem(nfvo.api.upload(_package(tmp_path, "deep", **{"vnfd.json": deep})), 422)
    assert any(e.get("file") == "vnfd.json" for e in body["errors"])
    body = assert_problem(nfvo.api.upload(_package(tmp_path, "badjson", **{"vnfd.json": '{\n"name": "x",\n}'})), 422)
    assert body["errors"][0]["file"] == "vnfd.json" and body["errors"][0]["line"] == 3


def test_non_utf8_metadata(nfvo, tmp_path):
    body = assert_problem(nfvo.api.upload(_package(tmp_path, "latin1", **{"Metadata.yaml": b"name: \xff\xfe\n"})), 422)
    assert body["errors"][0]["file"] == "Metadata.yaml"


def test_scripts_link_command_injection_is_refused(nfvo, tmp_path):
    canary = f"/tmp/nfvo-git-canary-{uuid.uuid4().hex}"
    files = example_files("iperf-server")
    metadata = (files["Metadata.yaml"].decode().replace("name: iperf-server", "name: ext-attack")
                + f"scripts-link: 'ext::sh -c touch% {canary}'\n")
    vnfd = {**json.loads(files["vnfd.json"]), "name": "ext-attack"}
    body = assert_problem(nfvo.api.upload(_package(tmp_path, "ext", **{"Metadata.yaml": metadata, "vnfd.json": vnfd})),
                          422, "fetch-refused")
    assert "ext::" in json.dumps(body)
    assert not os.path.exists(canary)


def test_oversized_upload_is_413_and_nothing_is_kept(nfvo, tmp_path):
    before = _snapshot(nfvo)
    big = _package(tmp_path, "big", **{"images/iperf.raw": os.urandom(MAX_PACKAGE + 2**20)})
    assert_problem(nfvo.api.upload(big), 413, "too-large")
    assert _snapshot(nfvo) == before
    assert list((nfvo.home / "uploads").iterdir()) == []


def test_hostile_multipart_filename_stays_inside(nfvo, tmp_path):
    tar = make_tar(tmp_path / "x.tar", example_files("iperf-client"))
    with open(tar, "rb") as f:
        answer = nfvo.api.request("POST", "/api/v1/vnf-packages",
                                  files={"file": ("../../../../tmp/evil-name.tar", f, "application/x-tar")})
    assert answer.status_code == 200, answer.text
    package = nfvo.api.get(f"/api/v1/vnf-packages/{answer.json()['vnfPackageLocation']}").json()
    assert package["filename"] == "evil-name.tar"
    assert not Path("/tmp/evil-name.tar").exists()


def test_service_still_serves_after_all_that(nfvo):
    assert nfvo.server.popen.poll() is None
    assert nfvo.api.http.get(f"{nfvo.url}/health").json()["status"] == "ok"
    names = {p["name"] for p in nfvo.api.get("/api/v1/vnf-packages").json()}
    assert "iperf-server" in names
