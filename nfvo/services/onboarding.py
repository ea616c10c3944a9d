"""Onboarding an Open Baton VNF package: the job a worker runs, step by step.

The job row is the truth. A run first claims the job (a queued one, or a running one
whose worker stopped beating) and gets the job's attempt number as a fencing token:
every later write of that run to the job is conditional on it, so a run that lost its
claim can neither overwrite the outcome nor commit. While it runs, a heartbeat thread
keeps the claim alive, whatever step it is in.

Image ownership is exact under any interleaving of jobs. An image nfvo creates is recorded at
once as nfvo's (``created_images``) and as used by the job (``jobs.uploads``); an image a job
finds on the VIM (same bytes, same link, named by the package) is recorded as used by the job
before the job relies on it, under the VIM's ownership lock and after checking that it is still
there. A job that fails releases what it used: each image nfvo created is removed unless a
committed package or another unfinished job uses it (:func:`nfvo.services.packages.release_image`,
decided under the same lock). So an image survives while a committed package uses it and goes
once none does, whichever job created it.

The package, its VNFD, its image records and the job's success are committed in one
transaction, under the ownership lock of the VIMs involved; nothing else was written on failure.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

import nfvo_plugin_sdk as sdk
from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from nfvo.db.models import CreatedImage, EtsiPackage, Job, PackageImage, VimInstance, Vnfd, VnfPackage, new_id, utcnow
from nfvo.domain import findings, openbaton
from nfvo.domain.archive import ArchiveLimits, PackageArchive
from nfvo.domain.entity_ids import with_entity_ids
from nfvo.domain.images import ImageRequest, decide, lookups_needed
from nfvo.errors import (
    DuplicatePackage,
    ImageResolutionFailed,
    ImageVerificationFailed,
    Issue,
    NfvoError,
    NoMatchingVim,
    ValidationFailed,
)
from nfvo.fetch import fetch_git, open_http
from nfvo.services import links
from nfvo.services.context import Context
from nfvo.services.packages import CSAR_JOB, created_by_nfvo, lock_vims, release_image
from nfvo.services.vims import connected
from nfvo.streams import CHUNK, HashingReader, sha256_of

log = logging.getLogger(__name__)

TERMINAL = ("succeeded", "failed")


class RetryLater(Exception):
    """A retryable error on a non-final attempt: the task should run the job again later."""

    def __init__(self, cause: NfvoError):
        super().__init__(str(cause))
        self.cause = cause


class Superseded(Exception):
    """Another run claimed this job (this one was thought dead); this run must stop writing."""


@dataclass
class _Resolved:
    request: ImageRequest
    vim: VimInstance
    image: sdk.Image
    uploaded: bool
    decision: str
    source: str | None = None
    note: Issue | None = None  # a warning about how the image got there (see nfvo.services.links)


@dataclass
class _Attempt:
    """One run of a job: its fencing token, and the (VIM id, image id) the job uses so far (in any run)."""

    job: Job
    used: set[tuple[str, str]] = field(default_factory=set)
    member_hashes: dict[str, str] = field(default_factory=dict)

    @property
    def token(self) -> int:
        return self.job.attempts


def run(ctx: Context, job_id: str, *, final_attempt: bool = True) -> None:
    """Runs onboarding job ``job_id``; does nothing for a finished job or one alive on another worker.

    Every outcome is written to the job row. Raises RetryLater only for a retryable
    error (a VIM that cannot be reached) when ``final_attempt`` is false.
    """
    job = _claim(ctx, job_id)
    if job is None:
        return
    attempt = _Attempt(job, used={tuple(u) for u in job.uploads or []})
    work = ctx.settings.work_dir / job_id
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        with _Heartbeat(ctx, attempt):
            _steps(job)(ctx, job, work, attempt)
    except Superseded:
        log.warning("onboarding job %s was claimed by another worker; this run stops", job_id)
    except NfvoError as exc:
        if exc.retryable and not final_attempt:
            _write(ctx, attempt, state="queued", step=("waiting to retry: " + exc.detail)[:64])
            raise RetryLater(exc) from exc
        _give_up(ctx, attempt, exc)
    except Exception:
        log.exception("onboarding job %s failed unexpectedly", job_id)
        _give_up(ctx, attempt, NfvoError("Onboarding failed unexpectedly; the service log has the details"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _steps(job: Job) -> Callable[[Context, Job, Path, _Attempt], None]:
    """The steps of the job's kind: an Open Baton package, or an ETSI CSAR (``onboard-csar``)."""
    if job.kind == CSAR_JOB:
        from nfvo.services.etsi_onboarding import onboard_csar  # it builds on this module

        return onboard_csar
    return _onboard


