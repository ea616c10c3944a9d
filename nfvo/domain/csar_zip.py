"""A CSAR zip opened safely: every entry checked before any is read, members streamed within
their limits, and the CMS signature files it holds loaded (SOL004 security options 1 and 2)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import pathlib
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass
from typing import BinaryIO

from cryptography import x509

from nfvo.domain import cms
from nfvo.domain.archive import (
    ARTIFACT,
    DESCRIPTOR,
    IMAGE,
    PACKAGE,
    ArchiveLimits,
    LimitedReader,
    Member,
    MemberWindow,
    normalise_member_name,
    over_limit,
    under_a_file,
)
from nfvo.errors import Issue, NfvoError, UnsafeArchive, ValidationFailed
from nfvo.streams import copy_hashed

_DESCRIPTOR_SUFFIXES = (".meta", ".mf", ".yaml", ".yml", ".cert", ".cms")
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_COMPRESSIONS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)


def is_zip(path: str | os.PathLike) -> bool:
    """Whether the file starts like a zip archive (a CSAR), by content, not by name."""
    with open(path, "rb") as f:
        return f.read(4) in _ZIP_MAGIC


@dataclass(frozen=True)
class SignatureCheck:
    """A verified CMS signature: what it signs and the subject of the certificate that verified."""

    signed: str  # member (or "package" for security option 2)
    signature_file: str
    signer: str
    certificate_sha256: str


class CsarArchive:
    """A CSAR zip opened and checked entry by entry before anything is read."""

    def __init__(self, path: pathlib.Path, limits: ArchiveLimits, display_name: str,
                 opener: Callable[[], BinaryIO] | None = None):
        self.path = path
        self._opener = opener or (lambda: open(self.path, "rb"))
        self._file: BinaryIO | None = None
        self.limits = limits
        self.display_name = display_name
        self.images: frozenset[str] | None = None  # the sw image files, once the VNFD is read
        self.members: dict[str, Member] = {}
        self.package_signature: SignatureCheck | None = None  # security option 2
        self.outer_issues: list[Issue] = []  # a failed option-2 signature, reported by read_csar
        self._infos: dict[str, zipfile.ZipInfo] = {}
        self._zip: zipfile.ZipFile | None = None

    @classmethod
    def open(cls, path: str | os.PathLike, limits: ArchiveLimits = ArchiveLimits(), *,
             display_name: str = "package", work_dir: str | os.PathLike | None = None,
             opener: Callable[[], BinaryIO] | None = None) -> CsarArchive:
        """Open and check the zip at ``path`` (or, with ``opener``, the zip each of its calls opens
        anew as a seekable binary file: a blob of a content store; ``path`` then only names it).

        Raises UnsafeArchive listing every bad entry at once (``Issue(file=<entry>)``): absolute
        paths, ``..``, symbolic links and other non-regular entries (zip external attributes),
        NUL/control characters or backslashes in names, duplicates, encrypted entries, unknown
        compression, a stored entry whose two sizes differ, entries sharing data, too many
        members, a member over its kind's limit (see :meth:`kind_of`; by the zip directory's
        size here, and again while it is read) or a total size over the limits.  No compression
        ratio is judged.  UnsafeArchive with one Issue when the
        file is not a readable zip.  A zip that holds only ``X.csar`` + ``X.cms`` (+ ``X.cert``) is
        security option 2: with ``work_dir`` the inner CSAR is extracted there (streamed, its
        digest taken on the way), the signature checked, and the inner CSAR opened and returned;
        a signature failure is kept in ``outer_issues`` for :func:`read_csar`.  Without
        ``work_dir`` such a zip is read as it is (and fails as a CSAR).
        """
        archive = cls(pathlib.Path(path), limits, display_name, opener)
        try:
            archive._file = archive._opener()
            archive._zip = zipfile.ZipFile(archive._file)
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
            with self._open_limited(info, crc=True) as stream:
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
        with self._open_limited(info, crc=True) as stream:
            return stream.read(info.file_size + 1)

    def open_member(self, name: str) -> ContextManager[BinaryIO]:
        """A read-only stream of one regular member, never loaded whole; KeyError if there is none.

        A stored (uncompressed) member, such as an image, is read straight from the file on a
        handle of its own: its manifest hash is its integrity check, so zipfile's CRC-32 pass
        is skipped.  A compressed member goes through zipfile, which raises
        ``zipfile.BadZipFile`` or ``zlib.error`` while it is read when it is corrupt.  Either
        raises UnsafeArchive on the read that would pass the limit of the member's kind
        (:meth:`kind_of`) or its directory size, so a lying directory or a bomb stops there.
        """
        return self._open_limited(self._info(name))

    @contextlib.contextmanager
    def _open_limited(self, info: zipfile.ZipInfo, *, crc: bool = False) -> Iterator[BinaryIO]:
        """The member's stream bounded by its kind's limit; ``crc``: through zipfile even when stored."""
        name = normalise_member_name(info.filename)[0]
        kind = self.kind_of(name)
        stored = info.compress_type == zipfile.ZIP_STORED and not crc
        opened = self._open_stored(info) if stored else self._zip.open(info)
        with opened as raw:
            yield LimitedReader(raw, name=name, kind=kind, limit=self._limit(kind), declared=info.file_size,
                                package=self.display_name)

    def kind_of(self, name: str) -> str:
        """Which limit applies to member ``name``: TOSCA.meta, the manifest, YAML, certificates and
        CMS files are descriptors; a root ``*.csar`` (security option 2) a whole package; the VNFD's
        software image files images; the rest artifacts.  Until :meth:`set_images` is called
        (before the VNFD is read) a file that is not a descriptor is an image or an artifact,
        and the larger of the two limits applies."""
        lowered = name.lower()
        if lowered.startswith("tosca-metadata/") or lowered.endswith(_DESCRIPTOR_SUFFIXES):
            return DESCRIPTOR
        if "/" not in name and lowered.endswith(".csar"):
            return PACKAGE
        if self.images is None:
            return IMAGE if self.limits.max_image_size >= self.limits.max_artifact_size else ARTIFACT
        return IMAGE if name in self.images else ARTIFACT

    def set_images(self, files) -> None:
        """Record the VNFD's software image ``files``: from now on every other file that is not a
        descriptor has the artifact limit.  Raises UnsafeArchive listing each member whose size
        is over its limit now."""
        self.images = frozenset(normalise_member_name(f)[0] for f in files)
        issues = []
        for name, member in list(self.members.items()):
            if member.is_dir:
                continue
            kind = self.kind_of(name)
            self.members[name] = Member(name, member.size, False, kind)
            if member.size > self._limit(kind):
                issues.append(over_limit(name, kind, self._limit(kind)))
        if issues:
            count = len(issues)
            raise UnsafeArchive(f"{count} member{'s' if count != 1 else ''} of package {self.display_name} "
                                "over the size limit", errors=issues)

    def _limit(self, kind: str) -> int:
        return self.limits.of(kind)

    @contextlib.contextmanager
    def _open_stored(self, info: zipfile.ZipInfo) -> Iterator[BinaryIO]:
        with self._opener() as raw:
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
        if self._file is not None:
            self._file.close()
        self._zip = self._file = None

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
            problem = problem or _entry_problem(info)
            if problem or not name:
                issues.append(Issue(problem or "empty member name", file=shown))
                continue
            if name in self.members:
                issues.append(Issue("duplicate entry", file=name))
                continue
            is_dir = info.is_dir()
            total += 0 if is_dir else info.file_size
            if total > limits.max_total_size:
                issues.append(Issue(f"the members' total size exceeds {limits.max_total_size} bytes "
                                    "(NFVO_MAX_PACKAGE_SIZE)", file=name))
                break
            kind = self.kind_of(name)
            if not is_dir and info.file_size > self._limit(kind):
                issues.append(over_limit(name, kind, self._limit(kind)))
                continue
            self.members[name] = Member(name, 0 if is_dir else info.file_size, is_dir, kind)
            if not is_dir:
                self._infos[name] = info
        starts = sorted((i.header_offset, i.compress_size, i.filename) for i in self._infos.values())
        for (start, size, name), (following, _, _) in zip(starts, starts[1:], strict=False):
            if start + size > following:
                issues.append(Issue("its data overlaps another entry's", file=name))
        issues.extend(under_a_file(self.members, self._infos))
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
        signed = load_signature(self, signature_file, issues)
        certificates = load_certificate_file(self, certificate_file, issues) if certificate_file else ()
        digest = hashlib.new(signed.digest_algorithm) if signed else None
        target = work_dir / "inner.csar"
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        with self.open_member(inner) as source, os.fdopen(os.open(target, flags, 0o600), "wb") as out:
            copy_hashed(source, out, digest)
        check = None
        if signed is not None:
            try:
                cert = signed.verify(digest.digest(), certificates)
                check = signature_check("package", signature_file, cert)
            except cms.CmsError as exc:
                issues.append(Issue(f"the package signature does not verify: {exc}", file=signature_file))
        archive = CsarArchive.open(target, self.limits, display_name=f"{self.display_name}:{inner}")
        archive.package_signature = check
        archive.outer_issues = issues
        return archive


def _entry_problem(info: zipfile.ZipInfo) -> str | None:
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
    if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
        return f"stored entry of {info.compress_size} bytes claims to hold {info.file_size}"
    return None


def signature_check(signed: str, signature_file: str, cert: x509.Certificate) -> SignatureCheck:
    """The record of a signature over ``signed`` in ``signature_file`` that ``cert`` verified."""
    from cryptography.hazmat.primitives import hashes

    return SignatureCheck(signed, signature_file, cert.subject.rfc4514_string(),
                          cert.fingerprint(hashes.SHA256()).hex())


def load_signature(archive: CsarArchive, name: str, issues: list[Issue], *, line: int | None = None,
                    file: str | None = None) -> cms.SignedData | None:
    """The CMS signature in member ``name``; None, with the problem added to ``issues`` (at ``file``
    and ``line`` when given, else the member), when it cannot be read."""
    try:
        return cms.load(archive.read_bytes(name))
    except cms.CmsError as exc:
        issues.append(Issue(f"signature {name}: {exc}", file=file or name, line=line))
    except NfvoError as exc:
        issues.extend(exc.errors)
    return None


def load_certificate_file(archive: CsarArchive, name: str, issues: list[Issue], *, line: int | None = None,
                           file: str | None = None) -> tuple[x509.Certificate, ...]:
    """The certificates in member ``name`` (PEM or DER); none, with the problem added to
    ``issues``, when it cannot be read."""
    try:
        return cms.load_certificates(archive.read_bytes(name))
    except cms.CmsError as exc:
        issues.append(Issue(f"certificate {name}: {exc}", file=file or name, line=line))
    except NfvoError as exc:
        issues.extend(exc.errors)
    return ()
