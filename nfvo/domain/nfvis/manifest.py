"""``package.mf``, the checksum list of an NFVIS package: what each file's digest must be.

The file is XML: ``<PackageContents>`` holding one ``<File_Info>`` per file, each with
``<name>``, ``<type>`` and ``<sha256_checksum>`` (older packages: ``<sha1_checksum>``; some
give both, and both are checked).  An optional ``<Packaging_Version>`` is kept.

Findings (each with file, line and element path):

* ERROR: not XML or hostile XML, another root element, a File_Info without a name or with
  an unsafe one (``..``, absolute), without any checksum, a checksum that is not hex of the
  right length, the same file listed twice, a listed file absent from the package, a
  digest that does not match (:func:`check_digests`).
* WARNING: a file of the package that is not listed (its bytes are not verified), only a
  SHA-1 checksum, a ``<type>`` that is not one of ``FILE_TYPES``.

Digests are computed by whoever streams the members (:func:`new_digests` gives the hash
objects a member needs); :func:`check_digests` compares what they computed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from nfvo.domain.archive import normalise_member_name
from nfvo.domain.nfvis.xmltree import XmlElement, parse_xml
from nfvo.errors import WARNING, Issue

MANIFEST = "package.mf"
#: checksum element -> hashlib name, strongest first
CHECKSUMS = {"sha256_checksum": "sha256", "sha1_checksum": "sha1"}
_HEX_LENGTH = {"sha256": 64, "sha1": 40}
FILE_TYPES = ("root_image", "ephemeral_disk<N>_image", "image_properties", "system_generated_properties",
              "bootstrap_file", "bootstrap_file_<N>", "unknown")
_TYPE = re.compile(r"^(root_image|ephemeral_disk[1-9][0-9]*_image|image_properties|system_generated_properties"
                   r"|bootstrap_file(_[1-9][0-9]*)?|unknown)$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")


@dataclass(frozen=True)
class FileEntry:
    """One ``<File_Info>``: the member ``name`` (normalised), its ``type`` as written, and the
    expected ``digests`` (hashlib name -> lower-case hex), with the line and path of each;
    ``digests`` is empty when the entry's checksums are missing or malformed (reported)."""

    name: str
    type: str | None
    digests: dict[str, str]
    line: int
    pointer: str
    digest_lines: dict[str, tuple[int, str]]  # hashlib name -> (line, element path)


@dataclass(frozen=True)
class PackageManifest:
    """A parsed package.mf; ``entries`` in document order, each name once."""

    file: str
    entries: tuple[FileEntry, ...]
    packaging_version: str | None = None

    def entry(self, name: str) -> FileEntry | None:
        wanted = normalise_member_name(name)[0] or name
        return next((e for e in self.entries if e.name == wanted), None)

    def expected(self, name: str) -> dict[str, str]:
        """hashlib name -> expected hex digest of member ``name`` (empty when it is not listed)."""
        entry = self.entry(name)
        return dict(entry.digests) if entry else {}

    def of_type(self, prefix: str) -> list[FileEntry]:
        """Entries whose type starts with ``prefix`` (``root_image``, ``ephemeral_disk``, ``bootstrap_file``)."""
        return [e for e in self.entries if (e.type or "").startswith(prefix)]


def parse_manifest(data: bytes | str, file: str = MANIFEST) -> tuple[PackageManifest | None, list[Issue]]:
    """The manifest in ``data`` and every finding about it; None when it is not readable XML."""
    root, issues = parse_xml(data, file)
    if root is None:
        return None, issues
    if root.tag != "PackageContents":
        issues.append(root.issue(f"the root element must be <PackageContents>, not <{root.tag}>", file))
        return None, issues
    entries: list[FileEntry] = []
    seen: dict[str, FileEntry] = {}
    for info in root.named("File_Info"):
        entry = _entry(info, file, issues)
        if entry is None:
            continue
        first = seen.get(entry.name)
        if first is not None:
            issues.append(info.issue(f"'{entry.name}' is listed twice (first at line {first.line})", file))
            continue
        seen[entry.name] = entry
        entries.append(entry)
    for child in root.children:
        if child.tag not in ("File_Info", "Packaging_Version"):
            issues.append(child.issue(f"unknown element <{child.tag}> is ignored", file, severity=WARNING))
    version = root.child("Packaging_Version")
    return PackageManifest(file, tuple(entries), version.text if version is not None else None), issues


