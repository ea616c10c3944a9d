"""What nfvo deploys of a template: its disk image files (and the option naming each), its VM size, its version."""

import pytest

from nfvo.domain.archive import ARTIFACT, IMAGE, SCRIPT
from nfvo.domain.convirt import convirt_kind, read_files
from nfvo.domain.convirt.deployment import disk_format
from nfvo.domain.convirt.model import DiskImage, VmSize
from tests.unit.domain.convirt import samples

TOP = "Linux_CD_Install"


def template(image_conf: str = samples.CD_IMAGE_CONF, vm_conf: str = samples.CD_VM_CONF, **extra: bytes):
    files = samples.cd_install()
    files[f"{TOP}/image.conf"], files[f"{TOP}/vm_conf.template"] = image_conf.encode(), vm_conf.encode()
    files.update({f"{TOP}/{name}": data for name, data in extra.items()})
    return read_files(files)


@pytest.mark.parametrize("name, expected", [
    ("hda.img", "raw"), ("disk.QCOW2", "qcow2"), ("d/x.raw", "raw"), ("cd.iso", "iso"), ("w.vmdk", "vmdk"),
    ("v.vdi", "vdi"), ("h.vhd", "vhd"), ("h.vhdx", "vhdx"), ("initrd.img", None), ("vmlinuz.img", None),
    ("initramfs.img", None), ("README", None), ("hda.img.gz", None)])
def test_disk_formats_by_extension(name, expected):
    assert disk_format(name) == expected


def test_disk_images_are_images_for_the_archive_limits():
    assert [convirt_kind(n) for n in (f"{TOP}/hda.img", "hda.qcow2", f"{TOP}/disks/x.raw",
                                      f"{TOP}/custom_scripts/x.img", f"{TOP}/initrd.img")] == [
        IMAGE, IMAGE, IMAGE, SCRIPT, ARTIFACT]


def test_each_disk_image_is_found_with_the_option_that_names_it():
    image_conf = samples.CD_IMAGE_CONF + "ref_disk = '$IMAGE_STORE/$IMAGE_NAME/hda.img'\n"
    vm_conf = samples.CD_VM_CONF + "cdrom = ['file:${IMAGE_STORE}/Linux_CD_Install/install.iso,hdc:cdrom,r']\n"
    found = template(image_conf, vm_conf, **{"hda.img": b"\0" * 10, "install.iso": b"iso", "spare.qcow2": b"q",
                                              "initrd.img": b"r"})
    assert found.disk_images == (
        DiskImage(f"{TOP}/hda.img", "hda.img", "raw", f"{TOP}/image.conf", 3, "/ref_disk"),
        DiskImage(f"{TOP}/install.iso", "install.iso", "iso", f"{TOP}/vm_conf.template", 11, "/cdrom"),
        DiskImage(f"{TOP}/spare.qcow2", "spare.qcow2", "qcow2", f"{TOP}/spare.qcow2"))
    # the kernel's ramdisk is no disk image: an ignored file, as any other
    assert [(w.file, "ignored" in w.message) for w in found.warnings] == [(f"{TOP}/initrd.img", True)]


def test_a_vm_conf_option_names_a_disk_through_an_image_conf_variable():
    image_conf = samples.CD_IMAGE_CONF + "disk_file = 'hda.img'\n"
    vm_conf = samples.CD_VM_CONF.replace("disk = [", "disk = ['file:$IMAGE_STORE/$IMAGE_NAME/$disk_file,hda,w', ")
    [disk] = template(image_conf, vm_conf, **{"hda.img": b"x"}).disk_images
    assert (disk.file, disk.pointer) == (f"{TOP}/image.conf", "/disk_file")  # named as itself, first
    vm_conf = samples.CD_VM_CONF.replace("disk = [", "disk = ['file:$IMAGE_STORE/$IMAGE_NAME/$disk_name,hda,w', ")
    [disk] = template(samples.CD_IMAGE_CONF + "disk_name = 'hd'\n", vm_conf.replace("$disk_name", "${disk_name}.img"),
                      **{"hd.img": b"x"}).disk_images
    assert (disk.file, disk.line, disk.pointer) == (f"{TOP}/vm_conf.template", 8, "/disk")


def test_a_path_that_merely_ends_like_the_file_does_not_name_it():
    image_conf = samples.CD_IMAGE_CONF + "other = '/srv/OtherLinux_CD_Install/hda.img.bak'\n"
    [disk] = template(image_conf, **{"hda.img": b"x"}).disk_images
    assert (disk.file, disk.line, disk.pointer) == (f"{TOP}/hda.img", None, None)


def test_the_vm_size_from_memory_vcpus_and_hda_disk_size():
    found = template(samples.CD_IMAGE_CONF.replace("hda_disk_size = 6", "hda_disk_size = 10000"),
                     samples.CD_VM_CONF + "vcpus = 2\n")
    assert found.size == VmSize(2, 512, 10, f"{TOP}/vm_conf.template", 7, "/memory") and found.warnings == ()
    assert template().size == VmSize(1, 512, 1, f"{TOP}/vm_conf.template", 7, "/memory")  # 6 MB: one GB
    assert template(vm_conf=samples.CD_VM_CONF.replace("memory = 512\n", "")).size is None
    computed = samples.CD_VM_CONF.replace("computed_options = ['device_model']", "computed_options = ['device_model', "
                                          "'memory']").replace("memory = 512", "memory = 256 * 4")
    assert template(vm_conf=computed).size.memory == 1024


@pytest.mark.parametrize("change, pointer", [
    (("memory = 512", "memory = '512'"), "/memory"), (("memory = 512", "memory = 0"), "/memory"),
    (("memory = 512", "memory = 512\nvcpus = 1.5"), "/vcpus"), (("memory = 512", "memory = 512\nvcpus = True"), "/vcpus")])
def test_a_size_that_is_no_whole_number_is_a_warning_and_no_size(change, pointer):
    found = template(vm_conf=samples.CD_VM_CONF.replace(*change))
    assert found.size is None
    assert [(w.file, w.pointer, w.severity) for w in found.warnings] == [(f"{TOP}/vm_conf.template", pointer,
                                                                          "warning")]


def test_a_disk_size_that_is_no_number_is_a_warning_and_no_disk():
    found = template(samples.CD_IMAGE_CONF.replace("hda_disk_size = 6", "hda_disk_size = 'big'"))
    assert found.size.disk == 0
    assert [(w.pointer, w.line) for w in found.warnings] == [("/hda_disk_size", 1)]


@pytest.mark.parametrize("value, expected, warned", [
    (None, "1.0", False), ("'2.4.1'", "2.4.1", False), ("3", "3", False), ("1.5", "1.5", False),
    ("''", "1.0", True), ("['1']", "1.0", True), ("'a/b'", "1.0", True), ("' 1'", "1.0", True), ("True", "1.0", True)])
def test_the_version(value, expected, warned):
    image_conf = samples.CD_IMAGE_CONF + (f"image_version = {value}\n" if value else "")
    found = template(image_conf)
    assert found.version == expected
    assert [w.pointer for w in found.warnings] == (["/image_version"] if warned else [])
