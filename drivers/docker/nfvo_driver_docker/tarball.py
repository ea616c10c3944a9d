"""Streaming a ``docker save`` tarball to the engine: hashed, without its tags, manifest last.

The engine's ``POST /images/load`` tags an image with every name in the tarball's
``manifest.json`` (and legacy ``repositories``), silently moving tags that other images
hold.  So the tarball is re-written on the fly: members pass through unchanged in
bounded chunks, ``repositories`` is dropped, and ``manifest.json`` - a few hundred
bytes, which Docker needs to register anything - is held back, stripped of
``RepoTags`` and sent last, only after the whole input was read and its size and
sha256 checked.  When a check fails the generator raises before the manifest, the
request is cut off, and the engine keeps nothing.
"""

from __future__ import annotations

import bz2
import hashlib
import json
import lzma
import tarfile
import zlib
from collections.abc import Iterator
from typing import BinaryIO

from nfvo_plugin_sdk import ChecksumMismatch, Unsupported

CHUNK = 1024 * 1024  # read the caller's stream 1 MiB at a time
_SEND = 256 * 1024  # small pieces (headers) are gathered up to this size before sending
_MAX_MANIFEST = 4 * 1024 * 1024
_BLOCK = tarfile.BLOCKSIZE


class NotAnImage(Unsupported):
    """The content is not a Docker image tarball (``docker save`` format); retrying cannot help."""


class Source:
    """The caller's stream, read in bounded chunks, counted and hashed; remembers the stream's own error."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._hash = hashlib.sha256()
        self.size = 0
        self.error: BaseException | None = None

    def read(self, size: int = -1) -> bytes:
        size = CHUNK if size is None or size < 0 else min(size, CHUNK)
        try:
            data = self._stream.read(size)
        except BaseException as exc:
            self.error = exc
            raise
        data = data or b""
        self._hash.update(data)
        self.size += len(data)
        return data

    def drain(self) -> None:
        while self.read(CHUNK):
            pass

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class _Decompressed:
    """A gzip, bzip2 or xz stream over ``source``, inflated at most ``CHUNK`` bytes per read (no bombs)."""

    _KINDS = ((b"\x1f\x8b", lambda: zlib.decompressobj(zlib.MAX_WBITS | 16)),
              (b"BZh", bz2.BZ2Decompressor),
              (b"\xfd7zXZ\x00", lzma.LZMADecompressor))

    def __init__(self, source: Source, head: bytes, factory) -> None:
        self._source, self._factory = source, factory
        self._engine = factory()
        self._input = head

    @classmethod
    def wrap(cls, source: Source):
        """``source`` itself for a plain tar, else a decompressing reader over it."""
        head = b""
        while len(head) < 6 and (more := source.read(_BLOCK)):  # the stream may answer a byte at a time
            head += more
        for magic, factory in cls._KINDS:
            if head.startswith(magic):
                return cls(source, head, factory)
        return _Prefixed(source, head)

    def read(self, size: int = -1) -> bytes:
        size = CHUNK if size is None or size < 0 else min(size, CHUNK)
        try:
            while True:
                if getattr(self._engine, "eof", False):
                    rest = self._engine.unused_data + self._input
                    self._input = b""
                    rest = rest or self._source.read(CHUNK)
                    if not rest.strip(b"\0"):  # trailing padding after the last compressed member
                        return b""
                    self._engine, self._input = self._factory(), rest  # concatenated members (gzip -c a b)
                if not self._input and self._needs_input():
                    self._input = self._source.read(CHUNK)
                    if not self._input:
                        return b""
                out = self._engine.decompress(self._input, size)
                # zlib hands back what it did not consume; bz2 and lzma keep it themselves
                self._input = getattr(self._engine, "unconsumed_tail", b"")
                if out:
                    return out
        except (zlib.error, OSError, EOFError, lzma.LZMAError) as exc:
            if self._source.error is not None:
                raise
            raise tarfile.ReadError(f"invalid compressed data: {exc}") from None

    def _needs_input(self) -> bool:
        return getattr(self._engine, "needs_input", True)


class _Prefixed:
    """``source`` with the bytes already read from it put back in front."""

    def __init__(self, source: Source, head: bytes) -> None:
        self._source, self._head = source, head

    def read(self, size: int = -1) -> bytes:
        if self._head:
            size = CHUNK if size is None or size < 0 else size
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._source.read(size)


def _padding(size: int) -> bytes:
    return b"\0" * (-size % _BLOCK)


def _header(member: tarfile.TarInfo) -> bytes:
    return member.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def _manifest_without_tags(data: bytes) -> bytes:
    try:
        manifest = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise NotAnImage("manifest.json of the image tarball is not valid JSON") from None
    if not isinstance(manifest, list) or not all(isinstance(m, dict) for m in manifest):
        raise NotAnImage("manifest.json of the image tarball is not a list of images")
    if len(manifest) != 1:
        raise NotAnImage(f"the image tarball holds {len(manifest)} images; an nfvo image is exactly one")
    entry = manifest[0]
    if not isinstance(entry.get("Config"), str) or not isinstance(entry.get("Layers"), list):
        raise NotAnImage("manifest.json of the image tarball names no Config and Layers")
    entry.pop("RepoTags", None)
    return json.dumps(manifest).encode()


def load_body(source: Source, *, size: int | None, sha256: str | None) -> Iterator[bytes]:
    """The tarball for ``POST /images/load``, produced while ``source`` is read.

    Raises ``NotAnImage`` for content that is not a ``docker save`` tarball (also
    compressed with gzip, bzip2 or xz) and ``ChecksumMismatch`` when ``size`` or
    ``sha256`` is given and differs - both before the manifest is sent.  Errors of the
    caller's stream pass through unchanged (``source.error`` holds them).
    """
    pending = bytearray()
    manifest: bytes | None = None
    try:
        with tarfile.open(fileobj=_Decompressed.wrap(source), mode="r|", bufsize=CHUNK) as tar:
            for member in tar:
                name = member.name.removeprefix("./")
                if name == "repositories":
                    continue
                if name == "manifest.json":
                    if not member.isreg() or member.size > _MAX_MANIFEST:
                        raise NotAnImage("manifest.json of the image tarball is not a small regular file")
                    manifest = tar.extractfile(member).read()
                    continue
                pending += _header(member)
                if member.isreg() and member.size:
                    data = tar.extractfile(member)
                    while chunk := data.read(CHUNK):
                        if pending:
                            yield bytes(pending)
                            pending.clear()
                        yield chunk
                    pending += _padding(member.size)
                if len(pending) >= _SEND:
                    yield bytes(pending)
                    pending.clear()
        source.drain()  # what follows the end-of-archive marker counts for the checksum too
    except (tarfile.TarError, EOFError) as exc:
        if source.error is not None:
            raise source.error from None
        raise NotAnImage(f"not an image tarball (docker save format): {exc}") from None
    if manifest is None:
        raise NotAnImage("not an image tarball (docker save format): it has no manifest.json")
    body = _manifest_without_tags(manifest)
    if size is not None and source.size != size:
        raise ChecksumMismatch(f"the image tarball has {source.size} bytes, {size} were expected",
                               expected=str(size), actual=str(source.size))
    if sha256 is not None and source.hexdigest() != sha256.lower():
        raise ChecksumMismatch(expected=sha256, actual=source.hexdigest())
    info = tarfile.TarInfo("manifest.json")
    info.size, info.mode = len(body), 0o644
    yield bytes(pending) + _header(info) + body + _padding(len(body)) + b"\0" * (2 * _BLOCK)
