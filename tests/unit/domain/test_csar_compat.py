"""CSARs shaped like Tacker's samples: what nfvo accepts, warns about and refuses, and with which message.

The packages are look-alikes built from the example CSAR: a TOSCA.meta without
ETSI-Entry-Manifest and ETSI-Entry-Change-Log, ``Created-by``, per-artifact ``Name:`` blocks
with ``Content-Type:``, manifests without ``metadata:`` that do not list the VNFD.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest

from nfvo.domain.csar import read_csar
from nfvo.domain.csar_zip import CsarArchive
from nfvo.errors import ValidationFailed
from tests import csar_builder as cb

META = "TOSCA-Metadata/TOSCA.meta"
VNFD = "Definitions/iperf_server.yaml"
IMAGE = "Files/images/iperf-server.img"
SCRIPT = "Scripts/install.sh"
SCRIPT_BYTES = b"#!/bin/sh\necho installed\n"
NO_CHANGE_LOG = "no ETSI-Entry-Change-Log: the package declares no change log"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def artifact_block(name: str, data: bytes | None, *, content_type: str = "test-data",
                   algorithm: str = "SHA-256", digest: str | None = None) -> str:
    lines = [f"Name: {name}", f"Content-Type: {content_type}"]
    if data is not None or digest is not None:
        lines += [f"Algorithm: {algorithm}", f"Hash: {digest or sha256(data)}"]
    return "\n".join(lines)


def tosca_meta(*blocks: str, head: str = "") -> bytes:
    first = ("TOSCA-Meta-File-Version: 1.0\nCreated-by: dummy_user\nCSAR-Version: 1.1\n"
             f"Entry-Definitions: {VNFD}\n{head}")
    return "\n\n".join([first.rstrip("\n"), *blocks]).encode()


def tacker_like(*, blocks: tuple[str, ...] | None = None, head: str = "") -> dict[str, bytes]:
    """The example package without a manifest, hashed the Tacker way: in TOSCA.meta blocks."""
    files = {k: v for k, v in cb.example_files().items() if k != cb.MANIFEST}
    files[SCRIPT] = SCRIPT_BYTES
    if blocks is None:
        blocks = (artifact_block(IMAGE, files[IMAGE], content_type="application/x-iso9066-image"),
                  artifact_block(SCRIPT, SCRIPT_BYTES, content_type="application/x-shellscript"))
    files[META] = tosca_meta(*blocks, head=head)
    return files


def tacker_manifest(files: dict[str, bytes], *, name: str = "manifest.mf", skip: tuple[str, ...] = ()) -> bytes:
    """A manifest as Tacker's samples write it: no metadata block, the VNFD not listed."""
    listed = [f for f in sorted(files) if not f.startswith(("Definitions/", "TOSCA-Metadata/")) and f != name
              and f not in skip]
    return "\n\n".join(f"Source: {f}\nAlgorithm: SHA-256\nHash: {sha256(files[f])}" for f in listed).encode()


def with_manifest_entry(key: str = "ETSI-Entry-Manifest", name: str = "manifest.mf", **options) -> dict[str, bytes]:
    files = tacker_like(head=f"{key}: {name}\nETSI-Entry-Change-Log: Files/ChangeLog.txt\n", **options)
    files[name] = tacker_manifest(files, name=name)
    return files


def with_image(size: str, data: bytes = b"i" * 16_300) -> dict[str, bytes]:
    """The example package (with its manifest) whose image has ``data`` and ``sw_image_data.size: size``."""
    files = cb.example_files()
    old = files[IMAGE]
    files[IMAGE] = data
    files[VNFD] = files[VNFD].replace(sha256(old).encode(), sha256(data).encode()).replace(
        b"size: 1 KiB", f"size: {size}".encode())
    return cb.with_manifest(files)


def _wrong_hash_in_meta() -> dict[str, bytes]:
    return tacker_like(blocks=(artifact_block(SCRIPT, None, digest="0" * 64),))


def _quoted() -> dict[str, bytes]:
    files = tacker_like()
    files[META] = files[META].replace(b"CSAR-Version: 1.1", b"CSAR-Version: '1.1'").replace(
        b"TOSCA-Meta-File-Version: 1.0", b'TOSCA-Meta-File-Version: "1.0"')
    return files


def _hash_without_algorithm() -> dict[str, bytes]:
    block = artifact_block(SCRIPT, SCRIPT_BYTES).replace("Algorithm: SHA-256\n", "")
    return tacker_like(blocks=(block,))


def _unlisted_script() -> dict[str, bytes]:
    files = with_manifest_entry()
    files[META] = tosca_meta(head="ETSI-Entry-Manifest: manifest.mf\nETSI-Entry-Change-Log: Files/ChangeLog.txt\n")
    files["manifest.mf"] = tacker_manifest(files, skip=(SCRIPT,))
    return files


