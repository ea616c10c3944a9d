"""ETSI SOL005 VNF package management (/vnfpkgm/v1): create, list, show, modify, delete, receive
content, and the files of onboarded packages.

A package created here has an ``etsi_packages`` row from the start; onboarding (a job, see
:mod:`nfvo.services.onboarding`) adds the ``vnf_packages`` row with the same id. Packages onboarded by the Open Baton API have no row until they are first
modified here, and read as ONBOARDED and ENABLED. The onboarding state is the row's, except
while PROCESSING, when the job decides: a failed job means ERROR with the job's problem.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import BinaryIO

from sqlalchemy import delete, or_, select, update

from nfvo.db.models import EtsiPackage, Job, Nsd, Vnfd, VnfPackage, nsd_vnfds, utcnow
from nfvo.domain.archive import normalise_member_name
from nfvo.domain.sol013 import Condition, matches
from nfvo.errors import (
    ArtifactNotFound,
    BadRequest,
    Issue,
    NfvoError,
    NoChange,
    PackageNotFound,
    PackageStateConflict,
    TooLarge,
    UploadInterrupted,
    ValidationFailed,
)
from nfvo.fetch import check_link
from nfvo.formats import registry
from nfvo.formats.etsi import INNER_FILE
from nfvo.formats.openbaton import OpenBatonFormat
from nfvo.services import blobs, packages, receiving
from nfvo.services.context import Context
from nfvo.store import Blob

log = logging.getLogger(__name__)

#: how often a running upload marks its package as still receiving
HEARTBEAT_SECONDS = 5.0
#: attributes left out of VnfPkgInfo unless asked for (SOL005 clause 9.4.2.3.2)
COMPLEX_ATTRIBUTES = ("softwareImages", "additionalArtifacts", "userDefinedData", "checksum",
                      "onboardingFailureDetails", "warnings")
#: attributes a filter or selector may name; ``*`` allows any sub-attribute
ATTRIBUTES = {
    "id": (), "vnfdId": (), "vnfProvider": (), "vnfProductName": (), "vnfSoftwareVersion": (), "vnfdVersion": (),
    "checksum": ("algorithm", "hash"),
    "softwareImages": ("id", "name", "provider", "version", "checksum", "containerFormat", "diskFormat", "createdAt",
                       "minDisk", "minRam", "size", "imagePath", "userMetadata"),
    "additionalArtifacts": ("artifactPath", "checksum", "metadata"),
    "onboardingState": (), "operationalState": (), "usageState": (), "userDefinedData": ("*",),
    "onboardingFailureDetails": ("*",), "packageFormat": (), "_links": ("*",),
    "warnings": ("severity", "message", "file", "line", "pointer"),  # nfvo's: the validation warnings
}


def known_attribute(path: tuple[str, ...]) -> bool:
    """Whether ``path`` names an attribute of VnfPkgInfo (for filters and selectors)."""
    if not path or path[0] not in ATTRIBUTES:
        return False
    subs = ATTRIBUTES[path[0]]
    return len(path) == 1 or "*" in subs or path[1] in subs


# --- reading ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One page of VnfPkgInfo documents and the marker of the next page (None on the last)."""

    items: list[dict]
    next_marker: str | None


def show(ctx: Context, project_id: str, package_id: str) -> dict:
    """The VnfPkgInfo of one package (without ``_links``); PackageNotFound if the project has none."""
    _expire_stalled_uploads(ctx, project_id)
    with ctx.session() as session:
        documents = _documents(session, project_id, [package_id])
    if not documents:
        raise PackageNotFound(f"No VNF package {package_id!r} in this project")
    return _public(documents[0])


def list_page(ctx: Context, project_id: str, conditions: Iterable[Condition], marker: str | None,
              page_size: int) -> Page:
    """The project's packages matching every condition, oldest first, from ``marker`` on (the
    ``nextpage_opaque_marker`` of the previous page); BadRequest for a marker nfvo did not make."""
    after = _read_marker(marker) if marker else None
    conditions = list(conditions)
    _expire_stalled_uploads(ctx, project_id)
    with ctx.session() as session:
        documents = _documents(session, project_id, None)
    chosen = [d for d in documents if (after is None or _order(d) > after) and matches(d, conditions)]
    items = chosen[:page_size]
    more = len(chosen) > page_size
    return Page([_public(d) for d in items],
                _marker(_order(items[-1])) if more else None)


def _public(document: dict) -> dict:
    """A document as clients see it: without nfvo's ``_order`` key."""
    return {k: v for k, v in document.items() if k != "_order"}


def _order(document: dict) -> tuple[str, str]:
    return document["_order"], document["id"]


