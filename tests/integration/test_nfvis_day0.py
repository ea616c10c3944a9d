"""POST /api/v1/vnf-packages/{id}/day0 and `nfvo package day0 ID` against a real embedded nfvo:
day-0 files of onboarded NFVIS packages rendered as JSON and as config drives read back with
pycdlib, payload problems at pointer and line, no secret kept or logged, no other project's
package reachable."""

from __future__ import annotations

import io
import json
import subprocess
import uuid

import pycdlib
import pytest

from tests.integration.harness import NFVO, Api, assert_problem, embedded_nfvo, example_files, make_tar
from tests.integration.test_nfvis import post, renamed
from tests.unit.domain.nfvis import samples

pytestmark = pytest.mark.integration

ISO = "application/x-iso9660-image"
SECRET = "pw-never-kept-7f3a"
PAYLOAD = {"properties": {"HOSTNAME": "r1", "SSH_PASSWORD": SECRET},
           "nics": [{"ip": "10.0.0.5", "netmask": "255.255.255.0", "gateway": "10.0.0.1"}]}


@pytest.fixture(scope="module")
def nfvo(tmp_path_factory):
    with embedded_nfvo(tmp_path_factory.mktemp("nfvis-day0")) as node:
        yield node


@pytest.fixture(scope="module")
def onboarded(nfvo, tmp_path_factory):
    """Package ids by sample: the router and the NoCloud probe, onboarded onto the local VIM."""
    tmp = tmp_path_factory.mktemp("packages")
    ids = {}
    for name, files in {"router": renamed(samples.router(), "day0-router"), "nocloud": samples.nocloud()}.items():
        answer = post(nfvo, samples.write_tar(tmp / f"{name}.tar.gz", files))
        assert answer.status_code == 200, answer.text
        ids[name] = answer.json()["vnfPackageLocation"]
    return ids


def day0(api: Api, package_id: str, payload, **headers):
    return api.request("POST", f"/api/v1/vnf-packages/{package_id}/day0", json=payload, headers=headers)


def read_iso(data: bytes) -> tuple[str, dict[str, bytes]]:
    """The volume label and every file (by Rock Ridge path) of an ISO image."""
    iso = pycdlib.PyCdlib()
    iso.open_fp(io.BytesIO(data))
    try:
        files = {}
        for root, _dirs, names in iso.walk(rr_path="/"):
            for name in names:
                path = f"{root.rstrip('/')}/{name}"
                out = io.BytesIO()
                iso.get_file_from_iso_fp(out, rr_path=path)
                files[path] = out.getvalue()
        return iso.pvd.volume_identifier.decode().strip(), files
    finally:
        iso.close()


def test_the_files_are_rendered_as_json_and_not_kept(nfvo, onboarded):
    answer = day0(nfvo.api, onboarded["router"], PAYLOAD)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.json()
    assert body["profile"]["name"] == "small"
    [config] = body["files"]
    assert config["mountPoint"] == "iosxe_config.txt"
    assert "hostname r1" in config["content"] and SECRET in config["content"]
    assert "ip address 10.0.0.5 255.255.255.0" in config["content"]
    # another profile, chosen by name
    medium = day0(nfvo.api, onboarded["router"], {**PAYLOAD, "profile": "medium"})
    assert medium.status_code == 200 and medium.json()["profile"]["name"] == "medium", medium.text
    # nothing of the secret in the service's home (database, files) nor in its log
    for path in nfvo.home.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_the_files_come_as_a_config_drive_when_asked_for(nfvo, onboarded):
    files = day0(nfvo.api, onboarded["router"], PAYLOAD).json()["files"]
    answer = day0(nfvo.api, onboarded["router"], PAYLOAD, Accept=ISO)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == ISO and answer.headers["Cache-Control"] == "no-store"
    label, drive = read_iso(answer.content)
    assert label == "config-2"
    assert drive["/iosxe_config.txt"].decode() == files[0]["content"]
    assert drive["/openstack/content/0000"] == drive["/iosxe_config.txt"]
    meta = json.loads(drive["/openstack/latest/meta_data.json"])
    assert meta["files"] == [{"path": "/iosxe_config.txt", "content_path": "/content/0000"}]


def test_a_nocloud_package_gets_a_cidata_drive(nfvo, onboarded):
    payload = {"nics": [{"ip": "192.0.2.7", "netmask": "24"}]}
    answer = day0(nfvo.api, onboarded["nocloud"], payload, Accept=ISO)
    assert answer.status_code == 200, answer.text
    label, drive = read_iso(answer.content)
    assert label == "cidata"
    assert b"hostname: probe-1" in drive["/user-data"] and b"192.0.2.7/24" in drive["/user-data"]
    assert b"instance-id" in drive["/meta-data"]


