"""The gold-image catalogue: images that exist on their own, curated once, reused by packages.

An image's bytes are one blob of the content store (written once, as they arrive, hashed on the
way); its record says what it is (formats, sizes, OS, architecture, tags) and where it is on
which VIMs. A new version of an image (same name, another version) follows the newest one of
that name. An image belongs to its project; a system administrator may make it public: every
project sees and uses it, and only a system administrator may change or delete it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nfvo.db.models import CatalogueImage, Job, PackageImage, VimInstance, Vnfd, VnfPackage, new_id, utcnow
from nfvo.errors import DuplicateImage, Forbidden, ImageNotFound, InUse, Issue, ValidationFailed, VimNotFound
from nfvo.services import blobs, ova_import, receiving
from nfvo.services.context import Context
from nfvo.services.image_ownership import lock_vims, release_image
from nfvo.services.receiving import Received

log = logging.getLogger(__name__)

#: the fields a record takes from the caller (besides name and version); ``public`` is an administrator's
EDITABLE = ("description", "disk_format", "container_format", "min_cpu", "min_ram", "min_disk", "os_distro",
            "os_version", "architecture", "tags")
#: the job kind of a distribution
DISTRIBUTE = "distribute-image"


@dataclasses.dataclass(frozen=True)
class Filters:
    """What ``GET /api/v1/images`` narrows the list by (each None: any)."""

    name: str | None = None
    version: str | None = None
    os: str | None = None
    architecture: str | None = None
    tag: str | None = None


def add(ctx: Context, project_id: str, upload: Received, fields: Mapping[str, Any], *, source: str,
        origin: Mapping[str, Any] | None = None) -> CatalogueImage:
    """Puts the received image into the content store and records it with ``fields`` (``name``
    required, ``version`` 1.0 unless given); it follows the newest image of the project with that name.
    DuplicateImage (nothing kept) when the project has that name and version."""
    with receiving.stored_upload(ctx, upload) as session:
        image = _new_record(session, project_id, upload.sha256, upload.size, fields, source, origin or {})
    return image


def add_upload(ctx: Context, project_id: str, upload: Received, fields: Mapping[str, Any]) -> CatalogueImage:
    """An uploaded image: an OVA (a tar with an .ovf) is imported (:mod:`nfvo.services.ova_import`;
    the caller's fields win over the OVF's), anything else is the image itself, whose ``name``
    the caller must give."""
    if ova_import.is_ova(upload.path):
        imported = ova_import.read_upload(ctx, upload)
        given = {k: v for k, v in fields.items() if v is not None}
        return add(ctx, project_id, imported.disk, {**imported.fields, **given}, source=f"ova:{upload.filename}",
                   origin=imported.origin)
    if not fields.get("name"):
        upload.path.unlink(missing_ok=True)
        raise ValidationFailed("An image needs a name", errors=[Issue("required", "request body", pointer="/name")])
    return add(ctx, project_id, upload, fields, source=f"upload:{upload.filename}")


def add_from_link(ctx: Context, project_id: str, link: str, fields: Mapping[str, Any]) -> CatalogueImage:
    """Downloads the image at ``link`` under nfvo's link policy (NFVO_FETCH_ALLOW, no private
    addresses, NFVO_MAX_IMAGE_SIZE), hashing it on the way, and records it as :func:`add` does."""
    upload = receiving.download(ctx, link, default_name="image", max_bytes=ctx.settings.max_image_size)
    return add(ctx, project_id, upload, fields, source=link)


def _new_record(session: Session, project_id: str, sha256: str, size: int, fields: Mapping[str, Any], source: str,
                origin: Mapping[str, Any]) -> CatalogueImage:
    name, version = fields["name"], fields.get("version") or "1.0"
    existing = session.scalar(select(CatalogueImage.id).where(
        CatalogueImage.project_id == project_id, CatalogueImage.name == name, CatalogueImage.version == version))
    if existing is not None:
        raise DuplicateImage(f"The catalogue holds {name!r} version {version!r} already: image {existing}")
    previous = session.scalar(select(CatalogueImage).where(
        CatalogueImage.project_id == project_id, CatalogueImage.name == name)
        .order_by(CatalogueImage.created_at.desc(), CatalogueImage.id.desc()).limit(1))
    image = CatalogueImage(id=new_id(), project_id=project_id, name=name, version=version, sha256=sha256, size=size,
                           source=source[:2048], origin=dict(origin), previous_id=previous.id if previous else None,
                           placements=[], **{k: fields[k] for k in EDITABLE if fields.get(k) is not None})
    session.add(image)
    try:
        session.flush()
    except IntegrityError:
        raise DuplicateImage(f"The catalogue holds {name!r} version {version!r} already") from None
    return image


def visible(project_id: str):
    """The SQL condition of the images a project sees: its own and the public ones."""
    return or_(CatalogueImage.project_id == project_id, CatalogueImage.public.is_(True))


def list_images(ctx: Context, project_id: str, filters: Filters = Filters()) -> list[CatalogueImage]:
    """The project's images and the public ones, by name then oldest version first."""
    query = select(CatalogueImage).where(visible(project_id))
    for column, value in ((CatalogueImage.name, filters.name), (CatalogueImage.version, filters.version),
                          (CatalogueImage.os_distro, filters.os), (CatalogueImage.architecture, filters.architecture)):
        if value is not None:
            query = query.where(column == value)
    with ctx.session() as session:
        found = list(session.scalars(query.order_by(CatalogueImage.name, CatalogueImage.created_at,
                                                    CatalogueImage.id)))
    return [i for i in found if filters.tag is None or filters.tag in (i.tags or [])]