def _marker(order: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(order).encode()).decode().rstrip("=")


def _read_marker(marker: str) -> tuple[str, str]:
    try:
        if len(marker) > 512:  # nfvo's markers are short; a long one is not ours
            raise ValueError(marker)
        created, package_id = json.loads(base64.urlsafe_b64decode(marker + "=" * (-len(marker) % 4)))
        return str(created), str(package_id)
    except (binascii.Error, ValueError, TypeError, RecursionError):
        raise BadRequest("nextpage_opaque_marker is not one nfvo made; follow the Link rel=\"next\" header",
                         errors=[Issue("unknown marker", pointer="/nextpage_opaque_marker")]) from None


def _documents(session, project_id: str, ids: list[str] | None) -> list[dict]:
    """VnfPkgInfo documents (with an ``_order`` key) of the project's packages, all or ``ids``."""
    etsi_query = select(EtsiPackage).where(EtsiPackage.project_id == project_id)
    package_query = select(VnfPackage).where(VnfPackage.project_id == project_id)
    if ids is not None:
        etsi_query = etsi_query.where(EtsiPackage.id.in_(ids))
        package_query = package_query.where(VnfPackage.id.in_(ids))
    rows = {r.id: r for r in session.scalars(etsi_query)}
    onboarded = {p.id: p for p in session.scalars(package_query)}
    jobs = {j.id: j for j in session.scalars(select(Job).where(Job.id.in_(
        [r.job_id for r in rows.values() if r.job_id and r.onboarding_state == "PROCESSING"])))}
    vnfds = dict(session.execute(select(Vnfd.package_id, Vnfd.id).where(Vnfd.package_id.in_(list(onboarded)))
                                 .order_by(Vnfd.created_at.desc(), Vnfd.id.desc())).all())  # the first wins
    used = set(session.scalars(select(Vnfd.package_id).join(nsd_vnfds, nsd_vnfds.c.vnfd_id == Vnfd.id)
                               .join(Nsd, Nsd.id == nsd_vnfds.c.nsd_id)
                               .where(Vnfd.package_id.in_(list(onboarded)),
                                      or_(Nsd.package_id.is_(None), Nsd.package_id != Vnfd.package_id))))
    documents = []
    for package_id in set(rows) | set(onboarded):
        row, package = rows.get(package_id), onboarded.get(package_id)
        if row is not None and row.onboarding_state == "ONBOARDED" and package is None:
            continue  # deleted through the Open Baton API while this row was being written
        documents.append(_document(row, package, vnfds.get(package_id), jobs.get(row.job_id) if row else None,
                                   package_id in used))
    return sorted(documents, key=_order)


def _document(row: EtsiPackage | None, package: VnfPackage | None, vnfd_id: str | None, job: Job | None,
              in_use: bool) -> dict:
    state, failure = (row.onboarding_state, row.failure) if row else ("ONBOARDED", None)
    if state == "PROCESSING" and job is not None and job.state == "failed":
        state, failure = "ERROR", job.problem
    info = dict(row.info["pkgInfo"]) if row and "pkgInfo" in (row.info or {}) else (
        _openbaton_info(package, vnfd_id) if package else {})
    created = (row.created_at if row else package.created_at).isoformat()
    document = {"id": (row or package).id, **info, "onboardingState": state,
                "operationalState": row.operational_state if row else "ENABLED",
                "usageState": "IN_USE" if in_use else "NOT_IN_USE",
                "userDefinedData": dict(row.user_defined_data or {}) if row else {}, "_order": created}
    if state == "ERROR":
        document["onboardingFailureDetails"] = failure or {"status": 500, "detail": "Onboarding failed"}
    if package is not None:
        document["warnings"] = list(package.warnings or [])
    return document


def _openbaton_info(package: VnfPackage, vnfd_id: str | None) -> dict:
    """VnfPkgInfo attributes of a package onboarded by the Open Baton API (see docs/etsi.md)."""
    images = {}
    for image in package.images:
        images.setdefault(image.request_key, {
            "id": image.request_key, "name": image.image_name, "provider": package.vendor, "version": "",
            "checksum": {"algorithm": "SHA-256", "hash": image.sha256 or ""}, "imagePath": image.source or "",
            "userMetadata": {}})
    return {"vnfdId": vnfd_id, "vnfProvider": package.vendor, "vnfProductName": package.name,
            "vnfSoftwareVersion": package.version, "vnfdVersion": package.version,
            "checksum": {"algorithm": "SHA-256", "hash": package.sha256}, "softwareImages": list(images.values()),
            "additionalArtifacts": [], "packageFormat": package.format}


