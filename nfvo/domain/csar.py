"""ETSI NFV SOL004 VNF packages (CSAR zips): safe zip reading, TOSCA.meta, the manifest, hashes and signatures.

Two layouts are read (SOL004 clause 4.1):

* ``tosca-metadata``: ``TOSCA-Metadata/TOSCA.meta`` names the entry definitions, the manifest
  (``ETSI-Entry-Manifest``), the change log and optionally licenses, tests and a certificate.
* ``root-yaml``: no TOSCA-Metadata; exactly one ``*.yaml`` at the root, with a ``metadata``
  block (``template_name``, ``template_author``, ``template_version``), and the manifest
  ``<same name>.mf`` beside it (a certificate may be ``<same name>.cert``).

Every file of the package must be listed in the manifest with its hash (except the
manifest itself, TOSCA.meta, the certificate and signature files); every hash is verified
while the member is streamed in 1 MiB reads, images included, and so is each image's
``sw_image_data`` checksum.  Signatures are CMS (:mod:`nfvo.domain.cms`):

* security option 1: the manifest ends with a ``-----BEGIN CMS-----`` block signing the
  manifest text before it, and/or manifest entries name per-artifact ``Signature:`` files
  (and ``Certificate:`` files);
* security option 2: the zip holds only ``<name>.csar``, ``<name>.cms`` and optionally
  ``<name>.cert``; the CMS signs the inner CSAR, which is then read as above.

A signature that does not verify is an error; an unsigned package is valid (option None).
"""

from __future__ import annotations

import contextlib
import datetime
import difflib
import hashlib
import io
import math
import os
import pathlib
import posixpath
import re
import shutil
import stat
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass, field
from typing import BinaryIO
from urllib.parse import urlsplit

from cryptography import x509

from nfvo.domain import cms
from nfvo.domain.archive import ArchiveLimits, Member, MemberWindow, normalise_member_name
from nfvo.domain.images import ImageConfig, ImageRequest
from nfvo.domain.sources import load_yaml
from nfvo.domain.tosca import Vnfd, digest_name, hash_problem, read_vnfd
from nfvo.errors import Issue, NfvoError, UnsafeArchive, ValidationFailed
from nfvo.streams import CHUNK, copy_hashed

TOSCA_META = "TOSCA-Metadata/TOSCA.meta"
MAX_COMPRESSION_RATIO = 100  # uncompressed:compressed, per member
_RATIO_FLOOR = 1 << 20  # members smaller than this are never a bomb, whatever their ratio
MAX_ISSUES = 100
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_COMPRESSIONS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)

META_REQUIRED = ("TOSCA-Meta-File-Version", "CSAR-Version", "Created-By", "Entry-Definitions",
                 "ETSI-Entry-Manifest", "ETSI-Entry-Change-Log")
META_OPTIONAL = ("ETSI-Entry-Licenses", "ETSI-Entry-Tests", "ETSI-Entry-Certificate", "Other-Definitions")
META_VERSIONS = {"TOSCA-Meta-File-Version": ("1.0", "1.1"), "CSAR-Version": ("1.0", "1.1", "2.0")}
MANIFEST_REQUIRED = ("vnf_provider_id", "vnf_product_name", "vnf_release_date_time", "vnf_package_version")
MANIFEST_OPTIONAL = ("vnfd_id", "vnf_software_version", "compatible_specification_versions", "vnfm_info")
ROOT_YAML_METADATA = ("template_name", "template_author", "template_version")
_ENTRY_KEYS = ("Source", "Algorithm", "Hash", "Signature", "Certificate")


def is_zip(path: str | os.PathLike) -> bool:
    """Whether the file starts like a zip archive (a CSAR), by content, not by name."""
    with open(path, "rb") as f:
        return f.read(4) in _ZIP_MAGIC


# the zip ----------------------------------------------------------------------------
@dataclass(frozen=True)
class SignatureCheck:
    """A verified CMS signature: what it signs and the subject of the certificate that verified."""

    signed: str  # member (or "package" for security option 2)
    signature_file: str
    signer: str
    certificate_sha256: str


