"""Real loopback servers for integration tests: an HTTP file server with scripted routes, a git daemon."""

from __future__ import annotations

import functools
import os
import pathlib
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

#: A scripted answer: gets the request handler (``handler.server.stopping`` is an Event
#: set when the server shuts down; long routes must wait on it, not sleep).
Route = Callable[[SimpleHTTPRequestHandler], None]

_MAX_ROUTE_SECONDS = 60.0  # every scripted route ends by itself after this
_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0"}


# --- routes ---------------------------------------------------------------------------


def redirect(location: str, status: int = 302) -> Route:
    """Answer ``status`` with ``Location: location`` (absolute or relative)."""

    def route(handler: SimpleHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


def basic_auth_required(user: str, password: str, body: bytes, seen: list[str | None] | None = None) -> Route:
    """Answer ``body`` to HTTP Basic ``user``:``password``, 401 otherwise; every request's
    Authorization header (None when absent) is appended to ``seen``."""
    import base64

    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def route(handler: SimpleHTTPRequestHandler) -> None:
        given = handler.headers.get("Authorization")
        if seen is not None:
            seen.append(given)
        ok = given == expected
        handler.send_response(200 if ok else 401)
        handler.send_header("Content-Length", str(len(body) if ok else 0))
        if not ok:
            handler.send_header("WWW-Authenticate", 'Basic realm="packages"')
        handler.end_headers()
        if ok:
            handler.wfile.write(body)

    return route


def status(code: int, body: bytes = b"") -> Route:
    """Answer ``code`` with ``body``."""

    def route(handler: SimpleHTTPRequestHandler) -> None:
        handler.send_response(code)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return route


def stall(seconds: float = 30.0, *, content_length: int = 1024, send_headers: bool = True, first: bytes = b"") -> Route:
    """Send headers (unless ``send_headers`` is false) and ``first``, then go silent
    for ``seconds`` (or until the server stops) and close."""

    def route(handler: SimpleHTTPRequestHandler) -> None:
        if send_headers:
            handler.send_response(200)
            handler.send_header("Content-Length", str(content_length))
            handler.end_headers()
            handler.wfile.write(first)
            handler.wfile.flush()
        handler.server.stopping.wait(min(seconds, _MAX_ROUTE_SECONDS))
        handler.close_connection = True

    return route


def endless(chunk_size: int = 64 * 1024, *, delay: float = 0.0, content_length: int | None = None) -> Route:
    """Stream zero bytes without end (until the client leaves, the server stops, or
    ``_MAX_ROUTE_SECONDS``), ``delay`` seconds between chunks; ``content_length``
    is announced if given (it may lie)."""

    def route(handler: SimpleHTTPRequestHandler) -> None:
        handler.send_response(200)
        if content_length is not None:
            handler.send_header("Content-Length", str(content_length))
        handler.end_headers()
        chunk = b"\0" * chunk_size
        deadline = time.monotonic() + _MAX_ROUTE_SECONDS
        while time.monotonic() < deadline and not handler.server.stopping.is_set():
            try:
                handler.wfile.write(chunk)
            except OSError:  # the client hung up
                break
            if delay:
                handler.server.stopping.wait(delay)
        handler.close_connection = True

    return route


def raw(answer: bytes, *, delay: float = 0.0, step: int = 1) -> Route:
    """Write ``answer`` as the whole response (status line and headers included) and close;
    with ``delay``, ``step`` bytes at a time, ``delay`` seconds apart (until the server stops)."""

    def route(handler: SimpleHTTPRequestHandler) -> None:
        handler.close_connection = True
        pieces = [answer[i : i + step] for i in range(0, len(answer), step)] if delay else [answer]
        deadline = time.monotonic() + _MAX_ROUTE_SECONDS
        for piece in pieces:
            if time.monotonic() > deadline or handler.server.stopping.is_set():
                break
            try:
                handler.wfile.write(piece)
                handler.wfile.flush()
            except OSError:  # the client hung up
                break
            if delay:
                handler.server.stopping.wait(delay)

    return route


def hold_until_hangup(hung_up: threading.Event, *, content_length: int = 1024) -> Route:
    """Send headers announcing ``content_length`` bytes, send none of them, and set
    ``hung_up`` once the client closes the connection."""

    def route(handler: SimpleHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(content_length))
        handler.end_headers()
        handler.wfile.flush()
        handler.close_connection = True
        handler.connection.settimeout(0.1)
        deadline = time.monotonic() + _MAX_ROUTE_SECONDS
        while time.monotonic() < deadline and not handler.server.stopping.is_set():
            try:
                if not handler.connection.recv(4096):
                    hung_up.set()
                    return
            except TimeoutError:
                continue
            except OSError:
                hung_up.set()
                return

    return route


# --- HTTP server ----------------------------------------------------------------------


class _Handler(SimpleHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = urlsplit(self.path).path
        self.server.requests.append(self.path)
        route = self.server.routes.get(path)
        if route is not None:
            route(self)
        else:
            super().do_GET()

    def log_message(self, format, *args) -> None:  # noqa: A002 - keep test output quiet
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, routes: Mapping[str, Route], log: list[str], directory: str):
        self.routes = dict(routes)
        self.requests = log
        self.stopping = threading.Event()
        super().__init__(("127.0.0.1", 0), functools.partial(_Handler, directory=directory))

    def handle_error(self, request, client_address) -> None:
        pass  # clients that hang up mid-answer are expected in these tests


@contextmanager
def serve_http(
    directory: str | os.PathLike,
    routes: Mapping[str, Route] | None = None,
    *,
    log: list[str] | None = None,
    tls: ssl.SSLContext | None = None,
) -> Iterator[str]:
    """Serve ``directory`` over HTTP on 127.0.0.1 (a free port) in a thread; yield the
    base URL (``http://127.0.0.1:PORT``, no trailing slash; ``https://`` with ``tls``,
    a server-side context).

    Files are answered with Content-Length.  ``routes`` maps request paths
    (``/moved``) to scripted answers (:func:`redirect`, :func:`status`, :func:`stall`,
    :func:`endless`, :func:`raw`, :func:`hold_until_hangup`, or any ``Route``); they
    win over files.  Every request path is appended to ``log`` if one is given.
    """
    server = _Server(routes or {}, log if log is not None else [], str(directory))
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def self_signed_tls(directory: str | os.PathLike, host: str = "localhost") -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for ``host``
    (files ``cert.pem``/``key.pem`` in ``directory``)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = pathlib.Path(directory)
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


# --- git ------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (nothing listens on it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _git(*args: str, cwd: str | os.PathLike | None = None) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **_ENV},
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return result.stdout.strip()


@dataclass(frozen=True)
class Symlink:
    """A value for :func:`make_git_repo`: commit a symbolic link to ``target``."""

    target: str


def make_git_repo(path: str | os.PathLike, files: Mapping[str, bytes | Symlink]) -> str:
    """Create a (non-bare) repository at ``path`` with one commit on ``main`` holding
    ``files`` (``a/b.txt`` creates folders; a :class:`Symlink` value commits a link);
    return the commit's full sha.  ``git daemon`` serves it as ``/<name>``."""
    root = pathlib.Path(path)
    root.mkdir(parents=True, exist_ok=False)
    _git("init", "--quiet", "--initial-branch=main", cwd=root)
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Symlink):
            os.symlink(content.target, target)
        else:
            target.write_bytes(content)
    _git("add", "--all", cwd=root)
    _git(
        "-c", "user.name=nfvo tests", "-c", "user.email=tests@nfvo.invalid", "-c", "commit.gpgsign=false",
        "commit", "--quiet", "--allow-empty", "-m", "test content",
        cwd=root,
    )
    return _git("rev-parse", "HEAD", cwd=root)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@contextmanager
