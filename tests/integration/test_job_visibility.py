"""What a job shows to whom: which host and process ran it is for system administrators only."""

from __future__ import annotations

import json

import pytest
from requests_toolbelt import MultipartEncoder

from tests.integration.harness import embedded_nfvo, example_files, make_tar
from tests.integration.test_users_projects import login, make_user

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def nfvo(tmp_path_factory):
    with embedded_nfvo(tmp_path_factory.mktemp("jobs")) as node:
        yield node


def test_a_project_user_sees_no_worker_host_and_pid_an_administrator_does(nfvo, tmp_path):
    user = login(nfvo, make_user(nfvo, [{"role": "USER", "project": "default"}]), "default")
    files = example_files("iperf-server")
    files["Metadata.yaml"] = files["Metadata.yaml"].replace(b"name: iperf-server", b"name: iperf-jobs")
    files["vnfd.json"] = json.dumps({**json.loads(files["vnfd.json"]), "name": "iperf-jobs"}).encode()
    tar = make_tar(tmp_path / "jobs.tar", files)
    with open(tar, "rb") as f:
        body = MultipartEncoder({"file": (tar.name, f, "application/x-tar")})
        accepted = user.request("POST", "/api/v1/vnf-packages", data=body,
                                headers={"Content-Type": body.content_type, "Prefer": "respond-async"})
    assert accepted.status_code == 202, accepted.text
    done = user.wait_job(accepted.json()["id"])
    assert done["state"] == "succeeded" and done["worker"] is None
    seen_by_admin = nfvo.api.get(f"/api/v1/jobs/{done['id']}").json()
    host, _, pid = seen_by_admin["worker"].rpartition(":")
    assert host and pid.isdigit()
