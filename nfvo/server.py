"""``nfvo serve``: a cheroot WSGI server (threaded, request bodies streamed to the app, never buffered),
plus the embedded worker when no broker is configured.

cheroot hands a connection to a request thread as soon as it is readable, and that thread then
reads the request line and headers with blocking reads: 16 slow clients (slowloris) would hold all
16 threads. nfvo keeps cheroot but moves that phase to cheroot's selector thread: a connection
collects its request head (at most 64 KiB) and its body up to 64 KiB with non-blocking reads,
within ``NFVO_HTTP_HEADER_TIMEOUT`` seconds (see nfvo.http_reader), and only then takes a thread.
The head is checked there too: ambiguous framing (request smuggling) answers ``400
malformed-request``, an oversized head ``431 headers-too-large``; both close the connection.

Two lanes of threads: a request whose whole body arrived goes to the ``--threads`` request
threads, which never wait for a client's body; a larger body goes to one of the
``NFVO_HTTP_UPLOAD_THREADS`` upload threads, which streams it to the app, each read waiting at
most ``NFVO_HTTP_BODY_TIMEOUT`` seconds, the body averaging at least ``NFVO_HTTP_MIN_BODY_RATE``
bytes per second of waiting.
Clients trickling large bodies therefore can only slow other uploads, never the rest of the API.
The request thread also sees a ``Host`` it may put into links: the configured public URL, or a
checked host (see :meth:`NfvoServer.link_environ`).
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

from cheroot import connections, server, wsgi
from cheroot.workers import threadpool

from nfvo.config import Settings
from nfvo.errors import NfvoError
from nfvo.http_reader import MAX_HEAD, HeadReader

LINGER = 2.0  # seconds of draining after a refusal


class Request(server.HTTPRequest):
    """cheroot's request; one whose body came too slowly closes its connection after the answer
    instead of reading the rest of the body first."""

    def send_headers(self):
        if self.conn.rfile.too_slow:
            self.close_connection = True
        super().send_headers()


class Connection(server.HTTPConnection):
    """cheroot's connection, reading through a :class:`HeadReader`; knows the local address."""

    RequestHandlerClass = Request

    def __init__(self, srv, sock, makefile=None):
        super().__init__(srv, sock, makefile or server.MakeFile)
        self.rfile = HeadReader(sock, min_rate=srv.min_body_rate, grace=srv.timeout)
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


class _Lane:
    """The server as the upload threads see it: their own queue (``requests``), all else shared.
    Its ``threads`` threads are started with the server (idle ones cost a blocked thread each)."""

    def __init__(self, srv: NfvoServer, threads: int):
        self.__dict__["_server"] = srv
        self.__dict__["requests"] = threadpool.ThreadPool(self, min=threads, max=threads)

    def __getattr__(self, name):
        return getattr(self._server, name)

    def __setattr__(self, name, value):  # e.g. ``interrupt``, set by a dying worker thread
        setattr(self._server, name, value)


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
        self.min_body_rate = settings.http_min_body_rate
        self.uploads = _Lane(self, settings.http_upload_threads)

    def prepare(self):
        super().prepare()
        self._connections._selector.close()
        self._connections = Connections(self)
        self.uploads.requests.start()

    def stop(self):
        super().stop()
        self.uploads.requests.stop(self.shutdown_timeout)

    def put_conn(self, conn):
        """A request is answered and the connection stays open: wait for the next one."""
        conn.rfile.start_waiting(self.header_timeout)
        super().put_conn(conn)

    def process_conn(self, conn):
        """Called when ``conn`` is readable (or has buffered data): once its request is ready, a
        request thread (whole body buffered) or an upload thread gets it; until then it waits in
        the selector."""
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
            super().process_conn(conn) if reader.complete else self.uploads.requests.put(conn)
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
    """The app, after migrating an embedded (SQLite) database (and moving the package files an earlier
    nfvo kept under NFVO_HOME/packages into the content store) and creating first-start data."""
    from nfvo.api import create_app
    from nfvo.db.migrate import upgrade
    from nfvo.services.blobs import adopt_package_directories
    from nfvo.services.bootstrap import ensure_initial_data

    settings.ensure_dirs()
    if settings.embedded:
        upgrade(settings.database_url)
    app = create_app(settings)
    ensure_initial_data(app.extensions["nfvo"])
    if settings.embedded:
        adopt_package_directories(app.extensions["nfvo"])
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
