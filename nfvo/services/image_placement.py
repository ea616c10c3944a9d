"""Putting a package's images on VIM instances: decide every (image, VIM) pair, then upload.

The same for every format. Each image request is decided per VIM by the Open Baton policy
(:func:`nfvo.domain.images.decide`: use an image found by id or name, or upload); all
failures are reported at once, before anything is uploaded. An upload from a package member
reuses an image with the same bytes already on the VIM; a link travels as
:mod:`nfvo.services.links` says. A link whose digest the package declares is downloaded once
and verified before any VIM sees it. Each image's bytes go to a VIM once and are hashed once:
by nfvo where it knows the digest first (then the VIM's report is checked against it, and a
member lying in a file may go by a kernel copy), else by the driver while it reads them.
Every image made or used is recorded with the job at once (:mod:`nfvo.services.job_runs`),
so its ownership is exact whatever happens next.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import nfvo_plugin_sdk as sdk
from sqlalchemy import select

from nfvo.db.models import PackageImage, VimInstance
from nfvo.domain.archive import Member
from nfvo.domain.images import ImageRequest, decide, lookups_needed
from nfvo.errors import ImageResolutionFailed, ImageVerificationFailed, Issue, ValidationFailed
from nfvo.fetch import open_http
from nfvo.formats.base import Members, Package
from nfvo.services import job_runs, links, upload_claims
from nfvo.services.context import Context
from nfvo.services.image_ownership import created_by_nfvo, lock_vims
from nfvo.services.job_runs import Attempt
from nfvo.services.vims import connected
from nfvo.streams import copy_hashed, sha256_of


@dataclass
class Resolved:
    """An image request on one VIM: the image it became, whether nfvo created it, how (the
    decision text), where its bytes came from, and a warning about how it travelled."""

    request: ImageRequest
    vim: VimInstance
    image: sdk.Image
    uploaded: bool
    decision: str
    source: str | None = None
    note: Issue | None = None  # see nfvo.services.links


def place(ctx: Context, package: Package, plan: Mapping[str, list[VimInstance]], attempt: Attempt,
          work: Path) -> list[Resolved]:
    """Puts every image request of ``package`` on the VIMs ``plan`` gives for its key.

    Decides every (image, VIM) pair first, reporting all failures at once
    (ImageResolutionFailed), then downloads and verifies the links with a declared digest
    (ValidationFailed listing every mismatch), then uploads. A link that goes to several VIMs
    is downloaded once, into ``work``."""
    pairs, issues = [], []
    for request in package.images:
        for vim in plan.get(request.key, []):
            try:
                pairs.append((request, vim, decide_on(ctx, request, vim)))
            except ImageResolutionFailed as exc:
                issues.extend(exc.errors or [Issue(exc.detail)])
    if issues:
        raise ImageResolutionFailed(f"{len(issues)} images cannot be resolved", errors=issues)

    wanted = [(r, d) for r, _, d in pairs if d.action == "upload"]
    verified = _verified_links(ctx, [r for r, _ in wanted if r.link and r.digest], work)
    attempt.member_hashes.update({_LINKED + link: sha256 for link, (_path, sha256) in verified.items()})
    members = _WithDownloads(package.members, {link: path for link, (path, _sha256) in verified.items()})
    downloads = Downloads(ctx, work, [r.link for r, d in wanted if r.link and r.link not in verified])
    resolved = []
    for n, (request, vim, decision) in enumerate(pairs, 1):
        job_runs.progress(ctx, attempt, f"image {request.key} on {vim.name}", 30 + 60 * n // (len(pairs) + 1))
        with connected(ctx, vim) as driver:
            if decision.action == "use":
                image = _used_as_named(ctx, attempt, driver, vim, decision)
                resolved.append(Resolved(request, vim, image, False, decision.reason))
            elif request.link in verified:
                as_member = dataclasses.replace(request, file=_LINKED + request.link, link=None)
                done = upload(ctx, driver, members, as_member, vim, attempt)
                how = done.decision.replace(_LINKED + request.link, f"{request.link}, downloaded and verified first")
                resolved.append(dataclasses.replace(done, request=request, decision=how, source=request.link))
            else:
                resolved.append(upload(ctx, driver, members, request, vim, attempt, downloads))
    return resolved


#: the member name under which a link's verified download is read by an upload
_LINKED = "nfvo-linked-image:"


def _verified_links(ctx: Context, requests: list[ImageRequest], work: Path) -> dict[str, tuple[Path, str]]:
    """Each link (once) downloaded into ``work`` under nfvo's link policy and limits, checked
    against its request's declared digest while streaming, and its SHA-256 taken in the same
    pass. ValidationFailed lists every mismatch at the digest in the package; nothing reaches a
    VIM before all match. By link: (the file, its SHA-256)."""
    fetched: dict[str, tuple[Path, str]] = {}
    issues = []
    for request in requests:
        if request.link in fetched:
            continue
        algorithm, expected = request.digest
        path = work / "linked-images" / f"{len(fetched)}.img"
        path.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.new(algorithm)
        sha256 = digest if algorithm == "sha256" else hashlib.sha256()
        with open_http(request.link, ctx.fetch_policy) as stream, open(path, "wb") as out:
            copy_hashed(stream, out, digest, observe=None if sha256 is digest else sha256.update)
        if digest.hexdigest() != expected:
            issues.append(Issue(f"the image at {request.link} has {algorithm} {digest.hexdigest()}, not the "
                                f"{expected} the package declares", request.source_file, request.source_line,
                                request.digest_pointer or request.block_pointer))
        fetched[request.link] = (path, sha256.hexdigest())
    if issues:
        raise ValidationFailed(f"{len(issues)} image{'s' if len(issues) > 1 else ''} do not match their declared "
                               "digest", errors=issues)
    return fetched


class _WithDownloads:
    """A package's members, plus the verified downloads of links as members named ``_LINKED`` + link."""

    def __init__(self, members: Members, linked: dict[str, Path]):
        self._members = members
        self._linked = {_LINKED + link: path for link, path in linked.items()}
        self.members = {**members.members, **{name: Member(name, path.stat().st_size, False)
                                              for name, path in self._linked.items()}}

    def open_member(self, name: str) -> contextlib.AbstractContextManager[BinaryIO]:
        if name in self._linked:
            return open(self._linked[name], "rb")
        return self._members.open_member(name)

    def locate(self, name: str) -> tuple[Path, int] | None:
        """A download is a whole file; a package member is where the package says."""
        if name in self._linked:
            return self._linked[name], 0
        locate = getattr(self._members, "locate", None)
        return None if locate is None else locate(name)


