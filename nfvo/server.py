"""``nfvo serve``: a cheroot WSGI server (threaded, request bodies streamed to the app, never buffered),
plus the embedded worker when no broker is configured.

cheroot hands a connection to a request thread as soon as it is readable, and that thread then
reads the request line and headers with blocking reads: 16 slow clients (slowloris) would hold all
16 threads. nfvo keeps cheroot but moves that phase to cheroot's selector thread: a connection
collects its request head (at most 64 KiB) and the first 64 bytes of its body (or all of a shorter
body) with non-blocking reads, within ``NFVO_HTTP_HEADER_TIMEOUT`` seconds, and only then takes a
request thread, which streams the rest of the body to the app (each read waiting at most
``NFVO_HTTP_BODY_TIMEOUT`` seconds). The head is checked there too: ambiguous framing (request
smuggling) answers ``400 malformed-request``, an oversized head ``431 headers-too-large``; both
close the connection. The request thread also sees a ``Host`` it may put into links: the
configured public URL, or a checked host (see :meth:`NfvoServer.link_environ`).
"""

from __future__ import annotations

import json
import math
import os
import selectors
import signal
import socket
import sys
import time
from dataclasses import dataclass

from cheroot import connections, server, wsgi

from nfvo.config import Settings
from nfvo.errors import HeadersTooLarge, MalformedRequest, NfvoError

MAX_HEAD = 64 * 1024  # request line + headers
BODY_PREFIX = 64  # body bytes (or all of a shorter body) a request must have sent before it takes a request thread
DRAIN_LIMIT = 1024 * 1024  # bytes read and dropped after a refusal, so the client can read it
LINGER = 2.0  # seconds of that draining


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


class HeadReader:
    """The read side of one connection, in place of cheroot's buffered socket file.

    While a request arrives, :meth:`advance` (selector thread) fills the buffer without blocking
    and says whether the request may take a request thread. There, ``read``/``readline`` serve the
    buffer first, then block on the socket (its timeout: NFVO_HTTP_BODY_TIMEOUT per read).
    """

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = bytearray()
        self.bytes_read = 0
        self.deadline = math.inf
        self.refused = False  # answered with an error: only drained until closed
        self._drop = DRAIN_LIMIT
        self._need: int | None = None  # buffered bytes that make the request ready, once its head is read
        self._chunked = False
        self._head_end = 0
        self.closed = False  # cheroot's thread pool reads it when it stops (as of a file's)

    def start_waiting(self, seconds: float) -> None:
        """A new request may come: it must be ready within ``seconds``."""
        self.deadline = time.monotonic() + seconds
        self._need = None

    def has_data(self) -> bool:
        return bool(self.buf)

    def advance(self) -> bool | None:
        """Reads what has arrived (never blocks). True: the request may take a thread; False: wait
        for more; None: the client closed. Raises MalformedRequest or HeadersTooLarge."""
        if self._ready():
            return True
        room = MAX_HEAD + BODY_PREFIX - len(self.buf)
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
            self._need = self._head_end + min(head.content_length, BODY_PREFIX)
        if self._chunked:
            return (len(self.buf) - self._head_end >= BODY_PREFIX
                    or self.buf.find(b"0\r\n\r\n", self._head_end) >= 0)
        return len(self.buf) >= self._need

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

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes (all until end of stream if negative): fewer only at its end."""
        size = math.inf if size is None or size < 0 else size
        out = bytearray(self._take(min(size, len(self.buf))) if self.buf else b"")
        while len(out) < size:
            data = self.sock.recv(int(min(size - len(out), 1 << 20)))
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
            data = self.sock.recv(65536)
            if not data:
                return self._take(len(self.buf))
            self.buf += data

    def close(self) -> None:
        self.buf.clear()
        self.closed = True


class Connection(server.HTTPConnection):
    """cheroot's connection, reading through a :class:`HeadReader`; knows the local address."""

    def __init__(self, srv, sock, makefile=None):
        super().__init__(srv, sock, makefile or server.MakeFile)
        self.rfile = HeadReader(sock)
        self.rfile.start_waiting(srv.header_timeout)
        host, port = sock.getsockname()[:2]
        self.local_address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.loopback = host in ("127.0.0.1", "::1") or host.startswith("127.")


class Connections(connections.ConnectionManager):
    """cheroot's selector loop, closing connections whose request is late (instead of idle ones)."""

    def _expire(self, threshold):
        now = time.monotonic()
        late = [(fd, conn) for fd, conn in list(self._selector.connections)
                if conn is not self.server and conn.rfile.deadline < now]
        for fd, conn in late:
            self._selector.unregister(fd)
            conn.close()

    def wait(self, conn) -> None:
        self._selector.register(conn.socket.fileno(), selectors.EVENT_READ, data=conn)


class Gateway(wsgi.Gateway_10):
    """WSGI 1.0 gateway whose environ carries a Host the app may write into links."""

    def get_environ(self):
        env = super().get_environ()
        env.update(self.req.server.link_environ(self.req.conn, env.get("HTTP_HOST", "")))
        return env


