"""Safe, streaming access to a package tar (plain or gzip), every member checked before any is read.

Limits are per kind of member (see :class:`ArchiveLimits`): a member's size is checked against
its kind's limit when its header is listed, and again while its bytes are streamed (a header
is never the only guard), so a compression bomb is refused before more than the limit is
decompressed or written.  Compression ratios are not judged: a raw image of zeros is fine.
"""

from __future__ import annotations

import contextlib
import contextvars
import gzip
import io
import os
import pathlib
import posixpath
import re
import shutil
import tarfile
import zlib
from collections.abc import Callable, Container, Iterable, Iterator
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass, field
from typing import BinaryIO

from nfvo.errors import Issue, UnsafeArchive, ValidationFailed
from nfvo.streams import CHUNK

# tarfile reads pax and GNU long-name headers whole; a forged header size must not fill memory.
_HEADER_READ_CAP = 1 << 20
_TRAILER_CAP = 1 << 20
_OTHER_FORMATS = {
    b"BZh": "bzip2-compressed",
    b"\xfd7zXZ\x00": "xz-compressed",
    b"\x28\xb5\x2f\xfd": "zstd-compressed",
    b"PK\x03\x04": "a ZIP archive (CSAR?)",
}
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile("[\x00-\x1f\x7f]")


# Kinds of member, each with its own size limit.
DESCRIPTOR, SCRIPT, IMAGE, ARTIFACT, PACKAGE = "descriptor", "script", "image", "artifact", "package"
# The setting an operator changes to raise a kind's limit (named in refusals).
SETTINGS = {DESCRIPTOR: "NFVO_MAX_DESCRIPTOR_SIZE", SCRIPT: "NFVO_MAX_SCRIPT_SIZE", IMAGE: "NFVO_MAX_IMAGE_SIZE",
            ARTIFACT: "NFVO_MAX_ARTIFACT_SIZE", PACKAGE: "NFVO_MAX_PACKAGE_SIZE"}
_KIND_WORDS = {DESCRIPTOR: "a descriptor or metadata file", SCRIPT: "a script", IMAGE: "an image",
               ARTIFACT: "any other file (artifact)", PACKAGE: "a whole package"}


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds a package must stay within; sizes in bytes, uncompressed.

    ``max_text_size`` is the limit of descriptors and metadata (``NFVO_MAX_DESCRIPTOR_SIZE``),
    and of any file read as text unless read_text is given a smaller limit.
    """

    max_members: int = 10_000
    max_total_size: int = 64 * 2**30  # sum of member sizes
    max_text_size: int = 8 * 2**20  # descriptors and metadata
    max_script_size: int = 16 * 2**20
    max_image_size: int = 64 * 2**30
    max_artifact_size: int = 2**30

    def of(self, kind: str) -> int:
        """The size limit of a member of ``kind`` (one of DESCRIPTOR ... PACKAGE)."""
        return {DESCRIPTOR: self.max_text_size, SCRIPT: self.max_script_size, IMAGE: self.max_image_size,
                ARTIFACT: self.max_artifact_size, PACKAGE: self.max_total_size}[kind]

    @classmethod
    def from_settings(cls, settings) -> ArchiveLimits:
        """The service's limits from its settings (an ``nfvo.config.Settings``)."""
        return cls(max_members=settings.max_archive_members, max_total_size=settings.max_package_size,
                   max_text_size=settings.max_descriptor_size, max_script_size=settings.max_script_size,
                   max_image_size=settings.max_image_size, max_artifact_size=settings.max_artifact_size)


def under_a_file(names: Iterable[str], files: Container[str]) -> list[Issue]:
    """An Issue for each of ``names`` whose path passes through one of ``files`` (a member that
    is a file, not a folder), naming the nearest such file."""
    issues = []
    for name in names:
        parent = posixpath.dirname(name)
        while parent:
            if parent in files:
                issues.append(Issue(f"'{parent}' is a file, not a folder", file=name))
                break
            parent = posixpath.dirname(parent)
    return issues


def over_limit(name: str, kind: str, limit: int, *, read: bool = False) -> Issue:
    """The Issue of member ``name`` over ``limit``, the limit of its ``kind``, naming the setting."""
    how = "holds more than" if read else "is larger than"
    return Issue(f"{how} {limit} bytes, the limit for {_KIND_WORDS[kind]} ({SETTINGS[kind]})", file=name)


