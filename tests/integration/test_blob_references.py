"""Which blobs nfvo keeps, against a real database (SQLite and PostgreSQL) and the filesystem store:
a referenced blob is never removed, a removal and a new reference of the same blob are
serialised by the blob's lock, a blob removed meanwhile is stored again, and the sweep takes
only old blobs nothing references."""

from __future__ import annotations

import os
import threading
import time

import pytest

from nfvo.db.models import Job, PackageFile, Project, VnfPackage
from nfvo.services import blobs
from tests.integration.harness import service_context

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def ctx(request, tmp_path):
    with service_context(request.param, tmp_path) as context:
        yield context


def _project(ctx) -> str:
    with ctx.transaction() as session:
        project = Project(name="p")
        session.add(project)
    return project.id


def _package_with(ctx, project_id: str, sha256: str, size: int) -> str:
    with ctx.transaction() as session:
        package = VnfPackage(project_id=project_id, identity=sha256, name="p", sha256=sha256, size=size)
        session.add(package)
        session.flush()
        session.add(PackageFile(package_id=package.id, name="package.tar", sha256=sha256, size=size))
    return package.id


def test_a_blob_is_removed_only_once_nothing_references_it(ctx):
    project = _project(ctx)
    packaged = ctx.store.put([b"a package file"])
    queued = ctx.store.put([b"a queued upload"])
    loose = ctx.store.put([b"nothing uses this"])
    _package_with(ctx, project, packaged.sha256, packaged.size)
    with ctx.transaction() as session:
        session.add(Job(project_id=project, sha256=queued.sha256, size=queued.size, package_id="x"))
    assert blobs.release(ctx, [packaged.sha256, queued.sha256, loose.sha256]) == 1
    assert ctx.store.exists(packaged.sha256) and ctx.store.exists(queued.sha256)
    assert not ctx.store.exists(loose.sha256)


def test_a_blob_removed_between_storing_and_referencing_is_stored_again(ctx, tmp_path):
    project = _project(ctx)
    path = tmp_path / "upload"
    path.write_bytes(b"bytes a client sent")
    blob = ctx.store.put_file(path)
    assert blobs.release(ctx, [blob.sha256]) == 1, "unreferenced for a moment: a release takes it"
    with ctx.transaction() as session:
        blobs.keep(ctx, session, [(path, blob)])
        session.add(Job(project_id=project, sha256=blob.sha256, size=blob.size, package_id="x"))
    assert ctx.store.exists(blob.sha256)


def test_a_release_waits_for_a_reference_being_made_and_then_keeps_the_blob(ctx, tmp_path):
    project = _project(ctx)
    path = tmp_path / "upload"
    path.write_bytes(b"a package two clients upload")
    blob = ctx.store.put_file(path)
    referencing, released = threading.Event(), []

    def release():
        referencing.wait(10)
        released.append((blobs.release(ctx, [blob.sha256]), time.monotonic()))

    thread = threading.Thread(target=release)
    thread.start()
    with ctx.transaction() as session:
        blobs.keep(ctx, session, [(path, blob)])
        referencing.set()
        time.sleep(1)  # the release must wait for this transaction
        session.add(Job(project_id=project, sha256=blob.sha256, size=blob.size, package_id="x"))
        committed = time.monotonic()
    thread.join(30)
    [(removed, at)] = released
    assert removed == 0 and at >= committed and ctx.store.exists(blob.sha256)


def test_the_sweep_takes_old_unreferenced_blobs_only(ctx):
    project = _project(ctx)
    old_loose = ctx.store.put([b"left by a dead process"])
    young_loose = ctx.store.put([b"about to be committed"])
    old_used = ctx.store.put([b"an onboarded package"])
    _package_with(ctx, project, old_used.sha256, old_used.size)
    an_hour_ago = time.time() - 3600
    for blob in (old_loose, old_used):
        os.utime(ctx.store.path_of(blob.sha256), (an_hour_ago, an_hour_ago))
    assert blobs.sweep(ctx, older_than=600) == 1
    assert not ctx.store.exists(old_loose.sha256)
    assert ctx.store.exists(young_loose.sha256) and ctx.store.exists(old_used.sha256)
