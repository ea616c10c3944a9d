"""Validation warnings through both APIs: kept and shown when onboarded, refusing under strict validation.

The look-alike packages: an Open Baton package whose Metadata.yaml has a key Open Baton
ignores (``shared: true``), and a CSAR whose TOSCA.meta quotes a value (``CSAR-Version: '1.1'``).
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
from requests_toolbelt import MultipartEncoder

from tests.csar_builder import build, with_manifest
from tests.integration.harness import NFVO, assert_problem, embedded_nfvo, example_files, make_tar
from tests.integration.test_vnfpkgm import BASE, create, csar_files, put_content, wait_onboarding

pytestmark = pytest.mark.integration

SHARED = {"severity": "warning", "file": "Metadata.yaml", "line": 2, "pointer": "/shared"}


@pytest.fixture(scope="module")
def nfvo(tmp_path_factory):
    with embedded_nfvo(tmp_path_factory.mktemp("warnings")) as node:
        yield node


@pytest.fixture(scope="module")
def strict_nfvo(tmp_path_factory):
    with embedded_nfvo(tmp_path_factory.mktemp("strict"), NFVO_VALIDATION="strict") as node:
        yield node


def warned_package(tmp_path: Path) -> Path:
    """iperf-server under a new name, with ``shared: true`` on line 2 of Metadata.yaml."""
    files = example_files("iperf-server")
    name = f"iperf-{uuid.uuid4().hex[:8]}"
    metadata = files["Metadata.yaml"].decode().replace("name: iperf-server\n", f"name: {name}\nshared: true\n")
    files["Metadata.yaml"] = metadata.encode()
    files["vnfd.json"] = files["vnfd.json"].decode().replace('"iperf-server"', f'"{name}"')
    return make_tar(tmp_path / f"{name}.tar", files)


def upload(nfvo, path: Path, query: str = "", **headers):
    with open(path, "rb") as f:
        body = MultipartEncoder({"file": (path.name, f, "application/x-tar")})
        return nfvo.api.request("POST", f"/api/v1/vnf-packages{query}", data=body,
                                headers={"Content-Type": body.content_type, **headers})


def warned_csar(tmp_path: Path) -> Path:
    files = csar_files()
    meta = files["TOSCA-Metadata/TOSCA.meta"].decode().replace("CSAR-Version: 1.1", "CSAR-Version: '1.1'")
    files["TOSCA-Metadata/TOSCA.meta"] = meta.encode()
    return build(tmp_path / f"{uuid.uuid4().hex[:8]}.zip", with_manifest(files))


def test_an_open_baton_package_with_a_warning_onboards_and_shows_it_everywhere(nfvo, tmp_path):
    answer = upload(nfvo, warned_package(tmp_path))
    assert answer.status_code == 200, answer.text
    vnfd = answer.json()
    [warning] = vnfd["warnings"]
    assert SHARED.items() <= warning.items() and "shared" in warning["message"]
    package = nfvo.api.get(f"/api/v1/vnf-packages/{vnfd['vnfPackageLocation']}").json()
    assert package["warnings"] == [warning]
    stored = nfvo.api.get(f"/api/v1/vnf-descriptors/{vnfd['id']}").json()
    assert "warnings" not in stored  # the catalogue VNFD is the package's, not the answer's
    info = nfvo.api.get(f"{BASE}/{vnfd['vnfPackageLocation']}").json()
    assert info["warnings"] == [warning]

    job = upload(nfvo, warned_package(tmp_path), Prefer="respond-async").json()
    done = nfvo.api.wait_job(job["id"])
    assert done["state"] == "succeeded" and done["strict"] is False
    assert [w["pointer"] for w in done["warnings"]] == ["/shared"]


def test_a_package_without_findings_answers_as_open_baton_does(nfvo, tmp_path):
    files = example_files("iperf-client")
    vnfd = upload(nfvo, make_tar(tmp_path / "iperf-client.tar", files)).json()
    assert "warnings" not in vnfd
    assert nfvo.api.get(f"/api/v1/vnf-packages/{vnfd['vnfPackageLocation']}").json()["warnings"] == []


def test_strict_validation_per_upload_refuses_a_warning_and_keeps_nothing(nfvo, tmp_path):
    before = nfvo.api.get("/api/v1/vnf-packages").json()
    problem = assert_problem(upload(nfvo, warned_package(tmp_path), "?validation=strict"), 422, "validation-failed")
    [finding] = problem["errors"]
    assert {**SHARED, "severity": "error"}.items() <= finding.items()
    assert problem["detail"].endswith("(strict validation: warnings are errors)")
    assert nfvo.api.get("/api/v1/vnf-packages").json() == before


def test_an_unknown_validation_mode_is_refused_naming_the_parameter(nfvo, tmp_path):
    problem = assert_problem(upload(nfvo, warned_package(tmp_path), "?validation=lax"), 422)
    assert "validation" in str(problem)


def test_nfvo_validation_strict_refuses_warnings_on_every_upload(strict_nfvo, tmp_path):
    problem = assert_problem(upload(strict_nfvo, warned_package(tmp_path)), 422, "validation-failed")
    assert [e["severity"] for e in problem["errors"]] == ["error"]
    package = create(strict_nfvo)
    assert put_content(strict_nfvo, package["id"], warned_csar(tmp_path)).status_code == 202
    info = wait_onboarding(strict_nfvo, package["id"])
    assert info["onboardingState"] == "ERROR"
    assert [e["severity"] for e in info["onboardingFailureDetails"]["errors"]] == ["error"]


def test_a_csar_with_a_warning_onboards_through_sol005_and_shows_it(nfvo, tmp_path):
    package = create(nfvo)
    assert put_content(nfvo, package["id"], warned_csar(tmp_path)).status_code == 202
    info = wait_onboarding(nfvo, package["id"])
    assert info["onboardingState"] == "ONBOARDED", info
    [warning] = info["warnings"]
    assert {"severity": "warning", "file": "TOSCA-Metadata/TOSCA.meta", "line": 2}.items() <= warning.items()
    assert nfvo.api.get(f"/api/v1/vnf-packages/{package['id']}").json()["warnings"] == [warning]


def test_strict_validation_per_sol005_upload(nfvo, tmp_path):
    package = create(nfvo)
    with open(warned_csar(tmp_path), "rb") as f:
        answer = nfvo.api.request("PUT", f"{BASE}/{package['id']}/package_content?validation=strict", data=f,
                                  headers={"Content-Type": "application/zip"})
    assert answer.status_code == 202, answer.text
    info = wait_onboarding(nfvo, package["id"])
    assert info["onboardingState"] == "ERROR"
    [finding] = info["onboardingFailureDetails"]["errors"]
    assert (finding["severity"], finding["file"]) == ("error", "TOSCA-Metadata/TOSCA.meta")


def test_the_cli_upload_prints_warnings_and_refuses_them_with_strict(nfvo, tmp_path):
    env = {**nfvo.env, "NFVO_URL": nfvo.url, "NFVO_PASSWORD": "test-admin-pw"}
    tar = warned_package(tmp_path)
    strict = subprocess.run([NFVO, "package", "upload", "--strict", str(tar)], env=env, capture_output=True,
                            text=True)
    assert strict.returncode == 1 and "strict validation: warnings are errors" in strict.stderr, strict
    done = subprocess.run([NFVO, "package", "upload", str(tar)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("onboarded iperf-") and lines[1:] == [
        "1 warning:", "  Metadata.yaml:2: /shared: warning: unknown key 'shared' (Open Baton ignores it)"]

    csar = warned_csar(tmp_path)
    done = subprocess.run([NFVO, "package", "upload", str(csar)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1:2] == ["1 warning:"]
    assert done.stdout.splitlines()[2].startswith("  TOSCA-Metadata/TOSCA.meta:2: /CSAR-Version: warning: quoted")
