"""Onboarding a VNF package of any format: the job a worker runs, step by step.

One run for every format (see :mod:`nfvo.formats`): claim the job with a fencing token and
keep it alive (:mod:`nfvo.services.job_runs`); read the package with its format; refuse a
duplicate; choose the VIM instances (the package's own choice, then a SOL005 package's
``userDefinedData``); collect the files the format keeps; put every image on its VIMs
(:mod:`nfvo.services.image_placement`); then commit the package, its VNFD, its image records,
its SOL005 record and the job's success in one transaction, under the ownership lock of the
VIMs involved. Nothing else was written on failure, and the images the job used are released.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from nfvo.db.models import EtsiPackage, Job, PackageFile, PackageImage, VimInstance, Vnfd, VnfPackage, new_id, utcnow
from nfvo.domain import findings
from nfvo.domain.archive import ArchiveLimits
from nfvo.domain.entity_ids import with_entity_ids
from nfvo.errors import DuplicatePackage, Issue, NoMatchingVim, PackageNotFound
from nfvo.fetch import fetch_git
from nfvo.formats import registry
from nfvo.formats.base import Checkout, Fetchers, Files, NsdRequest, Package, PackageFormat
from nfvo.services import blobs, catalogue_refs, job_runs, nsds, packages
from nfvo.services.context import Context
from nfvo.services.etsi_packages import vim_selection
from nfvo.services.flavours import create_flavours
from nfvo.services.image_placement import Resolved, owned_at_commit, place
from nfvo.services.job_runs import Attempt, RetryLater, Superseded
from nfvo.store import Blob

log = logging.getLogger(__name__)

TERMINAL = ("succeeded", "failed")

__all__ = ["TERMINAL", "RetryLater", "run"]


def run(ctx: Context, job_id: str, *, final_attempt: bool = True) -> None:
    """Runs onboarding job ``job_id``; does nothing for a finished job or one alive on another worker.

    Every outcome is written to the job row. Raises RetryLater only for a retryable
    error (a VIM that cannot be reached) when ``final_attempt`` is false.
    """
    job_runs.run_job(ctx, job_id, _onboard, final_attempt=final_attempt, what="Onboarding")


@dataclass(frozen=True)
class _Sol005:
    """The package's SOL005 record when it has one (uploaded through /vnfpkgm/v1, or of a format
    with its own SOL005 view): whether it exists, and its ``userDefinedData``."""

    exists: bool
    user_defined_data: dict


def _onboard(ctx: Context, job: Job, work: Path, attempt: Attempt) -> None:
    """Reads the package where it is: the content store's own file; through ranged reads of the
    store when it has no local file and the package's format reads streams (known from the
    job's kind: the API detected it); else a copy in ``work``."""
    limits = ArchiveLimits.from_settings(ctx.settings)
    fmt = packages.format_of_kind(job.kind)
    if job.sha256 and not job.upload_path and fmt is not None and fmt.opens_streams \
            and ctx.store.local_path(job.sha256) is None:
        def opener():
            return ctx.store.seekable(job.sha256, job.size)
        _onboard_file(ctx, job, work, attempt, work / (job.filename or fmt.stored_as), limits, fmt, opener=opener)
        return
    with _package_file(ctx, job, work) as source:
        _onboard_file(ctx, job, work, attempt, source, limits, registry.detect(source, job.filename))


def _onboard_file(ctx: Context, job: Job, work: Path, attempt: Attempt, source: Path, limits: ArchiveLimits,
                  fmt: PackageFormat, *, opener=None) -> None:
    sol005 = _sol005(ctx, job)
    display = job.filename or fmt.stored_as
    (work / "format").mkdir()
    streams = {"opener": opener} if opener is not None else {}
    with fmt.open(source, limits=limits, display_name=display, work=work / "format", strict=job.strict,
                  **streams) as package:
        attempt.member_hashes.update(_hashed_on_receipt(job, package.members))
        job_runs.progress(ctx, attempt, "checking duplicates", 10)
        identity = hashlib.sha256(json.dumps(list(package.identity)).encode()).hexdigest()
        _refuse_duplicate(ctx, job.project_id, identity, package)

        vims, plan, vim_issues = _choose_vims(ctx, job, package, sol005)  # before any fetch: no VIM, no fetch
        job_runs.progress(ctx, attempt, "collecting files", 20)
        files = fmt.files(package, _fetchers(ctx), work)
        warnings = findings.settle([*package.warnings, *files.issues, *vim_issues], display, strict=job.strict)

        job_runs.progress(ctx, attempt, "resolving images", 30)
        package = catalogue_refs.resolve(ctx, job.project_id, package, attempt)
        resolved = catalogue_refs.relabel(place(ctx, package, plan, attempt, work), package.members)
        warnings += tuple(r.note for r in resolved if r.note)  # how images travelled: not validation, never strict
        targets = {v.id: v for chosen in plan.values() for v in chosen} or {v.id: v for v in vims}
        warnings += tuple(create_flavours(ctx, package, targets.values()))  # what a VIM cannot hold: never strict
        names: dict[str, list[str]] = {}
        for r in resolved:
            names.setdefault(r.request.key, [])
            if r.image.name not in names[r.request.key]:
                names[r.request.key].append(r.image.name)
        vnfds = fmt.vnfds(package, names)
        sizes = {r.request.file or r.request.link: r.image.size for r in resolved if r.image.size}
        sizes |= {i.file: package.members.members[i.file].size for i in package.images if i.file}
        info = fmt.package_info(package, sizes, job.sha256)
        _commit(ctx, attempt, fmt, package,
                _Commit(identity, vnfds, fmt.nsds(package), files, resolved, vims, warnings, info, sol005))


