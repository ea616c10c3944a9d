"""Real nfvo processes for integration tests: ``nfvo serve`` and ``nfvo worker`` as subprocesses."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest
import requests
from requests_toolbelt import MultipartEncoder

from tests import services
from tests.integration.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
NFVO = str(Path(sys.executable).with_name("nfvo"))


def require(name: str, url: str, start, packages, compose) -> None:
    """Fails the test (never skips) when a service is missing and cannot be started."""
    problem = services.ensure(name, url, start, packages, compose)
    if problem:
        pytest.fail(problem, pytrace=False)


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database on the test server; dropped afterwards."""
    import psycopg

    admin = services.pg_url()
    require("PostgreSQL", admin, services.start_postgres, ("postgresql",), "postgres")
    name = f"nfvo_test_{uuid.uuid4().hex[:12]}"
    plain = admin.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = urlunparse(urlparse(plain)._replace(path=f"/{name}"))
    try:
        yield url
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def service_context(database: str, home: Path) -> Iterator:
    """A service :class:`~nfvo.services.context.Context` with NFVO_HOME ``home`` on a migrated
    database: ``"sqlite"`` (a file under ``home``) or ``"postgresql"`` (a fresh database)."""
    import dataclasses

    from nfvo import config
    from nfvo.db.migrate import upgrade
    from nfvo.services.context import Context

    def make(url: str) -> Context:
        upgrade(url)
        return Context(dataclasses.replace(config.load({"NFVO_HOME": str(home)}), database_url=url))

    if database == "sqlite":
        yield make(f"sqlite:///{home / 'nfvo.sqlite'}")
    else:
        with fresh_postgres_database() as url:
            yield make(config._database_url(url))


@contextmanager
def fresh_redis_db() -> Iterator[str]:
    """A Redis database number (8-15) of its own, emptied before and after. The number is claimed
    with a key in database 0, so that concurrent test runs never share one."""
    import redis

    base = services.redis_url()
    require("Redis", base, services.start_redis, ("redis-server",), "redis")
    claims = redis.Redis.from_url(urlunparse(urlparse(base)._replace(path="/0")))
    owner = f"{os.getpid()}-{uuid.uuid4().hex}"
    db = next((n for n in range(8, 16) if claims.set(f"nfvo-tests:db{n}", owner, nx=True, ex=3600)), None)
    if db is None:
        pytest.fail("Redis databases 8-15 are all claimed by other nfvo test runs (keys nfvo-tests:db*)")
    url = urlunparse(urlparse(base)._replace(path=f"/{db}"))
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        if claims.get(f"nfvo-tests:db{db}") == owner.encode():
            claims.delete(f"nfvo-tests:db{db}")


