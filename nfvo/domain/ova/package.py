"""OVA archives read from an opened :class:`~nfvo.domain.archive.PackageArchive`: an ``.ovf``, its manifest, its files.

An OVA is a tar whose first member is the ``.ovf`` descriptor, optionally followed by a ``.mf``
manifest and a ``.cert`` certificate of the same base name, then the files (disk images) the
descriptor's ``References`` name.  The manifest has one line per file,
``SHA256(disk1.vmdk)= <hex>`` (also ``SHA1``/``SHA512``, a space before ``=`` accepted).

:func:`read_ova` reads the descriptor and the manifest and verifies the descriptor's own digest;
disk images are not read: :attr:`OvaFile.expected` says which digests each must have, and
:meth:`Ova.open_file` (or :func:`verifying` over any stream of the member) checks them while the
caller streams it, raising ValidationFailed on the read that reaches its end.

Findings (with :func:`read_ovf`'s about the descriptor):

* ERROR: no ``.ovf`` at the root, or several; a referenced File that is not a member, or whose member
  has another size than its ``ovf:size``; a manifest line that is not ``ALGORITHM(name)= hex``, with
  an algorithm other than SHA1/SHA256/SHA512, a digest of the wrong length, an unsafe name, the same
  name and algorithm twice, or naming no member; the descriptor's bytes not matching the manifest.
* WARNING: the ``.ovf`` not the first member; no manifest (nothing is verified); a manifest named
  otherwise than ``<descriptor base>.mf``; a SHA-1 digest; a referenced file the manifest does not
  list; a certificate (its signature is not verified); a member the descriptor does not reference.
"""

from __future__ import annotations

import contextlib
import hashlib
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from nfvo.domain import findings
from nfvo.domain.archive import DESCRIPTOR, IMAGE, PackageArchive, normalise_member_name
from nfvo.domain.ova.descriptor import check_href, read_ovf
from nfvo.domain.ova.model import OvfDescriptor, OvfDisk, OvfRecord
from nfvo.errors import WARNING, Issue, UnsafeArchive, ValidationFailed
from nfvo.streams import VerifyingReader

OVF_SUFFIX, MANIFEST_SUFFIX, CERTIFICATE_SUFFIX = ".ovf", ".mf", ".cert"
#: manifest algorithm -> hashlib name
ALGORITHMS = {"SHA1": "sha1", "SHA256": "sha256", "SHA512": "sha512"}
_HEX_LENGTH = {"sha1": 40, "sha256": 64, "sha512": 128}
_LINE = re.compile(r"^([A-Za-z0-9-]+)\s*\((.*)\)\s*=\s*(\S*)$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")


def ova_kind(name: str) -> str:
    """The archive kind of an OVA member: ``.ovf``, ``.mf`` and ``.cert`` files are descriptors
    (the text size limit), everything else an image."""
    return DESCRIPTOR if posixpath.splitext(name)[1].lower() in (OVF_SUFFIX, MANIFEST_SUFFIX, CERTIFICATE_SUFFIX) \
        else IMAGE


@dataclass(frozen=True)
class ManifestEntry:
    """One manifest line: member ``name`` (normalised), hashlib ``algorithm``, lower-case hex ``digest``."""

    name: str
    algorithm: str
    digest: str
    file: str
    line: int


@dataclass(frozen=True)
class OvaFile:
    """A File of the descriptor and the member holding it: its ``size`` in bytes, the manifest
    lines it must match (``expected``, empty when not listed) and the Disk it backs, if any."""

    member: str
    size: int
    expected: tuple[ManifestEntry, ...]
    disk: OvfDisk | None

    @property
    def digests(self) -> dict[str, str]:
        """hashlib name -> expected lower-case hex digest."""
        return {e.algorithm: e.digest for e in self.expected}


@dataclass(frozen=True)
class Ova:
    """An OVA that passed :func:`read_ova`: the descriptor member ``ovf``, the manifest member (or
    None), the referenced ``files`` in References order, each File's size filled from its member."""

    ovf: str
    descriptor: OvfDescriptor
    manifest: str | None
    files: tuple[OvaFile, ...]
    warnings: tuple[Issue, ...] = ()

    @property
    def disks(self) -> tuple[OvaFile, ...]:
        """The files that back a Disk, the boot disk first, the others in DiskSection order."""
        order = {d.disk_id: (not d.boot, i) for i, d in enumerate(self.descriptor.disks)}
        return tuple(sorted((f for f in self.files if f.disk), key=lambda f: order[f.disk.disk_id]))

    def record(self) -> OvfRecord:
        return self.descriptor.record()

    def file(self, member: str) -> OvaFile:
        """The referenced file held by ``member``; KeyError when the descriptor references no such file."""
        wanted = normalise_member_name(member)[0] or member
        found = next((f for f in self.files if f.member == wanted), None)
        if found is None:
            raise KeyError(f"{member!r} is not a file the descriptor references")
        return found

    @contextlib.contextmanager
    def open_file(self, archive: PackageArchive, member: str) -> Iterator[BinaryIO]:
        """The bytes of referenced file ``member`` from ``archive``, verified while read (:func:`verifying`)."""
        file = self.file(member)
        with archive.open_member(file.member) as stream:
            yield verifying(stream, file)


