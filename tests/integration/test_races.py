"""Races between jobs over the same images, with real PostgreSQL, a real Redis broker and two real
`nfvo worker` processes: many identical uploads at once must leave exactly one package, whose
images are on the VIM with the recorded bytes, and nothing once that package is deleted."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.harness import Nfvo, fresh_postgres_database, fresh_redis_db, make_tar, nfvo_env

pytestmark = pytest.mark.integration

ROUNDS = 24
UPLOADS = 12  # identical uploads per round, all at once
IMAGE = os.urandom(256 * 1024)


@pytest.fixture(scope="module")
def nfvo(tmp_path_factory):
    home = tmp_path_factory.mktemp("races") / "home"
    home.mkdir()
    with fresh_postgres_database() as db_url, fresh_redis_db() as broker_url:
        node = Nfvo(home, nfvo_env(home, NFVO_DATABASE_URL=db_url, NFVO_BROKER_URL=broker_url))
        migrated = node.run("db", "upgrade")
        assert migrated.returncode == 0, migrated.stderr
        node.start_server()
        node.workers = [node.start_worker("--concurrency", "2"), node.start_worker("--concurrency", "2")]
        yield node
        node.stop()


@pytest.fixture(scope="module")
def vim(nfvo):
    answer = nfvo.api.post_json("/api/v1/datacenters", {"name": "store", "type": "local", "authUrl": "local://store"})
    assert answer.status_code == 201, answer.text
    return answer.json()


def _package(tmp_path, n: int):
    """Round ``n``'s package: its own name and image bytes; ``upload: true`` (same bytes on the VIM
    are reused) in even rounds, ``check`` (an image of that name on the VIM is used) in odd ones."""
    name = f"race-{n}"
    metadata = (f"name: {name}\nprovider: ACME\nvim_types: [local]\nimage:\n"
                f"  upload: {'true' if n % 2 == 0 else 'check'}\n  names: [{name}-img]\n"
                f"  file: images/{name}.raw\nimage-config:\n  name: {name}-img\n"
                f"  diskFormat: raw\n  containerFormat: bare\n")
    vnfd = {"name": name, "vendor": "ACME", "type": "t", "endpoint": "generic",
            "vdu": [{"vm_image": [], "vimInstanceName": []}]}
    data = IMAGE + n.to_bytes(4, "big")
    path = make_tar(tmp_path / f"{name}.tar", {"Metadata.yaml": metadata, "vnfd.json": vnfd,
                                               f"images/{name}.raw": data})
    return path, hashlib.sha256(data).hexdigest()


def _images(nfvo, vim) -> list[dict]:
    answer = nfvo.api.get(f"/api/v1/datacenters/{vim['id']}/images")
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_identical_uploads_at_once_leave_one_package_and_its_images_exact(nfvo, vim, tmp_path):
    for n in range(ROUNDS):
        tar, sha = _package(tmp_path, n)
        with ThreadPoolExecutor(UPLOADS) as pool:
            answers = list(pool.map(lambda t: nfvo.api.upload(t, respond_async=True), [tar] * UPLOADS))
        assert all(a.status_code == 202 for a in answers), [a.text for a in answers]
        jobs = [nfvo.api.wait_job(a.json()["id"], seconds=300) for a in answers]

        winners = [j for j in jobs if j["state"] == "succeeded"]
        assert len(winners) == 1, f"round {n}: {[(j['state'], j.get('problem')) for j in jobs]}"
        losers = [j for j in jobs if j["state"] == "failed"]
        assert all(j["problem"]["type"].endswith("/duplicate-package") for j in losers), losers

        package = nfvo.api.get(f"/api/v1/vnf-packages/{winners[0]['packageId']}").json()
        on_vim = {i["id"]: i for i in _images(nfvo, vim)}
        for image in package["images"]:
            assert image["id"] in on_vim, f"round {n}: the package's image was removed: {image}"
            assert on_vim[image["id"]]["sha256"] == image["sha256"] == sha, (image, on_vim[image["id"]])
        assert len([i for i in on_vim.values() if i["sha256"] == sha]) == 1, f"round {n}: a loser's copy is left"

        assert nfvo.api.delete(f"/api/v1/vnf-packages/{package['id']}").status_code == 204
        left = [i for i in _images(nfvo, vim) if i["sha256"] == sha]
        assert left == [], f"round {n}: the deleted package's image stays: {left}"
    for worker in nfvo.workers:
        assert worker.popen.poll() is None, worker.output()


def test_the_same_bytes_in_packages_onboarded_at_once_go_to_the_vim_once(nfvo, vim, tmp_path):
    """Eight packages of their own names and image names carry one image: their jobs run at once on
    two workers, yet one uploads it and the seven others wait for it and reuse it."""
    data = os.urandom(3 * 2**20)
    sha = hashlib.sha256(data).hexdigest()
    tars = []
    for n in range(8):
        name = f"twin-{n}"
        metadata = (f"name: {name}\nprovider: ACME\nvim_types: [local]\nimage:\n  upload: true\n"
                    f"  file: images/disk.raw\nimage-config:\n  name: {name}-img\n  diskFormat: raw\n"
                    "  containerFormat: bare\n")
        vnfd = {"name": name, "vendor": "ACME", "type": "t", "endpoint": "generic",
                "vdu": [{"vm_image": [], "vimInstanceName": []}]}
        tars.append(make_tar(tmp_path / f"{name}.tar", {"Metadata.yaml": metadata, "vnfd.json": vnfd,
                                                         "images/disk.raw": data}))
    with ThreadPoolExecutor(len(tars)) as pool:
        answers = list(pool.map(lambda t: nfvo.api.upload(t, respond_async=True), tars))
    assert all(a.status_code == 202 for a in answers), [a.text for a in answers]
    jobs = [nfvo.api.wait_job(a.json()["id"], seconds=300) for a in answers]
    assert [j["state"] for j in jobs] == ["succeeded"] * len(tars), [j.get("problem") for j in jobs]

    same = [i for i in _images(nfvo, vim) if i["sha256"] == sha]
    assert len(same) == 1, [(i["name"], i["id"]) for i in same]
    packages = [nfvo.api.get(f"/api/v1/vnf-packages/{j['packageId']}").json() for j in jobs]
    assert {image["id"] for p in packages for image in p["images"]} == {same[0]["id"]}
    decisions = sorted(image["decision"].split(" image ")[0] for p in packages for image in p["images"])
    assert decisions == ["same content as"] * 7 + ["uploaded from images/disk.raw"], decisions
    for package in packages:
        assert nfvo.api.delete(f"/api/v1/vnf-packages/{package['id']}").status_code == 204
    assert [i for i in _images(nfvo, vim) if i["sha256"] == sha] == []
