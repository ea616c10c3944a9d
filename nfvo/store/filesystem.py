"""The filesystem content store (the default): one file per blob under a directory.

``file:///var/lib/nfvo/store`` (or no NFVO_STORE_URL: ``NFVO_HOME/store``) holds
``blobs/<first two hex digits>/<sha256>``, read-only, and ``tmp/`` for writes in progress.
A writer writes its temporary file once, fsyncs it and renames it into place, so a blob is
either whole or absent, whatever dies when.  Storing a file that is already on the same
filesystem, with the digest nfvo computed while writing it, copies no byte: ``put_file(...,
move=True)`` renames it, ``put_file(...)`` hard-links it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from nfvo.errors import StoreFailed
from nfvo.store.base import Blob, BlobWriter, ContentStore, StoreOptions, check_digest


def _failed(store: FilesystemStore, what: str, exc: OSError) -> StoreFailed:
    return StoreFailed(f"{store.describe()}: {what}: {exc.strerror or exc}")


class FilesystemStore(ContentStore):
    """Blobs as files under ``root`` (the path of a ``file://`` URL)."""

    name = "file"

    def __init__(self, url: str, options: StoreOptions | None = None):
        super().__init__(url, options)
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise ValueError(f"a filesystem store URL is file:///absolute/path, not {url!r}")
        self.root = Path(unquote(parts.path))
        self.blobs, self.tmp = self.root / "blobs", self.root / "tmp"
        try:
            self.tmp.mkdir(parents=True, exist_ok=True)
            self.blobs.mkdir(exist_ok=True)
        except OSError as exc:
            raise _failed(self, "cannot create the store directory", exc) from None

    def path_of(self, sha256: str) -> Path:
        check_digest(sha256)
        return self.blobs / sha256[:2] / sha256

    def writer(self, expect_sha256: str | None = None, expect_size: int | None = None) -> BlobWriter:
        return _FileWriter(self, expect_sha256, expect_size)

    def put_file(self, path: Path, sha256: str | None = None, *, move: bool = False) -> Blob:
        """A file on the store's filesystem is renamed into place (``move``) or hard-linked there
        (the file then is the blob: read-only); ``sha256`` (computed by nfvo while it wrote the
        file) spares even the reading pass that would otherwise name it.  From another
        filesystem the file is copied, and checked against ``sha256``."""
        path = Path(path)
        if sha256 is None and not move:
            return super().put_file(path)
        sha256 = sha256 or _hash_file(path)
        size = path.stat().st_size
        try:
            _place(self, path, sha256, link=not move)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                raise _failed(self, f"cannot put {path.name} into the store", exc) from None
            return super().put_file(path, sha256, move=move)  # another filesystem: copy (and check)
        return Blob(sha256, size)

    def open(self, sha256: str, start: int = 0, end: int | None = None) -> BinaryIO:
        try:
            f = open(self.path_of(sha256), "rb")
        except FileNotFoundError:
            raise self.missing(sha256) from None
        except OSError as exc:
            raise _failed(self, f"cannot read {sha256}", exc) from None
        if start:
            f.seek(start)
        return f if end is None else _Limited(f, max(0, end - start))

    def seekable(self, sha256: str, size: int | None = None) -> BinaryIO:
        return self.open(sha256)

    def size(self, sha256: str) -> int | None:
        try:
            return self.path_of(sha256).stat().st_size
        except FileNotFoundError:
            return None

    def written_at(self, sha256: str) -> float | None:
        try:
            return self.path_of(sha256).stat().st_mtime
        except FileNotFoundError:
            return None

    def local_path(self, sha256: str) -> Path | None:
        path = self.path_of(sha256)
        return path if path.exists() else None

    def delete(self, sha256: str) -> bool:
        try:
            self.path_of(sha256).unlink()
            return True
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise _failed(self, f"cannot delete {sha256}", exc) from None

    def digests(self) -> Iterator[str]:
        for folder in sorted(self.blobs.iterdir()):
            for blob in folder.iterdir():
                if blob.name.startswith(folder.name):
                    yield blob.name

    def sweep(self, older_than: float) -> int:
        cutoff, removed = time.time() - older_than, 0
        for leftover in self.tmp.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()
                    removed += 1
        return removed

    def describe(self) -> str:
        return f"the content store {self.root}"


class _FileWriter(BlobWriter):
    def __init__(self, store: FilesystemStore, expect_sha256: str | None, expect_size: int | None):
        super().__init__(expect_sha256, expect_size)
        self.store = store
        self.path = store.tmp / f"{uuid.uuid4().hex}.part"
        try:
            self.file = open(self.path, "xb")
        except OSError as exc:
            raise _failed(store, "cannot start a blob", exc) from None

    def _write(self, data) -> None:
        try:
            self.file.write(data)
        except OSError as exc:
            self.abort()
            raise _failed(self.store, "cannot write a blob", exc) from None

    def _commit(self, blob: Blob) -> None:
        try:
            self.file.flush()
            os.fsync(self.file.fileno())  # whole before it is named: a crash leaves no torn blob
            self.file.close()
            _place(self.store, self.path, blob.sha256)
        except OSError as exc:
            self._abort()
            raise _failed(self.store, f"cannot store {blob.sha256}", exc) from None

    def _abort(self) -> None:
        self.file.close()
        self.path.unlink(missing_ok=True)


def _place(store: FilesystemStore, path: Path, sha256: str, *, link: bool = False) -> None:
    """Renames ``path`` to the blob's place (replacing an equal blob is harmless), read-only; with
    ``link``, hard-links it there instead (an equal blob already there is kept, its time renewed)."""
    target = store.path_of(sha256)
    target.parent.mkdir(exist_ok=True)
    os.chmod(path, 0o444)
    if not link:
        os.replace(path, target)
        return
    try:
        os.link(path, target)
    except FileExistsError:
        os.utime(target)


def _hash_file(path: Path) -> str:
    import hashlib

    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class _Limited:
    """The first ``remaining`` bytes of an open file, as a closeable binary stream."""

    def __init__(self, f: BinaryIO, remaining: int):
        self.f, self.remaining = f, remaining

    def read(self, n: int = -1) -> bytes:
        n = self.remaining if n is None or n < 0 else min(n, self.remaining)
        data = self.f.read(n) if n else b""
        self.remaining -= len(data)
        return data

    def readinto(self, buffer) -> int:
        view = memoryview(buffer)[: self.remaining]
        n = self.f.readinto(view) if len(view) else 0
        self.remaining -= n
        return n

    def close(self) -> None:
        self.f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
