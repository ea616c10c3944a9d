"""Files left by crashes are removed by the sweep, files in use are not: a killed API's half-received
upload, a killed worker's partial image in the local store. Real PostgreSQL, Redis, `nfvo serve`
and `nfvo worker` processes, real sockets; the kills are SIGKILL."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest
import requests
from requests_toolbelt import MultipartEncoder

from tests.integration.harness import Api, Nfvo, fresh_postgres_database, fresh_redis_db, make_tar, nfvo_env
from tests.integration.servers import free_port, serve_http

pytestmark = pytest.mark.integration

STALE_SECONDS = 2  # sweeps every second; "untouched for 2 s" is the abandonment rule
DEAD_UPLOAD = 100 * 2**20
TRICKLE_SECONDS = 4 * STALE_SECONDS  # a live transfer lasts longer than the abandonment age


def _wait_for(condition, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.05)


class Trickle:
    """A file object that hands out its bytes slowly, over about TRICKLE_SECONDS."""

    def __init__(self, path: Path):
        self._file, self._size = open(path, "rb"), path.stat().st_size
        self._chunk = max(1, self._size // (TRICKLE_SECONDS * 10))

    @property
    def len(self) -> int:
        """The bytes still to read (requests_toolbelt reads until it is 0)."""
        return self._size - self._file.tell()

    def read(self, n: int = -1) -> bytes:
        time.sleep(0.1)
        return self._file.read(min(self._chunk, n if n and n > 0 else self._chunk))


class HeldThenTrickled:
    """An image route: the first request gets half the bytes and then hangs (until its worker is
    killed); every later request gets the image trickled over about TRICKLE_SECONDS."""

    def __init__(self, data: bytes):
        self.data, self.requests, self.half_sent, self.release = data, 0, threading.Event(), threading.Event()

    def __call__(self, handler) -> None:
        self.requests += 1
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(self.data)))
        handler.end_headers()
        try:
            if self.requests == 1:
                handler.wfile.write(self.data[: len(self.data) // 2])
                handler.wfile.flush()
                self.half_sent.set()
                self.release.wait(120)
                return
            step = max(1, len(self.data) // (TRICKLE_SECONDS * 10))
            for start in range(0, len(self.data), step):
                handler.wfile.write(self.data[start:start + step])
                handler.wfile.flush()
                time.sleep(0.1)
        except OSError:
            pass


def _package(tmp_path, name: str, *, link: str | None = None, image: bytes | None = None) -> Path:
    source = f"  link: {link}\n" if link else f"  file: images/{name}.raw\n"
    metadata = (f"name: {name}\nprovider: ACME\nvim_types: [local]\nimage:\n  upload: true\n"
                f"  names: [{name}-img]\n{source}image-config:\n  name: {name}-img\n"
                f"  diskFormat: raw\n  containerFormat: bare\n")
    vnfd = {"name": name, "vendor": "ACME", "type": "t", "endpoint": "generic",
            "vdu": [{"vm_image": [], "vimInstanceName": []}]}
    files = {"Metadata.yaml": metadata, "vnfd.json": vnfd}
    if image is not None:
        files[f"images/{name}.raw"] = image
    return make_tar(tmp_path / f"{name}.tar", files)


def _start_half_upload(node: Nfvo) -> socket.socket:
    """Sends the headers and most of a DEAD_UPLOAD-byte multipart upload, and keeps the socket open."""
    boundary = "leftover-boundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.tar\"\r\n"
            "Content-Type: application/x-tar\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    request = (f"POST /api/v1/vnf-packages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {node.api.token()}\r\n"
               f"project-id: default\r\nPrefer: respond-async\r\n"
               f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
               f"Content-Length: {len(head) + DEAD_UPLOAD + len(tail)}\r\n\r\n").encode()
    sock = socket.create_connection(("127.0.0.1", node.port))
    sock.sendall(request + head)
    chunk = b"\0" * 2**20
    for _ in range(DEAD_UPLOAD // len(chunk) - 1):
        sock.sendall(chunk)
    return sock


def _restart_api(node: Nfvo) -> None:
    node.port = free_port()
    node.url = f"http://127.0.0.1:{node.port}"
    node.api = Api(node.url)
    node.start_server()


@pytest.fixture
def node(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    with fresh_postgres_database() as db_url, fresh_redis_db() as broker_url:
        nfvo = Nfvo(home, nfvo_env(home, NFVO_DATABASE_URL=db_url, NFVO_BROKER_URL=broker_url,
                                   NFVO_JOB_STALE_SECONDS=str(STALE_SECONDS)))
        assert nfvo.run("db", "upgrade").returncode == 0
        nfvo.start_server()
        nfvo.worker = nfvo.start_worker()
        answer = nfvo.api.post_json("/api/v1/datacenters", {"name": "store", "type": "local",
                                                             "authUrl": "local://store"})
        assert answer.status_code == 201, answer.text
        try:
            yield nfvo
        finally:
            nfvo.stop()


def test_a_killed_apis_upload_is_removed_and_a_live_upload_is_kept(node, tmp_path):
    uploads = node.home / "uploads"
    sock = _start_half_upload(node)
    _wait_for(lambda: any(p.stat().st_size > DEAD_UPLOAD // 2 for p in uploads.glob("*.upload")),
              "the half upload is on disk")
    [dead] = list(uploads.glob("*.upload"))
    node.server.kill()
    sock.close()
    _restart_api(node)

    live = _package(tmp_path, "live", image=os.urandom(2**20))
    body = MultipartEncoder({"file": ("live.tar", Trickle(live), "application/x-tar")})
    answer: list = []

    def send() -> None:
        try:
            answer.append(node.api.request("POST", "/api/v1/vnf-packages", data=body, timeout=120,
                                           headers={"Content-Type": body.content_type, "Prefer": "respond-async"}))
        except Exception as exc:  # shown by the assertion below
            answer.append(exc)

    sender = threading.Thread(target=send)
    sender.start()
    _wait_for(lambda: set(uploads.glob("*.upload")) - {dead}, "the live upload is being received")
    _wait_for(lambda: not dead.exists(), "the sweep removes the killed API's upload")
    sender.join(timeout=120)
    assert isinstance(answer[0], requests.Response) and answer[0].status_code == 202, answer
    job = node.api.wait_job(answer[0].json()["id"])
    assert job["state"] == "succeeded", job  # its upload file was not removed while it was received
    _wait_for(lambda: not list(uploads.glob("*.upload")), "no upload file is left")


def test_a_killed_workers_partial_image_is_removed_and_a_live_one_is_kept(node, tmp_path):
    route = HeldThenTrickled(os.urandom(2 * 2**20))
    with serve_http(tmp_path, {"/held.img": route}) as url:
        job_id = node.api.upload(_package(tmp_path, "held", link=f"{url}/held.img"), respond_async=True).json()["id"]
        assert route.half_sent.wait(60), node.worker.output()
        parts = node.home / "vim-data" / "local" / "store" / "tmp"
        _wait_for(lambda: any(p.stat().st_size > 0 for p in parts.glob("*.part")), "the partial image is on disk")
        [dead] = list(parts.glob("*.part"))
        node.worker.kill()
        route.release.set()

        node.worker = node.start_worker()  # it takes the job over once its lease runs out
        _wait_for(lambda: not dead.exists(), "the sweep removes the killed worker's partial image")
        job = node.api.wait_job(job_id, seconds=120)
        assert job["state"] == "succeeded", (job, node.worker.output())
        assert job["attempts"] == 2 and route.requests == 2, "the live partial image was never removed"
        assert not list(parts.glob("*.part"))
