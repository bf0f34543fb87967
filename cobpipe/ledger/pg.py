"""The PostgreSQL dialect of the ledger (psycopg 3 with a psycopg_pool connection pool).

    Ledger.open("postgresql://cobpipe@db.example/cobpipe")      # or COBPIPE_DB=postgresql://...

What differs from SQLite, and why it is safe with many processes on many hosts:

* Connections come from one pool per process and URL (`psycopg_pool.ConnectionPool`, checked on
  checkout so a restarted server costs one reconnect, not an error), in autocommit mode so the
  ledger's own BEGIN/COMMIT are the transactions. `Ledger.close()` gives the connection back.
* `begin_write` is `BEGIN` (READ COMMITTED) followed by `pg_advisory_xact_lock` on one key per
  database: write transactions run one at a time, exactly like SQLite's `BEGIN IMMEDIATE`, and every
  statement after the lock sees what the previous writer committed. This is what
  cobpipe/jobs/process.py's invariants are proven under: the file's sha256 is checked again inside
  the transaction that records it; a claim is looked up as issued in the same transaction that
  records it as issued; an 837P's unmatched-claims retry sees every 835 committed before it.
  Readers (status, console, `was_issued` outside a transaction) never wait: MVCC.
  The unique keys (files.sha256, issued (claim, payer), control_numbers (kind, sender, receiver))
  are a second guard: even a writer that skipped the lock could not record a file twice or take a
  control number twice (the counter upsert locks its row until commit).
* The schema migration runs in such a write transaction too, so concurrent first opens of an empty
  database wait for each other and the second finds the tables made by the first.
* DDL written for both databases is translated here (`BLOB` -> `BYTEA`); the DML in sql.py runs
  as written, with `?` rewritten to psycopg's `%s` (and a literal `%` doubled).
"""
from __future__ import annotations

import atexit
import functools
import os
import re
import threading
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .errors import LedgerError

URL_SCHEMES = ("postgresql://", "postgres://")
# pg_advisory_xact_lock key of the ledger's single writer: "cobpipe" in ASCII, far from any key a
# DBA would pick by hand. Advisory locks are per database, so two ledgers in two databases never wait.
WRITE_LOCK_KEY = 0x636F6270697065
POOL_MAX_ENV = "COBPIPE_PG_POOL_MAX"

_pools: dict[tuple[int, str], Any] = {}
_pools_lock = threading.Lock()


def is_postgres_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(URL_SCHEMES)


def masked(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    return urlunsplit(parts._replace(netloc=netloc[0].split(":", 1)[0] + ":***@" + netloc[1]))


@functools.lru_cache(maxsize=512)
def to_pyformat(statement: str) -> str:
    """`?` -> `%s` outside quoted strings and identifiers; `%` -> `%%` (psycopg's escape)."""
    out: list[str] = []
    quote: str | None = None
    for char in statement:
        if quote:
            out.append("%%" if char == "%" else char)
            if char == quote:
                quote = None
        elif char in ("'", '"'):
            quote = char
            out.append(char)
        elif char == "?":
            out.append("%s")
        elif char == "%":
            out.append("%%")
        else:
            out.append(char)
    return "".join(out)


_DDL = ((re.compile(r"\bBLOB\b", re.IGNORECASE), "BYTEA"),)


def to_postgres_ddl(statement: str) -> str:
    for pattern, replacement in _DDL:
        statement = pattern.sub(replacement, statement)
    return statement


def _pool_for(url: str):
    import psycopg_pool

    key = (os.getpid(), url)  # a pool's threads do not survive fork: one pool per process
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            import psycopg

            # one direct connection first: an unreachable server or a wrong password fails at once
            # with the server's own message, instead of the pool retrying until its timeout
            psycopg.connect(url, **({} if "connect_timeout" in url else {"connect_timeout": 10})).close()

            def configure(conn) -> None:
                conn.autocommit = True

            pool = psycopg_pool.ConnectionPool(
                url, min_size=1, max_size=max(1, int(os.environ.get(POOL_MAX_ENV, "8"))),
                configure=configure, check=psycopg_pool.ConnectionPool.check_connection,
                open=False, name=f"cobpipe-{len(_pools)}", timeout=60.0)
            try:
                pool.open(wait=True, timeout=15.0)
            except Exception:
                pool.close(timeout=1.0)
                raise
            _pools[key] = pool
        return pool


@atexit.register
def close_pools() -> None:
    """Close this process's pools (at exit; tests call it before dropping a database)."""
    with _pools_lock:
        mine = [k for k in _pools if k[0] == os.getpid()]
        pools = [_pools.pop(k) for k in mine]
    for pool in pools:
        try:
            pool.close(timeout=2.0)
        except Exception:  # noqa: BLE001 - exiting anyway
            pass


class PgDialect:
    """Connects through the process's pool for `url`; statements stay in sql.py with `?` marks."""

    name = "postgresql"

    def __init__(self, url: str) -> None:
        import psycopg

        self.url = url
        self.errors = psycopg

    def describe(self) -> str:
        return masked(self.url)

    def connect(self):
        import psycopg
        import psycopg_pool

        try:
            pool = _pool_for(self.url)
            conn = pool.getconn()
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            raise LedgerError(f"{self.describe()}: cannot connect to the ledger database: "
                              f"{str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}"
                              ) from exc
        conn.autocommit = True
        return conn

    def release(self, conn) -> None:
        """Give a connection back to its pool (rolled back there if a transaction was left open)."""
        pool = _pools.get((os.getpid(), self.url))
        if pool is None:
            conn.close()
            return
        try:
            pool.putconn(conn)
        except Exception:  # noqa: BLE001 - a broken connection: the pool replaces it
            conn.close()

    @staticmethod
    def sql(statement: str) -> str:
        return to_pyformat(statement)

    @staticmethod
    def ddl(statement: str) -> str:
        return to_postgres_ddl(statement)

    @staticmethod
    def begin_write(cursor) -> None:
        cursor.execute("BEGIN")
        try:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
        except BaseException:
            cursor.execute("ROLLBACK")
            raise

    @staticmethod
    def table_exists(cursor, table: str) -> bool:
        # a scan of pg_class with this statement's snapshot, not to_regclass: that one answers from
        # the backend's catalog cache, where a miss from before the write lock (Ledger._migrate's
        # cheap first look) survives the lock (an advisory lock reads no invalidations), so a second
        # concurrent first open would not see the tables the first one just committed
        cursor.execute("""SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                              JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                              WHERE c.relname = %s AND c.relkind IN ('r', 'p')
                                AND n.nspname = ANY (pg_catalog.current_schemas(false)))""", (table,))
        return bool(cursor.fetchone()[0])
