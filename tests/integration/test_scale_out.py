"""Scale-out: nfvo on "several hosts" that share only PostgreSQL, Redis and an S3 object store.

Two ``nfvo serve`` and two ``nfvo worker`` processes, each with its own NFVO_HOME, one database,
one broker, one secret key and one S3 content store (Swift's s3api), onboard 20 Open Baton
packages uploaded concurrently through both APIs onto one real OpenStack VIM (Keystone +
Glance). Four distinct images are shared by five packages each: Glance holds each exactly
once. Both workers run jobs; every package downloads byte-identical (and by range) from either
API; the bytes live in the bucket and nothing of the packages stays under any NFVO_HOME.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import entry_points
from types import SimpleNamespace

import psutil
import pytest

from tests.backends.openstack import openstack_fixture
from tests.backends.swift import swift_fixture
from tests.integration.harness import Api, Nfvo, fresh_postgres_database, fresh_redis_db, make_tar, nfvo_env
from tests.integration.test_openstack_onboarding import Glance, image_config, package

pytestmark = pytest.mark.integration

MiB = 2**20
PACKAGES, IMAGES, UPLOADERS = 20, 4, 10
BASE = "/vnfpkgm/v1/vnf_packages"
swift = swift_fixture()
openstack = openstack_fixture()


@pytest.fixture(scope="module")
def cluster(swift, openstack, tmp_path_factory):
    if "openstack" not in {ep.name for ep in entry_points(group="nfvo.vim_drivers")}:
        pytest.fail("the openstack VIM driver is not installed in this venv: run "
                    "`.venv/bin/pip install -e drivers/openstack`", pytrace=False)
    base, bucket, prefix = tmp_path_factory.mktemp("scale-out"), swift.new_bucket("scale"), "fleet"
    with fresh_postgres_database() as db_url, fresh_redis_db() as broker_url:
        shared = dict(NFVO_DATABASE_URL=db_url, NFVO_BROKER_URL=broker_url, NFVO_SECRET_KEY=secrets.token_urlsafe(32),
                      NFVO_VIM_ALLOW="127.0.0.1", NFVO_STORE_URL=f"s3://{bucket}/{prefix}",
                      NFVO_STORE_ENDPOINT=swift.endpoint_url, NFVO_STORE_REGION=swift.region,
                      NFVO_STORE_ACCESS_KEY=swift.access_key, NFVO_STORE_SECRET_KEY=swift.secret_key,
                      NFVO_STORE_PART_SIZE=str(5 * MiB))
        nodes = {}
        for name in ("api-a", "api-b", "worker-a", "worker-b"):
            home = base / name
            home.mkdir()
            nodes[name] = Nfvo(home, nfvo_env(home, **shared))
        migrated = nodes["api-a"].run("db", "upgrade")
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        try:
            nodes["api-a"].start_server()
            nodes["api-b"].start_server()
            workers = [nodes["worker-a"].start_worker(), nodes["worker-b"].start_worker()]
            yield SimpleNamespace(nodes=nodes, apis=[nodes["api-a"].api, nodes["api-b"].api], workers=workers,
                                  bucket=bucket, prefix=prefix, db_url=db_url)
        finally:
            for node in nodes.values():
                node.stop()


def logs(cluster) -> str:
    """The tail of every process's log, for failure messages."""
    return "\n".join(f"--- {name}: {p.log.name}\n{p.output()[-1500:]}"
                     for name, node in cluster.nodes.items() for p in node.processes)


@pytest.fixture(scope="module")
def glance(openstack):
    return Glance(openstack)


