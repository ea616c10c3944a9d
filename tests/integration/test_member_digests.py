"""An image in a package is hashed once, while the package arrives: the API records where each large
tar member lies and its SHA-256, and the worker hands that digest to the VIM without reading the
image again; an entry that does not match the worker's own reading of the tar is ignored."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tarfile

import pytest
import sqlalchemy
from nfvo_driver_local import LocalDriver
from nfvo_plugin_sdk import VimSpec

from nfvo.db.models import Job, PackageImage, Project
from nfvo.services import onboarding, packages, receiving, vims
from tests.integration.harness import embedded_nfvo, make_tar, service_context

pytestmark = pytest.mark.integration

IMAGE = os.urandom(3 * 2**20 + 11)


def _package(path, name: str = "digests"):
    metadata = (f"name: {name}\nprovider: ACME\nvim_types: [local]\nimage:\n  upload: true\n"
                f"  file: images/disk.raw\nimage-config:\n  name: {name}-img\n  diskFormat: raw\n"
                "  containerFormat: bare\n")
    vnfd = {"name": name, "vendor": "ACME", "type": "t", "endpoint": "generic",
            "vdu": [{"vm_image": [], "vimInstanceName": []}]}
    return make_tar(path, {"Metadata.yaml": metadata, "vnfd.json": vnfd, "scripts/install.sh": "#!/bin/sh\n",
                           "images/disk.raw": IMAGE})


def _where_tarfile_finds(path, member: str) -> tuple[int, int]:
    with tarfile.open(path) as tar:
        info = tar.getmember(member)
        return info.offset_data, info.size


def test_both_apis_record_each_image_member_as_it_arrives(tmp_path):
    tar = _package(tmp_path / "p.tar")
    offset, size = _where_tarfile_finds(tar, "images/disk.raw")
    with embedded_nfvo(tmp_path) as nfvo:
        answer = nfvo.api.upload(tar)
        assert answer.status_code == 200, answer.text
        info = nfvo.api.post_json("/vnfpkgm/v1/vnf_packages", {"userDefinedData": {}}).json()
        other = _package(tmp_path / "q.tar", "digests-2")
        with open(other, "rb") as body:
            put = nfvo.api.request("PUT", f"/vnfpkgm/v1/vnf_packages/{info['id']}/package_content", data=body,
                                   headers={"Content-Type": "application/octet-stream"})
        assert put.status_code == 202, put.text
        engine = sqlalchemy.create_engine(f"sqlite:///{nfvo.home / 'nfvo.sqlite'}")
        with engine.connect() as connection:
            rows = connection.execute(sqlalchemy.select(Job.sha256, Job.member_digests)).all()
        engine.dispose()
    sha = hashlib.sha256(IMAGE).hexdigest()
    assert sorted((package, [tuple(d) for d in digests]) for package, digests in rows) == sorted([
        (hashlib.sha256(tar.read_bytes()).hexdigest(), [(offset, size, sha)]),
        (hashlib.sha256(other.read_bytes()).hexdigest(), [(*_where_tarfile_finds(other, "images/disk.raw"), sha)]),
    ])


@pytest.fixture
def ctx(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    with service_context("sqlite", home) as context:
        context.settings.ensure_dirs()
        yield context


def _onboard(ctx, tar, entries) -> tuple[Job, list[PackageImage], object]:
    """Submits ``tar`` as received with the index ``entries`` and runs its job in this process."""
    with ctx.transaction() as session:
        project = Project(name=f"p-{tar.stem}")
        session.add(project)
    vim, _ = vims.register(ctx, project.id, {"name": "local", "type": "local", "authUrl": "local://store"})
    with open(tar, "rb") as source:
        received = receiving.store_upload(ctx, source, tar.name)
    job = packages.submit(ctx, project.id, dataclasses.replace(received, members=tuple(entries)),
                          enqueue=lambda _job_id: None)
    onboarding.run(ctx, job.id)
    with ctx.session() as session:
        job = session.get(Job, job.id)
        images = session.scalars(sqlalchemy.select(PackageImage).where(PackageImage.package_id == job.package_id)).all()
    driver = LocalDriver(VimSpec(name="local", type="local", auth_url="local://store", data_dir=str(ctx.settings.vim_data_dir),
                                 extra={"project": project.id}))
    return job, images, driver


def test_the_worker_takes_the_recorded_digest_and_copies_the_image_without_hashing_it(ctx, tmp_path):
    tar = _package(tmp_path / "forged.tar")
    offset, size = _where_tarfile_finds(tar, "images/disk.raw")
    # Not the image's digest: a worker that hashed the image again would record the true one.
    recorded = hashlib.sha256(b"the digest the API recorded").hexdigest()
    job, images, driver = _onboard(ctx, tar, [(offset, size, recorded)])
    assert job.state == "succeeded", job.problem
    assert [i.sha256 for i in images] == [recorded]
    [on_vim] = driver.find_images(id=images[0].image_id)
    assert (on_vim.sha256, on_vim.size) == (recorded, len(IMAGE))
    assert driver.blob_path(on_vim).read_bytes() == IMAGE  # the bytes at that offset, copied whole


@pytest.mark.parametrize("shift", [(512, 0), (0, 1)], ids=["other offset", "other size"])
def test_an_entry_the_worker_does_not_find_in_the_tar_is_ignored(ctx, tmp_path, shift):
    tar = _package(tmp_path / "misplaced.tar")
    offset, size = _where_tarfile_finds(tar, "images/disk.raw")
    wrong = hashlib.sha256(b"not these bytes").hexdigest()
    job, images, driver = _onboard(ctx, tar, [(offset + shift[0], size + shift[1], wrong)])
    assert job.state == "succeeded", job.problem
    assert [i.sha256 for i in images] == [hashlib.sha256(IMAGE).hexdigest()]
    assert driver.blob_path(driver.get_image(images[0].image_id)).read_bytes() == IMAGE
