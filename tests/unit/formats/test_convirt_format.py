"""The ConVirt format passes the format conformance kit; its images, flavour, VNFD, record and day-0 files."""

from __future__ import annotations

import ast
import gzip
import io
import json
import tarfile

import pytest

from nfvo.domain.archive import ArchiveLimits
from nfvo.domain.nfvis.iso import drive_files
from nfvo.errors import ValidationFailed
from nfvo.formats import registry
from nfvo.formats.conformance import FormatConformance
from nfvo.validate import validate_path
from tests.unit.domain.convirt import samples

TOP = "Fedora_Core_Install"


def read(path, work, **kw):
    return registry.get("convirt").open(path, limits=ArchiveLimits(), display_name=path.name, work=work,
                                        strict=False, **kw)


class TestConvirtFormat(FormatConformance):
    @pytest.fixture
    def package_format(self):
        return registry.get("convirt")

    @pytest.fixture
    def unpacked_package(self, tmp_path):
        return samples.unpack(tmp_path / TOP, samples.with_disk(samples.fedora()))

    @pytest.fixture
    def valid_package(self, tmp_path):
        return samples.write_tar(tmp_path / "fedora.tar.gz", samples.with_disk(samples.fedora()))

    @pytest.fixture
    def broken_package(self, tmp_path):
        files = samples.fedora()
        files[f"{TOP}/image.conf"] += b"firewall_rule = __import__('os').system('true')\n"
        del files[f"{TOP}/provision.sh"]
        return samples.write_tar(tmp_path / "broken.tar.gz", files)


class TestPlainTar(TestConvirtFormat):
    """The same format reads a plain tar, with the files at its root."""

    @pytest.fixture
    def valid_package(self, tmp_path):
        files = samples.at_root(samples.with_disk(samples.cd_install()))
        return samples.write_tar(tmp_path / "Linux_CD_Install.tar", files, directories=False, gz=False)


def test_it_is_detected_before_the_fallbacks_and_after_nfvis():
    names = [f.name for f in registry.formats()]
    assert names.index("nfvis") < names.index("convirt") < names.index("sonata")


@pytest.mark.parametrize("files", [
    {f"{TOP}/image.conf": b"", f"{TOP}/README": b""},  # no vm_conf.template
    {"a/image.conf": b"", "b/vm_conf.template": b""},  # not side by side
    {"a/b/image.conf": b"", "a/b/vm_conf.template": b""},  # two directories deep
])
def test_only_both_config_files_side_by_side_make_a_template(tmp_path, files):
    assert not registry.get("convirt").recognises(samples.write_tar(tmp_path / "t.tar.gz", files))


def test_detection_reads_headers_only_and_is_bounded(tmp_path):
    fmt = registry.get("convirt")
    late = {f"{TOP}/x{n}": b"" for n in range(300)} | samples.cd_install(TOP)
    assert not fmt.recognises(samples.write_tar(tmp_path / "late.tar", late, gz=False))  # past SCAN_MEMBERS
    path = tmp_path / "long-name.tar"
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:  # a 2 MiB pax header, read at once by tarfile
        for n, (name, data) in enumerate(samples.cd_install(TOP).items()):
            info = tarfile.TarInfo(name)
            info.size, info.pax_headers = len(data), {"comment": "x" * 2 * 2**20} if n == 0 else {}
            tar.addfile(info, io.BytesIO(data))
    assert not fmt.recognises(path)
    assert fmt.recognises(samples.write_tar(tmp_path / "short.tar", samples.cd_install(TOP), gz=False))
    bomb = tmp_path / "bomb.tar.gz"
    with gzip.open(bomb, "wb") as out, tarfile.open(fileobj=out, mode="w|") as tar:  # 300 MiB of zeros first
        info = tarfile.TarInfo(f"{TOP}/hda.img")
        info.size = 300 * 2**20
        tar.addfile(info, io.BytesIO(bytes(info.size)))
        for name, data in samples.cd_install(TOP).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    assert not fmt.recognises(bomb)