@pytest.fixture(scope="module")
def onboarded(cluster, openstack, glance, tmp_path_factory):
    """The VIM registered through one API, then 20 packages uploaded concurrently through both
    (half answered when onboarded, half with 'Prefer: respond-async' and the job followed)."""
    run = uuid.uuid4().hex[:8]
    body = {"name": f"scale-os-{run}", "type": "openstack", "authUrl": openstack.auth_url,
            "username": openstack.username, "password": openstack.password, "tenant": openstack.project,
            "properties": {"regionName": openstack.region, "userDomain": "Default", "projectDomain": "Default",
                           "interface": "public"}}
    answer = cluster.apis[0].post_json("/api/v1/datacenters", body)
    assert answer.status_code == 201, answer.text
    vim = answer.json()
    assert cluster.apis[1].get(f"/api/v1/datacenters/{vim['id']}").json()["name"] == vim["name"]

    work = tmp_path_factory.mktemp("scale-packages")
    images = [os.urandom(MiB + 512 * k) for k in range(IMAGES)]
    names = [f"scale-img-{run}-{k}" for k in range(IMAGES)]
    tars = [make_tar(work / f"scale-{i:02d}.tar", package(
        f"scale-{run}-{i:02d}", {"upload": "check", "names": [names[i % IMAGES]], "file": "images/vnf.raw"},
        {"images/vnf.raw": images[i % IMAGES]}, image_config(names[i % IMAGES]))) for i in range(PACKAGES)]
    for api in cluster.apis:
        api.token()  # logged in before the threads share the sessions

    def upload(i: int) -> dict:
        shared = cluster.apis[i % 2]
        api = Api(shared.url)
        api._token = shared.token()
        if (i // 2) % 2:
            answer = api.upload(tars[i], respond_async=True)
            if answer.status_code != 202:
                return {"status": answer.status_code, "body": answer.text[:2000]}
            job = api.wait_job(answer.json()["id"], seconds=150)
            return {"status": job["state"], "id": job["packageId"], "body": job}
        answer = api.upload(tars[i])
        return {"status": answer.status_code, "id": answer.json().get("vnfPackageLocation"), "body": answer.text[:2000]}

    with ThreadPoolExecutor(UPLOADERS) as pool:
        results = list(pool.map(upload, range(PACKAGES)))
    return SimpleNamespace(vim=vim, images=images, names=names, tars=tars, results=results)


def decisions(cluster, onboarded) -> str:
    """Every package's image rows (name, image id, decision), for failure messages."""
    lines = []
    for i, result in enumerate(onboarded.results):
        rows = cluster.apis[0].get(f"/api/v1/vnf-packages/{result['id']}").json()["images"] if result.get("id") else []
        lines.append(f"package {i:02d} ({result['status']}): "
                     + "; ".join(f"{r['name']} {r['imageId']} uploaded={r['uploaded']} {r['decision']!r}" for r in rows))
    return "\n".join(lines)


def test_every_package_onboards_and_each_image_is_on_the_vim_exactly_once(cluster, onboarded, glance):
    failed = [(i, r) for i, r in enumerate(onboarded.results) if r["status"] not in (200, "succeeded")]
    assert not failed, f"{json.dumps(failed, indent=1, default=str)[:6000]}\n{logs(cluster)}"
    report = decisions(cluster, onboarded)
    for k, (name, data) in enumerate(zip(onboarded.names, onboarded.images, strict=True)):
        sha = hashlib.sha256(data).hexdigest()
        on_glance = glance.named(name)
        same_bytes = glance.http.get(glance.url, params={"nfvo_sha256": sha}, timeout=30).json()["images"]
        assert len(on_glance) == 1 and [i["id"] for i in same_bytes] == [on_glance[0]["id"]], (
            f"image {k} ({name}) should be on Glance once: by name "
            f"{[(i['id'], i['status'], i.get('created_at')) for i in on_glance]}, by sha256 "
            f"{[(i['id'], i['name']) for i in same_bytes]}\n{report}")
        [image] = on_glance
        assert image["status"] == "active" and image["os_hash_value"] == hashlib.sha512(data).hexdigest()
        assert image["checksum"] == hashlib.md5(data).hexdigest()
        for i in range(k, PACKAGES, IMAGES):
            rows = cluster.apis[i % 2].get(f"/api/v1/vnf-packages/{onboarded.results[i]['id']}").json()["images"]
            assert [(r["imageId"], r["vimId"], r["sha256"]) for r in rows] == [(image["id"], onboarded.vim["id"], sha)], (
                f"package {i:02d}\n{report}")


def test_the_jobs_ran_on_both_workers_and_on_no_api(cluster, onboarded):
    import psycopg

    with psycopg.connect(cluster.db_url) as conn:
        jobs = conn.execute("SELECT sha256, state, worker FROM jobs").fetchall()
    shas = {hashlib.sha256(tar.read_bytes()).hexdigest() for tar in onboarded.tars}
    assert {sha for sha, _, _ in jobs} == shas and {state for _, state, _ in jobs} == {"succeeded"}, jobs
    trees = [{w.popen.pid} | {c.pid for c in psutil.Process(w.popen.pid).children(True)} for w in cluster.workers]
    ran_in = [int(worker.rsplit(":", 1)[1]) for _, _, worker in jobs]
    per_worker = [sum(pid in tree for pid in ran_in) for tree in trees]
    assert sum(per_worker) == PACKAGES and all(per_worker), f"jobs per worker {per_worker}: {jobs}\n{logs(cluster)}"


def test_every_package_downloads_from_either_api_whole_and_by_range(cluster, onboarded):
    for i, (tar, result) in enumerate(zip(onboarded.tars, onboarded.results, strict=True)):
        data, url = tar.read_bytes(), f"{BASE}/{result['id']}/package_content"
        for api in cluster.apis:
            whole = api.get(url)
            assert whole.status_code == 200 and whole.content == data, f"package {i:02d} from {api.url}"
        part = cluster.apis[(i + 1) % 2].get(url, headers={"Range": f"bytes={MiB - 10}-{MiB + 9}"})
        assert part.status_code == 206 and part.content == data[MiB - 10:MiB + 10], f"package {i:02d}"


def test_the_packages_live_in_the_bucket_and_under_no_nfvo_home(cluster, onboarded, swift):
    pages = swift.client().get_paginator("list_objects_v2").paginate(Bucket=cluster.bucket,
                                                                     Prefix=f"{cluster.prefix}/blobs/")
    keys = {item["Key"] for page in pages for item in page.get("Contents", ())}
    for tar in onboarded.tars:
        sha = hashlib.sha256(tar.read_bytes()).hexdigest()
        assert f"{cluster.prefix}/blobs/{sha[:2]}/{sha}" in keys, f"{tar.name} is not in the bucket"
    for name, node in cluster.nodes.items():
        assert not (node.home / "store").exists(), f"{name} keeps a store under its NFVO_HOME"
        kept = [p for p in node.home.rglob("*") if p.is_file() and p.suffix in (".upload", ".tar")]
        assert not kept, f"{name} kept {kept}"
