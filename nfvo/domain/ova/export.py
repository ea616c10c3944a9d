"""A catalogue image exported: its OVF text (:func:`build_ovf`) and an OVA streamed out (:func:`write_ova`)."""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import time
from collections.abc import Callable, Mapping
from typing import BinaryIO
from xml.sax.saxutils import escape, quoteattr

from nfvo.domain.archive import normalise_member_name
from nfvo.domain.ova.descriptor import check_href, read_ovf
from nfvo.domain.ova.model import DISK_FORMATS, NFVO, OVF1, RASD, VMW, VSSD, DiskRecord, OvfRecord
from nfvo.domain.ova.package import MANIFEST_SUFFIX, OVF_SUFFIX
from nfvo.errors import ContentMismatch, Issue

#: disk format -> the ``ovf:format`` URI written for it
FORMAT_URIS = {
    "vmdk": "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized",
    "qcow2": "http://www.gnome.org/~markmc/qcow-image-format.html",
    "vhd": "http://go.microsoft.com/fwlink/?LinkId=137171",
    "raw": f"{NFVO}/disk-format/raw",
    "iso": f"{NFVO}/disk-format/iso",
    "vhdx": f"{NFVO}/disk-format/vhdx",
}
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_USTAR_MAX_SIZE = 8**11  # eleven octal digits
_USTAR_MAX_NAME = 100
_CONTROLLER_ID = 3
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


def build_ovf(record: OvfRecord) -> str:
    """An OVF 1.x descriptor of ``record`` that :func:`~nfvo.domain.ova.descriptor.read_ovf` reads back
    to an equal record (text fields compared without surrounding whitespace, which XML readers drop).

    Written: ``References`` (one File per disk with an href, ``ovf:size`` when known), the
    ``DiskSection`` (``ovf:capacity`` in bytes, the file size when the capacity is unknown; the format
    URI of :data:`FORMAT_URIS`, vmdk declared ``streamOptimized`` as VMware exports them in OVAs), one
    VirtualSystem with ``Name``, an ``AnnotationSection`` for the description, the
    ``OperatingSystemSection`` (``ovf:id`` 0 when no CIM number is known), a VirtualHardwareSection with
    the processors, memory (MiB) and the disks on one SCSI controller in record order (so the first is
    the boot disk), and nfvo's ``ImageSection`` (``ovf:required="false"``) with the distribution, version
    and architecture.  Raises ValueError for a record that cannot be written: an empty name, text that XML
    cannot hold, an unsafe or repeated href, a negative size, a disk with neither capacity nor size, a
    format not in DISK_FORMATS, a non-positive cpus or memory_mb.
    """
    _check_record(record)
    disks = list(record.disks)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<Envelope xmlns="{OVF1}" xmlns:ovf="{OVF1}" xmlns:rasd="{RASD}" xmlns:vssd="{VSSD}" '
             f'xmlns:vmw="{VMW}" xmlns:nfvo="{NFVO}" ovf:version="1.0">',
             "  <References>"]
    for index, disk in enumerate(disks, 1):
        if disk.href is not None:
            size = f" ovf:size={_attr(disk.size)}" if disk.size is not None else ""
            lines.append(f"    <File ovf:id={_attr(f'file{index}')} ovf:href={_attr(disk.href)}{size}/>")
    lines += ["  </References>", "  <DiskSection>", "    <Info>Virtual disks</Info>"]
    for index, disk in enumerate(disks, 1):
        capacity = disk.capacity if disk.capacity is not None else disk.size
        attributes = [f"ovf:diskId={_attr(f'vmdisk{index}')}", f"ovf:capacity={_attr(capacity)}",
                      'ovf:capacityAllocationUnits="byte"']
        if disk.href is not None:
            attributes.append(f"ovf:fileRef={_attr(f'file{index}')}")
        if disk.format is not None:
            attributes.append(f"ovf:format={_attr(FORMAT_URIS[disk.format])}")
        lines.append(f"    <Disk {' '.join(attributes)}/>")
    lines += ["  </DiskSection>",
              f"  <VirtualSystem ovf:id={_attr(_system_id(record.name))}>",
              "    <Info>A virtual machine</Info>",
              f"    <Name>{_text(record.name)}</Name>"]
    if record.description is not None:
        lines += ["    <AnnotationSection>", "      <Info>A description of the image</Info>",
                  f"      <Annotation>{_text(record.description)}</Annotation>", "    </AnnotationSection>"]
    lines += _operating_system(record)
    lines += _hardware(record)
    lines += ['    <nfvo:ImageSection ovf:required="false">', "      <Info>nfvo catalogue metadata</Info>",
              f"      <nfvo:OsDistro>{_text(record.os_distro or '')}</nfvo:OsDistro>",
              f"      <nfvo:OsVersion>{_text(record.os_version or '')}</nfvo:OsVersion>",
              f"      <nfvo:Architecture>{_text(record.architecture or '')}</nfvo:Architecture>",
              "    </nfvo:ImageSection>",
              "  </VirtualSystem>",
              "</Envelope>"]
    return "\n".join(lines) + "\n"