class CsarArchive:
    """A CSAR zip opened and checked entry by entry before anything is read."""

    def __init__(self, path: pathlib.Path, limits: ArchiveLimits, display_name: str, max_ratio: int):
        self.path = path
        self.limits = limits
        self.display_name = display_name
        self.max_ratio = max_ratio
        self.members: dict[str, Member] = {}
        self.package_signature: SignatureCheck | None = None  # security option 2
        self.outer_issues: list[Issue] = []  # a failed option-2 signature, reported by read_csar
        self._infos: dict[str, zipfile.ZipInfo] = {}
        self._zip: zipfile.ZipFile | None = None

    @classmethod
    def open(cls, path: str | os.PathLike, limits: ArchiveLimits = ArchiveLimits(), *,
             max_ratio: int = MAX_COMPRESSION_RATIO, display_name: str = "package",
             work_dir: str | os.PathLike | None = None) -> CsarArchive:
        """Open and check the zip at ``path``.

        Raises UnsafeArchive listing every bad entry at once (``Issue(file=<entry>)``): absolute
        paths, ``..``, symbolic links and other non-regular entries (zip external attributes),
        NUL/control characters or backslashes in names, duplicates, encrypted entries, unknown
        compression, entries sharing data, a member over ``max_ratio`` (for members over 1 MiB),
        too many members or a total size over the limits.  UnsafeArchive with one Issue when the
        file is not a readable zip.  A zip that holds only ``X.csar`` + ``X.cms`` (+ ``X.cert``) is
        security option 2: with ``work_dir`` the inner CSAR is extracted there (streamed, its
        digest taken on the way), the signature checked, and the inner CSAR opened and returned;
        a signature failure is kept in ``outer_issues`` for :func:`read_csar`.  Without
        ``work_dir`` such a zip is read as it is (and fails as a CSAR).
        """
        archive = cls(pathlib.Path(path), limits, display_name, max_ratio)
        try:
            archive._zip = zipfile.ZipFile(archive.path)
            archive._list()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError) as exc:
            archive.close()
            raise UnsafeArchive(f"package {display_name} is not a readable zip archive",
                                errors=[Issue(f"not a readable zip archive ({exc})", file=display_name)]) from None
        except BaseException:
            archive.close()
            raise
        outer = archive._signed_layout()
        if outer is None or work_dir is None:
            return archive
        with archive:
            return archive._open_signed(outer, pathlib.Path(work_dir))

    def files(self) -> list[str]:
        """Names of the regular files, sorted."""
        return sorted(name for name, m in self.members.items() if not m.is_dir)

    def exists(self, name: str) -> bool:
        """Whether ``name`` (normalised) is a regular file of the archive."""
        return normalise_member_name(name)[0] in self._infos

    def is_dir(self, name: str) -> bool:
        """Whether ``name`` is a folder: an entry of its own, or the parent of a member."""
        wanted = normalise_member_name(name)[0]
        return bool(wanted) and wanted not in self._infos and any(
            m == wanted or m.startswith(wanted + "/") for m in self.members)

    def read_text(self, name: str, *, max_size: int | None = None) -> str:
        """UTF-8 text of a regular member (a BOM is dropped).

        Raises UnsafeArchive when over ``max_size`` (default: the limits' ``max_text_size``),
        ValidationFailed when not UTF-8 or corrupt, KeyError when not a regular file.
        """
        info = self._info(name)
        limit = self.limits.max_text_size if max_size is None else max_size
        if info.file_size > limit:
            raise UnsafeArchive(f"{info.filename} in package {self.display_name} is too large to read as text",
                                errors=[Issue(f"larger than {limit} bytes, the limit for a text file",
                                              file=info.filename)])
        try:
            with self._zip.open(info) as stream:
                data = stream.read(info.file_size + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise ValidationFailed(f"{name} is corrupt", errors=[Issue(f"corrupt entry ({exc})", file=name)]) from None
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise ValidationFailed(f"{name} is not UTF-8 text",
                                   errors=[Issue("not UTF-8 text", file=name, line=line)]) from None

    def read_bytes(self, name: str) -> bytes:
        """Bytes of a small member (signatures, certificates), within the text size limit."""
        info = self._info(name)
        if info.file_size > self.limits.max_text_size:
            raise UnsafeArchive(f"{name} is too large", errors=[Issue("too large for a signature or certificate",
                                                                      file=name)])
        with self._zip.open(info) as stream:
            return stream.read(info.file_size + 1)

    def open_member(self, name: str) -> ContextManager[BinaryIO]:
        """A read-only stream of one regular member, never loaded whole; KeyError if there is none.

        A stored (uncompressed) member, such as an image, is read straight from the file on a
        handle of its own: its manifest hash is its integrity check, so zipfile's CRC-32 pass
        is skipped.  A compressed member goes through zipfile, which raises
        ``zipfile.BadZipFile`` or ``zlib.error`` while it is read when it is corrupt.
        """
        info = self._info(name)
        if info.compress_type == zipfile.ZIP_STORED:
            return self._open_stored(info)
        return self._zip.open(info)

    @contextlib.contextmanager
    def _open_stored(self, info: zipfile.ZipInfo) -> Iterator[BinaryIO]:
        with open(self.path, "rb") as raw:
            raw.seek(info.header_offset)
            header = raw.read(30)
            if len(header) != 30 or header[:4] != b"PK\x03\x04":
                raise zipfile.BadZipFile(f"bad local header of {info.filename}")
            skip = int.from_bytes(header[26:28], "little") + int.from_bytes(header[28:30], "little")
            raw.seek(info.header_offset + 30 + skip)
            # The default buffer: reads of CHUNK bypass it, and a CHUNK-sized one costs ~1 ms to set up.
            with io.BufferedReader(MemberWindow(raw, info.file_size, zipfile.BadZipFile)) as stream:
                yield stream

    def size_of(self, name: str) -> int:
        return self._info(name).file_size

    def close(self) -> None:
        """Release the file handle; idempotent."""
        if self._zip is not None:
            self._zip.close()
        self._zip = None

    def __enter__(self) -> CsarArchive:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _info(self, name: str) -> zipfile.ZipInfo:
        try:
            return self._infos[normalise_member_name(name)[0]]
        except KeyError:
            raise KeyError(f"no regular file {name!r} in package {self.display_name}") from None

    def _list(self) -> None:
        limits, issues, total = self.limits, [], 0
        infos = self._zip.infolist()
        if len(infos) > limits.max_members:
            raise UnsafeArchive(f"too many members in package {self.display_name}",
                                errors=[Issue(f"more than {limits.max_members} members", file=self.display_name)])
        for info in infos:
            shown = info.filename if info.filename.isprintable() else ascii(info.filename)[1:-1]
            name, problem = normalise_member_name(info.filename)
            problem = problem or _entry_problem(info, self.max_ratio)
            if problem or not name:
                issues.append(Issue(problem or "empty member name", file=shown))
                continue
            if name in self.members:
                issues.append(Issue("duplicate entry", file=name))
                continue
            is_dir = info.is_dir()
            total += 0 if is_dir else info.file_size
            if total > limits.max_total_size:
                issues.append(Issue(f"the members' total size exceeds {limits.max_total_size} bytes", file=name))
                break
            self.members[name] = Member(name, 0 if is_dir else info.file_size, is_dir)
            if not is_dir:
                self._infos[name] = info
        starts = sorted((i.header_offset, i.compress_size, i.filename) for i in self._infos.values())
        for (start, size, name), (following, _, _) in zip(starts, starts[1:], strict=False):
            if start + size > following:
                issues.append(Issue("its data overlaps another entry's", file=name))
        for name in self.members:
            parent = posixpath.dirname(name)
            while parent:
                if parent in self._infos:
                    issues.append(Issue(f"'{parent}' is a file, not a folder", file=name))
                    break
                parent = posixpath.dirname(parent)
        if issues:
            count = len(issues)
            raise UnsafeArchive(f"{count} unsafe member{'s' if count != 1 else ''} in package {self.display_name}",
                                errors=issues)

    # security option 2 ------------------------------------------------------------------
    def _signed_layout(self) -> tuple[str, str, str | None] | None:
        files = self.files()
        if "/" in "".join(files) or not 2 <= len(files) <= 3:
            return None
        csars = [f for f in files if f.lower().endswith(".csar")]
        if len(csars) != 1:
            return None
        base = csars[0][:-5]
        signature = next((f for f in files if f.lower() == f"{base.lower()}.cms"), None)
        certificate = next((f for f in files if f.lower() == f"{base.lower()}.cert"), None)
        if signature is None or len(files) != 2 + (certificate is not None):
            return None
        return csars[0], signature, certificate

    def _open_signed(self, outer: tuple[str, str, str | None], work_dir: pathlib.Path) -> CsarArchive:
        inner, signature_file, certificate_file = outer
        issues: list[Issue] = []
        signed = _load_signature(self, signature_file, issues)
        certificates = _load_certificate_file(self, certificate_file, issues) if certificate_file else ()
        digest = hashlib.new(signed.digest_algorithm) if signed else None
        target = work_dir / "inner.csar"
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        with self.open_member(inner) as source, os.fdopen(os.open(target, flags, 0o600), "wb") as out:
            copy_hashed(source, out, digest)
        check = None
        if signed is not None:
            try:
                cert = signed.verify(digest.digest(), certificates)
                check = _signature_check("package", signature_file, cert)
            except cms.CmsError as exc:
                issues.append(Issue(f"the package signature does not verify: {exc}", file=signature_file))
        archive = CsarArchive.open(target, self.limits, max_ratio=self.max_ratio,
                                   display_name=f"{self.display_name}:{inner}")
        archive.package_signature = check
        archive.outer_issues = issues
        return archive


def _entry_problem(info: zipfile.ZipInfo, max_ratio: int) -> str | None:
    mode = info.external_attr >> 16
    if info.create_system == 3 and mode:  # Unix attributes
        kind = stat.S_IFMT(mode)
        if kind == stat.S_IFLNK:
            return "symbolic link"
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            return "not a regular file or folder"
    if info.flag_bits & 0x1:
        return "encrypted entry"
    if info.compress_type not in _COMPRESSIONS:
        return f"unsupported compression method {info.compress_type}"
    if info.file_size > _RATIO_FLOOR and info.file_size > max_ratio * max(info.compress_size, 1):
        ratio = info.file_size // max(info.compress_size, 1)
        return f"compression ratio {ratio}:1 is over the limit of {max_ratio}:1 (zip bomb?)"
    return None


def _signature_check(signed: str, signature_file: str, cert: x509.Certificate) -> SignatureCheck:
    from cryptography.hazmat.primitives import hashes

    return SignatureCheck(signed, signature_file, cert.subject.rfc4514_string(),
                          cert.fingerprint(hashes.SHA256()).hex())


def _load_signature(archive: CsarArchive, name: str, issues: list[Issue], *, line: int | None = None,
                    file: str | None = None) -> cms.SignedData | None:
    try:
        return cms.load(archive.read_bytes(name))
    except cms.CmsError as exc:
        issues.append(Issue(f"signature {name}: {exc}", file=file or name, line=line))
    except NfvoError as exc:
        issues.extend(exc.errors)
    return None


def _load_certificate_file(archive: CsarArchive, name: str, issues: list[Issue], *, line: int | None = None,
                           file: str | None = None) -> tuple[x509.Certificate, ...]:
    try:
        return cms.load_certificates(archive.read_bytes(name))
    except cms.CmsError as exc:
        issues.append(Issue(f"certificate {name}: {exc}", file=file or name, line=line))
    except NfvoError as exc:
        issues.extend(exc.errors)
    return ()


# TOSCA.meta -------------------------------------------------------------------------
@dataclass(frozen=True)
class ToscaMeta:
    """TOSCA.meta: the first block's keys (spelled as in META_REQUIRED/META_OPTIONAL) and lines."""

    entries: dict[str, str]
    lines: dict[str, int]
    other_blocks: tuple[dict[str, str], ...]


_KEY_LINE = re.compile(r"^([A-Za-z0-9_.-]+)\s*:\s*(.*?)\s*$")


def _blocks(text: str) -> Iterator[list[tuple[int, str]]]:
    """Blocks of non-blank (line number, line) separated by blank lines."""
    block: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            block.append((number, line))
        elif block:
            yield block
            block = []
    if block:
        yield block


def parse_tosca_meta(text: str, file: str, archive: CsarArchive, issues: list[Issue]) -> ToscaMeta:
    """Read TOSCA.meta; every key of the first block is checked and every file it names must exist.

    Keys are matched in any case (``Created-by`` is ``Created-By``); an unknown key close to a
    known one is reported as a typo, other unknown keys are extensions and ignored.
    """
    known = META_REQUIRED + META_OPTIONAL
    entries: dict[str, str] = {}
    lines: dict[str, int] = {}
    others = []
    for index, block in enumerate(_blocks(text)):
        values: dict[str, str] = {}
        for number, line in block:
            match = _KEY_LINE.match(line)
            if not match:
                issues.append(Issue(f"not a 'Key: value' line: {line.strip()[:60]!r}", file, number))
                continue
            key, value = match.groups()
            if index == 0:
                canonical = next((k for k in known if k.lower() == key.lower()), None)
                if canonical is None:
                    close = difflib.get_close_matches(key, known, n=1, cutoff=0.8)
                    if close:
                        issues.append(Issue(f"unknown key '{key}' (did you mean '{close[0]}'?)", file, number,
                                            f"/{key}"))
                    continue
                key = canonical
            if key in values:
                issues.append(Issue(f"duplicate key '{key}'", file, number, f"/{key}"))
                continue
            if not value:
                issues.append(Issue(f"'{key}' has no value", file, number, f"/{key}"))
            values[key] = value
            if index == 0:
                lines[key] = number
        if index == 0:
            entries = values
        else:
            others.append(values)
            name = next((v for k, v in values.items() if k.lower() == "name"), None)
            if name is not None and name and not (archive.exists(name) or archive.is_dir(name)):
                number = block[0][0]
                issues.append(Issue(f"'{name}' is not in the package", file, number, "/Name"))
    first_line = min(lines.values(), default=1)
    for key in META_REQUIRED:
        if key not in entries:
            issues.append(Issue(f"'{key}' is required", file, first_line, f"/{key}"))
    for key, allowed in META_VERSIONS.items():
        if entries.get(key) and entries[key] not in allowed:
            issues.append(Issue(f"{key} must be {' or '.join(allowed)}, not {entries[key]!r}", file, lines[key],
                                f"/{key}"))
    checks = {"Entry-Definitions": (".yaml", ".yml"), "ETSI-Entry-Manifest": (".mf",)}
    for key, value in entries.items():
        if key in ("TOSCA-Meta-File-Version", "CSAR-Version", "Created-By") or not value:
            continue
        targets = value.split() if key == "Other-Definitions" else [value]
        for target in targets:
            name, problem = normalise_member_name(target)
            where = (file, lines[key], f"/{key}")
            if problem:
                issues.append(Issue(f"'{target}': {problem}", *where))
            elif key in checks and not name.lower().endswith(checks[key]):
                issues.append(Issue(f"'{target}' must be a {' or '.join(checks[key])} file", *where))
            elif not archive.exists(name) and not (key in ("ETSI-Entry-Licenses", "ETSI-Entry-Tests")
                                                   and archive.is_dir(name)):
                issues.append(Issue(f"'{target}' is not in the package", *where))
    normalised = {k: normalise_member_name(v)[0] if k != "Other-Definitions" else v for k, v in entries.items()}
    return ToscaMeta(normalised, lines, tuple(others))


# the manifest -----------------------------------------------------------------------
@dataclass(frozen=True)
class ManifestEntry:
    """One ``Source`` block: ``algorithm`` is the hashlib name, ``hash`` lower-case hex.

    ``source`` is a member name, or a URL (``is_url``) of an artifact outside the package.
    ``signature``/``certificate`` name per-artifact files in the package.  ``line`` is the
    block's first line, ``hash_line`` the line of ``Hash:``.
    """

    source: str
    algorithm: str
    hash: str
    line: int
    hash_line: int
    signature: str | None = None
    certificate: str | None = None

    @property
    def is_url(self) -> bool:
        return "://" in self.source


@dataclass(frozen=True)
class Manifest:
    """A parsed ``.mf``: metadata, entries, and the CMS block that may end it."""

    file: str
    metadata: dict[str, str]
    metadata_lines: dict[str, int]
    entries: tuple[ManifestEntry, ...]
    non_mano_artifacts: dict[str, tuple[str, ...]]
    signature: str | None = None  # the PEM text of the CMS block
    signature_line: int | None = None
    signed_text: bytes = b""  # the manifest bytes before the CMS block

    def entry(self, source: str) -> ManifestEntry | None:
        wanted = normalise_member_name(source)[0] or source
        return next((e for e in self.entries if e.source == wanted), None)


def parse_manifest(text: str, file: str, issues: list[Issue]) -> Manifest:
    """Parse a SOL004 manifest, appending an Issue (file, line) for each problem.

    Algorithms ``SHA-224/256/384/512`` are accepted in any case with or without the dash;
    hashes are hex in any case.  Every entry needs ``Source``, ``Algorithm`` and ``Hash``.
    """
    signature = signature_line = None
    signed_text = text.encode("utf-8")
    body = text
    begin = re.search(r"^-----BEGIN CMS-----[ \t]*\r?$", text, re.MULTILINE)
    if begin:
        signature_line = text.count("\n", 0, begin.start()) + 1
        end = re.search(r"^-----END CMS-----[ \t]*\r?$", text[begin.start():], re.MULTILINE)
        if end is None:
            issues.append(Issue("the CMS signature block has no -----END CMS----- line", file, signature_line))
        else:
            stop = begin.start() + end.end()
            signature = text[begin.start():stop]
            if text[stop:].strip():
                issues.append(Issue("nothing may follow the CMS signature block", file,
                                    text.count("\n", 0, stop) + 2))
        body = text[:begin.start()]
        signed_text = body.encode("utf-8")
    metadata: dict[str, str] = {}
    metadata_lines: dict[str, int] = {}
    entries: list[ManifestEntry] = []
    non_mano: dict[str, tuple[str, ...]] = {}
    sources: dict[str, int] = {}
    blocks = list(_blocks(body))
    if not blocks or blocks[0][0][1].strip() != "metadata:":
        issues.append(Issue("a manifest starts with a 'metadata:' block", file, blocks[0][0][0] if blocks else 1))
    for block in blocks:
        head = block[0][1].strip()
        if head == "metadata:":
            _manifest_metadata(block[1:], file, metadata, metadata_lines, issues)
        elif head == "non_mano_artifact_sets:":
            current = None
            for number, line in block[1:]:
                match = _KEY_LINE.match(line.strip())
                if match and not match.group(2) and line.startswith((" ", "\t")):
                    current = match.group(1)
                    non_mano[current] = ()
                elif match and match.group(1) == "Source" and current:
                    non_mano[current] += (match.group(2),)
                else:
                    issues.append(Issue(f"unexpected line in non_mano_artifact_sets: {line.strip()[:60]!r}",
                                        file, number))
        else:
            entry = _manifest_entry(block, file, issues)
            if entry is None:
                continue
            if entry.source in sources:
                issues.append(Issue(f"'{entry.source}' is listed twice (first at line {sources[entry.source]})",
                                    file, entry.line))
                continue
            sources[entry.source] = entry.line
            entries.append(entry)
    first = blocks[0][0][0] if blocks else 1
    for key in MANIFEST_REQUIRED:
        if key not in metadata:
            issues.append(Issue(f"metadata '{key}' is required", file, first, f"/metadata/{key}"))
    return Manifest(file, metadata, metadata_lines, tuple(entries), non_mano, signature, signature_line,
                    signed_text)


def _manifest_metadata(block: list[tuple[int, str]], file: str, metadata: dict[str, str],
                       lines: dict[str, int], issues: list[Issue]) -> None:
    known = MANIFEST_REQUIRED + MANIFEST_OPTIONAL
    for number, line in block:
        match = _KEY_LINE.match(line.strip())
        if not match:
            issues.append(Issue(f"not a 'name: value' line: {line.strip()[:60]!r}", file, number))
            continue
        key, value = match.groups()
        pointer = f"/metadata/{key}"
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.8)
            if close:
                issues.append(Issue(f"unknown metadata '{key}' (did you mean '{close[0]}'?)", file, number, pointer))
            continue
        if key in metadata:
            issues.append(Issue(f"duplicate metadata '{key}'", file, number, pointer))
            continue
        if not value:
            issues.append(Issue(f"metadata '{key}' has no value", file, number, pointer))
        elif key == "vnf_release_date_time" and not _rfc3339(value):
            issues.append(Issue(f"'{value}' is not an RFC 3339 date-time with a time zone "
                                "(e.g. 2024-05-01T12:00:00+00:00)", file, number, pointer))
        metadata[key] = value
        lines[key] = number