def vim_ids(ctx: Context, project_id: str) -> set[str]:
    """The ids of the project's VIMs (a public image's placements on other projects' VIMs are theirs)."""
    with ctx.session() as session:
        return set(session.scalars(select(VimInstance.id).where(VimInstance.project_id == project_id)))


def get_image(ctx: Context, project_id: str, image_id: str) -> CatalogueImage:
    """One image the project sees; ImageNotFound otherwise (another project's private image too)."""
    with ctx.session() as session:
        return _visible(session, project_id, image_id)


def _visible(session: Session, project_id: str, image_id: str) -> CatalogueImage:
    image = session.get(CatalogueImage, image_id)
    if image is None or not (image.project_id == project_id or image.public):
        raise ImageNotFound(f"No image {image_id} in this project's catalogue")
    return image


def _changeable(session: Session, project_id: str, image_id: str, *, admin: bool) -> CatalogueImage:
    image = _visible(session, project_id, image_id)
    if image.public and not admin:
        raise Forbidden(f"Image {image_id} is public: only a system administrator may change it")
    if image.project_id != project_id and not admin:
        raise ImageNotFound(f"No image {image_id} in this project's catalogue")
    return image


def update(ctx: Context, project_id: str, image_id: str, changes: Mapping[str, Any], *, admin: bool) -> CatalogueImage:
    """Changes the record's EDITABLE fields (and ``public``, which only a system administrator may
    set: Forbidden otherwise). The bytes, name and version of an image never change: a new version
    is a new image."""
    if "public" in changes and not admin:
        raise Forbidden("Only a system administrator may make an image public or private")
    with ctx.transaction() as session:
        image = _changeable(session, project_id, image_id, admin=admin)
        for key, value in changes.items():
            if key in EDITABLE or key == "public":
                setattr(image, key, value)
        image.updated_at = utcnow()
    return image


def usage(ctx: Context, project_id: str, image: CatalogueImage) -> list[dict]:
    """The packages of ``project_id`` whose images have this image's bytes, each once with its
    VNFDs: ``{"id", "name", "version", "vnfds": [ids], "fromCatalogue"}``; ``fromCatalogue`` is
    true for a package whose image came from this catalogue image, false for one that carried
    the same bytes itself."""
    with ctx.session() as session:
        rows = session.execute(select(VnfPackage.id, VnfPackage.name, VnfPackage.version, PackageImage.source).join(
            PackageImage, PackageImage.package_id == VnfPackage.id).where(
            VnfPackage.project_id == project_id, PackageImage.sha256 == image.sha256)).all()
        vnfds = session.execute(select(Vnfd.package_id, Vnfd.id).where(
            Vnfd.package_id.in_([r.id for r in rows])).order_by(Vnfd.created_at, Vnfd.id)).all()
    packages_ = {}
    for r in sorted(rows, key=lambda r: r.id):
        entry = packages_.setdefault(r.id, {"id": r.id, "name": r.name, "version": r.version,
                                            "vnfds": [v.id for v in vnfds if v.package_id == r.id],
                                            "fromCatalogue": False})
        entry["fromCatalogue"] |= r.source == f"catalogue:{image.id}"
    return list(packages_.values())