def write_ova(out: BinaryIO, ovf_name: str, ovf_text: str, disks: list[tuple[str, int, Callable[[], BinaryIO]]],
              sha256: Mapping[str, str], *, mtime: float | None = None) -> None:
    """Write an OVA to ``out`` (only ``write`` is called: a pipe or socket will do) in this order: the
    descriptor ``ovf_name`` holding ``ovf_text`` (UTF-8), the manifest ``<base>.mf`` with a SHA256 line
    for the descriptor and for each disk (from ``sha256``, member name -> hex, so no disk is read twice),
    then each disk ``(member name, size, opener)``, streamed from ``opener()`` in chunks.

    The tar is USTAR, as the OVF specification asks, or POSIX pax when a member is 8 GiB or more or
    its name longer than 100 bytes.  ``mtime`` (default: now) dates every member.  Each disk is hashed
    while it streams: one whose stream ends before ``size`` bytes, holds more, or does not have its
    announced SHA-256 raises ContentMismatch, leaving ``out`` holding a truncated OVA that must be
    discarded.  Raises ValueError, before anything is written, when ``ovf_name`` is not a root ``.ovf``
    name, a disk name is unsafe or repeated, a digest is missing or not 64 hex digits, or ``ovf_text``
    does not read back without errors or does not reference exactly the given disks with their sizes.
    """
    data = ovf_text.encode("utf-8")
    manifest_name = _check_export(ovf_name, data, disks, sha256)
    digests = [(ovf_name, hashlib.sha256(data).hexdigest()), *((n, sha256[n].lower()) for n, _, _ in disks)]
    manifest = "".join(f"SHA256({name})= {digest}\n" for name, digest in digests).encode("utf-8")
    members = [(ovf_name, len(data)), (manifest_name, len(manifest)), *((n, s) for n, s, _ in disks)]
    pax = any(s >= _USTAR_MAX_SIZE or len(n.encode("utf-8")) > _USTAR_MAX_NAME for n, s in members)
    when = time.time() if mtime is None else mtime
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT if pax else tarfile.USTAR_FORMAT,
                      encoding="utf-8") as tar:
        tar.addfile(_member(ovf_name, len(data), when), io.BytesIO(data))
        tar.addfile(_member(manifest_name, len(manifest), when), io.BytesIO(manifest))
        for name, size, opener in disks:
            with opener() as stream:
                source = _CheckedSource(stream, name, size, sha256[name].lower())
                tar.addfile(_member(name, size, when), source)
                source.finish()


