"""Putting a catalogue image on VIMs: the job ``POST /api/v1/images/{id}/distribute`` queues.

The image goes the way every package image goes (:func:`nfvo.services.image_placement.place`):
on each VIM an image with the same bytes is used if there is one, else the image is uploaded
once (from the content store's file by a kernel copy where the driver can, streamed otherwise),
its digest known, so the VIM's own checksum confirms it. Each VIM's image is recorded as the
catalogue image's placement in one commit with the job's success; a failed job removes what it
uploaded, as an onboarding job does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import delete

from nfvo.db.models import CatalogueImage, CataloguePlacement, Job, VimInstance, utcnow
from nfvo.domain.archive import IMAGE, Member
from nfvo.domain.images import ImageConfig, ImageRequest
from nfvo.errors import ImageNotFound
from nfvo.formats.base import Package
from nfvo.services import job_runs
from nfvo.services.context import Context
from nfvo.services.image_placement import owned_at_commit, place
from nfvo.services.job_runs import Attempt, Superseded
from nfvo.store import ContentStore

#: the one member of a catalogue image seen as a package
MEMBER = "image"


def vim_image_name(image: CatalogueImage) -> str:
    """The name a catalogue image has on the VIMs nfvo puts it on: ``<name>-<version>``."""
    return f"{image.name}-{image.version}"


def run(ctx: Context, job_id: str, *, final_attempt: bool = True) -> None:
    """Runs distribution job ``job_id`` (see :func:`nfvo.services.job_runs.run_job`)."""
    job_runs.run_job(ctx, job_id, _distribute, final_attempt=final_attempt, what="Distributing the image")


def _distribute(ctx: Context, job: Job, work: Path, attempt: Attempt) -> None:
    with ctx.session() as session:
        image = session.get(CatalogueImage, job.image_id)
        vims = [v for v in (session.get(VimInstance, vim_id) for vim_id in job.vim_ids) if v is not None]
    if image is None:
        raise ImageNotFound(f"Image {job.image_id} was deleted before it could be distributed")
    request = image_request(image)
    attempt.member_hashes[MEMBER] = image.sha256  # hashed when it arrived: not hashed again
    package = Package(format="catalogue", identity=(image.id,), describe=f"Image {image.name!r}", name=image.name,
                      vendor="", version=image.version, images=(request,), members=_Blob(ctx.store, image))
    job_runs.progress(ctx, attempt, "putting the image on the VIMs", 10)
    resolved = place(ctx, package, {request.key: vims}, attempt, work)
    with ctx.transaction() as session:
        resolved = owned_at_commit(session, resolved)  # first: the image-ownership lock
        row = session.get(Job, job.id)
        if row.attempts != attempt.token or row.state != "running":
            raise Superseded(job.id)
        if session.get(CatalogueImage, image.id) is None:
            raise ImageNotFound(f"Image {image.id} was deleted while it was being distributed")
        session.execute(delete(CataloguePlacement).where(CataloguePlacement.image_id == image.id,
                                                         CataloguePlacement.vim_id.in_([r.vim.id for r in resolved])))
        session.add_all(CataloguePlacement(image_id=image.id, vim_id=r.vim.id, vim_image_id=r.image.id,
                                           vim_image_name=r.image.name, uploaded=r.uploaded, decision=r.decision)
                        for r in resolved)
        row.state, row.step, row.progress, row.updated_at = "succeeded", "done", 100, utcnow()


def image_request(image: CatalogueImage) -> ImageRequest:
    """The catalogue image as an image request: uploaded (unless the same bytes are there)."""
    config = ImageConfig(name=vim_image_name(image), disk_format=image.disk_format,
                         container_format=image.container_format, min_disk=image.min_disk, min_ram=image.min_ram)
    return ImageRequest(key=image.name, upload="true", names=(config.name,), file=MEMBER, config=config,
                        source_file="catalogue", pointer=f"/images/{image.id}", stated=False, size=image.size,
                        digest=("sha256", image.sha256))


class _Blob:
    """The image's blob as the one member of a package: where the store keeps it as a file on this
    host, that file (so a local VIM copies it in the kernel)."""

    def __init__(self, store: ContentStore, image: CatalogueImage):
        self._store, self._sha256 = store, image.sha256
        self.members = {MEMBER: Member(MEMBER, image.size, False, IMAGE)}
        self.display_name = image.name

    @contextlib.contextmanager
    def open_member(self, name: str) -> Iterator[BinaryIO]:
        with self._store.open(self._sha256) as stream:
            yield stream

    def locate(self, name: str) -> tuple[Path, int] | None:
        path = self._store.local_path(self._sha256)
        return (path, 0) if path is not None else None
