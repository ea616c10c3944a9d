"""The real `openstack vnf package ...` commands (python-tackerclient) against an embedded `nfvo serve`,
without Keystone: an nfvo token as admin_token (sent as X-Auth-Token), or an nfvo user by http_basic."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.csar_builder import build
from tests.integration.harness import embedded_nfvo
from tests.integration.test_vnfpkgm import csar_files

pytestmark = pytest.mark.integration

OPENSTACK = Path(sys.executable).with_name("openstack")


@pytest.fixture(scope="module")
def nfvo(tmp_path_factory):
    if not OPENSTACK.exists():
        pytest.fail(f"{OPENSTACK} is missing: install the test extra (pip install -e '.[test]')", pytrace=False)
    with embedded_nfvo(tmp_path_factory.mktemp("tacker"), NFVO_VNFPKGM_PAGE_SIZE="2") as node:
        yield node


def openstack(nfvo, *args: str, auth: str = "token", check: bool = True) -> subprocess.CompletedProcess:
    """Runs ``openstack <args>`` against ``nfvo``; ``auth`` is "token" (admin_token) or "basic" (http_basic)."""
    if auth == "token":
        options = ["--os-auth-type", "admin_token", "--os-token", nfvo.api.token()]
    else:
        options = ["--os-auth-type", "http_basic", "--os-username", "admin", "--os-password", "test-admin-pw"]
    result = subprocess.run([str(OPENSTACK), *options, "--os-endpoint", nfvo.url, *args], capture_output=True,
                            text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": str(nfvo.home)})
    if check:
        assert result.returncode == 0, f"openstack {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def show(nfvo, package_id: str) -> dict:
    return json.loads(openstack(nfvo, "vnf", "package", "show", package_id, "-f", "json").stdout)


def test_the_vnf_package_commands_of_python_tackerclient(nfvo, tmp_path):
    files = csar_files()
    csar = build(tmp_path / "pkg.zip", files)

    created = json.loads(openstack(nfvo, "vnf", "package", "create", "--user-data", "team=lab", "-f", "json").stdout)
    package_id = created["ID"]
    assert (created["Onboarding State"], created["Operational State"], created["Usage State"]) == (
        "CREATED", "DISABLED", "NOT_IN_USE")

    uploaded = openstack(nfvo, "vnf", "package", "upload", "--path", str(csar), package_id)
    assert f"Upload request for VNF package {package_id} has been accepted" in uploaded.stdout
    deadline, shown = time.monotonic() + 120, {}
    while time.monotonic() < deadline:
        shown = show(nfvo, package_id)
        if shown["Onboarding State"] in ("ONBOARDED", "ERROR"):
            break
        time.sleep(0.2)
    assert shown["Onboarding State"] == "ONBOARDED", shown
    assert (shown["VNF Provider"], shown["VNF Product Name"]) == ("FOKUS", "iperf-server")

    for n in range(3):  # more than one page: the client follows Link rel="next"
        openstack(nfvo, "vnf", "package", "create", "--user-data", f"n={n}")
    listed = json.loads(openstack(nfvo, "vnf", "package", "list", "-f", "json").stdout)
    assert len(listed) == 4 and package_id in [p["Id"] for p in listed]
    onboarded = json.loads(openstack(nfvo, "vnf", "package", "list", "--filter", "(eq,onboardingState,ONBOARDED)",
                                     "-f", "json").stdout)
    assert [p["Id"] for p in onboarded] == [package_id]
    bad = openstack(nfvo, "vnf", "package", "list", "--filter", "(eq,nothing,1)", check=False)
    assert bad.returncode != 0 and "nothing" in bad.stderr

    # onboarded packages are ENABLED, as in Tacker: disabling a fresh one works, and enabling it again
    for state in ("DISABLED", "ENABLED"):
        updated = json.loads(openstack(nfvo, "vnf", "package", "update", "--operational-state", state, package_id,
                                       "-f", "json").stdout)
        assert updated == {"Operational State": state}
    refused = openstack(nfvo, "vnf", "package", "delete", package_id, check=False)
    assert refused.returncode != 0 and "ENABLED" in refused.stderr

    openstack(nfvo, "vnf", "package", "download", package_id, "--file", str(tmp_path / "back.zip"))
    assert (tmp_path / "back.zip").read_bytes() == csar.read_bytes()
    openstack(nfvo, "vnf", "package", "download", package_id, "--vnfd", "--type", "application/zip",
              "--file", str(tmp_path / "vnfd.zip"))
    with zipfile.ZipFile(tmp_path / "vnfd.zip") as zf:
        assert zf.read("Definitions/iperf_server.yaml") == files["Definitions/iperf_server.yaml"]
    openstack(nfvo, "vnf", "package", "artifact", "download", package_id, "Files/ChangeLog.txt",
              "--file", str(tmp_path / "ChangeLog.txt"))
    assert (tmp_path / "ChangeLog.txt").read_bytes() == files["Files/ChangeLog.txt"]

    by_basic = json.loads(openstack(nfvo, "vnf", "package", "show", package_id, "-f", "json", auth="basic").stdout)
    assert by_basic["ID"] == package_id

    openstack(nfvo, "vnf", "package", "update", "--operational-state", "DISABLED", package_id)
    deleted = openstack(nfvo, "vnf", "package", "delete", package_id, *[p["Id"] for p in listed if
                                                                        p["Id"] != package_id])
    assert "deleted successfully" in deleted.stdout
    assert json.loads(openstack(nfvo, "vnf", "package", "list", "-f", "json").stdout) == []