def test_build_keeps_the_image_name_and_puts_the_config_files_first(tmp_path):
    directory = samples.unpack(tmp_path / "My_Image", samples.with_disk(samples.cd_install()))
    built = registry.get("convirt").build(directory, tmp_path / "out.tar")
    with tarfile.open(built) as tar:
        names = tar.getnames()
    assert names[:4] == ["My_Image", "My_Image/image.conf", "My_Image/provision.sh", "My_Image/vm_conf.template"]
    assert "My_Image/hda.img" in names
    validated = validate_path(directory)
    assert validated.summary[0] == "My_Image is a valid ConVirt image template."
    assert "  Image My_Image version 1.0: image.conf with 3 options, vm_conf.template with 9 options; " \
           "My_Image/provision.sh and 0 custom scripts (listed, never run)." in validated.summary


def test_each_disk_image_is_an_upload_at_the_option_naming_it(tmp_path):
    files = samples.with_disk(samples.fedora())
    files[f"{TOP}/swap.qcow2"] = b"QFI\xfb" + b"\0" * 100
    files[f"{TOP}/hda.iso"] = b"CD001"
    with read(samples.write_tar(tmp_path / "f.tar.gz", files), tmp_path) as package:
        requests = package.images
    assert [(r.key, r.file, r.config.name, r.config.disk_format, r.upload, r.stated, r.size) for r in requests] == [
        ("hda.img", f"{TOP}/hda.img", f"{TOP}-hda.img", "raw", "true", False, len(samples.DISK)),
        ("hda.iso", f"{TOP}/hda.iso", f"{TOP}-hda.iso", "iso", "true", False, 5),
        ("swap.qcow2", f"{TOP}/swap.qcow2", f"{TOP}-swap", "qcow2", "true", False, 104)]
    assert (requests[0].source_file, requests[0].source_line, requests[0].pointer) == (
        f"{TOP}/image.conf", 19, "/ref_disk")
    assert (requests[2].source_file, requests[2].source_line, requests[2].pointer) == (f"{TOP}/swap.qcow2", None, None)


def test_a_template_without_disk_images_has_a_vdu_without_images(tmp_path):
    with read(samples.write_tar(tmp_path / "f.tar.gz", samples.fedora()), tmp_path) as package:
        fmt = registry.get("convirt")
        assert package.images == ()
        vnfd = fmt.vnfd(package, {})
        summary = fmt.summary(package)
    assert vnfd["vdu"] == [{"name": TOP, "vm_image": [], "scale_in_out": 1, "vimInstanceName": []}]
    assert "  No disk image: its VDU names no image (provision.sh makes the disks)." in summary


def test_the_flavour_vnfd_and_record(tmp_path):
    files = samples.with_disk(samples.fedora())
    files[f"{TOP}/image.conf"] = files[f"{TOP}/image.conf"].replace(b"hda_disk_size = 8\n", b"hda_disk_size = 4096\n")
    files[f"{TOP}/image.conf"] += b"image_version = '9.1'\n"
    fmt = registry.get("convirt")
    with read(samples.write_tar(tmp_path / "f.tar.gz", files), tmp_path) as package:
        [flavour] = package.flavours
        vnfd = fmt.vnfd(package, {"hda.img": [f"{TOP}-hda"]})
        record = fmt.record(package)
        assert package.identity == ("convirt", TOP, "9.1") and package.describe == (
            f"ConVirt image template '{TOP}' version '9.1'")
    assert (flavour.name, flavour.vcpus, flavour.ram, flavour.disk) == (TOP, 1, 256, 4)
    assert (flavour.at.file, flavour.at.line, flavour.at.pointer) == (f"{TOP}/vm_conf.template", 4, "/memory")
    assert (vnfd["name"], vnfd["vendor"], vnfd["version"], vnfd["type"]) == (TOP, "", "9.1", "convirt")
    assert vnfd["vdu"][0]["vm_image"] == [f"{TOP}-hda"]
    assert vnfd["deployment_flavour"] == [{"flavour_key": TOP, "vcpus": 1, "ram": 256, "disk": 4}]
    convirt = vnfd["convirt"]
    assert convirt["imageConf"]["options"]["KERNEL_TYPE"] == "fc-xen"
    assert convirt["imageConf"]["customizableOptions"] == ["hda_disk_size", "firewall", "admin_user", "swap_size_mb"]
    assert convirt["vmConf"]["computedOptions"] == [] and convirt["description"] == samples.DESCRIPTION
    assert convirt["diskImages"] == [{"file": f"{TOP}/hda.img", "diskFormat": "raw", "namedBy": {
        "file": f"{TOP}/image.conf", "line": 19, "pointer": "/ref_disk"}}]
    assert fmt.verbatim_keys == ("convirt",)
    assert record.meta["format"] == "convirt" and record.meta["imageName"] == TOP
    assert record.meta["computedOptions"] == {"image.conf": ["hda_disk_size_mb", "label"], "vm_conf.template": []}
    assert record.meta["customScripts"] == [f"{TOP}/custom_scripts/fedora_tweaks/10-firewall.sh",
                                            f"{TOP}/custom_scripts/fedora_tweaks/20-admin.sh"]
    json.dumps(vnfd)


