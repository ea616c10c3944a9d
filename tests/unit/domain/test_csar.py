"""Tests of the SOL004 CSAR reader: zip safety, TOSCA.meta, the manifest, hashes and signatures."""

from __future__ import annotations

import hashlib
import zipfile
import zlib

import pytest

from nfvo.domain.archive import ArchiveLimits
from nfvo.domain.csar import build_csar, read_csar
from nfvo.domain.csar_zip import CsarArchive, is_zip
from nfvo.errors import UnsafeArchive, ValidationFailed
from tests import bombs
from tests import csar_builder as cb

IMAGE = "Files/images/iperf-server.img"
VNFD = "Definitions/iperf_server.yaml"


def read(path, **options):
    with CsarArchive.open(path, **{k: v for k, v in options.items() if k == "work_dir"},
                          limits=options.get("limits", ArchiveLimits()), display_name=path.name) as archive:
        return read_csar(archive, **{k: v for k, v in options.items() if k in ("verify_hashes", "certificates")})


def problems(path, **options) -> list:
    with pytest.raises(ValidationFailed) as caught:
        read(path, **options)
    return caught.value.errors


def messages(path, **options) -> str:
    return "\n".join(str(issue) for issue in problems(path, **options))


def unsafe(path, **options) -> list:
    with pytest.raises(UnsafeArchive) as caught:
        read(path, **options)
    return caught.value.errors


# valid packages ---------------------------------------------------------------------------
def test_the_example_is_a_valid_tosca_metadata_csar(tmp_path):
    package = read(cb.build(tmp_path / "iperf.csar"))
    assert package.layout == "tosca-metadata"
    assert (package.descriptor_id, package.provider, package.product_name, package.software_version,
            package.descriptor_version, package.flavour_id) == (
        "5b2f3c3e-5d43-4b4e-9a8e-4f1c2d7e9a10", "FOKUS", "iperf-server", "3.9", "1.0", "default")
    assert package.vnfd.vnfm_info == ("nfvo",)
    assert package.hashes_verified and package.security.option is None
    assert package.change_log == "Files/ChangeLog.txt"
    assert {e.source for e in package.manifest.entries} == {VNFD, "Definitions/iperf_types.yaml",
                                                            "Files/ChangeLog.txt", IMAGE}
    [vdu] = package.vnfd.vdus
    assert (vdu.node, vdu.kind, vdu.name) == ("iperf_server", "compute", "iperf-server")
    image = vdu.image
    assert (image.name, image.version, image.disk_format, image.container_format) == (
        "iperf_server_image", "1.0", "raw", "bare")
    assert (image.min_disk, image.min_ram, image.size) == (2**30, 512 * 2**20, 1024)
    [request] = package.images
    assert (request.key, request.upload, request.names, request.file, request.link) == (
        "iperf_server", "check", ("iperf_server_image",), IMAGE, None)
    assert (request.config.min_disk, request.config.min_ram, request.config.disk_format) == (1, 512, "raw")
    assert request.pointer == "/topology_template/node_templates/iperf_server/properties/sw_image_data"
    assert (request.source_file, request.stated) == (VNFD, False)  # messages speak of the VNFD, not of upload


SINGLE_VNFD = """\
tosca_definitions_version: tosca_simple_yaml_1_2
metadata:
  template_name: tiny
  template_author: nfvo tests
  template_version: '1.0'
imports:
  - https://forge.etsi.org/rep/nfv/SOL001/raw/v2.6.1/etsi_nfv_sol001_common_types.yaml
  - https://forge.etsi.org/rep/nfv/SOL001/raw/v2.6.1/etsi_nfv_sol001_vnfd_types.yaml
topology_template:
  node_templates:
    VNF:
      type: tosca.nodes.nfv.VNF
      properties:
        descriptor_id: tiny-1
        descriptor_version: '2.0'
        provider: ACME
        product_name: tiny
        software_version: '1.2'
        flavour_id: small
    disk:
      type: tosca.nodes.nfv.Vdu.VirtualBlockStorage
      properties:
        virtual_block_storage_data:
          size_of_storage: 2 GB
        sw_image_data:
          name: tiny-disk
          version: '1'
          checksum: {algorithm: SHA512, hash: HASH}
          container_format: bare
          disk_format: qcow2
          min_disk: 2 GB
          size: 10 MB
      artifacts:
        image:
          type: tosca.artifacts.nfv.SwImage
          file: https://images.example.com/tiny.qcow2
"""


