"""Onboarding through nfvo onto a real Keystone + Glance with the openstack driver (embedded nfvo)."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from importlib.metadata import entry_points

import pytest
import requests

from nfvo.domain.archive import ArchiveLimits, PackageArchive
from nfvo.domain.ova import DiskRecord, OvfRecord, build_ovf, ova_kind, read_ova, write_ova
from tests import sonata_builder
from tests.backends.openstack import OpenStackCloud, openstack_fixture
from tests.integration.harness import assert_problem, embedded_nfvo, example_files, make_tar
from tests.integration.servers import serve_http
from tests.integration.test_nfvis import post, renamed
from tests.integration.test_sonata import post as sonata_post
from tests.unit.domain.nfvis import samples

pytestmark = [pytest.mark.integration,
              pytest.mark.filterwarnings("ignore::PendingDeprecationWarning:openstack")]

openstack = openstack_fixture()
MASK = "**********"


@pytest.fixture(scope="module")
def nfvo(tmp_path_factory):
    if "openstack" not in {ep.name for ep in entry_points(group="nfvo.vim_drivers")}:
        pytest.fail("the openstack VIM driver is not installed in this venv: run "
                    "`.venv/bin/pip install -e drivers/openstack`", pytrace=False)
    # Keystone and Glance listen on 127.0.0.1: the operator's NFVO_VIM_ALLOW admits them.
    with embedded_nfvo(tmp_path_factory.mktemp("openstack-onboarding"), NFVO_VIM_ALLOW="127.0.0.1") as node:
        yield node


class Glance:
    """Admin requests straight to Glance, to check what nfvo did there."""

    def __init__(self, cloud: OpenStackCloud):
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": cloud.username, "domain": {"name": "Default"}, "password": cloud.password}}},
            "scope": {"project": {"name": cloud.project, "domain": {"name": "Default"}}}}}
        answer = requests.post(f"{cloud.auth_url}/auth/tokens", json=body, timeout=30)
        answer.raise_for_status()
        self.url = f"{cloud.glance_url}/v2/images"
        self.http = requests.Session()
        self.http.headers.update({"X-Auth-Token": answer.headers["X-Subject-Token"], "Accept": "application/json"})

    def named(self, name: str) -> list[dict]:
        return self.http.get(self.url, params={"name": name}, timeout=30).json()["images"]

    def get(self, image_id: str) -> requests.Response:
        return self.http.get(f"{self.url}/{image_id}", timeout=30)

    def create(self, name: str, data: bytes) -> str:
        image_id = self.http.post(self.url, json={"name": name, "disk_format": "raw", "container_format": "bare"},
                                  timeout=30).json()["id"]
        put = self.http.put(f"{self.url}/{image_id}/file", data=data, timeout=30,
                            headers={"Content-Type": "application/octet-stream"})
        assert put.status_code == 204, put.text
        return image_id

    def delete(self, image_id: str) -> None:
        self.http.delete(f"{self.url}/{image_id}", timeout=30)


@pytest.fixture(scope="module")
def glance(openstack):
    return Glance(openstack)


@pytest.fixture(scope="module")
def run():
    """A suffix making this module's image and package names unique on the shared Glance."""
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def vim(nfvo, openstack, glance, run):
    """The VIM registered through the API; a pre-existing Glance image shows up in the answer."""
    seeded = glance.create(f"seeded-{run}", b"seeded image bytes")
    body = {"name": f"lab-os-{run}", "type": "openstack", "authUrl": openstack.auth_url,
            "username": openstack.username, "password": openstack.password, "tenant": openstack.project,
            "properties": {"regionName": openstack.region, "userDomain": "Default", "projectDomain": "Default",
                           "interface": "public"}}
    answer = nfvo.api.post_json("/api/v1/datacenters", body)
    assert answer.status_code == 201, answer.text
    registered = answer.json()
    yield registered, seeded
    glance.delete(seeded)


