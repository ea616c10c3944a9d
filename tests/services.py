"""Make sure PostgreSQL and Redis answer for the integration tests, starting them when they are missing.

``python -m tests.services`` (run by ``make test``) tries, in order: the URLs given
(NFVO_TEST_DATABASE_URL, NFVO_TEST_REDIS_URL); starting the services installed on this
machine; as root on Debian/Ubuntu, installing them with apt-get; ``docker compose up``.
If none works it exits non-zero saying how to provide them. It never skips anything.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def pg_url() -> str:
    return os.environ.get("NFVO_TEST_DATABASE_URL") or DEFAULT_PG


def redis_url() -> str:
    return os.environ.get("NFVO_TEST_REDIS_URL") or DEFAULT_REDIS


def _answers(url: str) -> bool:
    parsed = urlparse(url)
    port = parsed.port or (6379 if parsed.scheme.startswith("redis") else 5432)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", port), timeout=2):
            pass
    except OSError:
        return False
    if parsed.scheme.startswith("redis"):
        import redis

        try:
            return bool(redis.Redis.from_url(url, socket_timeout=2).ping())
        except redis.RedisError:
            return False
    import psycopg

    try:
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _wait(url: str, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _answers(url):
            return True
        time.sleep(0.5)
    return False


def _run(cmd: list[str]) -> bool:
    print("  $", " ".join(cmd), file=sys.stderr)
    try:
        return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, timeout=600).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def start_postgres() -> bool:
    if shutil.which("pg_ctlcluster") and os.geteuid() == 0:
        versions = sorted(glob.glob("/etc/postgresql/*/main"))
        if versions:
            version = Path(versions[-1]).parent.name
            return _run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"])
    return False


def start_redis() -> bool:
    if not shutil.which("redis-server"):
        return False
    data = ROOT / ".cache" / "redis"
    data.mkdir(parents=True, exist_ok=True)
    port = str(urlparse(redis_url()).port or 6379)
    return _run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", port, "--save", "",
                 "--appendonly", "no", "--dir", str(data), "--logfile", str(data / "redis.log")])


def _apt_install(*packages: str) -> bool:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"  installing {' '.join(packages)} with apt-get", file=sys.stderr)
    ok = subprocess.run(["apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL).returncode == 0
    return ok and subprocess.run(["apt-get", "install", "-y", "-q", *packages], env=env,
                                 stdout=subprocess.DEVNULL).returncode == 0


def _compose_up(service: str) -> bool:
    if not shutil.which("docker"):
        return False
    return _run(["docker", "compose", "-f", str(ROOT / "docker-compose.yml"), "up", "-d", service])


def ensure(name: str, url: str, start, packages: tuple[str, ...], compose_service: str) -> str | None:
    """None when ``url`` answers (after starting the service if needed), else the reason it does not."""
    if _answers(url):
        return None
    print(f"{name} does not answer at {url}; starting it", file=sys.stderr)
    if start() and _wait(url):
        return None
    if _apt_install(*packages) and start() and _wait(url):
        return None
    if _compose_up(compose_service) and _wait(url, 60):
        return None
    return (f"{name} is not reachable at {url} and could not be started here. Start one (e.g. "
            f"`docker compose up -d {compose_service}`, or install {' '.join(packages)}), or point "
            f"{'NFVO_TEST_DATABASE_URL' if name == 'PostgreSQL' else 'NFVO_TEST_REDIS_URL'} at one.")


def main() -> int:
    problems = [p for p in (
        ensure("PostgreSQL", pg_url(), start_postgres, ("postgresql",), "postgres"),
        ensure("Redis", redis_url(), start_redis, ("redis-server",), "redis"),
    ) if p]
    for p in problems:
        print(f"ERROR: {p}", file=sys.stderr)
    if not problems:
        print(f"services ready: PostgreSQL {pg_url()}, Redis {redis_url()}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
