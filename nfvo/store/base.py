"""The content store interface: blobs addressed by SHA-256, each written once, read whole or by range.

A store holds immutable blobs named by the lowercase hex SHA-256 of their bytes.  Writing
goes through a :class:`BlobWriter` that hashes while it writes, so no second pass over the
bytes is needed to learn the name; a blob already present is not written again (the bytes
written for it are dropped).  Reading is streamed, from any offset.  Backends are plugins
in the entry-point group ``nfvo.content_stores``, one per URL scheme (see
``docs/store.md``); :mod:`nfvo.store.conformance` is the test kit each one runs.

Every method raises only :class:`~nfvo.errors.NfvoError` subclasses:
:class:`~nfvo.errors.ContentMissing` for a blob that is not there,
:class:`~nfvo.errors.ContentMismatch` when bytes do not match the digest or size they were
announced with, :class:`~nfvo.errors.StoreUnavailable` (retryable) when the store cannot be
reached, and :class:`~nfvo.errors.StoreFailed` for any other refusal.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, ClassVar

from nfvo.errors import ContentMismatch, NfvoError

API_VERSION = 1
CHUNK = 1024 * 1024
_DIGEST = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Blob:
    """A stored blob: its SHA-256 (lowercase hex) and its size in bytes."""

    sha256: str
    size: int


@dataclass(frozen=True)
class StoreOptions:
    """What a backend may need besides its URL (NFVO_STORE_*; empty when unset)."""

    endpoint_url: str = ""
    region: str = ""
    access_key: str = ""
    secret_key: str = ""
    part_size: int = 32 * 1024 * 1024


def check_digest(sha256: str) -> str:
    """``sha256`` if it is 64 lowercase hex digits; ContentMismatch otherwise (a name is never a path)."""
    if not isinstance(sha256, str) or not _DIGEST.fullmatch(sha256):
        raise ContentMismatch(f"{sha256!r} is not a SHA-256 in lowercase hex")
    return sha256


class BlobWriter(ABC):
    """Bytes on their way into a store, hashed as they are written.

    Use as a context manager: ``commit()`` makes the blob and returns it; leaving the block
    without a commit (or with an exception) drops everything written.  ``write`` takes any
    bytes-like object and returns its length, so the writer can stand where a file is
    expected (``shutil.copyfileobj``, a multipart parser's target).
    """

    def __init__(self, expect_sha256: str | None = None, expect_size: int | None = None):
        self.expect_sha256 = check_digest(expect_sha256) if expect_sha256 else None
        self.expect_size = expect_size
        self._hash = hashlib.sha256()
        self.size = 0
        self.closed = False

    def write(self, data) -> int:
        """Appends ``data``; returns its length."""
        n = len(data) if isinstance(data, bytes) else memoryview(data).nbytes
        if n:
            self._hash.update(data)
            self._write(data)
            self.size += n
        return n

    def commit(self) -> Blob:
        """The blob made of everything written: stored under its SHA-256 (or found already
        there).  ContentMismatch when it differs from ``expect_sha256``/``expect_size`` (then
        nothing is kept).  Idempotent only in the sense that a second call raises ValueError."""
        if self.closed:
            raise ValueError("this blob writer is already closed")
        blob = Blob(self._hash.hexdigest(), self.size)
        problem = None
        if self.expect_size is not None and blob.size != self.expect_size:
            problem = f"{blob.size} bytes arrived, {self.expect_size} were announced"
        elif self.expect_sha256 and blob.sha256 != self.expect_sha256:
            problem = f"the bytes have SHA-256 {blob.sha256}, {self.expect_sha256} was announced"
        if problem:
            self.abort()
            raise ContentMismatch(problem)
        self.closed = True
        self._commit(blob)
        return blob

    def abort(self) -> None:
        """Drops what was written.  Idempotent; never raises."""
        if not self.closed:
            self.closed = True
            try:
                self._abort()
            except Exception:  # noqa: BLE001 - dropping is best effort; leftovers are swept later
                pass

    @property
    def sha256_so_far(self) -> str:
        return self._hash.copy().hexdigest()

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.abort()

    @abstractmethod
    def _write(self, data) -> None: ...

    @abstractmethod
    def _commit(self, blob: Blob) -> None:
        """Makes ``blob`` (already hashed and checked) from the bytes written; when a blob of that
        digest exists, drops the bytes instead."""

    @abstractmethod
    def _abort(self) -> None: ...


class ContentStore(ABC):
    """A place for blobs.  ``name`` is the URL scheme it serves and its entry-point name."""

    name: ClassVar[str]
    api_version: ClassVar[int] = API_VERSION

    def __init__(self, url: str, options: StoreOptions | None = None):
        self.url = url
        self.options = options or StoreOptions()

    # -- writing -------------------------------------------------------------------------
    @abstractmethod
    def writer(self, expect_sha256: str | None = None, expect_size: int | None = None) -> BlobWriter:
        """A new :class:`BlobWriter`.  With ``expect_sha256`` the backend may write straight to the
        blob's final place (the digest is checked at commit all the same)."""

    def put(self, source: BinaryIO | Iterable[bytes], expect_sha256: str | None = None,
            expect_size: int | None = None) -> Blob:
        """Stores everything ``source`` (a binary file or an iterable of chunks) yields."""
        with self.writer(expect_sha256, expect_size) as out:
            if hasattr(source, "read"):
                shutil.copyfileobj(source, out, CHUNK)
            else:
                for chunk in source:
                    out.write(chunk)
            return out.commit()

    def put_file(self, path: Path, sha256: str | None = None, *, move: bool = False) -> Blob:
        """Stores the file at ``path``.  ``sha256``, when nfvo computed it itself while the file
        was written, spares a backend that can place the file without reading it (a rename or a
        hard link) the hashing pass; it is trusted only there and checked everywhere else.  With
        ``move`` the file is gone afterwards (moved into the store where possible); without it the
        file stays, and must not be written to any more (it may now be the blob itself)."""
        with open(path, "rb") as f:
            blob = self.put(f, sha256)
        if move:
            Path(path).unlink(missing_ok=True)
        return blob

    # -- reading -------------------------------------------------------------------------
    @abstractmethod
    def open(self, sha256: str, start: int = 0, end: int | None = None) -> BinaryIO:
        """A stream of the blob's bytes ``[start, end)`` (``end`` None: to the end).  The caller
        closes it.  ContentMissing when the blob is not there."""

    @abstractmethod
    def size(self, sha256: str) -> int | None:
        """The blob's size, or None when the store does not hold it."""

    def exists(self, sha256: str) -> bool:
        return self.size(sha256) is not None

    def written_at(self, sha256: str) -> float | None:
        """When the blob was last written (a POSIX timestamp), or None when the store does not hold
        it or cannot tell.  nfvo collects an unreferenced blob only once it is older than
        NFVO_JOB_STALE_SECONDS, and never one whose age is unknown."""
        return None

    def chunks(self, sha256: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes ``[start, end)`` in chunks of at most 1 MiB (for a streamed HTTP answer)."""
        with self.open(sha256, start, end) as f:
            while chunk := f.read(CHUNK):
                yield chunk

    def local_path(self, sha256: str) -> Path | None:
        """A path on this host holding the blob, for readers that need a real file (zero-copy
        transfers); None when the backend has none (the default) or the blob is absent."""
        return None

    def seekable(self, sha256: str, size: int | None = None) -> BinaryIO:
        """A seekable, buffered reader over the blob (what ``zipfile`` and ``tarfile`` need);
        ``size``, when the caller knows the blob's, spares a lookup (an archive opens the blob
        once per member). The default issues ranged reads; a backend with a local file returns
        that file."""
        from nfvo.store.ranged import ranged_reader

        sha256 = check_digest(sha256)
        if size is None:
            size = self.size(sha256)
        if size is None:
            raise self.missing(sha256)
        return ranged_reader(self, sha256, size)

    # -- housekeeping --------------------------------------------------------------------
    @abstractmethod
    def delete(self, sha256: str) -> bool:
        """Removes the blob; True when it was there.  Idempotent."""

    @abstractmethod
    def digests(self) -> Iterator[str]:
        """Every blob's SHA-256, in no particular order."""

    def sweep(self, older_than: float) -> int:
        """Removes writes abandoned more than ``older_than`` seconds ago (a process killed while
        writing); returns how many.  Default: nothing to sweep."""
        return 0

    def describe(self) -> str:
        """The store for logs and error messages, without credentials."""
        return self.url

    def missing(self, sha256: str) -> NfvoError:
        from nfvo.errors import ContentMissing

        return ContentMissing(f"{self.describe()} holds no blob {sha256}")