# --- the job row ----------------------------------------------------------------------


def _claim(ctx: Context, job_id: str) -> Job | None:
    """The job, claimed for this run (recording this worker as host:pid); None when it is finished
    or alive on another worker. The conditional UPDATE makes two claims impossible."""
    stale = utcnow() - timedelta(seconds=ctx.settings.job_stale_after)
    with ctx.transaction() as session:
        claimed = session.execute(
            update(Job)
            .where(Job.id == job_id)
            .where(or_(Job.state == "queued", and_(Job.state == "running", Job.updated_at < stale)))
            .values(state="running", step="reading package", attempts=Job.attempts + 1, updated_at=utcnow(),
                    worker=f"{socket.gethostname()}:{os.getpid()}")
        ).rowcount
        return session.get(Job, job_id) if claimed else None


def _write(ctx: Context, attempt: _Attempt, **values) -> None:
    """Updates the job (and its heartbeat) if this run still holds it; Superseded otherwise."""
    with ctx.transaction() as session:
        _write_in(session, attempt, **values)


def _write_in(session, attempt: _Attempt, **values) -> None:
    """:func:`_write` within ``session``'s transaction (Superseded rolls it back)."""
    done = session.execute(
        update(Job)
        .where(Job.id == attempt.job.id, Job.attempts == attempt.token, Job.state == "running")
        .values(updated_at=utcnow(), **values)
    ).rowcount
    if not done:
        raise Superseded(attempt.job.id)


def _progress(ctx: Context, attempt: _Attempt, step: str, progress: int) -> None:
    _write(ctx, attempt, step=step[:64], progress=progress)


