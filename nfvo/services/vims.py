"""VIM instances: register (checked through the driver), list, show, images, delete; the endpoint policy."""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import json
import logging
import os
import re
import socket
import ssl
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import nfvo_plugin_sdk as sdk
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from nfvo import drivers
from nfvo.db.models import PackageImage, Project, VimInstance
from nfvo.errors import (
    Conflict,
    DuplicateVim,
    Forbidden,
    ImageVerificationFailed,
    InUse,
    Issue,
    NfvoError,
    NotFound,
    ValidationFailed,
    VimEndpointRefused,
    VimFailed,
    VimNotFound,
    VimRejectedCredentials,
    VimUnavailable,
    VimUnsupported,
)
from nfvo.fetch import host_address_refusal, parse_allow
from nfvo.services import secrets
from nfvo.services.bootstrap import DEFAULT_PROJECT
from nfvo.services.context import Context, in_project

log = logging.getLogger(__name__)

# --- the endpoint policy (NFVO_VIM_ALLOW) ------------------------------------------------

_NO_NETWORK_SCHEMES = ("local",)  # the local driver's store name, no address


@dataclass(frozen=True)
class EndpointPolicy:
    """Where VIM drivers may connect: every address except this host, link-local, metadata,
    multicast and reserved ones (see :func:`nfvo.fetch.host_address_refusal`), and no unix socket;
    ``allow`` (NFVO_VIM_ALLOW) admits host names (exactly, with every address they resolve to),
    IPs/CIDRs and, for ``unix://``, the sockets inside a directory (an entry starting with ``/``)."""

    allow: tuple[str, ...] = ()
    #: addresses an allowed host name of the checked ``authUrl`` resolved to (see :meth:`check`)
    admitted: tuple[str, ...] = ()

    @property
    def _rules(self):
        names, networks = parse_allow([e for e in self.allow if not e.startswith("/")] + list(self.admitted))
        directories = tuple(os.path.realpath(e) for e in self.allow if e.startswith("/"))
        return names, networks, directories

    def address_refusal(self, ip: str) -> str | None:
        """Why a connection to ``ip`` is refused, or None."""
        address = ipaddress.ip_address(ip.split("%", 1)[0])
        _, networks, _ = self._rules
        inner = getattr(address, "ipv4_mapped", None)
        if any(a in net for a in (address, inner) if a is not None for net in networks):
            return None
        reason = host_address_refusal(address)
        return f"{address} is a {reason} address" if reason else None

    def socket_refusal(self, path: str | bytes) -> str | None:
        """Why a connection to the unix socket ``path`` is refused, or None."""
        text = os.fsdecode(path)
        if not text.startswith("/"):
            return "abstract or relative unix sockets are refused"
        real = os.path.realpath(text)
        _, _, directories = self._rules
        if any(os.path.commonpath([real, d]) == d for d in directories):
            return None
        return f"the unix socket {text} is not in a directory NFVO_VIM_ALLOW admits"

    def check(self, vim_name: str, auth_url: str) -> EndpointPolicy:
        """Refuses ``auth_url`` before the driver talks to it (VimEndpointRefused, naming /authUrl);
        returns the policy for the connection guard (which also admits the addresses an allowed host
        name of ``auth_url`` resolved to).

        A host name is resolved and *every* address must pass (an allowed name passes as a
        whole); one that does not resolve is VimUnavailable.  No connection is made.
        """
        url = (auth_url or "").strip()
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if not url or scheme in _NO_NETWORK_SCHEMES:
            return self
        if scheme == "unix":
            if reason := self.socket_refusal(parts.path):
                raise _endpoint_refused(vim_name, reason)
            return self
        try:
            host, port = parts.hostname, parts.port or 0
        except ValueError:
            host = None
        if not host:
            raise _endpoint_refused(vim_name, "the authUrl names no host")
        host = host.lower()
        try:
            addresses = sorted({i[4][0] for i in socket.getaddrinfo(host, port or None, type=socket.SOCK_STREAM)})
        except (OSError, UnicodeError):
            raise VimUnavailable(f"VIM {vim_name!r}: the host name {host!r} does not resolve") from None
        names, _, _ = self._rules
        if host.rstrip(".") in names:
            return dataclasses.replace(self, admitted=tuple(a.split("%", 1)[0] for a in addresses))
        if reason := next((r for ip in addresses if (r := self.address_refusal(ip))), None):
            raise _endpoint_refused(vim_name, reason)
        return self


