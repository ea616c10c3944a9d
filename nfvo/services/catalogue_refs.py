"""Packages that name catalogue images: an image request a package does not carry the bytes of
resolves to a catalogue image before nfvo looks at its link or at the VIM.

The names a request gives (Open Baton ``image`` names and ``images:`` entries, a CSAR's
``sw_image_data`` name, an NFVIS or SONATA image name) are looked up in the catalogue the
project sees (its own images and the public ones): ``name`` is the newest version of that
name, ``name:version`` that version. The first name that is a catalogue image decides; the
request then becomes an upload of the catalogue image's blob to each chosen VIM (an image
with the same bytes already there is used), and each VIM's image is recorded as a placement
of the catalogue image too. A request whose package carries the image (a file) keeps it.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable, Mapping
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from nfvo.db.models import CatalogueImage, CataloguePlacement
from nfvo.domain.archive import IMAGE, Member
from nfvo.domain.images import ImageConfig, ImageRequest
from nfvo.formats.base import Members, Package
from nfvo.services.catalogue import visible
from nfvo.services.context import Context
from nfvo.services.distribution import vim_image_name
from nfvo.services.job_runs import Attempt
from nfvo.store import ContentStore

#: the member name under which a catalogue image's blob is read by an upload
PREFIX = "nfvo-catalogue:"


def resolve(ctx: Context, project_id: str, package: Package, attempt: Attempt) -> Package:
    """``package`` with each image request it does not carry resolved to a catalogue image where
    one of its names is one (see the module docstring); the package itself when none is."""
    found: dict[str, CatalogueImage] = {}
    requests = []
    with ctx.session() as session:
        for request in package.images:
            image = None if request.file else find(session, project_id, _names(request))
            if image is None:
                requests.append(request)
                continue
            member = PREFIX + image.id
            found[member] = image
            attempt.member_hashes[member] = image.sha256  # hashed when it arrived: not again
            requests.append(as_catalogue_request(request, image, member))
    if not found:
        return package
    return dataclasses.replace(package, images=tuple(requests), members=_WithCatalogue(package.members, found,
                                                                                       ctx.store))


def _names(request: ImageRequest) -> list[str]:
    names = list(request.names)
    if request.config is not None and request.config.name not in names:
        names.append(request.config.name)
    return names


def find(session: Session, project_id: str, names: Iterable[str]) -> CatalogueImage | None:
    """The catalogue image the first of ``names`` is (``name`` or ``name:version``), if any."""
    for written in names:
        name, _, version = written.partition(":")
        query = select(CatalogueImage).where(visible(project_id), CatalogueImage.name == name)
        if version:
            query = query.where(CatalogueImage.version == version)
        query = query.order_by(CatalogueImage.project_id != project_id, CatalogueImage.created_at.desc(),
                               CatalogueImage.id.desc())
        image = session.scalars(query.limit(1)).first()
        if image is not None:
            return image
    return None


def as_catalogue_request(request: ImageRequest, image: CatalogueImage, member: str) -> ImageRequest:
    """``request`` as an upload of the catalogue image (read as ``member``), named as the catalogue
    names it on VIMs, with the catalogue's formats and minimum sizes."""
    config = ImageConfig(name=vim_image_name(image), disk_format=image.disk_format,
                         container_format=image.container_format, min_disk=image.min_disk, min_ram=image.min_ram)
    return dataclasses.replace(request, upload="true", ids=(), names=(config.name,), link=None, file=member,
                               config=config, size=image.size, digest=("sha256", image.sha256), stated=False)


def relabel(resolved: list, members) -> list:
    """The resolved images with a catalogue request's source and decision in the catalogue's words
    (``catalogue:<id>``, "... from catalogue image NAME VERSION") instead of the member name."""
    labels = getattr(members, "labels", {})
    out = []
    for r in resolved:
        name = r.request.file or ""
        if name in labels:
            r = dataclasses.replace(r, source=f"catalogue:{name.removeprefix(PREFIX)}",
                                    decision=r.decision.replace(name, labels[name]))
        out.append(r)
    return out


def record_placements(session: Session, resolved: Iterable) -> None:
    """In a package's commit: each VIM image a catalogue request became is that catalogue image's
    placement on that VIM (the one recorded before, if any, replaced)."""
    for r in resolved:
        if not (r.request.file or "").startswith(PREFIX):
            continue
        image_id = r.request.file.removeprefix(PREFIX)
        if session.get(CatalogueImage, image_id) is None:
            continue  # deleted meanwhile: the package's own record keeps the VIM image
        session.execute(delete(CataloguePlacement).where(CataloguePlacement.image_id == image_id,
                                                         CataloguePlacement.vim_id == r.vim.id))
        session.add(CataloguePlacement(image_id=image_id, vim_id=r.vim.id, vim_image_id=r.image.id,
                                       vim_image_name=r.image.name, uploaded=r.uploaded,
                                       decision=f"for a package: {r.decision}"))


class _WithCatalogue:
    """A package's members, plus the blobs of the catalogue images it names (``PREFIX`` + id)."""

    def __init__(self, members: Members, images: Mapping[str, CatalogueImage], store: ContentStore):
        self._members, self._store = members, store
        self._blobs = {name: image.sha256 for name, image in images.items()}
        self.labels = {name: f"catalogue image {image.name} {image.version}" for name, image in images.items()}
        self.members = {**members.members, **{name: Member(name, image.size, False, IMAGE)
                                              for name, image in images.items()}}
        self.display_name = getattr(members, "display_name", "")

    @contextlib.contextmanager
    def open_member(self, name: str):
        if name not in self._blobs:
            with self._members.open_member(name) as stream:
                yield stream
            return
        with self._store.open(self._blobs[name]) as stream:
            yield stream

    def locate(self, name: str) -> tuple[Path, int] | None:
        if name in self._blobs:
            path = self._store.local_path(self._blobs[name])
            return (path, 0) if path is not None else None
        locate = getattr(self._members, "locate", None)
        return None if locate is None else locate(name)

    def offset_of(self, name: str) -> int | None:
        if name in self._blobs:
            return None
        offset_of = getattr(self._members, "offset_of", None)
        return None if offset_of is None else offset_of(name)

