"""A seekable file over a blob of a store that has no local file, made of ranged reads.

``zipfile`` and ``tarfile`` need ``seek`` and ``tell``.  :class:`RangedFile` keeps one stream
open from the current position while reads go forward, so streaming a member is one request,
and opens a new one (``store.open(sha256, start)``) only after a seek elsewhere.
"""

from __future__ import annotations

import io

from nfvo.store.base import CHUNK


class RangedFile(io.RawIOBase):
    """The blob ``sha256`` (``size`` bytes) of ``store``, readable and seekable."""

    def __init__(self, store, sha256: str, size: int):
        super().__init__()
        self.store, self.sha256, self.length = store, sha256, size
        self._pos = 0
        self._stream = None
        self._stream_pos = -1  # where the open stream's next byte is

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.length}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), self.length - self._pos)
        if want <= 0:
            return 0
        if self._stream is None or self._stream_pos != self._pos:
            self._close_stream()
            self._stream = self.store.open(self.sha256, self._pos)
            self._stream_pos = self._pos
        n = self._stream.readinto(view[:want])
        self._pos += n
        self._stream_pos += n
        return n

    def _close_stream(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def close(self) -> None:
        self._close_stream()
        super().close()


def ranged_reader(store, sha256: str, size: int) -> io.BufferedReader:
    """A buffered :class:`RangedFile` (1 MiB reads from the store)."""
    return io.BufferedReader(RangedFile(store, sha256, size), CHUNK)
