"""The large members of a plain tar, found and hashed while its bytes stream by.

The API feeds a received package through a :class:`TarIndex` in the same pass that stores it,
so the worker learns each image's SHA-256 without reading the image again. An entry is
``(offset, size, sha256)``: the digest of the ``size`` bytes at ``offset`` of the package, true
of those bytes however the tar's headers are read, so the worker takes it only for a member its
own reading finds at that very offset with that very size.
"""

from __future__ import annotations

import hashlib
import tarfile

BLOCK = 512
#: Members smaller than this are not indexed: reading one costs less than recording it.
MIN_SIZE = 1 << 20
#: A pax or GNU long-name header larger than this ends the indexing (tarfile's reader caps them too).
_META_CAP = 1 << 20
_META_TYPES = {tarfile.XHDTYPE, tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK}
_NOT_A_PLAIN_TAR = (b"\x1f\x8b", b"PK\x03\x04", b"BZh", b"\xfd7zXZ", b"\x28\xb5\x2f\xfd")

_HEADER, _META, _DATA, _SKIP, _DONE = range(5)


class TarIndex:
    """Feed it the bytes of a file in order with :meth:`feed`; :attr:`entries` then lists
    ``(offset, size, sha256)`` for each regular member of at least MIN_SIZE bytes whose data
    went by whole. A file that is no plain tar, or whose headers it cannot follow (a global pax
    header, a sparse member, a malformed header), ends the indexing: what was found so far stays
    and nothing more is added. Never raises for any input; holds at most one header's bytes."""

    def __init__(self) -> None:
        self.entries: list[tuple[int, int, str]] = []
        self._state, self._position = _HEADER, 0
        self._buffer = bytearray()
        self._need = BLOCK  # bytes wanted by the current state
        self._meta_type: bytes | None = None
        self._size_override: int | None = None
        self._start = 0
        self._hash = None

    def feed(self, data: bytes | memoryview) -> None:
        """Takes the next bytes of the file."""
        view = memoryview(data).cast("B") if not isinstance(data, memoryview) else data.cast("B")
        while len(view) and self._state != _DONE:
            take = min(self._need, len(view))
            piece, view = view[:take], view[take:]
            self._position += take
            self._need -= take
            if self._state == _DATA:
                self._hash.update(piece)
            elif self._state in (_HEADER, _META):
                self._buffer += piece
            if not self._need:
                self._step()

    def _step(self) -> None:
        """The current state has all the bytes it wanted."""
        if self._state == _HEADER:
            self._header(bytes(self._buffer))
        elif self._state == _META:
            self._meta(bytes(self._buffer))
        elif self._state == _DATA:
            self.entries.append((self._start, self._position - self._start, self._hash.hexdigest()))
            self._hash = None
            self._skip((-(self._position - self._start)) % BLOCK)
        else:
            self._expect(_HEADER, BLOCK)

    def _header(self, block: bytes) -> None:
        if self._position == BLOCK and block.startswith(_NOT_A_PLAIN_TAR):
            return self._stop()
        if block == bytes(BLOCK):  # the end of the archive
            return self._stop()
        try:
            info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
        except (tarfile.HeaderError, ValueError, OverflowError):
            return self._stop()
        size = self._size_override if self._size_override is not None else info.size
        self._size_override = None
        if info.type in _META_TYPES:
            if size > _META_CAP:
                return self._stop()
            self._meta_type = info.type
            return self._expect(_META, size) if size else self._skip(0)
        if info.type in (tarfile.XGLTYPE, tarfile.GNUTYPE_SPARSE) or info.issparse():
            return self._stop()
        if info.isreg() and size >= MIN_SIZE:
            self._start, self._hash = self._position, hashlib.sha256()
            self._state, self._need = _DATA, size
            return None
        # tarfile skips data only after regular members and types it does not know
        has_data = info.isreg() or info.type not in tarfile.SUPPORTED_TYPES
        return self._skip(_blocks(size) if has_data else 0)

    def _meta(self, data: bytes) -> None:
        if self._meta_type == tarfile.XHDTYPE:
            records = _pax_records(data)
            if records is None or any(key.startswith(b"GNU.sparse") for key in records):
                return self._stop()
            if b"size" in records:
                try:
                    self._size_override = int(records[b"size"])
                except ValueError:
                    return self._stop()
        return self._skip((-len(data)) % BLOCK)

    def _expect(self, state: int, need: int) -> None:
        self._state, self._need = state, need
        self._buffer.clear()

    def _skip(self, count: int) -> None:
        if count:
            self._expect(_SKIP, count)
        else:
            self._expect(_HEADER, BLOCK)

    def _stop(self) -> None:
        self._state, self._need, self._hash = _DONE, 0, None
        self._buffer.clear()


def _blocks(size: int) -> int:
    """``size`` rounded up to whole blocks."""
    return size + (-size) % BLOCK


def _pax_records(data: bytes) -> dict[bytes, bytes] | None:
    """The ``key=value`` records of a pax header's data (``"<length> <key>=<value>\\n"`` each);
    None when they are malformed."""
    records, position = {}, 0
    while position < len(data):
        space = data.find(b" ", position)
        if space < 0:
            return None if data[position:].strip(b"\0") else records
        try:
            length = int(data[position:space])
        except ValueError:
            return None
        record = data[space + 1:position + length]
        if length <= 0 or not record.endswith(b"\n") or b"=" not in record:
            return None
        key, _, value = record[:-1].partition(b"=")
        records[key] = value
        position += length
    return records