def serve_git(root_dir: str | os.PathLike, *, start_timeout: float = 10.0) -> Iterator[str]:
    """Run ``git daemon --export-all --base-path=root_dir`` on 127.0.0.1 (a free port);
    yield ``git://127.0.0.1:PORT`` once it accepts connections; kill it (and its
    per-connection children) on exit.  A repository ``root_dir/x`` is ``BASE/x``."""
    root = str(pathlib.Path(root_dir).resolve())
    daemon = shutil.which("git-daemon", path="/usr/lib/git-core") or None
    for _attempt in range(3):  # the free port may be taken between probe and bind
        port = free_port()
        command = [daemon] if daemon else ["git", "daemon"]
        command += [
            "--export-all", f"--base-path={root}", "--reuseaddr", "--informative-errors",
            "--listen=127.0.0.1", f"--port={port}", root,
        ]
        process = subprocess.Popen(
            command,
            env={**os.environ, **_ENV},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so exit kills children too
        )
        try:
            deadline = time.monotonic() + start_timeout
            while process.poll() is None and time.monotonic() < deadline and not _accepts(port):
                time.sleep(0.05)
            if process.poll() is None and _accepts(port):
                yield f"git://127.0.0.1:{port}"
                return
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    raise RuntimeError(f"git daemon did not start serving {root}")