class _Heartbeat:
    """While the job runs, refreshes its heartbeat every quarter of NFVO_JOB_STALE_SECONDS."""

    def __init__(self, ctx: Context, attempt: _Attempt):
        self._ctx, self._attempt = ctx, attempt
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{attempt.job.id}", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self._ctx.settings.job_stale_after / 4):
            try:
                _write(self._ctx, self._attempt)
            except Superseded:
                return
            except Exception:  # the database may be briefly away; the next beat tries again
                log.warning("heartbeat of job %s failed", self._attempt.job.id, exc_info=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()


def _record_upload(ctx: Context, attempt: _Attempt, vim: VimInstance, image_id: str) -> None:
    """Records at once, in one transaction, that nfvo created ``image_id`` on ``vim`` and that
    this job uses it. No lock is needed: nobody can have decided about an image not yet created
    (a job that found it meanwhile uses it, so it stays)."""
    attempt.used.add((vim.id, image_id))
    with ctx.transaction() as session:
        # Two jobs uploading the same name and bytes may get the same image back (idempotent drivers).
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        session.execute(insert(CreatedImage).values(vim_id=vim.id, image_id=image_id, job_id=attempt.job.id,
                                                    created_at=utcnow()).on_conflict_do_nothing())
        _write_in(session, attempt, uploads=sorted([list(u) for u in attempt.used]))


def _use(ctx: Context, attempt: _Attempt, driver: sdk.VimDriver, vim: VimInstance, image: sdk.Image) -> bool:
    """Records that this job uses ``image``, which it found on ``vim``, so that no failing job or
    package deletion removes it now. Under the VIM's ownership lock the image must still be there:
    False when a failing job removed it in between (the caller then goes on as if it was never found)."""
    if (vim.id, image.id) in attempt.used:
        return True
    with ctx.transaction() as session:
        lock_vims(session, [vim.id])
        if not any(found.id == image.id for found in driver.find_images(id=image.id)):
            return False
        _write_in(session, attempt, uploads=sorted([list(u) for u in attempt.used | {(vim.id, image.id)}]))
    attempt.used.add((vim.id, image.id))
    return True


def _give_up(ctx: Context, attempt: _Attempt, exc: NfvoError) -> None:
    """Marks the job failed with ``exc``'s problem, then releases the images it used (the failed
    job no longer counts as using them, so the last user of an image nfvo created removes it)."""
    try:
        _write(ctx, attempt, state="failed", step="failed", problem=exc.to_problem())
    except Superseded:
        return
    _undo_uploads(ctx, attempt)
    if attempt.job.upload_path:
        Path(attempt.job.upload_path).unlink(missing_ok=True)


def _undo_uploads(ctx: Context, attempt: _Attempt) -> None:
    """Removes each image the job used that nfvo created and nothing else uses, each decided
    under its VIM's ownership lock."""
    for vim_id, image_id in sorted(attempt.used):
        with ctx.transaction() as session:
            lock_vims(session, [vim_id])
            release_image(ctx, session, vim_id, image_id, job_id=attempt.job.id)


# --- the steps ------------------------------------------------------------------------


def _package_file(ctx: Context, job: Job) -> Path:
    """The uploaded tar; after a crash between storing and committing it is already in place."""
    upload = Path(job.upload_path)
    return upload if upload.exists() else ctx.settings.packages_dir / job.package_id / "package.tar"


def _onboard(ctx: Context, job: Job, work: Path, attempt: _Attempt) -> None:
    limits = ArchiveLimits.from_settings(ctx.settings)  # scripts are extracted within NFVO_MAX_SCRIPT_SIZE
    with PackageArchive.open(_package_file(ctx, job), limits, display_name=job.filename or "package") as archive:
        package = openbaton.read_package(archive, strict=job.strict)
        _progress(ctx, attempt, "checking duplicates", 10)
        identity = _identity(package)
        _refuse_duplicate(ctx, job.project_id, identity, package)

        vims, vim_issues = _target_vims(ctx, job.project_id, package)  # before any clone: no VIM, no fetch
        _progress(ctx, attempt, "fetching scripts", 20)
        scripts, link, commit = _collect_scripts(ctx, archive, package, work)
        issues = openbaton.missing_scripts(package, scripts) if link else []
        warnings = findings.settle([*package.warnings, *issues, *vim_issues], archive.display_name,
                                   strict=job.strict)

        _progress(ctx, attempt, "resolving images", 30)
        resolved = _resolve_images(ctx, archive, package, vims, attempt, work)
    warnings += tuple(r.note for r in resolved if r.note)  # how images travelled: not validation, never strict

    vnfd_body = openbaton.fill_vm_images(package.vnfd, _names_by_vdu(package, resolved))
    _refuse_vdus_without_image(package, vnfd_body)
    _commit(ctx, attempt, package, identity, vnfd_body, scripts, link, commit, resolved, warnings)


def _identity(package: openbaton.OpenBatonPackage) -> str:
    """Open Baton's duplicate key: same name, vendor, version, NFVO version, endpoint, OS and tag."""
    m = package.metadata
    key = [m.name, m.vendor, m.version, m.nfvo_version, package.vnfd.get("endpoint"), m.os_id, m.os_version,
           m.os_architecture, m.tag]
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()


def _refuse_duplicate(ctx: Context, project_id: str, identity: str, package: openbaton.OpenBatonPackage) -> None:
    with ctx.session() as session:
        existing = session.scalar(
            select(VnfPackage.id).where(VnfPackage.project_id == project_id, VnfPackage.identity == identity)
        )
    if existing:
        m = package.metadata
        raise DuplicatePackage(
            f"Package {m.name!r} (vendor {m.vendor!r}, version {m.version!r}) is already onboarded as {existing}"
        )


def _collect_scripts(
    ctx: Context, archive: PackageArchive, package: openbaton.OpenBatonPackage, work: Path
) -> tuple[dict[str, Path], str | None, str | None]:
    """(script name -> file in the work directory, scripts-link without credentials, its commit).
    scripts-link wins over the package's scripts/ folder."""
    if package.metadata.scripts_link:
        checkout = fetch_git(package.metadata.scripts_link, work / "scripts-link", ctx.fetch_policy)
        return {name: checkout.path / name for name in checkout.files}, checkout.url, checkout.commit
    target = work / "scripts"
    target.mkdir()
    scripts = {}
    for member in package.scripts:
        path = archive.extract_file(member, target)
        scripts[path.name] = path
    return scripts, None, None


def _target_vims(
    ctx: Context, project_id: str, package: openbaton.OpenBatonPackage
) -> tuple[list[VimInstance], list[Issue]]:
    """The project's VIM instances whose type is in vim_types (every VIM when vim_types is empty),
    and an Issue for each VDU ``vimInstanceName`` that names no such VIM."""
    types = set(package.metadata.vim_types)
    with ctx.session() as session:
        all_vims = list(session.scalars(select(VimInstance).where(VimInstance.project_id == project_id)))
    vims = [v for v in all_vims if not types or v.type in types]
    by_name = {v.name: v for v in all_vims}
    issues = []
    for i, vdu in enumerate(package.vnfd.get("vdu", [])):
        for j, name in enumerate(vdu.get("vimInstanceName") or []):
            pointer = f"/vdu/{i}/vimInstanceName/{j}"
            if name not in by_name:
                issues.append(package.vnfd_source.issue(pointer, f"no VIM instance named {name!r} in this project"))
            elif by_name[name] not in vims:
                issues.append(package.vnfd_source.issue(
                    pointer, f"VIM instance {name!r} is of type {by_name[name].type!r}, not one of vim_types"))
    if not vims and package.metadata.images:
        raise NoMatchingVim(
            f"The project has no VIM instance of type {', '.join(sorted(types))}; register one first",
            errors=[Issue(f"vim_types {sorted(types)} match no VIM instance", file=package.metadata_file,
                          pointer="/vim_types")],
        )
    return vims, issues


def _vims_for_images(package: openbaton.OpenBatonPackage, vims: list[VimInstance]) -> list[VimInstance]:
    """VIMs the package's images must reach: those its VDUs name in vimInstanceName, else all target VIMs."""
    named = {name for vdu in package.vnfd.get("vdu", []) for name in vdu.get("vimInstanceName") or []}
    return [v for v in vims if v.name in named] if named else vims


def _resolve_images(
    ctx: Context, archive: PackageArchive, package: openbaton.OpenBatonPackage, vims: list[VimInstance],
    attempt: _Attempt, work: Path,
) -> list[_Resolved]:
    """Decides every (image, VIM) pair first, reporting all failures at once, then uploads. A link
    that goes to several VIMs is downloaded once, into ``work``."""
    plan, issues = [], []
    for request in package.metadata.images:
        for vim in _vims_for_images(package, vims):
            try:
                plan.append((request, vim, _decide(ctx, request, vim)))
            except ImageResolutionFailed as exc:
                issues.extend(exc.errors or [Issue(exc.detail)])
    if issues:
        raise ImageResolutionFailed(f"{len(issues)} images cannot be resolved", errors=issues)

    downloads = _Downloads(ctx, work, [r.link for r, _, d in plan if d.action == "upload" and r.link])
    resolved = []
    for n, (request, vim, decision) in enumerate(plan, 1):
        _progress(ctx, attempt, f"image {request.key} on {vim.name}", 30 + 60 * n // (len(plan) + 1))
        with connected(ctx, vim) as driver:
            if decision.action == "use":
                resolved.append(_Resolved(request, vim, _used_as_named(ctx, attempt, driver, vim, decision),
                                          False, decision.reason))
            else:
                resolved.append(_upload(ctx, driver, archive, request, vim, attempt, downloads))
    return resolved


class _Downloads:
    """Opens image links for uploads: a link that several uploads need is downloaded once into
    ``work`` (on first use) and read from there; any other is streamed from the link itself."""

    def __init__(self, ctx: Context, work: Path | None, links: list[str]):
        self._ctx, self._dir = ctx, work / "links" if work else None
        self._shared = {link for link in links if links.count(link) > 1}
        self._files: dict[str, Path] = {}

    @contextlib.contextmanager
    def open(self, link: str) -> Iterator[tuple[BinaryIO, int | None]]:
        """``(stream, size)`` of the bytes behind ``link``."""
        if link not in self._shared:
            with open_http(link, self._ctx.fetch_policy) as stream:
                yield stream, stream.size
            return
        if link not in self._files:
            self._dir.mkdir(exist_ok=True)
            path = self._dir / f"{len(self._files)}.img"
            with open_http(link, self._ctx.fetch_policy) as stream, open(path, "wb") as out:
                shutil.copyfileobj(stream, out, CHUNK)
            self._files[link] = path
        with open(self._files[link], "rb") as stream:
            yield stream, self._files[link].stat().st_size


def _decide(ctx: Context, request: ImageRequest, vim: VimInstance):
    """The policy's decision for ``request`` on ``vim``; an upload from a link the VIM can get
    neither way (imported by the VIM, or streamed by nfvo) fails here, before anything is uploaded."""
    by_ids, by_names = {}, {}
    with connected(ctx, vim) as driver:
        if lookups_needed(request):
            by_ids = {i: [im.id for im in driver.find_images(id=i)] for i in request.ids}
            by_names = {n: [im.id for im in driver.find_images(name=n)] for n in request.names}
        decision = decide(request, by_ids=by_ids, by_names=by_names, vim_name=vim.name)
        if decision.action == "upload" and request.link:
            links.method(driver, request, vim)
    return decision


def _used_as_named(ctx: Context, attempt: _Attempt, driver: sdk.VimDriver, vim: VimInstance, decision) -> sdk.Image:
    """The existing image the package names (by id or name), recorded as used by this job;
    ImageResolutionFailed when it vanished from the VIM meanwhile."""
    image = driver.get_image(decision.image_id)
    if not _use(ctx, attempt, driver, vim, image):
        raise ImageResolutionFailed(f"Image {image.id} was removed from VIM {vim.name!r} during onboarding")
    return image


def _upload(
    ctx: Context, driver: sdk.VimDriver, archive: PackageArchive, request: ImageRequest, vim: VimInstance,
    attempt: _Attempt, downloads: _Downloads | None = None,
) -> _Resolved:
    """Puts the request's image on ``vim``; an image with the same bytes already there is reused.
    A link travels as :func:`nfvo.services.links.carry` decides; nfvo opens the links it streams
    with ``downloads`` (default: each streamed from the link)."""
    if request.file:
        size = archive.members[request.file].size
        reused = _same_bytes_on_vim(driver, archive, request.file, size, request.config.name, attempt)
        if reused and _use(ctx, attempt, driver, vim, reused):
            return _Resolved(request, vim, reused, False, f"same content as image {reused.id}")
        with archive.open_member(request.file) as stream:
            image = _stream(ctx, driver, request, vim, attempt, stream, size)
        return _Resolved(request, vim, image, False, f"uploaded from {request.file}", source=f"package:{request.file}")
    reused = _reused_link(ctx, driver, vim, request.link)
    if reused and _use(ctx, attempt, driver, vim, reused):
        return _Resolved(request, vim, reused, False, f"already downloaded from {request.link}", source=request.link)

    def imported() -> sdk.Image:
        return _put(ctx, driver, request, vim, attempt, lambda: driver.import_image(request.config, request.link))

    def streamed() -> sdk.Image:
        with (downloads or _Downloads(ctx, None, [])).open(request.link) as (stream, size):
            return _stream(ctx, driver, request, vim, attempt, stream, size)

    way = links.carry(driver, request, vim, ctx.fetch_policy, imported=imported, streamed=streamed)
    return _Resolved(request, vim, way.image, False, way.how, source=request.link, note=way.note)


def _stream(ctx: Context, driver: sdk.VimDriver, request: ImageRequest, vim: VimInstance, attempt: _Attempt,
            stream: BinaryIO, size: int | None) -> sdk.Image:
    """Uploads ``stream`` while hashing it, then checks the VIM holds those bytes (see :func:`_verify`)."""
    reader = HashingReader(stream)
    image = _put(ctx, driver, request, vim, attempt, lambda: driver.upload_image(request.config, reader, size=size))
    _verify(image, reader.hexdigest(), request, vim)
    return image


def _same_bytes_on_vim(driver: sdk.VimDriver, archive: PackageArchive, member: str, size: int, name: str,
                       attempt: _Attempt) -> sdk.Image | None:
    """An image on the VIM with exactly this member's bytes, preferring one named ``name``.

    Only when some image has the same size is the member hashed first (one extra read);
    otherwise no image can match, and the upload's own hash is the only one computed.
    """
    if not any(image.size == size for image in driver.list_images()):
        return None
    if member not in attempt.member_hashes:
        with archive.open_member(member) as stream:
            attempt.member_hashes[member] = sha256_of(stream)[0]
    same = driver.find_images(sha256=attempt.member_hashes[member])
    return next((i for i in same if i.name == name), same[0] if same else None)


def _put(ctx: Context, driver: sdk.VimDriver, request: ImageRequest, vim: VimInstance, attempt: _Attempt,
         create: Callable[[], sdk.Image]) -> sdk.Image:
    """Creates the image with ``create()`` (an upload or an import) and records it as created by
    nfvo; one the driver handed back that existed before is recorded as used, like a found one."""
    before = {i.id for i in driver.find_images(name=request.config.name)}
    image = create()
    if image.id not in before:
        _record_upload(ctx, attempt, vim, image.id)
    elif not _use(ctx, attempt, driver, vim, image):
        raise ImageResolutionFailed(f"Image {image.id} was removed from VIM {vim.name!r} during onboarding")
    return image


def _reused_link(ctx: Context, driver: sdk.VimDriver, vim: VimInstance, link: str) -> sdk.Image | None:
    """An image nfvo downloaded from this very link before and that is still on the VIM unchanged."""
    with ctx.session() as session:
        rows = session.execute(
            select(PackageImage.image_id, PackageImage.sha256).where(
                PackageImage.vim_id == vim.id, PackageImage.source == link
            )
        ).all()
    for image_id, sha in rows:
        for image in driver.find_images(id=image_id):
            if sha and image.sha256 == sha:
                return image
    return None


def owned_at_commit(session, resolved: list[_Resolved]) -> list[_Resolved]:
    """First statement of a package's commit: takes the ownership lock of every VIM the package's
    images are on (held until the commit, so no release decides in between), and returns the
    resolved images with ``uploaded`` true exactly for those nfvo created (by this or another job)."""
    lock_vims(session, [r.vim.id for r in resolved])
    created = created_by_nfvo(session, [(r.vim.id, r.image.id) for r in resolved])
    return [dataclasses.replace(r, uploaded=(r.vim.id, r.image.id) in created) for r in resolved]


def _verify(image: sdk.Image, sha: str, request: ImageRequest, vim: VimInstance) -> None:
    """The VIM must report the bytes nfvo streamed; a driver that reports no checksum is trusted."""
    if image.sha256 and image.sha256 != sha:
        raise ImageVerificationFailed(
            f"VIM {vim.name!r} stored image {image.id} with sha256 {image.sha256}, nfvo sent {sha}",
            errors=[Issue("checksum mismatch after upload", file=request.source_file, line=request.source_line,
                          pointer=request.block_pointer)],
        )


def _names_by_vdu(package: openbaton.OpenBatonPackage, resolved: list[_Resolved]) -> dict[int, list[str]]:
    """Every VDU may use every resolved image (Open Baton's rule), each name once, in order."""
    names = list(dict.fromkeys(r.image.name for r in resolved))
    return {i: names for i in range(len(package.vnfd.get("vdu", [])))}


def _refuse_vdus_without_image(package: openbaton.OpenBatonPackage, vnfd_body: dict) -> None:
    """Every VDU must end up with an image: its own vm_image, or one resolved for it."""
    issues = [
        package.vnfd_source.issue(f"/vdu/{i}/vm_image", "no image for this VDU: give vm_image, or an image in "
                                  "Metadata.yaml that reaches one of its VIM instances")
        for i, vdu in enumerate(vnfd_body.get("vdu", []))
        if not [name for name in vdu.get("vm_image") or [] if name]
    ]
    if issues:
        raise ValidationFailed(f"{len(issues)} VDUs have no image", errors=issues)


def _commit(
    ctx: Context, attempt: _Attempt, package: openbaton.OpenBatonPackage, identity: str, vnfd_body: dict,
    scripts: dict[str, Path], link: str | None, commit: str | None, resolved: list[_Resolved],
    warnings: tuple[Issue, ...],
) -> None:
    """Stores the package's files, then commits package, VNFD, images and job success (with the
    package's validation warnings) at once."""
    job, m = attempt.job, package.metadata
    package_dir = ctx.settings.packages_dir / job.package_id
    (package_dir / "scripts").mkdir(parents=True, exist_ok=True)
    for name, path in scripts.items():
        shutil.copyfile(path, package_dir / "scripts" / name)
    stored = package_dir / "package.tar"
    source = _package_file(ctx, job)
    if source != stored:
        source.replace(stored)
    vnfd_id = new_id()
    vnfd_body = {**with_entity_ids(vnfd_body, new_id), "id": vnfd_id, "vnfPackageLocation": job.package_id,
                 "projectId": job.project_id}
    vnfd_body.setdefault("vendor", m.vendor)
    vnfd_body.setdefault("version", m.version)
    try:
        with ctx.transaction() as session:
            resolved = owned_at_commit(session, resolved)
            row = session.get(Job, job.id)
            if row.attempts != attempt.token or row.state != "running":
                raise Superseded(job.id)
            session.add(VnfPackage(
                id=job.package_id, project_id=job.project_id, identity=identity, name=m.name, vendor=m.vendor,
                version=m.version, nfvo_version=m.nfvo_version, vim_types=list(m.vim_types), sha256=job.sha256,
                size=job.size, filename=job.filename, scripts_link=link, scripts_commit=commit,
                scripts=sorted(scripts), meta={**m.raw, "scripts-link": link} if link else m.raw,
                warnings=[w.to_dict() for w in warnings],
            ))
            session.flush()
            session.add(Vnfd(id=vnfd_id, project_id=job.project_id, package_id=job.package_id, name=vnfd_body["name"],
                             vendor=vnfd_body.get("vendor") or "", version=str(vnfd_body.get("version") or ""),
                             body=vnfd_body))
            for r in resolved:
                session.add(PackageImage(
                    package_id=job.package_id, vim_id=r.vim.id, image_id=r.image.id, image_name=r.image.name,
                    request_key=r.request.key, sha256=r.image.sha256, uploaded=r.uploaded, decision=r.decision,
                    source=r.source,
                ))
            etsi = session.get(EtsiPackage, job.package_id)  # uploaded through /vnfpkgm/v1
            if etsi is not None:
                etsi.onboarding_state, etsi.operational_state, etsi.failure = "ONBOARDED", "ENABLED", None
            row.state, row.step, row.progress, row.updated_at = "succeeded", "done", 100, utcnow()
            row.warnings = [w.to_dict() for w in warnings]
    except IntegrityError:
        shutil.rmtree(package_dir, ignore_errors=True)
        raise DuplicatePackage(f"Package {m.name!r} was onboarded by another job at the same time") from None
    except Superseded:
        raise
    except Exception:
        shutil.rmtree(package_dir, ignore_errors=True)
        raise