def single_yaml_files() -> dict[str, bytes]:
    return {"tiny.yaml": SINGLE_VNFD.replace("HASH", "ab" * 64).encode()}


def test_a_single_root_yaml_with_its_manifest_is_valid(tmp_path):
    files = cb.with_manifest(single_yaml_files(), "tiny.mf", metadata={
        "vnf_provider_id": "ACME", "vnf_product_name": "tiny", "vnf_release_date_time": "2024-01-02T03:04:05Z",
        "vnf_package_version": "1"})
    package = read(cb.write_zip(tmp_path / "tiny.zip", files))
    assert package.layout == "root-yaml" and package.entry_definitions == "tiny.yaml"
    assert package.tosca_meta is None and package.flavour_id == "small"
    [request] = package.images
    assert (request.key, request.link, request.file, request.config.min_disk) == (
        "disk", "https://images.example.com/tiny.qcow2", None, 2)  # 2 GB is 1.86 GiB: rounded up


def test_root_yaml_layout_needs_template_metadata_and_a_missing_manifest_is_one_warning(tmp_path):
    text = SINGLE_VNFD.replace("HASH", "ab" * 64).replace("  template_author: nfvo tests\n", "")
    found = problems(cb.write_zip(tmp_path / "tiny.zip", {"tiny.yaml": text.encode()}))
    assert [(str(i), i.severity) for i in found] == [
        ("tiny.yaml:1: warning: no manifest: file hashes are not verified (there is no tiny.mf; only "
         "sw_image_data checksums are)", "warning"),
        ("tiny.yaml:2 /metadata: metadata 'template_author' is required in a package without "
         "TOSCA-Metadata/TOSCA.meta", "error")]


def test_root_yaml_layout_refuses_a_manifest_named_otherwise(tmp_path):
    files = cb.with_manifest(single_yaml_files(), "other.mf", metadata={
        "vnf_provider_id": "ACME", "vnf_product_name": "tiny", "vnf_release_date_time": "2024-01-02T03:04:05Z",
        "vnf_package_version": "1"})
    [issue] = problems(cb.write_zip(tmp_path / "tiny.zip", files))
    assert (issue.file, issue.message, issue.severity) == (
        "other.mf", "the manifest must be named like tiny.yaml (tiny.mf), not other.mf", "error")


def test_upper_case_hex_and_dashless_algorithms_are_accepted(tmp_path):
    for algorithm in ("SHA256", "sha-384", "sha512", "SHA-224"):
        files = cb.with_manifest(cb.example_files(), algorithm=algorithm, upper=True)
        assert read(cb.build(tmp_path / f"{algorithm}.csar", files)).hashes_verified


# hashes -----------------------------------------------------------------------------------
def test_a_wrong_hash_names_the_manifest_line(tmp_path):
    files = cb.example_files()
    files["Files/ChangeLog.txt"] += b"changed after signing off\n"
    [issue] = problems(cb.build(tmp_path / "p.csar", files))
    text = files[cb.MANIFEST].decode()
    line = text.splitlines().index("Source: Files/ChangeLog.txt") + 3
    assert (issue.file, issue.line) == (cb.MANIFEST, line)
    actual = hashlib.sha256(files["Files/ChangeLog.txt"]).hexdigest()
    assert issue.message.startswith(f"Files/ChangeLog.txt has sha256 {actual}, the manifest says ")


def test_a_missing_hash_line(tmp_path):
    files = cb.example_files()
    text = files[cb.MANIFEST].decode()
    start = text.index("Source: Files/ChangeLog.txt")
    end = text.index("Hash:", start)
    files[cb.MANIFEST] = (text[:end] + text[text.index("\n", end) + 1:]).encode()
    found = messages(cb.build(tmp_path / "p.csar", files))
    assert "the entry of 'Files/ChangeLog.txt' has no Hash: line" in found
    assert "Files/ChangeLog.txt: warning: not listed in the manifest iperf-server.mf: its hash is not verified" in found


