"""The Cisco NFVIS package format: a flat ``tar.gz`` with package.mf, image_properties.xml,
the root (and ephemeral) disk images and bootstrap files. See docs/nfvis.md.

The checks are :mod:`nfvo.domain.nfvis`'s; this module maps the package onto nfvo's onboarding.
The disk images are verified against package.mf while they stream to the VIMs (a wrong image
fails on its last read, before the VIM keeps it); they are matched by content, like a CSAR's.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import math
import posixpath
import tarfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from nfvo.domain.archive import ArchiveLimits, PackageArchive
from nfvo.domain.images import ImageConfig, ImageRequest
from nfvo.domain.nfvis import day0
from nfvo.domain.nfvis.manifest import MANIFEST, check_digests
from nfvo.domain.nfvis.model import IMAGE_EXTENSIONS, ImageProperties
from nfvo.domain.nfvis.package import NfvisPackage, nfvis_kind, read_package
from nfvo.domain.nfvis.properties import IMAGE_PROPERTIES
from nfvo.errors import Issue, ValidationFailed
from nfvo.formats.base import Day0, FlavourRequest, Package, PackageFormat, Record
from nfvo.formats.verified import VerifiedMembers

#: how far into a package detection looks for image_properties.xml (members, decompressed bytes)
SCAN_MEMBERS, SCAN_BYTES = 64, 256 * 2**20


class NfvisFormat(PackageFormat):
    name = "nfvis"
    title = "Cisco NFVIS package"
    stored_as = "package.tar.gz"
    media_type = "application/gzip"

    def recognises(self, path: Path) -> bool:
        """A tar (gzip or plain) with image_properties.xml at its root among its first 64 members
        (in a gzip tar, within its first 256 MiB): the packaging tool writes the XML files before
        the images. A plain tar's member data is skipped, not read."""
        try:
            with open(path, "rb") as raw:
                gzipped = raw.read(2) == b"\x1f\x8b"
                raw.seek(0)
                if gzipped:
                    tar = tarfile.open(fileobj=_Capped(gzip.GzipFile(fileobj=raw), SCAN_BYTES), mode="r|")
                else:
                    tar = tarfile.open(fileobj=raw, mode="r:")
                with tar:
                    for n, info in enumerate(tar):
                        if posixpath.normpath(info.name) == IMAGE_PROPERTIES:
                            return True
                        if n >= SCAN_MEMBERS:
                            return False
        except (OSError, EOFError, tarfile.TarError, ValueError, _Capped.Exhausted):
            return False
        return False

    def recognises_directory(self, path: Path) -> bool:
        return (path / IMAGE_PROPERTIES).is_file()

    def build(self, directory: Path, out: Path) -> Path:
        """A flat tar.gz: the XML files first (so detection finds them at once), then the rest."""
        first = [MANIFEST, IMAGE_PROPERTIES, "system_generated_properties.xml"]
        names = sorted(p.name for p in Path(directory).iterdir() if p.is_file() or p.is_symlink())
        with tarfile.open(out, "w:gz") as tar:
            for name in [n for n in first if n in names] + [n for n in names if n not in first]:
                path = Path(directory) / name
                if path.is_symlink():
                    raise ValueError(f"{path}: symbolic links cannot go into a package")
                tar.add(path, arcname=name, recursive=False)
        return out

    @contextlib.contextmanager
    def open(self, path: Path, *, limits: ArchiveLimits, display_name: str, work: Path,
             strict: bool) -> Iterator[Package]:
        with PackageArchive.open(path, limits, display_name=display_name, kind_of=nfvis_kind) as archive:
            package = read_package(archive, strict=strict)
            props = package.properties
            yield Package(format=self.name, identity=(self.name, props.name, props.version, props.vendor),
                          describe=f"NFVIS package {props.name!r} version {props.version!r}",
                          name=props.name, vendor=props.vendor or "", version=props.version,
                          images=_images(package, archive), members=_verified(archive, package),
                          warnings=package.warnings, flavours=_flavours(props), native=package)

    def summary(self, package: Package) -> list[str]:
        native: NfvisPackage = package.native
        props = native.properties
        profiles = ", ".join(p.name for p in props.profiles) or "none"
        lines = [f"{package.members.display_name} is a valid Cisco NFVIS package.",
                 f"  VNF {props.name} version {props.version} ({props.vnf_type or 'no vnf_type'}) by "
                 f"{props.vendor or 'an unnamed vendor'}; profiles {profiles} (default "
                 f"{props.default_profile or 'none'}); {len(native.bootstrap_texts)} bootstrap files."]
        for request in package.images:
            lines.append(f"  Image {request.config.name} from {request.file} ({request.config.disk_format}), "
                         "verified against package.mf while it uploads.")
        return lines

    def vnfd(self, package: Package, image_names: Mapping[str, list[str]]) -> dict:
        """One VDU with the root image, a flavour per profile (the default first), and a day-0
        configuration of the non-secret custom properties (see docs/nfvis.md)."""
        native: NfvisPackage = package.native
        props = native.properties
        root = image_names.get("root_image") or [package.images[0].config.name]
        ephemeral = {r.key: image_names.get(r.key, [r.config.name]) for r in package.images[1:]}
        flavours = {f.at.pointer: f for f in _flavours(props)}
        profiles = sorted(props.profiles, key=lambda p: p.name != props.default_profile)
        return {
            "name": props.name, "vendor": props.vendor or "", "version": props.version,
            "type": (props.vnf_type or "other").lower(), "endpoint": "generic",
            "vdu": [{"name": props.name, "vm_image": list(root), "scale_in_out": 1, "vimInstanceName": [],
                     "metadata": [{"key": key, "value": names[0]} for key, names in ephemeral.items()]}],
            "deployment_flavour": [{"flavour_key": flavours[p.pointer].name, "vcpus": flavours[p.pointer].vcpus,
                                    "ram": flavours[p.pointer].ram, "disk": flavours[p.pointer].disk}
                                   for p in profiles],
            "configurations": {"name": "day0", "configurationParameters": [
                {"confKey": c.name, "value": c.default or ""} for c in props.custom_properties if not c.secret]},
        }

    def day0(self, package: Package, payload: Any) -> Day0:
        """The bootstrap files with their tokens filled from ``payload`` (see docs/nfvis.md)."""
        native: NfvisPackage = package.native
        rendered = day0.render(native.properties, native.bootstrap_texts, payload)
        return Day0(rendered["profile"], rendered["files"], native.properties.nocloud)

    def record(self, package: Package) -> Record:
        native: NfvisPackage = package.native
        props = native.properties
        return Record(meta={"format": self.name, "vnfType": props.vnf_type, "defaultProfile": props.default_profile,
                            "profiles": [p.to_dict() for p in props.profiles],
                            "bootstrapFiles": sorted(native.bootstrap_texts), "nocloud": props.nocloud})


