"""Which blobs of the content store nfvo still needs, and removing the ones it does not.

A blob is referenced by a ``package_files`` row (a file of an onboarded package), a catalogue
image, or an unfinished job (``jobs.sha256``: the package it onboards, the image it distributes).  Every decision that ends in a
removal, and every new reference to a blob that may already be stored, happens under the
blob's lock (:func:`lock_blobs`), so a check and the removal that follows it are atomic: a
reference made while a removal is decided either comes first (the blob stays) or finds the
blob gone and stores it again from the file it still holds (:func:`keep`).

Blobs written but not referenced yet (a package file stored just before its commit) are never
removed by the sweep before they are NFVO_JOB_STALE_SECONDS old.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from nfvo.db.models import CatalogueImage, Job, PackageFile, VnfPackage
from nfvo.errors import NfvoError
from nfvo.services.context import Context
from nfvo.store import CHUNK, Blob

log = logging.getLogger(__name__)

_UNFINISHED = ("queued", "running")


def lock_blobs(session: Session, digests: Iterable[str]) -> None:
    """Takes the lock of these blobs until the transaction ends: PostgreSQL transaction advisory
    locks (in digest order, so two lockers cannot deadlock); SQLite, which has one writer at a
    time, takes its write lock.  Must come before the transaction reads what it decides on."""
    keys = sorted(set(digests))
    if not keys:
        return
    if session.get_bind().dialect.name == "postgresql":
        for sha256 in keys:
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(sha256)})
    else:
        session.execute(text("UPDATE jobs SET id = id WHERE 0 = 1"))


def _lock_key(sha256: str) -> int:
    """A signed 64-bit advisory lock key from the digest (its first 16 hex digits)."""
    value = int(sha256[:16], 16)
    return value - (1 << 64) if value >= 1 << 63 else value


def referenced(session: Session, sha256: str, *, except_job: str | None = None) -> bool:
    """Whether a package file, a catalogue image or an unfinished job (other than ``except_job``)
    references the blob."""
    if session.scalar(select(PackageFile.package_id).where(PackageFile.sha256 == sha256).limit(1)) is not None:
        return True
    if session.scalar(select(CatalogueImage.id).where(CatalogueImage.sha256 == sha256).limit(1)) is not None:
        return True
    jobs = select(Job.id).where(Job.sha256 == sha256, Job.state.in_(_UNFINISHED), Job.id != (except_job or ""))
    return session.scalar(jobs.limit(1)) is not None


def keep(ctx: Context, session: Session, files: Iterable[tuple[Path, Blob]]) -> None:
    """In the transaction that references them: locks the blobs of ``files`` (each a file nfvo still
    holds, already stored as that blob) and stores again any that a removal took in between."""
    files = list(files)
    lock_blobs(session, [blob.sha256 for _, blob in files])
    for path, blob in files:
        if not ctx.store.exists(blob.sha256):
            log.info("blob %s was removed while it was being referenced; storing it again", blob.sha256)
            ctx.store.put_file(path, blob.sha256)


def release(ctx: Context, digests: Iterable[str], *, except_job: str | None = None) -> int:
    """Removes each of these blobs that nothing references any more, each decided under its lock;
    returns how many.  A store that cannot be reached keeps them (logged): the sweep tries later."""
    removed = 0
    for sha256 in sorted(set(d for d in digests if d)):
        try:
            with ctx.transaction() as session:
                lock_blobs(session, [sha256])
                if not referenced(session, sha256, except_job=except_job):
                    removed += ctx.store.delete(sha256)
        except NfvoError as exc:
            log.warning("blob %s stays in the content store for now: %s", sha256, exc.detail)
    return removed


def sweep(ctx: Context, older_than: float) -> int:
    """Removes the blobs nothing references that were written more than ``older_than`` seconds ago
    (what a process that died between storing and committing, or before releasing, left), and the
    store's own abandoned writes; returns how many."""
    cutoff = time.time() - older_than
    removed = ctx.store.sweep(older_than)
    with ctx.session() as session:
        used = set(session.scalars(select(PackageFile.sha256).distinct()))
        used |= set(session.scalars(select(CatalogueImage.sha256).distinct()))
        used |= set(session.scalars(select(Job.sha256).where(Job.state.in_(_UNFINISHED), Job.sha256.is_not(None))))
    for sha256 in ctx.store.digests():
        if sha256 in used:
            continue
        written = ctx.store.written_at(sha256)
        if written is None or written >= cutoff:
            continue
        with ctx.transaction() as session:
            lock_blobs(session, [sha256])
            if not referenced(session, sha256) and (ctx.store.written_at(sha256) or cutoff) < cutoff:
                removed += ctx.store.delete(sha256)
    return removed


def files_of(session: Session, package_id: str) -> dict[str, PackageFile]:
    """The package's files by name."""
    rows = session.scalars(select(PackageFile).where(PackageFile.package_id == package_id))
    return {row.name: row for row in rows}


def adopt_package_directories(ctx: Context) -> int:
    """Moves the files of packages that an nfvo before the content store kept under
    ``NFVO_HOME/packages/<package id>/`` into the store, listed in ``package_files``; returns how
    many packages.  A directory whose package is gone is removed.  Idempotent, and safe to stop
    at any point: a directory goes only once its files are committed."""
    root = ctx.settings.legacy_packages_dir
    if not root.is_dir():
        return 0
    adopted = 0
    for directory in sorted(p for p in root.iterdir() if p.is_dir()):
        with ctx.session() as session:
            exists = session.get(VnfPackage, directory.name) is not None
        if exists:
            found = sorted(p for p in directory.rglob("*") if p.is_file() and not p.is_symlink())
            kept = {p.relative_to(directory).as_posix(): (p, ctx.store.put_file(p)) for p in found}
            with ctx.transaction() as session:
                keep(ctx, session, kept.values())
                have = files_of(session, directory.name)
                session.add_all(PackageFile(package_id=directory.name, name=name, sha256=blob.sha256, size=blob.size)
                                for name, (_, blob) in kept.items() if name not in have)
            adopted += 1
        shutil.rmtree(directory)
    with contextlib.suppress(OSError):
        root.rmdir()
    return adopted


@contextlib.contextmanager
def local_file(ctx: Context, sha256: str, work: Path, name: str) -> Iterator[Path]:
    """A path on this host holding the blob: the store's own file where it has one, else a copy
    in ``work`` (named ``name``), removed when the block ends.  ContentMissing when absent."""
    path = ctx.store.local_path(sha256)
    if path is not None:
        yield path
        return
    copy = work / name
    try:
        with ctx.store.open(sha256) as source, open(copy, "wb") as out:
            shutil.copyfileobj(source, out, CHUNK)
        yield copy
    finally:
        copy.unlink(missing_ok=True)