class Downloads:
    """Image links for uploads: a link that several uploads need is downloaded once into ``work``
    (on first use, hashed on the way) and handed to each VIM as that file; any other is streamed
    from the link itself."""

    def __init__(self, ctx: Context, work: Path | None, links: list[str]):
        self._ctx, self._dir = ctx, work / "links" if work else None
        self._shared = {link for link in links if links.count(link) > 1}
        self._files: dict[str, tuple[Path, str]] = {}

    def file(self, link: str) -> tuple[Path, str] | None:
        """(the downloaded file, its SHA-256) of a link several uploads need; None for another."""
        if link not in self._shared:
            return None
        if link not in self._files:
            self._dir.mkdir(exist_ok=True)
            path, digest = self._dir / f"{len(self._files)}.img", hashlib.sha256()
            with open_http(link, self._ctx.fetch_policy) as stream, open(path, "wb") as out:
                copy_hashed(stream, out, digest)
            self._files[link] = (path, digest.hexdigest())
        return self._files[link]

    @contextlib.contextmanager
    def open(self, link: str) -> Iterator[tuple[BinaryIO, int | None]]:
        """``(stream, size)`` of the bytes behind ``link``, streamed from it."""
        with open_http(link, self._ctx.fetch_policy) as stream:
            yield stream, stream.size


def decide_on(ctx: Context, request: ImageRequest, vim: VimInstance):
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


