"""External mode: PostgreSQL, a Redis broker and real `nfvo worker` processes; images from a real HTTP server."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time

import psutil
import pytest

from tests.integration.harness import (
    Nfvo,
    assert_problem,
    fresh_postgres_database,
    fresh_redis_db,
    make_tar,
    nfvo_env,
)
from tests.integration.servers import serve_http

pytestmark = pytest.mark.integration

STALE_SECONDS = 3


class SlowRoute:
    """``/slow/slow.img``: the first request sends half the image, sets ``half_sent`` and holds the
    rest until ``release`` is set; later requests get the whole image at once."""

    def __init__(self, data: bytes):
        self.data, self.requests = data, 0
        self.half_sent, self.release = threading.Event(), threading.Event()

    def __call__(self, handler) -> None:
        self.requests += 1
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(self.data)))
        handler.end_headers()
        if self.requests > 1:
            handler.wfile.write(self.data)
            return
        half = len(self.data) // 2
        handler.wfile.write(self.data[:half])
        handler.wfile.flush()
        self.half_sent.set()
        self.release.wait(60)
        try:
            handler.wfile.write(self.data[half:])
        except OSError:  # the worker that asked was killed
            pass


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """A real HTTP server on loopback with image files and the SlowRoute."""
    root = tmp_path_factory.mktemp("images")
    (root / "linked.img").write_bytes(os.urandom(3 * 2**20))
    (root / "slow.img").write_bytes(os.urandom(2 * 2**20))
    slow = SlowRoute((root / "slow.img").read_bytes())
    with serve_http(root, {"/slow/slow.img": slow}) as url:
        yield url, root, slow
    slow.release.set()


@pytest.fixture(scope="module")
def nfvo(tmp_path_factory):
    home = tmp_path_factory.mktemp("external") / "home"
    home.mkdir()
    with fresh_postgres_database() as db_url, fresh_redis_db() as broker_url:
        node = Nfvo(home, nfvo_env(home, NFVO_DATABASE_URL=db_url, NFVO_BROKER_URL=broker_url,
                                   NFVO_JOB_STALE_SECONDS=str(STALE_SECONDS)))
        migrated = node.run("db", "upgrade")
        assert migrated.returncode == 0, migrated.stderr
        node.start_server()
        node.worker = node.start_worker()
        yield node
        node.stop()


@pytest.fixture(scope="module")
def vim(nfvo):
    """External mode has no VIM of its own: register a local one like an operator would."""
    answer = nfvo.api.post_json("/api/v1/datacenters", {"name": "store-a", "type": "local",
                                                          "authUrl": "local://store-a", "password": "s3cret",
                                                          "properties": {"zone": "a"},
                                                          "secrets": {"apiKey": "k3y-s3cret"}})
    assert answer.status_code == 201, answer.text
    return answer.json()


def _linked_package(tmp_path, name: str, link: str, upload: str = "true"):
    metadata = (f"name: {name}\nprovider: ACME\nvim_types: [local]\nimage:\n  upload: {upload}\n"
                f"  names: [{name}-img]\n  link: {link}\nimage-config:\n  name: {name}-img\n"
                f"  diskFormat: raw\n  containerFormat: bare\n")
    vnfd = {"name": name, "vendor": "ACME", "type": "t", "endpoint": "generic",
            "vdu": [{"vm_image": [], "vimInstanceName": []}]}
    return make_tar(tmp_path / f"{name}.tar", {"Metadata.yaml": metadata, "vnfd.json": vnfd})


def _job_of(nfvo, vnfd) -> str:
    """The id of the job that onboarded ``vnfd``'s package (from the database the test runs against)."""
    import psycopg

    with psycopg.connect(nfvo.env["NFVO_DATABASE_URL"]) as conn:
        return conn.execute("SELECT id FROM jobs WHERE package_id = %s", (vnfd["vnfPackageLocation"],)).fetchone()[0]


def test_vim_secrets_are_write_only_and_encrypted_at_rest(nfvo, vim):
    import psycopg

    assert vim["password"] == "**********" and vim["images"] == []
    shown = nfvo.api.get(f"/api/v1/datacenters/{vim['id']}").json()
    assert shown["password"] == "**********" and shown["secrets"] == {"apiKey": "**********"}
    assert shown["properties"] == {"zone": "a"}
    with psycopg.connect(nfvo.env["NFVO_DATABASE_URL"]) as conn:
        row = conn.execute("SELECT password_enc, fields::text FROM vim_instances WHERE id = %s", (vim["id"],)).fetchone()
    assert row[0] and "s3cret" not in row[0] and "k3y-s3cret" not in row[1]


def test_unknown_driver_type_is_refused_at_registration(nfvo):
    answer = nfvo.api.post_json("/api/v1/datacenters", {"name": "x", "type": "no-such-driver"})
    body = assert_problem(answer, 422, "driver-not-installed")
    assert "no-such-driver" in body["detail"]


