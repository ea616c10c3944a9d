"""The gold-image catalogue against a running nfvo: images added by upload and by link, listed,
filtered, changed, versioned, downloaded by range, put on the local VIM by a job (once per
content), deleted with what nfvo put on VIMs."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess

import pytest
import yaml
from requests_toolbelt import MultipartEncoder

from nfvo.domain.archive import ArchiveLimits, PackageArchive
from nfvo.domain.ova import ova_kind, read_ova
from tests import sonata_builder
from tests.integration.harness import NFVO, assert_problem, embedded_nfvo, example_files, make_tar
from tests.integration.servers import serve_http
from tests.integration.test_vnfpkgm import vim_images
from tests.unit.domain import ova_samples

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def nfvo(tmp_path_factory):
    with embedded_nfvo(tmp_path_factory.mktemp("catalogue")) as node:
        yield node


def add_image(api, path, **fields):
    with open(path, "rb") as f:
        body = MultipartEncoder({"file": (path.name, f, "application/octet-stream"),
                                 **{k: str(v) for k, v in fields.items()}})
        return api.request("POST", "/api/v1/images", data=body, headers={"Content-Type": body.content_type})


def disk(tmp_path, name: str, size: int = 256 * 1024) -> tuple:
    data = os.urandom(size)
    path = tmp_path / name
    path.write_bytes(data)
    return path, data


def test_an_uploaded_image_is_recorded_listed_filtered_and_served_by_range(nfvo, tmp_path):
    path, data = disk(tmp_path, "ubuntu.qcow2")
    answer = add_image(nfvo.api, path, name="ubuntu", version="22.04", diskFormat="qcow2", osDistro="ubuntu",
                       osVersion="22.04", architecture="x86_64", tags="base,lts", minRam=512, minDisk=2)
    assert answer.status_code == 201, answer.text
    image = answer.json()
    assert answer.headers["Location"].endswith(f"/api/v1/images/{image['id']}")
    assert (image["sha256"], image["size"]) == (hashlib.sha256(data).hexdigest(), len(data))
    assert (image["osDistro"], image["architecture"], image["tags"], image["minRam"]) == ("ubuntu", "x86_64",
                                                                                         ["base", "lts"], 512)
    assert image["source"] == "upload:ubuntu.qcow2" and image["placements"] == [] and image["usedBy"] == []
    for query, found in (({"os": "ubuntu"}, True), ({"tag": "lts"}, True), ({"architecture": "ppc64"}, False),
                         ({"name": "ubuntu", "version": "22.04"}, True)):
        listed = nfvo.api.get("/api/v1/images", params=query).json()
        assert (image["id"] in {i["id"] for i in listed}) is found, query
    whole = nfvo.api.get(f"/api/v1/images/{image['id']}/content")
    assert whole.status_code == 200 and whole.content == data
    part = nfvo.api.get(f"/api/v1/images/{image['id']}/content", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    assert_problem(nfvo.api.get(f"/api/v1/images/{image['id']}/content",
                                headers={"Range": f"bytes={len(data)}-"}), 416)


def test_changes_versions_and_duplicates(nfvo, tmp_path):
    first = add_image(nfvo.api, disk(tmp_path, "a.img")[0], name="gold", version="1", diskFormat="raw").json()
    changed = nfvo.api.request("PATCH", f"/api/v1/images/{first['id']}",
                               json={"description": "the first gold image", "tags": ["gold"]})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["description"], changed.json()["tags"]) == ("the first gold image", ["gold"])
    problem = assert_problem(nfvo.api.request("PATCH", f"/api/v1/images/{first['id']}", json={"minRam": -1}), 422)
    assert problem["errors"][0]["pointer"] == "/minRam"
    duplicate = add_image(nfvo.api, disk(tmp_path, "b.img")[0], name="gold", version="1")
    assert assert_problem(duplicate, 409)["type"].endswith("/duplicate-image")
    second = add_image(nfvo.api, disk(tmp_path, "c.img")[0], name="gold", version="2").json()
    assert second["previousId"] == first["id"]
    assert [v["version"] for v in second["versions"]] == ["2", "1"]
    assert_problem(add_image(nfvo.api, disk(tmp_path, "d.img")[0], version="3"), 422)  # no name
    # what a GUEST-free admin may not do either: make it public is a system administrator's (admin is one here)
    public = nfvo.api.request("PATCH", f"/api/v1/images/{second['id']}", json={"public": True})
    assert public.status_code == 200 and public.json()["public"] is True


def test_an_image_by_link_is_downloaded_and_hashed(nfvo, tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    path, data = disk(served, "linked.raw")
    with serve_http(served) as url:
        answer = nfvo.api.post_json("/api/v1/images", {"link": f"{url}/linked.raw", "name": "linked",
                                                       "diskFormat": "raw"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["sha256"] == hashlib.sha256(data).hexdigest()
    assert answer.json()["source"] == f"{url}/linked.raw" and answer.json()["version"] == "1.0"
    problem = assert_problem(nfvo.api.post_json("/api/v1/images", {"name": "nolink"}), 422)
    assert {e["pointer"] for e in problem["errors"]} == {"/link"}


def test_distribution_puts_the_image_on_the_vim_once_and_delete_removes_it(nfvo, tmp_path):
    path, data = disk(tmp_path, "dist.img")
    image = add_image(nfvo.api, path, name="dist", version="1", diskFormat="raw").json()
    answer = nfvo.api.post_json(f"/api/v1/images/{image['id']}/distribute", {"vimInstances": ["local"]})
    assert answer.status_code == 202, answer.text
    job = nfvo.api.wait_job(answer.json()["id"])
    assert job["state"] == "succeeded", job
    assert (job["kind"], job["imageId"]) == ("distribute-image", image["id"])
    [placement] = nfvo.api.get(f"/api/v1/images/{image['id']}").json()["placements"]
    assert placement["uploaded"] and placement["name"] == "dist-1", placement
    [on_vim] = [i for i in vim_images(nfvo) if i["id"] == placement["imageId"]]
    assert on_vim["sha256"] == hashlib.sha256(data).hexdigest()
    again = nfvo.api.wait_job(nfvo.api.post_json(f"/api/v1/images/{image['id']}/distribute", {}).json()["id"])
    assert again["state"] == "succeeded", again
    [placement] = nfvo.api.get(f"/api/v1/images/{image['id']}").json()["placements"]
    assert placement["decision"].startswith("same content as image"), placement
    assert len([i for i in vim_images(nfvo) if i.get("sha256") == on_vim["sha256"]]) == 1
    unknown = assert_problem(nfvo.api.post_json(f"/api/v1/images/{image['id']}/distribute",
                                                {"vimInstances": ["nowhere"]}), 404)
    assert unknown["errors"][0]["pointer"] == "/vimInstances/0"
    assert nfvo.api.delete(f"/api/v1/images/{image['id']}").status_code == 204
    assert placement["imageId"] not in {i["id"] for i in vim_images(nfvo)}
    assert_problem(nfvo.api.get(f"/api/v1/images/{image['id']}"), 404)


def test_the_cli_adds_lists_shows_distributes_and_exports(nfvo, tmp_path):
    env = {**nfvo.env, "NFVO_URL": nfvo.url, "NFVO_PASSWORD": "test-admin-pw"}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(NFVO), "image", *args], env=env, capture_output=True, text=True, timeout=120)

    path, data = disk(tmp_path, "cli.raw")
    added = cli("add", str(path), "--name", "cli-gold", "--version", "7", "--disk-format", "raw", "--os", "debian",
                "--tag", "a", "--tag", "b")
    assert added.returncode == 0, added.stderr
    image_id = added.stdout.split()[1]
    listed = cli("list", "--os", "debian", "--json")
    assert listed.returncode == 0 and [i["id"] for i in json.loads(listed.stdout)] == [image_id]
    shown = cli("show", image_id)
    assert "cli-gold 7" in shown.stdout and "tags: a, b" in shown.stdout and "versions: 7" in shown.stdout
    placed = cli("distribute", image_id, "--vim", "local")
    assert placed.returncode == 0 and "cli-gold-7" in placed.stdout, placed.stderr
    out = tmp_path / "back.raw"
    exported = cli("export", image_id, "--format", "raw", "-o", str(out))
    assert exported.returncode == 0 and out.read_bytes() == data, exported.stderr
    missing = cli("show", "no-such-image")
    assert missing.returncode == 1 and "Catalogue image not found" in missing.stderr
    refused = cli("distribute", image_id, "--vim", "nowhere")
    assert refused.returncode == 1 and "no VIM instance 'nowhere'" in refused.stderr


def test_a_package_naming_a_catalogue_image_onboards_without_carrying_it(nfvo, tmp_path):
    path, data = disk(tmp_path, "gold-os.raw")
    image = add_image(nfvo.api, path, name="gold-os", version="3", diskFormat="raw").json()
    files = dict(example_files("iperf-server"))
    del files["images/iperf.raw"]
    files["Metadata.yaml"] = (b"name: gold-user\nprovider: FOKUS\nnfvo_version: 4.0.0\nvim_types:\n  - local\n"
                              b"image:\n  upload: \"false\"\n  names:\n    - gold-os\n")
    files["vnfd.json"] = files["vnfd.json"].replace(b'"iperf-server"', b'"gold-user"', 1)
    answer = nfvo.api.upload(make_tar(tmp_path / "gold-user.tar", files))
    assert answer.status_code == 200, answer.text
    vnfd = answer.json()
    assert vnfd["vdu"][0]["vm_image"] == ["gold-os-3"]
    package = nfvo.api.get(f"/api/v1/vnf-packages/{vnfd['vnfPackageLocation']}").json()
    [used] = package["images"]
    assert used["source"] == f"catalogue:{image['id']}" and "catalogue image gold-os 3" in used["decision"], used
    assert used["sha256"] == hashlib.sha256(data).hexdigest()
    shown = nfvo.api.get(f"/api/v1/images/{image['id']}").json()
    assert [u["id"] for u in shown["usedBy"]] == [package["id"]] and shown["usedBy"][0]["vnfds"] == [vnfd["id"]]
    assert [p["imageId"] for p in shown["placements"]] == [used["imageId"]]
    refused = assert_problem(nfvo.api.delete(f"/api/v1/images/{image['id']}"), 409)
    assert package["id"] in refused["detail"]
    # a SONATA descriptor names it with its version; the same image on the VIM is used, not uploaded again
    lone = yaml.safe_load(sonata_builder.example_files()["function_descriptors/iperf-vnfd.yml"])
    lone["name"] = "gold-sonata"
    lone["virtual_deployment_units"][0]["vm_image"] = "gold-os:3"
    (tmp_path / "gold-vnfd.yml").write_text(yaml.safe_dump(lone))
    with open(tmp_path / "gold-vnfd.yml", "rb") as f:
        answer = nfvo.api.request("POST", "/api/v1/vnf-packages", files={"file": ("gold-vnfd.yml", f)})
    assert answer.status_code == 200, answer.text
    assert answer.json()["vdu"][0]["vm_image"] == ["gold-os-3"]
    assert len([i for i in vim_images(nfvo) if i.get("sha256") == used["sha256"]]) == 1
    for package_id in (package["id"], answer.json()["vnfPackageLocation"]):
        assert nfvo.api.delete(f"/api/v1/vnf-packages/{package_id}").status_code == 204
    assert nfvo.api.delete(f"/api/v1/images/{image['id']}").status_code == 204
    assert used["imageId"] not in {i["id"] for i in vim_images(nfvo)}


def test_an_ova_is_imported_distributed_and_exported_again(nfvo, tmp_path):
    disk_bytes = b"KDMV" + os.urandom(128 * 1024)
    answer = add_image(nfvo.api, ova_samples.vmware_ova(tmp_path / "ubuntu.ova", disk_bytes), tags="ova")
    assert answer.status_code == 201, answer.text
    image = answer.json()
    assert (image["name"], image["osDistro"], image["architecture"], image["diskFormat"]) == (
        "ubuntu-22.04-gold", "ubuntu", "x86_64", "vmdk")
    assert (image["minCpu"], image["minRam"], image["sha256"]) == (2, 4096, hashlib.sha256(disk_bytes).hexdigest())
    assert image["source"] == "ova:ubuntu.ova" and image["origin"]["ovf"] == "ubuntu.ovf" and image["tags"] == ["ova"]
    job = nfvo.api.wait_job(nfvo.api.post_json(f"/api/v1/images/{image['id']}/distribute", {}).json()["id"])
    assert job["state"] == "succeeded", job
    exported = tmp_path / "exported.ova"
    with nfvo.api.get(f"/api/v1/images/{image['id']}/export", params={"format": "ova"}, stream=True) as got:
        assert got.status_code == 200 and got.headers["Content-Type"] == "application/ovf"
        with open(exported, "wb") as f:
            for chunk in got.iter_content(1 << 16):
                f.write(chunk)
    with PackageArchive.open(exported, ArchiveLimits(), display_name="exported.ova", kind_of=ova_kind) as archive:
        ova = read_ova(archive)
        [disk_file] = ova.disks
        with ova.open_file(archive, disk_file.member) as stream:
            assert stream.read() == disk_bytes
    record = ova.record()
    assert (record.name, record.os_distro, record.architecture, record.cpus, record.memory_mb) == (
        "ubuntu-22.04-gold", "ubuntu", "x86_64", 2, 4096)
    # imported again, the exported OVA is the same image (another version of it)
    again = add_image(nfvo.api, exported, version="2").json()
    assert again["sha256"] == image["sha256"] and again["previousId"] == image["id"]


def test_a_broken_or_hostile_ova_is_refused_and_leaves_nothing(nfvo, tmp_path):
    before = {i["id"] for i in nfvo.api.get("/api/v1/images").json()}
    text = ova_samples.VMWARE.format(size=8)
    members = ova_samples.ova_members("bad.ovf", text, {ova_samples.VMWARE_DISK: b"original"})
    members[-1] = (ova_samples.VMWARE_DISK, b"tampered")  # the manifest lists the original's digest
    problem = assert_problem(add_image(nfvo.api, ova_samples.write_tar(tmp_path / "bad.ova", members)), 422)
    assert any(e.get("file") == "bad.mf" and e.get("line") for e in problem["errors"]), problem
    hostile = ova_samples.write_tar(tmp_path / "hostile.ova", [*members[:-1], ("../escape", b"x"),
                                                               (ova_samples.VMWARE_DISK, b"original")])
    assert_problem(add_image(nfvo.api, hostile), 422)
    assert {i["id"] for i in nfvo.api.get("/api/v1/images").json()} == before
    assert not list((nfvo.home / "uploads").glob("*"))
