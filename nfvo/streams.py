"""Byte-stream helpers: hash while reading, copy in chunks."""

from __future__ import annotations

import hashlib
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


def copy_hashed(source: BinaryIO, target: BinaryIO, digest: Any | None, *,
                progress: Callable[[int], None] | None = None) -> int:
    """Copies what is left in ``source`` to ``target`` in CHUNK reads, feeding each chunk to the
    hashlib ``digest`` (None: copy only); returns the byte count. ``progress`` gets the count so
    far, this chunk included, before the chunk is written, and may raise to stop the copy."""
    size = 0
    while chunk := source.read(CHUNK):
        size += len(chunk)
        if progress is not None:
            progress(size)
        if digest is not None:
            digest.update(chunk)
        target.write(chunk)
    return size


def sha256_of(stream: BinaryIO) -> tuple[str, int]:
    """(hex sha256, size) of everything left in ``stream``, read in 1 MiB chunks."""
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size
