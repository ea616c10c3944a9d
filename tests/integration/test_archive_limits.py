"""Size limits per kind of package member, through real uploads to a running nfvo: a gzip bomb is
refused before it reaches the disk, and a raw image of zeros onboards whatever its compression ratio."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests import bombs
from tests.integration.harness import assert_problem, embedded_nfvo, example_files, make_tar
from tests.integration.test_vnfpkgm import BASE, create, put_content, wait_onboarding

pytestmark = pytest.mark.integration

SCRIPT_LIMIT = 16 * 2**20  # the default NFVO_MAX_SCRIPT_SIZE
IMAGE_LIMIT = 200 * 2**20


@pytest.fixture(scope="module")
def nfvo(tmp_path_factory):
    # Every other limit at its default: NFVO_MAX_PACKAGE_SIZE 64 GiB would let a 3 GiB script through.
    with embedded_nfvo(tmp_path_factory.mktemp("limits"), NFVO_MAX_IMAGE_SIZE=str(IMAGE_LIMIT),
                       NFVO_MAX_ARTIFACT_SIZE=str(2**20)) as node:
        yield node


def _bytes_on_disk(home: Path) -> int:
    """Bytes of the files under NFVO_HOME that a package could have written (the database aside)."""
    return sum(p.stat().st_blocks * 512 for p in home.rglob("*")
               if p.is_file() and ".sqlite" not in p.name and p.suffix != ".log")


def test_a_3_mb_tar_gz_whose_script_is_3_gib_is_refused_and_never_written(nfvo, tmp_path):
    files = {k: v for k, v in example_files("iperf-server").items() if k != "scripts/install.sh"}
    bomb = bombs.gzip_tar_bomb(tmp_path / "bomb.tar.gz", files, "scripts/install.sh", 3 * 2**30)
    assert bomb.stat().st_size < 4 * 2**20
    before = _bytes_on_disk(nfvo.home)
    body = assert_problem(nfvo.api.upload(bomb), 422, "unsafe-archive")
    assert [(e["file"], e["message"]) for e in body["errors"]] == [
        ("scripts/install.sh", f"is larger than {SCRIPT_LIMIT} bytes, the limit for a script (NFVO_MAX_SCRIPT_SIZE)")]
    assert _bytes_on_disk(nfvo.home) - before < SCRIPT_LIMIT  # the refused upload is gone, no script was written
    assert nfvo.api.get("/api/v1/vnf-packages").json() == []
    good = make_tar(tmp_path / "good.tar", example_files("iperf-server"))
    assert nfvo.api.upload(good).status_code == 200  # the same package with its real script onboards


def _upload_csar(nfvo, path: Path) -> dict:
    package = create(nfvo)
    assert put_content(nfvo, package["id"], path).status_code == 202
    return wait_onboarding(nfvo, package["id"])


def test_a_raw_image_of_zeros_at_the_image_limit_onboards_and_one_over_it_is_refused(nfvo, tmp_path):
    path = bombs.zero_image_csar(tmp_path / "zeros.zip", IMAGE_LIMIT, descriptor_id=str(uuid.uuid4()))
    assert path.stat().st_size * 500 < IMAGE_LIMIT  # far beyond the 100:1 that used to be refused
    info = _upload_csar(nfvo, path)
    assert info["onboardingState"] == "ONBOARDED", info
    [image] = [a for a in info["softwareImages"] if a["imagePath"] == bombs.IMAGE]
    assert image["size"] == IMAGE_LIMIT

    over = bombs.zero_image_csar(tmp_path / "over.zip", IMAGE_LIMIT + 2**20, descriptor_id=str(uuid.uuid4()))
    info = _upload_csar(nfvo, over)
    assert info["onboardingState"] == "ERROR", info
    details = info["onboardingFailureDetails"]
    assert details["status"] == 422 and details["type"].endswith("/unsafe-archive"), details
    assert [(e["file"], e["message"]) for e in details["errors"]] == [
        (bombs.IMAGE, f"is larger than {IMAGE_LIMIT} bytes, the limit for an image (NFVO_MAX_IMAGE_SIZE)")]
    assert nfvo.api.get(f"{BASE}/{info['id']}").json()["onboardingState"] == "ERROR"
