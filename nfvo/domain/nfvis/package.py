"""An NFVIS package read from an opened archive: package.mf, image_properties.xml, bootstrap files, all checked.

Images are not read here: :attr:`NfvisPackage.unverified` names the members whose
checksums the caller verifies while it streams them (with
:func:`nfvo.domain.nfvis.manifest.new_digests` and ``check_digests``).
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import dataclass

from nfvo.domain import findings
from nfvo.domain.archive import ARTIFACT, DESCRIPTOR, IMAGE, PackageArchive
from nfvo.domain.nfvis.day0 import check_day0
from nfvo.domain.nfvis.manifest import MANIFEST, PackageManifest, check_digests, check_listing, parse_manifest
from nfvo.domain.nfvis.model import IMAGE_EXTENSIONS, ImageProperties
from nfvo.domain.nfvis.properties import IMAGE_PROPERTIES, SYSTEM_PROPERTIES, parse_properties
from nfvo.errors import WARNING, Issue, UnsafeArchive

_DESCRIPTORS = (MANIFEST, IMAGE_PROPERTIES, SYSTEM_PROPERTIES)
_EPHEMERAL = re.compile(r"^ephemeral_disk([1-9][0-9]*)_image$")


def nfvis_kind(name: str) -> str:
    """The archive kind of a member: the three XML files are descriptors, disk images
    (by extension, see IMAGE_EXTENSIONS) images, anything else (bootstrap files) an artifact."""
    if name in _DESCRIPTORS:
        return DESCRIPTOR
    return IMAGE if posixpath.splitext(name)[1].lower() in IMAGE_EXTENSIONS else ARTIFACT


@dataclass(frozen=True)
class NfvisPackage:
    """A package whose text parts passed every check; ``bootstrap_texts`` maps member name -> text."""

    manifest: PackageManifest
    properties: ImageProperties
    bootstrap_texts: dict[str, str]
    root_image: str
    ephemeral_images: tuple[tuple[int, str], ...]  # (N of ephemeral_disk<N>_image, member)
    unverified: tuple[str, ...]  # listed members whose digests the caller checks while streaming
    warnings: tuple[Issue, ...] = ()


def read_package(archive: PackageArchive, *, strict: bool = False) -> NfvisPackage:
    """Read and check package.mf, image_properties.xml (with system_generated_properties.xml),
    the bootstrap files and the day-0 contract of an opened archive (best opened with
    ``kind_of=nfvis_kind``); the text members' checksums are verified here.

    Raises ValidationFailed (see :func:`nfvo.domain.findings.settle`) when a finding is an
    error (or any is, under ``strict``); UnsafeArchive when a text member is over the
    archive's text limit.
    """
    issues: list[Issue] = []
    files = [f for f in archive.files() if not posixpath.basename(f).startswith("._")]
    computed: dict[str, dict[str, str]] = {}
    texts: dict[str, bytes] = {}
    for name in _DESCRIPTORS:
        if name in files:
            texts[name] = _read(archive, name, computed)
        elif name != SYSTEM_PROPERTIES:
            issues.append(Issue(f"{name} is missing from the package root", file=name))
    manifest, found = parse_manifest(texts[MANIFEST]) if MANIFEST in texts else (None, [])
    issues += found
    properties, found = (parse_properties(texts[IMAGE_PROPERTIES], system=texts.get(SYSTEM_PROPERTIES))
                         if IMAGE_PROPERTIES in texts else (None, []))
    issues += found
    bootstrap: dict[str, str] = {}
    for declared in properties.bootstrap_files if properties else ():
        if declared.source not in files:
            issues.append(Issue(f"bootstrap file '{declared.source}' is not in the package", properties.file,
                                declared.line, declared.pointer))
        elif declared.source not in bootstrap:
            text = _decode(_read(archive, declared.source, computed), declared.source, issues)
            if text is not None:
                bootstrap[declared.source] = text
    root_image, ephemeral, unverified = None, (), ()
    if manifest is not None:
        issues += check_listing(manifest, files)
        issues += check_digests(manifest, computed)
        root_image, ephemeral = _images(manifest, properties, issues)
        unverified = tuple(e.name for e in manifest.entries if e.name in files and e.name not in computed)
    if properties is not None:
        issues += check_day0(properties, bootstrap, report_missing=False)
    warnings = findings.settle(issues, archive.display_name, strict=strict)
    return NfvisPackage(manifest, properties, bootstrap, root_image, ephemeral, unverified, warnings)


def _read(archive: PackageArchive, name: str, computed: dict[str, dict[str, str]]) -> bytes:
    """The bytes of a text member (within the archive's text limit), hashed on the way."""
    limit = archive.limits.max_text_size
    if archive.members[name].size > limit:
        raise UnsafeArchive(f"{name} in package {archive.display_name} is too large to read as text",
                            errors=[Issue(f"larger than {limit} bytes, the limit for a text file", file=name)])
    with archive.open_member(name) as stream:
        data = stream.read(limit + 1)
    computed[name] = {"sha256": hashlib.sha256(data).hexdigest(), "sha1": hashlib.sha1(data).hexdigest()}
    return data


def _decode(data: bytes, name: str, issues: list[Issue]) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        issues.append(Issue("a bootstrap file must be UTF-8 text", name, data.count(b"\n", 0, exc.start) + 1))
        return None


def _images(manifest: PackageManifest, properties: ImageProperties | None,
            issues: list[Issue]) -> tuple[str | None, tuple[tuple[int, str], ...]]:
    """The root and ephemeral disk images package.mf names, checked against image_properties.xml."""
    roots = manifest.of_type("root_image")
    if not roots:
        issues.append(Issue("no File_Info of type root_image: the package names no root disk image", manifest.file))
    for extra in roots[1:]:
        issues.append(Issue(f"a second root_image '{extra.name}' (the first is '{roots[0].name}')", manifest.file,
                            extra.line, extra.pointer))
    ephemeral: list[tuple[int, str]] = []
    for entry in manifest.of_type("ephemeral_disk"):
        number = _EPHEMERAL.match(entry.type)
        if number:  # another type starting so is reported by parse_manifest
            ephemeral.append((int(number.group(1)), entry.name))
    checked = [(0, roots[0])] if roots else []
    checked += [(index, manifest.entry(name)) for index, name in ephemeral]
    disks = {0: properties.root_disk} if properties else {}
    disks.update({d.index: d for d in (properties.disks if properties else ())})
    for index, entry in checked:
        held = IMAGE_EXTENSIONS.get(posixpath.splitext(entry.name)[1].lower())
        disk = disks.get(index)
        if held is None:
            issues.append(Issue(f"'{entry.name}' is not a disk image nfvo knows: the name must end in "
                                f"{', '.join(IMAGE_EXTENSIONS)}", manifest.file, entry.line, entry.pointer))
        elif disk and disk.format and disk.format != held and not (held == "iso" and disk.format == "raw"):
            field = "root_image_disk_format" if index == 0 else f"disk_{index}_image_format"
            issues.append(Issue(f"'{entry.name}' holds {held} (by its name), but {field} is {disk.format}",
                                properties.file, disk.line, disk.pointer))
    have = {index for index, _ in ephemeral}
    for disk in properties.disks if properties else ():
        if disk.index not in have:
            issues.append(Issue(f"disk_{disk.index}_* describes ephemeral disk {disk.index}, but {manifest.file} "
                                f"has no ephemeral_disk{disk.index}_image", properties.file, disk.line, disk.pointer,
                                WARNING))
    return (roots[0].name if roots else None), tuple(sorted(ephemeral))