class Process:
    """A child process with its output in a log file (shown when a test fails)."""

    def __init__(self, args: list[str], env: dict, log: Path):
        self.args, self.log = args, log
        self._log_file = open(log, "ab")
        self.popen = subprocess.Popen(args, env=env, stdout=self._log_file, stderr=subprocess.STDOUT,
                                      start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
            self.popen.wait(timeout=30)

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log_file.close()


class Nfvo:
    """A running nfvo: the API process (and worker processes in external mode), plus a client."""

    def __init__(self, home: Path, env: dict):
        self.home = home
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes: list[Process] = []
        self.server: Process | None = None
        self.api = Api(self.url)

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([NFVO, *args], env=self.env, capture_output=True, text=True, timeout=120)

    def start_server(self) -> None:
        self.server = self._spawn(["serve", "--port", str(self.port)], "serve")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.server.popen.poll() is not None:
                pytest.fail(f"nfvo serve exited:\n{self.server.output()}", pytrace=False)
            try:
                if requests.get(f"{self.url}/health", timeout=5).ok:
                    return
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still loading
                pass
            time.sleep(0.1)
        pytest.fail(f"nfvo serve did not answer within 60 s:\n{self.server.output()}", pytrace=False)

    def start_worker(self, *extra: str) -> Process:
        return self._spawn(["worker", "--concurrency", "1", *extra], f"worker{len(self.processes)}")

    def _spawn(self, args: list[str], name: str) -> Process:
        process = Process([NFVO, *args], self.env, self.home / f"{name}.log")
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


@contextmanager
def embedded_nfvo(base: Path, **settings: str) -> Iterator[Nfvo]:
    """A running ``nfvo serve`` in embedded mode, NFVO_HOME in ``base/home``, with ``settings``
    (NFVO_* or any other environment variable) on top of :func:`nfvo_env`; stopped afterwards."""
    home = base / "home"
    home.mkdir()
    node = Nfvo(home, nfvo_env(home, **settings))
    try:
        node.start_server()
        yield node
    finally:
        node.stop()


def nfvo_env(home: Path, **settings: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NFVO_")}
    env.update(NFVO_HOME=str(home), NFVO_FETCH_ALLOW="127.0.0.1", NFVO_ADMIN_PASSWORD="test-admin-pw", **settings)
    return env


class Api:
    """requests against one nfvo, logged in as admin in project ``default``."""

    def __init__(self, url: str, username: str = "admin", password: str = "test-admin-pw", project: str = "default"):
        self.url, self.username, self.password, self.project = url, username, password, project
        self.http = requests.Session()
        self._token: str | None = None

    def token(self) -> str:
        if self._token is None:
            answer = self.http.post(f"{self.url}/oauth/token", auth=("openbatonOSClient", "secret"),
                                    data={"grant_type": "password", "username": self.username,
                                          "password": self.password}, timeout=30)
            assert answer.status_code == 200, answer.text
            self._token = answer.json()["access_token"]
        return self._token

    def headers(self, **extra: str) -> dict:
        return {"Authorization": f"Bearer {self.token()}", "project-id": self.project, **extra}

    def request(self, method: str, path: str, **kw) -> requests.Response:
        headers = {**self.headers(), **kw.pop("headers", {})}
        return self.http.request(method, f"{self.url}{path}", headers=headers, timeout=kw.pop("timeout", 300), **kw)

    def get(self, path: str, **kw) -> requests.Response:
        return self.request("GET", path, **kw)

    def delete(self, path: str, **kw) -> requests.Response:
        return self.request("DELETE", path, **kw)

    def post_json(self, path: str, body, **kw) -> requests.Response:
        return self.request("POST", path, json=body, **kw)

    def upload(self, path: Path, *, respond_async: bool = False) -> requests.Response:
        """Streams ``path`` as multipart field ``file`` (never the whole file in memory)."""
        with open(path, "rb") as f:
            body = MultipartEncoder({"file": (path.name, f, "application/x-tar")})
            headers = {"Content-Type": body.content_type, **({"Prefer": "respond-async"} if respond_async else {})}
            return self.request("POST", "/api/v1/vnf-packages", headers=headers, data=body)

    def wait_job(self, job_id: str, seconds: float = 120) -> dict:
        deadline, job = time.monotonic() + seconds, None
        while time.monotonic() < deadline:
            job = self.get(f"/api/v1/jobs/{job_id}").json()
            if job["state"] in ("succeeded", "failed"):
                return job
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} did not finish in {seconds} s: {job}")


def assert_problem(answer: requests.Response, status: int, slug: str | None = None) -> dict:
    """The answer is application/problem+json with ``status`` (and ``slug``); returns the body."""
    assert answer.status_code == status, f"{answer.status_code} {answer.text[:2000]}"
    assert answer.headers["Content-Type"].startswith("application/problem+json"), answer.headers
    body = answer.json()
    assert body["status"] == status and body["code"] == status
    assert body["title"] and body["detail"] and body["message"].startswith(body["detail"])
    assert body["message"] == body["detail"] or body.get("errors"), body  # findings repeated for Open Baton
    if slug:
        assert body["type"].endswith("/" + slug), body
    return body


# --- packages -------------------------------------------------------------------------

def store_blob(home: Path, data: bytes = b"", *, sha256: str | None = None) -> Path:
    """Where the filesystem content store under NFVO_HOME ``home`` keeps ``data`` (or the blob ``sha256``)."""
    sha = sha256 or hashlib.sha256(data).hexdigest()
    return home / "store" / "blobs" / sha[:2] / sha


def make_tar(path: Path, files: dict[str, bytes | str | dict], *, gz: bool = False, prefix: str = "") -> Path:
    """A package tar at ``path``: dict values become JSON, str values UTF-8."""
    with tarfile.open(path, "w:gz" if gz else "w") as tar:
        for name, content in files.items():
            if isinstance(content, dict):
                content = json.dumps(content, indent=2)
            if isinstance(content, str):
                content = content.encode()
            info = tarfile.TarInfo(prefix + name)
            info.size, info.mode = len(content), 0o644
            tar.addfile(info, io.BytesIO(content))
    return path


def example_files(name: str) -> dict[str, bytes]:
    """The files of ``examples/<name>`` (relative name -> bytes)."""
    base = ROOT / "examples" / name
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}