def _rfc3339(value: str) -> bool:
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return "T" in value.upper() and parsed.tzinfo is not None


def _manifest_entry(block: list[tuple[int, str]], file: str, issues: list[Issue]) -> ManifestEntry | None:
    values: dict[str, tuple[str, int]] = {}
    for number, line in block:
        match = _KEY_LINE.match(line.strip())
        if not match:
            issues.append(Issue(f"not a 'Key: value' line: {line.strip()[:60]!r}", file, number))
            continue
        key, value = match.groups()
        canonical = next((k for k in _ENTRY_KEYS if k.lower() == key.lower()), None)
        if canonical is None:
            close = difflib.get_close_matches(key, _ENTRY_KEYS, n=1, cutoff=0.7)
            if close:
                issues.append(Issue(f"unknown key '{key}' (did you mean '{close[0]}'?)", file, number))
            continue
        if canonical in values:
            issues.append(Issue(f"duplicate '{canonical}' in one entry", file, number))
            continue
        values[canonical] = (value, number)
    first = block[0][0]
    if "Source" not in values:
        issues.append(Issue("an entry needs a 'Source:' line", file, first))
        return None
    source, _ = values["Source"]
    if "://" in source:
        scheme = urlsplit(source).scheme
        if scheme not in ("http", "https"):
            issues.append(Issue(f"'{source}' is neither a path in the package nor an http(s) URL", file, first))
    else:
        normalised, problem = normalise_member_name(source)
        if problem or not normalised:
            issues.append(Issue(f"Source '{source}': {problem or 'empty path'}", file, first))
            return None
        source = normalised
    missing = [key for key in ("Algorithm", "Hash") if key not in values]
    if missing:
        issues.append(Issue(f"the entry of '{source}' has no {' and no '.join(f'{k}:' for k in missing)} line",
                            file, first))
        return None
    algorithm_text, algorithm_line = values["Algorithm"]
    algorithm = digest_name(algorithm_text)
    if algorithm is None:
        issues.append(Issue(f"unsupported algorithm {algorithm_text!r} (use SHA-224, SHA-256, SHA-384 or SHA-512)",
                            file, algorithm_line))
        return None
    hash_text, hash_line = values["Hash"]
    problem = hash_problem(algorithm, hash_text)
    if problem:
        issues.append(Issue(problem, file, hash_line))
        return None
    extra = {}
    for key in ("Signature", "Certificate"):
        if key in values:
            name, problem = normalise_member_name(values[key][0])
            if problem or not name:
                issues.append(Issue(f"{key} '{values[key][0]}': {problem or 'empty path'}", file, values[key][1]))
            else:
                extra[key.lower()] = name
    return ManifestEntry(source, algorithm, hash_text.lower(), first, hash_line, **extra)