def _flavours(props: ImageProperties) -> tuple[FlavourRequest, ...]:
    """A flavour per profile, named ``<name>-<version>-<profile>``; a size the profile leaves out is
    the package's minimum (vcpu_min, memory_mb_min, root_disk_gb_min)."""
    return tuple(FlavourRequest(
        name=f"{props.name}-{props.version}-{p.name}", vcpus=p.vcpus or props.vcpu.minimum or 1,
        ram=p.memory_mb or props.memory_mb.minimum or 0,
        disk=math.ceil(p.root_disk_mb / 1024) if p.root_disk_mb else props.root_disk_gb.minimum or 0,
        at=Issue("", props.file, p.line, p.pointer)) for p in props.profiles)


def _images(package: NfvisPackage, archive: PackageArchive) -> tuple[ImageRequest, ...]:
    """The root disk image, then each ephemeral disk image, as image requests matched by content."""
    props, manifest = package.properties, package.manifest
    disks = [("root_image", package.root_image, props.root_disk, props.name)]
    disks += [(f"ephemeral_disk{n}", member, next((d for d in props.disks if d.index == n), None),
               f"{props.name}-disk{n}") for n, member in package.ephemeral_images]
    requests = []
    for key, member, disk, stem in disks:
        entry = manifest.entry(member)
        held = IMAGE_EXTENSIONS.get(posixpath.splitext(member)[1].lower(), "raw")
        disk_format = (disk.format if disk and disk.format else held)
        algorithm = "sha256" if "sha256" in entry.digests else next(iter(entry.digests), None)
        config = ImageConfig(name=f"{stem}-{props.version}", disk_format=disk_format, container_format="bare",
                             min_disk=props.root_disk_gb.minimum or 0 if key == "root_image" else 0,
                             min_ram=props.memory_mb.minimum or 0 if key == "root_image" else 0)
        requests.append(ImageRequest(
            key=key, upload="true", names=(config.name,), file=member, config=config, source_file=MANIFEST,
            source_line=entry.line, pointer=entry.pointer, stated=False, size=archive.members[member].size,
            digest=(algorithm, entry.digests[algorithm]) if algorithm else None,
            digest_pointer=entry.digest_lines[algorithm][1] if algorithm else None))
    return tuple(requests)


def _verified(archive: PackageArchive, package: NfvisPackage) -> VerifiedMembers:
    """The archive as uploads read it: a member package.mf lists is checked against every digest
    listed for it while it streams; a mismatch fails the read that would end it."""
    def check(name: str, digests) -> None:
        if issues := check_digests(package.manifest, {name: dict(digests)}):
            raise ValidationFailed(f"{name} does not match its checksum in {MANIFEST}", errors=issues)
    return VerifiedMembers(archive, package.manifest.expected, check)


class _Capped(io.RawIOBase):
    """At most ``limit`` bytes of ``stream``; then Exhausted."""

    class Exhausted(Exception):
        pass

    def __init__(self, stream: BinaryIO, limit: int):
        super().__init__()
        self._stream, self._left = stream, limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._left <= 0:
            raise self.Exhausted()
        data = self._stream.read(min(len(buffer), self._left))
        self._left -= len(data)
        buffer[:len(data)] = data
        return len(data)