def _manifest_beside_the_vnfd() -> dict[str, bytes]:
    files = tacker_like()
    files["Definitions/iperf_server.mf"] = tacker_manifest(files, name="Definitions/iperf_server.mf")
    return files


def _manifest_at_the_root() -> dict[str, bytes]:
    files = tacker_like()
    files["iperf_server.mf"] = tacker_manifest(files, name="iperf_server.mf")
    return files


def _entry_manifest_with_a_wrong_hash() -> dict[str, bytes]:
    files = with_manifest_entry("Entry-Manifest")
    files["Files/ChangeLog.txt"] += b"changed\n"
    return files


def _declared_manifest_absent() -> dict[str, bytes]:
    files = with_manifest_entry(name="missing.mf")
    del files["missing.mf"]
    return files


def _image_by_url() -> dict[str, bytes]:
    files = cb.example_files()
    del files[IMAGE]
    files[VNFD] = files[VNFD].replace(b"file: ../Files/images/iperf-server.img",
                                      b"file: https://images.example.com/iperf-server.img")
    return cb.with_manifest(files)


# (case, package, the finding's message (a part of it), its severity); each package has this one
# finding, besides the change log warning of the Tacker-like packages.
CASES: list[tuple[str, Callable[[], dict[str, bytes]], str, str]] = [
    ("5 no manifest at all", tacker_like,
     "no manifest: file hashes are not verified (TOSCA.meta declares no ETSI-Entry-Manifest and there is no "
     "iperf_server.mf or Definitions/iperf_server.mf; only TOSCA.meta's per-artifact hashes and sw_image_data "
     "checksums are)", "warning"),
    ("5 manifest named like the VNFD, at the root", _manifest_at_the_root,
     "TOSCA.meta declares no ETSI-Entry-Manifest: read iperf_server.mf, named like Definitions/iperf_server.yaml, "
     "as the manifest", "warning"),
    ("5 manifest named like the VNFD, beside it", _manifest_beside_the_vnfd,
     "read Definitions/iperf_server.mf, named like Definitions/iperf_server.yaml", "warning"),
    ("5 Entry-Manifest spelling", lambda: with_manifest_entry("Entry-Manifest"),
     "'Entry-Manifest' is read as 'ETSI-Entry-Manifest', the key SOL004 names", "warning"),
    ("5 declared manifest absent", _declared_manifest_absent, "'missing.mf' is not in the package", "error"),
    ("6 wrong TOSCA.meta hash", _wrong_hash_in_meta,
     f"{SCRIPT} has sha256 {sha256(SCRIPT_BYTES)}, TOSCA.meta says {'0' * 64}", "error"),
    ("6 block naming an absent file", lambda: tacker_like(blocks=(artifact_block("Scripts/gone.sh", b"x"),)),
     "'Scripts/gone.sh' is not in the package", "error"),
    ("6 block repeated word for word", lambda: tacker_like(blocks=(artifact_block(SCRIPT, SCRIPT_BYTES),) * 2),
     f"'{SCRIPT}' is listed twice (first at line 6); the same block, read once", "warning"),
    ("6 file in two blocks with different hashes",
     lambda: tacker_like(blocks=(artifact_block(SCRIPT, SCRIPT_BYTES), artifact_block(SCRIPT, b"other"))),
     f"'{SCRIPT}' is listed twice (first at line 6) with another hash", "error"),
    ("6 hash without algorithm", _hash_without_algorithm,
     f"the block of '{SCRIPT}' has Hash: but no Algorithm: line", "error"),
    ("13 unknown TOSCA.meta algorithm",
     lambda: tacker_like(blocks=(artifact_block(SCRIPT, SCRIPT_BYTES, algorithm="sha-255"),)),
     f"unsupported algorithm 'sha-255' of '{SCRIPT}'", "error"),
    ("7 manifest without metadata, not listing the VNFD (metadata)", with_manifest_entry,
     "the manifest has no 'metadata:' block", "warning"),
    ("7 manifest without metadata, not listing the VNFD (listing)", with_manifest_entry,
     "the manifest does not list the VNFD files Definitions/iperf_server.yaml, Definitions/iperf_types.yaml: "
     "their hashes are not verified", "warning"),
    ("7 manifest not listing another file", _unlisted_script,
     "not listed in the manifest manifest.mf: its hash is not verified", "warning"),
    ("8 quoted TOSCA.meta values", _quoted,
     "quoted values (TOSCA-Meta-File-Version, CSAR-Version) are read without their quotes", "warning"),
    ("15 size far smaller than the image", lambda: with_image("1 kB"),
     f"sw_image_data.size 1 kB is smaller than {IMAGE}, which has 16300 bytes", "error"),
    ("15 size larger than the image", lambda: with_image("1.75 GiB"),
     f"sw_image_data.size 1.75 GiB is larger than {IMAGE}, which has 16300 bytes", "warning"),
]


