"""Every timestamp nfvo stores reads back as an aware UTC datetime, and the API writes it with its
offset (``+00:00``), on SQLite as on PostgreSQL."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from nfvo.db import migrate
from nfvo.db.models import Project
from nfvo.db.session import transaction
from tests.integration.harness import embedded_nfvo, fresh_postgres_database, make_tar

pytestmark = pytest.mark.integration

#: RFC 3339 with an offset, as the OpenAPI document's date-time format wants it
WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$")


@contextmanager
def database(kind: str, tmp_path):
    if kind == "postgresql":
        with fresh_postgres_database() as url:
            yield url.replace("postgresql://", "postgresql+psycopg://", 1)
    else:
        yield f"sqlite:///{tmp_path / 'nfvo.sqlite'}"


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_timestamp_reads_back_in_utc_however_it_was_written(kind, tmp_path):
    east = timezone(timedelta(hours=5, minutes=30))
    written = {"naive": datetime(2026, 1, 2, 3, 4, 5), "utc": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
               "east": datetime(2026, 1, 2, 8, 34, 5, tzinfo=east)}
    with database(kind, tmp_path) as url:
        migrate.upgrade(url)
        with transaction(url) as session:
            session.add_all(Project(name=f"at-{name}", created_at=value) for name, value in written.items())
        with transaction(url) as session:
            read = {p.name: p.created_at for p in session.scalars(select(Project).where(Project.name.like("at-%")))}
            # compared in SQL too: the bound value is converted like the stored one
            later = session.scalars(select(Project.name).where(
                Project.created_at > datetime(2026, 1, 2, 3, 4, 4, tzinfo=UTC))).all()
    assert set(read.values()) == {datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)}
    assert all(value.utcoffset() == timedelta(0) for value in read.values()), read
    assert sorted(later) == sorted(f"at-{name}" for name in written)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_api_writes_timestamps_with_their_offset(kind, tmp_path):
    with database(kind, tmp_path) as url, embedded_nfvo(tmp_path, NFVO_DATABASE_URL=url) as nfvo:
        [vim] = nfvo.api.get("/api/v1/datacenters").json()
        assert WITH_OFFSET.match(vim["createdAt"]), vim
        broken = make_tar(tmp_path / "broken.tar", {"Metadata.yaml": "name: broken\n"})
        accepted = nfvo.api.upload(broken, respond_async=True)
        assert accepted.status_code == 202, accepted.text
        job = nfvo.api.wait_job(accepted.json()["id"])
        assert job["state"] == "failed"
        assert WITH_OFFSET.match(job["createdAt"]) and WITH_OFFSET.match(job["updatedAt"]), job
        assert datetime.fromisoformat(job["updatedAt"]) >= datetime.fromisoformat(job["createdAt"])
