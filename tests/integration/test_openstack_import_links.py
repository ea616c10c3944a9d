"""The VIM property ``importLinks`` against real Glances: who fetches an image link, and what the job says.

Three Glances of one test OpenStack (tests/backends/openstack.py): ``RegionOne`` imports links
from the tests' HTTP servers (web-download, any port), ``RegionThree`` offers web-download
behind the usual import filter, which refuses every port but 80 and 443 and so refuses them,
``RegionTwo`` offers no web-download. Every package names its VIM in ``vimInstanceName``.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import requests
from requests_toolbelt import MultipartEncoder

from tests.backends.openstack import OpenStackCloud, openstack_fixture
from tests.integration.harness import assert_problem, embedded_nfvo, example_files, make_tar
from tests.integration.servers import serve_http

pytestmark = [pytest.mark.integration,
              pytest.mark.filterwarnings("ignore::PendingDeprecationWarning:openstack")]

openstack = openstack_fixture()
NFVO_AGENT = "nfvo-fetch/1"  # the User-Agent of nfvo's own downloads
GLANCE_WORDS = "does not pass filtering"  # Glance's text of its refusal: only nfvo's log may quote it


@pytest.fixture(scope="module")
def nfvo(tmp_path_factory):
    if "openstack" not in {ep.name for ep in entry_points(group="nfvo.vim_drivers")}:
        pytest.fail("the openstack VIM driver is not installed in this venv: run "
                    "`.venv/bin/pip install -e drivers/openstack`", pytrace=False)
    with embedded_nfvo(tmp_path_factory.mktemp("import-links"), NFVO_VIM_ALLOW="127.0.0.1") as node:
        yield node


@pytest.fixture(scope="module")
def glance(openstack: OpenStackCloud) -> requests.Session:
    """Admin requests to Glance (the Glances share one database: each lists every image)."""
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": openstack.username, "domain": {"name": "Default"}, "password": openstack.password}}},
        "scope": {"project": {"name": openstack.project, "domain": {"name": "Default"}}}}}
    answer = requests.post(f"{openstack.auth_url}/auth/tokens", json=body, timeout=30)
    answer.raise_for_status()
    session = requests.Session()
    session.headers.update({"X-Auth-Token": answer.headers["X-Subject-Token"], "Accept": "application/json"})
    return session


def named(glance: requests.Session, openstack: OpenStackCloud, name: str) -> list[dict]:
    return glance.get(f"{openstack.glance_url}/v2/images", params={"name": name}, timeout=30).json()["images"]


def register(nfvo, openstack: OpenStackCloud, region: str, import_links: str | None = None) -> requests.Response:
    properties = {"regionName": region, "userDomain": "Default", "projectDomain": "Default"}
    if import_links is not None:
        properties["importLinks"] = import_links
    body = {"name": f"os-{region.lower()}-{import_links or 'default'}-{uuid.uuid4().hex[:6]}", "type": "openstack",
            "authUrl": openstack.auth_url, "username": openstack.username, "password": openstack.password,
            "tenant": openstack.project, "properties": properties}
    return nfvo.api.post_json("/api/v1/datacenters", body)


def vim(nfvo, openstack: OpenStackCloud, region: str, import_links: str | None = None) -> str:
    """A VIM of ``region`` registered through the API; its name."""
    answer = register(nfvo, openstack, region, import_links)
    assert answer.status_code == 201, answer.text
    return answer.json()["name"]


def linked_package(tmp_path: Path, vim_name: str, link: str, image_name: str) -> Path:
    """iperf-server for vim_types [openstack] and VIM ``vim_name`` only, its image from ``link``
    (the ``image`` block on line 6 of Metadata.yaml, ``link`` on line 8)."""
    example = example_files("iperf-server")
    metadata = (f"name: pkg-{image_name}\nprovider: FOKUS\nnfvo_version: 4.0.0\nvim_types:\n  - openstack\n"
                f"image:\n  upload: \"true\"\n  link: {json.dumps(link)}\n"
                f"image-config:\n  name: {image_name}\n  diskFormat: RAW\n  containerFormat: BARE\n"
                "  minCPU: 1\n  minDisk: 1\n  minRam: 512\n  isPublic: false\n")
    vnfd = json.loads(example["vnfd.json"])
    vnfd = {**vnfd, "name": f"pkg-{image_name}", "vdu": [{**vdu, "vimInstanceName": [vim_name]} for vdu in vnfd["vdu"]]}
    return make_tar(tmp_path / f"{image_name}.tar", {
        "Metadata.yaml": metadata, "vnfd.json": vnfd, "scripts/install.sh": example["scripts/install.sh"],
        "scripts/install-srv.sh": example["scripts/install-srv.sh"]})


@contextmanager
def image_link(tmp_path: Path, data: bytes) -> Iterator[tuple[str, list[str]]]:
    """An HTTP server answering ``data`` at the yielded link; the list gets the User-Agent of each GET."""
    agents: list[str] = []

    def route(handler) -> None:
        agents.append(handler.headers.get("User-Agent") or "")
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    with serve_http(tmp_path, {"/vnf.raw": route}) as base:
        yield f"{base}/vnf.raw", agents


def onboard(nfvo, tar: Path, *, strict: bool = False) -> dict:
    """The finished job of uploading ``tar`` (asynchronously; ``strict``: ?validation=strict)."""
    with open(tar, "rb") as f:
        body = MultipartEncoder({"file": (tar.name, f, "application/x-tar")})
        answer = nfvo.api.request("POST", "/api/v1/vnf-packages" + ("?validation=strict" if strict else ""),
                                  data=body, headers={"Content-Type": body.content_type, "Prefer": "respond-async"})
    assert answer.status_code == 202, answer.text
    return nfvo.api.wait_job(answer.json()["id"])


def image_row(nfvo, job: dict) -> dict:
    assert job["state"] == "succeeded", job
    [row] = nfvo.api.get(f"/api/v1/vnf-packages/{job['packageId']}").json()["images"]
    return row


def assert_removed_with_its_package(nfvo, glance, openstack, job: dict, image_name: str) -> None:
    """nfvo recorded the image as its own: deleting the package removes it from Glance."""
    assert nfvo.api.delete(f"/api/v1/vnf-packages/{job['packageId']}").status_code == 204
    assert named(glance, openstack, image_name) == []


def test_auto_streams_a_link_the_glance_filter_refuses_and_the_job_says_why(nfvo, openstack, glance, tmp_path):
    name = vim(nfvo, openstack, openstack.started(openstack.region_import_filtered))  # importLinks: auto
    data, image_name = os.urandom(2 * 1024 * 1024 + 7), f"refused-port-{uuid.uuid4().hex[:8]}"
    with image_link(tmp_path, data) as (link, agents):
        # strict validation refuses packages with validation warnings; this warning is not one
        job = onboard(nfvo, linked_package(tmp_path, name, link, image_name), strict=True)
    row = image_row(nfvo, job)
    reason = f"VIM {name!r} refused to import {link} (HTTP 400)"
    assert row["decision"] == f"streamed by nfvo from {link}: VIM {name!r} refused to import it (HTTP 400)", row
    assert (row["source"], row["uploaded"], row["sha256"]) == (link, True, hashlib.sha256(data).hexdigest())
    assert agents == [NFVO_AGENT], "Glance refused before fetching; nfvo fetched it once"
    [warning] = job["warnings"]
    assert warning == {"severity": "warning", "file": "Metadata.yaml", "line": 6, "pointer": "/image/link",
                       "message": f"{reason}; nfvo downloaded the link and streamed it to the VIM itself "
                                  "(importLinks auto)"}
    assert GLANCE_WORDS not in json.dumps(job)
    assert nfvo.api.get(f"/api/v1/vnf-packages/{job['packageId']}").json()["warnings"] == [warning]
    [on_glance] = named(glance, openstack, image_name)  # the refused import left nothing behind
    assert (on_glance["id"], on_glance["status"]) == (row["imageId"], "active")
    assert on_glance["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert_removed_with_its_package(nfvo, glance, openstack, job, image_name)


def test_auto_lets_a_glance_that_accepts_the_link_import_it(nfvo, openstack, glance, tmp_path):
    name = vim(nfvo, openstack, openstack.region)
    data, image_name = os.urandom(1024 * 1024), f"imported-{uuid.uuid4().hex[:8]}"
    with image_link(tmp_path, data) as (link, agents):
        job = onboard(nfvo, linked_package(tmp_path, name, link, image_name))
    row = image_row(nfvo, job)
    assert row["decision"] == f"imported by the VIM from {link}", row
    assert (row["source"], row["uploaded"], row["sha256"]) == (link, True, hashlib.sha256(data).hexdigest())
    assert len(agents) == 1 and agents[0] != NFVO_AGENT, agents  # Glance's web-download, not nfvo
    assert job["warnings"] == []
    assert [i["id"] for i in named(glance, openstack, image_name)] == [row["imageId"]]
    assert_removed_with_its_package(nfvo, glance, openstack, job, image_name)


def test_always_fails_the_package_when_the_glance_filter_refuses_the_link(nfvo, openstack, glance, tmp_path):
    name = vim(nfvo, openstack, openstack.started(openstack.region_import_filtered), "Always")
    image_name = f"always-refused-{uuid.uuid4().hex[:8]}"
    with image_link(tmp_path, os.urandom(1024 * 1024)) as (link, agents):
        job = onboard(nfvo, linked_package(tmp_path, name, link, image_name))
    assert job["state"] == "failed", job
    problem = job["problem"]
    assert (problem["status"], problem["type"].rsplit("/", 1)[1]) == (422, "image-resolution-failed"), problem
    [finding] = problem["errors"]
    assert (finding["file"], finding["line"], finding["pointer"]) == ("Metadata.yaml", 6, "/image/link")
    assert finding["message"].startswith(f"VIM {name!r} refused to import {link} (HTTP 400); its importLinks is "
                                         "always"), finding
    assert GLANCE_WORDS not in json.dumps(problem)
    assert agents == []  # nobody fetched it
    assert named(glance, openstack, image_name) == []  # the refused import left nothing on Glance


def test_always_refuses_a_link_for_a_glance_without_web_download_before_uploading(nfvo, openstack, glance,
                                                                                 tmp_path):
    name = vim(nfvo, openstack, openstack.region_without_import, "always")
    image_name = f"always-no-import-{uuid.uuid4().hex[:8]}"
    with image_link(tmp_path, os.urandom(1024)) as (link, agents):
        answer = nfvo.api.upload(linked_package(tmp_path, name, link, image_name))
    body = assert_problem(answer, 422, "image-resolution-failed")
    [finding] = body["errors"]
    assert finding["pointer"] == "/image/link" and name in finding["message"] and "always" in finding["message"]
    assert agents == [] and named(glance, openstack, image_name) == []


def test_never_streams_even_when_glance_would_import(nfvo, openstack, glance, tmp_path):
    name = vim(nfvo, openstack, openstack.region, "never")
    data, image_name = os.urandom(1024 * 1024 + 3), f"never-{uuid.uuid4().hex[:8]}"
    with image_link(tmp_path, data) as (link, agents):
        job = onboard(nfvo, linked_package(tmp_path, name, link, image_name))
    row = image_row(nfvo, job)
    assert row["decision"] == f"streamed by nfvo from {link}", row
    assert (row["source"], row["uploaded"], row["sha256"]) == (link, True, hashlib.sha256(data).hexdigest())
    assert agents == [NFVO_AGENT]
    assert job["warnings"] == []
    assert [i["id"] for i in named(glance, openstack, image_name)] == [row["imageId"]]
    assert_removed_with_its_package(nfvo, glance, openstack, job, image_name)


@pytest.mark.parametrize("value", ["sometimes", "true"])
def test_an_unknown_import_links_value_is_refused_at_its_pointer(nfvo, openstack, value):
    answer = register(nfvo, openstack, openstack.region, value)
    body = assert_problem(answer, 422, "validation-failed")
    assert [e["pointer"] for e in body["errors"]] == ["/properties/importLinks"]
    assert repr(value) in body["errors"][0]["message"]
    listed = nfvo.api.get("/api/v1/datacenters").json()
    assert not [v for v in listed if v["properties"].get("importLinks") == value]


def test_auto_streams_a_link_whose_import_failed_on_the_vim(nfvo, openstack, glance, tmp_path):
    """Glance accepts the link but cannot fetch it (the server refuses everyone but nfvo):
    the import task fails, Glance drops the image, and nfvo streams the link itself."""
    name = vim(nfvo, openstack, openstack.region)
    data, image_name = os.urandom(1024 * 1024), f"import-failed-{uuid.uuid4().hex[:8]}"
    agents: list[str] = []

    def only_for_nfvo(handler) -> None:
        agents.append(handler.headers.get("User-Agent") or "")
        ok = agents[-1] == NFVO_AGENT
        handler.send_response(200 if ok else 403)
        handler.send_header("Content-Length", str(len(data) if ok else 0))
        handler.end_headers()
        if ok:
            handler.wfile.write(data)

    with serve_http(tmp_path, {"/vnf.raw": only_for_nfvo}) as base:
        job = onboard(nfvo, linked_package(tmp_path, name, f"{base}/vnf.raw", image_name))
    link = f"{base}/vnf.raw"
    row = image_row(nfvo, job)
    assert row["decision"] == f"streamed by nfvo from {link}: VIM {name!r} could not import it", row
    assert (row["uploaded"], row["sha256"]) == (True, hashlib.sha256(data).hexdigest())
    assert agents[-1] == NFVO_AGENT and NFVO_AGENT not in agents[:-1] and len(agents) >= 2, agents
    [warning] = job["warnings"]
    assert warning["severity"] == "warning" and warning["pointer"] == "/image/link"
    assert [i["id"] for i in named(glance, openstack, image_name)] == [row["imageId"]]  # the failed import's is gone
    assert_removed_with_its_package(nfvo, glance, openstack, job, image_name)
