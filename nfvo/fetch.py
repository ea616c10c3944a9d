"""Outbound fetching: the link policy, pinned streaming HTTP downloads, hardened shallow git clones."""

from __future__ import annotations

import base64
import io
import ipaddress
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import BinaryIO
from urllib.parse import SplitResult, quote, urljoin, urlsplit

import git
import urllib3
from urllib3.exceptions import ConnectTimeoutError
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from nfvo.errors import FetchFailed, FetchRefused, Issue, TooLarge
from nfvo.streams import CHUNK

try:  # requests' CA bundle when present, else the system store (urllib3's default)
    import certifi

    _CA_CERTS: str | None = certifi.where()
except ImportError:  # pragma: no cover
    _CA_CERTS = None

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: ``(host, port) -> addresses``; the default asks the system resolver (``getaddrinfo``).
Resolver = Callable[[str, int], Sequence[str]]

HTTP_SCHEMES = ("http", "https")
GIT_SCHEMES = ("https", "http", "git", "ssh")
_DEFAULT_PORTS = {"http": 80, "https": 443, "git": 9418, "ssh": 22}
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HOST_NAME = re.compile(r"^[a-z0-9_](?:[a-z0-9_.-]{0,252})$")
_REMOTE_HELPER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+.-]*::")
_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/:\[\]]+)@)?(?P<host>\[[^\]/@]+\]|[^@/:\[\]]+):(?P<path>.*)$")
# "://", then userinfo up to "@"; redact() checks the scheme before it (see there).
_USERINFO_IN_TEXT = re.compile(r"://[^\s/?#'\"]*@")
_SCHEME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")
_MAX_URL = 4096
_MAX_STDERR = 600
_STDERR_TAIL = 8192  # the end of git's stderr that is read at all (a hostile server writes it)
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy")
_REGULAR_MODES = {"100644", "100755", "100664"}
_SYMLINK_MODE = "120000"


@dataclass(frozen=True)
class FetchPolicy:
    """Where and how much nfvo may fetch.

    ``allow`` lists host names (exact, case-insensitive) and IPs/CIDRs that may be
    fetched although they are loopback, private or otherwise non-public (the operator's
    ``NFVO_FETCH_ALLOW``).  A malformed CIDR raises ``ValueError`` at construction, so a
    bad setting fails at start-up, not at the first fetch.  ``max_git_files`` bounds the
    entries (files, folders, links) in the top folder of a cloned repository and
    ``max_git_file_bytes`` the size of each top-level file; only those files are checked
    out.
    """

    allow: tuple[str, ...] = ()
    connect_timeout: float = 10.0
    read_timeout: float = 60.0  # per read, not total
    total_timeout: float = 3600.0  # whole download
    max_bytes: int = 64 * 2**30
    git_timeout: float = 120.0  # clone and checkout together
    max_redirects: int = 5
    max_git_files: int = 1000
    max_git_file_bytes: int = 8 * 2**20

    def __post_init__(self) -> None:
        _allow_rules(tuple(self.allow))

    @classmethod
    def from_allow_string(cls, allow: str, **kw) -> FetchPolicy:
        """A policy whose ``allow`` is the comma-separated ``allow`` (blanks ignored)."""
        entries = tuple(e.strip() for e in (allow or "").split(",") if e.strip())
        return cls(allow=entries, **kw)


# --- the address policy (pure apart from name resolution) -----------------------------


@lru_cache(maxsize=64)
def _allow_rules(allow: tuple[str, ...]) -> tuple[frozenset[str], tuple[IPNetwork, ...]]:
    names, networks = set(), []
    for entry in allow:
        text = entry.strip().lower()
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
        if "/" in text or ":" in text or re.fullmatch(r"[0-9.]+", text):
            try:
                networks.append(ipaddress.ip_network(text, strict=False))
            except ValueError as exc:
                raise ValueError(f"fetch allow-list entry {entry!r} is not an IP address or CIDR: {exc}") from None
        elif text:
            names.add(text.rstrip("."))
    return frozenset(names), tuple(networks)


def address_refusal(address: IPAddress | str) -> str | None:
    """Why ``address`` is not a public unicast address, or ``None`` when it is one.

    Guards against requests to the service's own host (loopback), the internal network
    (RFC 1918, ULA, CGNAT), cloud metadata (link-local 169.254.169.254), broadcast and
    multicast, and IPv6 spellings that embed such an IPv4 address (IPv4-mapped
    ``::ffff:a.b.c.d``, 6to4 ``2002::/16``).
    """
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            inner = address_refusal(ip.ipv4_mapped)
            return f"IPv4-mapped {inner}" if inner else None
        if ip.sixtofour is not None and (inner := address_refusal(ip.sixtofour)):
            return f"6to4 of a {inner} address"
    for attribute, reason in (
        ("is_unspecified", "unspecified"),
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_private", "private"),
        ("is_reserved", "reserved"),
    ):
        if getattr(ip, attribute):
            return reason
    if not ip.is_global:
        return "not globally routable"
    return None