# the package ------------------------------------------------------------------------
@dataclass(frozen=True)
class Security:
    """How the package is signed: SOL004 security ``option`` 1, 2, or None when unsigned."""

    option: int | None
    manifest_signature: SignatureCheck | None = None
    artifact_signatures: tuple[SignatureCheck, ...] = ()
    package_signature: SignatureCheck | None = None


@dataclass(frozen=True)
class CsarPackage:
    """A CSAR whose layout, TOSCA.meta, manifest, hashes, signatures and VNFD passed every check.

    ``images`` are the VDUs' software images as ImageRequests (one per distinct image; ``key``
    is the first VDU node using it, ``pointer`` its ``sw_image_data`` in ``vnfd_file_of``);
    an image with a file or URL is ``upload: check`` by its ``sw_image_data.name``, one without
    a SwImage artifact ``upload: false`` (it must already be on the VIM).
    """

    layout: str  # "tosca-metadata" or "root-yaml"
    entry_definitions: str
    tosca_meta: ToscaMeta | None
    manifest: Manifest
    vnfd: Vnfd
    images: tuple[ImageRequest, ...]
    security: Security
    hashes_verified: bool
    change_log: str | None
    licenses: str | None
    certificate: str | None
    files: tuple[str, ...]
    display_name: str = "package"
    image_sources: dict[str, str] = field(default_factory=dict)  # ImageRequest.key -> VNFD file

    @property
    def descriptor_id(self) -> str:
        return self.vnfd.descriptor_id

    @property
    def provider(self) -> str:
        return self.vnfd.provider

    @property
    def product_name(self) -> str:
        return self.vnfd.product_name

    @property
    def software_version(self) -> str:
        return self.vnfd.software_version

    @property
    def descriptor_version(self) -> str:
        return self.vnfd.descriptor_version

    @property
    def flavour_id(self) -> str:
        return self.vnfd.flavour_id

    def open_verified(self, archive: CsarArchive, name: str) -> ContextManager[BinaryIO]:
        """Stream a member listed in the manifest while verifying its manifest hash.

        The read that would return the member's last bytes raises ValidationFailed (Issue at
        the manifest's Hash line) instead when the hash differs, so a consumer never sees the
        whole of a wrong file.  Raises KeyError when ``name`` is not a listed member.
        """
        entry = self.manifest.entry(name)
        if entry is None or entry.is_url:
            raise KeyError(f"{name!r} is not a file listed in {self.manifest.file}")
        return _verified(archive, entry, self.manifest.file)


