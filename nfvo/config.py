"""Settings, read from the environment and nowhere else."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

MiB = 2**20
GiB = 2**30


VALIDATION_MODES = ("standard", "strict")


@dataclass(frozen=True)
class Settings:
    """Everything an operator can set; see ``docs/configuration.md``.

    ``broker_url`` empty means embedded mode: Celery runs on an in-memory broker with
    a worker thread inside ``nfvo serve``.
    """

    home: Path
    database_url: str
    broker_url: str = ""
    admin_password: str = "openbaton"
    fetch_allow: str = ""
    vim_allow: tuple[str, ...] = ()  # NFVO_VIM_ALLOW: hosts, IPs/CIDRs, and /directories of unix sockets
    max_package_size: int = 64 * GiB
    max_image_size: int = 64 * GiB
    max_archive_members: int = 10_000
    max_descriptor_size: int = 8 * MiB  # NFVO_MAX_DESCRIPTOR_SIZE: a package's descriptors and metadata
    max_script_size: int = 16 * MiB  # NFVO_MAX_SCRIPT_SIZE: one lifecycle script in a package
    max_artifact_size: int = GiB  # NFVO_MAX_ARTIFACT_SIZE: any other package file (not an image)
    onboarding_wait: float = 3600.0
    job_stale_after: float = 300.0
    token_ttl: int = 1200
    git_timeout: float = 120.0
    http_read_timeout: float = 60.0
    public_url: str = ""  # NFVO_PUBLIC_URL: scheme://host[:port] of every link the API writes
    allowed_hosts: tuple[str, ...] = ()  # NFVO_ALLOWED_HOSTS: Host values links may use when public_url is unset
    http_header_timeout: float = 20.0  # seconds for a request head and its first 64 KiB of body
    http_body_timeout: float = 60.0  # seconds one read of a request body (or one write of an answer) may wait
    http_min_body_rate: int = 4096  # bytes/s a large body must average while nfvo waits for it (0: no minimum)
    http_upload_threads: int = 32  # threads streaming large request bodies (one upload each)
    vnfpkgm_page_size: int = 100
    validation: str = "standard"  # or "strict": every validation warning refuses the package
    login_max_failures: int = 5  # failed password checks per (user name, client address) in one window
    login_max_address_failures: int = 50  # ... per client address, whatever the user name
    login_max_user_failures: int = 20  # ... per user name; beyond it every address gets one try
    login_window: int = 300  # seconds
    store_url: str = ""  # NFVO_STORE_URL: file:///path or s3://bucket/prefix; empty: file://NFVO_HOME/store
    store_endpoint: str = ""  # NFVO_STORE_ENDPOINT: the S3 endpoint URL (empty: AWS's, by region)
    store_region: str = ""  # NFVO_STORE_REGION
    store_access_key: str = ""  # NFVO_STORE_ACCESS_KEY (empty: boto3's own lookup, e.g. an instance role)
    store_secret_key: str = field(default="", repr=False)  # NFVO_STORE_SECRET_KEY
    store_part_size: int = 32 * MiB  # NFVO_STORE_PART_SIZE: bytes per part of a multipart upload
    secret_key: str = field(default="", repr=False)

    @property
    def content_store_url(self) -> str:
        """NFVO_STORE_URL, or the filesystem store under NFVO_HOME."""
        return self.store_url or (self.home / "store").as_uri()

    @property
    def embedded(self) -> bool:
        return not self.broker_url

    @property
    def uploads_dir(self) -> Path:
        return self.home / "uploads"

    @property
    def legacy_packages_dir(self) -> Path:
        """Where an nfvo before the content store kept onboarded packages (moved into the store at upgrade)."""
        return self.home / "packages"

    @property
    def work_dir(self) -> Path:
        return self.home / "work"

    @property
    def vim_data_dir(self) -> Path:
        return self.home / "vim-data"

    def ensure_dirs(self) -> None:
        for d in (self.home, self.uploads_dir, self.work_dir, self.vim_data_dir):
            d.mkdir(parents=True, exist_ok=True)


def _int(env: dict, name: str, default: int) -> int:
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {value!r}") from None


def _secret_key(home: Path, env: dict) -> str:
    """NFVO_SECRET_KEY, or a key kept in NFVO_HOME/secret_key (created 0600 on first use)."""
    if env.get("NFVO_SECRET_KEY"):
        return env["NFVO_SECRET_KEY"]
    path = home / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        home.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key)
        return key
    except FileExistsError:  # pragma: no cover - raced with another process
        return path.read_text().strip()


def _database_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs; nfvo talks to PostgreSQL through psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _choice(env: dict, name: str, choices: tuple[str, ...]) -> str:
    """The value of ``name``, one of ``choices`` (the first when unset), in any case."""
    value = env.get(name, "").strip().lower() or choices[0]
    if value not in choices:
        raise SystemExit(f"{name} must be one of {', '.join(choices)}, not {env[name]!r}")
    return value


def _vim_allow(value: str) -> tuple[str, ...]:
    """NFVO_VIM_ALLOW's comma-separated entries; SystemExit for an IP/CIDR that does not parse or a
    socket directory that is not absolute (a host name is anything else)."""
    import ipaddress
    import re

    entries = tuple(e.strip() for e in value.split(",") if e.strip())
    for entry in entries:
        text = entry.strip("[]")
        try:
            if entry.startswith(("/", ".", "~")) and not entry.startswith("/"):
                raise ValueError("a socket directory must be an absolute path")
            if not entry.startswith("/") and ("/" in text or ":" in text or re.fullmatch(r"[0-9.]+", text)):
                ipaddress.ip_network(text, strict=False)
        except ValueError as exc:
            raise SystemExit(f"NFVO_VIM_ALLOW is not valid: entry {entry!r}: {exc}") from None
    return entries


def _public_url(value: str) -> str:
    """NFVO_PUBLIC_URL as ``scheme://host[:port]``; SystemExit unless it is an http(s) URL without a
    path (other than ``/``), query or fragment."""
    from urllib.parse import urlsplit

    value = value.strip()
    if not value:
        return ""
    url = urlsplit(value)
    if url.scheme not in ("http", "https") or not url.hostname or url.path not in ("", "/") or url.query \
            or url.fragment or url.username is not None:
        raise SystemExit(f"NFVO_PUBLIC_URL must be http(s)://host[:port] without a path, not {value!r}")
    return f"{url.scheme}://{url.netloc.lower()}"


def _store_url(value: str) -> str:
    """NFVO_STORE_URL with a scheme; SystemExit for a bare path (the backend checks the rest)."""
    value = value.strip()
    if value and "://" not in value:
        raise SystemExit(f"NFVO_STORE_URL must be a URL such as file:///var/lib/nfvo/store or "
                         f"s3://bucket/prefix, not {value!r}")
    return value


def _part_size(env: dict) -> int:
    """NFVO_STORE_PART_SIZE: S3 takes parts of 5 MiB to 5 GiB."""
    value = _int(env, "NFVO_STORE_PART_SIZE", 32 * MiB)
    if not 5 * MiB <= value <= 5 * GiB:
        raise SystemExit(f"NFVO_STORE_PART_SIZE must be between {5 * MiB} (5 MiB) and {5 * GiB} (5 GiB), not {value}")
    return value


def load(env: dict | None = None) -> Settings:
    """Settings from ``env`` (default ``os.environ``)."""
    env = dict(os.environ if env is None else env)
    home = Path(env.get("NFVO_HOME") or Path.cwd() / ".nfvo").resolve()
    database_url = _database_url(env.get("NFVO_DATABASE_URL") or f"sqlite:///{home / 'nfvo.sqlite'}")
    return Settings(
        home=home,
        database_url=database_url,
        broker_url=env.get("NFVO_BROKER_URL", "").strip(),
        admin_password=env.get("NFVO_ADMIN_PASSWORD") or "openbaton",
        fetch_allow=env.get("NFVO_FETCH_ALLOW", "").strip(),
        vim_allow=_vim_allow(env.get("NFVO_VIM_ALLOW", "")),
        max_package_size=_int(env, "NFVO_MAX_PACKAGE_SIZE", 64 * GiB),
        max_image_size=_int(env, "NFVO_MAX_IMAGE_SIZE", 64 * GiB),
        max_archive_members=_int(env, "NFVO_MAX_ARCHIVE_MEMBERS", 10_000),
        max_descriptor_size=_int(env, "NFVO_MAX_DESCRIPTOR_SIZE", 8 * MiB),
        max_script_size=_int(env, "NFVO_MAX_SCRIPT_SIZE", 16 * MiB),
        max_artifact_size=_int(env, "NFVO_MAX_ARTIFACT_SIZE", GiB),
        onboarding_wait=float(_int(env, "NFVO_ONBOARDING_WAIT", 3600)),
        job_stale_after=float(_int(env, "NFVO_JOB_STALE_SECONDS", 300)),
        token_ttl=_int(env, "NFVO_TOKEN_TTL", 1200),
        git_timeout=float(_int(env, "NFVO_GIT_TIMEOUT", 120)),
        http_read_timeout=float(_int(env, "NFVO_HTTP_READ_TIMEOUT", 60)),
        public_url=_public_url(env.get("NFVO_PUBLIC_URL", "")),
        allowed_hosts=tuple(h.strip().lower() for h in env.get("NFVO_ALLOWED_HOSTS", "").split(",") if h.strip()),
        http_header_timeout=float(max(1, _int(env, "NFVO_HTTP_HEADER_TIMEOUT", 20))),
        http_body_timeout=float(max(1, _int(env, "NFVO_HTTP_BODY_TIMEOUT", 60))),
        http_min_body_rate=max(0, _int(env, "NFVO_HTTP_MIN_BODY_RATE", 4096)),
        http_upload_threads=max(1, _int(env, "NFVO_HTTP_UPLOAD_THREADS", 32)),
        vnfpkgm_page_size=max(1, _int(env, "NFVO_VNFPKGM_PAGE_SIZE", 100)),
        validation=_choice(env, "NFVO_VALIDATION", VALIDATION_MODES),
        login_max_failures=max(1, _int(env, "NFVO_LOGIN_MAX_FAILURES", 5)),
        login_max_address_failures=max(1, _int(env, "NFVO_LOGIN_MAX_ADDRESS_FAILURES", 50)),
        login_max_user_failures=max(1, _int(env, "NFVO_LOGIN_MAX_USER_FAILURES", 20)),
        login_window=max(1, _int(env, "NFVO_LOGIN_WINDOW_SECONDS", 300)),
        store_url=_store_url(env.get("NFVO_STORE_URL", "")),
        store_endpoint=env.get("NFVO_STORE_ENDPOINT", "").strip(),
        store_region=env.get("NFVO_STORE_REGION", "").strip(),
        store_access_key=env.get("NFVO_STORE_ACCESS_KEY", "").strip(),
        store_secret_key=env.get("NFVO_STORE_SECRET_KEY", "").strip(),
        store_part_size=_part_size(env),
        secret_key=_secret_key(home, env),
    )


@dataclass(frozen=True)
class ClientSettings:
    """Where the ``nfvo`` client commands find a running service."""

    url: str
    username: str
    password: str
    project: str


def load_client(env: dict | None = None) -> ClientSettings:
    env = dict(os.environ if env is None else env)
    return ClientSettings(
        url=(env.get("NFVO_URL") or "http://127.0.0.1:8080").rstrip("/"),
        username=env.get("NFVO_USERNAME") or "admin",
        password=env.get("NFVO_PASSWORD") or env.get("NFVO_ADMIN_PASSWORD") or "openbaton",
        project=env.get("NFVO_PROJECT") or "default",
    )
