"""Multipart uploads streamed straight into NFVO_HOME/uploads, hashed on the way, never held in memory."""

from __future__ import annotations

from pathlib import Path

from flask import Request, current_app

from nfvo.services.receiving import UploadFile


class HashingUploadFile(UploadFile):
    """The :class:`~nfvo.services.receiving.UploadFile` werkzeug writes a file part into (and
    seeks and reads, as a file, once the part is complete)."""

    def write(self, data: bytes) -> int:
        return super().write(bytes(data))  # werkzeug hands bytes: no copy

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
