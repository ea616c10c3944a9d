"""Cisco NFVIS packages (our own look-alikes) onboarded through both APIs onto the local VIM, with
their images verified against package.mf, hostile ones refused, and day-0 files rendered."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import subprocess

import alembic.command
import pycdlib
import pytest
from requests_toolbelt import MultipartEncoder

from nfvo.db.migrate import alembic_config
from tests.integration.harness import NFVO, assert_problem, embedded_nfvo
from tests.integration.test_vnfpkgm import BASE, create, vim_images, wait_onboarding
from tests.unit.domain.nfvis import samples

pytestmark = pytest.mark.integration

XXE = """<?xml version="1.0"?>
<!DOCTYPE image_properties [<!ENTITY leak SYSTEM "file:///etc/passwd">]>
<image_properties><name>&leak;</name></image_properties>
"""


@pytest.fixture(scope="module")
def nfvo(tmp_path_factory):
    with embedded_nfvo(tmp_path_factory.mktemp("nfvis")) as node:
        yield node


def post(nfvo, path):
    with open(path, "rb") as f:
        body = MultipartEncoder({"file": (path.name, f, "application/gzip")})
        return nfvo.api.request("POST", "/api/v1/vnf-packages", data=body, headers={"Content-Type": body.content_type})


def renamed(files: dict[str, bytes], name: str) -> dict[str, bytes]:
    """The sample with another VNF name (a package is onboarded once per project)."""
    properties = files["image_properties.xml"].decode().replace("<name>edge-router</name>", f"<name>{name}</name>")
    return samples.package(properties, samples.texts(files, "iosxe_config.txt"))


def test_a_router_package_onboards_through_the_open_baton_api(nfvo, tmp_path):
    files = samples.router()
    answer = post(nfvo, samples.write_tar(tmp_path / "edge-router.tar.gz", files))
    assert answer.status_code == 200, answer.text
    vnfd = answer.json()
    assert (vnfd["name"], vnfd["vendor"], vnfd["version"]) == ("edge-router", "Example Networks", "17.3.1")
    assert vnfd["vdu"][0]["vm_image"] == ["edge-router-17.3.1"]
    assert [f["flavour_key"] for f in vnfd["deployment_flavour"]] == ["edge-router-17.3.1-small",
                                                                      "edge-router-17.3.1-medium"]
    # the local VIM can create flavours: one per profile, as the VNFD names them
    local = next(v for v in nfvo.api.get("/api/v1/datacenters").json() if v["name"] == "local")
    flavours = nfvo.api.get(f"/api/v1/datacenters/{local['id']}/refresh").json()["flavours"]
    assert {"id": "edge-router-17.3.1-small", "flavour_key": "edge-router-17.3.1-small", "vcpus": 2, "ram": 4096,
            "disk": 8} in flavours
    assert "edge-router-17.3.1-medium" in {f["flavour_key"] for f in flavours}
    assert "warnings" not in vnfd
    [image] = [i for i in vim_images(nfvo) if i["name"] == "edge-router-17.3.1"]
    assert image["sha256"] == hashlib.sha256(files["router.qcow2"]).hexdigest()

    package = nfvo.api.get(f"/api/v1/vnf-packages/{vnfd['vnfPackageLocation']}").json()
    assert package["filename"] == "edge-router.tar.gz"
    # an NSD references it by vendor/name/version
    nsd = {"name": "branch", "vendor": "tests", "version": "1", "vld": [{"name": "lan"}],
           "vnfd": [{"id": "Example Networks/edge-router/17.3.1"}]}
    created = nfvo.api.post_json("/api/v1/ns-descriptors/", nsd)
    assert created.status_code == 201, created.text
    assert created.json()["vnfd"][0]["id"] == vnfd["id"]


def test_a_package_with_an_ephemeral_disk_onboards_through_sol005(nfvo, tmp_path):
    # a router whose root disk has the same bytes as the cache's, onboarded first
    assert post(nfvo, samples.write_tar(tmp_path / "r.tar.gz", renamed(samples.router(), "twin"))).ok
    package = create(nfvo)
    path = samples.write_tar(tmp_path / "cache.tar.gz", samples.cache())
    with open(path, "rb") as f:
        put = nfvo.api.request("PUT", f"{BASE}/{package['id']}/package_content", data=f,
                               headers={"Content-Type": "application/octet-stream"})
    assert put.status_code == 202, put.text
    info = wait_onboarding(nfvo, package["id"])
    assert info["onboardingState"] == "ONBOARDED" and info["operationalState"] == "ENABLED", info
    images = {i["request"]: i for i in nfvo.api.get(f"/api/v1/vnf-packages/{package['id']}").json()["images"]}
    assert images["ephemeral_disk1"]["name"] == "wan-cache-disk1-6.4.5" and images["ephemeral_disk1"]["uploaded"]
    # the samples share their root disk's bytes: the image already on the VIM is used, not uploaded again
    assert images["root_image"]["decision"].startswith("same content as image"), images
    assert "wan-cache-disk1-6.4.5" in {i["name"] for i in vim_images(nfvo)}

def test_an_image_that_differs_from_package_mf_is_refused_and_leaves_no_image(nfvo, tmp_path):
    files = renamed(samples.router(), "changed-router")
    files["router.qcow2"] = files["router.qcow2"][::-1]  # package.mf lists the original's digest
    before = {i["id"] for i in vim_images(nfvo)}
    problem = assert_problem(post(nfvo, samples.write_tar(tmp_path / "changed.tar.gz", files)), 422)
    assert any(e.get("file") == "package.mf" and e.get("line") for e in problem["errors"]), problem
    assert {i["id"] for i in vim_images(nfvo)} == before


@pytest.mark.parametrize("name, files", [
    ("xxe", {"image_properties.xml": XXE.encode()}),
    ("traversal", {"../escape.txt": b"x"}),
])
def test_hostile_packages_are_refused(nfvo, tmp_path, name, files):
    package = {**samples.router(), **files}
    answer = post(nfvo, samples.write_tar(tmp_path / f"{name}.tar.gz", package))
    assert 400 <= answer.status_code < 500, answer.text
    problem = answer.json()
    assert "root:" not in json.dumps(problem)  # nothing of /etc/passwd
    if name == "xxe":
        assert any(e.get("file") == "image_properties.xml" for e in problem["errors"]), problem


def test_day0_offline_renders_files_and_a_config_drive(tmp_path):
    path = samples.write_tar(tmp_path / "router.tar.gz", samples.router())
    common = [str(NFVO), "package", "day0", str(path), "--set", "HOSTNAME=r1", "--set", "SSH_PASSWORD=pw1",
              "--nic", "10.0.0.5/255.255.255.0,10.0.0.1"]
    shown = subprocess.run(common, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    answer = json.loads(shown.stdout)
    assert answer["profile"]["name"] == "small"
    [config] = answer["files"]
    assert "hostname r1" in config["content"] and "ip address 10.0.0.5 255.255.255.0" in config["content"]

    drive = tmp_path / "day0.iso"
    written = subprocess.run([*common, "--iso", str(drive)], capture_output=True, text=True, timeout=120)
    assert written.returncode == 0, written.stderr
    iso = pycdlib.PyCdlib()
    iso.open(str(drive))
    try:
        assert iso.pvd.volume_identifier.decode().strip() == "config-2"
        data = io.BytesIO()
        iso.get_file_from_iso_fp(data, rr_path="/iosxe_config.txt")
        assert data.getvalue().decode() == config["content"]
    finally:
        iso.close()

    refused = subprocess.run([str(NFVO), "package", "day0", str(path), "--set", "SITE_ID=x"],
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1
    assert "/properties/HOSTNAME" in refused.stdout and "/properties/SITE_ID" in refused.stdout


def test_each_format_is_recorded_and_an_older_database_learns_it(tmp_path):
    """The package row says its format (the API shows it, and SOL005 serves the content under the
    format's own file); rows written before the column existed get it from their metadata."""
    with embedded_nfvo(tmp_path) as node:
        path = samples.write_tar(tmp_path / "router.tar.gz", samples.router())
        vnfd = post(node, path).json()
        package_id = vnfd["vnfPackageLocation"]
        assert node.api.get(f"/api/v1/vnf-packages/{package_id}").json()["format"] == "nfvis"
        content = node.api.get(f"{BASE}/{package_id}/package_content")
        assert content.status_code == 200 and content.content == path.read_bytes()
        assert node.api.get(f"{BASE}/{package_id}").json()["packageFormat"] == "nfvis"
    database = f"sqlite:///{node.home / 'nfvo.sqlite'}"
    alembic.command.downgrade(alembic_config(database), "0008")  # as the database was before the column
    with sqlite3.connect(node.home / "nfvo.sqlite") as db:
        assert "format" not in {row[1] for row in db.execute("PRAGMA table_info(vnf_packages)")}
    upgraded = node.run("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    node.start_server()
    try:
        assert node.api.get(f"/api/v1/vnf-packages/{package_id}").json()["format"] == "nfvis"
        assert node.api.get(f"{BASE}/{package_id}/package_content").content == path.read_bytes()
    finally:
        node.stop()