def package(name: str, image: dict, files: dict[str, bytes] | None = None, image_config: str = "") -> dict:
    """An Open Baton package (iperf-server's scripts and VNFD) for vim_types [openstack]."""
    example = example_files("iperf-server")
    block = "\n".join(
        f"  {key}:" + "".join(f"\n    - {json.dumps(v)}" for v in value) if isinstance(value, list)
        else f"  {key}: {json.dumps(value)}" for key, value in image.items())
    metadata = (f"name: {name}\nprovider: FOKUS\nnfvo_version: 4.0.0\nvim_types:\n  - openstack\n"
                f"image:\n{block}\n{image_config}")
    vnfd = {**json.loads(example["vnfd.json"]), "name": name}
    return {"Metadata.yaml": metadata, "vnfd.json": vnfd, "scripts/install.sh": example["scripts/install.sh"],
            "scripts/install-srv.sh": example["scripts/install-srv.sh"], **(files or {})}


def image_config(name: str) -> str:
    return (f"image-config:\n  name: {name}\n  diskFormat: RAW\n  containerFormat: BARE\n  minCPU: 1\n"
            f"  minDisk: 1\n  minRam: 512\n  isPublic: false\n")


def test_registration_masks_the_password_and_lists_glance_images(vim, openstack):
    registered, seeded = vim
    assert registered["type"] == "openstack" and registered["authUrl"] == openstack.auth_url
    assert registered["password"] == MASK and openstack.password not in json.dumps(registered)
    assert registered["properties"]["regionName"] == openstack.region
    seen = {i["id"]: i for i in registered["images"]}
    assert seen[seeded]["name"].startswith("seeded-") and seen[seeded]["status"] == "active"
    assert registered["flavours"] == [] and registered["networks"] == []  # no Nova, no Neutron here


