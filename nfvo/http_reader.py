"""The read side of an HTTP connection of ``nfvo serve``: a request's head and the start of its
body are collected without blocking (in the server's selector thread), the rest of a large body
is then read by a request thread at no less than a minimum average rate.

A request is *ready* for a thread once its head and either its whole body or the first
``BUFFERED_BODY`` bytes of it have arrived. A request whose whole body arrived never waits for
its client again while a thread handles it: the server gives it to the threads that answer
small requests; the others go to the threads that stream large bodies (see nfvo.server).
"""

from __future__ import annotations

import math
import os
import socket
import time
from dataclasses import dataclass

from nfvo.errors import BodyTooSlow, HeadersTooLarge, MalformedRequest

MAX_HEAD = 64 * 1024  # request line + headers
BUFFERED_BODY = 64 * 1024  # body bytes collected before a request takes a thread
DRAIN_LIMIT = 1024 * 1024  # bytes read and dropped after a refusal, so the client can read it


@dataclass(frozen=True)
class Head:
    """What the request thread will be asked to read after the head."""

    content_length: int
    chunked: bool
    expect_continue: bool


def parse_head(head: bytes) -> Head:
    """The framing of a request head (request line and header lines, without the final blank
    line). Raises MalformedRequest for any framing two HTTP parsers could read differently."""
    lines = head.split(b"\r\n")
    version = lines[0].rsplit(b" ", 1)[-1]
    length, transfer_encoding, expect = None, None, False
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t"):
            raise MalformedRequest("A header line is folded (starts with white space)")
        name, colon, value = line.partition(b":")
        if not colon or not name or name.strip(b" \t") != name or b" " in name or b"\t" in name:
            raise MalformedRequest(f"Header line {line[:64]!r} has no name or white space before ':'")
        name, value = name.lower(), value.strip(b" \t")
        if name == b"content-length":
            if length is not None:
                raise MalformedRequest("More than one Content-Length header")
            if not value.isdigit():
                raise MalformedRequest(f"Content-Length {value[:32]!r} is not a decimal number")
            length = int(value)
        elif name == b"transfer-encoding":
            if transfer_encoding is not None:
                raise MalformedRequest("More than one Transfer-Encoding header")
            transfer_encoding = value.lower()
        elif name == b"expect":
            expect = value.lower() == b"100-continue"
    if transfer_encoding is not None:
        if length is not None:
            raise MalformedRequest("Both Content-Length and Transfer-Encoding: send one of them")
        if transfer_encoding != b"chunked" or version != b"HTTP/1.1":
            raise MalformedRequest("Transfer-Encoding must be 'chunked', in an HTTP/1.1 request")
    return Head(length or 0, transfer_encoding is not None, expect and version == b"HTTP/1.1")


def chunked_body_end(buf: bytes | bytearray, start: int) -> int | None:
    """Where the chunked body starting at ``start`` ends (after its trailers), or None while
    ``buf`` holds only part of it. Raises MalformedRequest for a chunk size that is not hex."""
    pos = start
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        size_field = bytes(buf[pos:eol]).split(b";", 1)[0].strip(b" \t")
        if not size_field or size_field.strip(b"0123456789abcdefABCDEF"):
            raise MalformedRequest(f"Chunk size {size_field[:32]!r} is not a hexadecimal number")
        size = int(size_field, 16)
        if size == 0:  # the last chunk, then trailer lines (or none) and an empty line
            if buf[eol + 2:eol + 4] == b"\r\n":
                return eol + 4
            end = buf.find(b"\r\n\r\n", eol + 2)
            return None if end < 0 else end + 4
        pos = eol + 2 + size + 2
        if pos > len(buf):
            return None