def _endpoint_refused(vim_name: str, reason: str) -> VimEndpointRefused:
    message = (f"VIM {vim_name!r}: {reason}; nfvo does not connect there unless the operator adds it "
               "to NFVO_VIM_ALLOW")
    return VimEndpointRefused(message, errors=[Issue(message, pointer="/authUrl")])


def endpoint_policy(ctx: Context) -> EndpointPolicy:
    return EndpointPolicy(tuple(ctx.settings.vim_allow))


# --- the connection guard: every connect() a driver makes is checked ----------------------

_guard = threading.local()
_hook_installed = threading.Lock()
_hooked = False


class _ConnectRefused(BaseException):
    """Raised by the audit hook inside a driver call; a BaseException, so that no driver's or client
    library's ``except Exception`` turns it into a connection error. Caught by :class:`_Guarded`."""


def _audit(event: str, args: tuple) -> None:
    if event != "socket.connect":
        return
    policy = getattr(_guard, "policy", None)
    if policy is None:
        return
    sock, address = args
    if sock.family == getattr(socket, "AF_UNIX", None):
        reason = policy.socket_refusal(address)
    elif isinstance(address, tuple) and sock.family in (socket.AF_INET, socket.AF_INET6):
        try:
            reason = policy.address_refusal(address[0])
        except ValueError:  # a name given to connect() directly: judge what it resolves to
            infos = socket.getaddrinfo(address[0], address[1], type=socket.SOCK_STREAM)
            reason = next((r for info in infos if (r := policy.address_refusal(info[4][0]))), None)
    else:
        reason = f"sockets of family {sock.family!r} are refused"
    if reason:
        raise _ConnectRefused(reason)


def _install_hook() -> None:
    global _hooked
    with _hook_installed:
        if not _hooked:
            sys.addaudithook(_audit)  # process-wide and permanent; inert outside a guarded call
            _hooked = True


@contextlib.contextmanager
def _guarded(policy: EndpointPolicy | None) -> Iterator[None]:
    previous, _guard.policy = getattr(_guard, "policy", None), policy
    try:
        yield
    finally:
        _guard.policy = previous


class _Unguarded:
    """A stream handed to a driver: nfvo's own reads (a download, a heartbeat) are not the driver's."""

    def __init__(self, stream):
        self._stream = stream

    def read(self, *args):
        with _guarded(None):
            return self._stream.read(*args)

    def readinto(self, buffer):
        with _guarded(None):
            return self._stream.readinto(buffer)

    def __getattr__(self, name):
        return getattr(self._stream, name)


class _Guarded:
    """A driver whose every method call runs with the connection guard of ``policy`` on: a socket it
    connects (in this thread) to a refused address or socket raises VimEndpointRefused instead.
    It catches what the ``authUrl`` check cannot: service-catalog entries, redirects, DNS changes."""

    def __init__(self, driver: sdk.VimDriver, policy: EndpointPolicy, vim_name: str):
        self._driver, self._policy, self._vim_name = driver, policy, vim_name

    def __getattr__(self, name):
        try:  # a property may do network I/O too (the OpenStack driver's ``capabilities`` logs in)
            with _guarded(self._policy):
                value = getattr(self._driver, name)
        except _ConnectRefused as exc:
            raise _endpoint_refused(self._vim_name, f"its driver tried to connect where it may not: {exc}") from None
        if not callable(value) or name.startswith("_"):
            return value

        def call(*args, **kwargs):
            args = tuple(_Unguarded(a) if hasattr(a, "read") else a for a in args)
            try:
                with _guarded(self._policy):
                    return value(*args, **kwargs)
            except _ConnectRefused as exc:
                raise _endpoint_refused(self._vim_name, f"its driver tried to connect where it may not: {exc}") from None

        return call


# --- driver errors: what nfvo observed, never the remote's words ------------------------