def _used_as_named(ctx: Context, attempt: Attempt, driver: sdk.VimDriver, vim: VimInstance, decision) -> sdk.Image:
    """The existing image the package names (by id or name), recorded as used by this job;
    ImageResolutionFailed when it vanished from the VIM meanwhile."""
    image = driver.get_image(decision.image_id)
    if not job_runs.use(ctx, attempt, driver, vim, image):
        raise ImageResolutionFailed(f"Image {image.id} was removed from VIM {vim.name!r} during onboarding")
    return image


def upload(
    ctx: Context, driver: sdk.VimDriver, members: Members, request: ImageRequest, vim: VimInstance,
    attempt: Attempt, downloads: Downloads | None = None,
) -> Resolved:
    """Puts the request's image on ``vim``; an image with the same bytes already there is reused.
    A link travels as :func:`nfvo.services.links.carry` decides; nfvo opens the links it streams
    with ``downloads`` (default: each streamed from the link)."""
    if request.file:
        return _upload_member(ctx, driver, members, request, vim, attempt)
    reused = _reused_link(ctx, driver, vim, request.link)
    if reused and job_runs.use(ctx, attempt, driver, vim, reused):
        return Resolved(request, vim, reused, False, f"already downloaded from {request.link}", source=request.link)

    def imported() -> sdk.Image:
        return _put(ctx, driver, request, vim, attempt, lambda: driver.import_image(request.config, request.link))

    def streamed() -> sdk.Image:
        downloaded = downloads.file(request.link) if downloads else None
        if downloaded is not None:
            path, sha256 = downloaded
            return _from_file(ctx, driver, request, vim, attempt, path, 0, path.stat().st_size, sha256)
        with (downloads or Downloads(ctx, None, [])).open(request.link) as (stream, size):
            return _stream(ctx, driver, request, vim, attempt, stream, size)

    way = links.carry(driver, request, vim, ctx.fetch_policy, imported=imported, streamed=streamed)
    return Resolved(request, vim, way.image, False, way.how, source=request.link, note=way.note)


def _upload_member(ctx: Context, driver: sdk.VimDriver, members: Members, request: ImageRequest, vim: VimInstance,
                   attempt: Attempt) -> Resolved:
    """Puts a package member on ``vim``, reusing an image with the same bytes there.

    With the member's SHA-256 known (hashed when the package was received, or now, when the
    member lies in a file and the driver can copy files), the job holds the (VIM, digest) upload
    claim, so a job putting the same bytes there meanwhile is waited for and its image reused;
    the member goes by :meth:`~nfvo_plugin_sdk.VimDriver.upload_image_file` when it lies in a
    file, streamed otherwise, and is not hashed again. A member whose digest is not known is
    streamed once and hashed by the driver."""
    name, size = request.file, members.members[request.file].size
    locate = getattr(members, "locate", None)  # optional in the Members protocol
    where = locate(name) if locate is not None else None
    digest = attempt.member_hashes.get(name)
    if digest is None and where is not None and sdk.UPLOAD_FILE in driver.capabilities:
        with members.open_member(name) as stream:
            digest = attempt.member_hashes[name] = sha256_of(stream)[0]
    if digest is None:
        reused = _same_bytes_on_vim(driver, members, name, size, request.config.name, attempt)
        if reused and job_runs.use(ctx, attempt, driver, vim, reused):
            return Resolved(request, vim, reused, False, f"same content as image {reused.id}")
        with members.open_member(name) as stream:
            image = _stream(ctx, driver, request, vim, attempt, stream, size)
        return Resolved(request, vim, image, False, f"uploaded from {name}", source=f"package:{name}")
    with upload_claims.uploading(ctx, vim.id, digest):
        reused = _with_digest(driver, digest, request.config.name)
        if reused and job_runs.use(ctx, attempt, driver, vim, reused):
            return Resolved(request, vim, reused, False, f"same content as image {reused.id}")
        if where is not None:
            image = _from_file(ctx, driver, request, vim, attempt, *where, size, digest)
        else:
            with members.open_member(name) as stream:
                image = _stream(ctx, driver, request, vim, attempt, stream, size, digest)
    return Resolved(request, vim, image, False, f"uploaded from {name}", source=f"package:{name}")


