"""The per-process context every use case receives: settings, database sessions, fetch policy."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator

from sqlalchemy.orm import Session

from nfvo.config import Settings
from nfvo.db.session import session_factory
from nfvo.fetch import FetchPolicy


@dataclass(frozen=True)
class Context:
    settings: Settings

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session committed on success, rolled back on any error."""
        with session_factory(self.settings.database_url).begin() as session:
            yield session

    def session(self) -> Session:
        """A plain session for reads; the caller closes it (use as a context manager)."""
        return session_factory(self.settings.database_url)()

    @property
    def fetch_policy(self) -> FetchPolicy:
        return FetchPolicy.from_allow_string(
            self.settings.fetch_allow,
            max_bytes=self.settings.max_image_size,
            git_timeout=self.settings.git_timeout,
            read_timeout=self.settings.http_read_timeout,
        )