def test_every_problem_of_the_payload_is_reported_at_its_pointer_and_line(nfvo, onboarded):
    body = ('{\n  "profile": "huge",\n  "properties": {\n    "SSH_PASSWORD": "' + SECRET + '\\nx",\n'
            '    "NOPE": "1"\n  },\n  "nics": [{"ip": "10.0.0.5", "netmask": "33"}]\n}\n')
    answer = nfvo.api.request("POST", f"/api/v1/vnf-packages/{onboarded['router']}/day0", data=body,
                              headers={"Content-Type": "application/json"})
    problem = assert_problem(answer, 422, "validation-failed")
    where = {e["pointer"]: (e.get("file"), e.get("line")) for e in problem["errors"]}
    assert where["/profile"] == ("request body", 2)
    assert where["/properties/SSH_PASSWORD"] == ("request body", 4)
    assert where["/properties/NOPE"] == ("request body", 5)
    assert where["/properties/HOSTNAME"] == ("request body", 3)  # missing: at its parent
    assert where["/nics/0/netmask"] == ("request body", 7)
    assert SECRET not in answer.text
    assert SECRET not in nfvo.server.log.read_text(errors="replace")


def test_what_cannot_be_rendered_is_a_clear_problem(nfvo, onboarded, tmp_path):
    tar = make_tar(tmp_path / "iperf-server.tar", example_files("iperf-server"))
    openbaton = nfvo.api.upload(tar)
    assert openbaton.status_code == 200, openbaton.text
    problem = assert_problem(day0(nfvo.api, openbaton.json()["vnfPackageLocation"], {}), 409, "no-day0-files")
    assert "Open Baton" in problem["detail"]
    assert_problem(day0(nfvo.api, str(uuid.uuid4()), {}), 404, "package-not-found")
    assert_problem(day0(nfvo.api, onboarded["router"], PAYLOAD, Accept="text/html"), 406, "not-acceptable")
    assert_problem(nfvo.api.request("POST", f"/api/v1/vnf-packages/{onboarded['router']}/day0", data="x=1",
                                    headers={"Content-Type": "text/plain"}), 400)
    assert_problem(day0(nfvo.api, onboarded["router"], ["not", "an", "object"]), 422, "validation-failed")


def test_another_projects_package_is_not_reachable(nfvo, onboarded):
    project = nfvo.api.post_json("/api/v1/projects", {"name": "day0-other"}).json()["name"]
    user = nfvo.api.post_json("/api/v1/users", {"username": "day0-other", "password": "day0-other-pw",
                                                "roles": [{"role": "ADMIN", "project": project}]})
    assert user.status_code == 201, user.text
    other = Api(nfvo.url, "day0-other", "day0-other-pw", project)
    assert_problem(day0(other, onboarded["router"], PAYLOAD), 404, "package-not-found")


def test_the_cli_renders_an_onboarded_package_by_id(nfvo, onboarded, tmp_path):
    env = {**nfvo.env, "NFVO_URL": nfvo.url, "NFVO_PASSWORD": "test-admin-pw"}
    common = [str(NFVO), "package", "day0", onboarded["router"], "--set", "HOSTNAME=r2", "--set",
              f"SSH_PASSWORD={SECRET}", "--nic", "10.0.0.5/24,10.0.0.1"]
    shown = subprocess.run(common, env=env, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "hostname r2" in json.loads(shown.stdout)["files"][0]["content"]

    drive = tmp_path / "day0.iso"
    written = subprocess.run([*common, "--iso", str(drive)], env=env, capture_output=True, text=True, timeout=120)
    assert written.returncode == 0, written.stderr
    assert b"hostname r2" in read_iso(drive.read_bytes())[1]["/iosxe_config.txt"]

    refused = subprocess.run([str(NFVO), "package", "day0", onboarded["router"], "--set", "SITE_ID=x"], env=env,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "/properties/HOSTNAME" in refused.stdout and "/properties/SITE_ID" in refused.stdout

    missing = subprocess.run([str(NFVO), "package", "day0", "no-such-file.tar.gz"], env=env, capture_output=True,
                             text=True, timeout=120)
    assert missing.returncode == 2 and "neither a package file or directory nor a package id" in missing.stderr


def test_the_docs_example_renders_through_the_service_as_shown(nfvo, tmp_path):
    """docs/nfvis.md: its example package onboarded, its payload answered as shown, and its broken
    payload, sent as written there, refused with the service's problem shown."""
    from tests.unit.domain.nfvis.test_nfvis_docs import blocks

    shown = blocks()
    files = {m["file"]: text for m, text in shown if "file" in m}
    package = samples.package(files["image_properties.xml"], {"iosxe_config.txt": files["iosxe_config.txt"]})
    answer = post(nfvo, samples.write_tar(tmp_path / "docs-example.tar.gz", package))
    assert answer.status_code == 200, answer.text
    package_id = answer.json()["vnfPackageLocation"]
    payloads = {m["day0"]: text for m, text in shown if "day0" in m}
    rendered = day0(nfvo.api, package_id, json.loads(payloads["payload"]))
    assert rendered.status_code == 200 and rendered.json() == json.loads(payloads["answer"]), rendered.text
    refused = nfvo.api.request("POST", f"/api/v1/vnf-packages/{package_id}/day0", data=payloads["broken"],
                               headers={"Content-Type": "application/json"})
    [expected] = [json.loads(text) for m, text in shown if m.get("service-problem") == "broken"]
    problem = assert_problem(refused, 422)
    assert {key: problem[key] for key in expected} == expected
