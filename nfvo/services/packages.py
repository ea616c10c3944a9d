"""VNF packages: accept an upload as a job, list, show, delete; the VNFD catalogue."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import delete, select, update

from nfvo.db.models import (
    EtsiPackage,
    Job,
    Nsd,
    PackageFile,
    PackageImage,
    VimInstance,
    Vnfd,
    VnfPackage,
    new_id,
    utcnow,
)
from nfvo.domain.entity_ids import with_entity_ids
from nfvo.domain.openbaton import vnfd_issues
from nfvo.domain.sources import SourceDoc
from nfvo.errors import ArtifactNotFound, JobNotFound, NfvoError, PackageNotFound, ValidationFailed, VnfdNotFound
from nfvo.formats import registry
from nfvo.formats.base import PackageFormat
from nfvo.services import blobs
from nfvo.services.context import Context, in_project
from nfvo.services.image_ownership import lock_vims, release_image
from nfvo.services.nsds import follow_renamed_vnfd, refuse_if_used
from nfvo.services.receiving import Received, stored_upload
from nfvo.services.vims import connected
from nfvo.store import Blob

log = logging.getLogger(__name__)

#: the job kinds of the built-in formats (as shown on jobs); any other format's is ``onboard-<name>``
_JOB_KINDS = {"openbaton": "onboard", "etsi-sol004": "onboard-csar"}


def submit(ctx: Context, project_id: str, upload: Received, enqueue: Callable[[str], None], *,
           strict: bool = False) -> Job:
    """Puts ``upload`` into the content store, creates its onboarding job and enqueues it after the
    commit; the upload file is removed whatever happens (StoreUnavailable, retryable, when the
    store cannot be reached).

    The job validates strictly (warnings refuse the package) when ``strict`` is true or
    the service's NFVO_VALIDATION is ``strict``.

    The committed job is the promise: if the broker cannot take the message now, the job
    stays queued and a worker's sweep enqueues it again once it is NFVO_JOB_STALE_SECONDS old.
    """
    fmt = detect(upload)
    with stored_upload(ctx, upload) as session:
        job = Job(project_id=project_id, kind=job_kind(fmt), filename=upload.filename, sha256=upload.sha256,
                  size=upload.size, member_digests=[list(m) for m in upload.members], package_id=new_id(),
                  strict=is_strict(ctx, strict))
        session.add(job)
        if fmt.own_package_info:  # its SOL005 state, as if created and uploaded at /vnfpkgm/v1
            session.flush()
            session.add(EtsiPackage(id=job.package_id, project_id=project_id, onboarding_state="PROCESSING",
                                    job_id=job.id, user_defined_data={}))
    try:
        enqueue(job.id)
    except Exception:  # any broker failure; the sweep recovers the job
        log.warning("job %s is queued but the broker did not take it; a sweep will", job.id, exc_info=True)
    return job


def detect(upload: Received) -> PackageFormat:
    """The installed format that recognises the received package by its content (UnsafeArchive
    when none does: the upload file is then removed)."""
    try:
        return registry.detect(upload.path, upload.filename)
    except BaseException:
        upload.path.unlink(missing_ok=True)
        raise


def job_kind(fmt: PackageFormat) -> str:
    """The kind of the onboarding job for a package of format ``fmt``."""
    return _JOB_KINDS.get(fmt.name, f"onboard-{fmt.name}")


def format_of_kind(kind: str) -> PackageFormat | None:
    """The installed format whose packages get jobs of ``kind`` (see :func:`job_kind`); None when
    no working format has that kind."""
    return next((fmt for fmt in registry.formats() if job_kind(fmt) == kind), None)


def is_strict(ctx: Context, asked: bool) -> bool:
    """Whether a new job validates strictly: asked for by the request, or the service's setting."""
    return asked or ctx.settings.validation == "strict"


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


