"""One run of an onboarding job: its claim, fencing, heartbeat, and the images it uses.

The job row is the truth. A run first claims the job (a queued one, or a running one whose
worker stopped beating) and gets the job's attempt number as a fencing token: every later
write of that run to the job is conditional on it (Superseded otherwise), so a run that lost
its claim can neither overwrite the outcome nor commit. While it runs, a :class:`Heartbeat`
keeps the claim alive, whatever step it is in.

Image ownership is exact under any interleaving of jobs. An image nfvo creates is recorded at
once as nfvo's (``created_images``) and as used by the job (``jobs.uploads``,
:func:`record_upload`); an image a job finds on the VIM is recorded as used by the job before
the job relies on it, under the VIM's ownership lock and after checking that it is still there
(:func:`use`). A job that fails releases what it used (:func:`give_up`): each image nfvo
created is removed unless a committed package or another unfinished job uses it.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import nfvo_plugin_sdk as sdk
from sqlalchemy import and_, or_, update
from sqlalchemy.dialects import postgresql, sqlite

from nfvo.db.models import CreatedImage, Job, VimInstance, utcnow
from nfvo.errors import NfvoError
from nfvo.services import blobs
from nfvo.services.context import Context
from nfvo.services.image_ownership import lock_vims, release_image

log = logging.getLogger(__name__)


class RetryLater(Exception):
    """A retryable error on a non-final attempt: the task should run the job again later."""

    def __init__(self, cause: NfvoError):
        super().__init__(str(cause))
        self.cause = cause


class Superseded(Exception):
    """Another run claimed this job (this one was thought dead); this run must stop writing."""


@dataclass
class Attempt:
    """One run of a job: its fencing token, and the (VIM id, image id) the job uses so far (in any
    run); ``member_hashes`` caches the SHA-256 of package members hashed in this run."""

    job: Job
    used: set[tuple[str, str]] = field(default_factory=set)
    member_hashes: dict[str, str] = field(default_factory=dict)

    @property
    def token(self) -> int:
        return self.job.attempts


def run_job(ctx: Context, job_id: str, body: Callable[[Context, Job, Path, Attempt], None], *,
            final_attempt: bool, what: str) -> None:
    """Claims job ``job_id`` and runs ``body(ctx, job, work, attempt)`` under its heartbeat, with a
    fresh work directory (removed afterwards); does nothing for a finished job or one alive on
    another worker. A failure is written to the job (:func:`give_up`); a retryable one on a
    non-final attempt queues it again and raises RetryLater. ``what`` names the run in messages."""
    job = claim(ctx, job_id)
    if job is None:
        return
    attempt = Attempt(job, used={tuple(u) for u in job.uploads or []})
    work = ctx.settings.work_dir / job_id
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        with Heartbeat(ctx, attempt):
            body(ctx, job, work, attempt)
    except Superseded:
        log.warning("job %s was claimed by another worker; this run stops", job_id)
    except NfvoError as exc:
        if exc.retryable and not final_attempt:
            write(ctx, attempt, state="queued", step=("waiting to retry: " + exc.detail)[:64])
            raise RetryLater(exc) from exc
        give_up(ctx, attempt, exc)
    except Exception:
        log.exception("job %s failed unexpectedly", job_id)
        give_up(ctx, attempt, NfvoError(f"{what} failed unexpectedly; the service log has the details"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def kind_of(ctx: Context, job_id: str) -> str | None:
    """The job's kind (which use case runs it), None when there is no such job."""
    with ctx.session() as session:
        job = session.get(Job, job_id)
        return job.kind if job is not None else None


def claim(ctx: Context, job_id: str) -> Job | None:
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


def write(ctx: Context, attempt: Attempt, **values) -> None:
    """Updates the job (and its heartbeat) if this run still holds it; Superseded otherwise."""
    with ctx.transaction() as session:
        write_in(session, attempt, **values)


def write_in(session, attempt: Attempt, **values) -> None:
    """:func:`write` within ``session``'s transaction (Superseded rolls it back)."""
    done = session.execute(
        update(Job)
        .where(Job.id == attempt.job.id, Job.attempts == attempt.token, Job.state == "running")
        .values(updated_at=utcnow(), **values)
    ).rowcount
    if not done:
        raise Superseded(attempt.job.id)


def progress(ctx: Context, attempt: Attempt, step: str, percent: int) -> None:
    """Shows the run's current step and how far it is (0-100) on the job."""
    write(ctx, attempt, step=step[:64], progress=percent)


class Heartbeat:
    """While the job runs, refreshes its heartbeat every quarter of NFVO_JOB_STALE_SECONDS."""

    def __init__(self, ctx: Context, attempt: Attempt):
        self._ctx, self._attempt = ctx, attempt
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{attempt.job.id}", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self._ctx.settings.job_stale_after / 4):
            try:
                write(self._ctx, self._attempt)
            except Superseded:
                return
            except Exception:  # the database may be briefly away; the next beat tries again
                log.warning("heartbeat of job %s failed", self._attempt.job.id, exc_info=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()


def record_upload(ctx: Context, attempt: Attempt, vim: VimInstance, image_id: str) -> None:
    """Records at once, in one transaction, that nfvo created ``image_id`` on ``vim`` and that
    this job uses it. No lock is needed: nobody can have decided about an image not yet created
    (a job that found it meanwhile uses it, so it stays)."""
    attempt.used.add((vim.id, image_id))
    with ctx.transaction() as session:
        # Two jobs uploading the same name and bytes may get the same image back (idempotent drivers).
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        session.execute(insert(CreatedImage).values(vim_id=vim.id, image_id=image_id, job_id=attempt.job.id,
                                                    created_at=utcnow()).on_conflict_do_nothing())
        write_in(session, attempt, uploads=sorted([list(u) for u in attempt.used]))


def use(ctx: Context, attempt: Attempt, driver: sdk.VimDriver, vim: VimInstance, image: sdk.Image) -> bool:
    """Records that this job uses ``image``, which it found on ``vim``, so that no failing job or
    package deletion removes it now. Under the VIM's ownership lock the image must still be there:
    False when a failing job removed it in between (the caller then goes on as if it was never found)."""
    if (vim.id, image.id) in attempt.used:
        return True
    with ctx.transaction() as session:
        lock_vims(session, [vim.id])
        if not any(found.id == image.id for found in driver.find_images(id=image.id)):
            return False
        write_in(session, attempt, uploads=sorted([list(u) for u in attempt.used | {(vim.id, image.id)}]))
    attempt.used.add((vim.id, image.id))
    return True


def give_up(ctx: Context, attempt: Attempt, exc: NfvoError) -> None:
    """Marks the job failed with ``exc``'s problem, then releases the images it used (the failed
    job no longer counts as using them, so the last user of an image nfvo created removes it) and
    its package's blob, unless a package or another job uses the same bytes."""
    try:
        write(ctx, attempt, state="failed", step="failed", problem=exc.to_problem())
    except Superseded:
        return
    undo_uploads(ctx, attempt)
    blobs.release(ctx, [attempt.job.sha256])
    if attempt.job.upload_path:  # a job queued by an nfvo before the content store
        Path(attempt.job.upload_path).unlink(missing_ok=True)


def undo_uploads(ctx: Context, attempt: Attempt) -> None:
    """Removes each image the job used that nfvo created and nothing else uses, each decided
    under its VIM's ownership lock."""
    for vim_id, image_id in sorted(attempt.used):
        with ctx.transaction() as session:
            lock_vims(session, [vim_id])
            release_image(ctx, session, vim_id, image_id, job_id=attempt.job.id)
