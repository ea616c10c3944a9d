"""The Open Baton VNF package format (a tar: Metadata.yaml, a VNFD .json, scripts/, images/).

Any tar that no other format recognises is read as one, so that its reader says what is
wrong with it. The checks are :mod:`nfvo.domain.openbaton`'s; this module maps the package
onto nfvo's onboarding (see :class:`nfvo.formats.base.PackageFormat`).
"""

from __future__ import annotations

import contextlib
import tarfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from nfvo.domain import openbaton
from nfvo.domain.archive import ArchiveLimits, PackageArchive
from nfvo.domain.csar_zip import is_zip
from nfvo.errors import Issue, ValidationFailed
from nfvo.formats.base import Fetchers, Files, Package, PackageFormat, Record, VimChoice


class OpenBatonFormat(PackageFormat):
    name = "openbaton"
    title = "Open Baton VNF package"
    stored_as = "package.tar"
    media_type = "application/x-tar"
    priority = 1000  # the fallback for any tar
    opens_streams = True

    def recognises(self, path: Path) -> bool:
        return not is_zip(path)

    def recognises_directory(self, path: Path) -> bool:
        return True  # the fallback: its reader says what a directory lacks

    def build(self, directory: Path, out: Path) -> Path:
        """Tars the directory (regular files and directories only; a link is ValueError)."""
        with tarfile.open(out, "w") as tar:
            for path in sorted(Path(directory).rglob("*")):
                if path.is_symlink():
                    raise ValueError(f"{path}: symbolic links cannot go into a package")
                tar.add(path, arcname=path.relative_to(directory).as_posix(), recursive=False)
        return out

    @contextlib.contextmanager
    def open(self, path: Path, *, limits: ArchiveLimits, display_name: str, work: Path,
             strict: bool, opener=None) -> Iterator[Package]:
        with PackageArchive.open(path, limits, display_name=display_name, opener=opener) as archive:
            package = openbaton.read_package(archive, strict=strict)
            yield _describe(package, archive)

    def summary(self, package: Package) -> list[str]:
        return summary(package.native, package.members.display_name)

    def files(self, package: Package, fetch: Fetchers, work: Path) -> Files:
        """The lifecycle scripts: from ``scripts-link`` (which wins) or the package's scripts/;
        a script the VNFD names that the link lacks is an issue."""
        native, archive = package.native, package.members
        if link := native.metadata.scripts_link:
            checkout = fetch.git(link, work / "scripts-link")
            scripts = {name: checkout.path / name for name in checkout.files}
            return Files(scripts, checkout.url, checkout.commit,
                         issues=tuple(openbaton.missing_scripts(native, scripts)))
        target = work / "scripts"
        target.mkdir()
        scripts = {}
        for member in native.scripts:
            extracted = archive.extract_file(member, target)
            scripts[extracted.name] = extracted
        return Files(scripts)

    def vnfd(self, package: Package, image_names: Mapping[str, list[str]]) -> dict:
        """Every VDU may use every resolved image (Open Baton's rule), each name once, in order;
        a VDU left without any image refuses the package."""
        native = package.native
        names = list(dict.fromkeys(n for key in image_names for n in image_names[key]))
        body = openbaton.fill_vm_images(native.vnfd, {i: names for i in range(len(native.vnfd.get("vdu", [])))})
        issues = [
            native.vnfd_source.issue(f"/vdu/{i}/vm_image", "no image for this VDU: give vm_image, or an image in "
                                     "Metadata.yaml that reaches one of its VIM instances")
            for i, vdu in enumerate(body.get("vdu", []))
            if not [name for name in vdu.get("vm_image") or [] if name]
        ]
        if issues:
            raise ValidationFailed(f"{len(issues)} VDUs have no image", errors=issues)
        body.setdefault("vendor", native.metadata.vendor)
        body.setdefault("version", native.metadata.version)
        return body

    def record(self, package: Package) -> Record:
        m = package.native.metadata
        return Record(meta=m.raw, nfvo_version=m.nfvo_version, vim_types=m.vim_types)


def _describe(package: openbaton.OpenBatonPackage, archive: PackageArchive) -> Package:
    m = package.metadata
    # Open Baton's duplicate key: same name, vendor, version, NFVO version, endpoint, OS and tag
    identity = (m.name, m.vendor, m.version, m.nfvo_version, package.vnfd.get("endpoint"), m.os_id, m.os_version,
                m.os_architecture, m.tag)
    named = tuple((name, package.vnfd_source.issue(f"/vdu/{i}/vimInstanceName/{j}", ""))
                  for i, vdu in enumerate(package.vnfd.get("vdu", []))
                  for j, name in enumerate(vdu.get("vimInstanceName") or []))
    types_at = Issue(f"vim_types {sorted(m.vim_types)} match no VIM instance", file=package.metadata_file,
                     pointer="/vim_types")
    return Package(
        format=OpenBatonFormat.name, identity=identity,
        describe=f"Package {m.name!r} (vendor {m.vendor!r}, version {m.version!r})",
        name=m.name, vendor=m.vendor, version=m.version, images=m.images, members=archive,
        vims=VimChoice(types=m.vim_types, types_at=types_at, named=named), warnings=package.warnings,
        native=package)


def summary(package: openbaton.OpenBatonPackage, name: str) -> list[str]:
    """Sentences on a valid Open Baton package, claiming only what an offline check can know."""
    metadata, vnfd = package.metadata, package.vnfd
    vdus = len(vnfd.get("vdu", []))
    if metadata.scripts_link is None:
        scripts = (f"its {len(package.scripts)} lifecycle script{'s are' if len(package.scripts) != 1 else ' is'} "
                   "in the package")
    else:
        scripts = f"its lifecycle scripts come from {metadata.scripts_link} (not fetched offline)"
    lines = [f"{name} is a valid Open Baton package.",
             f"  VNF {metadata.name} version {metadata.version} by {metadata.vendor or 'an unnamed vendor'} has "
             f"{vdus} VDU{'s' if vdus != 1 else ''} for VIM types {', '.join(metadata.vim_types) or 'of any kind'}; "
             f"{scripts}."]
    for image in metadata.images:
        lines.append(f"  Image {image.config.name if image.config else image.key} ({_image_plan(image)}).")
    return lines


def _image_plan(image) -> str:
    """What onboarding will do with an image, by its upload rule, without a VIM to ask."""
    lookup = " or ".join(f"{what}{'s' if len(values) != 1 else ''} {', '.join(values)}"
                         for what, values in (("id", image.ids), ("name", image.names)) if values)
    source = image.file or image.link
    if image.upload == "true":
        return f"uploaded from {source}"
    if image.upload == "check":
        return f"looked up on each VIM by {lookup}, else uploaded from {source}"
    return f"looked up on each VIM by {lookup}; it must be there"


__all__ = ["OpenBatonFormat", "summary"]