class _CheckedSource:
    """The first ``size`` bytes of a disk's stream, hashed as tarfile reads them in its chunks."""

    def __init__(self, stream: BinaryIO, name: str, size: int, sha256: str):
        self._stream, self._name, self._size, self._expected = stream, name, size, sha256
        self._left = size
        self._hash = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        want = self._left if size is None or size < 0 else min(size, self._left)
        data = self._stream.read(want)
        while data is not None and 0 < len(data) < want:
            more = self._stream.read(want - len(data))
            if not more:
                break
            data += more
        if len(data or b"") < want:
            raise self._mismatch(f"the disk ended after {self._size - self._left + len(data or b'')} of its "
                                 f"{self._size} bytes")
        self._hash.update(data)
        self._left -= len(data)
        return data

    def finish(self) -> None:
        if self._stream.read(1):
            raise self._mismatch(f"the disk holds more than the {self._size} bytes announced")
        actual = self._hash.hexdigest()
        if actual != self._expected:
            raise self._mismatch(f"the disk has sha256 {actual}, not the {self._expected} announced")

    def _mismatch(self, message: str) -> ContentMismatch:
        return ContentMismatch(f"disk {self._name} is not the one announced", errors=[Issue(message, file=self._name)])


def _member(name: str, size: int, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(mtime), 0o644
    info.uname = info.gname = ""
    return info


def _check_export(ovf_name: str, data: bytes, disks: list[tuple[str, int, Callable[[], BinaryIO]]],
                  sha256: Mapping[str, str]) -> str:
    """The manifest's name; ValueError when the export is inconsistent (see :func:`write_ova`)."""
    name, problem = normalise_member_name(ovf_name)
    if problem or name != ovf_name or "/" in name or not name.lower().endswith(OVF_SUFFIX) or name == OVF_SUFFIX:
        raise ValueError(f"{ovf_name!r} is not a descriptor name at the root of an OVA (e.g. 'image.ovf')")
    manifest_name = name[: -len(OVF_SUFFIX)] + MANIFEST_SUFFIX
    given: dict[str, int] = {}
    for disk, size, _ in disks:
        normalised, problem = normalise_member_name(disk)
        if problem or normalised != disk or disk in (ovf_name, manifest_name):
            raise ValueError(f"disk name {disk!r}: {problem or 'not a plain member name'}")
        if disk in given:
            raise ValueError(f"disk {disk!r} is given twice")
        if not isinstance(size, int) or size < 0:
            raise ValueError(f"disk {disk!r}: size {size!r} is not a non-negative integer")
        if not _SHA256.match(sha256.get(disk) or ""):
            raise ValueError(f"disk {disk!r}: no SHA-256 (64 hex digits) in sha256")
        given[disk] = size
    descriptor, found = read_ovf(data, ovf_name)
    errors = [str(i) for i in found if not i.is_warning]
    if descriptor is None or errors:
        raise ValueError(f"{ovf_name} does not read back as an OVF: {'; '.join(errors)}")
    referenced = {f.href: f.size for f in descriptor.files}
    if set(referenced) != set(given) or any(s is not None and s != given[h] for h, s in referenced.items()):
        raise ValueError(f"{ovf_name} references {sorted(referenced.items())}, the disks given are "
                         f"{sorted(given.items())}")
    return manifest_name


def _check_record(record: OvfRecord) -> None:
    if not record.name or not record.name.strip():
        raise ValueError("an OVF needs a name")
    for field in ("name", "description", "os_distro", "os_version", "architecture"):
        _check_text(field, getattr(record, field))
    if record.os_type is not None:
        _check_text("os_type.vmware", record.os_type.vmware)
        _check_text("os_type.description", record.os_type.description)
        cim_id = record.os_type.cim_id
        if cim_id is not None and (not isinstance(cim_id, int) or cim_id < 0):
            raise ValueError(f"os_type.cim_id {cim_id!r} is not a CIM OSType number")
    for field in ("cpus", "memory_mb"):
        value = getattr(record, field)
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ValueError(f"{field} {value!r} is not a positive integer")
    hrefs = set()
    for disk in record.disks:
        _check_disk(disk)
        if disk.href is not None and disk.href in hrefs:
            raise ValueError(f"disk {disk.href!r} is given twice")
        hrefs.add(disk.href)


def _check_disk(disk: DiskRecord) -> None:
    if disk.href is not None:
        normalised, problem = check_href(disk.href)
        if problem or normalised != disk.href:
            raise ValueError(f"disk href {disk.href!r}: {problem or 'not a plain relative path'}")
        _check_text("href", disk.href)
    for field in ("size", "capacity"):
        value = getattr(disk, field)
        if value is not None and (not isinstance(value, int) or value < 0):
            raise ValueError(f"disk {disk.href!r}: {field} {value!r} is not a non-negative integer")
    if disk.capacity is None and disk.size is None:
        raise ValueError(f"disk {disk.href!r} needs a capacity or a size")
    if disk.format is not None and disk.format not in DISK_FORMATS:
        raise ValueError(f"disk {disk.href!r}: format {disk.format!r} is not one of {', '.join(DISK_FORMATS)}")


def _check_text(field: str, value: str | None) -> None:
    if value is not None and _NOT_XML.search(value):
        raise ValueError(f"{field} holds a character XML cannot hold")


def _operating_system(record: OvfRecord) -> list[str]:
    os_type = record.os_type
    cim_id = os_type.cim_id if os_type and os_type.cim_id is not None else 0
    vmware = f" vmw:osType={_attr(os_type.vmware)}" if os_type and os_type.vmware else ""
    lines = [f"    <OperatingSystemSection ovf:id={_attr(cim_id)}{vmware}>",
             "      <Info>The guest operating system</Info>"]
    if os_type and os_type.description is not None:
        lines.append(f"      <Description>{_text(os_type.description)}</Description>")
    return [*lines, "    </OperatingSystemSection>"]


def _hardware(record: OvfRecord) -> list[str]:
    items: list[list[tuple[str, object]]] = []
    if record.cpus is not None:
        items.append([("AllocationUnits", "hertz * 10^6"), ("Description", "Number of virtual CPUs"),
                      ("ElementName", f"{record.cpus} virtual CPU(s)"), ("InstanceID", 1), ("ResourceType", 3),
                      ("VirtualQuantity", record.cpus)])
    if record.memory_mb is not None:
        items.append([("AllocationUnits", "byte * 2^20"), ("Description", "Memory size"),
                      ("ElementName", f"{record.memory_mb} MB of memory"), ("InstanceID", 2), ("ResourceType", 4),
                      ("VirtualQuantity", record.memory_mb)])
    if record.disks:
        items.append([("Description", "SCSI controller"), ("ElementName", "SCSI controller 0"),
                      ("InstanceID", _CONTROLLER_ID), ("ResourceSubType", "lsilogic"), ("ResourceType", 6)])
    for index, _ in enumerate(record.disks):
        items.append([("AddressOnParent", index), ("ElementName", f"Hard disk {index + 1}"),
                      ("HostResource", f"ovf:/disk/vmdisk{index + 1}"), ("InstanceID", _CONTROLLER_ID + 1 + index),
                      ("Parent", _CONTROLLER_ID), ("ResourceType", 17)])
    lines = ["    <VirtualHardwareSection>", "      <Info>Virtual hardware requirements</Info>",
             "      <System>", "        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>",
             "        <vssd:InstanceID>0</vssd:InstanceID>",
             f"        <vssd:VirtualSystemIdentifier>{_text(record.name)}</vssd:VirtualSystemIdentifier>",
             "      </System>"]
    for item in items:
        lines += ["      <Item>", *(f"        <rasd:{k}>{_text(str(v))}</rasd:{k}>" for k, v in item), "      </Item>"]
    return [*lines, "    </VirtualHardwareSection>"]


def _system_id(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name.strip()).strip("-") or "vm"


def _attr(value: object) -> str:
    return quoteattr(str(value))


def _text(value: str) -> str:
    return escape(value, {"\r": "&#13;"})
