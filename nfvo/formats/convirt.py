"""The ConVirt image template format: a tar (plain or gzip) of one image directory of ConVirt's
image store (``vm_conf.template``, ``image.conf``, ``provision.sh``, optionally
``description.htm``, ``custom_scripts/`` and disk image files). See docs/convirt.md.

The checks are :mod:`nfvo.domain.convirt`'s (nothing in a template is ever run); this module
maps a template onto nfvo's onboarding: each disk image file becomes an image request, the
VM size a flavour, the template one VNFD with one VDU, and ``day0`` renders a VM's
``vm_conf`` and ``image.conf``.
"""

from __future__ import annotations

import contextlib
import gzip
import posixpath
import tarfile
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from nfvo.domain.archive import ArchiveLimits, PackageArchive
from nfvo.domain.convirt import ConvirtTemplate, convirt_kind, read_template, render
from nfvo.domain.convirt.model import IMAGE_CONF, REQUIRED_FILES, VM_CONF, ConfigFile, DiskImage
from nfvo.domain.images import ImageConfig, ImageRequest
from nfvo.errors import Issue
from nfvo.formats.base import Day0, FlavourRequest, Package, PackageFormat, Record

#: how far detection looks for the config files: members, bytes read (decompressed), one read
SCAN_MEMBERS, SCAN_BYTES, SCAN_READ = 256, 256 * 2**20, 2**20
#: where the rendered files lie on a day-0 drive (its root), as ConVirt names them
DAY0_FILES = ("vm_conf", "image.conf")


class ConvirtFormat(PackageFormat):
    name = "convirt"
    title = "ConVirt image template"
    stored_as = "template.tar"
    media_type = "application/x-tar"
    priority = 200  # after NFVIS, before SONATA and the CSAR and Open Baton fallbacks
    opens_streams = True
    verbatim_keys = ("convirt",)

    def recognises(self, path: Path) -> bool:
        """A tar (plain or gzip) with ``image.conf`` and ``vm_conf.template`` side by side, at its
        root or in one top directory, among its first SCAN_MEMBERS members (in a gzip tar, within
        its first SCAN_BYTES decompressed bytes). Only headers are read: a plain tar's member data
        is skipped, and no single read (a forged long-name header) may exceed SCAN_READ."""
        try:
            with open(path, "rb") as raw:
                gzipped = raw.read(2) == b"\x1f\x8b"
                raw.seek(0)
                stream = gzip.GzipFile(fileobj=raw) if gzipped else raw
                with tarfile.open(fileobj=_Bounded(stream, SCAN_BYTES if gzipped else None), mode="r:") as tar:
                    seen: dict[str, set[str]] = {}
                    for n, info in enumerate(tar):
                        parts = posixpath.normpath(info.name).split("/")
                        if len(parts) <= 2 and parts[-1] in (IMAGE_CONF, VM_CONF) and parts[0] not in ("", ".."):
                            found = seen.setdefault("/".join(parts[:-1]), set())
                            found.add(parts[-1])
                            if len(found) == 2:
                                return True
                        if n + 1 >= SCAN_MEMBERS:
                            return False
        except (OSError, EOFError, tarfile.TarError, ValueError, OverflowError, zlib.error, _Bounded.Exhausted):
            return False
        return False

    def recognises_directory(self, path: Path) -> bool:
        return (path / IMAGE_CONF).is_file() and (path / VM_CONF).is_file()

    def build(self, directory: Path, out: Path) -> Path:
        """A plain tar of the directory under a top directory of its name (the image's name): the
        config files first (so that detection finds them at once), then the rest by name; a
        symbolic link is ValueError."""
        directory = Path(directory)
        top = directory.resolve().name
        paths = sorted(directory.rglob("*"), key=lambda p: (p.relative_to(directory).as_posix() not in REQUIRED_FILES,
                                                             p.relative_to(directory).as_posix()))
        with tarfile.open(out, "w") as tar:
            tar.add(directory, arcname=top, recursive=False)
            for path in paths:
                if path.is_symlink():
                    raise ValueError(f"{path}: symbolic links cannot go into a package")
                tar.add(path, arcname=f"{top}/{path.relative_to(directory).as_posix()}", recursive=False)
        return out

    @contextlib.contextmanager
    def open(self, path: Path, *, limits: ArchiveLimits, display_name: str, work: Path,
             strict: bool, opener=None) -> Iterator[Package]:
        with PackageArchive.open(path, limits, display_name=display_name, kind_of=convirt_kind,
                                 opener=opener) as archive:
            template = read_template(archive, strict=strict)
            yield Package(format=self.name, identity=(self.name, template.image_name, template.version),
                          describe=f"ConVirt image template {template.image_name!r} version {template.version!r}",
                          name=template.image_name, vendor="", version=template.version,
                          images=_images(template, archive), members=archive, warnings=template.warnings,
                          flavours=_flavours(template), native=template)

    def summary(self, package: Package) -> list[str]:
        template: ConvirtTemplate = package.native
        scripts = len(template.custom_scripts)
        lines = [f"{package.members.display_name} is a valid ConVirt image template.",
                 f"  Image {template.image_name} version {template.version}: {_counted(template.image_conf)}, "
                 f"{_counted(template.vm_conf)}; {template.provision_script} and {scripts} custom "
                 f"script{'s' if scripts != 1 else ''} (listed, never run)."]
        for request in package.images:
            lines.append(f"  Disk image {request.file} ({request.config.disk_format}), uploaded as "
                         f"{request.config.name}.")
        if not package.images:
            lines.append("  No disk image: its VDU names no image (provision.sh makes the disks).")
        for flavour in package.flavours:
            lines.append(f"  Flavour {flavour.name}: {flavour.vcpus} vCPU, {flavour.ram} MB RAM, {flavour.disk} GB disk.")
        return lines

    def vnfd(self, package: Package, image_names: Mapping[str, list[str]]) -> dict:
        """One VDU named after the image with the images its disk image files became (none when
        it has none), a flavour when the template states the VM's size, and the template itself,
        as read, under ``convirt`` (see docs/convirt.md)."""
        template: ConvirtTemplate = package.native
        images = list(dict.fromkeys(n for disk in template.disk_images for n in image_names.get(disk.relative, [])))
        flavours = [{"flavour_key": f.name, "vcpus": f.vcpus, "ram": f.ram, "disk": f.disk} for f in package.flavours]
        return {"name": template.image_name, "vendor": "", "version": template.version, "type": "convirt",
                "endpoint": "generic",
                "vdu": [{"name": template.image_name, "vm_image": images, "scale_in_out": 1, "vimInstanceName": []}],
                "deployment_flavour": flavours, "convirt": _descriptor(template)}

    def record(self, package: Package) -> Record:
        template: ConvirtTemplate = package.native
        configs = (template.image_conf, template.vm_conf)
        return Record(meta={
            "format": self.name, "imageName": template.image_name, "version": template.version,
            "customizableOptions": {_relative(template, c): list(c.customizable_names()) for c in configs},
            "computedOptions": {_relative(template, c): list(c.computed) for c in configs},
            "provisionScript": template.provision_script, "customScripts": list(template.custom_scripts),
            "diskImages": [d.member for d in template.disk_images]})

    def day0(self, package: Package, payload: Any) -> Day0:
        """The VM's ``vm_conf`` and ``image.conf`` rendered for ``payload``
        (``{"vmName", "properties"?}``, see :func:`nfvo.domain.convirt.render`), each at the root
        of a day-0 drive; no profile."""
        rendered = render(package.native, payload)
        contents = (rendered.vm_conf, rendered.image_conf)
        return Day0(None, [{"mountPoint": name, "name": name, "content": content}
                           for name, content in zip(DAY0_FILES, contents, strict=True)])