def parse_allow(entries: Sequence[str]) -> tuple[frozenset[str], tuple[IPNetwork, ...]]:
    """The host names (lower case) and the networks of an allow-list such as ``NFVO_FETCH_ALLOW``
    or the address part of ``NFVO_VIM_ALLOW``.  Raises ``ValueError`` for a malformed IP or CIDR."""
    return _allow_rules(tuple(entries))


#: Cloud metadata services outside the link-local ranges (AWS IPv6, Alibaba, Azure's wire server).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "168.63.129.16")
)
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")  # Linux connects 0.0.0.0 to the host itself


def host_address_refusal(address: IPAddress | str) -> str | None:
    """Why ``address`` reaches this host, its link or a cloud metadata service, else ``None``.

    Laxer than :func:`address_refusal`: private networks pass (VIMs live there); loopback,
    unspecified and ``0.0.0.0/8``, link-local, multicast, reserved and the metadata
    addresses do not, nor IPv6 spellings (IPv4-mapped, 6to4) of such an IPv4 address.
    """
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour
        if inner is not None and (reason := host_address_refusal(inner)):
            return f"{'IPv4-mapped' if ip.ipv4_mapped else '6to4'} {reason}"
    if ip in METADATA_ADDRESSES:
        return "cloud metadata"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _THIS_NETWORK:
        return "unspecified"
    for attribute, reason in (("is_unspecified", "unspecified"), ("is_loopback", "loopback"),
                              ("is_link_local", "link-local"), ("is_multicast", "multicast"),
                              ("is_reserved", "reserved")):
        if getattr(ip, attribute):
            return reason
    return None


def _allowed_by_policy(ip: IPAddress, policy: FetchPolicy) -> bool:
    _, networks = _allow_rules(tuple(policy.allow))
    candidates = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        candidates.append(ip.ipv4_mapped)
    return any(c in net for c in candidates for net in networks)


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [info[4][0] for info in infos]


def _resolve(url: str, host: str, port: int, resolver: Resolver | None) -> list[IPAddress]:
    try:
        raw = (resolver or _system_resolver)(host, port)
    except UnicodeError:
        raise _refused(url, f"the host name {host!r} is not valid") from None
    except OSError as exc:
        raise _failed(url, f"cannot resolve host {host!r} ({exc.strerror or exc})") from None
    addresses: list[IPAddress] = []
    for text in raw:
        ip = ipaddress.ip_address(text)
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise _failed(url, f"host {host!r} has no address")
    return addresses


def _checked_addresses(
    url: str, host: str, port: int, policy: FetchPolicy, resolver: Resolver | None = None
) -> list[IPAddress]:
    """Resolve ``host`` and refuse unless every address is public or allowed.

    *Every* address, not just the first: a name with one public and one private
    record must not reach the private one through the connection's fallback order.
    """
    addresses = _resolve(url, host, port, resolver)
    names, _ = _allow_rules(tuple(policy.allow))
    if host.rstrip(".") in names:
        return addresses
    for ip in addresses:
        if _allowed_by_policy(ip, policy):
            continue
        reason = address_refusal(ip)
        if reason:
            shown = f"host {host!r} resolves to {ip}" if host != str(ip) else f"{ip}"
            raise _refused(url, f"{shown} is a {reason} address; nfvo fetches only from public addresses")
    return addresses


# --- URL parsing ----------------------------------------------------------------------


def redact(text: str) -> str:
    """``text`` with the userinfo (``user:password@``) of every URL in it removed.

    A URL here is a scheme (a letter, then letters, digits, ``+``, ``.``, ``-``), ``://``,
    and userinfo without whitespace, ``/``, ``?``, ``#`` or quotes up to ``@``.  Linear
    in the length of ``text`` (git's stderr comes from the server).
    """

    def strip(match: re.Match) -> str:
        # Some letter in the run of scheme characters before "://" can start a scheme.
        # The runs before different matches do not overlap, so this stays linear.
        index = match.start() - 1
        while index >= 0 and text[index] in _SCHEME_CHARACTERS:
            if text[index].isalpha():
                return "://"
            index -= 1
        return match.group(0)

    return _USERINFO_IN_TEXT.sub(strip, text)


def _refused(url: str, reason: str) -> FetchRefused:
    message = f"Refused to fetch {redact(url)}: {reason}"
    return FetchRefused(message, errors=[Issue(message)])


def _failed(url: str, reason: str) -> FetchFailed:
    message = f"Could not fetch {redact(url)}: {reason}"
    return FetchFailed(message, errors=[Issue(message)])


def _refuse_unsafe_characters(url: object) -> str:
    if not isinstance(url, str) or not url:
        raise _refused(str(url), "the link is empty or not text")
    if len(url) > _MAX_URL:
        raise _refused(url[:80] + "...", f"the link is longer than {_MAX_URL} characters")
    # urlsplit silently drops tabs and newlines, and parsers disagree on backslashes:
    # refuse them instead of guessing which host was meant.
    if any(c <= " " or c == "\x7f" for c in url) or "\\" in url:
        raise _refused(url.encode("unicode_escape").decode("ascii"), "the link holds whitespace, control characters or a backslash")
    return url