class VerifyingReader(io.RawIOBase):
    """A member stream that checks its digest before handing over its last bytes."""

    def __init__(self, stream: BinaryIO, size: int, entry: ManifestEntry, manifest_file: str):
        super().__init__()
        self._stream = stream
        self._left = size
        self._digest = hashlib.new(entry.algorithm)
        self._entry = entry
        self._manifest_file = manifest_file

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        want = self._left if size is None or size < 0 else min(size, self._left)
        data = self._stream.read(want)
        if not data:
            raise ValidationFailed(f"{self._entry.source} ended early",
                                   errors=[Issue("the member ended before its size", file=self._entry.source)])
        self._digest.update(data)
        self._left -= len(data)
        if self._left == 0 and self._digest.hexdigest() != self._entry.hash:
            raise ValidationFailed(f"{self._entry.source} does not match its hash in {self._manifest_file}",
                                   errors=[_hash_issue(self._entry, self._manifest_file, self._digest.hexdigest())])
        return data


@contextlib.contextmanager
def _verified(archive: CsarArchive, entry: ManifestEntry, manifest_file: str) -> Iterator[BinaryIO]:
    with archive.open_member(entry.source) as stream:
        yield VerifyingReader(stream, archive.size_of(entry.source), entry, manifest_file)


def _hash_issue(entry: ManifestEntry, manifest_file: str, actual: str) -> Issue:
    return Issue(f"{entry.source} has {entry.algorithm} {actual}, the manifest says {entry.hash}",
                 manifest_file, entry.hash_line)


