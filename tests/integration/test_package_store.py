"""Packages kept in the content store: on an S3 server (Swift's s3api, started by the tests) they are
served from there, by range, through both APIs and removed with their package; a store that cannot
be reached refuses an upload with 503 and loses nothing; a blob several packages share outlives
all but the last; files an earlier nfvo kept under NFVO_HOME/packages are moved into the store."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import zipfile

import pytest

from tests.backends.swift import swift_fixture
from tests.csar_builder import build
from tests.integration.harness import Api, assert_problem, embedded_nfvo, example_files, make_tar, store_blob
from tests.integration.servers import free_port
from tests.integration.test_vnfpkgm import BASE, create, csar_files, put_content, wait_onboarding

pytestmark = pytest.mark.integration

MiB = 2**20
swift = swift_fixture()


@pytest.fixture(scope="module")
def on_s3(swift, tmp_path_factory):
    bucket = swift.new_bucket("packages")
    with embedded_nfvo(tmp_path_factory.mktemp("s3"), NFVO_STORE_URL=f"s3://{bucket}/site-a",
                       NFVO_STORE_ENDPOINT=swift.endpoint_url, NFVO_STORE_REGION=swift.region,
                       NFVO_STORE_ACCESS_KEY=swift.access_key, NFVO_STORE_SECRET_KEY=swift.secret_key,
                       NFVO_STORE_PART_SIZE=str(5 * MiB)) as node:
        node.bucket = bucket
        yield node


def keys(swift, bucket: str) -> set[str]:
    pages = swift.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {item["Key"] for page in pages for item in page.get("Contents", ())}


def proxy_log(swift):
    return swift.base / "logs" / "proxy-server.log"


def gets_since(swift, seen: int, bucket: str, data: bytes) -> list[tuple[str, int]]:
    """(status, bytes sent) of each GET of the blob of ``data`` in Swift's access log after byte ``seen``."""
    with open(proxy_log(swift), "rb") as f:
        f.seek(seen)
        lines = f.read().decode(errors="replace").splitlines()
    gets = [line.split() for line in lines if f" GET /{bucket}/{blob_key(data)} " in line]
    return [(fields[fields.index("HTTP/1.0") + 1], int(fields[fields.index("HTTP/1.0") + 6])) for fields in gets]


