"""Onboarding an ETSI SOL004 CSAR: the steps of a job of kind ``onboard-csar``.

The job machinery (claim with a fencing token, heartbeat, retries, image ownership: recording
the images a job creates or uses and releasing them when it fails) is
:mod:`nfvo.services.onboarding`'s; this module reads the CSAR,
verifying every manifest hash while streaming it (images included), puts each software
image on every selected VIM through the same image resolution and drivers as Open Baton
packages, and commits the package, its VNFD (in the Open Baton form, see docs/etsi.md),
its image records, its VnfPkgInfo and the job's success in one transaction.

VIM selection: ``userDefinedData.vimInstances`` (VIM names or ids) if given, else every VIM
of the project; then ``userDefinedData.vimTypes`` (if given) keeps those of these types.
An image with a file or URL is matched by content: an image with the same bytes already on
the VIM is used, otherwise it is uploaded; an image without one must exist by name.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from nfvo.db.models import EtsiPackage, Job, PackageImage, VimInstance, Vnfd, VnfPackage, new_id, utcnow
from nfvo.domain.archive import ArchiveLimits, Member
from nfvo.domain.csar import CsarArchive, CsarPackage, read_csar
from nfvo.domain.entity_ids import with_entity_ids
from nfvo.errors import DuplicatePackage, ImageResolutionFailed, Issue, NoMatchingVim, PackageNotFound, ValidationFailed
from nfvo.fetch import open_http
from nfvo.services import onboarding
from nfvo.services.context import Context
from nfvo.services.etsi_packages import CONTENT_FILE, INNER_FILE, vim_selection
from nfvo.services.vims import connected
from nfvo.streams import copy_hashed

FORMAT = "etsi-sol004"


def _csar_file(ctx: Context, job: Job) -> Path:
    """The received CSAR; after a crash between storing and committing it is already in place."""
    upload = Path(job.upload_path)
    return upload if upload.exists() else ctx.settings.packages_dir / job.package_id / CONTENT_FILE


def onboard_csar(ctx: Context, job: Job, work: Path, attempt) -> None:
    """The steps of one run of ``job`` (``attempt`` is the run's :class:`onboarding._Attempt`)."""
    limits = ArchiveLimits.from_settings(ctx.settings)
    source = _csar_file(ctx, job)
    with CsarArchive.open(source, limits, display_name=job.filename or "package.zip", work_dir=work) as archive:
        package = read_csar(archive, strict=job.strict)
        onboarding._progress(ctx, attempt, "checking duplicates", 10)
        identity = hashlib.sha256(json.dumps([FORMAT, package.descriptor_id]).encode()).hexdigest()
        _refuse_duplicate(ctx, job.project_id, identity, package)
        vims = _target_vims(ctx, job, package)
        onboarding._progress(ctx, attempt, "resolving images", 30)
        linked = _fetch_linked_images(ctx, package, work) if vims else {}
        resolved = _resolve_images(ctx, archive, package, vims, attempt, linked)
        inner = archive.path if archive.path != source else None
        sizes = {i.file: archive.size_of(i.file) for i in package.vnfd.images if i.file}
        sizes |= {link: path.stat().st_size for link, path in linked.items()}
        _commit(ctx, attempt, package, identity, resolved, vims, inner, sizes)


def _refuse_duplicate(ctx: Context, project_id: str, identity: str, package: CsarPackage) -> None:
    with ctx.session() as session:
        existing = session.scalar(
            select(VnfPackage.id).where(VnfPackage.project_id == project_id, VnfPackage.identity == identity))
    if existing:
        raise DuplicatePackage(f"A package with vnfdId {package.descriptor_id!r} is already onboarded in this "
                               f"project as {existing}")


def _target_vims(ctx: Context, job: Job, package: CsarPackage) -> list[VimInstance]:
    with ctx.session() as session:
        row = session.get(EtsiPackage, job.package_id)
        if row is None:
            raise PackageNotFound(f"VNF package {job.package_id} was deleted")
        all_vims = list(session.scalars(select(VimInstance).where(VimInstance.project_id == job.project_id)
                                        .order_by(VimInstance.name)))
    names, types, issues = vim_selection(row.user_defined_data or {})
    vims = all_vims
    if names is not None:
        by_ref = {v.name: v for v in all_vims} | {v.id: v for v in all_vims}
        issues += [Issue(f"no VIM instance {name!r} in this project", pointer=f"/userDefinedData/vimInstances/{i}")
                   for i, name in enumerate(names) if name not in by_ref]
        vims = list({by_ref[n].id: by_ref[n] for n in names if n in by_ref}.values())
    if types is not None:
        vims = [v for v in vims if v.type in types]
    if issues:
        raise ValidationFailed(f"{len(issues)} problems in the package's userDefinedData", errors=issues)
    if not vims and package.images:
        raise NoMatchingVim("No VIM instance is selected for the package's software images; register one, or "
                            "change userDefinedData vimInstances/vimTypes",
                            errors=[Issue("selects no VIM instance", pointer="/userDefinedData")])
    return vims


#: the member name under which a software image fetched from its URL is read by the upload
LINKED = "nfvo-linked-image:"


def _fetch_linked_images(ctx: Context, package: CsarPackage, work: Path) -> dict[str, Path]:
    """Every software image given by URL, downloaded once into ``work`` (nfvo's link policy and
    limits) and checked against its ``sw_image_data`` checksum while streaming, before anything
    reaches a VIM. ValidationFailed lists every mismatch at its checksum in the VNFD. By link."""
    fetched, issues = {}, []
    for image in package.vnfd.images:
        if not image.link or image.link in fetched:
            continue
        path = work / "linked-images" / f"{len(fetched)}.img"
        path.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.new(image.algorithm)
        with open_http(image.link, ctx.fetch_policy) as stream, open(path, "wb") as out:
            copy_hashed(stream, out, digest)
        if digest.hexdigest() != image.hash:
            issues.append(Issue(f"the image at {image.link} has {image.algorithm} {digest.hexdigest()}, not the "
                                f"{image.hash} of its sw_image_data checksum", image.source_file, image.line,
                                f"{image.pointer}/checksum/hash"))
        fetched[image.link] = path
    if issues:
        raise ValidationFailed(f"{len(issues)} software image{'s' if len(issues) > 1 else ''} do not match their "
                               "checksum", errors=issues)
    return fetched


class _VerifiedMembers:
    """The archive as the image upload reads it: each member stream verifies its manifest hash,
    so that a member changed since it was checked fails the upload instead of reaching the VIM;
    images fetched from their URL (already verified) are members named ``LINKED`` + link."""

    def __init__(self, archive: CsarArchive, package: CsarPackage, linked: dict[str, Path]):
        self._archive, self._package = archive, package
        self._linked = {LINKED + link: path for link, path in linked.items()}
        self.members = {**archive.members, **{name: Member(name, path.stat().st_size, False)
                                              for name, path in self._linked.items()}}

    def open_member(self, name: str) -> AbstractContextManager[BinaryIO]:
        if name in self._linked:
            return open(self._linked[name], "rb")
        return self._package.open_verified(self._archive, name)


def _resolve_images(ctx: Context, archive: CsarArchive, package: CsarPackage, vims: list[VimInstance],
                    attempt, linked: dict[str, Path]) -> list:
    """Decides every (image, VIM) pair first, reporting all failures at once, then uploads."""
    plan, issues = [], []
    for request in package.images:
        if request.link in linked:  # read from the verified download, recorded as the link
            request = dataclasses.replace(request, file=LINKED + request.link, link=None)
        if request.file or request.link:
            request = dataclasses.replace(request, upload="true")  # by content: same bytes are reused
        for vim in vims:
            try:
                plan.append((request, vim, onboarding._decide(ctx, request, vim)))
            except ImageResolutionFailed as exc:
                issues += exc.errors or [Issue(exc.detail)]
    if issues:
        raise ImageResolutionFailed(f"{len(issues)} images cannot be resolved", errors=issues)
    members = _VerifiedMembers(archive, package, linked)
    resolved = []
    for n, (request, vim, decision) in enumerate(plan, 1):
        onboarding._progress(ctx, attempt, f"image {request.key} on {vim.name}", 30 + 60 * n // (len(plan) + 1))
        with connected(ctx, vim) as driver:
            if decision.action == "use":
                image = onboarding._used_as_named(ctx, attempt, driver, vim, decision)
                resolved.append(onboarding._Resolved(request, vim, image, False, decision.reason))
            else:
                done = onboarding._upload(ctx, driver, members, request, vim, attempt)
                if request.file.startswith(LINKED):
                    done = dataclasses.replace(done, source=request.file.removeprefix(LINKED))
                resolved.append(done)
    return resolved


def _algorithm(name: str) -> str:
    """hashlib's ``sha256`` as SOL005 writes it, ``SHA-256``."""
    return name.upper().replace("SHA", "SHA-", 1) if name.lower().startswith("sha") else name.upper()


def _pkg_info(package: CsarPackage, job: Job, sizes: dict[str, int]) -> dict:
    """The VnfPkgInfo attributes of the package, and what nfvo needs to serve its files. An image's
    ``size`` is its real one (``sizes``, by file or link), the declared one only when unknown."""
    vnfd = package.vnfd
    now = utcnow().isoformat()
    images, seen = [], set()
    for image in vnfd.images:
        if (image.name, image.hash, image.file, image.link) in seen:
            continue
        seen.add((image.name, image.hash, image.file, image.link))
        images.append({
            "id": image.node, "name": image.name, "provider": vnfd.provider, "version": image.version,
            "checksum": {"algorithm": _algorithm(image.algorithm), "hash": image.hash},
            "containerFormat": image.container_format.upper(), "diskFormat": image.disk_format.upper(),
            "createdAt": now, "minDisk": image.min_disk, "minRam": image.min_ram,
            "size": sizes.get(image.file or image.link, image.size),
            "imagePath": image.file or image.link or "", "userMetadata": {}})
    not_artifacts = set(vnfd.files) | {i.file for i in vnfd.images if i.file} | {package.manifest.file}
    artifacts = [{"artifactPath": e.source, "checksum": {"algorithm": _algorithm(e.algorithm), "hash": e.hash},
                  "metadata": {}} for e in package.manifest.entries if e.source not in not_artifacts]
    pkg_info = {"vnfdId": vnfd.descriptor_id, "vnfProvider": vnfd.provider, "vnfProductName": vnfd.product_name,
                "vnfSoftwareVersion": vnfd.software_version, "vnfdVersion": vnfd.descriptor_version,
                "checksum": {"algorithm": "SHA-256", "hash": job.sha256}, "softwareImages": images,
                "additionalArtifacts": artifacts, "packageFormat": FORMAT}
    meta = [package.tosca_meta and "TOSCA-Metadata/TOSCA.meta"]
    return {"pkgInfo": pkg_info, "files": list(package.files), "vnfdFiles": list(vnfd.files),
            "zipExtras": [m for m in meta if m], "securityOption": package.security.option}


def _openbaton_vnfd(package: CsarPackage, resolved: list, vnfd_id: str, job: Job) -> dict:
    """The VNFD as /api/v1/vnf-descriptors shows it: Open Baton's name/vendor/version/vdu, and
    the SOL001 identity under ``etsi``."""
    vnfd = package.vnfd
    vdus = []
    for vdu in vnfd.vdus:
        if vdu.kind != "compute":
            continue
        names = [r.image.name for r in resolved if vdu.image and vdu.image.name in r.request.names]
        vdus.append({"name": vdu.name or vdu.node, "vm_image": list(dict.fromkeys(names)) or
                     ([vdu.image.name] if vdu.image else []), "vimInstanceName": []})
    body = {"name": vnfd.product_name, "vendor": vnfd.provider, "version": vnfd.software_version,
            "type": vnfd.product_name, "vdu": vdus,
            "etsi": {"vnfdId": vnfd.descriptor_id, "vnfdVersion": vnfd.descriptor_version,
                     "flavourId": vnfd.flavour_id, "entryDefinitions": package.entry_definitions}}
    return {**with_entity_ids(body, new_id), "id": vnfd_id, "vnfPackageLocation": job.package_id,
            "projectId": job.project_id}


def _commit(ctx: Context, attempt, package: CsarPackage, identity: str, resolved: list, vims: list[VimInstance],
            inner: Path | None, sizes: dict[str, int]) -> None:
    """Stores the CSAR, then commits package, VNFD, images, VnfPkgInfo and job success (with the
    package's validation warnings) at once."""
    job = attempt.job
    directory = ctx.settings.packages_dir / job.package_id
    directory.mkdir(parents=True, exist_ok=True)
    if inner is not None:
        shutil.copyfile(inner, directory / INNER_FILE)
    stored, source = directory / CONTENT_FILE, _csar_file(ctx, job)
    if source != stored:
        source.replace(stored)
    vnfd_id, vnfd = new_id(), package.vnfd
    body = _openbaton_vnfd(package, resolved, vnfd_id, job)
    warnings = [w.to_dict() for w in package.warnings]
    try:
        with ctx.transaction() as session:
            resolved = onboarding.owned_at_commit(session, resolved)  # first: the image-ownership lock
            row = session.get(Job, job.id)
            if row.attempts != attempt.token or row.state != "running":
                raise onboarding.Superseded(job.id)
            etsi = session.get(EtsiPackage, job.package_id)
            if etsi is None:
                raise PackageNotFound(f"VNF package {job.package_id} was deleted")
            session.add(VnfPackage(
                id=job.package_id, project_id=job.project_id, identity=identity, name=vnfd.product_name,
                vendor=vnfd.provider, version=vnfd.software_version, nfvo_version=None,
                vim_types=sorted({v.type for v in vims}), sha256=job.sha256, size=job.size, filename=job.filename,
                scripts=[], meta={"format": FORMAT, "vnfdId": vnfd.descriptor_id,
                                  "entryDefinitions": package.entry_definitions}, warnings=warnings))
            session.flush()
            session.add(Vnfd(id=vnfd_id, project_id=job.project_id, package_id=job.package_id, name=body["name"],
                             vendor=body["vendor"], version=body["version"], body=body))
            for r in resolved:
                session.add(PackageImage(
                    package_id=job.package_id, vim_id=r.vim.id, image_id=r.image.id, image_name=r.image.name,
                    request_key=r.request.key, sha256=r.image.sha256, uploaded=r.uploaded, decision=r.decision,
                    source=r.source))
            etsi.onboarding_state, etsi.failure, etsi.info = "ONBOARDED", None, _pkg_info(package, job, sizes)
            etsi.operational_state = "ENABLED"  # as in Tacker and every SOL005 NFVO: onboarded means usable
            row.state, row.step, row.progress, row.updated_at = "succeeded", "done", 100, utcnow()
            row.warnings = warnings
    except IntegrityError:
        shutil.rmtree(directory, ignore_errors=True)
        raise DuplicatePackage(f"A package with vnfdId {vnfd.descriptor_id!r} was onboarded by another job at the "
                               "same time") from None
    except onboarding.Superseded:
        raise
    except Exception:
        shutil.rmtree(directory, ignore_errors=True)
        raise