def test_an_image_whose_bytes_differ_from_sw_image_data_and_manifest(tmp_path):
    files = cb.example_files()
    files[IMAGE] = b"x" * 1024
    found = problems(cb.build(tmp_path / "p.csar", files))
    assert {(i.file, i.pointer) for i in found} == {
        (cb.MANIFEST, None),
        (VNFD, "/topology_template/node_templates/iperf_server/properties/sw_image_data/checksum/hash")}
    # with the manifest recomputed, sw_image_data still catches it
    found = problems(cb.build(tmp_path / "q.csar", cb.with_manifest(files)))
    [issue] = found
    assert issue.file == VNFD and "sw_image_data says" in issue.message and issue.line


def test_unlisted_and_missing_files(tmp_path):
    files = cb.example_files()
    files["Files/extra.txt"] = b"not in the manifest"
    del files["Files/ChangeLog.txt"]
    found = messages(cb.build(tmp_path / "p.csar", files))
    assert "Files/extra.txt: warning: not listed in the manifest iperf-server.mf: its hash is not verified" in found
    assert "'Files/ChangeLog.txt' is listed but not in the package" in found
    assert "TOSCA-Metadata/TOSCA.meta:6 /ETSI-Entry-Change-Log: 'Files/ChangeLog.txt' is not in the package" in found


def test_a_file_a_signed_manifest_does_not_list_is_an_error(tmp_path):
    cert, key = cb.self_signed("ACME")
    files = cb.sign_manifest(cb.example_files(), cert, key)
    files["Files/extra.txt"] = b"outside the signature"
    [issue] = problems(cb.build(tmp_path / "p.csar", files))
    assert (issue.file, issue.severity) == ("Files/extra.txt", "error")
    assert issue.message == "not listed in the manifest iperf-server.mf, so the manifest's signature does not cover it"


def test_open_verified_streams_and_refuses_the_last_bytes_of_a_wrong_member(tmp_path):
    files = cb.example_files()
    files[IMAGE] = b"y" * 1024
    path = cb.build(tmp_path / "p.csar", files)
    with CsarArchive.open(path) as archive:
        package = read_csar(archive, verify_hashes=False)
        assert not package.hashes_verified
        with package.open_verified(archive, VNFD) as stream:
            assert stream.read() == files[VNFD]
        with package.open_verified(archive, IMAGE) as stream:
            assert stream.read(1000) == b"y" * 1000
            with pytest.raises(ValidationFailed) as caught:
                stream.read(1000)
        assert caught.value.errors[0].file == cb.MANIFEST
        with pytest.raises(KeyError):
            package.open_verified(archive, "TOSCA-Metadata/TOSCA.meta")


def test_manifest_metadata_must_match_the_vnfd(tmp_path):
    files = cb.with_manifest(cb.example_files(), metadata={**cb.METADATA, "vnf_provider_id": "Other",
                                                           "vnf_release_date_time": "yesterday"})
    found = messages(cb.build(tmp_path / "p.csar", files))
    assert "iperf-server.mf:2 /metadata/vnf_provider_id: vnf_provider_id 'Other' differs from the VNFD's " \
           "provider 'FOKUS'" in found
    assert "'yesterday' is not an RFC 3339 date-time" in found


def test_bad_manifest_lines_are_all_reported(tmp_path):
    files = cb.example_files()
    files[cb.MANIFEST] = files[cb.MANIFEST].replace(b"vnf_package_version", b"vnf_package_versoin").replace(
        b"Algorithm: SHA-256\nHash: 68", b"Algorithm: MD5\nHash: 68", 1) + b"\nSource: ../etc/passwd\n" \
        b"Algorithm: SHA-256\nHash: 1234\n"
    found = messages(cb.build(tmp_path / "p.csar", files))
    assert "unknown metadata 'vnf_package_versoin' (did you mean 'vnf_package_version'?)" in found
    assert "metadata 'vnf_package_version' is required" in found
    assert "unsupported algorithm 'MD5'" in found
    assert "Source '../etc/passwd': '..' in path" in found