class HeadReader:
    """The read side of one connection, in place of cheroot's buffered socket file.

    While a request arrives, :meth:`advance` (selector thread) fills the buffer without blocking
    and says whether the request may take a thread, and :attr:`complete` whether its whole body
    is buffered. There, ``read``/``readline`` serve the buffer first, then block on the socket
    (its timeout: NFVO_HTTP_BODY_TIMEOUT per read) and raise BodyTooSlow when, after
    ``grace`` seconds of waiting, the bytes received average less than ``min_rate`` per second
    of waiting (time the app spends between reads does not count); from then on
    :attr:`too_slow` is set and every read raises it again.
    """

    def __init__(self, sock: socket.socket, *, min_rate: int = 0, grace: float = math.inf):
        self.sock = sock
        self.buf = bytearray()
        self.bytes_read = 0
        self.deadline = math.inf
        self.refused = False  # answered with an error: only drained until closed
        self.complete = False  # the whole body of the ready request is buffered
        self.too_slow = False  # its body came too slowly: the connection closes after the answer
        self.min_rate, self.grace = min_rate, grace
        self._drop = DRAIN_LIMIT
        self._need: int | None = None  # buffered bytes that make the request ready, once its head is read
        self._chunked = False
        self._head_end = 0
        self._waited = 0.0  # seconds spent waiting for the client in this request's body reads
        self._received = 0  # bytes received meanwhile
        self.closed = False  # cheroot's thread pool reads it when it stops (as of a file's)

    def start_waiting(self, seconds: float) -> None:
        """A new request may come: it must be ready within ``seconds``."""
        self.deadline = time.monotonic() + seconds
        self._need, self.complete, self._waited, self._received = None, False, 0.0, 0
        self.too_slow = False

    def has_data(self) -> bool:
        return bool(self.buf)

    def advance(self) -> bool | None:
        """Reads what has arrived (never blocks). True: the request may take a thread; False: wait
        for more; None: the client closed. Raises MalformedRequest or HeadersTooLarge."""
        if self._ready():
            return True
        room = MAX_HEAD + 4 + BUFFERED_BODY - len(self.buf)
        try:
            data = os.read(self.sock.fileno(), max(room, 1))  # the socket is non-blocking (it has a timeout)
        except BlockingIOError:
            return False
        if not data:
            return None
        self.buf += data
        return self._ready()

    def drain(self) -> bool:
        """After a refusal: drops what arrived; False once the connection should close."""
        try:
            data = os.read(self.sock.fileno(), 65536)
        except BlockingIOError:
            return True
        except OSError:
            return False
        self._drop -= len(data)
        return bool(data) and self._drop > 0

    def _ready(self) -> bool:
        if self._need is None:
            while self.buf.startswith(b"\r\n"):  # blank lines before a request are ignored (RFC 9112 2.2)
                del self.buf[:2]
            end = self.buf.find(b"\r\n\r\n", 0, MAX_HEAD + 4)
            if end < 0:
                if len(self.buf) > MAX_HEAD:
                    raise HeadersTooLarge(f"The request line and headers exceed {MAX_HEAD} bytes")
                return False
            head = parse_head(bytes(self.buf[:end]))
            if head.expect_continue and (head.chunked or head.content_length):
                end = self._continue(end)
            self._head_end, self._chunked = end + 4, head.chunked
            self._need = self._head_end + head.content_length
        if self._chunked:
            self.complete = chunked_body_end(self.buf, self._head_end) is not None
            return self.complete or len(self.buf) - self._head_end >= BUFFERED_BODY
        self.complete = len(self.buf) >= self._need
        return self.complete or len(self.buf) - self._head_end >= BUFFERED_BODY

    def _continue(self, end: int) -> int:
        """Answers ``Expect: 100-continue`` here (the body is waited for before a thread is taken)
        and drops the header, so cheroot does not answer it again; the new end of the head."""
        try:
            os.write(self.sock.fileno(), b"HTTP/1.1 100 Continue\r\n\r\n")
        except OSError:
            pass  # the client sends its body anyway after a while
        lines = [line for line in bytes(self.buf[:end]).split(b"\r\n") if not line.lower().startswith(b"expect:")]
        head = b"\r\n".join(lines)
        self.buf[:end] = head
        return len(head)

    def _take(self, size: int) -> bytes:
        data = bytes(self.buf[:size])
        del self.buf[:size]
        return data

    def _recv(self, size: int) -> bytes:
        """One socket read, counted against the minimum body rate."""
        if self.too_slow:
            raise BodyTooSlow(f"The request body arrives more slowly than {self.min_rate} bytes/s")
        started = time.monotonic()
        data = self.sock.recv(size)
        self._waited += time.monotonic() - started
        self._received += len(data)
        if self.min_rate and self._waited > self.grace and self._received < self.min_rate * self._waited:
            self.too_slow = True
            raise BodyTooSlow(f"The request body arrives at {self._received / self._waited:.0f} bytes/s, "
                              f"more slowly than {self.min_rate} bytes/s (NFVO_HTTP_MIN_BODY_RATE)")
        return data

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes (all until end of stream if negative): fewer only at its end."""
        size = math.inf if size is None or size < 0 else size
        out = bytearray(self._take(min(size, len(self.buf))) if self.buf else b"")
        while len(out) < size:
            data = self._recv(int(min(size - len(out), 1 << 20)))
            if not data:
                break
            out += data
        self.bytes_read += len(out)
        return bytes(out)

    def readline(self, size: int | None = -1) -> bytes:
        """One line with its ``\\n``, at most ``size`` bytes."""
        limit = size if size and size > 0 else None
        while True:
            newline = self.buf.find(b"\n", 0, limit)
            if newline >= 0:
                return self._take(newline + 1)
            if limit is not None and len(self.buf) >= limit:
                return self._take(limit)
            data = self._recv(65536)
            if not data:
                return self._take(len(self.buf))
            self.buf += data

    def close(self) -> None:
        self.buf.clear()
        self.closed = True
