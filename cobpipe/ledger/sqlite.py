"""The SQLite dialect of the ledger: the only module that knows it is talking to SQLite.

WAL journal (readers never block the one writer), synchronous=FULL (a committed transaction
survives a power cut, not only a crash), a busy timeout so a second process waits for the write
lock instead of failing, and `BEGIN IMMEDIATE` so a write transaction takes that lock up front
(no deadlock when two processes both read and then try to write).
"""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from .errors import LedgerError


class SqliteDialect:
    """Connects to one SQLite file; statements stay in `sql.py` with `?` placeholders."""

    name = "sqlite"
    errors = sqlite3

    def __init__(self, path: Path, busy_timeout: float = 120.0) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout

    def describe(self) -> str:
        return str(self.path)

    def connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # isolation_level=None: no implicit transactions; the ledger issues BEGIN/COMMIT itself
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot open the ledger: {exc}") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            mode = self._wal(conn)
            if str(mode).lower() != "wal":
                raise LedgerError(f"{self.path}: the ledger needs WAL mode (got {mode}); "
                                  "is it on a network filesystem?")
            conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise LedgerError(f"{self.path}: not a cobpipe ledger ({exc})") from exc
        return conn

    def _wal(self, conn: sqlite3.Connection) -> str:
        """Switch to WAL. SQLite answers "database is locked" at once, without its busy handler,
        when another process is creating the same new ledger (two batch workers opening the user's
        ledger for the first time): wait for it like any other lock, up to the busy timeout."""
        deadline = time.monotonic() + self.busy_timeout
        pause = 0.01
        while True:
            try:
                return conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.5)

    @staticmethod
    def sql(statement: str) -> str:
        return statement  # sqlite3 takes `?` as written

    @staticmethod
    def begin_write(cursor) -> None:
        cursor.execute("BEGIN IMMEDIATE")

    @staticmethod
    def table_exists(cursor, table: str) -> bool:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
        return cursor.fetchone() is not None

    @staticmethod
    def set_readonly(conn) -> None:
        """No writes on this connection (status and other readers): SQLite refuses them."""
        conn.execute("PRAGMA query_only = ON")

    @staticmethod
    def data_version(conn) -> int:
        """Changes when another connection commits (PRAGMA data_version); Ledger.change_token."""
        return int(conn.execute("PRAGMA data_version").fetchone()[0])