def _hashed_on_receipt(job: Job, members) -> dict[str, str]:
    """The SHA-256 of each member the API hashed while the package arrived (``member_digests``),
    taken only for a member this run's own reading finds at that offset with that size."""
    offset_of = getattr(members, "offset_of", None)  # optional in the Members protocol
    if not job.member_digests or offset_of is None:
        return {}
    digests = {(offset, size): sha256 for offset, size, sha256 in job.member_digests}
    known = {}
    for name, member in members.members.items():
        offset = None if member.is_dir or not member.size else offset_of(name)
        if offset is not None and (offset, member.size) in digests:
            known[name] = digests[offset, member.size]
    return known


@contextlib.contextmanager
def _package_file(ctx: Context, job: Job, work: Path) -> Iterator[Path]:
    """The received package as a file on this host: the content store's own file, else a copy in
    ``work``; the upload file of a job queued by an nfvo before the content store."""
    if job.upload_path and Path(job.upload_path).exists():
        yield Path(job.upload_path)
        return
    with blobs.local_file(ctx, job.sha256, work, "package") as path:
        yield path


def _sol005(ctx: Context, job: Job) -> _Sol005:
    with ctx.session() as session:
        row = session.get(EtsiPackage, job.package_id)
        return _Sol005(row is not None, dict(row.user_defined_data or {}) if row else {})


def _fetchers(ctx: Context) -> Fetchers:
    def git(url: str, into: Path) -> Checkout:
        checkout = fetch_git(url, into, ctx.fetch_policy)
        return Checkout(checkout.path, tuple(checkout.files), checkout.url, checkout.commit)

    return Fetchers(git=git)


def _refuse_duplicate(ctx: Context, project_id: str, identity: str, package: Package) -> None:
    with ctx.session() as session:
        existing = session.scalar(
            select(VnfPackage.id).where(VnfPackage.project_id == project_id, VnfPackage.identity == identity))
    if existing:
        raise DuplicatePackage(f"{package.describe} is already onboarded in this project as {existing}")


def _choose_vims(ctx: Context, job: Job, package: Package,
                 sol005: _Sol005) -> tuple[list[VimInstance], dict[str, list[VimInstance]], list[Issue]]:
    """The chosen VIM instances, the VIMs each image request goes to, and an Issue for each VIM
    the package or its ``userDefinedData`` names that the project lacks (or of another type).

    The package's choice first (its types, then the VIMs it names), then ``userDefinedData``
    (``vimInstances`` by name or id, ``vimTypes``). NoMatchingVim when images remain but no VIM."""
    with ctx.session() as session:
        all_vims = list(session.scalars(select(VimInstance).where(VimInstance.project_id == job.project_id)
                                        .order_by(VimInstance.name)))
    choice, issues = package.vims, []
    vims = [v for v in all_vims if not choice.types or v.type in choice.types]
    by_name = {v.name: v for v in all_vims}
    for name, at in choice.named:
        if name not in by_name:
            issues.append(_at(at, f"no VIM instance named {name!r} in this project"))
        elif by_name[name] not in vims:
            issues.append(_at(at, f"VIM instance {name!r} is of type {by_name[name].type!r}, not one of vim_types"))
    names, types, data_issues = vim_selection(sol005.user_defined_data)
    issues += data_issues
    if names is not None:
        by_ref = {v.name: v for v in all_vims} | {v.id: v for v in all_vims}
        issues += [Issue(f"no VIM instance {n!r} in this project", pointer=f"/userDefinedData/vimInstances/{i}")
                   for i, n in enumerate(names) if n not in by_ref]
        wanted = {by_ref[n].id for n in names if n in by_ref}
        vims = [v for v in vims if v.id in wanted]
    if types is not None:
        vims = [v for v in vims if v.type in types]
    if not vims and package.images:
        raise _no_vim(choice, names is not None or types is not None)
    named = {name for name, _ in choice.named}
    targets = [v for v in vims if v.name in named] if named else vims
    return vims, {r.key: targets for r in package.images}, issues


def _at(where: Issue, message: str) -> Issue:
    return Issue(message, where.file, where.line, where.pointer)


def _no_vim(choice, by_user_data: bool) -> NoMatchingVim:
    """No VIM is left for the package's images: because of the package's VIM types, or of the
    ``userDefinedData`` of its SOL005 record."""
    if choice.types and not by_user_data:
        types = ", ".join(sorted(choice.types))
        return NoMatchingVim(f"The project has no VIM instance of type {types}; register one first",
                             errors=[choice.types_at or Issue(f"VIM types {types} match no VIM instance")])
    if by_user_data:
        return NoMatchingVim("No VIM instance is selected for the package's images; register one, or change "
                             "userDefinedData vimInstances/vimTypes",
                             errors=[Issue("selects no VIM instance", pointer="/userDefinedData")])
    return NoMatchingVim("The project has no VIM instance for the package's images; register one first",
                         errors=[Issue("no VIM instance in this project")])