def test_day0_renders_both_files_at_the_drives_root(tmp_path):
    fmt = registry.get("convirt")
    with read(samples.write_tar(tmp_path / "f.tar.gz", samples.fedora()), tmp_path) as package:
        day0 = fmt.day0(package, {"vmName": "web01", "properties": {"hda_disk_size": 20}})
    assert day0.profile is None and day0.nocloud is False
    assert [(f["mountPoint"], f["name"]) for f in day0.files] == [("vm_conf", "vm_conf"), ("image.conf", "image.conf")]
    vm_conf = {s.targets[0].id: ast.literal_eval(s.value) for s in ast.parse(day0.files[0]["content"]).body}
    assert vm_conf["name"] == "web01" and vm_conf["disk"] == ["file:/vm_disks/web01.disk.xm,hda,w"]
    assert "hda_disk_size_mb = 20992\n" in day0.files[1]["content"]
    drive = drive_files(day0.files, instance_id="i-1")  # as the config drive holds them
    assert drive["vm_conf"] == day0.files[0]["content"].encode() and drive["image.conf"] == drive["openstack/content/0001"]
    assert json.loads(drive["openstack/latest/meta_data.json"])["files"] == [
        {"path": "/vm_conf", "content_path": "/content/0000"}, {"path": "/image.conf", "content_path": "/content/0001"}]


def test_day0_payload_problems_come_at_once_at_their_pointers(tmp_path):
    fmt = registry.get("convirt")
    with read(samples.write_tar(tmp_path / "f.tar.gz", samples.fedora()), tmp_path) as package:
        with pytest.raises(ValidationFailed) as refused:
            fmt.day0(package, {"vmName": "a b", "properties": {"KERNEL_TYPE": "x", "hda_disk_size": "big",
                                                                 "label": "l", "nope": 1}, "profile": "p"})
    assert [(e.pointer, e.file) for e in refused.value.errors] == [
        ("/profile", None), ("/properties/KERNEL_TYPE", None), ("/properties/hda_disk_size", None),
        ("/properties/label", None), ("/properties/nope", None), ("/vmName", None)]
    assert "not customizable" in refused.value.errors[1].message


def test_a_package_read_through_an_opener_offers_member_offsets_of_a_plain_tar(tmp_path):
    path = samples.write_tar(tmp_path / "t.tar", samples.with_disk(samples.cd_install()), gz=False)
    with read(path, tmp_path) as package:
        assert package.members.offset_of("Linux_CD_Install/hda.img") is not None
        assert package.members.locate("Linux_CD_Install/hda.img")[0] == path
    gz = samples.write_tar(tmp_path / "t.tar.gz", samples.with_disk(samples.cd_install()))
    with read(gz, tmp_path) as package:
        assert package.members.offset_of("Linux_CD_Install/hda.img") is None