# --- creating, modifying, deleting ------------------------------------------------------


def create(ctx: Context, project_id: str, user_defined_data: dict) -> dict:
    """A new package: CREATED, DISABLED, NOT_IN_USE (ENABLED once it is ONBOARDED)."""
    with ctx.transaction() as session:
        row = EtsiPackage(project_id=project_id, user_defined_data=user_defined_data, info={})
        session.add(row)
    return show(ctx, project_id, row.id)


def modify(ctx: Context, project_id: str, package_id: str, changes: dict) -> dict:
    """Applies a merge patch of ``operationalState`` and/or ``userDefinedData``; returns the changes.

    ``operationalState`` changes only for an ONBOARDED package (PackageStateConflict otherwise);
    ``userDefinedData`` is merged (RFC 7396: a null removes a key). NoChange when nothing would change.
    """
    _expire_stalled_uploads(ctx, project_id)
    with ctx.transaction() as session:
        current = _documents(session, project_id, [package_id])
        if not current:
            raise PackageNotFound(f"No VNF package {package_id!r} in this project")
        current = current[0]
        row = session.get(EtsiPackage, package_id) or _row_for_openbaton(session, project_id, package_id)
        changed = False
        if "operationalState" in changes:
            if current["onboardingState"] != "ONBOARDED":
                raise PackageStateConflict(f"VNF package {package_id} is {current['onboardingState']}; only an "
                                           "ONBOARDED package can be enabled or disabled")
            changed |= changes["operationalState"] != row.operational_state
            row.operational_state = changes["operationalState"]
        if "userDefinedData" in changes:
            check_user_defined_data(changes["userDefinedData"])
            merged = _merge_patch(dict(row.user_defined_data or {}), changes["userDefinedData"])
            changed |= merged != (row.user_defined_data or {})
            row.user_defined_data = merged
        if not changed:
            raise NoChange(f"VNF package {package_id} already has these values")
    return changes


def _row_for_openbaton(session, project_id: str, package_id: str) -> EtsiPackage:
    package = session.get(VnfPackage, package_id)
    row = EtsiPackage(id=package_id, project_id=project_id, onboarding_state="ONBOARDED", operational_state="ENABLED",
                      user_defined_data={}, info={}, created_at=package.created_at)
    session.add(row)
    return row


