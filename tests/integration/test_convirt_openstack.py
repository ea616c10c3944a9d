"""ConVirt image templates onboarded through nfvo onto a real Keystone + Glance with the openstack
driver (embedded nfvo): the disk image streams to Glance, the flavour Glance cannot hold is
reported, a template without disk images puts nothing on Glance, and deleting the package removes
its image."""

from __future__ import annotations

import hashlib
import os

import pytest

from tests.integration.harness import assert_problem
from tests.integration.test_convirt import post
from tests.integration.test_openstack_onboarding import glance, nfvo, openstack, run, vim  # noqa: F401
from tests.unit.domain.convirt import samples
from tests.unit.domain.nfvis.samples import qcow2

pytestmark = [pytest.mark.integration,
              pytest.mark.filterwarnings("ignore::PendingDeprecationWarning:openstack")]


def template(top: str, disk: bytes | None, name: str = "hda.qcow2") -> dict[str, bytes]:
    files = samples.renamed(samples.fedora(), top)
    return samples.with_disk(files, disk, name) if disk is not None else files


def test_a_convirt_template_onboards_onto_glance(nfvo, vim, glance, run, tmp_path):  # noqa: F811
    """The disk image streams to Glance in the format of its extension; Glance (no Nova here)
    cannot hold flavours, so the answer warns with the flavour to create, at vm_conf's memory."""
    registered, _ = vim
    disk = qcow2(os.urandom(64 * 1024))  # a qcow2 Glance's format inspection takes, bytes no other test has
    top = f"ConVirt_OS_{run}"
    answer = post(nfvo, samples.write_tar(tmp_path / "os.tar", template(top, disk), gz=False), "application/x-tar")
    assert answer.status_code == 200, answer.text
    vnfd = answer.json()
    image_name = f"{top}-hda"
    assert vnfd["vdu"][0]["vm_image"] == [image_name]
    [on_glance] = glance.named(image_name)
    assert (on_glance["disk_format"], on_glance["container_format"], on_glance["status"]) == ("qcow2", "bare", "active")
    assert on_glance["nfvo_sha256"] == hashlib.sha256(disk).hexdigest()
    [warning] = [w for w in vnfd["warnings"] if "cannot create flavours" in w["message"]]
    assert registered["name"] in warning["message"] and top in warning["message"]
    assert (warning["file"], warning["line"], warning["pointer"]) == (f"{top}/vm_conf.template", 4, "/memory")
    # the day-0 files of the onboarded template
    rendered = nfvo.api.post_json(f"/api/v1/vnf-packages/{vnfd['vnfPackageLocation']}/day0", {"vmName": "os-vm"})
    assert rendered.status_code == 200 and "name = 'os-vm'\n" in rendered.json()["files"][0]["content"], rendered.text
    assert nfvo.api.delete(f"/api/v1/vnf-packages/{vnfd['vnfPackageLocation']}").status_code == 204
    assert glance.named(image_name) == []


def test_a_disk_whose_bytes_are_not_of_its_extensions_format_is_refused_by_glance(nfvo, vim, glance, run,  # noqa: F811
                                                                                    tmp_path):
    """Glance inspects what it is given: random bytes named .qcow2 are refused, and nothing is left."""
    top = f"ConVirt_NotQcow2_{run}"
    answer = post(nfvo, samples.write_tar(tmp_path / "bad.tar", template(top, os.urandom(64 * 1024)), gz=False),
                  "application/x-tar")
    problem = assert_problem(answer, 422, "vim-unsupported")
    assert "HTTP 415" in problem["detail"]
    assert glance.named(f"{top}-hda") == []


def test_a_gzip_template_without_disk_images_puts_nothing_on_glance(nfvo, vim, glance, run, tmp_path):  # noqa: F811
    top = f"ConVirt_NoDisk_{run}"
    answer = post(nfvo, samples.write_tar(tmp_path / "nodisk.tar.gz", template(top, None)))
    assert answer.status_code == 200, answer.text
    vnfd = answer.json()
    assert vnfd["vdu"][0]["vm_image"] == []
    assert not [i for i in glance.http.get(glance.url, timeout=30).json()["images"] if i["name"].startswith(top)]
    assert nfvo.api.delete(f"/api/v1/vnf-packages/{vnfd['vnfPackageLocation']}").status_code == 204


def test_a_hostile_template_leaves_nothing_on_glance(nfvo, vim, glance, run, tmp_path):  # noqa: F811
    top = f"ConVirt_Hostile_{run}"
    pwned = tmp_path / "pwned"
    files = template(top, os.urandom(4096))
    files[f"{top}/image.conf"] += f"firewall_off = __import__('os').system('touch {pwned}')\n".encode()
    problem = assert_problem(post(nfvo, samples.write_tar(tmp_path / "h.tar.gz", files)), 422)
    assert any(e.get("file") == f"{top}/image.conf" and e.get("line") == 20 for e in problem["errors"]), problem
    assert glance.named(f"{top}-hda") == [] and not pwned.exists()
