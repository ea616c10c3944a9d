"""A Redis restart while jobs run: the workers ride it out, reconnect, and every job ends.

The test starts a redis-server of its own (own port, no persistence, like docker-compose.yml's)
and kills and restarts it on the same port while every worker is in the middle of a job. Real
PostgreSQL, real `nfvo serve` and `nfvo worker` processes, a real HTTP server for the images.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from contextlib import contextmanager

import pytest

from tests.integration.harness import Nfvo, fresh_postgres_database, make_tar, nfvo_env
from tests.integration.servers import free_port, serve_http

pytestmark = pytest.mark.integration

STALE_SECONDS = 3
JOBS = 6
RUNNING = 4  # two workers with two processes each
DOWN_SECONDS = 8


class RedisServer:
    """A redis-server of this test on its own port, without persistence; can be killed and restarted."""

    def __init__(self, directory):
        self.port, self.dir, self.popen = free_port(), directory, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not on PATH (apt-get install redis-server)"
        self.popen = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                       "--appendonly", "no", "--dir", str(self.dir)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        client, deadline = redis.Redis.from_url(self.url), time.monotonic() + 30
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline and self.popen.poll() is None, "redis-server did not start"
                time.sleep(0.05)

    def kill(self) -> None:
        self.popen.kill()
        self.popen.wait(timeout=30)


@contextmanager
def own_redis(directory):
    server = RedisServer(directory)
    server.start()
    try:
        yield server
    finally:
        server.kill()


class HeldImages:
    """``/held/<n>.img``: sends half of the image, counts the request in ``started``, then holds the
    rest until ``release`` is set (a later request for the same image is answered at once)."""

    def __init__(self, data: bytes):
        self.data, self.release, self.seen = data, threading.Event(), set()
        self.started = threading.Semaphore(0)
        self._lock = threading.Lock()

    def __call__(self, handler) -> None:
        with self._lock:
            first = handler.path not in self.seen
            self.seen.add(handler.path)
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(self.data)))
        handler.end_headers()
        half = len(self.data) // 2
        try:
            handler.wfile.write(self.data[:half])
            handler.wfile.flush()
            if first:
                self.started.release()
                self.release.wait(120)
            handler.wfile.write(self.data[half:])
        except OSError:
            pass


def _wait_for(condition, worker) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert worker.popen.poll() is None and time.monotonic() < deadline, worker.output()
        time.sleep(0.1)


def _package(tmp_path, n: int, link: str):
    name = f"held-{n}"
    metadata = (f"name: {name}\nprovider: ACME\nvim_types: [local]\nimage:\n  upload: true\n"
                f"  names: [{name}-img]\n  link: {link}\nimage-config:\n  name: {name}-img\n"
                f"  diskFormat: raw\n  containerFormat: bare\n")
    vnfd = {"name": name, "vendor": "ACME", "type": "t", "endpoint": "generic",
            "vdu": [{"vm_image": [], "vimInstanceName": []}]}
    return make_tar(tmp_path / f"{name}.tar", {"Metadata.yaml": metadata, "vnfd.json": vnfd})


@pytest.mark.parametrize("jobs_end", ["while-redis-is-away", "after-reconnecting"])
def test_workers_survive_a_redis_restart_and_every_job_ends(tmp_path, jobs_end):
    held = HeldImages(os.urandom(2**20))
    routes = {f"/held/{n}.img": held for n in range(JOBS)}
    home = tmp_path / "home"
    home.mkdir()
    with serve_http(tmp_path, routes) as images_url, own_redis(tmp_path) as redis_server, \
            fresh_postgres_database() as db_url:
        node = Nfvo(home, nfvo_env(home, NFVO_DATABASE_URL=db_url, NFVO_BROKER_URL=redis_server.url,
                                   NFVO_JOB_STALE_SECONDS=str(STALE_SECONDS)))
        try:
            assert node.run("db", "upgrade").returncode == 0
            node.start_server()
            workers = [node.start_worker("--concurrency", "2"), node.start_worker("--concurrency", "2")]
            vim = node.api.post_json("/api/v1/datacenters", {"name": "store", "type": "local",
                                                              "authUrl": "local://store"})
            assert vim.status_code == 201, vim.text
            jobs = [node.api.upload(_package(tmp_path, n, f"{images_url}/held/{n}.img"), respond_async=True)
                    .json()["id"] for n in range(JOBS)]
            for _ in range(RUNNING):  # every worker process is in the middle of a job, its download held
                assert held.started.acquire(timeout=60), [w.output() for w in workers]

            redis_server.kill()
            if jobs_end == "while-redis-is-away":  # their acks find no broker
                held.release.set()
            time.sleep(DOWN_SECONDS)  # several reconnection attempts of every worker fail
            redis_server.start()
            for worker in workers:  # (or) the jobs end after their worker reconnected, on a new connection
                _wait_for(lambda w=worker: w.log.read_text(errors="replace").count("Connected to redis") >= 2, worker)
            held.release.set()

            for job_id in jobs:
                job = node.api.wait_job(job_id, seconds=120)
                assert job["state"] == "succeeded", (job, [w.output() for w in workers])
            for worker in workers:
                assert worker.popen.poll() is None, f"a worker died:\n{worker.output()}"
                assert "Unrecoverable error" not in worker.output(), worker.output()
        finally:
            node.stop()