class LimitedReader(io.RawIOBase):
    """A member stream that refuses to hand over more than ``limit`` bytes, nor more than the
    ``declared`` size its header gave: the read that would cross raises UnsafeArchive, so a
    consumer never sees (or writes) more than the limit, whatever a header claimed."""

    def __init__(self, stream: BinaryIO, *, name: str, kind: str, limit: int, declared: int, package: str):
        super().__init__()
        self._stream, self._name, self._kind, self._package = stream, name, kind, package
        self._limit, self._declared = limit, declared
        self._count = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        # One byte more than allowed is asked for, to see a member that goes on past its bound.
        room = min(self._limit, self._declared) - self._count + 1
        data = self._stream.read(room if size is None or size < 0 else min(size, room))
        self._account(len(data))
        return data

    def readinto(self, buffer) -> int:
        room = min(self._limit, self._declared) - self._count + 1
        view = memoryview(buffer)
        got = self._stream.readinto(view[:room] if len(view) > room else view) or 0
        self._account(got)
        return got

    def _account(self, got: int) -> None:
        self._count += got
        if self._count > self._limit:
            raise UnsafeArchive(f"{self._name} in package {self._package} is over its size limit",
                                errors=[over_limit(self._name, self._kind, self._limit, read=True)])
        if self._count > self._declared:
            raise UnsafeArchive(f"{self._name} in package {self._package} is larger than its header says",
                                errors=[Issue(f"holds more than the {self._declared} bytes its header declares",
                                              file=self._name)])


def openbaton_kind(name: str) -> str:
    """The kind of an Open Baton package member: ``Metadata.yaml`` and root ``*.json`` are
    descriptors, ``scripts/...`` scripts, ``images/...`` images, anything else an artifact."""
    if "/" not in name and (name.casefold() == "metadata.yaml" or name.casefold().endswith(".json")):
        return DESCRIPTOR
    top = name.split("/", 1)[0]
    return SCRIPT if top == "scripts" else IMAGE if top == "images" else ARTIFACT


@dataclass(frozen=True)
class Member:
    """One entry of the archive; ``name`` is normalised (no ``./``, no trailing ``/``)."""

    name: str
    size: int
    is_dir: bool
    kind: str = field(default=ARTIFACT, compare=False)  # which size limit applies


class _HeaderTooLarge(Exception):
    pass


# The name in the last tar header parsed in this context: the member a broken pax header belongs to.
_LAST_HEADER: contextvars.ContextVar[str | None] = contextvars.ContextVar("last_tar_header", default=None)


class _TarInfo(tarfile.TarInfo):
    @classmethod
    def frombuf(cls, buf, encoding, errors):
        info = super().frombuf(buf, encoding, errors)
        _LAST_HEADER.set(info.name)
        return info


class _CappedReader:
    """File view that refuses single reads above ``cap`` (None: no cap) while tarfile lists members."""

    def __init__(self, raw: BinaryIO, cap: int | None):
        self.raw = raw
        self.cap = cap

    def read(self, size: int = -1) -> bytes:
        if self.cap is not None and (size is None or size < 0 or size > self.cap):
            raise _HeaderTooLarge(f"a tar header claims more than {self.cap} bytes")
        return self.raw.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()


class MemberWindow(io.RawIOBase):
    """Read-only window of ``size`` bytes at the current position of ``raw`` (one archive member);
    a file that ends inside it raises ``truncated`` (the reader's own corrupt-archive error)."""

    def __init__(self, raw: BinaryIO, size: int, truncated: type[Exception] = OSError):
        self._raw = raw
        self._left = size
        self._truncated = truncated

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._left <= 0:
            return 0
        view = memoryview(buffer)[: min(len(buffer), self._left)]
        got = self._raw.readinto(view)
        if not got:
            raise self._truncated("the package file ends inside a member")
        self._left -= got
        return got