@dataclass(frozen=True)
class _Commit:
    identity: str
    vnfds: list[dict]
    nsds: tuple[NsdRequest, ...]
    files: Files
    resolved: list[Resolved]
    vims: list[VimInstance]
    warnings: tuple[Issue, ...]
    info: dict | None
    sol005: _Sol005


def _commit(ctx: Context, attempt: Attempt, fmt: PackageFormat, package: Package, c: _Commit) -> None:
    """Stores the package's files, then commits package, its files, VNFD, images, SOL005 record
    and job success (with the package's warnings) at once."""
    job = attempt.job
    kept = _store_files(ctx, c.files)
    record = fmt.record(package)
    bodies = [{**with_entity_ids(vnfd, new_id, verbatim=fmt.verbatim_keys), "id": new_id(),
               "vnfPackageLocation": job.package_id, "projectId": job.project_id} for vnfd in c.vnfds]
    warnings = [w.to_dict() for w in c.warnings]
    vim_types = list(record.vim_types) if record.vim_types is not None else sorted({v.type for v in c.vims})
    meta = {**record.meta, "scripts-link": c.files.scripts_link} if c.files.scripts_link else record.meta
    try:
        with ctx.transaction() as session:
            resolved = owned_at_commit(session, c.resolved)  # first: the image-ownership lock
            row = session.get(Job, job.id)
            if row.attempts != attempt.token or row.state != "running":
                raise Superseded(job.id)
            etsi = session.get(EtsiPackage, job.package_id)
            if etsi is None and c.sol005.exists:
                raise PackageNotFound(f"VNF package {job.package_id} was deleted")
            session.add(VnfPackage(
                id=job.package_id, project_id=job.project_id, identity=c.identity, format=fmt.name, name=package.name,
                vendor=package.vendor, version=package.version, nfvo_version=record.nfvo_version,
                vim_types=vim_types, sha256=job.sha256, size=job.size, filename=job.filename,
                scripts_link=c.files.scripts_link, scripts_commit=c.files.scripts_commit,
                scripts=sorted(c.files.scripts), meta=meta, warnings=warnings))
            session.flush()
            blobs.keep(ctx, session, kept.values())
            session.add(PackageFile(package_id=job.package_id, name=fmt.stored_as, sha256=job.sha256, size=job.size))
            session.add_all(PackageFile(package_id=job.package_id, name=name, sha256=blob.sha256, size=blob.size)
                            for name, (_, blob) in kept.items())
            now = utcnow()  # the package's own VNFD first: created_at orders a package's VNFDs
            vnfds = [Vnfd(id=body["id"], project_id=job.project_id, package_id=job.package_id, name=body["name"],
                          vendor=body.get("vendor") or "", version=str(body.get("version") or ""), body=body,
                          created_at=now + timedelta(microseconds=i)) for i, body in enumerate(bodies)]
            session.add_all(vnfds)
            session.flush()
            own = {(v.vendor, v.name, v.version): v for v in vnfds}
            unresolved = nsds.create_for_package(session, job.project_id, job.package_id, c.nsds, own)
            if unresolved:  # how the package's services fared: never strict
                warnings = warnings + [w.to_dict() for w in unresolved]
                session.get(VnfPackage, job.package_id).warnings = warnings
            catalogue_refs.record_placements(session, resolved)
            for r in resolved:
                session.add(PackageImage(
                    package_id=job.package_id, vim_id=r.vim.id, image_id=r.image.id, image_name=r.image.name,
                    request_key=r.request.key, sha256=r.image.sha256, uploaded=r.uploaded, decision=r.decision,
                    source=r.source))
            if etsi is not None:  # as in Tacker and every SOL005 NFVO: onboarded means usable
                etsi.onboarding_state, etsi.operational_state, etsi.failure = "ONBOARDED", "ENABLED", None
                if c.info is not None:
                    etsi.info = c.info
            row.state, row.step, row.progress, row.updated_at = "succeeded", "done", 100, utcnow()
            row.warnings = warnings
    except IntegrityError:
        blobs.release(ctx, [blob.sha256 for _, blob in kept.values()])
        raise DuplicatePackage(f"{package.describe} was onboarded by another job at the same time") from None
    except BaseException:
        blobs.release(ctx, [blob.sha256 for _, blob in kept.values()])
        raise


def _store_files(ctx: Context, files: Files) -> dict[str, tuple[Path, Blob]]:
    """The package's scripts (as ``scripts/<name>``) and other files its format keeps, put into the
    content store; by name, each with the file it came from (kept until the job ends)."""
    wanted = {f"scripts/{name}": path for name, path in files.scripts.items()} | dict(files.stored)
    return {name: (path, ctx.store.put_file(path)) for name, path in wanted.items()}