# TOSCA.meta -------------------------------------------------------------------------------
def test_bad_tosca_meta_keys(tmp_path):
    files = cb.example_files()
    files["TOSCA-Metadata/TOSCA.meta"] = (
        b"TOSCA-Meta-File-Version: 1.0\nCSAR-Version: 3.0\nCreated-By: me\nEntry-Definition: Definitions/x.yaml\n"
        b"ETSI-Entry-Manifest: iperf-server.mf\nETSI-Entry-Change-Log: Files/ChangeLog.txt\n"
        b"ETSI-Entry-Licenses: Files/Licenses\nCreated-By: again\nthis line has no colon\n")
    found = messages(cb.build(tmp_path / "p.csar", files))
    assert "TOSCA.meta:2 /CSAR-Version: CSAR-Version must be 1.0 or 1.1 or 2.0, not '3.0'" in found
    assert "TOSCA.meta:4 /Entry-Definition: unknown key 'Entry-Definition' (did you mean 'Entry-Definitions'?)" \
           in found
    assert "TOSCA.meta:1 /Entry-Definitions: 'Entry-Definitions' is required" in found
    assert "/ETSI-Entry-Licenses: 'Files/Licenses' is not in the package" in found
    assert "TOSCA.meta:8 /Created-By: duplicate key 'Created-By'" in found
    assert "TOSCA.meta:9: not a 'Key: value' line" in found


def test_tosca_meta_keys_in_another_case_and_licence_folders_are_accepted(tmp_path):
    files = cb.example_files()
    files["TOSCA-Metadata/TOSCA.meta"] = files["TOSCA-Metadata/TOSCA.meta"].replace(
        b"Created-By", b"Created-by") + b"ETSI-Entry-Licenses: Files/Licenses\n"
    files["Files/Licenses/LICENSE.txt"] = b"Apache-2.0\n"
    assert read(cb.build(tmp_path / "p.csar", cb.with_manifest(files))).licenses == "Files/Licenses"


def test_tosca_meta_without_the_manifest_entry_is_one_warning(tmp_path):
    files = cb.example_files()
    files["TOSCA-Metadata/TOSCA.meta"] = files["TOSCA-Metadata/TOSCA.meta"].replace(
        b"ETSI-Entry-Manifest: iperf-server.mf\n", b"")
    package = read(cb.build(tmp_path / "p.csar", files))
    [warning] = package.warnings
    assert (warning.file, warning.severity) == ("TOSCA-Metadata/TOSCA.meta", "warning")
    assert warning.message == (
        "no manifest: file hashes are not verified (TOSCA.meta declares no ETSI-Entry-Manifest and there is no "
        "iperf_server.mf or Definitions/iperf_server.mf; only TOSCA.meta's per-artifact hashes and sw_image_data "
        "checksums are); iperf-server.mf is not declared, so not read")
    assert not package.manifest.declared and package.manifest.entries == ()
    with CsarArchive.open(cb.build(tmp_path / "q.csar", files)) as archive:
        with package.open_verified(archive, IMAGE) as stream:  # by its sw_image_data checksum
            assert stream.read() == files[IMAGE]


def test_every_problem_is_reported_at_once(tmp_path):
    files = cb.example_files()
    files["Files/extra.txt"] = b"x"
    files["TOSCA-Metadata/TOSCA.meta"] += b"CSAR-Version: 1.1\n"
    files[VNFD] = files[VNFD].replace(b"min_ram: 512 MiB", b"min_ram: 512 MeB")
    found = messages(cb.build(tmp_path / "p.csar", files))
    assert "not listed in the manifest" in found and "duplicate key 'CSAR-Version'" in found
    assert "unknown scalar-unit.size unit 'MeB'" in found
    assert "Definitions/iperf_server.yaml has sha256" in found


# VNFD problems through the package --------------------------------------------------------
def test_missing_vnf_properties_bad_scalars_and_unknown_imports(tmp_path):
    files = cb.example_files()
    files["Definitions/iperf_types.yaml"] = files["Definitions/iperf_types.yaml"].replace(
        b"        default: FOKUS\n", b"")
    files[VNFD] = (files[VNFD].replace(b"virtual_cpu_clock: 2 GHz", b"virtual_cpu_clock: fast")
                   .replace(b"  - iperf_types.yaml\n", b"  - iperf_types.yaml\n  - https://example.com/x.yaml\n"))
    found = messages(cb.build(tmp_path / "p.csar", cb.with_manifest(files)))
    assert ("Definitions/iperf_server.yaml:15 /topology_template/node_templates/VNF/properties: property "
            "'provider' of nfvo.examples.IperfServer is required") in found
    assert "/capabilities/virtual_compute/properties/virtual_cpu/virtual_cpu_clock: 'fast' is not a " \
           "scalar-unit.frequency" in found
    assert "/imports/3: unknown import 'https://example.com/x.yaml': nfvo never fetches" in found


