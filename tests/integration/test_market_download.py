"""Market download: POST {"link": URL} to /vnf-packages/marketdownload and /ns-descriptors/marketdownload,
against an embedded `nfvo serve` and a real loopback HTTP server."""

from __future__ import annotations

import json
import os

import pytest

from tests.integration.harness import assert_problem, embedded_nfvo, example_files, make_tar
from tests.integration.servers import serve_http, stall, status

pytestmark = pytest.mark.integration

LIMIT = 2 * 2**20  # NFVO_MAX_PACKAGE_SIZE of this module's nfvo; the iperf packages are about 1 MiB


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    """A loopback "market": the two iperf packages, NSD documents, an oversized file, scripted failures."""
    root = tmp_path_factory.mktemp("market")
    for name in ("iperf-server", "iperf-client"):
        make_tar(root / f"{name}.tar", example_files(name))
    make_tar(root / "broken.tar", {**example_files("iperf-server"), "Metadata.yaml": "name: [unclosed\n"})
    (root / "huge.tar").write_bytes(os.urandom(LIMIT + 1))
    (root / "ns.json").write_text(json.dumps({
        "name": "iperf-ns", "vendor": "market", "version": "1",
        "vnfd": [{"id": "FOKUS/iperf-server/1.0"}, {"id": "FOKUS/iperf-client/1.0"}],
        "vld": [{"name": "private"}]}, indent=2))
    (root / "unknown-ref.json").write_text('{\n  "name": "bad-ns",\n  "vnfd": [\n    {"id": "nobody/none/9"}\n  ]\n}\n')
    (root / "syntax.json").write_text('{\n  "name": "ns",\n  "vnfd": [,]\n}\n')
    routes = {"/slow.tar": stall(30), "/gone.tar": status(404)}
    with serve_http(root, routes) as url:
        yield url


@pytest.fixture(scope="module")
def nfvo(tmp_path_factory):
    with embedded_nfvo(tmp_path_factory.mktemp("market-nfvo"), NFVO_MAX_PACKAGE_SIZE=str(LIMIT),
                       NFVO_HTTP_READ_TIMEOUT="1") as node:
        yield node


def uploads_left(nfvo) -> list[str]:
    return sorted(p.name for p in (nfvo.home / "uploads").iterdir())


def test_package_is_downloaded_and_onboarded(nfvo, market):
    answer = nfvo.api.post_json("/api/v1/vnf-packages/marketdownload", {"link": f"{market}/iperf-server.tar"})
    assert answer.status_code == 200, answer.text
    package_id = answer.json()["id"]
    package = nfvo.api.get(f"/api/v1/vnf-packages/{package_id}").json()
    assert package["name"] == "iperf-server" and package["filename"] == "iperf-server.tar"
    vnfds = nfvo.api.get("/api/v1/vnf-descriptors", params={"name": "iperf-server"}).json()
    assert [v["vnfPackageLocation"] for v in vnfds] == [package_id]
    assert uploads_left(nfvo) == []


def test_async_answer_gives_a_job_to_follow(nfvo, market):
    answer = nfvo.api.post_json("/api/v1/vnf-packages/marketdownload/", {"link": f"{market}/iperf-client.tar"},
                                headers=nfvo.api.headers(Prefer="respond-async"))
    assert answer.status_code == 202, answer.text
    job = nfvo.api.wait_job(answer.json()["id"])
    assert job["state"] == "succeeded", job
    assert nfvo.api.get(f"/api/v1/vnf-packages/{job['packageId']}").json()["name"] == "iperf-client"


def test_the_package_problems_are_the_answer(nfvo, market):
    body = assert_problem(nfvo.api.post_json("/api/v1/vnf-packages/marketdownload", {"link": f"{market}/broken.tar"}),
                          422, "validation-failed")
    assert any(e.get("file") == "Metadata.yaml" and e.get("line") for e in body["errors"]), body


@pytest.mark.parametrize("link, status_code, slug", [
    ("http://169.254.169.254/latest/package.tar", 422, "fetch-refused"),  # cloud metadata: never fetched
    ("http://10.1.2.3/package.tar", 422, "fetch-refused"),
    ("file:///etc/passwd", 422, "fetch-refused"),
    ("{market}/gone.tar", 422, "fetch-failed"),
    ("{market}/slow.tar", 422, "fetch-failed"),
    ("{market}/huge.tar", 413, "too-large"),
])
def test_bad_links_are_refused_and_leave_nothing(nfvo, market, link, status_code, slug):
    before = nfvo.api.get("/api/v1/vnf-packages").json()
    answer = nfvo.api.post_json("/api/v1/vnf-packages/marketdownload", {"link": link.format(market=market)})
    body = assert_problem(answer, status_code, slug)
    assert "169.254" not in link or "169.254.169.254" in body["detail"]
    assert nfvo.api.get("/api/v1/vnf-packages").json() == before
    assert uploads_left(nfvo) == []


@pytest.mark.parametrize("body, pointer", [({}, "/link"), ({"link": 7}, "/link")])
def test_the_body_needs_a_link(nfvo, body, pointer):
    problem = assert_problem(nfvo.api.post_json("/api/v1/vnf-packages/marketdownload", body), 422, "validation-failed")
    assert [e["pointer"] for e in problem["errors"]] == [pointer]


def test_nsd_is_downloaded_with_its_references_resolved(nfvo, market):
    for name in ("iperf-server", "iperf-client"):
        if not nfvo.api.get("/api/v1/vnf-descriptors", params={"name": name}).json():
            nfvo.api.post_json("/api/v1/vnf-packages/marketdownload", {"link": f"{market}/{name}.tar"})
    answer = nfvo.api.post_json("/api/v1/ns-descriptors/marketdownload", {"link": f"{market}/ns.json"})
    assert answer.status_code == 201, answer.text
    nsd = answer.json()
    assert [(v["vendor"], v["name"]) for v in nsd["vnfd"]] == [("FOKUS", "iperf-server"), ("FOKUS", "iperf-client")]
    assert nfvo.api.get(f"/api/v1/ns-descriptors/{nsd['id']}").json() == nsd


def test_nsd_problems_name_the_link_and_line(nfvo, market):
    before = nfvo.api.get("/api/v1/ns-descriptors").json()
    link = f"{market}/unknown-ref.json"
    body = assert_problem(nfvo.api.post_json("/api/v1/ns-descriptors/marketdownload", {"link": link}),
                          422, "validation-failed")
    assert [(e["file"], e["line"], e["pointer"]) for e in body["errors"]] == [(link, 4, "/vnfd/0/id")]
    assert "nobody/none/9" in body["errors"][0]["message"]

    link = f"{market}/syntax.json"
    body = assert_problem(nfvo.api.post_json("/api/v1/ns-descriptors/marketdownload", {"link": link}),
                          422, "validation-failed")
    assert [(e["file"], e["line"]) for e in body["errors"]] == [(link, 3)]
    assert nfvo.api.get("/api/v1/ns-descriptors").json() == before


def test_nsd_link_policy_applies(nfvo):
    answer = nfvo.api.post_json("/api/v1/ns-descriptors/marketdownload", {"link": "http://192.168.0.1/ns.json"})
    assert_problem(answer, 422, "fetch-refused")