def blob_key(data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    return f"site-a/blobs/{sha[:2]}/{sha}"


def test_a_csar_lives_in_s3_and_is_served_from_there_by_range(on_s3, swift, tmp_path):
    image = bytes(range(256)) * (96 * 1024)  # 24 MiB, stored in the zip: the package takes five parts
    files = csar_files(image=image)
    path = build(tmp_path / "big.zip", files, method=zipfile.ZIP_STORED)
    package = create(on_s3)
    seen = proxy_log(swift).stat().st_size
    assert put_content(on_s3, package["id"], path).status_code == 202
    info = wait_onboarding(on_s3, package["id"])
    assert info["onboardingState"] == "ONBOARDED", info
    data = path.read_bytes()
    sent = gets_since(swift, seen, on_s3.bucket, data)  # the worker read it by range, never whole
    assert sent and not [s for s in sent if s[1] >= len(data)], sent
    assert blob_key(data) in keys(swift, on_s3.bucket)
    assert not (on_s3.home / "store").exists(), "nothing is kept under NFVO_HOME with an S3 store"
    assert not list((on_s3.home / "uploads").iterdir())

    url = f"{BASE}/{package['id']}"
    whole = on_s3.api.get(f"{url}/package_content")
    assert whole.status_code == 200 and whole.content == data
    part = on_s3.api.get(f"{url}/package_content", headers={"Range": f"bytes={5 * MiB - 10}-{5 * MiB + 9}"})
    assert part.status_code == 206 and part.content == data[5 * MiB - 10:5 * MiB + 10]
    log = on_s3.api.get(f"{url}/artifacts/Files/ChangeLog.txt")
    assert log.content == files["Files/ChangeLog.txt"]
    member = on_s3.api.get(f"{url}/artifacts/Files/images/iperf-server.img", headers={"Range": "bytes=1000-1999"})
    assert member.status_code == 206 and member.content == image[1000:2000]
    vnfd = on_s3.api.get(f"{url}/vnfd", headers={"Accept": "application/zip"})
    assert vnfd.status_code == 200 and vnfd.content[:2] == b"PK"

    assert on_s3.api.request("PATCH", url, json={"operationalState": "DISABLED"},
                             headers={"Content-Type": "application/merge-patch+json"}).status_code == 200
    assert on_s3.api.delete(url).status_code == 204
    assert blob_key(data) not in keys(swift, on_s3.bucket), "the package's blob goes with it"


def test_an_open_baton_package_and_its_scripts_live_in_s3(on_s3, swift, tmp_path):
    files = example_files("iperf-server")
    tar = make_tar(tmp_path / "ob.tar", files)
    answer = on_s3.api.upload(tar)
    assert answer.status_code == 200, answer.text
    package_id = answer.json()["vnfPackageLocation"]
    script = on_s3.api.get(f"/api/v1/vnf-packages/{package_id}/scripts/install.sh")
    assert script.status_code == 200 and script.content == files["scripts/install.sh"]
    assert {blob_key(tar.read_bytes()), blob_key(files["scripts/install.sh"])} <= keys(swift, on_s3.bucket)
    content = on_s3.api.get(f"{BASE}/{package_id}/package_content")
    assert content.content == tar.read_bytes()
    assert on_s3.api.delete(f"/api/v1/vnf-packages/{package_id}").status_code == 204
    assert not {blob_key(tar.read_bytes()), blob_key(files["scripts/install.sh"])} & keys(swift, on_s3.bucket)


def test_the_worker_reads_an_open_baton_package_from_s3_by_range_and_copies_it_nowhere(on_s3, swift, tmp_path):
    """Swift's access log shows how the package's object was read while it onboarded: never
    sent whole (a copy into the work directory would fetch it whole), and the image member once,
    by a ranged GET of exactly its bytes."""
    files = example_files("iperf-server")
    files["images/iperf.raw"] = os.urandom(24 * MiB)
    tar = make_tar(tmp_path / "ranged.tar", files)
    seen = proxy_log(swift).stat().st_size
    answer = on_s3.api.upload(tar)
    assert answer.status_code == 200, answer.text
    sent = gets_since(swift, seen, on_s3.bucket, tar.read_bytes())
    assert sent and not [s for s in sent if s[1] >= tar.stat().st_size], sent
    # the image: one ranged GET from its first byte on (to the tar's end: a few KB more)
    assert [n for status, n in sent if status == "206" and 24 * MiB <= n < tar.stat().st_size], sent
    assert on_s3.api.delete(f"/api/v1/vnf-packages/{answer.json()['vnfPackageLocation']}").status_code == 204


def test_a_store_that_cannot_be_reached_refuses_the_upload_and_loses_nothing(tmp_path):
    with embedded_nfvo(tmp_path, NFVO_STORE_URL="s3://nowhere/x", NFVO_STORE_ENDPOINT=f"http://127.0.0.1:{free_port()}",
                       NFVO_STORE_ACCESS_KEY="k", NFVO_STORE_SECRET_KEY="s") as node:
        tar = make_tar(tmp_path / "ob.tar", example_files("iperf-server"))
        body = assert_problem(node.api.upload(tar), 503, "store-unavailable")
        assert "127.0.0.1" in body["detail"]
        package = create(node)
        assert_problem(put_content(node, package["id"], build(tmp_path / "p.zip", csar_files())), 503,
                       "store-unavailable")
        assert node.api.get(f"{BASE}/{package['id']}").json()["onboardingState"] == "ERROR"
        assert not list((node.home / "uploads").iterdir()), "a refused upload leaves no file"
        assert node.api.get("/api/v1/vnf-packages").json() == []


def test_the_same_package_in_two_projects_is_kept_once_until_both_are_deleted(tmp_path):
    with embedded_nfvo(tmp_path) as node:
        other = Api(node.url, project=node.api.post_json("/api/v1/projects", {"name": "other"}).json()["id"])
        vim = other.post_json("/api/v1/datacenters", {"name": "local", "type": "local", "authUrl": "local://other"})
        assert vim.status_code == 201, vim.text
        tar = make_tar(tmp_path / "ob.tar", example_files("iperf-server"))
        ids = []
        for api in (node.api, other):
            answer = api.upload(tar)
            assert answer.status_code == 200, answer.text
            ids.append(answer.json()["vnfPackageLocation"])
        blob = store_blob(node.home, tar.read_bytes())
        assert blob.exists()
        assert node.api.delete(f"/api/v1/vnf-packages/{ids[0]}").status_code == 204
        assert blob.exists(), "the other project's package still uses the bytes"
        assert other.get(f"{BASE}/{ids[1]}/package_content").content == tar.read_bytes()
        assert other.delete(f"/api/v1/vnf-packages/{ids[1]}").status_code == 204
        assert not blob.exists()


def test_files_kept_under_nfvo_home_packages_are_moved_into_the_store(tmp_path):
    files = example_files("iperf-server")
    tar = make_tar(tmp_path / "ob.tar", files)
    with embedded_nfvo(tmp_path) as node:
        package_id = node.api.upload(tar).json()["vnfPackageLocation"]
    # what an nfvo before the content store left: the files under packages/<id>/, no package_files rows
    legacy = node.home / "packages" / package_id
    (legacy / "scripts").mkdir(parents=True)
    for name, data in (("package.tar", tar.read_bytes()), ("scripts/install.sh", files["scripts/install.sh"]),
                       ("scripts/install-srv.sh", files["scripts/install-srv.sh"])):
        (legacy / name).write_bytes(data)
    shutil.rmtree(node.home / "store")
    with sqlite3.connect(node.home / "nfvo.sqlite") as db:
        db.execute("DELETE FROM package_files")
    upgraded = node.run("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "moved the files of 1 packages" in upgraded.stdout
    assert not (node.home / "packages").exists()
    node.start_server()
    try:
        assert node.api.get(f"{BASE}/{package_id}/package_content").content == tar.read_bytes()
        script = node.api.get(f"/api/v1/vnf-packages/{package_id}/scripts/install.sh")
        assert script.content == files["scripts/install.sh"]
        assert json.loads(node.api.get(f"/api/v1/vnf-packages/{package_id}").text)["id"] == package_id
    finally:
        node.stop()