def sweep_leftovers(ctx: Context) -> int:
    """Removes what crashes left behind and nothing owns; returns how many files, directories and blobs.

    Ownership is decided by age and by reference: an upload file (``uploads/*.upload``) or a job
    work directory (``work/<job id>``) goes when it was not modified for NFVO_JOB_STALE_SECONDS
    and no unfinished job references it; so does a blob of the content store that no package and
    no unfinished job references (:func:`nfvo.services.blobs.sweep`); each VIM drops its partial
    uploads untouched for as long (the driver's ``drop_abandoned_uploads``). An upload being
    received, or an image being uploaded, keeps being written, so it stays. Safe in several
    processes at once.
    """
    stale = ctx.settings.job_stale_after
    cutoff = utcnow().timestamp() - stale
    with ctx.session() as session:
        live = session.execute(select(Job.id, Job.upload_path).where(Job.state.in_(("queued", "running")))).all()
        vims = list(session.scalars(select(VimInstance)))
    owned = {path for _, path in live if path} | {str(ctx.settings.work_dir / job_id) for job_id, _ in live}
    work = ctx.settings.work_dir
    candidates = [*ctx.settings.uploads_dir.glob("*.upload"), *(work.iterdir() if work.is_dir() else ())]
    removed = 0
    for path in candidates:
        try:
            if str(path) in owned or path.stat().st_mtime >= cutoff:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed += 1
        except FileNotFoundError:  # its job finished, or another sweep took it, meanwhile
            pass
    for vim in vims:
        removed += _drop_abandoned_uploads(ctx, vim, stale)
    try:
        removed += blobs.sweep(ctx, stale)
    except NfvoError as exc:
        log.warning("the content store is not swept this time: %s", exc.detail)
    return removed


def _drop_abandoned_uploads(ctx: Context, vim: VimInstance, older_than: float) -> int:
    """The VIM's driver drops its partial uploads of that age; only drivers that keep any (those
    overriding the SDK hook) are asked, so a remote VIM is not contacted for nothing."""
    from nfvo_plugin_sdk import VimDriver

    from nfvo import drivers

    try:
        if drivers.load(vim.type).drop_abandoned_uploads is VimDriver.drop_abandoned_uploads:
            return 0
        with connected(ctx, vim) as driver:
            return driver.drop_abandoned_uploads(older_than)
    except NfvoError as exc:
        log.warning("abandoned uploads stay on VIM %s: %s", vim.name, exc.detail)
        return 0


def list_packages(ctx: Context, project_id: str) -> list[VnfPackage]:
    with ctx.session() as session:
        return list(session.scalars(
            select(VnfPackage).where(VnfPackage.project_id == project_id).order_by(VnfPackage.created_at)
        ))


def get_package(ctx: Context, project_id: str, package_id: str) -> VnfPackage:
    with ctx.session() as session:
        return in_project(session, VnfPackage, package_id, project_id, PackageNotFound, "VNF package")


def script(ctx: Context, project_id: str, package_id: str, name: str) -> Blob:
    """The blob of the package's lifecycle script ``name`` (as listed in its ``scripts``);
    PackageNotFound outside the project, ArtifactNotFound when the package has no such script."""
    with ctx.session() as session:
        in_project(session, VnfPackage, package_id, project_id, PackageNotFound, "VNF package")
        row = session.get(PackageFile, (package_id, f"scripts/{name}"))
    if row is None:
        raise ArtifactNotFound(f"VNF package {package_id} has no script {name!r}")
    return Blob(row.sha256, row.size)


def vnfd_of_package(ctx: Context, package_id: str) -> Vnfd:
    """The package's own VNFD: its first, when its format gave several (see ``PackageFormat.vnfds``)."""
    with ctx.session() as session:
        return session.scalars(select(Vnfd).where(Vnfd.package_id == package_id)
                               .order_by(Vnfd.created_at, Vnfd.id).limit(1)).one()


def delete_package(ctx: Context, project_id: str, package_id: str) -> None:
    """Removes the package, its VNFDs, the NSDs it brought, its files (the blobs no other package
    uses) and the images nfvo created that nothing else uses any more (see :func:`release_image`).
    Images on a VIM that cannot be reached, and blobs of a store that cannot be, stay there (logged;
    the sweep removes the blobs later). InUse (nothing deleted) while another NSD uses one of its
    VNFDs."""
    with ctx.transaction() as session:
        vim_ids = session.scalars(select(PackageImage.vim_id).where(PackageImage.package_id == package_id))
        lock_vims(session, list(vim_ids))
        package = in_project(session, VnfPackage, package_id, project_id, PackageNotFound, "VNF package")
        refuse_if_used(session, session.scalars(select(Vnfd.id).where(Vnfd.package_id == package_id)),
                       f"VNF package {package_id}", package_id=package_id)
        session.execute(delete(Nsd).where(Nsd.package_id == package_id))  # its own NSDs go with it
        mine = {(row.vim_id, row.image_id) for row in package.images}
        digests = {row.sha256 for row in blobs.files_of(session, package_id).values()}
        session.delete(package)
        session.execute(delete(EtsiPackage).where(EtsiPackage.id == package_id))
        session.flush()
        for vim_id, image_id in sorted(mine):
            release_image(ctx, session, vim_id, image_id)
    blobs.release(ctx, digests)


