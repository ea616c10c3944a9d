"""Receiving uploads: a package or image streamed into a file of the uploads directory (from a
request body or a link), hashed (and a tar's large members indexed) in the same pass, then put
into the content store in the transaction that references it."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from nfvo.domain.tar_index import TarIndex
from nfvo.fetch import open_http
from nfvo.services import blobs
from nfvo.services.context import Context
from nfvo.streams import OnAThread, copy_hashed


@dataclass(frozen=True)
class Received:
    """An upload already streamed to a file of the uploads directory, with the hash computed on the way.
    :func:`submit` puts it into the content store and removes the file."""

    path: Path
    filename: str
    sha256: str
    size: int
    #: (offset, size, sha256) of its large members, found while it arrived (see nfvo.domain.tar_index)
    members: tuple[tuple[int, int, str], ...] = ()


def download(ctx: Context, link: str, *, progress: Callable[[int], None] | None = None,
             basic_auth: tuple[str, str] | None = None, default_name: str = "package.tar",
             max_bytes: int | None = None) -> Received:
    """Streams the package at ``link`` into the uploads directory, hashing it on the way, as
    if it had been uploaded. nfvo's link policy applies (NFVO_FETCH_ALLOW, no private
    addresses, timeouts), and NFVO_MAX_PACKAGE_SIZE bounds it (TooLarge). FetchRefused or
    FetchFailed name the link; nothing is left behind when it fails. ``progress`` is as for
    :func:`store_upload`; ``basic_auth`` (user name, password) is sent to the link's own origin only.
    The package is named by the link's last path segment, else ``default_name``; ``max_bytes``
    bounds it instead of NFVO_MAX_PACKAGE_SIZE."""
    policy = dataclasses.replace(ctx.fetch_policy, max_bytes=max_bytes or ctx.settings.max_package_size)
    name = PurePosixPath(urlsplit(link).path).name[:255] or default_name
    with open_http(link, policy, basic_auth=basic_auth) as stream:
        return store_upload(ctx, stream, name, progress=progress)


def store_upload(ctx: Context, source: BinaryIO, filename: str, *,
                 progress: Callable[[int], None] | None = None) -> Received:
    """Streams ``source`` into a new file of the uploads directory, hashing it and indexing its
    large tar members on the way (``progress`` as for :func:`nfvo.streams.copy_hashed`); the file
    is removed when reading fails."""
    upload = UploadFile(ctx.settings.uploads_dir)
    try:
        copy_hashed(source, upload, None, progress=progress)
    except BaseException:
        upload.discard()
        raise
    return upload.received(filename)


class UploadFile:
    """A new file in the uploads directory that hashes what is written into it, and finds and
    hashes the large members of a tar in the same pass (:class:`~nfvo.domain.tar_index.TarIndex`,
    on a thread of its own: the two hashes run on two cores). Writes must be bytes (not changed
    afterwards). End it with :meth:`received` or :meth:`discard`."""

    def __init__(self, directory: Path):
        self.path = directory / f"{uuid.uuid4()}.upload"
        self._file = os.fdopen(os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600), "w+b")
        self._hash = hashlib.sha256()
        self._index = TarIndex()
        self._indexing = OnAThread(self._index.feed, name="tar-index")
        self.size = 0

    def write(self, data: bytes) -> int:
        self._indexing.feed(data)
        self._hash.update(data)
        self.size += len(data)
        return self._file.write(data)

    def received(self, filename: str) -> Received:
        """The file as received, closed: its hash, size and tar index."""
        self._file.close()
        self._indexing.close()
        return Received(self.path, filename, self._hash.hexdigest(), self.size, tuple(self._index.entries))

    def discard(self) -> None:
        """Closes and removes the file."""
        self._file.close()
        self._indexing.close()
        self.path.unlink(missing_ok=True)


@contextlib.contextmanager
def stored_upload(ctx: Context, upload: Received) -> Iterator[Session]:
    """A transaction in which ``upload`` is a blob of the content store, locked (see
    :func:`nfvo.services.blobs.keep`): the caller adds the job that references it.  The upload
    file is gone afterwards; the blob too when the transaction fails and nothing else uses it."""
    try:
        blob = ctx.store.put_file(upload.path, upload.sha256)
        try:
            with ctx.transaction() as session:
                blobs.keep(ctx, session, [(upload.path, blob)])
                yield session
        except BaseException:
            blobs.release(ctx, [blob.sha256])
            raise
    finally:
        upload.path.unlink(missing_ok=True)
