"""Thin tasks: take ids, call a use case, retry only retryable errors."""

from __future__ import annotations

from nfvo.services import catalogue, distribution, job_runs, onboarding
from nfvo.worker.app import celery_app, context

MAX_RETRIES = 5
#: the use case that runs a job of each kind; every other kind is an onboarding
RUNNERS = {catalogue.DISTRIBUTE: distribution.run}


@celery_app.task(name="nfvo.onboard", bind=True, acks_late=True, max_retries=MAX_RETRIES)
def onboard(self, job_id: str) -> None:
    """Runs job ``job_id`` (an onboarding, or a catalogue image's distribution); a redelivered
    message for a finished job does nothing."""
    runner = RUNNERS.get(job_runs.kind_of(context(), job_id), onboarding.run)
    try:
        runner(context(), job_id, final_attempt=self.request.retries >= MAX_RETRIES)
    except onboarding.RetryLater as exc:
        raise self.retry(countdown=min(300, 5 * 2**self.request.retries), exc=exc) from None


def enqueue(job_id: str) -> None:
    onboard.delay(job_id)