def versions(ctx: Context, project_id: str, image: CatalogueImage) -> list[dict]:
    """Every version of the image's name the project sees, newest first: ``{"id", "version",
    "createdAt"}``; the first is the latest."""
    with ctx.session() as session:
        rows = session.scalars(select(CatalogueImage).where(
            CatalogueImage.project_id == image.project_id, CatalogueImage.name == image.name)
            .order_by(CatalogueImage.created_at.desc(), CatalogueImage.id.desc()))
        return [{"id": r.id, "version": r.version, "createdAt": r.created_at.isoformat()} for r in rows
                if r.project_id == project_id or r.public]


def delete(ctx: Context, project_id: str, image_id: str, *, admin: bool) -> None:
    """Removes the record, then each copy nfvo put on a VIM that nothing else uses (see
    :func:`nfvo.services.image_ownership.release_image`), then the blob if nothing else uses it.
    InUse while a package of the project got its image from it."""
    image = get_image(ctx, project_id, image_id)
    users = [u for u in usage(ctx, image.project_id, image) if u["fromCatalogue"]]
    if users:
        names = ", ".join(f"{u['name']} ({u['id']})" for u in users)
        raise InUse(f"Image {image_id} is used by package{'s' if len(users) != 1 else ''} {names}",
                    errors=[Issue(f"package {u['id']} ({u['name']}) uses its bytes") for u in users])
    placed = [(p.vim_id, p.vim_image_id) for p in image.placements]
    with ctx.transaction() as session:
        lock_vims(session, [vim for vim, _ in placed])
        session.delete(_changeable(session, project_id, image_id, admin=admin))
        session.flush()
        for vim_id, vim_image_id in sorted(placed):
            release_image(ctx, session, vim_id, vim_image_id)
    blobs.release(ctx, [image.sha256])


def distribute(ctx: Context, project_id: str, image_id: str, vim_ids: Iterable[str],
               enqueue: Callable[[str], None]) -> Job:
    """A job that puts the image on each of the project's VIMs ``vim_ids`` (every VIM of the
    project when empty): deduplicated by content, verified by the VIM's digest. VimNotFound names
    every id that is no VIM of the project. The job is enqueued after its commit."""
    wanted = list(dict.fromkeys(vim_ids))
    with ctx.transaction() as session:
        image = _visible(session, project_id, image_id)
        vims = list(session.scalars(select(VimInstance).where(VimInstance.project_id == project_id)))
        unknown = [v for v in wanted if v not in {vim.id for vim in vims} | {vim.name for vim in vims}]
        if unknown:
            raise VimNotFound(f"No VIM instance {', '.join(map(repr, unknown))} in this project",
                              errors=[Issue(f"no VIM instance {v!r} in this project", pointer=f"/vimInstances/{i}")
                                      for i, v in enumerate(wanted) if v in unknown])
        chosen = [vim.id for vim in vims if not wanted or vim.id in wanted or vim.name in wanted]
        if not chosen:
            raise ValidationFailed("The project has no VIM instance to put the image on",
                                   errors=[Issue("register a VIM instance first", pointer="/vimInstances")])
        job = Job(project_id=project_id, kind=DISTRIBUTE, filename=image.name, sha256=image.sha256, size=image.size,
                  image_id=image.id, vim_ids=chosen)
        session.add(job)
    try:
        enqueue(job.id)
    except Exception:  # any broker failure; the sweep recovers the job
        log.warning("job %s is queued but the broker did not take it; a sweep will", job.id, exc_info=True)
    return job