class PackageArchive:
    """A tar opened and checked member by member before anything is read."""

    def __init__(self, path: pathlib.Path, limits: ArchiveLimits, display_name: str, kind_of=openbaton_kind,
                 opener: Callable[[], BinaryIO] | None = None):
        self.path = path
        self._local = opener is None
        self._opener = opener or (lambda: open(self.path, "rb"))
        self.kind_of = kind_of
        self.limits = limits
        self.display_name = display_name
        self.members: dict[str, Member] = {}
        self._infos: dict[str, tarfile.TarInfo] = {}
        self._raw: BinaryIO | None = None
        self._gzip: gzip.GzipFile | None = None
        self._reader: _CappedReader | None = None
        self._tar: tarfile.TarFile | None = None

    @classmethod
    def open(cls, path: str | os.PathLike, limits: ArchiveLimits = ArchiveLimits(), *,
             display_name: str = "package", kind_of=openbaton_kind,
             opener: Callable[[], BinaryIO] | None = None) -> PackageArchive:
        """Open and check the tar at ``path`` (plain or gzip, told apart by content); with
        ``opener``, the tar each of its calls opens anew as a seekable binary stream (a blob of a
        content store with no local file: one ranged read per member), ``path`` only naming it.

        ``kind_of(name)`` tells which of the ``limits`` applies to a member (default: the
        Open Baton layout, :func:`openbaton_kind`).  Raises UnsafeArchive listing every bad
        member at once (``Issue(file=<member>)``): absolute paths, ``..``, links, devices,
        FIFOs, NUL/control characters or backslashes in names, duplicates, too many members,
        a member over its kind's limit, total size over the limit (in a gzip tar, listing
        stops at the first member over a limit, so a gzip bomb is not decompressed).  Raises
        UnsafeArchive with one Issue when the file is not a tar or is truncated/corrupt,
        or when a header holds a malformed number (the Issue names that member).
        OSError from the file system itself propagates.
        """
        archive = cls(pathlib.Path(path), limits, display_name, kind_of, opener)
        archive._raw = archive._opener()
        try:
            archive._list()
        except BaseException:
            archive.close()
            raise
        return archive

    # reading ------------------------------------------------------------------------
    def files(self) -> list[str]:
        """Names of the regular files, sorted."""
        return sorted(name for name, m in self.members.items() if not m.is_dir)

    def find(self, name: str, *, case_insensitive: bool = False) -> str | None:
        """The member name equal to ``name`` (normalised), or None; with ``case_insensitive``,
        an exact match first, else the first (sorted) that differs only in case."""
        wanted, _ = normalise_member_name(name)
        if wanted in self.members:
            return wanted
        if case_insensitive and wanted:
            folded = wanted.casefold()
            return next((m for m in sorted(self.members) if m.casefold() == folded), None)
        return None

    def read_text(self, name: str, *, max_size: int | None = None) -> str:
        """UTF-8 text of a regular member (a BOM is dropped).

        Raises UnsafeArchive when the member is over ``max_size`` (default: the limits'
        ``max_text_size``), ValidationFailed(Issue(file=name, message='not UTF-8 text'))
        when undecodable, KeyError when ``name`` is not a regular file of the archive.
        """
        info = self._regular(name)
        limit = self.limits.max_text_size if max_size is None else max_size
        if info.size > limit:
            what = "a text file" if max_size is None else "this file"
            raise UnsafeArchive(
                f"{name} in package {self.display_name} is too large to read as text",
                errors=[Issue(f"larger than {limit} bytes, the limit for {what}", file=name)])
        with self.open_member(name) as stream:
            data = stream.read(info.size)
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise ValidationFailed(f"{name} is not UTF-8 text",
                                   errors=[Issue("not UTF-8 text", file=name, line=line)]) from None

    def open_member(self, name: str) -> ContextManager[BinaryIO]:
        """A read-only stream of one regular member's bytes, never loaded whole into memory.

        The stream raises UnsafeArchive on the read that would pass the limit of the member's
        kind (or its header's size).  Raises KeyError when ``name`` is not a regular file.
        """
        return self._open_member(self._regular(name))

    def locate(self, name: str) -> tuple[pathlib.Path, int] | None:
        """Where the bytes of regular member ``name`` lie unchanged: (the tar file, the offset of
        its data); None in a gzip tar or one read through an opener.  Raises KeyError when
        ``name`` is not a regular file."""
        offset = self.offset_of(name)
        return None if offset is None or not self._local else (self.path, offset)

    def offset_of(self, name: str) -> int | None:
        """Where the data of regular member ``name`` starts in the tar; None in a gzip tar.
        Raises KeyError when ``name`` is not a regular file."""
        info = self._regular(name)
        return None if self._gzip is not None else info.offset_data

    @contextlib.contextmanager
    def _open_member(self, info: tarfile.TarInfo) -> Iterator[BinaryIO]:
        member = self.members[normalise_member_name(info.name)[0]]
        with self._open_raw(info) as raw:
            yield LimitedReader(raw, name=member.name, kind=member.kind, limit=self.limits.of(member.kind),
                                declared=info.size, package=self.display_name)

    @contextlib.contextmanager
    def _open_raw(self, info: tarfile.TarInfo) -> Iterator[BinaryIO]:
        if self._gzip is None:
            # A handle of its own, so several members can stream at once.
            with self._opener() as raw:
                raw.seek(info.offset_data)
                with io.BufferedReader(MemberWindow(raw, info.size), CHUNK) as stream:
                    yield stream
        else:
            with self._tar.extractfile(info) as stream:
                yield stream

    def extract_file(self, name: str, dest_dir: str | os.PathLike, *,
                     as_name: str | None = None) -> pathlib.Path:
        """Stream one regular member to ``dest_dir/(as_name or its basename)``; returns that path.

        The target must be a plain file name directly inside ``dest_dir`` (else UnsafeArchive);
        an existing file is replaced, a symlink in its place is refused (OSError).  A member
        over its kind's limit raises UnsafeArchive once the limit is read, before more is
        written, and the partial file is removed.  Raises KeyError when ``name`` is not a
        regular file of the archive.
        """
        info = self._regular(name)
        target_name = as_name if as_name is not None else posixpath.basename(info.name)
        if (target_name in ("", ".", "..") or "/" in target_name or "\\" in target_name
                or "\x00" in target_name):
            raise UnsafeArchive(
                f"cannot extract {name} from package {self.display_name}",
                errors=[Issue(f"target name {target_name!r} would leave the destination folder",
                              file=name)])
        target = pathlib.Path(dest_dir) / target_name
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        try:
            with self._open_member(info) as source, os.fdopen(os.open(target, flags, 0o666), "wb") as out:
                shutil.copyfileobj(source, out, CHUNK)
        except UnsafeArchive:
            target.unlink(missing_ok=True)
            raise
        return target

    def close(self) -> None:
        """Release the file handles; idempotent."""
        for resource in (self._tar, self._gzip, self._raw):
            if resource is not None:
                resource.close()
        self._tar = self._gzip = self._raw = None

    def __enter__(self) -> PackageArchive:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # checking -----------------------------------------------------------------------
    def _regular(self, name: str) -> tarfile.TarInfo:
        normalised, _ = normalise_member_name(name)
        try:
            return self._infos[normalised]
        except KeyError:
            raise KeyError(f"no regular file {name!r} in package {self.display_name}") from None

    def _list(self) -> None:
        magic = self._raw.read(6)
        self._raw.seek(0)
        for prefix, kind in _OTHER_FORMATS.items():
            if magic.startswith(prefix):
                raise self._broken(f"{kind}: only .tar and gzip .tar.gz packages are accepted")
        if magic.startswith(b"\x1f\x8b"):
            self._gzip = gzip.GzipFile(fileobj=self._raw, mode="rb")
        self._reader = _CappedReader(self._gzip or self._raw, _HEADER_READ_CAP)
        issues: list[Issue] = []
        _LAST_HEADER.set(None)
        try:
            self._tar = tarfile.open(fileobj=self._reader, mode="r:", encoding="utf-8",
                                     errors="surrogateescape", tarinfo=_TarInfo)
            self._check_members(issues)
            self._reader.cap = None  # headers are read; members may be read in larger pieces
            if not issues:
                self._check_end()
        except _HeaderTooLarge as exc:
            raise self._broken(str(exc)) from None
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise self._broken(f"not a readable tar archive ({exc or type(exc).__name__})") from None
        except (ValueError, OverflowError):  # tarfile's int() of a crafted pax number, or a seek to it
            member = _LAST_HEADER.get()
            raise self._broken("malformed tar header: a number in it is not valid or too large",
                               file=_shown(member) if member else None) from None
        if issues:
            count = len(issues)
            raise UnsafeArchive(
                f"{count} unsafe member{'s' if count != 1 else ''} in package {self.display_name}",
                errors=issues)

    def _check_members(self, issues: list[Issue]) -> None:
        limits, total, count = self.limits, 0, 0
        while (info := self._tar.next()) is not None:
            count += 1
            if count > limits.max_members:
                issues.append(Issue(f"more than {limits.max_members} members", file=_shown(info.name)))
                break
            name, problem = normalise_member_name(info.name)
            problem = problem or _type_problem(info)
            if problem:
                issues.append(Issue(problem, file=_shown(info.name)))
                continue
            if not name:
                if info.isdir():  # the "./" entry of `tar -C dir .`
                    continue
                issues.append(Issue("empty member name", file=_shown(info.name)))
                continue
            if name in self.members:
                issues.append(Issue("duplicate entry", file=name))
                continue
            size = 0 if info.isdir() else info.size
            total += size
            if total > limits.max_total_size:
                # Stop at once: reading the next header would decompress this member (gzip bomb).
                issues.append(Issue(f"the members' total size exceeds {limits.max_total_size} bytes "
                                    f"({SETTINGS[PACKAGE]})", file=name))
                break
            kind = self.kind_of(name)
            if size > limits.of(kind):
                issues.append(over_limit(name, kind, limits.of(kind)))
                if self._gzip is not None:
                    break  # as above: not one byte of it is decompressed
                continue
            self.members[name] = Member(name, size, info.isdir(), kind)
            if not info.isdir():
                self._infos[name] = info
        issues.extend(under_a_file(self.members, self._infos))

    def _check_end(self) -> None:
        """After the last member only zero padding may follow; anything else is corruption."""
        end = self._tar.offset
        if self._gzip is None:
            if self._raw.seek(0, io.SEEK_END) < end:
                raise self._broken("truncated: the last member's data is cut short")
        self._reader.seek(end)
        if self._reader.tell() != end:
            raise self._broken("truncated: the last member's data is cut short")
        rest = self._reader.read(_TRAILER_CAP)
        if rest.strip(b"\x00"):
            if len(rest) < tarfile.BLOCKSIZE:
                raise self._broken(f"truncated: the archive ends inside a header at byte {end}")
            raise self._broken(f"corrupt: unreadable tar header at byte {end}")

    def _broken(self, message: str, *, file: str | None = None) -> UnsafeArchive:
        return UnsafeArchive(f"package {self.display_name} is not a readable tar archive",
                             errors=[Issue(message, file=file or self.display_name)])


