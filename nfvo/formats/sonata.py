"""The SONATA / 5GTANGO format: a ``.son`` package (zip, META-INF/MANIFEST.MF), a ``.tgo``
package (zip, TOSCA-Metadata/NAPD.yaml), or one SONATA function descriptor (YAML or JSON) on
its own. See docs/sonata.md.

The checks are :mod:`nfvo.domain.sonata`'s; this module maps a package onto nfvo's onboarding:
each function descriptor becomes a VNFD (in the Open Baton form nfvo serves, the original
under ``sonata``), each deployment unit's image goes through image resolution, and each VDU's
resource requirements become a flavour.
"""

from __future__ import annotations

import contextlib
import re
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from nfvo.domain.archive import ArchiveLimits
from nfvo.domain.csar_zip import CsarArchive, is_zip
from nfvo.domain.sonata.functions import Function
from nfvo.domain.sonata.manifests import NAPD, SON_MANIFEST
from nfvo.domain.sonata.package import SonataPackage, read_descriptor, read_package
from nfvo.domain.sonata.services import Service
from nfvo.errors import Issue, UnsafeArchive, ValidationFailed
from nfvo.formats.base import FlavourRequest, NsdRequest, Package, PackageFormat, Record
from nfvo.formats.verified import VerifiedMembers

#: how much of a lone descriptor detection reads
_SNIFF = 64 * 2**10
_DESCRIPTOR_KEYS = re.compile(rb'^\s*"?(virtual_deployment_units|cloudnative_deployment_units)"?\s*:', re.M)
_KINDS = {"son": "SONATA package", "tgo": "5GTANGO package", "descriptor": "SONATA function descriptor"}


class SonataFormat(PackageFormat):
    name = "sonata"
    title = "SONATA / 5GTANGO package"
    stored_as = "package.son"
    media_type = "application/zip"
    priority = 500  # before the CSAR and Open Baton fallbacks: a .tgo also holds TOSCA-Metadata/
    opens_streams = True
    verbatim_keys = ("sonata",)

    def recognises(self, path: Path) -> bool:
        """A zip holding META-INF/MANIFEST.MF or TOSCA-Metadata/NAPD.yaml (by its directory)."""
        try:
            if not is_zip(path):
                return False
            with zipfile.ZipFile(path) as archive:
                names = {n.lstrip("/") for n in archive.namelist()}
        except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
            return False
        return SON_MANIFEST in names or NAPD in names

    def recognises_directory(self, path: Path) -> bool:
        return (path / SON_MANIFEST).is_file() or (path / NAPD).is_file()

    def build(self, directory: Path, out: Path) -> Path:
        """Zips the directory (descriptors deflated, other files stored so images stream straight)."""
        with zipfile.ZipFile(out, "w") as archive:
            for path in sorted(Path(directory).rglob("*")):
                if path.is_symlink():
                    raise ValueError(f"{path}: symbolic links cannot go into a package")
                if path.is_file():
                    small = path.suffix.lower() in (".yml", ".yaml", ".json", ".mf", ".meta")
                    archive.write(path, path.relative_to(directory).as_posix(),
                                  zipfile.ZIP_DEFLATED if small else zipfile.ZIP_STORED)
        return out

    @contextlib.contextmanager
    def open(self, path: Path, *, limits: ArchiveLimits, display_name: str, work: Path,
             strict: bool, opener=None) -> Iterator[Package]:
        with CsarArchive.open(path, limits, display_name=display_name, opener=opener) as archive:
            native = read_package(archive, strict=strict)
            archive.set_images([r.file for r in native.images if r.file])
            yield _package(self.name, native, _verified(archive, native))

    def summary(self, package: Package) -> list[str]:
        native: SonataPackage = package.native
        lines = [f"{package.members.display_name} is a valid {_KINDS[native.kind]}.",
                 f"  {native.vendor}/{native.name} version {native.version}: {len(native.functions)} function "
                 f"descriptor{'s' if len(native.functions) != 1 else ''}, {len(native.services)} service "
                 f"descriptor{'s' if len(native.services) != 1 else ''}."]
        for request in package.images:
            source = request.file or request.link
            how = (f"uploaded from {source}" if request.upload == "true"
                   else f"looked up on each VIM by name {request.names[0]}; it must be there")
            lines.append(f"  Image for {request.key} ({how}).")
        return lines

    def vnfd(self, package: Package, image_names: Mapping[str, list[str]]) -> dict:
        return self.vnfds(package, image_names)[0]

    def vnfds(self, package: Package, image_names: Mapping[str, list[str]]) -> list[dict]:
        """One VNFD per function descriptor: a VDU per deployment unit with the images it became,
        a flavour per VDU that states its resources, the descriptor itself under ``sonata``."""
        native: SonataPackage = package.native
        return [_vnfd(f, image_names) for f in native.functions]

    def nsds(self, package: Package) -> tuple[NsdRequest, ...]:
        """Each service descriptor, its functions named by ``network_functions``."""
        native: SonataPackage = package.native
        return tuple(service_request(s) for s in native.services)

    def record(self, package: Package) -> Record:
        native: SonataPackage = package.native
        return Record(meta={
            "format": self.name, "kind": native.kind,
            "functions": ["/".join(f.identity) for f in native.functions],
            "services": ["/".join((s.vendor, s.name, s.version)) for s in native.services],
            "entryServiceTemplate": native.listing.entry_service if native.listing else None})


