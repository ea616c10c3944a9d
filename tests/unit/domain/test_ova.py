"""OVF descriptors and OVA archives: import into a catalogue record, every finding at once; export as a streamed OVA."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import threading
import tracemalloc
from dataclasses import replace

import pytest

from nfvo.domain.archive import DESCRIPTOR, IMAGE, ArchiveLimits, PackageArchive
from nfvo.domain.ova import (
    DiskRecord,
    OsType,
    OvfRecord,
    allocation_unit,
    build_ovf,
    derive,
    disk_format,
    ova_kind,
    read_manifest,
    read_ova,
    read_ovf,
    write_ova,
)
from nfvo.errors import ContentMismatch, UnsafeArchive, ValidationFailed
from tests.unit.domain import ova_samples as samples

MIB = 2**20


def errors(issues):
    return [i for i in issues if not i.is_warning]


def open_ova(path, name="image.ova"):
    return PackageArchive.open(path, ArchiveLimits(), display_name=name, kind_of=ova_kind)


def refused(path, **options):
    with open_ova(path) as archive, pytest.raises(ValidationFailed) as caught:
        read_ova(archive, **options)
    return caught.value.errors


def read_all(stream, chunk=65536):
    parts = []
    while data := stream.read(chunk):
        parts.append(data)
    return b"".join(parts)


# read_ovf: what the samples give ----------------------------------------------------------
def test_a_vmware_export_fills_the_record():
    descriptor, issues = read_ovf(samples.VMWARE.format(size=4096), "ubuntu.ovf")
    assert issues == []
    assert descriptor.ovf_version == "1"
    assert descriptor.record() == OvfRecord(
        name="ubuntu-22.04-gold", description="Ubuntu 22.04 gold image with cloud-init",
        os_type=OsType(94, "ubuntu64Guest", "Ubuntu Linux 22.04 (64-bit)"), os_distro="ubuntu", os_version="22.04",
        architecture="x86_64", cpus=2, memory_mb=4096,
        disks=(DiskRecord(samples.VMWARE_DISK, 4096, 20 * 2**30, "vmdk"),))
    disk = descriptor.boot_disk
    assert (disk.disk_id, disk.format_uri, disk.populated_size) == ("vmdisk1", samples.STREAM_OPTIMIZED, 1048576)
    assert (disk.line, disk.pointer) == (samples.line_of(samples.VMWARE, "<Disk "), "/Envelope/DiskSection/Disk")


def test_a_powervc_export_gives_ppc64_raw_volumes_and_its_product():
    text = samples.POWERVC.format(boot_size=8192, data_size=1024)
    descriptor, issues = read_ovf(text, "aix.ovf")
    assert issues == []  # the StartupSection is a deployment setting: ignored, not reported
    record = descriptor.record()
    assert (record.name, record.description) == ("aix73-gold", "AIX 7.3 gold image")  # no <Name>: the ovf:id
    product = (descriptor.product, descriptor.vendor, descriptor.version)
    assert product == ("AIX 7.3 gold image", "Example Corp", "7.3.1")
    assert (record.os_type, record.os_distro, record.os_version, record.architecture) == (
        OsType(9, None, "AIX 7.3"), "aix", "7.3", "ppc64")
    assert (record.cpus, record.memory_mb) == (4, 8192)
    assert record.disks == (DiskRecord(samples.POWERVC_BOOT, 8192, 8192, "raw"),
                            DiskRecord(samples.POWERVC_DATA, 1024, 2**30, "raw"))


def test_an_ovf_2_descriptor_boots_the_disk_its_hardware_attaches_first():
    text = samples.OVF_2.format(data_size=100, root_size=200)
    descriptor, issues = read_ovf(text, "debian.ovf")
    assert descriptor.ovf_version == "2"
    record = descriptor.record()
    assert (record.name, record.os_distro, record.os_version, record.architecture) == (
        "debian-12-generic", "debian", "12", "x86_64")
    assert (record.cpus, record.memory_mb) == (1, 2048)
    # d-data comes first in the DiskSection, but d-root sits at address 0 of the controller.
    assert descriptor.boot_disk.disk_id == "d-root"
    assert record.disks == (DiskRecord(samples.OVF2_ROOT, 200, 8 * 2**30, "qcow2"),
                            DiskRecord(samples.OVF2_DATA, 100, 10 * 2**30, "qcow2"),
                            DiskRecord(None, None, 512 * MIB, None))
    # The required vendor section is reported; the optional one is not.
    assert [(i.severity, i.line, i.pointer) for i in issues] == [
        ("warning", samples.line_of(text, "<acme:LicenseSection"), "/Envelope/VirtualSystem/LicenseSection")]


@pytest.mark.parametrize("os_type, expected", [
    (OsType(vmware="ubuntu64Guest"), ("ubuntu", None, "x86_64")),
    (OsType(vmware="rhel9_64Guest"), ("rhel", "9", "x86_64")),
    (OsType(vmware="centos7Guest"), ("centos", "7", "i686")),
    (OsType(vmware="windows9Server64Guest"), ("windows", None, "x86_64")),
    (OsType(vmware="otherLinux64Guest"), (None, None, "x86_64")),
    (OsType(description="Ubuntu 22.04 LTS"), ("ubuntu", "22.04", None)),
    (OsType(80, None, "Red Hat Enterprise Linux 9.2 (ppc64le)"), ("rhel", "9.2", "ppc64le")),
    (OsType(85, None, "SUSE Linux Enterprise Server 15 SP5 for ppc64"), ("sles", "15", "ppc64")),
    (OsType(101, None, "Debian GNU/Linux 12 aarch64"), ("debian", "12", "aarch64")),
    (OsType(107), ("centos", None, "x86_64")),
    (OsType(102), (None, None, None)),
    (OsType(11, None, "IBM i 7.5"), ("ibmi", "7.5", "ppc64")),
    (OsType(93), ("ubuntu", None, None)),
])
def test_the_guest_is_derived_by_the_documented_rules(os_type, expected):
    guest = derive(os_type)
    assert (guest.distro, guest.version, guest.architecture) == expected


@pytest.mark.parametrize("uri, href, expected", [
    ("http://www.vmware.com/interfaces/specifications/vmdk.html#sparse", "a.img", "vmdk"),
    (samples.QCOW, "a", "qcow2"),
    ("https://nfvo.dev/ovf/1/disk-format/iso", "a.img", "iso"),
    ("urn:example:unknown", "a.iso", "iso"),
    (None, "volume-1", "raw"),
    (None, "a.VMDK", "vmdk"),
    (None, None, None),
])
def test_disk_formats(uri, href, expected):
    assert disk_format(uri, href) == expected


@pytest.mark.parametrize("units, expected", [
    ("byte", 1), ("byte * 2^20", MIB), ("byte*2^30", 2**30), ("byte * 10^9", 10**9), ("MegaBytes", MIB),
    ("GigaBytes", 2**30), ("furlongs", None), ("byte * 2^99", None),
])
def test_allocation_units(units, expected):
    assert allocation_unit(units) == expected


# read_ovf: refusals ---------------------------------------------------------------------
@pytest.mark.parametrize("text, line, words", [
    ("<Envelope><VirtualSystem></Envelope>\n", 1, "not well-formed XML"),
    (samples.XXE, 3, "external entity 'xxe' ('file:///etc/passwd') is refused"),
    (samples.BILLION_LAUGHS, 3, "entity declaration 'lol' is refused"),
    ('<?xml version="1.0"?>\n<Envelope xmlns="urn:example:other"/>\n', 2, "not an OVF descriptor"),
    ("<image_properties/>", 1, "not an OVF descriptor"),
    (f'<Envelope xmlns="{samples.OVF1}">\n  <References/>\n</Envelope>', 1, "no <VirtualSystem>"),
])
def test_what_is_not_an_ovf_is_one_error_at_its_line(text, line, words):
    descriptor, issues = read_ovf(text, "x.ovf")
    assert descriptor is None
    assert [(i.file, i.line, i.severity) for i in issues] == [("x.ovf", line, "error")]
    assert words in issues[0].message


def test_every_finding_of_a_broken_descriptor_at_once_with_lines_and_paths():
    text = samples.BROKEN
    descriptor, issues = read_ovf(text, "broken.ovf")
    assert descriptor is not None
    found = [(i.line, i.pointer, i.severity) for i in issues]
    assert found == [
        (samples.line_of(text, "../etc/shadow"), "/Envelope/References/File[1]/@href", "error"),
        (samples.line_of(text, "/var/lib"), "/Envelope/References/File[2]/@href", "error"),
        (samples.line_of(text, "win.vmdk"), "/Envelope/References/File[3]/@href", "error"),
        (samples.line_of(text, 'ovf:size="-5"'), "/Envelope/References/File[4]/@size", "error"),
        (samples.line_of(text, "nowhere"), "/Envelope/DiskSection/Disk[1]/@fileRef", "error"),
        (samples.line_of(text, "lots"), "/Envelope/DiskSection/Disk[2]/@capacity", "error"),
        (samples.line_of(text, "ovf:/disk/d9"), "/Envelope/VirtualSystem/VirtualHardwareSection/Item/HostResource",
         "error"),
    ]
    messages = " | ".join(i.message for i in issues)
    for words in ("'..' in path", "an absolute path", "a backslash", "non-negative integer",
                  "'nowhere' names no File", "names no Disk"):
        assert words in messages


def test_more_refusals_and_warnings():
    text = f"""<Envelope xmlns="{samples.OVF1}" xmlns:ovf="{samples.OVF1}" xmlns:x="urn:example:x">
  <References>
    <File ovf:id="a" ovf:href="http://203.0.113.9/disk.vmdk"/>
    <File ovf:id="b" ovf:href="b.vmdk.gz" ovf:compression="gzip"/>
    <File ovf:id="a" ovf:href="c.vmdk"/>
  </References>
  <DiskSection>
    <Disk ovf:diskId="d" ovf:capacity="1" ovf:capacityAllocationUnits="furlongs"/>
    <Disk ovf:diskId="d" ovf:capacity="1"/>
    <Disk ovf:diskId="e"/>
  </DiskSection>
  <x:Policy/>
  <VirtualSystem ovf:id="one"/>
  <VirtualSystem ovf:id="two"/>
