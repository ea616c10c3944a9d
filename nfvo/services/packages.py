"""VNF packages: accept an upload as a job, list, show, delete; VNFD reads."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from nfvo.db.models import Job, PackageImage, VimInstance, Vnfd, VnfPackage, new_id, utcnow
from nfvo.errors import JobNotFound, NfvoError, PackageNotFound, VnfdNotFound
from nfvo.services.context import Context, in_project
from nfvo.services.vims import connected

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Received:
    """An upload already streamed to disk, with the hash computed on the way."""

    path: Path
    filename: str
    sha256: str
    size: int


def submit(ctx: Context, project_id: str, upload: Received, enqueue: Callable[[str], None]) -> Job:
    """Creates the onboarding job for ``upload`` and enqueues it after the commit.

    The committed job is the promise: if the broker cannot take the message now, the job
    stays queued and a worker's sweep enqueues it again once it is NFVO_JOB_STALE_SECONDS old.
    """
    with ctx.transaction() as session:
        job = Job(project_id=project_id, upload_path=str(upload.path), filename=upload.filename,
                  sha256=upload.sha256, size=upload.size, package_id=new_id())
        session.add(job)
    try:
        enqueue(job.id)
    except Exception:  # any broker failure; the sweep recovers the job
        log.warning("job %s is queued but the broker did not take it; a sweep will", job.id, exc_info=True)
    return job


def get_job(ctx: Context, project_id: str, job_id: str) -> Job:
    with ctx.session() as session:
        return in_project(session, Job, job_id, project_id, JobNotFound, "job")


def stalled_jobs(ctx: Context) -> list[str]:
    """Ids of unfinished jobs nobody has touched for NFVO_JOB_STALE_SECONDS (their worker died, or
    their message was lost), oldest first. Enqueueing them again is harmless: a job is claimed
    only when queued or stale."""
    cutoff = utcnow() - timedelta(seconds=ctx.settings.job_stale_after)
    query = select(Job.id).where(Job.state.in_(("queued", "running")), Job.updated_at < cutoff)
    with ctx.session() as session:
        return list(session.scalars(query.order_by(Job.created_at)))


def reclaim_all_jobs(ctx: Context) -> list[str]:
    """Embedded mode at start: no other worker can hold a job, so every running job is queued
    again; returns the ids of all unfinished jobs, oldest first."""
    with ctx.transaction() as session:
        session.execute(update(Job).where(Job.state == "running").values(state="queued", step="requeued"))
        return list(session.scalars(select(Job.id).where(Job.state == "queued").order_by(Job.created_at)))


def list_packages(ctx: Context, project_id: str) -> list[VnfPackage]:
    with ctx.session() as session:
        return list(session.scalars(
            select(VnfPackage).where(VnfPackage.project_id == project_id).order_by(VnfPackage.created_at)
        ))


def get_package(ctx: Context, project_id: str, package_id: str) -> VnfPackage:
    with ctx.session() as session:
        return in_project(session, VnfPackage, package_id, project_id, PackageNotFound, "VNF package")


def vnfd_of_package(ctx: Context, package_id: str) -> Vnfd:
    with ctx.session() as session:
        return session.scalars(select(Vnfd).where(Vnfd.package_id == package_id)).one()


def delete_package(ctx: Context, project_id: str, package_id: str) -> None:
    """Removes the package, its VNFD, its scripts and the images nfvo uploaded for it
    that no other package uses. Images on a VIM that cannot be reached stay there (logged)."""
    with ctx.transaction() as session:
        package = in_project(session, VnfPackage, package_id, project_id, PackageNotFound, "VNF package")
        mine = list(session.scalars(select(PackageImage).where(PackageImage.package_id == package_id)))
        orphans = []
        for row in mine:
            others = session.scalar(select(PackageImage.id).where(
                PackageImage.vim_id == row.vim_id, PackageImage.image_id == row.image_id,
                PackageImage.package_id != package_id).limit(1))
            if row.uploaded and others is None:
                orphans.append((session.get(VimInstance, row.vim_id), row.image_id))
        session.delete(package)
    for vim, image_id in orphans:
        try:
            with connected(ctx, vim) as driver:
                driver.delete_image(image_id)
        except NfvoError as exc:
            log.warning("image %s stays on VIM %s: %s", image_id, vim.name, exc.detail)
    shutil.rmtree(ctx.settings.packages_dir / package_id, ignore_errors=True)


def list_vnfds(ctx: Context, project_id: str) -> list[Vnfd]:
    with ctx.session() as session:
        return list(session.scalars(select(Vnfd).where(Vnfd.project_id == project_id).order_by(Vnfd.created_at)))


def get_vnfd(ctx: Context, project_id: str, vnfd_id: str) -> Vnfd:
    with ctx.session() as session:
        return in_project(session, Vnfd, vnfd_id, project_id, VnfdNotFound, "VNF descriptor")


def delete_vnfd(ctx: Context, project_id: str, vnfd_id: str) -> None:
    """Deleting the VNFD of a package deletes the package (Open Baton keeps them together)."""
    vnfd = get_vnfd(ctx, project_id, vnfd_id)
    if vnfd.package_id:
        delete_package(ctx, project_id, vnfd.package_id)
        return
    with ctx.transaction() as session:
        session.delete(session.get(Vnfd, vnfd_id))