def _stream(ctx: Context, driver: sdk.VimDriver, request: ImageRequest, vim: VimInstance, attempt: Attempt,
            stream: BinaryIO, size: int | None, sha256: str | None = None) -> sdk.Image:
    """Uploads ``stream`` (read once: the driver hashes what it reads, as the SDK requires) and,
    when nfvo knows the bytes' ``sha256``, checks the VIM holds those (see :func:`verify`)."""
    image = _put(ctx, driver, request, vim, attempt,
                 lambda: driver.upload_image(request.config, stream, size=size, sha256=sha256))
    if sha256 is not None:
        verify(image, sha256, request, vim)
    return image


def _from_file(ctx: Context, driver: sdk.VimDriver, request: ImageRequest, vim: VimInstance, attempt: Attempt,
               path: Path, offset: int, size: int, sha256: str) -> sdk.Image:
    """Uploads the ``size`` bytes at ``offset`` of the local file ``path``, whose SHA-256 nfvo
    took, by :meth:`~nfvo_plugin_sdk.VimDriver.upload_image_file`; checks the VIM holds those."""
    image = _put(ctx, driver, request, vim, attempt, lambda: driver.upload_image_file(
        request.config, str(path), offset=offset, size=size, sha256=sha256))
    verify(image, sha256, request, vim)
    return image


def _with_digest(driver: sdk.VimDriver, sha256: str, name: str) -> sdk.Image | None:
    """An image on the VIM with these bytes, preferring one named ``name``."""
    same = driver.find_images(sha256=sha256)
    return next((i for i in same if i.name == name), same[0] if same else None)


def _same_bytes_on_vim(driver: sdk.VimDriver, members: Members, member: str, size: int, name: str,
                       attempt: Attempt) -> sdk.Image | None:
    """An image on the VIM with exactly this member's bytes, preferring one named ``name``.

    Only when some image has the same size is the member hashed first (one extra read);
    otherwise no image can match, and the upload's own hash is the only one computed.
    """
    if not any(image.size == size for image in driver.list_images()):
        return None
    if member not in attempt.member_hashes:
        with members.open_member(member) as stream:
            attempt.member_hashes[member] = sha256_of(stream)[0]
    return _with_digest(driver, attempt.member_hashes[member], name)


def _put(ctx: Context, driver: sdk.VimDriver, request: ImageRequest, vim: VimInstance, attempt: Attempt,
         create: Callable[[], sdk.Image]) -> sdk.Image:
    """Creates the image with ``create()`` (an upload or an import) and records it as created by
    nfvo; one the driver handed back that existed before is recorded as used, like a found one."""
    before = {i.id for i in driver.find_images(name=request.config.name)}
    image = create()
    if image.id not in before:
        job_runs.record_upload(ctx, attempt, vim, image.id)
    elif not job_runs.use(ctx, attempt, driver, vim, image):
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


def owned_at_commit(session, resolved: list[Resolved]) -> list[Resolved]:
    """First statement of a package's commit: takes the ownership lock of every VIM the package's
    images are on (held until the commit, so no release decides in between), and returns the
    resolved images with ``uploaded`` true exactly for those nfvo created (by this or another job)."""
    lock_vims(session, [r.vim.id for r in resolved])
    created = created_by_nfvo(session, [(r.vim.id, r.image.id) for r in resolved])
    return [dataclasses.replace(r, uploaded=(r.vim.id, r.image.id) in created) for r in resolved]


def verify(image: sdk.Image, sha: str, request: ImageRequest, vim: VimInstance) -> None:
    """The VIM must report the bytes nfvo streamed; a driver that reports no checksum is trusted."""
    if image.sha256 and image.sha256 != sha:
        raise ImageVerificationFailed(
            f"VIM {vim.name!r} stored image {image.id} with sha256 {image.sha256}, nfvo sent {sha}",
            errors=[Issue("checksum mismatch after upload", file=request.source_file, line=request.source_line,
                          pointer=request.block_pointer)],
        )
