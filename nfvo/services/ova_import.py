"""OVAs and the catalogue: importing one (a tar holding an ``.ovf`` descriptor and its disk
files, as IBM PowerVC, VMware and VirtualBox export them) and exporting an image as one.

On import the OVF fills the image record (name, version, description, OS, architecture,
processors, memory, the boot disk's format and capacity); the boot disk, verified against the
OVA's manifest while it is read, becomes the image's bytes. Other disks are listed in the
record's ``origin`` and not imported. On export the image is the OVA's one disk, described by
an OVF nfvo writes from the record; the OVA is streamed, never held in memory.
"""

from __future__ import annotations

import math
import os
import re
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nfvo.db.models import CatalogueImage
from nfvo.domain.archive import ArchiveLimits, PackageArchive
from nfvo.domain.ova import DiskRecord, OvfRecord, build_ovf, ova_kind, read_ova, write_ova
from nfvo.errors import Issue, ValidationFailed
from nfvo.services.context import Context
from nfvo.services.receiving import Received, UploadFile
from nfvo.streams import copy_hashed

#: how many members detection looks at: the OVF specification puts the descriptor first
_SCAN = 16
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


def is_ova(path: Path) -> bool:
    """Whether the file is a tar with an ``.ovf`` at its root among its first members (cheap;
    never raises)."""
    try:
        with tarfile.open(path, "r:") as tar:
            for n, info in enumerate(tar):
                if "/" not in info.name.strip("/") and info.name.lower().endswith(".ovf"):
                    return True
                if n >= _SCAN:
                    return False
    except (OSError, tarfile.TarError, ValueError, EOFError):
        return False
    return False


@dataclass(frozen=True)
class Imported:
    """An OVA read: its boot disk as a received upload, the record fields the OVF gives, and what
    else it said (``origin``)."""

    disk: Received
    fields: dict[str, Any]
    origin: dict[str, Any]


def read_upload(ctx: Context, upload: Received) -> Imported:
    """Reads the OVA ``upload`` and writes its boot disk into a new upload file, verified against
    the OVA's manifest on the way; the OVA's file is removed whatever happens. ValidationFailed (or
    UnsafeArchive) lists every finding of the OVA at once."""
    try:
        limits = ArchiveLimits.from_settings(ctx.settings)
        with PackageArchive.open(upload.path, limits, display_name=upload.filename, kind_of=ova_kind) as archive:
            ova = read_ova(archive)
            if not ova.disks:
                raise ValidationFailed(f"{upload.filename} holds no disk", errors=[Issue(
                    "the OVF names no disk file: nothing to import", ova.ovf)])
            boot = ova.disks[0]
            out = UploadFile(ctx.settings.uploads_dir)
            try:
                with ova.open_file(archive, boot.member) as stream:
                    copy_hashed(stream, out, None)
            except BaseException:
                out.discard()
                raise
            disk = out.received(boot.member)
    finally:
        upload.path.unlink(missing_ok=True)
    return Imported(disk, _fields(ova), _origin(ova, upload.filename))


def _fields(ova) -> dict[str, Any]:
    descriptor, boot = ova.descriptor, ova.disks[0].disk
    name = _UNSAFE.sub("-", descriptor.name or "").strip("-._+")[:128] or "image"
    fields = {"name": name, "version": (descriptor.version or "1.0")[:64], "description": descriptor.description,
              "os_distro": descriptor.os_distro, "os_version": descriptor.os_version,
              "architecture": descriptor.architecture, "disk_format": boot.format or "raw",
              "min_cpu": descriptor.cpus, "min_ram": descriptor.memory_mb,
              "min_disk": math.ceil(boot.capacity / 2**30) if boot.capacity else None}
    return {k: v for k, v in fields.items() if v is not None}


def _origin(ova, filename: str) -> dict[str, Any]:
    descriptor = ova.descriptor
    os_type = descriptor.os_type
    return {"ova": filename, "ovf": ova.ovf, "name": descriptor.name, "product": descriptor.product,
            "vendor": descriptor.vendor, "version": descriptor.version,
            "osType": {"cimId": os_type.cim_id, "vmware": os_type.vmware, "description": os_type.description}
            if os_type else None,
            "cpus": descriptor.cpus, "memoryMb": descriptor.memory_mb,
            "disks": [{"href": d.member, "size": d.size, "boot": i == 0} for i, d in enumerate(ova.disks)],
            "notImported": [d.member for d in ova.disks[1:]]}


def ovf_record(image: CatalogueImage) -> OvfRecord:
    """The OVF an export describes the image with: its record, its bytes as the one disk."""
    disk = DiskRecord(href=_disk_name(image), size=image.size, capacity=max(image.size, image.min_disk * 2**30),
                      format=image.disk_format)
    return OvfRecord(name=image.name, description=image.description or None, os_distro=image.os_distro,
                     os_version=image.os_version, architecture=image.architecture, cpus=image.min_cpu or None,
                     memory_mb=image.min_ram or None, disks=(disk,))


def _disk_name(image: CatalogueImage) -> str:
    return f"{image.name}-{image.version}-disk1.{image.disk_format}"


def export_chunks(ctx: Context, image: CatalogueImage) -> Iterator[bytes]:
    """The image as an OVA, in chunks, written on a thread into a pipe as the consumer reads (the
    disk streamed from the content store, its SHA-256 the record's: never read twice)."""
    read_fd, write_fd = os.pipe()
    name, ovf = _disk_name(image), build_ovf(ovf_record(image))
    failures: list[BaseException] = []

    def produce() -> None:
        try:
            with open(write_fd, "wb", buffering=0) as out:
                write_ova(out, f"{image.name}-{image.version}.ovf", ovf,
                          [(name, image.size, lambda: ctx.store.open(image.sha256))], {name: image.sha256})
        except BaseException as exc:  # the consumer's reads end; the failure is re-raised there
            failures.append(exc)

    writer = threading.Thread(target=produce, name=f"export-{image.id}", daemon=True)
    writer.start()
    with open(read_fd, "rb", buffering=0) as source:
        while chunk := source.read(1 << 20):
            yield chunk
    writer.join()
    if failures:
        raise failures[0]