def test_worker_process_onboards_image_from_http_link(nfvo, vim, images, tmp_path):
    url, root, _slow = images
    tar = _linked_package(tmp_path, "linked", f"{url}/linked.img")
    answer = nfvo.api.upload(tar)
    assert answer.status_code == 200, answer.text
    vnfd = answer.json()
    assert vnfd["vdu"][0]["vm_image"] == ["linked-img"]
    [image] = [i for i in nfvo.api.get(f"/api/v1/datacenters/{vim['id']}/images").json() if i["name"] == "linked-img"]
    assert image["sha256"] == hashlib.sha256((root / "linked.img").read_bytes()).hexdigest()
    job = nfvo.api.get(f"/api/v1/jobs/{_job_of(nfvo, vnfd)}").json()
    ran_in = int(job["worker"].rsplit(":", 1)[1])
    worker_tree = {nfvo.worker.popen.pid} | {c.pid for c in psutil.Process(nfvo.worker.popen.pid).children(True)}
    assert ran_in in worker_tree and ran_in != nfvo.server.popen.pid, "a worker process, not the API, ran the job"


def test_job_waits_for_a_worker_and_survives_a_worker_killed_mid_download(nfvo, vim, images, tmp_path):
    url, root, slow = images
    nfvo.worker.kill()
    tar = _linked_package(tmp_path, "slow", f"{url}/slow/slow.img")
    job_id = nfvo.api.upload(tar, respond_async=True).json()["id"]
    time.sleep(1)
    assert nfvo.api.get(f"/api/v1/jobs/{job_id}").json()["state"] == "queued", "no worker runs, nothing happens"

    nfvo.worker = nfvo.start_worker()
    assert slow.half_sent.wait(30), nfvo.worker.output()
    nfvo.worker.kill()  # SIGKILL to the whole worker, mid-download: no chance to clean up
    slow.release.set()

    nfvo.worker = nfvo.start_worker()
    job = nfvo.api.wait_job(job_id, seconds=60)
    assert job["state"] == "succeeded", job
    assert job["attempts"] == 2 and slow.requests == 2
    slow_images = [i for i in nfvo.api.get(f"/api/v1/datacenters/{vim['id']}/images").json() if i["name"] == "slow-img"]
    assert [i["sha256"] for i in slow_images] == [hashlib.sha256((root / "slow.img").read_bytes()).hexdigest()]

    package = nfvo.api.get(f"/api/v1/vnf-packages/{job['packageId']}").json()
    assert [(i["name"], i["uploaded"]) for i in package["images"]] == [("slow-img", True)]
    assert nfvo.api.delete(f"/api/v1/vnf-packages/{package['id']}").status_code == 204
    left = [i["name"] for i in nfvo.api.get(f"/api/v1/datacenters/{vim['id']}/images").json()]
    assert "slow-img" not in left, "the image the retried job uploaded is nfvo's and goes with the package"


def test_link_to_a_private_address_is_refused_before_any_connection(nfvo, vim, tmp_path):
    tar = _linked_package(tmp_path, "ssrf", "http://10.255.255.1/metadata")
    body = assert_problem(nfvo.api.upload(tar), 422, "fetch-refused")
    assert "10.255.255.1" in json.dumps(body)


def test_two_packages_sharing_a_linked_image_upload_it_once(nfvo, vim, images, tmp_path):
    url, root, _slow = images
    sha = hashlib.sha256((root / "linked.img").read_bytes()).hexdigest()
    for name in ("share-a", "share-b"):
        answer = nfvo.api.upload(_linked_package(tmp_path, name, f"{url}/linked.img", upload="check"))
        assert answer.status_code == 200, answer.text
        assert answer.json()["vdu"][0]["vm_image"] == ["linked-img"]
    listed = nfvo.api.get(f"/api/v1/datacenters/{vim['id']}/images").json()
    assert [i["name"] for i in listed if i["sha256"] == sha] == ["linked-img"]


def test_unreachable_vim_is_retried_and_the_job_then_succeeds(nfvo, vim, images, tmp_path):
    """A real fault, no mock: the store directory of a second local VIM is replaced by a plain file,
    so the driver cannot reach it (VimUnavailable, a retryable error) until the file is removed."""
    import shutil

    flaky = nfvo.api.post_json("/api/v1/datacenters", {"name": "flaky", "type": "local", "authUrl": "local://flaky"})
    assert flaky.status_code == 201, flaky.text
    store = nfvo.home / "vim-data" / "local" / "flaky"
    shutil.rmtree(store)
    store.write_text("not a directory")

    url, _root, _slow = images
    job_id = nfvo.api.upload(_linked_package(tmp_path, "retry", f"{url}/linked.img"), respond_async=True).json()["id"]
    deadline = time.monotonic() + 30
    while not (job := nfvo.api.get(f"/api/v1/jobs/{job_id}").json())["step"].startswith("waiting to retry"):
        assert job["state"] != "failed" and time.monotonic() < deadline, job
        time.sleep(0.05)
    assert job["state"] == "queued" and "flaky" in job["step"]
    store.unlink()

    job = nfvo.api.wait_job(job_id, seconds=60)
    assert job["state"] == "succeeded" and job["attempts"] == 2, job
    names = [i["name"] for i in nfvo.api.get(f"/api/v1/datacenters/{flaky.json()['id']}/images").json()]
    assert names == ["retry-img"]
