"""Whole NFVIS packages read from tar.gz files: every part checked, text members' checksums verified."""

import hashlib

import pytest

from nfvo.domain.archive import ARTIFACT, DESCRIPTOR, IMAGE, PackageArchive
from nfvo.domain.nfvis.manifest import check_digests, new_digests
from nfvo.domain.nfvis.package import nfvis_kind, read_package
from nfvo.errors import ValidationFailed
from tests.unit.domain.nfvis import samples


def read(tmp_path, files, **kwargs):
    path = samples.write_tar(tmp_path / "pkg.tar.gz", files)
    with PackageArchive.open(path, display_name="pkg.tar.gz", kind_of=nfvis_kind) as archive:
        return read_package(archive, **kwargs)


def refused(tmp_path, files, **kwargs) -> list[tuple]:
    with pytest.raises(ValidationFailed) as caught:
        read(tmp_path, files, **kwargs)
    return [(e.file, e.line, e.pointer, e.severity, e.message) for e in caught.value.errors]


def test_member_kinds():
    assert [nfvis_kind(n) for n in ("package.mf", "image_properties.xml", "system_generated_properties.xml",
                                    "a.qcow2", "b.IMG", "c.iso", "d.vmdk", "e.raw", "iosxe_config.txt")] == [
        DESCRIPTOR, DESCRIPTOR, DESCRIPTOR, IMAGE, IMAGE, IMAGE, IMAGE, IMAGE, ARTIFACT]


@pytest.mark.parametrize("make, root", [(samples.router, "router.qcow2"), (samples.firewall, "fw.qcow2"),
                                        (samples.cache, "cache.qcow2"), (samples.nocloud, "probe.qcow2")])
def test_the_samples_are_accepted(tmp_path, make, root):
    package = read(tmp_path, make())
    assert package.warnings == ()
    assert package.root_image == root
    assert package.unverified == tuple(n for n in make() if nfvis_kind(n) == IMAGE)
    assert set(package.bootstrap_texts) == {f.source for f in package.properties.bootstrap_files}


def test_the_ephemeral_disk_is_named(tmp_path):
    package = read(tmp_path, samples.cache())
    assert package.ephemeral_images == ((1, "cache-disk.img"),)


def test_images_are_verified_by_the_caller_while_streaming(tmp_path):
    files = samples.router()
    files["router.qcow2"] = b"other bytes"  # package.mf still has the digest of the real image
    package = read(tmp_path, files)
    path = tmp_path / "pkg.tar.gz"
    with PackageArchive.open(path, kind_of=nfvis_kind) as archive:
        computed = {}
        for name in package.unverified:
            digests = new_digests(package.manifest, name)
            with archive.open_member(name) as stream:
                while chunk := stream.read(4096):
                    for digest in digests.values():
                        digest.update(chunk)
            computed[name] = {a: d.hexdigest() for a, d in digests.items()}
    (issue,) = check_digests(package.manifest, computed)
    assert (issue.file, issue.line, issue.pointer) == ("package.mf", 6, "/PackageContents/File_Info[1]/sha256_checksum")
    assert issue.message.startswith(f"router.qcow2 has sha256 {hashlib.sha256(b'other bytes').hexdigest()}")


def test_a_wrong_checksum_of_a_text_member_is_an_error(tmp_path):
    files = samples.router()
    files["iosxe_config.txt"] = files["iosxe_config.txt"].replace(b"hostname", b"hostnme ")
    [(file, line, pointer, severity, message)] = refused(tmp_path, files)
    assert (file, line, pointer, severity) == ("package.mf", 16, "/PackageContents/File_Info[3]/sha256_checksum",
                                               "error")
    assert message.startswith("iosxe_config.txt has sha256 ")