class _Files:
    """The archive as tosca.read_vnfd sees it."""

    def __init__(self, archive: CsarArchive):
        self._archive = archive

    def exists(self, name: str) -> bool:
        return self._archive.exists(name)

    def read_text(self, name: str) -> str:
        return self._archive.read_text(name)


def read_csar(archive: CsarArchive, *, verify_hashes: bool = True,
              certificates: tuple[x509.Certificate, ...] = ()) -> CsarPackage:
    """Read and check every part of an opened CSAR; returns the package or raises once.

    With ``verify_hashes`` every listed member (images included) is streamed and its hash
    compared, and each image's ``sw_image_data`` checksum too; without, only the manifest
    signature is checked and members must be read with :meth:`CsarPackage.open_verified`.
    ``certificates`` are extra certificates signatures may be verified with.

    Raises ValidationFailed("<N> problems in package <display_name>") listing the first
    MAX_ISSUES problems (file, line, JSON pointer), or UnsafeArchive from the archive.
    """
    issues: list[Issue] = list(archive.outer_issues)
    files = archive.files()
    meta = None
    change_log = licenses = certificate = None
    if archive.exists(TOSCA_META):
        layout = "tosca-metadata"
        meta = _text_of(archive, TOSCA_META, issues, lambda text: parse_tosca_meta(text, TOSCA_META, archive, issues))
        entries = meta.entries if meta else {}
        entry = entries.get("Entry-Definitions")
        manifest_file = entries.get("ETSI-Entry-Manifest")
        change_log = entries.get("ETSI-Entry-Change-Log")
        licenses = entries.get("ETSI-Entry-Licenses")
        certificate = entries.get("ETSI-Entry-Certificate")
    else:
        layout = "root-yaml"
        entry, manifest_file, certificate = _root_yaml_layout(archive, files, issues)
    entry = entry if entry and archive.exists(entry) else None
    manifest_file = manifest_file if manifest_file and archive.exists(manifest_file) else None
    certificate = certificate if certificate and archive.exists(certificate) else None

    manifest = _text_of(archive, manifest_file, issues,
                        lambda text: parse_manifest(text, manifest_file, issues)) if manifest_file else None
    vnfd = read_vnfd(_Files(archive), entry, issues) if entry else None
    if layout == "root-yaml" and entry:
        _check_root_metadata(archive, entry, issues)
    if manifest and vnfd:
        _compare_identity(manifest, vnfd, issues)

    package_certs = _load_certificate_file(archive, certificate, issues) if certificate else ()
    trusted = package_certs + tuple(certificates)
    artifact_signatures: list[SignatureCheck] = []
    exempt = {TOSCA_META, manifest_file, certificate}
    if manifest:
        exempt |= {e.signature for e in manifest.entries} | {e.certificate for e in manifest.entries}
        _check_listing(archive, manifest, files, exempt, issues)
        if verify_hashes:
            artifact_signatures = _verify_contents(archive, manifest, vnfd, trusted, issues)
    manifest_signature = _verify_manifest_signature(manifest, trusted, issues) if manifest else None
    if issues:
        raise _validation_failed(issues, archive.display_name)
    option = 2 if archive.package_signature else (1 if manifest_signature or artifact_signatures else None)
    security = Security(option, manifest_signature, tuple(artifact_signatures), archive.package_signature)
    images, sources = image_requests(vnfd)
    return CsarPackage(layout, entry, meta, manifest, vnfd, images, security, verify_hashes, change_log, licenses,
                       certificate, tuple(files), archive.display_name, sources)


