"""Job claims and fencing against a real database (SQLite and PostgreSQL): a run that lost its
claim can neither write to the job nor decide its outcome."""

from __future__ import annotations

import dataclasses

import pytest

from nfvo.db.models import Job, Project
from nfvo.errors import ValidationFailed
from nfvo.services import job_runs, onboarding
from nfvo.services.context import Context
from tests.integration.harness import service_context

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def ctx(request, tmp_path):
    with service_context(request.param, tmp_path) as context:
        yield context


def _job(ctx) -> str:
    with ctx.transaction() as session:
        project = Project(name="p")
        session.add(project)
        session.flush()
        job = Job(project_id=project.id, upload_path="/nonexistent", package_id="pkg")
        session.add(job)
    return job.id


def _state(ctx, job_id):
    with ctx.session() as session:
        job = session.get(Job, job_id)
        return job.state, job.step, job.attempts


def test_a_live_job_cannot_be_claimed_twice_and_a_stale_one_can(ctx):
    job_id = _job(ctx)
    first = job_runs.claim(ctx, job_id)
    assert first.attempts == 1
    assert job_runs.claim(ctx, job_id) is None, "alive on its first worker"

    stale = Context(dataclasses.replace(ctx.settings, job_stale_after=-1))
    second = job_runs.claim(stale, job_id)
    assert second.attempts == 2

    loser = job_runs.Attempt(first)
    with pytest.raises(job_runs.Superseded):
        job_runs.progress(ctx, loser, "late step", 50)
    job_runs.give_up(ctx, loser, ValidationFailed("too late"))
    assert _state(ctx, job_id) == ("running", "reading package", 2), "the loser changed nothing"

    winner = job_runs.Attempt(second)
    job_runs.progress(ctx, winner, "images", 60)
    assert _state(ctx, job_id) == ("running", "images", 2)


def test_finished_jobs_are_never_claimed_again(ctx):
    job_id = _job(ctx)
    attempt = job_runs.Attempt(job_runs.claim(ctx, job_id))
    job_runs.give_up(ctx, attempt, ValidationFailed("bad package"))
    assert _state(ctx, job_id)[0] == "failed"
    stale = Context(dataclasses.replace(ctx.settings, job_stale_after=-1))
    assert job_runs.claim(stale, job_id) is None
    onboarding.run(stale, job_id)  # a redelivered message does nothing
    assert _state(ctx, job_id) == ("failed", "failed", 1)


def test_a_value_postgresql_cannot_store_is_a_validation_error(tmp_path):
    """The last line behind the field checks: a too-long or NUL-holding value makes ctx.transaction
    raise ValidationFailed (a 422), not a database error (a 500), and nothing is written."""
    with service_context("postgresql", tmp_path) as ctx:
        for name in ("p" * 300, "p\x00q"):
            with pytest.raises(ValidationFailed, match="cannot be stored"):
                with ctx.transaction() as session:
                    session.add(Project(name=name))
        with ctx.session() as session:
            assert not session.query(Project).filter(Project.name.like("p%")).count()