def _normalise_host(url: str, host: str | None) -> str:
    if not host:
        raise _refused(url, "the link has no host")
    host = host.lower()
    if ":" in host:  # IPv6 literal (urlsplit already dropped the brackets)
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise _refused(url, f"{host!r} is not a valid IPv6 address") from None
        return host
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise _refused(url, f"the host name {host!r} is not valid") from None
    if not _HOST_NAME.match(host) or ".." in host:
        raise _refused(url, f"the host name {host!r} is not valid")
    return host


@dataclass(frozen=True)
class _Target:
    url: str
    scheme: str
    host: str  # lower-case, ASCII (IDNA) name or IP literal without brackets
    port: int
    parts: SplitResult

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == _DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"

    @property
    def request_target(self) -> str:
        # Non-ASCII would break the request line; existing %-escapes are kept.
        path = quote(self.parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
        query = quote(self.parts.query, safe="/%:@!$&'()*+,;=-._~?")
        return f"{path}?{query}" if query else path


def _parse_http_url(url: object, schemes: Collection[str]) -> _Target:
    url = _refuse_unsafe_characters(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _refused(url, f"the link is malformed ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in schemes or scheme not in _DEFAULT_PORTS:
        allowed = ", ".join(sorted(schemes))
        raise _refused(url, f"the scheme {scheme or '(none)'!r} is not allowed (allowed: {allowed})")
    if "@" in parts.netloc:
        raise _refused(url, "links must not carry user information (user@host)")
    host = _normalise_host(url, parts.hostname)
    return _Target(url, scheme, host, port or _DEFAULT_PORTS[scheme], parts)


def check_url(
    url: str,
    policy: FetchPolicy,
    *,
    schemes: Collection[str] = HTTP_SCHEMES,
    resolver: Resolver | None = None,
) -> None:
    """Raise :class:`FetchRefused` unless nfvo may fetch ``url``.

    Guards against server-side request forgery: the scheme must be in ``schemes``; the
    link must carry no userinfo (``http://public@10.0.0.1/`` tricks), whitespace,
    control characters or backslashes (parser-differential tricks); and *every*
    address the host resolves to must be public or allowed by ``policy.allow`` (an
    allowed host name admits all its addresses).  Numeric oddities such as
    ``http://2130706433/`` or ``http://0x7f.1/`` are judged by what the resolver makes
    of them (127.0.0.1), never by their spelling.  A host that does not resolve raises
    :class:`FetchFailed`.  ``resolver`` replaces ``getaddrinfo`` (tests).
    Idempotent; no connection is made.
    """
    _check_target(url, policy, schemes, resolver)


DOCKER_HUB = "registry-1.docker.io"


def registry_of(link: str) -> tuple[str, int]:
    """(host, port) of the registry a ``docker://`` link pulls from: the first path part when it
    looks like a host (has a '.' or ':', or is ``localhost``), else Docker Hub; port 443 unless
    given. Raises FetchRefused for a link that is not ``docker://`` or carries user information."""
    link = _refuse_unsafe_characters(link)
    if not link.lower().startswith("docker://"):
        raise _refused(link, "a registry link starts with docker://")
    reference = link[len("docker://"):]
    first, slash, _rest = reference.partition("/")
    if "@" in first:
        raise _refused(link, "registry links must not carry user information (user@host)")
    if not slash or not ("." in first or ":" in first or first == "localhost"):
        return DOCKER_HUB, 443
    try:
        parts = urlsplit(f"//{first}")
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise _refused(link, f"the registry address is malformed ({exc})") from None
    return _normalise_host(link, host), port or 443


def check_link(link: str, policy: FetchPolicy, *, resolver: Resolver | None = None) -> None:
    """Raise :class:`FetchRefused` unless nfvo may let a VIM fetch ``link``: http(s) links as
    :func:`check_url`, ``docker://`` links by the address of their registry (every address public,
    or allowed by ``policy.allow``). No connection is made. The VIM resolves the name again itself,
    so its addresses cannot be pinned: the check is as good as the VIM's resolver."""
    if isinstance(link, str) and link.lower().startswith("docker://"):
        host, port = registry_of(link)
        _checked_addresses(link, host, port, policy, resolver)
        return
    check_url(link, policy, resolver=resolver)


def _check_target(
    url: str, policy: FetchPolicy, schemes: Collection[str], resolver: Resolver | None = None
) -> tuple[_Target, list[IPAddress]]:
    target = _parse_http_url(url, schemes)
    return target, _checked_addresses(url, target.host, target.port, policy, resolver)


# --- HTTP -----------------------------------------------------------------------------


class _Deadline:
    """Shuts every connection of one download down when its total time is up.

    A socket timeout bounds each ``recv`` only, and a server that drips a byte now and
    then resets it every time: without this, one header line or one read could outlast
    ``total_timeout`` many times over.  After :meth:`cancel` nothing is shut down.
    """

    def __init__(self, deadline: float):
        self.deadline = deadline
        self.expired = False
        self._lock = threading.Lock()
        self._connections: list = []
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, connection) -> None:
        with self._lock:
            self._connections.append(connection)
            expired = self.expired
        if expired:
            _shut_down(connection)

    def cancel(self) -> None:
        self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            connections = list(self._connections)
        for connection in connections:
            _shut_down(connection)


def _shut_down(connection) -> None:
    sock = getattr(connection, "sock", None)
    if sock is not None:
        try:  # the plain socket's shutdown: a blocked read in another thread returns at once
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass


class _WatchedPool:
    """Pool mix-in: every connection it makes is shut down at the download's deadline."""

    deadline: _Deadline

    def _new_conn(self):
        connection = super()._new_conn()
        self.deadline.watch(connection)
        return connection


class _HTTPPool(_WatchedPool, urllib3.HTTPConnectionPool):
    pass


class _HTTPSPool(_WatchedPool, urllib3.HTTPSConnectionPool):
    pass


class HttpStream(io.RawIOBase):
    """The body of one GET, read in chunks (never buffered whole).

    ``url`` is the final URL after redirects, ``size`` the Content-Length if given as at
    most 19 ASCII digits (else ``None``, unknown).  Each read returns what has arrived,
    up to the size asked for, and raises :class:`TooLarge` past ``max_bytes`` and
    :class:`FetchFailed` when one read waits longer than ``read_timeout``, the download
    outlasts ``total_timeout`` or the connection breaks (including a body shorter than
    its Content-Length).
    """

    def __init__(self, url: str, response, pool, policy: FetchPolicy, deadline: _Deadline):
        super().__init__()
        self.url = url
        self.content_type: str | None = response.headers.get("Content-Type")
        length = response.headers.get("Content-Length")
        self.size: int | None = _content_length(length)
        self.bytes_read = 0
        self._response = response
        self._pool = pool
        self._policy = policy
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed HttpStream")
        view = memoryview(buffer).cast("B")
        if not len(view):
            return 0
        policy = self._policy
        remaining = self._deadline.deadline - time.monotonic()
        if remaining <= 0 or self._deadline.expired:
            raise _too_slow(self.url, policy)
        wait = min(policy.read_timeout, remaining)
        self._set_read_timeout(wait)
        left = policy.max_bytes - self.bytes_read
        # At the limit, one byte more tells "exactly the limit" from "over it".
        want = min(len(view), left) if left > 0 else 1
        try:
            # read1: what has arrived (one recv), not "wait until want bytes are here".
            data = self._response.read1(want, decode_content=False) or b""
        except (Urllib3Timeout, TimeoutError):
            if wait < policy.read_timeout or self._deadline.expired:
                raise _too_slow(self.url, policy) from None
            raise _failed(self.url, f"no data received for {policy.read_timeout:g} s") from None
        except (Urllib3Error, OSError) as exc:
            if self._deadline.expired:
                raise _too_slow(self.url, policy) from None
            raise _failed(self.url, f"the connection broke ({exc})") from None
        if self._deadline.expired:  # a socket shut down at the deadline reads as the end
            raise _too_slow(self.url, policy)
        if data and left <= 0:
            raise TooLarge(
                f"{redact(self.url)} is larger than {policy.max_bytes} bytes",
                errors=[Issue(f"{redact(self.url)} is larger than {policy.max_bytes} bytes")],
            )
        self.bytes_read += len(data)
        view[: len(data)] = data
        return len(data)

    def _set_read_timeout(self, seconds: float) -> None:
        # The socket timeout bounds each recv; setting it per read also caps the last
        # read at the remaining total time.
        sock = getattr(getattr(self._response, "connection", None), "sock", None)
        if sock is not None:
            sock.settimeout(seconds)

    def close(self) -> None:
        if not self.closed:
            self._deadline.cancel()
            try:
                self._response.close()
            finally:
                self._pool.close()
        super().close()


def _content_length(value: str | None) -> int | None:
    # More than 19 digits is no real size (and int() of thousands of digits raises).
    if value and value.isascii() and value.isdigit() and len(value) <= 19:
        return int(value)
    return None


def _too_slow(url: str, policy: FetchPolicy) -> FetchFailed:
    return _failed(url, f"the download took longer than {policy.total_timeout:g} s")


def _pool_for(target: _Target, ip: IPAddress, timeout: urllib3.Timeout, deadline: _Deadline):
    common = dict(port=target.port, timeout=timeout, maxsize=1, retries=False)
    if target.scheme == "https":
        tls: dict = dict(cert_reqs="CERT_REQUIRED", ca_certs=_CA_CERTS)
        if not _is_ip(target.host):
            # Connect to the checked IP, but do SNI and certificate checks for the name.
            tls.update(server_hostname=target.host, assert_hostname=target.host)
        pool = _HTTPSPool(str(ip), **common, **tls)
    else:
        pool = _HTTPPool(str(ip), **common)
    pool.deadline = deadline
    return pool


def _get(target: _Target, addresses: list[IPAddress], policy: FetchPolicy, deadline: _Deadline,
         authorization: str | None = None):
    """GET ``target`` from the first checked address that accepts the connection."""
    headers = {
        "Host": target.host_header,
        "User-Agent": "nfvo-fetch/1",
        "Accept": "*/*",
        "Accept-Encoding": "identity",
        "Connection": "close",
    }
    if authorization:
        headers["Authorization"] = authorization
    last_error: Exception | None = None
    for ip in addresses:
        remaining = deadline.deadline - time.monotonic()
        if remaining <= 0 or deadline.expired:
            raise _too_slow(target.url, policy)
        timeout = urllib3.Timeout(
            connect=min(policy.connect_timeout, remaining), read=min(policy.read_timeout, remaining)
        )
        pool = _pool_for(target, ip, timeout, deadline)
        try:
            response = pool.urlopen(
                "GET",
                target.request_target,
                headers=headers,
                redirect=False,
                retries=False,
                preload_content=False,
                decode_content=False,
                assert_same_host=False,
            )
        except ConnectTimeoutError as exc:  # refused, unreachable or silent: try the next address
            pool.close()
            if deadline.expired:
                raise _too_slow(target.url, policy) from None
            last_error = exc
            continue
        except Urllib3Timeout:
            pool.close()
            if deadline.expired:
                raise _too_slow(target.url, policy) from None
            raise _failed(target.url, "the server did not answer in time") from None
        except (Urllib3Error, OSError) as exc:
            pool.close()
            if deadline.expired:
                raise _too_slow(target.url, policy) from None
            raise _failed(target.url, f"the request failed ({exc})") from None
        return response, pool
    raise _failed(target.url, f"cannot connect ({last_error})")


def _open_stream(url: str, policy: FetchPolicy, basic_auth: tuple[str, str] | None) -> HttpStream:
    deadline = _Deadline(time.monotonic() + policy.total_timeout)
    try:
        return _follow_redirects(url, policy, deadline, basic_auth)
    except BaseException:
        deadline.cancel()
        raise


def _follow_redirects(url: str, policy: FetchPolicy, deadline: _Deadline,
                      basic_auth: tuple[str, str] | None = None) -> HttpStream:
    current, origin = url, None
    authorization = None
    if basic_auth is not None:
        authorization = "Basic " + base64.b64encode(":".join(basic_auth).encode()).decode()
    for _hop in range(policy.max_redirects + 1):
        target, addresses = _check_target(current, policy, HTTP_SCHEMES)
        origin = origin or (target.scheme, target.host, target.port)
        # Credentials go only to the origin they were given for, never to a host a redirect names.
        same_origin = (target.scheme, target.host, target.port) == origin
        response, pool = _get(target, addresses, policy, deadline, authorization if same_origin else None)
        try:
            status = response.status
            if status in _REDIRECTS:
                location = response.headers.get("Location")
                if not location:
                    raise _failed(current, f"HTTP {status} redirect without a Location header")
                current = urljoin(current, location)
            else:
                stream = HttpStream(current, response, pool, policy, deadline)
        except BaseException:
            response.close()
            pool.close()
            raise
        if status in _REDIRECTS:
            response.close()
            pool.close()
            continue
        if not 200 <= status < 300:
            stream.close()
            raise _failed(current, f"the server answered HTTP {status} {response.reason or ''}".rstrip())
        if stream.size is not None and stream.size > policy.max_bytes:
            stream.close()
            message = f"{redact(current)} is {stream.size} bytes, more than the limit of {policy.max_bytes}"
            raise TooLarge(message, errors=[Issue(message)])
        return stream
    raise _failed(url, f"more than {policy.max_redirects} redirects (last: {redact(current)})")


@contextmanager
def open_http(url: str, policy: FetchPolicy, *, basic_auth: tuple[str, str] | None = None) -> Iterator[HttpStream]:
    """Stream a GET of ``url``; the stream is closed on exit.

    ``basic_auth`` (user name, password) is sent as HTTP Basic to the origin (scheme, host,
    port) of ``url`` only, not to another origin a redirect leads to.

    Redirects (301/302/303/307/308) are followed by hand, at most
    ``policy.max_redirects``, every hop checked by :func:`check_url` before any
    connection to it.  Against DNS rebinding the host is resolved once, every address
    checked, and urllib3 then connects to a checked IP itself (the pool's host is the
    IP) while the ``Host`` header, TLS SNI and certificate verification use the name;
    nothing resolves the name a second time.  Environment proxies are therefore not
    used.  ``total_timeout`` bounds the whole download, headers and redirects included:
    at the deadline the connection is shut down, however slowly the server drips.
    Non-2xx answers and connection or time-outs raise :class:`FetchFailed` naming the
    URL; a Content-Length over ``max_bytes`` raises :class:`TooLarge` at once.
    """
    stream = _open_stream(url, policy, basic_auth)
    try:
        yield stream
    finally:
        stream.close()


# --- git ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GitCheckout:
    """A shallow clone of which only the top-level regular files are checked out.

    ``files`` names those files (no ``.git``, no links, nothing in sub-folders);
    ``symlinks`` names the symbolic links in the top folder, which are not checked out
    and which a caller must refuse or skip.  ``url`` is the cloned URL without userinfo.
    """

    path: pathlib.Path
    commit: str
    url: str
    files: tuple[str, ...]
    symlinks: tuple[str, ...] = ()


@dataclass(frozen=True)
class _GitTarget:
    scheme: str
    host: str
    port: int
    url: str


def _parse_git_url(url: object) -> _GitTarget:
    url = _refuse_unsafe_characters(url)
    if url.startswith("-"):
        raise _refused(url, "a link must not start with '-' (it would be read as a git option)")
    if _REMOTE_HELPER.match(url):
        raise _refused(url, "git remote helpers (transport::address, e.g. ext::) are not allowed")
    try:  # GitPython's own guards, on top of ours
        git.Git.check_unsafe_protocols(url)
        git.Git.check_unsafe_options(options=[url], unsafe_options=git.Repo.unsafe_git_clone_options)
    except (git.exc.UnsafeProtocolError, git.exc.UnsafeOptionError) as exc:
        raise _refused(url, f"unsafe git link ({exc})") from None
    if "://" in url:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise _refused(url, f"the link is malformed ({exc})") from None
        scheme = parts.scheme.lower()
        if scheme not in GIT_SCHEMES:
            raise _refused(url, f"the scheme {scheme!r} is not allowed (allowed: {', '.join(GIT_SCHEMES)})")
        if parts.netloc.count("@") > 1:
            raise _refused(url, "the link has more than one '@' before the host")
        if (parts.username or "").startswith("-"):
            raise _refused(url, "a user name must not start with '-'")
        if scheme == "git" and "@" in parts.netloc:
            raise _refused(url, "git:// links carry no credentials (git reads 'user@' as part of the host name)")
        host = _normalise_host(url, parts.hostname)
        return _GitTarget(scheme, host, port or _DEFAULT_PORTS[scheme], url)
    match = _SCP_LIKE.match(url)
    if not match:
        raise _refused(url, "local paths are not allowed; use an https, http, git or ssh link")
    if (match.group("user") or "").startswith("-"):
        raise _refused(url, "a user name must not start with '-'")
    host = match.group("host").strip("[]")
    return _GitTarget("ssh", _normalise_host(url, host), 22, url)


def _pinned_git_url(target: _GitTarget, addresses: list[IPAddress]) -> tuple[str, list[tuple[str, str]]]:
    """The URL git is given plus extra config, so git connects to a checked address.

    http(s): ``http.curloptResolve`` hands curl the checked addresses for the name (TLS
    still verifies the name).  git://: the host is replaced by a checked IP.  ssh: not
    pinned (ssh resolves the name itself; its host-key check is the guard there).
    """
    if target.scheme in ("http", "https") and not _is_ip(target.host):
        listed = ",".join(f"[{ip}]" if ip.version == 6 else str(ip) for ip in addresses)
        return target.url, [("http.curloptResolve", f"{target.host}:{target.port}:{listed}")]
    if target.scheme == "git" and not _is_ip(target.host):
        parts = urlsplit(target.url)
        ip = addresses[0]
        netloc = f"[{ip}]" if ip.version == 6 else str(ip)
        if parts.port:
            netloc += f":{parts.port}"
        return parts._replace(netloc=netloc).geturl(), []
    return target.url, []


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _git_environment(scheme: str, extra_config: list[tuple[str, str]]) -> dict[str, str]:
    """The whole environment git runs with: the service's, minus what could redirect or
    weaken git, plus nfvo's own configuration.

    Every inherited ``GIT_*`` variable is dropped (``GIT_DIR``, ``GIT_SSH_COMMAND``,
    ``GIT_PROXY_COMMAND``, ``GIT_SSL_NO_VERIFY``, ``GIT_CONFIG_PARAMETERS`` ...), proxy
    variables are blanked (a proxy would connect to the name, not to the checked
    addresses), and ssh runs in batch mode (never prompts).
    """
    config = [
        ("protocol.allow", "never"),  # no file://, ext::, submodule or redirect hops
        (f"protocol.{scheme}.allow", "always"),
        ("credential.helper", ""),  # an empty value clears every helper
        ("core.askPass", ""),
        ("core.hooksPath", os.devnull),
        ("core.fsmonitor", "false"),
        ("core.protectNTFS", "true"),
        ("core.protectHFS", "true"),
        ("http.followRedirects", "false"),  # a redirect would skip the host check
        ("transfer.fsckObjects", "true"),
        ("submodule.recurse", "false"),
        *extra_config,
    ]
    env = {name: value for name, value in os.environ.items() if not name.upper().startswith("GIT_")}
    env.update({name: "" for name in _PROXY_VARIABLES})
    env.update({
        "NO_PROXY": "*",
        "no_proxy": "*",
        "LANGUAGE": "C",
        "LC_ALL": "C",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "",
        "SSH_ASKPASS": "",
        "SSH_ASKPASS_REQUIRE": "never",
        "GIT_SSH_COMMAND": "ssh -o BatchMode=yes",  # never prompt
        "GIT_SSH_VARIANT": "ssh",
        "GIT_CONFIG_NOSYSTEM": "1",  # no system/global config: no insteadOf rewrites,
        "GIT_CONFIG_GLOBAL": os.devnull,  # helpers or hooks from the host
        "GIT_ALLOW_PROTOCOL": scheme,  # overrides protocol.allow, so set it ourselves
        "GIT_PROTOCOL_FROM_USER": "0",
        "GIT_CONFIG_COUNT": str(len(config)),
    })
    for index, (key, value) in enumerate(config):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


def _summarise_stderr(stderr: str, url: str) -> str:
    """git's last lines, without the link's user name and password even where git prints them bare.

    Only the last ``_STDERR_TAIL`` characters are read, from the first whitespace on (a
    URL cut in two would escape :func:`redact`).
    """
    text = stderr or ""
    if len(text) > _STDERR_TAIL:
        tail = text[-_STDERR_TAIL:]
        cut = re.search(r"\s", tail)
        text = tail[cut.start():] if cut else ""
    text = redact(text)
    if "://" in url:
        parts = urlsplit(url)
        for secret in (parts.password, parts.username):
            if secret:
                text = text.replace(secret, "***")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    text = "; ".join(lines[-4:]) or "no message from git"
    return text if len(text) <= _MAX_STDERR else text[: _MAX_STDERR - 3] + "..."


class _GitTimeout(Exception):
    pass


def _run_git(
    args: Sequence[str], *, cwd: pathlib.Path, env: dict[str, str], deadline: float,
    stdin: BinaryIO | None = None, stdout: BinaryIO | None = None,
) -> tuple[int, str]:
    """Run ``git args`` with exactly ``env``; return (exit status, end of stderr).

    stderr goes to a temporary file of which only the last ``_STDERR_TAIL`` bytes are
    read.  At ``deadline`` git and everything it started (its own process group) are
    killed and :class:`_GitTimeout` is raised; ``FileNotFoundError`` when git is missing.
    """
    command = [git.Git.GIT_PYTHON_GIT_EXECUTABLE or "git", *args]
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdin=stdin or subprocess.DEVNULL, stdout=stdout or subprocess.DEVNULL,
            stderr=errors, start_new_session=True,
        )
        try:
            status = process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
            raise _GitTimeout from None
        size = errors.seek(0, os.SEEK_END)
        errors.seek(max(0, size - _STDERR_TAIL))
        return status, errors.read().decode("utf-8", "replace")


@dataclass(frozen=True)
class _Entry:
    mode: str
    size: int | None  # blobs only
    name: str


def _top_level(listing: BinaryIO, limit: int) -> list[_Entry]:
    """The entries of ``git ls-tree -l -z`` output, at most ``limit + 1`` of them."""
    entries: list[_Entry] = []
    pending = b""
    while len(entries) <= limit and (chunk := listing.read(CHUNK)):
        *records, pending = (pending + chunk).split(b"\0")
        for record in records[: limit + 1 - len(entries)]:
            meta, _, name = record.partition(b"\t")
            mode, _kind, _object, size = meta.decode("ascii").split()
            entries.append(_Entry(mode, int(size) if size.isdigit() else None, os.fsdecode(name)))
    return entries


def fetch_git(url: str, dest: str | os.PathLike, policy: FetchPolicy) -> GitCheckout:
    """Shallow-clone ``url`` into ``dest`` (which must not exist); check out only its top-level files.

    Depth 1, default branch only, no tags, no submodules, nothing checked out by the
    clone; then, when the top folder holds at most ``policy.max_git_files`` entries and
    none of its files is larger than ``policy.max_git_file_bytes`` (else
    :class:`TooLarge` naming the link), its regular files alone are checked out.  A
    folder or link is never checked out, so a tree with millions of entries is never
    written or walked.  git and everything it starts are killed after
    ``policy.git_timeout`` (all steps together).
    Allowed: ``https``, ``http``, ``git``, ``ssh`` URLs and scp-like ``user@host:path``.
    Refused with :class:`FetchRefused` before git runs: remote helpers (``ext::``),
    ``file://`` and local paths (reading the server's disk), links starting with ``-``
    (option injection), control characters, and hosts whose addresses are not public
    unless allowed by ``policy.allow``.  git runs without system/global config, without
    the service's ``GIT_*`` and proxy variables (see :func:`_git_environment`), with
    prompts, askpass and credential helpers off, hooks off, only the link's protocol
    allowed, HTTP redirects not followed, and http(s)/git:// pinned to the checked
    addresses (see :func:`_pinned_git_url`).  Failures raise :class:`FetchFailed`
    naming the URL, with the end of git's stderr summarised and userinfo stripped.
    ``dest`` is removed again when the clone fails or is refused.  Raises
    ``FileExistsError`` if ``dest`` exists.
    """
    target = _parse_git_url(url)
    addresses = _checked_addresses(url, target.host, target.port, policy)
    dest = pathlib.Path(os.path.abspath(dest))  # git runs in dest's parent folder
    if dest.exists() or dest.is_symlink():
        raise FileExistsError(f"clone destination {dest} already exists")
    clone_url, extra_config = _pinned_git_url(target, addresses)
    env = _git_environment(target.scheme, extra_config)
    deadline = time.monotonic() + policy.git_timeout
    try:
        return _clone(url, clone_url, dest, env, deadline, policy)
    except _GitTimeout:
        shutil.rmtree(dest, ignore_errors=True)
        raise _failed(url, f"git clone did not finish within {policy.git_timeout:g} s") from None
    except (FileNotFoundError, PermissionError) as exc:
        shutil.rmtree(dest, ignore_errors=True)
        if exc.filename == (git.Git.GIT_PYTHON_GIT_EXECUTABLE or "git"):
            raise _failed(url, "git is not installed on the server") from None
        raise
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise


def _clone(url: str, clone_url: str, dest: pathlib.Path, env: dict[str, str], deadline: float,
           policy: FetchPolicy) -> GitCheckout:
    clone = [
        "clone",
        "--quiet",
        "--depth=1",
        "--single-branch",
        "--no-tags",
        "--no-recurse-submodules",
        "--no-checkout",  # only the top-level files are checked out, after the limits
        "--template=",  # no hooks or config copied from a template directory
        "--",
        clone_url,
        str(dest),
    ]
    parent = dest.parent if dest.parent.is_dir() else pathlib.Path.cwd()
    status, stderr = _run_git(clone, cwd=parent, env=env, deadline=deadline)
    if status != 0:
        raise _failed(url, f"git clone failed: {_summarise_stderr(stderr, url)}")
    with tempfile.TemporaryFile() as out:
        status, _ = _run_git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], cwd=dest, env=env,
                             deadline=deadline, stdout=out)
        out.seek(0)
        commit = out.read().decode("ascii", "replace").strip()
    if status != 0 or not commit:
        raise _failed(url, "the repository is empty")
    if clone_url != redact(url):  # keep neither credentials nor pinned IPs on disk
        status, stderr = _run_git(["config", "--", "remote.origin.url", redact(url)], cwd=dest, env=env,
                                  deadline=deadline)
        if status != 0:
            raise _failed(url, f"git config failed: {_summarise_stderr(stderr, url)}")
    with tempfile.TemporaryFile() as listing:
        status, stderr = _run_git(["ls-tree", "-l", "-z", "HEAD"], cwd=dest, env=env, deadline=deadline,
                                  stdout=listing)
        if status != 0:
            raise _failed(url, f"git ls-tree failed: {_summarise_stderr(stderr, url)}")
        listing.seek(0)
        entries = _top_level(listing, policy.max_git_files)
    files = sorted(e.name for e in entries if e.mode in _REGULAR_MODES)
    symlinks = sorted(e.name for e in entries if e.mode == _SYMLINK_MODE)
    _refuse_oversized(url, entries, policy)
    if files:
        with tempfile.TemporaryFile() as paths:
            paths.write(b"".join(os.fsencode(name) + b"\0" for name in files))
            paths.seek(0)
            status, stderr = _run_git(
                ["--literal-pathspecs", "checkout", "--quiet", "HEAD", "--pathspec-from-file=-",
                 "--pathspec-file-nul"],
                cwd=dest, env=env, deadline=deadline, stdin=paths,
            )
        if status != 0:
            raise _failed(url, f"git checkout failed: {_summarise_stderr(stderr, url)}")
    return GitCheckout(path=dest, commit=commit, url=redact(url), files=tuple(files), symlinks=tuple(symlinks))


def _refuse_oversized(url: str, entries: list[_Entry], policy: FetchPolicy) -> None:
    shown = redact(url)
    if len(entries) > policy.max_git_files:
        message = f"{shown}: the top folder of the repository holds more than {policy.max_git_files} entries"
        raise TooLarge(message, errors=[Issue(message)])
    issues = [
        Issue(f"{shown}: {e.name} is {e.size} bytes, more than the limit of {policy.max_git_file_bytes}")
        for e in entries
        if e.mode in _REGULAR_MODES and e.size is not None and e.size > policy.max_git_file_bytes
    ]
    if issues:
        raise TooLarge(f"{shown}: {len(issues)} top-level files are too large to fetch", errors=issues)