#: page size of the VNFD list when ``size`` is not given, and the largest one allowed
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 100, 1000


def list_vnfds(ctx: Context, project_id: str, *, vendor: str | None = None, name: str | None = None,
               version: str | None = None, page: int = 0, size: int | None = None) -> tuple[list[Vnfd], bool]:
    """One page (0-based; all of them when ``size`` is None) of the project's VNFDs matching the
    filters, oldest first, and whether more follow. The (project, created_at, id) index keeps a
    page as cheap as the rows it returns plus the ones it skips, without reading their bodies."""
    query = select(Vnfd).where(Vnfd.project_id == project_id)
    for column, value in ((Vnfd.vendor, vendor), (Vnfd.name, name), (Vnfd.version, version)):
        if value is not None:
            query = query.where(column == value)
    query = query.order_by(Vnfd.created_at, Vnfd.id)
    if size is not None:
        query = query.offset(page * size).limit(size + 1)
    with ctx.session() as session:
        rows = list(session.scalars(query))
    if size is None:
        return rows, False
    return rows[:size], len(rows) > size


def get_vnfd(ctx: Context, project_id: str, vnfd_id: str) -> Vnfd:
    with ctx.session() as session:
        return in_project(session, Vnfd, vnfd_id, project_id, VnfdNotFound, "VNF descriptor")


def create_vnfd(ctx: Context, project_id: str, document: SourceDoc) -> Vnfd:
    """A catalogue VNFD (no package) from ``document.data``; ValidationFailed lists every problem,
    at its line in ``document``."""
    data = _checked_vnfd_body(document)
    with ctx.transaction() as session:
        vnfd = Vnfd(id=new_id(), project_id=project_id, package_id=None)
        _set_body(vnfd, data)
        session.add(vnfd)
    return vnfd


def replace_vnfd(ctx: Context, project_id: str, vnfd_id: str, document: SourceDoc) -> Vnfd:
    """PUT: the VNFD gets the new body and keeps its id (and its package link, if any)."""
    data = _checked_vnfd_body(document)
    with ctx.transaction() as session:
        vnfd = in_project(session, Vnfd, vnfd_id, project_id, VnfdNotFound, "VNF descriptor")
        old_name = vnfd.name
        _set_body(vnfd, data)
        follow_renamed_vnfd(session, vnfd, old_name)
    return vnfd


def _checked_vnfd_body(document: SourceDoc) -> dict:
    issues = [document.issue(i.pointer or "", i.message) for i in vnfd_issues(document.data)]
    if issues:
        count = len(issues)
        raise ValidationFailed(f"{count} problem{'s' if count != 1 else ''} in the VNF descriptor", errors=issues)
    return document.data


def _set_body(vnfd: Vnfd, data: dict) -> None:
    body = with_entity_ids({k: v for k, v in data.items() if k not in ("id", "vnfPackageLocation", "projectId")},
                           new_id)
    body["id"], body["projectId"] = vnfd.id, vnfd.project_id
    if vnfd.package_id:
        body["vnfPackageLocation"] = vnfd.package_id
    vnfd.name, vnfd.vendor, vnfd.version, vnfd.body = data["name"], data["vendor"], str(data["version"]), body


def delete_vnfd(ctx: Context, project_id: str, vnfd_id: str) -> None:
    """Deleting the VNFD of a package deletes the package (Open Baton keeps them together).
    InUse (nothing deleted) while an NSD uses it."""
    vnfd = get_vnfd(ctx, project_id, vnfd_id)
    if vnfd.package_id:
        delete_package(ctx, project_id, vnfd.package_id)
        return
    with ctx.transaction() as session:
        refuse_if_used(session, [vnfd_id], f"VNF descriptor {vnfd_id}")
        session.delete(session.get(Vnfd, vnfd_id))