</Envelope>"""
    descriptor, issues = read_ovf(text, "x.ovf")
    expected = [
        (3, "error", "ovf:href 'http"),
        (4, "error", "the file is compressed (gzip)"),
        (5, "error", "File id 'a' is given twice (first at line 3)"),
        (8, "error", "unknown ovf"),
        (9, "error", "Disk id 'd' is given twice (first at line 8)"),
        (10, "warning", "the Disk has no ovf"),
        (12, "warning", "<Policy> is required (ovf"),
        (14, "error", "a second <VirtualSystem> (the first is at line 13)"),
    ]
    assert len(issues) == len(expected)
    for issue, (line, severity, start) in zip(issues, expected, strict=True):
        assert (issue.line, issue.severity) == (line, severity)
        assert issue.message.startswith(start), issue.message
    assert descriptor.name == "one"


# read_ova ---------------------------------------------------------------------------------
def test_ova_kinds():
    assert [ova_kind(n) for n in ("a.ovf", "a.MF", "a.cert", "disk1.vmdk", "a.ovf.vmdk")] == [
        DESCRIPTOR, DESCRIPTOR, DESCRIPTOR, IMAGE, IMAGE]


def test_a_valid_ova_is_read_and_its_disk_verified_while_streamed(tmp_path):
    disk = os.urandom(300_000)
    path = samples.vmware_ova(tmp_path / "ubuntu.ova", disk)
    with open_ova(path) as archive:
        ova = read_ova(archive)
        assert (ova.ovf, ova.manifest, ova.warnings) == ("ubuntu.ovf", "ubuntu.mf", ())
        assert ova.record().disks == (DiskRecord(samples.VMWARE_DISK, len(disk), 20 * 2**30, "vmdk"),)
        (file,) = ova.disks
        assert file.digests == {"sha256": samples.sha256(disk)}
        with ova.open_file(archive, samples.VMWARE_DISK) as stream:
            assert read_all(stream) == disk


def test_sha1_manifests_are_read_with_a_weak_hash_warning(tmp_path):
    disk = b"x" * 5000
    path = samples.vmware_ova(tmp_path / "old.ova", disk, algorithm="SHA1", separator=" = ")
    with open_ova(path) as archive:
        ova = read_ova(archive)
        assert [(w.file, w.line) for w in ova.warnings] == [("ubuntu.mf", 1), ("ubuntu.mf", 2)]
        assert all("SHA-1" in w.message for w in ova.warnings)
        with ova.open_file(archive, samples.VMWARE_DISK) as stream:
            assert read_all(stream) == disk
    with open_ova(path) as archive, pytest.raises(ValidationFailed):
        read_ova(archive, strict=True)


def test_a_disk_that_does_not_match_the_manifest_fails_on_the_read_that_ends_it(tmp_path):
    disk = b"a" * 200_000
    text = samples.VMWARE.format(size=len(disk))
    members = samples.ova_members("ubuntu.ovf", text, {samples.VMWARE_DISK: b"b" * len(disk)})
    members[2] = (samples.VMWARE_DISK, disk)  # the manifest was made for other bytes
    path = samples.write_tar(tmp_path / "tampered.ova", members)
    with open_ova(path) as archive:
        ova = read_ova(archive)  # disks are not read here
        with ova.open_file(archive, samples.VMWARE_DISK) as stream:
            first = stream.read(150_000)
            assert len(first) == 150_000
            with pytest.raises(ValidationFailed) as caught:
                read_all(stream)
    (issue,) = caught.value.errors
    assert (issue.file, issue.line) == ("ubuntu.mf", 2)
    assert f"has sha256 {samples.sha256(disk)}" in issue.message


def test_a_descriptor_that_does_not_match_the_manifest_is_refused_at_once(tmp_path):
    text = samples.VMWARE.format(size=4096)
    members = samples.ova_members("ubuntu.ovf", text, {samples.VMWARE_DISK: bytes(4096)})
    members[0] = ("ubuntu.ovf", text.replace("gold image", "GOLD IMAGE").encode())
    found = refused(samples.write_tar(tmp_path / "x.ova", members))
    assert [(i.file, i.line, i.severity) for i in found] == [("ubuntu.mf", 1, "error")]
    assert found[0].message.startswith("ubuntu.ovf has sha256 ")


def test_a_missing_disk_and_a_disk_of_another_size_are_refused(tmp_path):
    text = samples.POWERVC.format(boot_size=1000, data_size=2000)
    disks = {samples.POWERVC_BOOT: bytes(999)}
    members = samples.ova_members("aix.ovf", text, disks)
    found = refused(samples.write_tar(tmp_path / "x.ova", members))
    assert [(i.file, i.line, i.pointer) for i in found] == [
        ("aix.ovf", samples.line_of(text, samples.POWERVC_BOOT), "/Envelope/References/File[1]/@size"),
        ("aix.ovf", samples.line_of(text, samples.POWERVC_DATA), "/Envelope/References/File[2]"),
    ]
    assert "is 999 bytes in the OVA, its ovf:size says 1000" in found[0].message
    assert "is referenced but is not a file of the OVA" in found[1].message


def test_two_descriptors_are_refused(tmp_path):
    text = samples.VMWARE.format(size=10)
    members = [("a.ovf", text.encode()), ("b.ovf", text.encode()), (samples.VMWARE_DISK, bytes(10))]
    found = refused(samples.write_tar(tmp_path / "x.ova", members))
    assert [(i.file, i.severity) for i in errors(found)] == [("b.ovf", "error")]


def test_no_descriptor_is_refused(tmp_path):
    found = refused(samples.write_tar(tmp_path / "x.ova", [("disk.vmdk", bytes(10))]))
    assert [i.message for i in found] == ["no .ovf descriptor at the root of the OVA"]


def test_order_extra_members_and_a_missing_manifest_are_warnings(tmp_path):
    text = samples.VMWARE.format(size=10)
    members = [(samples.VMWARE_DISK, bytes(10)), ("ubuntu.ovf", text.encode()), ("README.txt", b"hi")]
    path = samples.write_tar(tmp_path / "x.ova", members)
    with open_ova(path) as archive:
        ova = read_ova(archive)
    assert [(w.file, w.message.split(":")[0]) for w in ova.warnings] == [
        ("README.txt", "not referenced by the descriptor"),
        ("image.ova", "the OVA has no manifest (.mf)"),
        ("ubuntu.ovf", f"the descriptor is not the first member of the OVA ({samples.VMWARE_DISK} is)"),
    ]
    assert ova.disks[0].expected == ()


def test_bad_manifest_lines_are_each_an_error_at_their_line():
    text = "\n".join([
        "SHA256(ok.vmdk)= " + "a" * 64,
        "MD5(old.vmdk)= " + "a" * 32,
        "SHA256(short.vmdk)= abc",
        "SHA256(../escape)= " + "a" * 64,
        "garbage",
        "SHA256(ok.vmdk) = " + "b" * 64,
        "",
        "SHA512(big.vmdk)= " + "C" * 128,
    ])
    entries, issues = read_manifest(text, "x.mf")
    assert [(e.name, e.algorithm, e.line) for e in entries] == [("ok.vmdk", "sha256", 1), ("big.vmdk", "sha512", 8)]
    assert entries[1].digest == "c" * 128
    assert [(i.line, i.severity) for i in issues] == [(n, "error") for n in (2, 3, 4, 5, 6)]


@pytest.mark.parametrize("member", [
    ("../x", tarfile.REGTYPE, ""), ("/etc/x", tarfile.REGTYPE, ""), ("disk.vmdk", tarfile.SYMTYPE, "/etc/passwd"),
], ids=["dot-dot", "absolute", "symlink"])
def test_hostile_members_are_refused_by_the_archive_reader(tmp_path, member):
    name, kind, target = member
    path = tmp_path / "hostile.ova"
    with tarfile.open(path, "w") as tar:
        ovf = samples.VMWARE.format(size=0).encode()
        info = tarfile.TarInfo("ubuntu.ovf")
        info.size = len(ovf)
        tar.addfile(info, io.BytesIO(ovf))
        info = tarfile.TarInfo(name)
        info.type, info.linkname = kind, target
        tar.addfile(info, io.BytesIO(b"") if kind == tarfile.REGTYPE else None)
    with pytest.raises(UnsafeArchive):
        open_ova(path)


# export -----------------------------------------------------------------------------------
RECORD = OvfRecord(
    name="rhel-9.2 gold <ppc64le> & more", description="Gold image\nwith cloud-init & friends",
    os_type=OsType(80, None, "Red Hat Enterprise Linux 9 (64-bit)"), os_distro="rhel", os_version="9.2",
    architecture="ppc64le", cpus=2, memory_mb=4096,
    disks=(DiskRecord("boot.qcow2", 123, 10 * 2**30, "qcow2"), DiskRecord("data.raw", 456, 456, "raw"),
           DiskRecord("swap.vmdk", 789, 2**31, "vmdk")))


@pytest.mark.parametrize("record", [
    RECORD,
    OvfRecord(name="minimal", disks=(DiskRecord("disk.img", 10),)),
    OvfRecord(name="vmware", os_type=OsType(None, "ubuntu64Guest", None)),  # nothing derived behind its back
    replace(RECORD, disks=(DiskRecord(None, None, 2**30, None),)),
], ids=["full", "minimal", "no-derivation", "empty-disk"])
def test_build_ovf_reads_back_to_the_same_record(record):
    descriptor, issues = read_ovf(build_ovf(record), "x.ovf")
    assert issues == []
    expected = record
    if record.name == "minimal":  # an unknown capacity is written as the size, an unknown format guessed
        expected = replace(record, disks=(DiskRecord("disk.img", 10, 10, "raw"),))
    assert descriptor.record() == expected


def test_imported_records_export_and_read_back_unchanged():
    for text in (samples.VMWARE.format(size=4096), samples.POWERVC.format(boot_size=10, data_size=20),
                 samples.OVF_2.format(data_size=1, root_size=2)):
        record = read_ovf(text, "x.ovf")[0].record()
        assert read_ovf(build_ovf(record), "y.ovf")[0].record() == record


@pytest.mark.parametrize("record", [
    OvfRecord(name=""),
    OvfRecord(name="x\x01"),
    OvfRecord(name="x", disks=(DiskRecord("../x", 1),)),
    OvfRecord(name="x", disks=(DiskRecord("a", 1), DiskRecord("a", 1))),
    OvfRecord(name="x", disks=(DiskRecord("a", -1),)),
    OvfRecord(name="x", disks=(DiskRecord("a"),)),
    OvfRecord(name="x", disks=(DiskRecord("a", 1, 1, "ext4"),)),
    OvfRecord(name="x", cpus=0),
])
def test_records_that_cannot_be_written_are_refused(record):
    with pytest.raises(ValueError):
        build_ovf(record)


class WriteOnly:
    """A sink with no seek, tell or read: what a socket offers."""

    def __init__(self):
        self.size, self.digest = 0, hashlib.sha256()

    def write(self, data):
        self.size += len(data)
        self.digest.update(data)
        return len(data)


def export_to_pipe(path, *args, **kwargs):
    """Run write_ova into an os.pipe() whose other end a thread copies to ``path``."""
    read_end, write_end = os.pipe()

    def drain():
        with open(read_end, "rb") as source, open(path, "wb") as target:
            while chunk := source.read(65536):
                target.write(chunk)

    thread = threading.Thread(target=drain)
    thread.start()
    try:
        with open(write_end, "wb") as out:
            assert not out.seekable()
            write_ova(out, *args, **kwargs)
    finally:
        thread.join()
    return path


def disk_files(tmp_path, sizes):
    disks, digests = [], {}
    for name, size in sizes.items():
        data = os.urandom(size)
        (tmp_path / name).write_bytes(data)
        disks.append((name, size, lambda p=tmp_path / name: open(p, "rb")))
        digests[name] = samples.sha256(data)
    return disks, digests


def test_write_ova_streams_to_a_pipe_and_reads_back(tmp_path):
    sizes = {d.href: d.size for d in RECORD.disks}
    (tmp_path / "src").mkdir()
    disks, digests = disk_files(tmp_path / "src", sizes)
    path = export_to_pipe(tmp_path / "out.ova", "rhel.ovf", build_ovf(RECORD), disks, digests, mtime=0)
    assert path.read_bytes()[257:265] == b"ustar\x0000"  # POSIX USTAR, as the OVF specification asks
    with tarfile.open(path) as tar:
        assert tar.getnames() == ["rhel.ovf", "rhel.mf", "boot.qcow2", "data.raw", "swap.vmdk"]
        manifest = tar.extractfile("rhel.mf").read().decode()
    assert manifest.splitlines()[1:] == [f"SHA256({n})= {digests[n]}" for n, _, _ in disks]
    with open_ova(path) as archive:
        ova = read_ova(archive)
        assert ova.warnings == ()
        assert ova.record() == RECORD
        for name, _, _ in disks:
            with ova.open_file(archive, name) as stream:
                assert read_all(stream) == (tmp_path / "src" / name).read_bytes()


def test_write_ova_keeps_memory_flat_for_a_64_mib_disk(tmp_path):
    size = 64 * MIB
    source = tmp_path / "big.raw"
    digest = hashlib.sha256()
    with open(source, "wb") as out:
        for _ in range(size // MIB):
            chunk = os.urandom(MIB)
            digest.update(chunk)
            out.write(chunk)
    record = OvfRecord(name="big", disks=(DiskRecord("big.raw", size, size, "raw"),))
    sink = WriteOnly()
    tracemalloc.start()
    try:
        write_ova(sink, "big.ovf", build_ovf(record), [("big.raw", size, lambda: open(source, "rb"))],
                  {"big.raw": digest.hexdigest()})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sink.size > size
    assert peak < 8 * MIB


@pytest.mark.parametrize("data, words", [
    (b"y" * 1000, "not the"),  # other bytes
    (b"x" * 999, "ended after 999 of its 1000 bytes"),
    (b"x" * 1001, "holds more than the 1000 bytes"),
])
def test_a_disk_that_is_not_the_announced_one_stops_the_export(data, words):
    record = OvfRecord(name="x", disks=(DiskRecord("x.raw", 1000, 1000, "raw"),))
    with pytest.raises(ContentMismatch) as caught:
        write_ova(WriteOnly(), "x.ovf", build_ovf(record), [("x.raw", 1000, lambda: io.BytesIO(data))],
                  {"x.raw": samples.sha256(b"x" * 1000)})
    assert words in caught.value.errors[0].message


@pytest.mark.parametrize("change", ["ovf-name", "size", "digest", "extra-disk", "bad-ovf"])
def test_inconsistent_exports_are_refused_before_writing(change):
    record = OvfRecord(name="x", disks=(DiskRecord("x.raw", 10, 10, "raw"),))
    ovf_name, ovf_text = "x.ovf", build_ovf(record)
    disks = [("x.raw", 10, lambda: io.BytesIO(bytes(10)))]
    digests = {"x.raw": samples.sha256(bytes(10))}
    if change == "ovf-name":
        ovf_name = "dir/x.ovf"
    elif change == "size":
        disks = [("x.raw", 11, disks[0][2])]
    elif change == "digest":
        digests = {"x.raw": "nope"}
    elif change == "extra-disk":
        disks.append(("y.raw", 1, lambda: io.BytesIO(b"y")))
        digests["y.raw"] = samples.sha256(b"y")
    else:
        ovf_text = "<Envelope/>"
    sink = WriteOnly()
    with pytest.raises(ValueError):
        write_ova(sink, ovf_name, ovf_text, disks, digests)
    assert sink.size == 0


def test_a_hostile_href_in_the_descriptor_is_one_error(tmp_path):
    text = samples.VMWARE.format(size=10).replace(samples.VMWARE_DISK, "../" + samples.VMWARE_DISK)
    members = samples.ova_members("ubuntu.ovf", text, {samples.VMWARE_DISK: bytes(10)})
    found = errors(refused(samples.write_tar(tmp_path / "x.ova", members)))
    assert [(i.file, i.pointer) for i in found] == [("ubuntu.ovf", "/Envelope/References/File/@href")]


def test_a_certificate_and_an_oddly_named_manifest_are_warnings(tmp_path):
    disk = bytes(10)
    text = samples.VMWARE.format(size=len(disk))
    members = samples.ova_members("ubuntu.ovf", text, {samples.VMWARE_DISK: disk})
    members[1] = ("export.mf", members[1][1])
    members.insert(2, ("export.cert", b"SHA256(export.mf)= 00\n"))
    with open_ova(samples.write_tar(tmp_path / "x.ova", members)) as archive:
        ova = read_ova(archive)
        assert ova.manifest == "export.mf"
        assert [w.file for w in ova.warnings] == ["export.cert", "export.mf"]
        assert ova.disks[0].digests == {"sha256": samples.sha256(disk)}
        with pytest.raises(KeyError):
            ova.file("export.cert")