_DRIVER_ERRORS = [
    (sdk.VimUnavailable, VimUnavailable, "is not available"),
    (sdk.VimAuthFailed, VimRejectedCredentials, "refused the credentials or the connection"),
    (sdk.ImageNotFound, NotFound, "has no such image"),
    (sdk.DriverConflict, Conflict, "refused the change because of its current state"),
    (sdk.Unsupported, VimUnsupported, "refused the operation or the data"),
    (sdk.ChecksumMismatch, ImageVerificationFailed, "stored other bytes than nfvo sent"),
    (sdk.InvalidVimSpec, ValidationFailed, "does not answer like a VIM of this type"),
]
_HTTP_STATUS = re.compile(r"\bHTTP (\d{3})\b")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps: causes, contexts, ``reason`` and exception arguments."""
    todo, seen = [exc], set()
    while todo and len(seen) < 20:
        e = todo.pop(0)
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        linked = [e.__cause__, e.__context__, getattr(e, "reason", None), *getattr(e, "args", ())]
        todo.extend(x for x in linked if isinstance(x, BaseException))


def observations(exc: BaseException) -> list[str]:
    """What nfvo saw of the failure: HTTP statuses, timeouts, TLS failures, refused or reset
    connections, names that do not resolve; never text the VIM sent."""
    facts: list[str] = []

    def note(fact: str) -> None:
        if fact not in facts:
            facts.append(fact)

    for e in _chain(exc):
        name = type(e).__name__  # not the bases: urllib3's NewConnectionError derives from a timeout
        for attribute in ("status_code", "http_status"):
            status = getattr(e, attribute, None)
            if isinstance(status, int) and 100 <= status <= 599:
                note(f"HTTP {status}")
        status = getattr(getattr(e, "response", None), "status_code", None)
        if isinstance(status, int) and 100 <= status <= 599:
            note(f"HTTP {status}")
        if isinstance(e, ssl.SSLError) or "SSL" in name or "TLS" in name:
            note("TLS failure")
        if isinstance(e, TimeoutError) or "Timeout" in name:
            note("timed out")
        for kind, fact in ((ConnectionRefusedError, "connection refused"), (ConnectionResetError, "connection reset"),
                           (socket.gaierror, "the host name does not resolve"),
                           (FileNotFoundError, "no such socket or directory"), (PermissionError, "permission denied"),
                           (BrokenPipeError, "connection closed")):
            if isinstance(e, kind):
                note(fact)
    if not any(f.startswith("HTTP ") for f in facts) and (match := _HTTP_STATUS.search(str(exc))):
        note(f"HTTP {match.group(1)}")  # the driver's own "...: HTTP 404 <body>" prefix
    return facts


def _answer(exc: sdk.DriverError, vim_name: str) -> NfvoError:
    """The service error for a driver error raised while talking to the VIM.

    The detail names the VIM, the kind of failure and :func:`observations`; the driver's message
    (which may quote the remote: a response body, a banner) only goes to the log.  Exceptions:
    an ``Unsupported`` with no sign of a remote answer keeps its message (the driver judged the
    data itself, e.g. "not an image tarball"), a ``ChecksumMismatch`` shows the two SHA-256s.
    """
    cls, phrase = next(((ours, p) for theirs, ours, p in _DRIVER_ERRORS if isinstance(exc, theirs)),
                       (VimFailed, "reported an error"))
    facts = observations(exc)
    log.warning("VIM %r: %s: %s", vim_name, type(exc).__name__, exc)
    if isinstance(exc, sdk.Unsupported) and not facts:
        return cls(f"VIM {vim_name!r}: {exc}")
    if isinstance(exc, sdk.ChecksumMismatch) and all(_SHA256.fullmatch(str(h)) for h in (exc.expected, exc.actual)):
        facts.append(f"expected sha256 {exc.expected}, got {exc.actual}")
    if isinstance(exc, sdk.ImageNotFound) and exc.image_id and re.fullmatch(r"[\w.:@/-]{1,255}", exc.image_id):
        phrase = f"has no image {exc.image_id!r}"
    return cls(f"VIM {vim_name!r} {phrase}" + (f" ({', '.join(facts)})" if facts else ""))


@contextlib.contextmanager
def driver_errors(vim_name: str, *, remote: bool = True) -> Iterator[None]:
    """Turns the SDK's driver errors into the service's, naming the VIM.  ``remote``: the driver
    was talking to the VIM, so the answer carries only what nfvo observed (see :func:`_answer`);
    otherwise (building the driver from the registration, no I/O) the driver's message is kept."""
    try:
        yield
    except sdk.DriverError as exc:
        if remote:
            error = _answer(exc, vim_name)
        else:
            cls = next((ours for theirs, ours, _ in _DRIVER_ERRORS if isinstance(exc, theirs)), VimFailed)
            error = cls(f"VIM {vim_name!r}: {exc}")
        error.retryable = exc.retryable  # the driver knows whether trying again can help
        raise error from exc