def _merge_patch(target: dict, patch: dict) -> dict:
    result = dict(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merge_patch(result[key], value)
        else:
            result[key] = value
    return result


def remove(ctx: Context, project_id: str, package_id: str) -> None:
    """Deletes the package: PackageStateConflict while UPLOADING, PROCESSING or ENABLED, InUse while
    an NSD uses its VNFD. An onboarded package goes as through the Open Baton API (its images
    nfvo uploaded, its files, its VNFD)."""
    current = show(ctx, project_id, package_id)
    state = current["onboardingState"]
    if state in ("UPLOADING", "PROCESSING"):
        raise PackageStateConflict(f"VNF package {package_id} is {state}; wait until it is ONBOARDED or ERROR")
    if state == "ONBOARDED":
        if current["operationalState"] == "ENABLED":
            raise PackageStateConflict(f"VNF package {package_id} is ENABLED; disable it first")
        packages.delete_package(ctx, project_id, package_id)
    with ctx.transaction() as session:
        session.execute(delete(EtsiPackage).where(EtsiPackage.id == package_id, EtsiPackage.project_id == project_id))


# --- receiving content ------------------------------------------------------------------


def receive(ctx: Context, project_id: str, package_id: str, stream: BinaryIO, enqueue: Callable[[str], None], *,
            strict: bool = False, filename: str | None = None) -> None:
    """Streams the package in ``stream`` to disk, hashing it, and starts its onboarding job (validating
    strictly when ``strict``, or when NFVO_VALIDATION is strict). The content decides the format: a
    zip is a CSAR, anything else an Open Baton tar. Findings name the package ``filename`` (the
    client's name for it), else the package id.

    PackageStateConflict unless the package is CREATED. Once the bytes flow the package is
    UPLOADING; if receiving fails (TooLarge over NFVO_MAX_PACKAGE_SIZE, a broken connection, a
    content store that cannot be reached) it becomes ERROR with that problem, and the error is raised.
    """
    _start_upload(ctx, project_id, package_id)
    alive, limit = _Heartbeat(ctx, package_id), ctx.settings.max_package_size

    def progress(size: int) -> None:
        alive(size)
        if size > limit:
            raise TooLarge(f"The package is over the limit of {limit} bytes (NFVO_MAX_PACKAGE_SIZE)")

    try:
        received = receiving.store_upload(ctx, stream, filename or package_id, progress=progress)
        _submit(ctx, project_id, package_id, received, enqueue, strict)
    except BaseException as exc:
        _fail_upload(ctx, package_id, exc)
        raise


def receive_from_uri(ctx: Context, project_id: str, package_id: str, url: str, enqueue: Callable[[str], None],
                     basic_auth: tuple[str, str] | None = None, *, strict: bool = False) -> None:
    """Fetches the CSAR at ``url`` (nfvo's link policy, NFVO_MAX_PACKAGE_SIZE, time limits) and
    starts its onboarding job. A link the policy refuses raises FetchRefused and leaves the package
    CREATED; a fetch that fails once started makes it ERROR (and raises). ``basic_auth`` (user
    name, password) is sent as HTTP Basic to the URL's own origin only, and never stored."""
    check_link(url, ctx.fetch_policy)
    _start_upload(ctx, project_id, package_id)
    try:
        received = receiving.download(ctx, url, progress=_Heartbeat(ctx, package_id), basic_auth=basic_auth,
                                     default_name=package_id)
        _submit(ctx, project_id, package_id, received, enqueue, strict)
    except BaseException as exc:
        _fail_upload(ctx, package_id, exc)
        raise


class _Heartbeat:
    """Called as bytes arrive; keeps an UPLOADING package's ``updated_at`` fresh (at most once every
    HEARTBEAT_SECONDS), so that only an upload nobody is receiving any more looks stalled."""

    def __init__(self, ctx: Context, package_id: str):
        self._ctx, self._package_id, self._last = ctx, package_id, time.monotonic()

    def __call__(self, _received: int = 0) -> None:
        if time.monotonic() - self._last < HEARTBEAT_SECONDS:
            return
        self._last = time.monotonic()
        with self._ctx.transaction() as session:
            session.execute(update(EtsiPackage).where(EtsiPackage.id == self._package_id,
                                                      EtsiPackage.onboarding_state == "UPLOADING")
                            .values(updated_at=utcnow()))


def _expire_stalled_uploads(ctx: Context, project_id: str) -> None:
    """UPLOADING packages whose bytes stopped arriving NFVO_JOB_STALE_SECONDS ago (the client, the
    connection or the receiving nfvo process went away) become ERROR with UploadInterrupted."""
    cutoff = utcnow() - timedelta(seconds=ctx.settings.job_stale_after)
    stalled = (EtsiPackage.project_id == project_id, EtsiPackage.onboarding_state == "UPLOADING",
               EtsiPackage.updated_at < cutoff)
    with ctx.session() as session:  # reads are the common case: write only when something stalled
        if session.scalar(select(EtsiPackage.id).where(*stalled).limit(1)) is None:
            return
    problem = UploadInterrupted(f"No content arrived for {ctx.settings.job_stale_after:g} s; create the package "
                                "again and upload its content").to_problem()
    with ctx.transaction() as session:
        session.execute(update(EtsiPackage).where(*stalled)
                        .values(onboarding_state="ERROR", failure=problem, updated_at=utcnow()))


def _start_upload(ctx: Context, project_id: str, package_id: str) -> None:
    with ctx.transaction() as session:
        done = session.execute(
            update(EtsiPackage).where(EtsiPackage.id == package_id, EtsiPackage.project_id == project_id,
                                      EtsiPackage.onboarding_state == "CREATED")
            .values(onboarding_state="UPLOADING", updated_at=utcnow())
        ).rowcount
    if not done:
        state = show(ctx, project_id, package_id)["onboardingState"]
        raise PackageStateConflict(f"VNF package {package_id} is {state}; content can be uploaded only to a "
                                   "CREATED package (create a new one)")


def _fail_upload(ctx: Context, package_id: str, exc: BaseException) -> None:
    """An UPLOADING package becomes ERROR with the problem of ``exc`` (any other state is left alone)."""
    error = exc if isinstance(exc, NfvoError) else NfvoError("Receiving the package content failed")
    with ctx.transaction() as session:
        session.execute(update(EtsiPackage).where(EtsiPackage.id == package_id,
                                                  EtsiPackage.onboarding_state == "UPLOADING")
                        .values(onboarding_state="ERROR", failure=error.to_problem(), updated_at=utcnow()))


def _submit(ctx: Context, project_id: str, package_id: str, received: receiving.Received,
            enqueue: Callable[[str], None], strict: bool) -> None:
    """PROCESSING with a new onboarding job, committed together; the job is enqueued after the commit
    (a lost message is recovered by the workers' sweep, as for every job). Only a package still
    UPLOADING moves on: one that was deleted, or declared interrupted meanwhile, raises
    UploadInterrupted. The received file is in the content store, or removed, afterwards."""
    kind = packages.job_kind(packages.detect(received))
    with receiving.stored_upload(ctx, received) as session:
        job = Job(project_id=project_id, kind=kind, filename=received.filename, sha256=received.sha256,
                  size=received.size, member_digests=[list(m) for m in received.members], package_id=package_id,
                  strict=packages.is_strict(ctx, strict))
        session.add(job)
        session.flush()
        moved = session.execute(
            update(EtsiPackage).where(EtsiPackage.id == package_id, EtsiPackage.project_id == project_id,
                                      EtsiPackage.onboarding_state == "UPLOADING")
            .values(onboarding_state="PROCESSING", job_id=job.id, updated_at=utcnow())).rowcount
        if not moved:
            raise UploadInterrupted(f"VNF package {package_id} was deleted or marked interrupted while its "
                                    "content arrived; create a new package")
    try:
        enqueue(job.id)
    except Exception:  # any broker failure; the sweep recovers the job
        log.warning("job %s is queued but the broker did not take it; a sweep will", job.id, exc_info=True)


# --- the files of an onboarded package --------------------------------------------------


@dataclass(frozen=True)
class StoredPackage:
    """Where an onboarded package's bytes are, as blobs of the content store. ``archive`` is the CSAR
    whose members are the package's files (the inner CSAR of a security option 2 package); None
    for Open Baton packages."""

    content: Blob
    media_type: str
    archive: Blob | None
    files: tuple[str, ...]
    vnfd_files: tuple[str, ...]
    vnfd_json: dict | None = None
    zip_extras: tuple[str, ...] = ()  # files that go with the VNFD files in its zip (TOSCA.meta)


def stored(ctx: Context, project_id: str, package_id: str) -> StoredPackage:
    """The files of an ONBOARDED package; PackageStateConflict in any other state."""
    document = show(ctx, project_id, package_id)
    if document["onboardingState"] != "ONBOARDED":
        raise PackageStateConflict(f"VNF package {package_id} is {document['onboardingState']}; its content is "
                                   "available once it is ONBOARDED")
    fmt = registry.get(document.get("packageFormat") or OpenBatonFormat.name)
    with ctx.session() as session:
        files = {name: Blob(row.sha256, row.size) for name, row in blobs.files_of(session, package_id).items()}
        info = session.get(EtsiPackage, package_id).info if fmt.own_package_info else None
    content = files[fmt.stored_as]
    if not fmt.own_package_info:
        vnfd = packages.vnfd_of_package(ctx, package_id)
        return StoredPackage(content, fmt.media_type, None, (), (), vnfd.body)
    return StoredPackage(content, fmt.media_type, files.get(INNER_FILE, content),
                         tuple(info.get("files", ())), tuple(info.get("vnfdFiles", ())),
                         zip_extras=tuple(info.get("zipExtras", ())))


def artifact_member(package: StoredPackage, path: str) -> str:
    """The member ``path`` names in the package; ArtifactNotFound unless it is one of its files."""
    name, problem = normalise_member_name(path)
    if problem or name != path or package.archive is None or name not in package.files:
        raise ArtifactNotFound(f"No file {path!r} in this VNF package",
                               errors=[Issue("not a file of the package", pointer="/artifactPath")])
    return name


def vim_selection(user_defined_data: dict) -> tuple[list[str] | None, list[str] | None, list[Issue]]:
    """(VIM instance names or ids, VIM types, problems) that ``userDefinedData`` selects with
    ``vimInstances`` and ``vimTypes`` (each a list of strings, or absent)."""
    issues, chosen = [], []
    for key in ("vimInstances", "vimTypes"):
        value = user_defined_data.get(key)
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            issues.append(Issue(f"{key} must be a list of strings", pointer=f"/userDefinedData/{key}"))
            value = None
        chosen.append(value)
    return chosen[0], chosen[1], issues


def check_user_defined_data(data) -> None:
    """ValidationFailed unless ``data`` is an object whose VIM selection keys are well formed."""
    if not isinstance(data, dict):
        raise ValidationFailed("userDefinedData must be an object",
                               errors=[Issue("must be an object", pointer="/userDefinedData")])
    issues = vim_selection(data)[2]
    if issues:
        raise ValidationFailed(f"{len(issues)} problems in userDefinedData", errors=issues)


__all__ = ["COMPLEX_ATTRIBUTES", "Page", "StoredPackage", "artifact_member", "check_user_defined_data",
           "create", "known_attribute", "list_page", "modify", "receive", "receive_from_uri", "remove", "show",
           "stored", "vim_selection"]
