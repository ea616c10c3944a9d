"""ConVirt image templates (our own look-alike image directories) onboarded through both APIs onto
the local VIM, their VM's files rendered by the day-0 API, broken and hostile templates refused with
every finding (and nothing in them run), and the offline validator."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile

import pytest
from requests_toolbelt import MultipartEncoder

from tests.integration.harness import NFVO, assert_problem, embedded_nfvo
from tests.integration.test_nfvis_day0 import read_iso
from tests.integration.test_vnfpkgm import BASE, create, local_vim, vim_images, wait_onboarding
from tests.unit.domain.convirt import samples
from tests.unit.test_docs_convirt import example_files, shown

pytestmark = pytest.mark.integration

ISO = "application/x-iso9660-image"


@pytest.fixture(scope="module")
def nfvo(tmp_path_factory):
    with embedded_nfvo(tmp_path_factory.mktemp("convirt")) as node:
        yield node


def post(nfvo, path, media_type="application/gzip"):
    with open(path, "rb") as f:
        body = MultipartEncoder({"file": (path.name, f, media_type)})
        return nfvo.api.request("POST", "/api/v1/vnf-packages", data=body, headers={"Content-Type": body.content_type})


def fedora(top: str, disk: bytes | None = None) -> dict[str, bytes]:
    """The Fedora look-alike as image ``top``, with ``disk`` as its hda.img when given."""
    files = samples.renamed(samples.fedora(), top)
    return samples.with_disk(files, disk) if disk is not None else files


def flavours(nfvo) -> list[dict]:
    return nfvo.api.get(f"/api/v1/datacenters/{local_vim(nfvo)['id']}/refresh").json()["flavours"]


def day0(nfvo, package_id: str, payload, **headers):
    return nfvo.api.request("POST", f"/api/v1/vnf-packages/{package_id}/day0", json=payload, headers=headers)


@pytest.fixture(scope="module")
def onboarded(nfvo, tmp_path_factory) -> str:
    """The id of a Fedora look-alike onboarded through the Open Baton API, for the day-0 tests."""
    path = samples.write_tar(tmp_path_factory.mktemp("day0") / "day0.tar.gz", fedora("Day0_Fedora"))
    answer = post(nfvo, path)
    assert answer.status_code == 200, answer.text
    return answer.json()["vnfPackageLocation"]


def test_a_template_with_a_disk_onboards_through_the_open_baton_api(nfvo, tmp_path):
    disk = b"fedora disk " * 4000
    answer = post(nfvo, samples.write_tar(tmp_path / "fedora.tar.gz", fedora("Fedora_OB", disk)))
    assert answer.status_code == 200, answer.text
    vnfd = answer.json()
    assert (vnfd["name"], vnfd["vendor"], vnfd["version"], vnfd["type"]) == ("Fedora_OB", "", "1.0", "convirt")
    assert vnfd["vdu"][0]["vm_image"] == ["Fedora_OB-hda"]
    assert [(f["flavour_key"], f["vcpus"], f["ram"], f["disk"]) for f in vnfd["deployment_flavour"]] == [
        ("Fedora_OB", 1, 256, 1)]
    # the template as read, without Open Baton entity ids in its lists
    assert vnfd["convirt"]["diskImages"] == [{"file": "Fedora_OB/hda.img", "diskFormat": "raw", "namedBy": {
        "file": "Fedora_OB/image.conf", "line": 19, "pointer": "/ref_disk"}}]
    assert vnfd["convirt"]["imageConf"]["options"]["custom_list"] == ["fedora_tweaks"]
    assert "warnings" not in vnfd
    [on_vim] = [i for i in vim_images(nfvo) if i["name"] == "Fedora_OB-hda"]
    assert on_vim["sha256"] == hashlib.sha256(disk).hexdigest() and on_vim["diskFormat"] == "raw"
    assert {"id": "Fedora_OB", "flavour_key": "Fedora_OB", "vcpus": 1, "ram": 256, "disk": 1} in flavours(nfvo)
    package = nfvo.api.get(f"/api/v1/vnf-packages/{vnfd['vnfPackageLocation']}").json()
    assert package["format"] == "convirt" and package["metadata"]["imageName"] == "Fedora_OB"
    assert package["metadata"]["diskImages"] == ["Fedora_OB/hda.img"]


def test_a_plain_tar_onboards_through_sol005_and_its_content_downloads(nfvo, tmp_path):
    disk = b"cd install disk " * 3000
    files = samples.with_disk(samples.cd_install("CD_SOL005"), disk, "disk.qcow2")
    path = samples.write_tar(tmp_path / "cd.tar", files, gz=False)
    package = create(nfvo)
    with open(path, "rb") as f:
        put = nfvo.api.request("PUT", f"{BASE}/{package['id']}/package_content", data=f,
                               headers={"Content-Type": "application/x-tar"})
    assert put.status_code == 202, put.text
    info = wait_onboarding(nfvo, package["id"])
    assert info["onboardingState"] == "ONBOARDED" and info["operationalState"] == "ENABLED", info
    assert info["packageFormat"] == "convirt"
    [on_vim] = [i for i in vim_images(nfvo) if i["name"] == "CD_SOL005-disk"]
    assert on_vim["sha256"] == hashlib.sha256(disk).hexdigest() and on_vim["diskFormat"] == "qcow2"
    content = nfvo.api.get(f"{BASE}/{package['id']}/package_content")
    assert content.status_code == 200 and content.content == path.read_bytes()


def test_files_at_the_root_of_the_tar_are_named_after_it_and_warnings_are_kept(nfvo, tmp_path):
    files = samples.at_root(samples.cd_install())
    files["image.conf"] += b"admin_password = '$1$9qAFryp3$XmvqcFN/CJG4AC7jgyVE8'\n"
    answer = post(nfvo, samples.write_tar(tmp_path / "Root_Image.tar", files, directories=False, gz=False),
                  "application/x-tar")
    assert answer.status_code == 200, answer.text
    vnfd = answer.json()
    assert vnfd["name"] == "Root_Image" and vnfd["convirt"]["imageConf"]["file"] == "image.conf"
    assert [(w["file"], w["line"], w["pointer"], w["severity"]) for w in vnfd["warnings"]] == [
        ("image.conf", 3, "/admin_password", "warning")]


def test_a_template_without_disk_images_onboards_with_a_vdu_without_images(nfvo, tmp_path):
    before = {i["id"] for i in vim_images(nfvo)}
    answer = post(nfvo, samples.write_tar(tmp_path / "nodisk.tar.gz", fedora("No_Disk")))
    assert answer.status_code == 200, answer.text
    vnfd = answer.json()
    assert vnfd["vdu"][0]["vm_image"] == [] and vnfd["deployment_flavour"][0]["flavour_key"] == "No_Disk"
    assert {i["id"] for i in vim_images(nfvo)} == before
    package = nfvo.api.get(f"/api/v1/vnf-packages/{vnfd['vnfPackageLocation']}").json()
    assert package["images"] == []
    # onboarded once: the same image name and version again is a duplicate
    again = post(nfvo, samples.write_tar(tmp_path / "again.tar.gz", fedora("No_Disk")))
    assert "already onboarded" in assert_problem(again, 409)["detail"]


def test_day0_renders_vm_conf_and_image_conf(nfvo, onboarded):
    answer = day0(nfvo, onboarded, {"vmName": "web01", "properties": {"hda_disk_size": 20, "firewall": "off"}})
    assert answer.status_code == 200, answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.json()
    assert body["profile"] is None
    [vm_conf, image_conf] = body["files"]
    assert (vm_conf["mountPoint"], vm_conf["name"], image_conf["mountPoint"], image_conf["name"]) == (
        "vm_conf", "vm_conf", "image.conf", "image.conf")
    assert "name = 'web01'\n" in vm_conf["content"]
    assert "disk = ['file:/vm_disks/web01.disk.xm,hda,w']\n" in vm_conf["content"]
    assert "kernel = '/var/cache/convirt/image_store/Day0_Fedora/vmlinuz.fc-xen'\n" in vm_conf["content"]
    assert "hda_disk_size = 20\n" in image_conf["content"] and "firewall = 'off'\n" in image_conf["content"]
    assert "hda_disk_size_mb = 20992\n" in image_conf["content"]  # recomputed
    assert "customizable_options" not in image_conf["content"]


def test_day0_files_come_as_a_config_drive(nfvo, onboarded):
    payload = {"vmName": "web02"}
    files = day0(nfvo, onboarded, payload).json()["files"]
    answer = day0(nfvo, onboarded, payload, Accept=ISO)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == ISO
    label, drive = read_iso(answer.content)
    assert label == "config-2"
    assert drive["/vm_conf"].decode() == files[0]["content"] and drive["/image.conf"].decode() == files[1]["content"]


def test_a_property_outside_customizable_options_is_refused_at_its_pointer_and_line(nfvo, onboarded):
    body = ('{\n  "vmName": "web03",\n  "properties": {\n    "firewall": "off",\n    "KERNEL_TYPE": "rogue",\n'
            '    "label": "x",\n    "nope": 1\n  }\n}\n')
    answer = nfvo.api.request("POST", f"/api/v1/vnf-packages/{onboarded}/day0", data=body,
                              headers={"Content-Type": "application/json"})
    problem = assert_problem(answer, 422, "validation-failed")
    where = {e["pointer"]: (e.get("file"), e.get("line"), e["message"]) for e in problem["errors"]}
    assert set(where) == {"/properties/KERNEL_TYPE", "/properties/label", "/properties/nope"}
    assert where["/properties/KERNEL_TYPE"] == ("request body", 5, "KERNEL_TYPE of Day0_Fedora/image.conf is not "
                                                                   "customizable (not in its customizable_options)")
    assert where["/properties/label"][:2] == ("request body", 6) and "computed option" in where["/properties/label"][2]
    assert where["/properties/nope"][:2] == ("request body", 7)
    assert "rogue" not in answer.text  # messages never quote a given value
    missing = assert_problem(day0(nfvo, onboarded, {"properties": {}}), 422)
    assert [(e["pointer"], e.get("file")) for e in missing["errors"]] == [("/vmName", "request body")]


HOSTILE = {
    "call": "firewall = __import__('os').system('touch {pwned}')\n",
    "import": "import os\nfirewall = os.system('touch {pwned}')\n",
    "attribute": "firewall = ().__class__.__base__.__subclasses__()\n",
    "comprehension": "firewall = [__import__('os').system('touch {pwned}') for _ in 'x']\n",
    "lambda": "firewall = (lambda: __import__('os').system('touch {pwned}'))()\n",
    "f-string": "firewall = f\"{{__import__('os').system('touch {pwned}')}}\"\n",
    "computed": "computed_options = ['firewall']\nfirewall = __import__('os').system('touch {pwned}')\n",
    "exec": "exec(\"__import__('os').system('touch {pwned}')\")\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_code_in_image_conf_is_refused_at_its_line_and_never_run(nfvo, tmp_path, name):
    pwned = tmp_path / "pwned"
    code = HOSTILE[name].format(pwned=pwned)
    files = fedora(f"Hostile_{name.replace('-', '_')}")
    conf = next(n for n in files if n.endswith("/image.conf"))
    files[conf] = b"KERNEL_TYPE = 'fc-xen'\n" + code.encode()
    answer = post(nfvo, samples.write_tar(tmp_path / "hostile.tar.gz", files))
    problem = assert_problem(answer, 422, "validation-failed")
    first = code.count("\n", 0, code.index("__") if "__" in code else 0) + 2  # the line of the code
    assert any(e.get("file") == conf and e.get("line") == first and e["severity"] == "error"
               for e in problem["errors"]), problem
    assert not pwned.exists()


def test_code_in_vm_conf_template_is_refused_too(nfvo, tmp_path):
    pwned = tmp_path / "pwned"
    files = fedora("Hostile_vm_conf")
    files["Hostile_vm_conf/vm_conf.template"] += f"memory = __import__('os').system('touch {pwned}')\n".encode()
    problem = assert_problem(post(nfvo, samples.write_tar(tmp_path / "vm.tar.gz", files)), 422)
    assert any(e.get("file") == "Hostile_vm_conf/vm_conf.template" and e.get("line") == 11
               for e in problem["errors"]), problem
    assert not pwned.exists()


def test_a_member_leaving_the_package_is_refused(nfvo, tmp_path):
    files = {**fedora("Traversal"), "../escape.txt": b"x"}
    problem = assert_problem(post(nfvo, samples.write_tar(tmp_path / "t.tar.gz", files, directories=False)), 422)
    assert any(e.get("file") == "../escape.txt" for e in problem["errors"]), problem
    assert not (tmp_path.parent / "escape.txt").exists()


@pytest.mark.parametrize("member, setting", [
    ("vm_conf.template", "NFVO_MAX_DESCRIPTOR_SIZE"), ("custom_scripts/fedora_tweaks/99-huge.sh", "NFVO_MAX_SCRIPT_SIZE")])
def test_a_huge_member_that_compresses_to_nothing_is_bounded_by_the_limits(nfvo, tmp_path, member, setting):
    """17 MiB of zeros (a few KB compressed) after the small files: refused by its header, before a
    byte of it is decompressed."""
    path = tmp_path / "bomb.tar.gz"
    files = {n: d for n, d in fedora("Bomb").items() if not n.endswith(member)}
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo(f"Bomb/{member}")
        info.size = 17 * 2**20
        tar.addfile(info, io.BytesIO(bytes(info.size)))
    assert path.stat().st_size < 100_000
    problem = assert_problem(post(nfvo, path), 422)
    [error] = [e for e in problem["errors"] if e.get("file") == f"Bomb/{member}"]
    assert setting in error["message"], problem


def test_validate_offline_on_valid_and_broken_templates(tmp_path):
    good = samples.write_tar(tmp_path / "good.tar.gz", fedora("Valid_Fedora", b"disk"))
    shown = subprocess.run([str(NFVO), "package", "validate", str(good)], capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "good.tar.gz is a valid ConVirt image template."
    assert "  Disk image Valid_Fedora/hda.img (raw), uploaded as Valid_Fedora-hda." in lines
    assert "  Flavour Valid_Fedora: 1 vCPU, 256 MB RAM, 1 GB disk." in lines

    directory = samples.unpack(tmp_path / "Dir_Image", samples.cd_install())
    shown = subprocess.run([str(NFVO), "package", "validate", str(directory)], capture_output=True, text=True,
                           timeout=120)
    assert shown.returncode == 0 and shown.stdout.startswith("Dir_Image is a valid ConVirt image template."), shown

    files = fedora("Broken_Fedora")
    files["Broken_Fedora/image.conf"] += b"admin_password = '$1$9qAFryp3$XmvqcFN/CJG4AC7jgyVE8'\nx = open('/etc/passwd')\n"
    files["Broken_Fedora/vm_conf.template"] += b"extra2 = '$nowhere'\n"
    bad = samples.write_tar(tmp_path / "bad.tar.gz", files)
    shown = subprocess.run([str(NFVO), "package", "validate", str(bad)], capture_output=True, text=True, timeout=120)
    assert shown.returncode == 1, shown.stdout
    lines = [line.strip() for line in shown.stdout.splitlines()]
    assert "Broken_Fedora/image.conf:20: /x: a function call is not allowed: nothing in the file is run (column 5)" \
        in lines, shown.stdout
    assert any(line.startswith("Broken_Fedora/vm_conf.template:11: /extra2: undefined variable $nowhere")
               for line in lines), shown.stdout
    assert any(line.startswith("Broken_Fedora/image.conf:19: /admin_password: warning: a crypt(3) hash (MD5-crypt)")
               for line in lines), shown.stdout


def test_the_docs_example_answers_through_the_api_as_docs_convirt_md_shows(nfvo, tmp_path):
    answer = post(nfvo, samples.write_tar(tmp_path / "Web_Server.tar", example_files(), gz=False), "application/x-tar")
    assert answer.status_code == 200, answer.text
    package_id = answer.json()["vnfPackageLocation"]
    rendered = day0(nfvo, package_id, json.loads(shown("day0", "payload")))
    assert rendered.status_code == 200 and rendered.json() == json.loads(shown("day0", "answer")), rendered.text
    refused = nfvo.api.request("POST", f"/api/v1/vnf-packages/{package_id}/day0", data=shown("day0", "refused"),
                               headers={"Content-Type": "application/json"})
    problem, expected = assert_problem(refused, 422), json.loads(shown("problem", "refused"))
    assert {key: problem[key] for key in expected} == expected