# --- specs and connections ----------------------------------------------------------------

_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off", "")


def is_shared(vim: VimInstance) -> bool:
    """The ``shared`` property: a store a system administrator opened to every project."""
    value = (vim.fields or {}).get("properties", {}).get("shared")
    return str(value).strip().lower() in _TRUE if value is not None else False


#: Values of the property ``importLinks``, the default first (see :mod:`nfvo.services.links`).
IMPORT_LINKS = ("auto", "always", "never")


def import_links(vim: VimInstance) -> str:
    """The ``importLinks`` property: who fetches an image link the VIM could import itself
    (``auto``: the VIM, else nfvo; ``always``: the VIM only; ``never``: nfvo). Absent or empty
    is ``auto``; registration refuses other values."""
    value = (vim.fields or {}).get("properties", {}).get("importLinks")
    text = str(value).strip().lower() if value is not None else ""
    return text if text in IMPORT_LINKS else IMPORT_LINKS[0]


def spec_for(ctx: Context, vim: VimInstance) -> sdk.VimSpec:
    """What the driver gets: the Open Baton fields, and in ``extra`` the VIM's ``properties``
    and decrypted ``secrets`` merged (secrets win), plus keyPair, securityGroups and location.

    ``extra["project"]`` is set last, by nfvo alone: the id of the VIM's project, in which
    drivers keep the instance's state (the local driver its store); empty for a ``shared``
    VIM and for the project ``default``, whose stores stay where they always were."""
    fields = dict(vim.fields or {})
    stored = secrets.decrypt(ctx.settings.secret_key, fields.pop("secrets_enc", None))
    extra = {k: v for k, v in fields.items() if k not in ("properties", "secret_keys")}
    extra.update(fields.get("properties", {}))
    extra.update(json.loads(stored) if stored else {})
    with ctx.session() as session:
        project = session.get(Project, vim.project_id)
    legacy = is_shared(vim) or (project is not None and project.name == DEFAULT_PROJECT)
    extra["project"] = "" if legacy else vim.project_id
    return sdk.VimSpec(
        name=vim.name,
        type=vim.type,
        auth_url=vim.auth_url or "",
        tenant=vim.tenant,
        username=vim.username,
        password=secrets.decrypt(ctx.settings.secret_key, vim.password_enc),
        extra=extra,
        data_dir=str(ctx.settings.vim_data_dir),
    )


@contextlib.contextmanager
def connected(ctx: Context, vim: VimInstance) -> Iterator[sdk.VimDriver]:
    """A driver for ``vim``, closed afterwards; driver errors come out as service errors.

    Once the driver has checked the registration's fields (no I/O), ``vim.auth_url`` must pass the
    endpoint policy (VimEndpointRefused) before any driver method runs; while its methods run, every socket it connects is checked again (see :class:`_Guarded`)."""
    with driver_errors(vim.name, remote=False):  # checks the registration's fields; no I/O
        driver = drivers.connect(spec_for(ctx, vim))
    try:
        policy = endpoint_policy(ctx).check(vim.name, vim.auth_url or "")
        _install_hook()
        with driver_errors(vim.name):
            yield _Guarded(driver, policy, vim.name)
    finally:
        driver.close()


def refresh(ctx: Context, vim: VimInstance) -> dict:
    """Checks the connection and reads images, flavours and networks (Open Baton's refresh):
    ``{"images": [sdk.Image], "flavours": [sdk.Flavor], "networks": [sdk.Network]}``."""
    with connected(ctx, vim) as driver:
        driver.check_connection()
        return {"images": driver.list_images(), "flavours": driver.list_flavors(), "networks": driver.list_networks()}


