"""One upload of the same bytes to the same VIM at a time, across every worker.

Two jobs that put the same image on one VIM at once would both upload it; the claim makes the
second wait until the first is done, and then find the image there and reuse it. A claim is a
PostgreSQL session advisory lock on a connection of its own, so a worker that dies releases it
with its connection; on SQLite (one host, the embedded worker) it is a lock of this process.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator

from sqlalchemy import text

from nfvo.db.session import engine_for
from nfvo.services.context import Context

#: the first key of nfvo's two-key advisory locks on uploads (their own space: blob locks use one key)
_NAMESPACE = 0x6E66766F - (1 << 31)  # "nfvo" as a signed 32-bit integer
_local: dict[tuple[str, str], list] = {}  # (VIM, digest) -> [lock, how many hold or wait for it]
_local_guard = threading.Lock()


@contextlib.contextmanager
def uploading(ctx: Context, vim_id: str, sha256: str) -> Iterator[None]:
    """Held while this job decides whether, and then puts, content ``sha256`` on VIM ``vim_id``;
    waits while another job holds it. The holder looks for the content on the VIM first."""
    engine = engine_for(ctx.settings.database_url)
    if engine.dialect.name != "postgresql":
        with _in_process((vim_id, sha256)):
            yield
        return
    key = int.from_bytes(hashlib.sha256(f"{vim_id}\0{sha256}".encode()).digest()[:4], "big", signed=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("SELECT pg_advisory_lock(:ns, :key)"), {"ns": _NAMESPACE, "key": key})
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:ns, :key)"), {"ns": _NAMESPACE, "key": key})


@contextlib.contextmanager
def _in_process(key: tuple[str, str]) -> Iterator[None]:
    with _local_guard:
        entry = _local.setdefault(key, [threading.Lock(), 0])
        entry[1] += 1
    try:
        with entry[0]:
            yield
    finally:
        with _local_guard:
            entry[1] -= 1
            if not entry[1]:
                del _local[key]
