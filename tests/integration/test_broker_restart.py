"""A Redis restart while jobs run: the workers ride it out, reconnect, and every job ends.

The test starts a redis-server of its own (own port, no persistence, like docker-compose.yml's)
and kills and restarts it on the same port while workers are in the middle of jobs. Real
PostgreSQL, real `nfvo serve` and `nfvo worker` processes, a real HTTP server for the images.

What each layout guards:

- ``job-and-free-slot``: a worker running a job with a second slot free, so that its BRPOP for
  a next task is in flight when Redis goes away. With Celery's own consumer, kombu's Redis
  transport closed that worker's task channel only after detaching the transport, and died
  giving back the running job's message: ``Unrecoverable error: AttributeError("'NoneType'
  object has no attribute 'hostname'")``. Every such worker exited, and with none left the
  queue stalled. A worker whose slots are all busy survived, which is why the
  ``all-slots-busy`` layout alone never showed it.
- ``all-slots-busy`` (jobs ending while Redis is away, two queued messages lost): a worker
  whose every slot is busy notices the loss only through its remote-control subscription.
  Without it the worker never reconnects, the acks of its jobs fail, their slots are never
  given back, and the lost jobs that the sweep queues again are never run.
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
DOWN_SECONDS = 4  # the first two reconnection attempts of every worker fail
IMAGES = 8


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
            if first and not self.release.is_set():
                self.started.release()
                self.release.wait(120)
            handler.wfile.write(self.data[half:])
        except OSError:
            pass


def _check_alive(worker) -> None:
    """Fails, naming Celery's verdict, when ``worker`` died or is shutting down after a fatal error."""
    log = worker.log.read_text(errors="replace")
    fatal = next((line for line in log.splitlines() if "Unrecoverable error" in line), None)
    assert fatal is None, f"a worker died on the broker restart: {fatal}\n{worker.output()}"
    assert worker.popen.poll() is None, f"a worker exited (status {worker.popen.returncode}):\n{worker.output()}"


def _wait_for(condition, workers, what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        for worker in workers:
            _check_alive(worker)
        assert time.monotonic() < deadline, f"no {what} within 60 s:\n" + "\n".join(w.output() for w in workers)
        time.sleep(0.1)


def _connects(worker) -> int:
    return worker.log.read_text(errors="replace").count("Connected to redis")


def _package(tmp_path, n: int, link: str):
    name = f"held-{n}"
    metadata = (f"name: {name}\nprovider: ACME\nvim_types: [local]\nimage:\n  upload: true\n"
                f"  names: [{name}-img]\n  link: {link}\nimage-config:\n  name: {name}-img\n"
                f"  diskFormat: raw\n  containerFormat: bare\n")
    vnfd = {"name": name, "vendor": "ACME", "type": "t", "endpoint": "generic",
            "vdu": [{"vm_image": [], "vimInstanceName": []}]}
    return make_tar(tmp_path / f"{name}.tar", {"Metadata.yaml": metadata, "vnfd.json": vnfd})


class Jobs:
    """Uploads packages whose image download the test holds; each is a job of its own."""

    def __init__(self, node, tmp_path, images_url, held):
        self.node, self.tmp_path, self.images_url, self.held, self.ids = node, tmp_path, images_url, held, []

    def submit(self) -> str:
        n = len(self.ids)
        answer = self.node.api.upload(_package(self.tmp_path, n, f"{self.images_url}/held/{n}.img"),
                                      respond_async=True)
        assert answer.status_code == 202, answer.text
        self.ids.append(answer.json()["id"])
        return self.ids[-1]

    def wait_running(self, count: int, workers) -> None:
        """Waits until ``count`` more jobs are in the middle of their image download."""
        for _ in range(count):
            assert self.held.started.acquire(timeout=60), [w.output() for w in workers]


def _start_workers(node, jobs, layout: str) -> list:
    """Starts the workers of ``layout`` and their jobs, and waits until every worker runs its jobs."""
    if layout == "job-and-free-slot":
        # One worker with its only slot busy, then one running a job with a second slot free.
        # Started one after the other, so that the second job can only go to the second worker.
        busy = node.start_worker("--concurrency", "1")
        _wait_for(lambda: "ready." in busy.log.read_text(errors="replace"), [busy], "worker ready")
        jobs.submit()
        jobs.wait_running(1, [busy])
        spare = node.start_worker("--concurrency", "2")
        _wait_for(lambda: "ready." in spare.log.read_text(errors="replace"), [busy, spare], "worker ready")
        jobs.submit()
        jobs.wait_running(1, [busy, spare])
        return [busy, spare]
    # all-slots-busy: two workers with two slots each, six jobs: four run, two wait in Redis's
    # queue, which the restart loses (no persistence); the lease sweep queues them again.
    workers = [node.start_worker("--concurrency", "2"), node.start_worker("--concurrency", "2")]
    for _ in range(6):
        jobs.submit()
    jobs.wait_running(4, workers)
    return workers


@pytest.mark.parametrize(("layout", "jobs_end"), [
    ("job-and-free-slot", "after-reconnecting"),
    ("job-and-free-slot", "while-redis-is-away"),
    ("all-slots-busy", "while-redis-is-away"),
])
def test_workers_survive_a_redis_restart_and_every_job_ends(tmp_path, layout, jobs_end):
    held = HeldImages(os.urandom(2**20))
    routes = {f"/held/{n}.img": held for n in range(IMAGES)}
    home = tmp_path / "home"
    home.mkdir()
    with serve_http(tmp_path, routes) as images_url, own_redis(tmp_path) as redis_server, \
            fresh_postgres_database() as db_url:
        node = Nfvo(home, nfvo_env(home, NFVO_DATABASE_URL=db_url, NFVO_BROKER_URL=redis_server.url,
                                   NFVO_JOB_STALE_SECONDS=str(STALE_SECONDS)))
        try:
            assert node.run("db", "upgrade").returncode == 0
            node.start_server()
            vim = node.api.post_json("/api/v1/datacenters", {"name": "store", "type": "local",
                                                              "authUrl": "local://store"})
            assert vim.status_code == 201, vim.text
            jobs = Jobs(node, tmp_path, images_url, held)
            workers = _start_workers(node, jobs, layout)

            redis_server.kill()
            if jobs_end == "while-redis-is-away":  # their acks find no broker
                held.release.set()
            time.sleep(DOWN_SECONDS)
            for worker in workers:
                _check_alive(worker)
            redis_server.start()
            _wait_for(lambda: all(_connects(w) >= 2 for w in workers), workers, "reconnection of every worker")
            held.release.set()  # (or) the jobs end now, acked over the new connection

            for job_id in jobs.ids:
                job = node.api.wait_job(job_id, seconds=90)
                assert job["state"] == "succeeded", (job, [w.output() for w in workers])
            # The queue does not stall: a job submitted after the restart is taken and ends.
            job = node.api.wait_job(jobs.submit(), seconds=60)
            assert job["state"] == "succeeded", (job, [w.output() for w in workers])
            for worker in workers:
                _check_alive(worker)
        finally:
            node.stop()