def test_upload_check_reuse_refusal_and_delete(nfvo, vim, glance, run, tmp_path):
    registered, _ = vim
    image_name = f"vnf-image-{run}"
    data = os.urandom(3 * 1024 * 1024 + 5)

    # 1. upload: true, the image is in the package -> streamed to Glance, verified, vm_image filled
    first = make_tar(tmp_path / "first.tar", package(
        f"os-first-{run}", {"upload": "true", "file": "images/vnf.raw"}, {"images/vnf.raw": data},
        image_config(image_name)))
    answer = nfvo.api.upload(first)
    assert answer.status_code == 200, answer.text
    vnfd = answer.json()
    assert vnfd["vdu"][0]["vm_image"] == [image_name]
    first_id = vnfd["vnfPackageLocation"]
    [row] = nfvo.api.get(f"/api/v1/vnf-packages/{first_id}").json()["images"]
    assert row["uploaded"] is True and row["vimId"] == registered["id"]
    assert row["sha256"] == hashlib.sha256(data).hexdigest()
    [on_glance] = glance.named(image_name)
    assert on_glance["id"] == row["imageId"] and on_glance["status"] == "active"
    assert on_glance["size"] == len(data) and on_glance["disk_format"] == "raw" and on_glance["min_ram"] == 512
    assert on_glance["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert on_glance["checksum"] == hashlib.md5(data).hexdigest()
    assert on_glance["nfvo_sha256"] == hashlib.sha256(data).hexdigest()
    listed = nfvo.api.get(f"/api/v1/datacenters/{registered['id']}/images").json()
    assert [i["sha256"] for i in listed if i["id"] == row["imageId"]] == [hashlib.sha256(data).hexdigest()]

    # 2. upload: check with the name -> the image is reused, no second copy
    second = make_tar(tmp_path / "second.tar", package(
        f"os-second-{run}", {"upload": "check", "names": [image_name], "file": "images/vnf.raw"},
        {"images/vnf.raw": data}, image_config(image_name)))
    answer = nfvo.api.upload(second)
    assert answer.status_code == 200, answer.text
    assert answer.json()["vdu"][0]["vm_image"] == [image_name]
    second_id = answer.json()["vnfPackageLocation"]
    [row2] = nfvo.api.get(f"/api/v1/vnf-packages/{second_id}").json()["images"]
    assert row2["imageId"] == row["imageId"] and row2["decision"].startswith("found by name"), row2
    assert [i["id"] for i in glance.named(image_name)] == [row["imageId"]]

    # 3. upload: false with a name Glance does not have -> 422 naming the VIM, nothing created
    missing = f"no-such-image-{run}"
    third = make_tar(tmp_path / "third.tar", package(f"os-third-{run}", {"upload": "false", "names": [missing]}))
    body = assert_problem(nfvo.api.upload(third), 422)
    assert registered["name"] in json.dumps(body) and missing in json.dumps(body)
    assert glance.named(missing) == []

    # 4. deleting the package that only reuses the image keeps it; deleting its owner removes it
    assert nfvo.api.delete(f"/api/v1/vnf-packages/{second_id}").status_code == 204
    assert glance.get(row["imageId"]).json()["status"] == "active"
    assert nfvo.api.delete(f"/api/v1/vnf-packages/{first_id}").status_code == 204
    assert glance.get(row["imageId"]).status_code == 404
    assert glance.named(image_name) == []


def test_image_link_is_imported_by_glance_itself(nfvo, vim, glance, run, tmp_path):
    data = os.urandom(2 * 1024 * 1024)
    web = tmp_path / "web"
    web.mkdir()
    (web / "linked.raw").write_bytes(data)
    image_name = f"linked-image-{run}"
    log: list[str] = []
    with serve_http(web, log=log) as base:
        tar = make_tar(tmp_path / "linked.tar", package(
            f"os-linked-{run}", {"upload": "true", "link": f"{base}/linked.raw"}, image_config=image_config(image_name)))
        answer = nfvo.api.upload(tar)
    assert answer.status_code == 200, answer.text
    package_id = answer.json()["vnfPackageLocation"]
    [row] = nfvo.api.get(f"/api/v1/vnf-packages/{package_id}").json()["images"]
    assert row["sha256"] == hashlib.sha256(data).hexdigest() and row["uploaded"] is True
    assert log == ["/linked.raw"]  # fetched once, by Glance (web-download), not by nfvo
    [on_glance] = glance.named(image_name)
    assert on_glance["status"] == "active" and on_glance["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert nfvo.api.delete(f"/api/v1/vnf-packages/{package_id}").status_code == 204
    assert glance.named(image_name) == []


def test_an_nfvis_package_onboards_onto_glance_and_its_profiles_are_reported(nfvo, vim, glance, run, tmp_path):
    """The root disk streamed to Glance and verified against package.mf; Glance (no Nova here) cannot
    hold flavours, so the answer warns with the flavours to create; the local VIM got them."""
    registered, _ = vim
    files = renamed(samples.router(), f"nfvis-os-{run}")
    files["router.qcow2"] = samples.qcow2(os.urandom(64 * 1024))  # bytes no other test has
    types = {"router.qcow2": "root_image", "image_properties.xml": "image_properties",
             "iosxe_config.txt": "bootstrap_file_1"}
    files["package.mf"] = samples.manifest({k: v for k, v in files.items() if k != "package.mf"}, types)
    answer = post(nfvo, samples.write_tar(tmp_path / "nfvis.tar.gz", files))
    assert answer.status_code == 200, answer.text
    vnfd = answer.json()
    image_name = f"nfvis-os-{run}-17.3.1"
    [on_glance] = glance.named(image_name)
    assert on_glance["disk_format"] == "qcow2" and on_glance["status"] == "active"
    assert on_glance["nfvo_sha256"] == hashlib.sha256(files["router.qcow2"]).hexdigest()
    [warning] = [w for w in vnfd["warnings"] if "cannot create flavours" in w["message"]]
    assert registered["name"] in warning["message"] and f"nfvis-os-{run}-17.3.1-small" in warning["message"]
    assert (warning["file"], warning["severity"]) == ("image_properties.xml", "warning")
    assert nfvo.api.delete(f"/api/v1/vnf-packages/{vnfd['vnfPackageLocation']}").status_code == 204
    assert glance.named(image_name) == []


def test_a_sonata_package_onboards_onto_glance(nfvo, vim, glance, run, tmp_path):
    """A .son package's VM image streams to Glance, verified against its MANIFEST.MF md5 on the way."""
    image = os.urandom(64 * 1024)  # bytes no other test has
    files = {**sonata_builder.renamed(sonata_builder.example_files(), f"son-os-{run}"), "images/iperf-vm.raw": image}
    answer = sonata_post(nfvo, sonata_builder.son(tmp_path / "os.son", files, name=f"son-os-{run}"))
    assert answer.status_code == 200, answer.text
    image_name = f"son-os-{run}-0.1-vdu01"
    [on_glance] = glance.named(image_name)
    assert (on_glance["disk_format"], on_glance["container_format"], on_glance["status"]) == ("raw", "bare", "active")
    assert on_glance["nfvo_sha256"] == hashlib.sha256(image).hexdigest()
    assert nfvo.api.delete(f"/api/v1/vnf-packages/{answer.json()['vnfPackageLocation']}").status_code == 204
    assert glance.named(image_name) == []


def test_a_catalogue_ova_is_distributed_to_glance_and_exported_again(nfvo, vim, glance, run, tmp_path):
    """An OVA made here is imported, put on Glance (its digest checked there), exported as an OVA
    again with the same disk; a package naming it onboards without carrying it."""
    registered, _ = vim
    disk = os.urandom(96 * 1024)  # a raw disk: Glance checks that a declared vmdk or qcow2 is one
    (tmp_path / "disk1.raw").write_bytes(disk)
    record = OvfRecord(name=f"gold-os-{run}", os_distro="ubuntu", os_version="22.04", architecture="x86_64",
                       cpus=1, memory_mb=512, disks=(DiskRecord("disk1.raw", len(disk), 2**30, "raw"),))
    ova = tmp_path / "gold.ova"
    with open(ova, "wb") as out:
        write_ova(out, "gold.ovf", build_ovf(record), [("disk1.raw", len(disk), lambda: open(tmp_path / "disk1.raw",
                                                                                            "rb"))],
                  {"disk1.raw": hashlib.sha256(disk).hexdigest()})
    with open(ova, "rb") as f:
        added = nfvo.api.request("POST", "/api/v1/images", files={"file": f})
    assert added.status_code == 201, added.text
    image = added.json()
    job = nfvo.api.wait_job(nfvo.api.post_json(f"/api/v1/images/{image['id']}/distribute",
                                               {"vimInstances": [registered["name"]]}).json()["id"])
    assert job["state"] == "succeeded", job["problem"]
    [on_glance] = glance.named(f"gold-os-{run}-1.0")
    assert on_glance["disk_format"] == "raw" and on_glance["min_disk"] == 1 and on_glance["nfvo_sha256"] == hashlib.sha256(disk).hexdigest()
    exported = nfvo.api.get(f"/api/v1/images/{image['id']}/export")
    assert exported.status_code == 200
    (tmp_path / "back.ova").write_bytes(exported.content)
    with PackageArchive.open(tmp_path / "back.ova", ArchiveLimits(), display_name="back.ova",
                             kind_of=ova_kind) as archive:
        back = read_ova(archive)
        with back.open_file(archive, back.disks[0].member) as stream:
            assert stream.read() == disk
    files = package(f"gold-user-{run}", {"upload": "false", "names": [f"gold-os-{run}"]})
    answer = nfvo.api.upload(make_tar(tmp_path / "gold-user.tar", files))
    assert answer.status_code == 200, answer.text
    [row] = nfvo.api.get(f"/api/v1/vnf-packages/{answer.json()['vnfPackageLocation']}").json()["images"]
    assert row["imageId"] == on_glance["id"] and row["source"] == f"catalogue:{image['id']}"
    assert nfvo.api.delete(f"/api/v1/vnf-packages/{answer.json()['vnfPackageLocation']}").status_code == 204
    assert nfvo.api.delete(f"/api/v1/images/{image['id']}").status_code == 204
    assert glance.named(f"gold-os-{run}-1.0") == []
