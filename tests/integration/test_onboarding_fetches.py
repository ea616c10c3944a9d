"""What onboarding fetches, and how often: an image link once per package, a scripts-link only
once a VIM was found. Real HTTP and git servers on 127.0.0.1 count the requests."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.integration.harness import assert_problem, embedded_nfvo, example_files, make_tar
from tests.integration.servers import serve_http

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def nfvo(tmp_path_factory):
    with embedded_nfvo(tmp_path_factory.mktemp("fetches")) as node:
        for name in ("store-b", "store-c"):
            answer = node.api.post_json("/api/v1/datacenters", {"name": name, "type": "local",
                                                                "authUrl": f"local://{name}"})
            assert answer.status_code == 201, answer.text
        yield node


def linked_package(tmp_path, name: str, link: str, extra_metadata: str = "", vim_types: str = "local"):
    files = example_files("iperf-server")
    files.pop("images/iperf.raw")
    metadata = (f"name: {name}\nprovider: FOKUS\nvim_types: [{vim_types}]\n{extra_metadata}"
                f"image:\n  upload: true\n  link: {link}\n"
                "image-config:\n  name: linked-image\n  diskFormat: RAW\n  containerFormat: BARE\n"
                "  minCPU: 1\n  minDisk: 1\n  minRam: 512\n  isPublic: false\n")
    vnfd = {**json.loads(files["vnfd.json"]), "name": name}
    return make_tar(tmp_path / f"{name}.tar", {**files, "Metadata.yaml": metadata, "vnfd.json": vnfd})


def test_an_image_link_is_downloaded_once_for_every_vim_that_gets_it(nfvo, tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "disk.raw").write_bytes(b"\x01" * 300_000)
    log: list[str] = []
    with serve_http(tmp_path / "site", log=log) as base:
        answer = nfvo.api.upload(linked_package(tmp_path, "linked-once", f"{base}/disk.raw"))
    assert answer.status_code == 200, answer.text
    package = nfvo.api.get(f"/api/v1/vnf-packages/{answer.json()['vnfPackageLocation']}").json()
    assert len({i["vimId"] for i in package["images"]}) == 3  # local, store-b and store-c
    assert {i["sha256"] for i in package["images"]} == {hashlib.sha256(b"\x01" * 300_000).hexdigest()}
    assert log == ["/disk.raw"]
    # the one download went to each local VIM as a hard link: one file, no byte copied again
    sha = hashlib.sha256(b"\x01" * 300_000).hexdigest()
    blobs = [nfvo.home / "vim-data" / "local" / store / "blobs" / sha for store in ("default", "store-b", "store-c")]
    assert len({(b.stat().st_dev, b.stat().st_ino) for b in blobs}) == 1, blobs
    assert blobs[0].stat().st_nlink == 3  # the job's own download is gone


def test_a_scripts_link_is_not_fetched_when_no_vim_takes_the_package(nfvo, tmp_path):
    log: list[str] = []
    with serve_http(tmp_path, log=log) as base:
        tar = linked_package(tmp_path, "no-vim", f"{base}/disk.raw", f"scripts-link: {base}/scripts.git\n",
                             vim_types="openstack")
        problem = assert_problem(nfvo.api.upload(tar), 422, "no-matching-vim")
    assert "openstack" in problem["detail"]
    assert log == []