def _text_of(archive: CsarArchive, name: str, issues: list[Issue], parse):
    try:
        return parse(archive.read_text(name))
    except NfvoError as exc:
        issues.extend(exc.errors or [Issue(exc.detail, file=name)])
        return None


def _root_yaml_layout(archive: CsarArchive, files: list[str],
                      issues: list[Issue]) -> tuple[str | None, str | None, str | None]:
    roots = [f for f in files if "/" not in f and f.lower().endswith((".yaml", ".yml"))]
    if len(roots) != 1:
        found = f"found {len(roots)}: {', '.join(roots)}" if roots else "found none"
        issues.append(Issue(f"without {TOSCA_META} the package root must hold exactly one .yaml file ({found})",
                            file=roots[1] if len(roots) > 1 else TOSCA_META))
        return None, None, None
    base = roots[0].rsplit(".", 1)[0]
    manifest = f"{base}.mf"
    if not archive.exists(manifest):
        issues.append(Issue(f"the manifest {manifest} is missing (it must be named like {roots[0]})", file=manifest))
    certificate = f"{base}.cert" if archive.exists(f"{base}.cert") else None
    return roots[0], manifest, certificate


def _check_root_metadata(archive: CsarArchive, entry: str, issues: list[Issue]) -> None:
    try:
        doc = load_yaml(archive.read_text(entry), entry)
    except NfvoError:
        return  # reported by the VNFD reader
    data = doc.data if isinstance(doc.data, dict) else {}
    if data.get("tosca_definitions_version") == "tosca_simple_yaml_1_0":
        issues.append(doc.issue("/tosca_definitions_version", f"a package without {TOSCA_META} needs "
                                                              "tosca_simple_yaml_1_1 or later"))
    metadata = data.get("metadata")
    if not isinstance(metadata, dict):
        issues.append(doc.issue("/metadata", f"a package without {TOSCA_META} needs a metadata block with "
                                             f"{', '.join(ROOT_YAML_METADATA)}"))
        return
    for key in ROOT_YAML_METADATA:
        if metadata.get(key) in (None, ""):
            issues.append(doc.issue("/metadata", f"metadata '{key}' is required in a package without {TOSCA_META}"))


def _compare_identity(manifest: Manifest, vnfd: Vnfd, issues: list[Issue]) -> None:
    pairs = (("vnf_provider_id", "provider", vnfd.provider), ("vnf_product_name", "product_name", vnfd.product_name),
             ("vnf_software_version", "software_version", vnfd.software_version),
             ("vnfd_id", "descriptor_id", vnfd.descriptor_id))
    for key, prop, value in pairs:
        given = manifest.metadata.get(key)
        if given is not None and given != value:
            issues.append(Issue(f"{key} '{given}' differs from the VNFD's {prop} '{value}'", manifest.file,
                                manifest.metadata_lines.get(key), f"/metadata/{key}"))


def _check_listing(archive: CsarArchive, manifest: Manifest, files: list[str], exempt: set,
                   issues: list[Issue]) -> None:
    listed = set()
    for entry in manifest.entries:
        if entry.is_url:
            continue
        listed.add(entry.source)
        if not archive.exists(entry.source):
            issues.append(Issue(f"'{entry.source}' is listed but not in the package", manifest.file, entry.line))
        for key in ("signature", "certificate"):
            name = getattr(entry, key)
            if name and not archive.exists(name):
                issues.append(Issue(f"{key} file '{name}' of '{entry.source}' is not in the package", manifest.file,
                                    entry.line))
    for name in files:
        if name not in listed and name not in exempt:
            issues.append(Issue(f"not listed in the manifest {manifest.file}", file=name))