def verifying(stream: BinaryIO, file: OvaFile) -> BinaryIO:
    """``stream`` (the bytes of ``file``'s member) hashed on the way with every algorithm the manifest
    lists for it; the read that reaches its ``size`` raises ValidationFailed (an Issue at each wrong
    manifest line) when a digest differs, and a stream that ends early raises ValidationFailed.  A
    file the manifest does not list is returned unwrapped.  A consumer that stops before the end
    verifies nothing."""
    if not file.expected:
        return stream

    def check(digests: dict[str, str]) -> None:
        wrong = [e for e in file.expected if digests[e.algorithm] != e.digest]
        if wrong:
            raise ValidationFailed(
                f"{file.member} does not match {wrong[0].file}",
                errors=[Issue(f"{file.member} has {e.algorithm} {digests[e.algorithm]}, {e.file} says {e.digest}",
                              e.file, e.line) for e in wrong])

    def short() -> ValidationFailed:
        return ValidationFailed(f"{file.member} ended early",
                                errors=[Issue(f"the member ended before its {file.size} bytes", file=file.member)])

    return VerifyingReader(stream, file.size, sorted(file.digests), check, short)


def read_manifest(text: str, file: str) -> tuple[tuple[ManifestEntry, ...], list[Issue]]:
    """The entries of manifest ``text`` (member ``file``) in order, and every finding about its lines."""
    entries: list[ManifestEntry] = []
    seen: dict[tuple[str, str], int] = {}
    issues: list[Issue] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        match = _LINE.match(line)
        if not match:
            issues.append(Issue(f"not a manifest line 'ALGORITHM(file)= digest': {line[:80]!r}", file, number))
            continue
        written, raw_name, digest = match.groups()
        algorithm = ALGORITHMS.get(written.upper().replace("-", ""))
        if algorithm is None:
            issues.append(Issue(f"digest algorithm {written!r} is not accepted (use SHA256; SHA1 and SHA512 are "
                                "read)", file, number))
            continue
        name, problem = normalise_member_name(raw_name.strip())
        if problem or not name:
            issues.append(Issue(f"file name {raw_name!r}: {problem or 'empty'}", file, number))
            continue
        if not _HEX.match(digest) or len(digest) != _HEX_LENGTH[algorithm]:
            issues.append(Issue(f"the {written} digest of {name} must be {_HEX_LENGTH[algorithm]} hex digits "
                                f"(got {digest[:80]!r})", file, number))
            continue
        if (name, algorithm) in seen:
            issues.append(Issue(f"{written}({name}) is given twice (first at line {seen[name, algorithm]})", file,
                                number))
            continue
        if algorithm == "sha1":
            issues.append(Issue(f"{name} has only a SHA-1 digest, which a forger can match: give SHA256", file,
                                number, severity=WARNING))
        seen[name, algorithm] = number
        entries.append(ManifestEntry(name, algorithm, digest.lower(), file, number))
    return tuple(entries), issues