def _check_shared(data: dict, system_admin: bool) -> None:
    """The property ``shared`` is ``true`` or ``false``, and only a system administrator sets it true."""
    value = (data.get("properties") or {}).get("shared")
    if value is None:
        return
    text = str(value).strip().lower()
    if text not in _TRUE + _FALSE:
        raise ValidationFailed("Property 'shared' must be true or false",
                               errors=[Issue(f"must be true or false, not {value!r}", pointer="/properties/shared")])
    if text in _TRUE and not system_admin:
        raise Forbidden("Only a system administrator may register a shared VIM instance (property 'shared')",
                        errors=[Issue("only a system administrator may set it", pointer="/properties/shared")])


def _check_import_links(data: dict) -> None:
    """The property ``importLinks`` is auto, always or never (any case; empty means auto)."""
    value = (data.get("properties") or {}).get("importLinks")
    if value is not None and str(value).strip().lower() not in (*IMPORT_LINKS, ""):
        raise ValidationFailed("Property 'importLinks' must be auto, always or never", errors=[
            Issue(f"must be auto, always or never, not {value!r}", pointer="/properties/importLinks")])


def register(ctx: Context, project_id: str, data: dict, *, system_admin: bool = False) -> tuple[VimInstance, dict]:
    """Creates a VIM instance after the driver checked the connection.

    Raises DriverNotInstalled/DriverBroken for the type, Forbidden when a caller who is not a
    system administrator (``system_admin``) sets the property ``shared``, ValidationFailed for a
    ``shared`` or ``importLinks`` property of no known value, VimEndpointRefused for an
    ``authUrl`` the endpoint policy refuses, VimUnavailable or VimRejectedCredentials when the
    check fails, DuplicateVim for a taken name.
    """
    drivers.load(data["type"])
    _check_shared(data, system_admin)
    _check_import_links(data)
    known = {"name", "type", "authUrl", "tenant", "username", "password", "secrets"}
    fields = {k: v for k, v in data.items() if k not in known and v is not None}
    if data.get("secrets"):
        fields["secret_keys"] = sorted(data["secrets"])
        fields["secrets_enc"] = secrets.encrypt(ctx.settings.secret_key, json.dumps(data["secrets"]))
    vim = VimInstance(
        project_id=project_id,
        name=data["name"],
        type=data["type"],
        auth_url=data.get("authUrl") or "",
        tenant=data.get("tenant"),
        username=data.get("username"),
        password_enc=secrets.encrypt(ctx.settings.secret_key, data.get("password")),
        fields=fields,
    )
    state = refresh(ctx, vim)
    try:
        with ctx.transaction() as session:
            session.add(vim)
    except IntegrityError:
        raise DuplicateVim(f"Project already has a VIM instance named {data['name']!r}") from None
    return vim, state


def get(ctx: Context, project_id: str, vim_id: str) -> VimInstance:
    with ctx.session() as session:
        return in_project(session, VimInstance, vim_id, project_id, VimNotFound, "VIM instance")


def list_(ctx: Context, project_id: str) -> list[VimInstance]:
    with ctx.session() as session:
        return list(session.scalars(select(VimInstance).where(VimInstance.project_id == project_id).order_by(VimInstance.name)))


def images(ctx: Context, project_id: str, vim_id: str) -> list[sdk.Image]:
    vim = get(ctx, project_id, vim_id)
    with connected(ctx, vim) as driver:
        return driver.list_images()


def delete(ctx: Context, project_id: str, vim_id: str) -> None:
    """Raises InUse while an onboarded package still uses images on this VIM."""
    with ctx.transaction() as session:
        vim = in_project(session, VimInstance, vim_id, project_id, VimNotFound, "VIM instance")
        users = session.scalars(select(PackageImage.package_id).where(PackageImage.vim_id == vim_id).distinct()).all()
        if users:
            raise InUse(
                f"VIM {vim.name!r} holds images of onboarded packages",
                errors=[Issue(f"used by package {p}") for p in users],
            )
        session.delete(vim)