# zip safety -------------------------------------------------------------------------------
def test_no_ratio_is_judged_a_compressible_artifact_is_bounded_by_its_limit(tmp_path):
    files = cb.with_manifest({**cb.example_files(), "Files/zeros.bin": bytes(4 << 20)})  # ~1000:1
    assert read(cb.build(tmp_path / "p.csar", files)).hashes_verified
    [issue] = unsafe(cb.build(tmp_path / "q.csar", files), limits=ArchiveLimits(max_artifact_size=4 << 20 - 1))
    assert (issue.file, issue.message) == (
        "Files/zeros.bin", f"is larger than {4 << 20 - 1} bytes, the limit for any other file (artifact) "
                           "(NFVO_MAX_ARTIFACT_SIZE)")


def test_a_200_mib_raw_image_of_zeros_is_accepted_within_the_image_limit(tmp_path):
    size = 200 * 2**20
    path = bombs.zero_image_csar(tmp_path / "zeros.csar", size)
    assert path.stat().st_size * 500 < size  # the ratio the old 100:1 rule refused
    limits = ArchiveLimits(max_image_size=size, max_artifact_size=2**20)
    package = read(path, limits=limits)
    assert package.hashes_verified and package.images[0].file == IMAGE
    with CsarArchive.open(path, limits) as archive:
        assert archive.kind_of(IMAGE) == "image"  # the larger limit until the VNFD is read
        read_csar(archive, verify_hashes=False)
        assert archive.members[IMAGE].kind == "image" and archive.kind_of("Files/ChangeLog.txt") == "artifact"


def test_an_image_over_the_image_limit_is_refused(tmp_path):
    size = 200 * 2**20
    path = bombs.zero_image_csar(tmp_path / "zeros.csar", size)
    [issue] = unsafe(path, limits=ArchiveLimits(max_image_size=size - 1, max_artifact_size=2**20))
    assert (issue.file, issue.message) == (
        IMAGE, f"is larger than {size - 1} bytes, the limit for an image (NFVO_MAX_IMAGE_SIZE)")


def test_the_image_limit_applies_once_the_vnfd_names_the_image(tmp_path):
    # Before the VNFD is read the image file could be an artifact: the larger (artifact) limit holds;
    # once the VNFD names it as the software image, the image limit refuses it.
    [issue] = unsafe(cb.build(tmp_path / "p.csar"), limits=ArchiveLimits(max_image_size=1000))
    assert (issue.file, issue.message) == (
        IMAGE, "is larger than 1000 bytes, the limit for an image (NFVO_MAX_IMAGE_SIZE)")
    [issue] = unsafe(cb.build(tmp_path / "q.csar"), limits=ArchiveLimits(max_artifact_size=10))
    assert issue.file == "Files/ChangeLog.txt" and "NFVO_MAX_ARTIFACT_SIZE" in issue.message


def test_descriptors_are_bounded_by_the_descriptor_limit(tmp_path):
    found = unsafe(cb.build(tmp_path / "p.csar"), limits=ArchiveLimits(max_text_size=100))
    assert {i.file for i in found} >= {"TOSCA-Metadata/TOSCA.meta", VNFD, cb.MANIFEST}
    assert all("(NFVO_MAX_DESCRIPTOR_SIZE)" in i.message for i in found)


def _patch_directory(path, member: str, *, file_size: int | None = None, crc: int | None = None):
    """Rewrite the zip's central directory entry of ``member``: a directory that lies."""
    data = bytearray(path.read_bytes())
    at = data.index(b"PK\x01\x02")  # the first central directory header
    while True:
        name_length = int.from_bytes(data[at + 28:at + 30], "little")
        extra = int.from_bytes(data[at + 30:at + 32], "little") + int.from_bytes(data[at + 32:at + 34], "little")
        if data[at + 46:at + 46 + name_length].decode() == member:
            break
        at += 46 + name_length + extra
    if crc is not None:
        data[at + 16:at + 20] = crc.to_bytes(4, "little")
    if file_size is not None:
        data[at + 24:at + 28] = file_size.to_bytes(4, "little")
    path.write_bytes(bytes(data))
    return path