def test_missing_parts(tmp_path):
    files = samples.router()
    del files["iosxe_config.txt"], files["router.qcow2"]
    files["notes.txt"] = b"hello"
    assert refused(tmp_path, files) == [
        ("image_properties.xml", 41, "/image_properties/bootstrap_file", "error",
         "bootstrap file 'iosxe_config.txt' is not in the package"),
        ("notes.txt", None, None, "warning", "not listed in package.mf: its checksum is not verified"),
        ("package.mf", 3, "/PackageContents/File_Info[1]", "error", "'router.qcow2' is listed but not in the package"),
        ("package.mf", 13, "/PackageContents/File_Info[3]", "error",
         "'iosxe_config.txt' is listed but not in the package"),
    ]


def test_no_manifest_and_no_properties(tmp_path):
    assert refused(tmp_path, {"router.qcow2": samples.ROOT_IMAGE}) == [
        ("image_properties.xml", None, None, "error", "image_properties.xml is missing from the package root"),
        ("package.mf", None, None, "error", "package.mf is missing from the package root"),
    ]


def test_image_names_and_formats_are_checked_against_the_properties(tmp_path):
    properties = samples.CACHE_PROPERTIES.replace("<disk_1_image_format>raw", "<disk_1_image_format>qcow2")
    properties = properties.replace("</root_image_disk_format>",
                                    "</root_image_disk_format>\n  <disk_2_image_format>raw</disk_2_image_format>")
    files = samples.package(properties, {"ovf-env.xml": samples.CACHE_OVF_ENV}, root="cache.bin",
                            extra={"cache-disk.img": ("ephemeral_disk1_image", b"\0" * 512)})
    assert refused(tmp_path, files) == [
        ("image_properties.xml", 9, "/image_properties/disk_2_image_format", "warning",
         "disk_2_* describes ephemeral disk 2, but package.mf has no ephemeral_disk2_image"),
        ("image_properties.xml", 11, "/image_properties/disk_1_image_format", "error",
         "'cache-disk.img' holds raw (by its name), but disk_1_image_format is qcow2"),
        ("package.mf", 3, "/PackageContents/File_Info[1]", "error",
         "'cache.bin' is not a disk image nfvo knows: the name must end in .qcow2, .img, .raw, .iso, .vmdk"),
    ]


def test_root_image_must_be_named_once(tmp_path):
    files = samples.package(samples.NOCLOUD_PROPERTIES, {"cloud-config.yaml": samples.NOCLOUD_USER_DATA},
                            root="probe.qcow2", extra={"second.qcow2": ("root_image", b"x")})
    assert refused(tmp_path, files)[0][4] == "a second root_image 'second.qcow2' (the first is 'probe.qcow2')"


def test_a_bootstrap_file_that_is_not_utf8(tmp_path):
    files = samples.package(samples.NOCLOUD_PROPERTIES, {"cloud-config.yaml": "x"}, root="probe.qcow2")
    files["cloud-config.yaml"] = b"line\n\xff\n"
    files["package.mf"] = samples.manifest({k: v for k, v in files.items() if k != "package.mf"},
                                           {"probe.qcow2": "root_image"})
    assert refused(tmp_path, files) == [
        ("cloud-config.yaml", 2, None, "error", "a bootstrap file must be UTF-8 text"),
    ]


def test_warnings_refuse_under_strict(tmp_path):
    files = samples.router()
    files["README"] = b"extra"
    assert [w.message for w in read(tmp_path, files).warnings] == [
        "not listed in package.mf: its checksum is not verified"]
    assert refused(tmp_path, files, strict=True)[0][3] == "error"


def test_system_generated_properties_are_read(tmp_path):
    system = ("<system_generated_properties><system_property><name>HA_PEER</name><val>198.51.100.2</val>"
              "</system_property></system_generated_properties>")
    properties = samples.NOCLOUD_PROPERTIES.replace("${PROBE_NAME}", "x")
    files = samples.package(properties, {"cloud-config.yaml": samples.NOCLOUD_USER_DATA + "peer: ${HA_PEER}\n"},
                            root="probe.qcow2",
                            extra={"system_generated_properties.xml": ("system_generated_properties", system.encode())})
    package = read(tmp_path, files)
    assert [(p.name, p.value) for p in package.properties.system_properties] == [("HA_PEER", "198.51.100.2")]