class NfvoServer(wsgi.Server):
    """cheroot's WSGI server with the head phase in the selector thread (see the module doc)."""

    ConnectionClass = Connection

    def __init__(self, bind_addr, app, settings: Settings, *, threads: int):
        super().__init__(bind_addr, app, numthreads=threads, server_name="nfvo",
                         timeout=settings.http_body_timeout, request_queue_size=128)
        self.gateway = Gateway
        self.header_timeout = settings.http_header_timeout
        self.max_request_header_size = MAX_HEAD  # cheroot's own check, should a head get past ours
        self.public_url = settings.public_url
        self.allowed_hosts = frozenset(settings.allowed_hosts)

    def prepare(self):
        super().prepare()
        self._connections._selector.close()
        self._connections = Connections(self)

    def put_conn(self, conn):
        """A request is answered and the connection stays open: wait for the next one."""
        conn.rfile.start_waiting(self.header_timeout)
        super().put_conn(conn)

    def process_conn(self, conn):
        """Called when ``conn`` is readable (or has buffered data): a request thread gets it once
        its request is ready; until then it waits in the selector."""
        reader = conn.rfile
        if reader.refused:
            self._connections.wait(conn) if reader.drain() else conn.close()
            return
        try:
            ready = reader.advance()
        except NfvoError as exc:
            self._refuse(conn, exc)
            return
        except OSError:
            ready = None
        if ready is None:
            conn.close()
        elif ready:
            reader.deadline = math.inf
            super().process_conn(conn)
        else:
            self._connections.wait(conn)

    def _refuse(self, conn, error: NfvoError) -> None:
        """Answers ``error`` as problem+json, then reads and drops what the client still sends
        for a short while (closing at once would reset the connection and lose the answer)."""
        body = json.dumps(error.to_problem()).encode()
        answer = (f"HTTP/1.1 {error.status} {error.title}\r\nContent-Type: application/problem+json\r\n"
                  f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
        try:
            os.write(conn.socket.fileno(), answer)
            conn.socket.shutdown(socket.SHUT_WR)
        except OSError:
            conn.close()
            return
        conn.rfile.buf.clear()
        conn.rfile.refused, conn.rfile.deadline = True, time.monotonic() + LINGER
        self._connections.wait(conn)

    def link_environ(self, conn: Connection, host: str) -> dict:
        """environ entries so that links never name an unchecked Host: NFVO_PUBLIC_URL when set;
        else the request's Host if it is the address the connection arrived at (or ``localhost``
        with its port, on loopback) or an NFVO_ALLOWED_HOSTS entry (``name`` admits any port),
        and that address otherwise."""
        if self.public_url:
            scheme, netloc = self.public_url.split("://", 1)
            return {"HTTP_HOST": netloc, "wsgi.url_scheme": scheme}
        host = host.strip().lower()
        port = conn.local_address.rsplit(":", 1)[1]
        name = host.rsplit(":", 1)[0] if host.rsplit(":", 1)[-1].isdigit() and not host.endswith("]") else host
        if (host == conn.local_address or (conn.loopback and host == f"localhost:{port}")
                or host in self.allowed_hosts or name in self.allowed_hosts):
            return {}
        return {"HTTP_HOST": conn.local_address}


def build_app(settings: Settings):
    """The app, after migrating an embedded (SQLite) database and creating first-start data."""
    from nfvo.api import create_app
    from nfvo.db.migrate import upgrade
    from nfvo.services.bootstrap import ensure_initial_data

    settings.ensure_dirs()
    if settings.embedded:
        upgrade(settings.database_url)
    app = create_app(settings)
    ensure_initial_data(app.extensions["nfvo"])
    return app


def start_embedded_worker(app) -> callable:
    """Runs the Celery worker on a thread of this process, re-enqueues the jobs a previous run left
    unfinished and sweeps stalled ones; returns a function that stops it."""
    from nfvo.services import packages
    from nfvo.worker.app import EmbeddedWorker, Sweeper, celery_app, use_context
    from nfvo.worker.tasks import enqueue

    ctx = app.extensions["nfvo"]
    use_context(ctx)
    worker, sweeper = EmbeddedWorker(celery_app), Sweeper(ctx, enqueue)
    worker.start()
    for job_id in packages.reclaim_all_jobs(ctx):
        enqueue(job_id)
    sweeper.start()

    def stop() -> None:
        sweeper.stop()
        worker.stop()

    return stop


def serve(settings: Settings, host: str, port: int, *, threads: int = 16) -> None:
    """Serves until SIGTERM or SIGINT."""
    app = build_app(settings)
    mode = "embedded (in-process worker)" if settings.embedded else "external workers"
    print(f"nfvo serving on http://{host}:{port}  mode: {mode}  home: {settings.home}", file=sys.stderr, flush=True)
    stop_worker = start_embedded_worker(app) if settings.embedded else (lambda: None)
    http = NfvoServer((host, port), app, settings, threads=threads)

    # SIGTERM ends the serve loop like Ctrl-C does; stopping from inside the handler would block.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        http.prepare()
        http.serve()
    except KeyboardInterrupt:
        pass
    finally:
        http.stop()
        stop_worker()