def test_a_zip_directory_that_understates_a_member_never_yields_more_than_it_says(tmp_path):
    # 64 MiB of zeros whose directory entry says 1000 bytes (and the CRC of 1000 zeros):
    # zipfile and nfvo's bound stop there; the rest is never decompressed nor handed over.
    files = {**cb.example_files(), "Files/zeros.bin": bytes(64 << 20)}
    path = _patch_directory(cb.build(tmp_path / "p.csar", files), "Files/zeros.bin", file_size=1000,
                            crc=zlib.crc32(bytes(1000)))
    with CsarArchive.open(path, ArchiveLimits(max_artifact_size=2000)) as archive:
        assert archive.size_of("Files/zeros.bin") == 1000
        with archive.open_member("Files/zeros.bin") as stream:
            assert len(stream.read()) == 1000
    # with the CRC of all 64 MiB the lie is found at byte 1000: the member is corrupt
    path = _patch_directory(cb.build(tmp_path / "q.csar", files), "Files/zeros.bin", file_size=1000)
    with CsarArchive.open(path) as archive, archive.open_member("Files/zeros.bin") as stream:
        with pytest.raises(zipfile.BadZipFile, match="Bad CRC-32"):
            stream.read()


def test_a_zip_directory_that_overstates_a_member_is_refused(tmp_path):
    path = _patch_directory(cb.build(tmp_path / "p.csar"), "Files/ChangeLog.txt", file_size=2**31)
    [issue] = unsafe(path, limits=ArchiveLimits(max_artifact_size=2**30))
    assert issue.file == "Files/ChangeLog.txt" and "NFVO_MAX_ARTIFACT_SIZE" in issue.message
    stored = _patch_directory(cb.build(tmp_path / "q.csar", method=zipfile.ZIP_STORED), "Files/ChangeLog.txt",
                              file_size=2**20)
    [issue] = unsafe(stored)
    assert issue.file == "Files/ChangeLog.txt" and "stored entry of" in issue.message


def test_dot_dot_absolute_and_symlink_entries(tmp_path):
    files = {**cb.example_files(), "../evil.txt": b"x", "/etc/evil": b"x"}
    found = unsafe(cb.build(tmp_path / "p.csar", files, symlinks={"Files/link": "/etc/passwd"}))
    assert {(i.file, i.message) for i in found} == {("../evil.txt", "'..' in path"),
                                                    ("/etc/evil", "absolute path"),
                                                    ("Files/link", "symbolic link")}


def test_duplicate_entries(tmp_path):
    path = cb.build(tmp_path / "p.csar")
    with zipfile.ZipFile(path, "a") as zf, pytest.warns(UserWarning):
        zf.writestr(VNFD, b"again")
    [issue] = unsafe(path)
    assert (issue.file, issue.message) == (VNFD, "duplicate entry")


def test_too_many_members_and_too_large(tmp_path):
    path = cb.build(tmp_path / "p.csar")
    [issue] = unsafe(path, limits=ArchiveLimits(max_members=3))
    assert issue.message == "more than 3 members"
    [issue] = unsafe(path, limits=ArchiveLimits(max_total_size=1000))
    assert "total size exceeds 1000 bytes" in issue.message


def test_not_a_zip(tmp_path):
    path = tmp_path / "p.csar"
    path.write_bytes(b"PK\x03\x04 but nothing else")
    assert is_zip(path)
    [issue] = unsafe(path)
    assert "not a readable zip archive" in issue.message


def test_build_csar_zips_a_directory_that_reads_back(tmp_path):
    out = build_csar(cb.EXAMPLE, tmp_path / "example.csar")
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == sorted(cb.example_files())
    assert read(out).product_name == "iperf-server"


# signatures -------------------------------------------------------------------------------
def test_a_good_manifest_signature_is_security_option_1(tmp_path):
    cert, key = cb.self_signed("ACME signer")
    package = read(cb.build(tmp_path / "p.csar", cb.sign_manifest(cb.example_files(), cert, key)))
    assert package.security.option == 1
    assert package.security.manifest_signature.signer == "CN=ACME signer"


def test_a_signature_without_its_certificate_uses_the_entry_certificate(tmp_path):
    cert, key = cb.self_signed()
    files = cb.example_files()
    text = files[cb.MANIFEST]
    files[cb.MANIFEST] = text + cb.cms_signature(text, cert, key, include_certificate=False).encode()
    files["TOSCA-Metadata/TOSCA.meta"] += b"ETSI-Entry-Certificate: Files/vendor.cert\n"
    path = cb.build(tmp_path / "p.csar", files)
    assert "the signer's certificate is neither in the signature" in messages(path)
    files["Files/vendor.cert"] = cb.pem(cert)
    assert read(cb.build(tmp_path / "q.csar", files)).security.option == 1


