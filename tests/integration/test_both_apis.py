"""Either API onboards either format (told apart by content), and findings name the file as the client did."""

from __future__ import annotations

import json
import uuid

import pytest
from requests_toolbelt import MultipartEncoder

from tests.csar_builder import build, with_manifest
from tests.integration.harness import assert_problem, embedded_nfvo, example_files, make_tar
from tests.integration.test_vnfpkgm import BASE, create, csar_files, wait_onboarding

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def nfvo(tmp_path_factory):
    with embedded_nfvo(tmp_path_factory.mktemp("both-apis")) as node:
        yield node


def post_file(nfvo, path):
    with open(path, "rb") as f:
        body = MultipartEncoder({"file": (path.name, f, "application/octet-stream")})
        return nfvo.api.request("POST", "/api/v1/vnf-packages", data=body, headers={"Content-Type": body.content_type})


def put_file(nfvo, package_id, path, filename: str | None = None):
    headers = {"Content-Type": "application/octet-stream"}
    if filename:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    with open(path, "rb") as f:
        return nfvo.api.request("PUT", f"{BASE}/{package_id}/package_content", data=f, headers=headers)


def openbaton_tar(tmp_path, name: str, **replace: bytes):
    files = example_files("iperf-server")
    files["Metadata.yaml"] = files["Metadata.yaml"].replace(b"name: iperf-server", f"name: {name}".encode())
    files["vnfd.json"] = json.dumps({**json.loads(files["vnfd.json"]), "name": name}).encode()
    return make_tar(tmp_path / f"{name}.tar", {**files, **replace})


def test_a_csar_posted_to_the_open_baton_api_is_onboarded_and_seen_by_both(nfvo, tmp_path):
    files = csar_files(image=b"\x02" * 1000)  # declared as 1 KiB below: within its unit's rounding
    server = files["Definitions/iperf_server.yaml"].replace(b"size: 1000 B", b"size: 1 KiB")
    files = with_manifest({**files, "Definitions/iperf_server.yaml": server})
    answer = post_file(nfvo, build(tmp_path / "my-csar.zip", files))
    assert answer.status_code == 200, answer.text
    vnfd = answer.json()
    assert vnfd["name"] == "iperf-server" and vnfd["vendor"] == "FOKUS"
    info = nfvo.api.get(f"{BASE}/{vnfd['vnfPackageLocation']}").json()
    assert info["onboardingState"] == "ONBOARDED" and info["packageFormat"] != "openbaton", info
    [image] = info["softwareImages"]  # its real size, not the sw_image_data.size it declares
    assert image["size"] == 1000
    content = nfvo.api.get(f"{BASE}/{info['id']}/package_content")
    assert content.status_code == 200 and content.content[:4] == b"PK\x03\x04"
    assert nfvo.api.get(f"/api/v1/vnf-packages/{info['id']}").json()["filename"] == "my-csar.zip"


def test_an_open_baton_tar_put_to_the_sol005_api_is_onboarded_and_seen_by_both(nfvo, tmp_path):
    name = f"iperf-{uuid.uuid4().hex[:6]}"
    package = create(nfvo)
    assert put_file(nfvo, package["id"], openbaton_tar(tmp_path, name), f"{name}.tar").status_code == 202
    info = wait_onboarding(nfvo, package["id"])
    assert info["onboardingState"] == "ONBOARDED", info
    assert (info["packageFormat"], info["vnfProductName"]) == ("openbaton", name)
    listed = {p["id"]: p for p in nfvo.api.get("/api/v1/vnf-packages").json()}
    assert listed[package["id"]]["name"] == name and listed[package["id"]]["filename"] == f"{name}.tar"
    content = nfvo.api.get(f"{BASE}/{package['id']}/package_content")
    assert content.status_code == 200 and content.headers["Content-Type"].startswith("application/x-tar")


def test_findings_name_the_package_as_the_client_named_it(nfvo, tmp_path):
    broken = make_tar(tmp_path / "broken.tar", {"Metadata.yaml": b"name: x\n"})
    package = create(nfvo)
    put_file(nfvo, package["id"], broken, "vendor-package.tar")
    failure = wait_onboarding(nfvo, package["id"])["onboardingFailureDetails"]
    assert failure["detail"].endswith("in package vendor-package.tar"), failure

    unnamed = create(nfvo)
    put_file(nfvo, unnamed["id"], broken)
    failure = wait_onboarding(nfvo, unnamed["id"])["onboardingFailureDetails"]
    assert failure["detail"].endswith(f"in package {unnamed['id']}"), failure

    files = csar_files()
    files["Files/images/iperf-server.img"] = b"y" * 1024  # no longer the bytes the manifest hashed
    problem = assert_problem(post_file(nfvo, build(tmp_path / "their-name.zip", files)), 422, "validation-failed")
    assert problem["detail"].endswith("in package their-name.zip")


def test_a_csar_image_that_is_nowhere_is_reported_in_csar_words(nfvo, tmp_path):
    files = csar_files()
    server = files["Definitions/iperf_server.yaml"].decode()
    server = server.replace("      artifacts:\n        sw_image:\n          type: tosca.artifacts.nfv.SwImage\n"
                            "          file: ../Files/images/iperf-server.img\n", "")
    server = server.replace("name: iperf_server_image", "name: nowhere_image")  # on no VIM either
    del files["Files/images/iperf-server.img"]
    files = with_manifest({**files, "Definitions/iperf_server.yaml": server.encode()})
    problem = assert_problem(post_file(nfvo, build(tmp_path / "no-image.zip", files)), 422, "image-resolution-failed")
    [issue] = problem["errors"]
    assert issue["file"] == "Definitions/iperf_server.yaml" and issue["pointer"].endswith("/sw_image_data"), issue
    assert "upload" not in issue["message"] and "neither a file nor a URL" in issue["message"], issue
