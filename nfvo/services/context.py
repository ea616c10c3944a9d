"""The per-process context every use case receives: settings, database sessions, fetch policy,
the content store."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from nfvo.config import Settings
from nfvo.db.session import session_factory
from nfvo.errors import Issue, NotFound, ValidationFailed
from nfvo.fetch import FetchPolicy
from nfvo.store import ContentStore, StoreOptions, open_store


@dataclass(frozen=True)
class Context:
    settings: Settings

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session committed on success, rolled back on any error. A value the database cannot
        store (too long for its column, a NUL character) is ValidationFailed, never a crash: the
        checks before should have named the field, this is the last line."""
        try:
            with session_factory(self.settings.database_url).begin() as session:
                yield session
        except DataError as exc:
            reason = str(exc.orig).splitlines()[0] if exc.orig is not None else "not storable"
            raise ValidationFailed(f"A value cannot be stored: {reason}",
                                   errors=[Issue(f"a value cannot be stored: {reason}")]) from None

    def check(self) -> None:
        """Fails with SystemExit naming the setting when the configuration cannot work."""
        try:
            _ = self.fetch_policy
        except ValueError as exc:
            raise SystemExit(f"NFVO_FETCH_ALLOW is not valid: {exc}") from None
        try:
            _ = self.store
        except ValueError as exc:
            raise SystemExit(f"NFVO_STORE_URL is not valid: {exc}") from None

    def session(self) -> Session:
        """A plain session for reads; the caller closes it (use as a context manager)."""
        return session_factory(self.settings.database_url)()

    @functools.cached_property
    def fetch_policy(self) -> FetchPolicy:
        """Built once; ValueError for a malformed NFVO_FETCH_ALLOW (checked at start-up by ``check``)."""
        return FetchPolicy.from_allow_string(
            self.settings.fetch_allow,
            max_bytes=self.settings.max_image_size,
            git_timeout=self.settings.git_timeout,
            read_timeout=self.settings.http_read_timeout,
        )


    @functools.cached_property
    def store(self) -> ContentStore:
        """The content store of NFVO_STORE_URL (default: the filesystem store under NFVO_HOME), made
        once; ValueError for a URL no installed backend serves (checked at start-up by ``check``)."""
        s = self.settings
        return open_store(s.content_store_url, StoreOptions(
            endpoint_url=s.store_endpoint, region=s.store_region, access_key=s.store_access_key,
            secret_key=s.store_secret_key, part_size=s.store_part_size))


def in_project(session: Session, model, row_id: str, project_id: str, not_found: type[NotFound], what: str):
    """The ``model`` row ``row_id`` if it belongs to ``project_id``; ``not_found`` otherwise, so that
    another project's rows are indistinguishable from missing ones."""
    row = session.get(model, row_id)
    if row is None or row.project_id != project_id:
        raise not_found(f"No {what} {row_id!r} in this project")
    return row
