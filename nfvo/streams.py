"""Byte-stream helpers: hash while reading, copy in chunks."""

from __future__ import annotations

import hashlib
from typing import BinaryIO

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


def sha256_of(stream: BinaryIO) -> tuple[str, int]:
    """(hex sha256, size) of everything left in ``stream``, read in 1 MiB chunks."""
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size