def normalise_member_name(raw: str) -> tuple[str, str | None]:
    """(normalised name, problem or None) for a member name as stored in a tar or named in a package.

    Normalised: no empty or ``.`` parts (``./a//b`` is ``a/b``).  A problem (NUL or control
    characters, backslash, not UTF-8, absolute or drive-letter path, ``..``) comes with
    an empty name.
    """
    if "\x00" in raw:
        return "", "NUL byte in name"
    if _CONTROL.search(raw):
        return "", "control character in name"
    if "\\" in raw:
        return "", "backslash in name"
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        return "", "name is not UTF-8"
    if raw.startswith("/"):
        return "", "absolute path"
    if _DRIVE.match(raw):
        return "", "drive-letter path"
    parts = [part for part in raw.split("/") if part not in ("", ".")]
    if ".." in parts:
        return "", "'..' in path"
    return "/".join(parts), None


def _type_problem(info: tarfile.TarInfo) -> str | None:
    if info.issym():
        return f"symbolic link (to {info.linkname!r})"
    if info.islnk():
        return f"hard link (to {info.linkname!r})"
    if info.ischr():
        return "character device"
    if info.isblk():
        return "block device"
    if info.isfifo():
        return "FIFO"
    if info.issparse():
        return "sparse file (not supported)"
    if not (info.isreg() or info.isdir()) or info.type not in tarfile.REGULAR_TYPES + (tarfile.DIRTYPE,):
        return f"unsupported member type {info.type!r}"
    return None


def _shown(raw: str) -> str:
    return raw if raw.isprintable() else ascii(raw)[1:-1]