def _verify_contents(archive: CsarArchive, manifest: Manifest, vnfd: Vnfd | None,
                     trusted: tuple[x509.Certificate, ...], issues: list[Issue]) -> list[SignatureCheck]:
    """Stream every listed member once through each digest it needs; compare; check artifact signatures."""
    plan: dict[str, set[str]] = {}
    for entry in manifest.entries:
        if not entry.is_url and archive.exists(entry.source):
            plan.setdefault(entry.source, set()).add(entry.algorithm)
    images = [image for image in (vnfd.images if vnfd else ()) if image.file and archive.exists(image.file)]
    for image in images:
        plan.setdefault(image.file, set()).add(image.algorithm)
    signatures: dict[str, tuple[ManifestEntry, cms.SignedData]] = {}
    for entry in manifest.entries:
        if entry.signature and archive.exists(entry.signature) and entry.source in plan:
            signed = _load_signature(archive, entry.signature, issues, line=entry.line, file=manifest.file)
            if signed:
                signatures[entry.source] = (entry, signed)
                plan[entry.source].add(signed.digest_algorithm)
    digests = {name: _digest_member(archive, name, algorithms, issues) for name, algorithms in plan.items()}
    for entry in manifest.entries:
        found = digests.get(entry.source)
        if found and found[entry.algorithm].hex() != entry.hash:
            issues.append(_hash_issue(entry, manifest.file, found[entry.algorithm].hex()))
    for image in images:
        found = digests.get(image.file)
        if found and found[image.algorithm].hex() != image.hash:
            issues.append(Issue(f"{image.file} has {image.algorithm} {found[image.algorithm].hex()}, "
                                f"sw_image_data says {image.hash}", image.source_file, image.line,
                                f"{image.pointer}/checksum/hash"))
    checks = []
    for source, (entry, signed) in signatures.items():
        found = digests.get(source)
        if not found:
            continue
        extra = trusted
        if entry.certificate and archive.exists(entry.certificate):
            extra = _load_certificate_file(archive, entry.certificate, issues, line=entry.line,
                                           file=manifest.file) + trusted
        try:
            cert = signed.verify(found[signed.digest_algorithm], extra)
            checks.append(_signature_check(source, entry.signature, cert))
        except cms.CmsError as exc:
            issues.append(Issue(f"signature {entry.signature} of '{source}' does not verify: {exc}", manifest.file,
                                entry.line))
    return checks


def _digest_member(archive: CsarArchive, name: str, algorithms: set[str],
                   issues: list[Issue]) -> dict[str, bytes] | None:
    digests = [(a, hashlib.new(a)) for a in sorted(algorithms)]
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    try:
        with archive.open_member(name) as stream:
            while got := stream.readinto(buffer):
                for _, digest in digests:
                    digest.update(view[:got])
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        issues.append(Issue(f"corrupt entry ({exc})", file=name))
        return None
    return {a: d.digest() for a, d in digests}


def _verify_manifest_signature(manifest: Manifest, trusted: tuple[x509.Certificate, ...],
                               issues: list[Issue]) -> SignatureCheck | None:
    if manifest.signature is None:
        return None
    where = (manifest.file, manifest.signature_line)
    try:
        signed = cms.load(manifest.signature)
    except cms.CmsError as exc:
        issues.append(Issue(f"the manifest signature cannot be read: {exc}", *where))
        return None
    # The signed text is the manifest up to the CMS block; a signer may or may not have
    # included the line break that ends the last line before it.
    candidates = [manifest.signed_text]
    if manifest.signed_text.endswith(b"\n"):
        candidates.append(manifest.signed_text.rstrip(b"\r\n"))
    error = None
    for text in candidates:
        try:
            cert = signed.verify(hashlib.new(signed.digest_algorithm, text).digest(), trusted)
            return _signature_check(manifest.file, manifest.file, cert)
        except cms.CmsError as exc:
            error = error or exc
    issues.append(Issue(f"the manifest signature does not verify: {error}", *where))
    return None


def image_requests(vnfd: Vnfd) -> tuple[tuple[ImageRequest, ...], dict[str, str]]:
    """One ImageRequest per distinct software image of the VNFD, and the VNFD file of each key.

    Images with the same name, checksum and file/URL are one request (keyed by the first VDU
    node); ``min_disk`` becomes whole GiB and ``min_ram`` whole MiB, as VIMs count them.
    """
    requests: dict[tuple, ImageRequest] = {}
    sources: dict[str, str] = {}
    for image in vnfd.images:
        identity = (image.name, image.algorithm, image.hash, image.file, image.link)
        if identity in requests:
            continue
        config = ImageConfig(name=image.name, disk_format=image.disk_format.lower(),
                             container_format=image.container_format.lower(),
                             min_disk=math.ceil(image.min_disk / 2**30), min_ram=math.ceil(image.min_ram / 2**20))
        upload = "check" if (image.file or image.link) else "false"
        requests[identity] = ImageRequest(key=image.node, upload=upload, names=(image.name,), link=image.link,
                                          file=image.file, config=config, source_line=image.line,
                                          pointer=image.pointer)
        sources[image.node] = image.source_file
    return tuple(requests.values()), sources


def _validation_failed(issues: list[Issue], display_name: str) -> ValidationFailed:
    unique = list(dict.fromkeys(issues))
    count = len(unique)
    listed = sorted(unique, key=lambda i: (i.file or "", i.line or 0, i.pointer or "", i.message))[:MAX_ISSUES]
    if count > MAX_ISSUES:
        listed.append(Issue(f"{count - MAX_ISSUES} more problems were found; only the first {MAX_ISSUES} are listed"))
    return ValidationFailed(f"{count} problem{'s' if count != 1 else ''} in package {display_name}", errors=listed)


# building ---------------------------------------------------------------------------
def build_csar(directory: str | os.PathLike, out: str | os.PathLike) -> pathlib.Path:
    """Zip a CSAR directory into ``out`` (deflated, except files over 1 MiB that are stored,
    as images are already compressed).  Links are refused (ValueError); entries are sorted."""
    directory, out = pathlib.Path(directory), pathlib.Path(out)
    with zipfile.ZipFile(out, "w") as zf:
        for path in sorted(directory.rglob("*")):
            if path.is_symlink():
                raise ValueError(f"{path}: symbolic links cannot go into a package")
            if path.is_file():
                method = zipfile.ZIP_STORED if path.stat().st_size > _RATIO_FLOOR else zipfile.ZIP_DEFLATED
                info = zipfile.ZipInfo.from_file(path, path.relative_to(directory).as_posix())
                info.compress_type = method
                with open(path, "rb") as source, zf.open(info, "w") as target:
                    shutil.copyfileobj(source, target, CHUNK)
    return out