def findings(path, *, strict: bool = False) -> list:
    with CsarArchive.open(path, display_name=path.name) as archive:
        try:
            return list(read_csar(archive, strict=strict).warnings)
        except ValidationFailed as exc:
            return exc.errors


@pytest.mark.parametrize(("files", "message", "severity"), [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_tacker_shaped_packages(tmp_path, files, message, severity):
    found = findings(cb.build(tmp_path / "p.csar", files()))
    matching = [i for i in found if message in i.message]
    assert [i.severity for i in matching] == [severity], "\n".join(str(i) for i in found)


@pytest.mark.parametrize(("files", "allowed"), [
    (tacker_like, {NO_CHANGE_LOG, "no manifest"}),
    (_wrong_hash_in_meta, {NO_CHANGE_LOG, "no manifest", "TOSCA.meta says"}),
    (with_manifest_entry, {"no 'metadata:' block", "does not list the VNFD files"}),
    (_quoted, {NO_CHANGE_LOG, "no manifest", "quoted values"}),
    (lambda: with_image("1 kB"), {"is smaller than"}),
], ids=["no manifest", "wrong hash", "tacker manifest", "quoted", "small image"])
def test_one_root_cause_is_one_finding(tmp_path, files, allowed):
    found = findings(cb.build(tmp_path / "p.csar", files()))
    assert len(found) == len(allowed), "\n".join(str(i) for i in found)
    assert all(any(part in i.message for part in allowed) for i in found)


def test_the_wrong_tosca_meta_hash_names_its_line(tmp_path):
    files = _wrong_hash_in_meta()
    [issue] = [i for i in findings(cb.build(tmp_path / "p.csar", files)) if not i.is_warning]
    line = files[META].decode().splitlines().index(f"Hash: {'0' * 64}") + 1
    assert (issue.file, issue.line) == (META, line)


def test_a_tacker_like_package_onboards_with_warnings_and_verifies_what_it_declares(tmp_path):
    path = cb.build(tmp_path / "p.csar", tacker_like())
    with CsarArchive.open(path) as archive:
        package = read_csar(archive)
        assert {w.severity for w in package.warnings} == {"warning"} and len(package.warnings) == 2
        assert {e.source for e in package.manifest.entries} == {IMAGE, SCRIPT}
        assert not package.manifest.declared and package.change_log is None
        with package.open_verified(archive, SCRIPT) as stream:
            assert stream.read() == SCRIPT_BYTES
        with pytest.raises(KeyError):
            package.open_verified(archive, "Files/ChangeLog.txt")  # nothing declares its hash
    with CsarArchive.open(path) as archive, pytest.raises(ValidationFailed) as caught:
        read_csar(archive, strict=True)
    assert "strict validation" in caught.value.detail


def test_a_name_only_block_and_a_tacker_manifest_are_accepted(tmp_path):
    blocks = (artifact_block(IMAGE, None, content_type="application/x-iso9066-image"),
              artifact_block(SCRIPT, SCRIPT_BYTES))
    files = tacker_like(blocks=blocks, head="ETSI-Entry-Manifest: manifest.mf\n")
    files["manifest.mf"] = tacker_manifest(files)
    with CsarArchive.open(cb.build(tmp_path / "p.csar", files)) as archive:
        package = read_csar(archive)
    assert package.manifest.declared and package.hashes_verified
    assert package.tosca_meta.artifact(SCRIPT).hash == sha256(SCRIPT_BYTES)
    assert package.tosca_meta.artifact(IMAGE) is None
    assert len(package.warnings) == 3  # change log, manifest metadata, VNFD not listed


def test_quoted_values_are_read_unquoted(tmp_path):
    with CsarArchive.open(cb.build(tmp_path / "p.csar", _quoted())) as archive:
        package = read_csar(archive)
    assert package.tosca_meta.entries["CSAR-Version"] == "1.1"


@pytest.mark.parametrize("size", ["16 kB", "17 kB", "16.3 kB", "0.5 MB", "1 MB", "16300 B", "15.9 KiB", "1 GiB"])
def test_a_size_within_the_rounding_of_its_unit_is_fine(tmp_path, size):
    assert findings(cb.build(tmp_path / "p.csar", with_image(size))) == []


@pytest.mark.parametrize(("size", "severity"), [("15 kB", "error"), ("14 KiB", "error"), ("18 kB", "warning"),
                                                ("2 MB", "warning"), ("2 GiB", "warning")])
def test_a_size_a_whole_unit_off(tmp_path, size, severity):
    [issue] = findings(cb.build(tmp_path / "p.csar", with_image(size)))
    assert (issue.file, issue.pointer, issue.severity) == (
        VNFD, "/topology_template/node_templates/iperf_server/properties/sw_image_data/size", severity)
    assert issue.line == cb.example_files()[VNFD].decode().splitlines().index("          size: 1 KiB") + 1


def test_an_image_by_url_has_no_size_to_check(tmp_path):
    assert findings(cb.build(tmp_path / "p.csar", _image_by_url())) == []