def _entry(info: XmlElement, file: str, issues: list[Issue]) -> FileEntry | None:
    name_element = info.child("name")
    if name_element is None or not name_element.text:
        issues.append(info.issue("a <File_Info> needs a <name>", file))
        return None
    name, problem = normalise_member_name(name_element.text)
    if problem or not name:
        issues.append(name_element.issue(f"file name '{name_element.text}': {problem or 'empty path'}", file))
        return None
    type_element = info.child("type")
    kind = type_element.text if type_element is not None else None
    if type_element is not None and not _TYPE.match(kind):
        issues.append(type_element.issue(f"unknown file type '{kind}' (known: {', '.join(FILE_TYPES)})", file,
                                         severity=WARNING))
    digests: dict[str, str] = {}
    lines: dict[str, tuple[int, str]] = {}
    for tag, algorithm in CHECKSUMS.items():
        element = info.child(tag)
        if element is None:
            continue
        value = element.text
        if not _HEX.match(value) or len(value) != _HEX_LENGTH[algorithm]:
            issues.append(element.issue(f"the {algorithm} checksum of '{name}' must be {_HEX_LENGTH[algorithm]} "
                                        f"hex digits (got {value[:80]!r})", file))
            continue
        digests[algorithm] = value.lower()
        lines[algorithm] = (element.line, element.path)
    written = {c.tag for c in info.children}
    if not written & set(CHECKSUMS):
        issues.append(info.issue(f"'{name}' has no <sha256_checksum> (nor <sha1_checksum>)", file))
    elif "sha256_checksum" not in written:
        issues.append(info.issue(f"'{name}' has only a SHA-1 checksum, which a forger can match: give "
                                 "<sha256_checksum>", file, severity=WARNING))
    return FileEntry(name, kind, digests, info.line, info.path, lines)


def check_listing(manifest: PackageManifest, members: Iterable[str]) -> list[Issue]:
    """Listed files absent from ``members`` (ERROR at their File_Info) and members not listed
    (WARNING at the member); ``members`` are the package's regular files, package.mf excluded
    by name and macOS ``._*`` companions ignored."""
    present = {normalise_member_name(m)[0] or m for m in members}
    issues = [Issue(f"'{e.name}' is listed but not in the package", manifest.file, e.line, e.pointer)
              for e in manifest.entries if e.name not in present]
    listed = {e.name for e in manifest.entries}
    for name in sorted(present - listed):
        if name == manifest.file or name.rsplit("/", 1)[-1].startswith("._"):
            continue
        issues.append(Issue(f"not listed in {manifest.file}: its checksum is not verified", name,
                            severity=WARNING))
    return issues


def new_digests(manifest: PackageManifest, name: str) -> dict[str, hashlib._Hash]:
    """Fresh hashlib objects for every algorithm member ``name`` is listed with (empty when not listed):
    feed each chunk streamed to all of them, then pass their hexdigests to :func:`check_digests`."""
    return {algorithm: hashlib.new(algorithm) for algorithm in manifest.expected(name)}


def check_digests(manifest: PackageManifest, computed: Mapping[str, Mapping[str, str]]) -> list[Issue]:
    """An ERROR for every digest in ``computed`` (member name -> {hashlib name: hex digest}) that
    differs from the manifest, at the checksum's line and path.  Members and algorithms that
    ``computed`` lacks are not judged: the caller decides what it streamed."""
    issues = []
    for name, digests in computed.items():
        entry = manifest.entry(name)
        if entry is None:
            continue
        for algorithm, expected in entry.digests.items():
            actual = digests.get(algorithm)
            if actual is not None and actual.lower() != expected:
                line, pointer = entry.digest_lines[algorithm]
                issues.append(Issue(f"{entry.name} has {algorithm} {actual.lower()}, {manifest.file} says {expected}",
                                    manifest.file, line, pointer))
    return issues
