"""Multipart uploads streamed straight into NFVO_HOME/uploads, hashed on the way, never held in memory."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

from flask import Request, current_app

from nfvo.domain.tar_index import TarIndex
from nfvo.services.packages import Received
from nfvo.streams import OnAThread


class HashingUploadFile:
    """A file in the uploads directory that hashes what werkzeug writes into it, and finds and
    hashes the large members of a tar in the same pass (:class:`~nfvo.domain.tar_index.TarIndex`,
    on a thread of its own: the two hashes run on two cores)."""

    def __init__(self, directory: Path):
        self.path = directory / f"{uuid.uuid4()}.upload"
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        self._file = os.fdopen(fd, "w+b")
        self._hash = hashlib.sha256()
        self._index = TarIndex()
        self._indexing = OnAThread(self._index.feed, name="tar-index")
        self.size = 0

    def write(self, data: bytes) -> int:
        self._indexing.feed(bytes(data))  # werkzeug hands bytes: no copy
        self._hash.update(data)
        self.size += len(data)
        return self._file.write(data)

    def received(self, filename: str) -> Received:
        self._file.close()
        self._indexing.close()
        return Received(self.path, filename, self._hash.hexdigest(), self.size, tuple(self._index.entries))

    def discard(self) -> None:
        self._file.close()
        self._indexing.close()
        self.path.unlink(missing_ok=True)

    def __getattr__(self, name):
        return getattr(self._file, name)


class StreamingRequest(Request):
    """Writes every file part of a multipart body to its own HashingUploadFile."""

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        upload = HashingUploadFile(Path(current_app.config["NFVO_SETTINGS"].uploads_dir))
        self.__dict__.setdefault("_nfvo_uploads", []).append(upload)
        return upload

    def discard_uploads(self, keep: HashingUploadFile | None = None) -> None:
        """Removes the files of every part except ``keep`` (called when the request ends)."""
        for upload in self.__dict__.get("_nfvo_uploads", []):
            if upload is not keep:
                upload.discard()