class SonataDescriptorFormat(SonataFormat):
    """One SONATA / 5GTANGO function descriptor (YAML or JSON) on its own: its images are links
    or names of images on the VIMs."""

    name = "sonata-vnfd"
    title = "SONATA function descriptor"
    stored_as = "vnfd.yaml"
    media_type = "application/yaml"
    priority = 510

    def recognises(self, path: Path) -> bool:
        """Text (no NUL) whose first 64 KiB hold a ``virtual_deployment_units`` (or 5GTANGO
        ``cloudnative_deployment_units``) key at the start of a line."""
        try:
            with open(path, "rb") as f:
                head = f.read(_SNIFF)
        except OSError:
            return False
        return b"\0" not in head and not is_zip(path) and bool(_DESCRIPTOR_KEYS.search(head))

    def recognises_directory(self, path: Path) -> bool:
        return False

    def build(self, directory: Path, out: Path) -> Path:
        raise NotImplementedError("a lone function descriptor is a file, not a directory")

    @contextlib.contextmanager
    def open(self, path: Path, *, limits: ArchiveLimits, display_name: str, work: Path,
             strict: bool, opener=None) -> Iterator[Package]:
        native = read_descriptor(_text(opener or (lambda: open(path, "rb")), display_name, limits), display_name,
                                 strict=strict)
        yield _package(self.name, native, _NoFiles(display_name))


def service_request(service: Service) -> NsdRequest:
    """A service descriptor as an NSD of nfvo's catalogue: the descriptor as written under
    ``sonata``, its functions by vendor, name and version."""
    functions = tuple((f.vendor, f.name, f.version, Issue("", service.file, service.source.line_of(f.pointer),
                                                           f.pointer)) for f in service.functions)
    return NsdRequest(service.name, service.vendor, service.version, functions,
                      {"name": service.name, "vendor": service.vendor, "version": service.version,
                       "sonata": service.data})


def _package(name: str, native: SonataPackage, members) -> Package:
    return Package(format=name, identity=(name, native.vendor, native.name, native.version),
                   describe=f"{_KINDS[native.kind]} {native.vendor}/{native.name} version {native.version}",
                   name=native.name, vendor=native.vendor, version=native.version, images=native.images,
                   members=members, warnings=native.warnings, flavours=tuple(_flavours(native)), native=native)


def _flavours(native: SonataPackage) -> Iterator[FlavourRequest]:
    for function in native.functions:
        for unit in function.units:
            if unit.kind == "vm" and unit.vcpus:
                yield FlavourRequest(name=_flavour_name(function, unit.id), vcpus=unit.vcpus, ram=unit.ram,
                                     disk=unit.disk, at=Issue("", function.file, function.source.line_of(unit.pointer),
                                                              unit.pointer))


def _flavour_name(function: Function, unit_id: str) -> str:
    return f"{function.name}-{function.version}-{unit_id}"


def _vnfd(function: Function, image_names: Mapping[str, list[str]]) -> dict:
    key = "/".join(function.identity)
    vdus = [{"name": u.id, "vm_image": list(image_names.get(f"{key}/{u.id}", [])), "scale_in_out": u.maximum,
             "vimInstanceName": []} for u in function.units]
    flavours = [{"flavour_key": _flavour_name(function, u.id), "vcpus": u.vcpus, "ram": u.ram, "disk": u.disk}
                for u in function.units if u.kind == "vm" and u.vcpus]
    return {"name": function.name, "vendor": function.vendor, "version": function.version, "type": function.name,
            "endpoint": "generic", "vdu": vdus, "deployment_flavour": flavours, "sonata": function.data}


def _text(opener, display_name: str, limits: ArchiveLimits) -> str:
    """A lone descriptor's text, within the descriptor size limit."""
    with opener() as f:
        data = f.read(limits.max_text_size + 1)
    if len(data) > limits.max_text_size:
        raise UnsafeArchive(f"{display_name} is too large for a descriptor", errors=[Issue(
            f"larger than {limits.max_text_size} bytes (NFVO_MAX_DESCRIPTOR_SIZE)", display_name)])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(f"{display_name} is not UTF-8 text", errors=[Issue(
            "not UTF-8 text", display_name, data.count(b"\n", 0, exc.start) + 1)]) from None


class _NoFiles:
    """The members of a lone descriptor: none (its images are links or names)."""

    members: Mapping = {}

    def __init__(self, display_name: str):
        self.display_name = display_name

    def open_member(self, name: str):
        raise KeyError(name)


def _verified(archive: CsarArchive, native: SonataPackage) -> VerifiedMembers:
    """A member with listed digests (or a ``vm_image_md5``) is checked against each while it
    streams; a mismatch fails the read that would end it, naming where the digest is declared."""
    def check(name: str, actual) -> None:
        expected = native.expected[name]
        if wrong := [f"{a} {actual[a]}, not {expected[a]}" for a in expected if actual[a] != expected[a]]:
            content = native.listing.contents.get(name) if native.listing else None
            where = (content.file, content.line, content.pointer) if content else (name,)
            raise ValidationFailed(f"{name} does not match its digest",
                                   errors=[Issue(f"{name} has {'; '.join(wrong)}", *where)])
    return VerifiedMembers(archive, lambda name: native.expected.get(name, {}), check)