def _images(template: ConvirtTemplate, archive: PackageArchive) -> tuple[ImageRequest, ...]:
    """One upload per disk image file, named ``<image name>-<file stem>`` (``<image name>-<file
    name>`` when two share a stem), where the option naming it says (else at the file)."""
    stems = [posixpath.splitext(d.relative)[0] for d in template.disk_images]
    requests = []
    for disk, stem in zip(template.disk_images, stems, strict=True):
        suffix = stem if stems.count(stem) == 1 else disk.relative
        config = ImageConfig(name=f"{template.image_name}-{suffix.replace('/', '-')}", disk_format=disk.disk_format,
                             container_format="bare")
        requests.append(ImageRequest(key=disk.relative, upload="true", names=(config.name,), file=disk.member,
                                     config=config, source_file=disk.file, source_line=disk.line,
                                     pointer=disk.pointer, stated=False, size=archive.members[disk.member].size))
    return tuple(requests)


def _flavours(template: ConvirtTemplate) -> tuple[FlavourRequest, ...]:
    size = template.size
    if size is None:
        return ()
    return (FlavourRequest(template.image_name, size.vcpus, size.memory, size.disk,
                           at=Issue("", size.file, size.line, size.pointer)),)


def _descriptor(template: ConvirtTemplate) -> dict:
    """The template as read, for the VNFD's ``convirt`` key."""
    def config(c: ConfigFile) -> dict:
        return {"file": c.file, "options": c.values(), "computedOptions": list(c.computed),
                "customizableOptions": list(c.customizable_names())}

    def disk(d: DiskImage) -> dict:
        return {"file": d.member, "diskFormat": d.disk_format, "namedBy": None if d.file == d.member else
                {"file": d.file, "line": d.line, "pointer": d.pointer}}

    return {"imageName": template.image_name, "imageConf": config(template.image_conf),
            "vmConf": config(template.vm_conf), "provisionScript": template.provision_script,
            "customScripts": list(template.custom_scripts), "diskImages": [disk(d) for d in template.disk_images],
            "description": template.description}


def _relative(template: ConvirtTemplate, config: ConfigFile) -> str:
    return config.file[len(template.directory):]


def _counted(config: ConfigFile) -> str:
    count = len(config.options)
    return f"{posixpath.basename(config.file)} with {count} option{'s' if count != 1 else ''}"


class _Bounded:
    """A stream for detection: no read of more than SCAN_READ bytes at once, and with a
    ``budget``, no more than that many bytes read or skipped in all; then Exhausted."""

    class Exhausted(Exception):
        pass

    def __init__(self, stream: BinaryIO, budget: int | None):
        self._stream, self._budget = stream, budget

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0 or size > SCAN_READ:
            raise self.Exhausted()
        self._spend(size)
        return self._stream.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 0:
            self._spend(max(offset - self._stream.tell(), 0))
        elif whence == 1:
            self._spend(max(offset, 0))
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()

    def _spend(self, count: int) -> None:
        if self._budget is not None:
            self._budget -= count
            if self._budget < 0:
                raise self.Exhausted()