def read_ova(archive: PackageArchive, *, strict: bool = False) -> Ova:
    """Read and check the OVA in ``archive`` (best opened with ``kind_of=ova_kind``): its descriptor,
    manifest and the presence and sizes of the referenced files; the descriptor's digest is verified
    here, the files' are left to whoever streams them (:meth:`Ova.open_file`).

    Raises ValidationFailed (see :func:`nfvo.domain.findings.settle`) listing every finding when one
    is an error (or any is, under ``strict``); UnsafeArchive when the descriptor or manifest is over
    the archive's text limit.
    """
    issues: list[Issue] = []
    regular = [m for m in archive.members.values() if not m.is_dir]
    descriptors = [m.name for m in regular if "/" not in m.name and m.name.lower().endswith(OVF_SUFFIX)]
    if not descriptors:
        issues.append(Issue("no .ovf descriptor at the root of the OVA", file=archive.display_name))
        findings.settle(issues, archive.display_name, strict=strict)
    ovf = descriptors[0]
    issues += [Issue(f"a second .ovf descriptor (the first is {ovf}): an OVA holds one", file=extra)
               for extra in descriptors[1:]]
    if regular[0].name != ovf:
        issues.append(Issue(f"the descriptor is not the first member of the OVA ({regular[0].name} is): the OVF "
                            "specification requires it first", file=ovf, severity=WARNING))
    data = _read(archive, ovf)
    descriptor, found = read_ovf(data, ovf)
    issues += found
    manifest, entries = _manifest(archive, ovf, issues)
    certificate = _companion(archive, ovf, CERTIFICATE_SUFFIX)
    if certificate:
        issues.append(Issue("the certificate's signature of the manifest is not verified by nfvo", file=certificate,
                            severity=WARNING))
    by_name: dict[str, list[ManifestEntry]] = {}
    for entry in entries:
        by_name.setdefault(entry.name, []).append(entry)
        if entry.name not in archive.members or archive.members[entry.name].is_dir:
            issues.append(Issue(f"lists {entry.name}, which is not a file of the OVA", entry.file, entry.line))
    issues += _check_descriptor_digest(ovf, data, by_name.get(ovf, []))
    files: list[OvaFile] = []
    if descriptor is not None:
        sizes = {}
        disks = {d.file.id: d for d in descriptor.disks if d.file}
        for ref in descriptor.files:
            if check_href(ref.href)[1]:
                continue  # reported by read_ovf
            member = archive.members.get(ref.href)
            if member is None or member.is_dir:
                issues.append(Issue(f"{ref.href!r} is referenced but is not a file of the OVA", ovf, ref.line,
                                    ref.pointer))
                continue
            if ref.size is not None and member.size != ref.size:
                issues.append(Issue(f"{ref.href} is {member.size} bytes in the OVA, its ovf:size says {ref.size}",
                                    ovf, ref.line, f"{ref.pointer}/@size"))
            if manifest and ref.href not in by_name:
                issues.append(Issue(f"not listed in {manifest}: its digest is not verified", file=ref.href,
                                    severity=WARNING))
            sizes[ref.href] = member.size
            files.append(OvaFile(ref.href, member.size, tuple(by_name.get(ref.href, ())), disks.get(ref.id)))
        descriptor = descriptor.with_sizes(sizes)
        known = {*descriptors, manifest, certificate, *(f.href for f in descriptor.files)}
        issues += [Issue("not referenced by the descriptor: not imported", file=m.name, severity=WARNING)
                   for m in regular if m.name not in known]
    warnings = findings.settle(issues, archive.display_name, strict=strict)
    return Ova(ovf, descriptor, manifest, tuple(files), warnings)


def _read(archive: PackageArchive, name: str) -> bytes:
    """The bytes of a descriptor member, within the archive's text limit."""
    limit = archive.limits.max_text_size
    if archive.members[name].size > limit:
        raise UnsafeArchive(f"{name} in package {archive.display_name} is too large to read as text",
                            errors=[Issue(f"larger than {limit} bytes, the limit for a text file", file=name)])
    with archive.open_member(name) as stream:
        return stream.read(limit + 1)


def _companion(archive: PackageArchive, ovf: str, suffix: str) -> str | None:
    """The root member ``<ovf base><suffix>``, else the only root member ending in ``suffix``."""
    wanted = ovf[: -len(OVF_SUFFIX)] + suffix
    if wanted in archive.members:
        return wanted
    others = [n for n, m in archive.members.items() if not m.is_dir and "/" not in n and n.lower().endswith(suffix)]
    return others[0] if len(others) == 1 else None


def _manifest(archive: PackageArchive, ovf: str, issues: list[Issue]) -> tuple[str | None, tuple[ManifestEntry, ...]]:
    name = _companion(archive, ovf, MANIFEST_SUFFIX)
    if name is None:
        issues.append(Issue("the OVA has no manifest (.mf): the descriptor and disks are not verified",
                            file=archive.display_name, severity=WARNING))
        return None, ()
    expected = ovf[: -len(OVF_SUFFIX)] + MANIFEST_SUFFIX
    if name != expected:
        issues.append(Issue(f"the manifest is named {name}, not {expected} as the OVF specification says; read anyway",
                            file=name, severity=WARNING))
    try:
        text = archive.read_text(name)
    except ValidationFailed as exc:
        issues += exc.errors
        return name, ()
    entries, found = read_manifest(text, name)
    issues += found
    return name, entries


def _check_descriptor_digest(ovf: str, data: bytes, entries: list[ManifestEntry]) -> list[Issue]:
    issues = []
    for entry in entries:
        actual = hashlib.new(entry.algorithm, data).hexdigest()
        if actual != entry.digest:
            issues.append(Issue(f"{ovf} has {entry.algorithm} {actual}, {entry.file} says {entry.digest}", entry.file,
                                entry.line))
    return issues
