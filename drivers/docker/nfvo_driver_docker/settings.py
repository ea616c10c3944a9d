"""What a Docker VIM registration says: the engine's address, TLS, timeouts, registry credentials."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from nfvo_plugin_sdk import InvalidVimSpec, VimSpec

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}
DEFAULT_TIMEOUT = 60.0


def _flag(extra: dict, key: str) -> bool | None:
    value = extra.get(key)
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidVimSpec(f"property {key!r} must be true or false, not {value!r}")


def _pem(extra: dict, key: str, marker: str) -> str | None:
    value = extra.get(key)
    if value in (None, ""):
        return None
    if not isinstance(value, str) or "-----BEGIN" not in value or marker not in value:
        raise InvalidVimSpec(f"secret {key!r} must be PEM text ({marker})")  # never echo the value
    return value


@dataclass(frozen=True)
class Settings:
    """The engine address (``base_url`` for the docker SDK) and how to talk to it."""

    base_url: str
    timeout: float = DEFAULT_TIMEOUT
    tls: bool = False
    tls_verify: bool = True
    ca_cert: str | None = field(default=None, repr=False)
    client_cert: str | None = field(default=None, repr=False)
    client_key: str | None = field(default=None, repr=False)
    registry: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    data_dir: str = ""

    @classmethod
    def from_spec(cls, vim: VimSpec) -> Settings:
        """Reads and checks the VimSpec (no I/O); raises InvalidVimSpec."""
        extra = dict(vim.extra or {})
        url = (vim.auth_url or "").strip()
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        ca = _pem(extra, "tlsCaCert", "CERTIFICATE")
        cert = _pem(extra, "tlsCert", "CERTIFICATE")
        key = _pem(extra, "tlsKey", "PRIVATE KEY")
        verify = _flag(extra, "tlsVerify")
        tls = _flag(extra, "tls")
        if tls is None:
            tls = scheme == "https" or bool(ca or cert or key) or bool(verify)
        if scheme == "unix":
            if not parts.path.startswith("/") or parts.netloc:
                raise InvalidVimSpec(f"authUrl {url!r}: a unix socket is written unix:///absolute/path/docker.sock")
            if tls:
                raise InvalidVimSpec("TLS settings apply to tcp:// engines, not to a unix socket")
            base_url = f"unix://{parts.path}"
        elif scheme in ("tcp", "http", "https"):
            try:
                host, port = parts.hostname, parts.port
            except ValueError:
                host = port = None
            if not host or parts.path not in ("", "/") or parts.query or parts.username:
                raise InvalidVimSpec(f"authUrl {url!r}: an engine over TCP is written tcp://host:port")
            port = port or (2376 if tls else 2375)
            host = f"[{host}]" if ":" in host else host
            base_url = f"tcp://{host}:{port}"
        else:
            raise InvalidVimSpec(
                f"authUrl {url!r} does not name a Docker engine: use unix:///var/run/docker.sock or tcp://host:2376")
        if bool(cert) != bool(key):
            raise InvalidVimSpec("secrets tlsCert and tlsKey (the client certificate and its key) go together")
        if tls and (ca or cert) and not vim.data_dir:
            raise InvalidVimSpec("TLS certificates need the driver data directory (VimSpec.data_dir)")
        try:
            timeout = float(extra.get("timeout", DEFAULT_TIMEOUT))
        except (TypeError, ValueError):
            raise InvalidVimSpec(f"property 'timeout' must be a number of seconds, not {extra.get('timeout')!r}") from None
        if not 0 < timeout <= 3600:
            raise InvalidVimSpec("property 'timeout' must be between 0 and 3600 seconds")
        registry = (extra.get("registry") or "").strip() or None
        if (vim.username or vim.password) and not registry:
            raise InvalidVimSpec("username/password are registry credentials: name their registry in property 'registry'")
        return cls(base_url=base_url, timeout=timeout, tls=tls, tls_verify=verify if verify is not None else True,
                   ca_cert=ca, client_cert=cert, client_key=key, registry=registry, username=vim.username,
                   password=vim.password, data_dir=vim.data_dir)

    def pem_file(self, pem: str) -> str:
        """A 0600 file holding ``pem`` under ``<data_dir>/docker/tls/`` (named by its hash, written once)."""
        directory = Path(self.data_dir) / "docker" / "tls"
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        path = directory / f"{hashlib.sha256(pem.encode()).hexdigest()[:32]}.pem"
        if path.exists() and path.stat().st_mode & 0o077 == 0:
            return str(path)
        temporary = directory / f".{path.name}.{os.getpid()}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(pem)
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
        return str(path)
