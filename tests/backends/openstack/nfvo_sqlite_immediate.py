"""Installed into the test OpenStack venv only (with a .pth file): SQLite transactions begin IMMEDIATE.

oslo.db starts every SQLite transaction with a deferred ``BEGIN``.  A transaction that
reads and then writes must upgrade its lock, and SQLite refuses that at once ("database is
locked", without waiting) while another connection writes.  Glance's import tasks write
from several threads and processes, so imports then fail at random.  ``BEGIN IMMEDIATE``
takes the write lock first and waits for it (up to the connection's timeout), so
transactions queue instead of failing.  Production clouds use MySQL/PostgreSQL.
"""

import sqlite3
import sqlite3.dbapi2


class _Cursor(sqlite3.Cursor):
    def execute(self, sql, *args):
        if isinstance(sql, str) and sql.strip().upper() == "BEGIN":
            sql = "BEGIN IMMEDIATE"
        return super().execute(sql, *args)


class _Connection(sqlite3.Connection):
    def cursor(self, factory=_Cursor):
        return super().cursor(factory)

    def execute(self, sql, *args):
        return self.cursor().execute(sql, *args)


_connect = sqlite3.connect


def connect(database, *args, **kwargs):
    kwargs.setdefault("factory", _Connection)
    kwargs.setdefault("timeout", 30.0)
    return _connect(database, *args, **kwargs)


sqlite3.connect = sqlite3.dbapi2.connect = connect
