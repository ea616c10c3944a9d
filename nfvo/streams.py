"""Byte-stream helpers: hash while reading, copy in chunks."""

from __future__ import annotations

import hashlib
import io
import queue
import threading
from collections.abc import Callable
from typing import Any, BinaryIO

CHUNK = 1 << 20


class HashingReader:
    """Wraps a readable stream; every byte read also goes through sha256."""

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self._hash = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        data = self._stream.read(n)
        self._hash.update(data)
        return data

    def readable(self) -> bool:
        return True

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class VerifyingReader(io.RawIOBase):
    """``size`` bytes of ``stream``, hashed with each of ``algorithms`` (hashlib names) on the way.
    The read that reaches the end calls ``check({algorithm: hex digest})``, which raises when the
    bytes are wrong, so a consumer never gets the whole of a wrong file; a stream that ends before
    ``size`` raises ``short()``."""

    def __init__(self, stream: BinaryIO, size: int, algorithms, check: Callable[[dict[str, str]], None],
                 short: Callable[[], Exception]):
        super().__init__()
        self._stream, self._left, self._check, self._short = stream, size, check, short
        self._digests = {algorithm: hashlib.new(algorithm) for algorithm in algorithms}

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        data = self._stream.read(self._left if size is None or size < 0 else min(size, self._left))
        if not data:
            raise self._short()
        for digest in self._digests.values():
            digest.update(data)
        self._left -= len(data)
        if self._left == 0:
            self._check({algorithm: digest.hexdigest() for algorithm, digest in self._digests.items()})
        return data


def copy_hashed(source: BinaryIO, target: BinaryIO, digest: Any | None, *,
                progress: Callable[[int], None] | None = None, observe: Callable[[bytes], None] | None = None) -> int:
    """Copies what is left in ``source`` to ``target`` in CHUNK reads, feeding each chunk to the
    hashlib ``digest`` (None: copy only) and to ``observe``; returns the byte count. ``progress``
    gets the count so far, this chunk included, before the chunk is written, and may raise to
    stop the copy."""
    size = 0
    while chunk := source.read(CHUNK):
        size += len(chunk)
        if progress is not None:
            progress(size)
        if digest is not None:
            digest.update(chunk)
        if observe is not None:
            observe(chunk)
        target.write(chunk)
    return size


def sha256_of(stream: BinaryIO) -> tuple[str, int]:
    """(hex sha256, size) of everything left in ``stream``, read in 1 MiB chunks."""
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


class OnAThread:
    """Calls ``consume(chunk)`` for each chunk given to :meth:`feed`, in order, on a thread of its
    own, so that hashing there (hashlib lets go of the GIL) runs beside the caller's own work on
    another core. At most ``depth`` chunks wait; chunks must not change once fed (bytes do not).
    :meth:`close` waits for the last chunk and raises what ``consume`` raised; after an error
    ``consume`` gets no more chunks. Idempotent close; the thread never outlives it."""

    _END = object()

    def __init__(self, consume: Callable[[bytes], None], *, depth: int = 16, name: str = "consume"):
        self._consume, self._error = consume, None
        self._queue: queue.Queue = queue.Queue(depth)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def feed(self, chunk: bytes) -> None:
        self._queue.put(chunk)

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(self._END)
            self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not self._END:
            if self._error is None:
                try:
                    self._consume(chunk)
                except BaseException as exc:  # handed to close()
                    self._error = exc
