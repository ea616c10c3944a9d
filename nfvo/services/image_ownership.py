"""Ownership of the images nfvo created on VIMs.

An image nfvo created (a CreatedImage row) is nfvo's, whichever job created it and whichever
packages use it. It stays while a committed package (a PackageImage row), a catalogue image
placed there (a CataloguePlacement row) or an unfinished job (its ``uploads``: every image the
job uses so far) uses it, and is removed once none does.
Every decision to keep or remove, every new use by a job and every commit of package images
happens under the VIM's ownership lock, so a check and the removal that follows it are atomic.
"""

from __future__ import annotations

import logging

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from nfvo.db.models import CataloguePlacement, CreatedImage, Job, PackageImage, VimInstance
from nfvo.errors import NfvoError
from nfvo.services.context import Context
from nfvo.services.vims import connected

log = logging.getLogger(__name__)


def lock_vims(session: Session, vim_ids) -> None:
    """Takes the image-ownership lock of these VIMs until the transaction ends: PostgreSQL locks
    their rows (in id order, so two lockers cannot deadlock); SQLite, which has one writer at a
    time, takes its write lock. Must be the transaction's first statement (SQLite reads before it
    would not see the writes of the lock holder before)."""
    ids = sorted(set(vim_ids))
    if not ids:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(VimInstance.id).where(VimInstance.id.in_(ids)).order_by(VimInstance.id)
                        .with_for_update(key_share=True))
    else:
        session.execute(update(VimInstance).where(VimInstance.id.in_(ids)).values(id=VimInstance.id))


def created_by_nfvo(session: Session, pairs) -> set[tuple[str, str]]:
    """Those of the (VIM id, image id) ``pairs`` that nfvo created."""
    pairs = set(pairs)
    if not pairs:
        return set()
    rows = session.execute(select(CreatedImage.vim_id, CreatedImage.image_id)
                           .where(CreatedImage.vim_id.in_({v for v, _ in pairs}))
                           .where(CreatedImage.image_id.in_({i for _, i in pairs}))).all()
    return {tuple(r) for r in rows} & pairs


def release_image(ctx: Context, session: Session, vim_id: str, image_id: str, *, job_id: str | None = None) -> bool:
    """Under the VIM's ownership lock (the caller holds it in ``session``): removes the image from
    its VIM if nfvo created it and no committed package and no unfinished job other than
    ``job_id`` uses it, and no catalogue image is placed there. True when it was removed. An image nfvo did not create is never removed;
    one on a VIM that cannot be reached stays (logged) and is still nfvo's."""
    if not created_by_nfvo(session, [(vim_id, image_id)]):
        return False
    used = session.scalar(select(PackageImage.id).where(PackageImage.vim_id == vim_id,
                                                        PackageImage.image_id == image_id).limit(1))
    if used is not None:  # a package committed while the creating job had not recorded it yet
        session.execute(update(PackageImage).where(PackageImage.vim_id == vim_id, PackageImage.image_id == image_id)
                        .values(uploaded=True))
        return False
    placed = session.scalar(select(CataloguePlacement.image_id).where(
        CataloguePlacement.vim_id == vim_id, CataloguePlacement.vim_image_id == image_id).limit(1))
    if placed is not None:  # a catalogue image lives there
        return False
    unfinished = session.scalars(select(Job).where(Job.state.in_(("queued", "running")), Job.id != (job_id or "")))
    if any([vim_id, image_id] in (job.uploads or []) for job in unfinished):
        return False
    vim = session.get(VimInstance, vim_id)
    try:
        with connected(ctx, vim) as driver:
            driver.delete_image(image_id)
    except NfvoError as exc:
        log.warning("image %s stays on VIM %s: %s", image_id, vim.name, exc.detail)
        return False
    session.execute(delete(CreatedImage).where(CreatedImage.vim_id == vim_id, CreatedImage.image_id == image_id))
    return True