def test_a_bad_manifest_signature_is_an_error(tmp_path):
    cert, key = cb.self_signed()
    files = cb.sign_manifest(cb.example_files(), cert, key)
    files[cb.MANIFEST] = files[cb.MANIFEST].replace(b"vnf_package_version: 1.0", b"vnf_package_version: 1.1")
    [issue] = problems(cb.build(tmp_path / "p.csar", files))
    assert issue.file == cb.MANIFEST and issue.line == files[cb.MANIFEST].decode().splitlines().index(
        "-----BEGIN CMS-----") + 1
    assert issue.message.startswith("the manifest signature does not verify: the signed content digest differs")
    other_cert, _ = cb.self_signed("someone else")
    files = cb.example_files()
    text = files[cb.MANIFEST]
    files[cb.MANIFEST] = text + cb.cms_signature(text, cert, key, include_certificate=False).encode()
    files["TOSCA-Metadata/TOSCA.meta"] += b"ETSI-Entry-Certificate: vendor.cert\n"
    files["vendor.cert"] = cb.pem(other_cert)
    assert "the signer's certificate is neither" in messages(cb.build(tmp_path / "q.csar", files))
    files = cb.example_files()
    files[cb.MANIFEST] += b"-----BEGIN CMS-----\nnot base64!\n-----END CMS-----\n"
    assert "the signature block is not valid base64" in messages(cb.build(tmp_path / "r.csar", files))


def test_per_artifact_signatures(tmp_path):
    cert, key = cb.self_signed("image signer")
    files = cb.example_files()
    files["Files/images/iperf-server.img.sig.cms"] = cb.cms_signature(files[IMAGE], cert, key).encode()
    text = files[cb.MANIFEST].decode().replace(
        f"Source: {IMAGE}\n", f"Source: {IMAGE}\nSignature: Files/images/iperf-server.img.sig.cms\n")
    files[cb.MANIFEST] = text.encode()
    package = read(cb.build(tmp_path / "p.csar", files))
    [check] = package.security.artifact_signatures
    assert (package.security.option, check.signed, check.signer) == (1, IMAGE, "CN=image signer")
    files["Files/images/iperf-server.img.sig.cms"] = cb.cms_signature(b"other bytes", cert, key).encode()
    found = messages(cb.build(tmp_path / "q.csar", files))
    assert "signature Files/images/iperf-server.img.sig.cms of 'Files/images/iperf-server.img' does not verify" \
           in found


def test_security_option_2_signs_the_whole_csar(tmp_path):
    cert, key = cb.self_signed("package signer")
    inner = cb.build(tmp_path / "inner.csar").read_bytes()
    outer = cb.write_zip(tmp_path / "outer.zip", {"iperf.csar": inner, "iperf.cms": cb.cms_signature(inner, cert, key)
                                                  .encode(), "iperf.cert": cb.pem(cert)})
    work = tmp_path / "work"
    work.mkdir()
    package = read(outer, work_dir=work)
    assert package.security.option == 2 and package.security.package_signature.signer == "CN=package signer"
    bad = cb.write_zip(tmp_path / "bad.zip", {"iperf.csar": inner, "iperf.cms": cb.cms_signature(inner + b"x", cert,
                                                                                                 key).encode()})
    [issue] = problems(bad, work_dir=work)
    assert issue.file == "iperf.cms" and "the package signature does not verify" in issue.message


def test_a_malformed_signer_identifier_is_a_signature_error():
    """A signer whose issuerAndSerialNumber is an empty SEQUENCE (30 00) is refused as a CmsError."""
    import dataclasses

    from nfvo.domain import cms

    cert, key = cb.self_signed()
    signed = cms.load(cb.cms_signature(b"content", cert, key))
    empty = cms._Node(0x30, b"", (), b"0\x00")
    broken = dataclasses.replace(signed, signers=tuple(dataclasses.replace(s, sid=empty) for s in signed.signers))
    with pytest.raises(cms.CmsError, match="signer identifier is malformed"):
        broken.verify(b"\0" * 32, (cert,))
