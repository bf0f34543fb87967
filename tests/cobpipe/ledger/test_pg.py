"""What only PostgreSQL can get wrong: every migration step as DDL it accepts, concurrent first
opens, and writers in several processes at once (control numbers, file hashes, issued claims)."""
from __future__ import annotations

import multiprocessing
import sqlite3

import psycopg
import pytest

from cobpipe.ledger import FileRecord, IssuedClaim, Ledger, LedgerError
from cobpipe.ledger import sql as ledger_sql
from cobpipe.ledger.dialects import dialect_for, ledger_target
from cobpipe.ledger.pg import PgDialect, masked, to_postgres_ddl, to_pyformat
from services import fresh_pg_database

_fork = multiprocessing.get_context("fork")


@pytest.fixture
def pg_db():
    with fresh_pg_database() as url:
        yield url


def test_every_migration_step_runs_on_a_fresh_postgres_database(pg_db):
    """Each step of sql.MIGRATIONS (everyone's, as they are appended) in its own transaction, so a
    statement PostgreSQL refuses names its step; then the schema matches SQLite's table for table."""
    with psycopg.connect(pg_db, autocommit=True) as conn:
        for version, steps in enumerate(ledger_sql.MIGRATIONS):
            with conn.transaction():
                for statement in steps:
                    try:
                        conn.execute(to_postgres_ddl(statement))
                    except psycopg.Error as exc:
                        pytest.fail(f"migration {version} -> {version + 1} fails on PostgreSQL: {exc}\n{statement}")
        pg_columns = {(t, c) for t, c in conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'")}
    lite = sqlite3.connect(":memory:")
    for steps in ledger_sql.MIGRATIONS:
        for statement in steps:
            lite.execute(statement)
    lite_columns = {(t, c) for (t,) in lite.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                    for c in (row[1] for row in lite.execute(f"PRAGMA table_info({t})"))}
    assert pg_columns == lite_columns


def test_a_ledger_opened_on_postgres_reaches_the_current_version_and_reopens(pg_db):
    with Ledger.open(pg_db) as ledger:
        assert ledger.dialect.name == "postgresql"
        assert ledger.schema_version == ledger_sql.SCHEMA_VERSION
    with Ledger.open(pg_db) as again:
        assert again.schema_version == ledger_sql.SCHEMA_VERSION


def _open_and_report(url: str, start, queue) -> None:
    start.wait(30)
    try:
        with Ledger.open(url) as ledger:
            queue.put(("ok", ledger.schema_version))
    except Exception as exc:  # noqa: BLE001 - reported to the test
        queue.put(("error", repr(exc)))


def test_concurrent_first_opens_migrate_once(pg_db):
    """Six processes open the same empty database at the same moment: all get the current schema
    (the migration runs under the ledger's write lock; the others wait and find it done)."""
    start, queue = _fork.Event(), _fork.Queue()
    procs = [_fork.Process(target=_open_and_report, args=(pg_db, start, queue)) for _ in range(6)]
    for proc in procs:
        proc.start()
    start.set()
    results = [queue.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(30)
    assert results == [("ok", ledger_sql.SCHEMA_VERSION)] * 6


def _draw_numbers(url: str, start, queue, rounds: int, seed: int) -> None:
    import random

    rng = random.Random(seed)
    start.wait(30)
    kept = []
    with Ledger.open(url) as ledger:
        for _ in range(rounds):
            try:
                with ledger.transaction():
                    numbers = [ledger.next_number("ISA", "s", "r"), ledger.next_number("ST", "s", "r")]
                    if rng.random() < 0.3:
                        raise RuntimeError("rolled back: these numbers are given back")
                kept.append(numbers)
            except RuntimeError:
                pass
    queue.put(kept)


def test_control_numbers_stay_unique_and_gap_free_across_processes(pg_db):
    Ledger.open(pg_db).close()
    start, queue = _fork.Event(), _fork.Queue()
    procs = [_fork.Process(target=_draw_numbers, args=(pg_db, start, queue, 40, seed)) for seed in range(4)]
    for proc in procs:
        proc.start()
    start.set()
    kept = [pair for _ in procs for pair in queue.get(timeout=120)]
    for proc in procs:
        proc.join(30)
    isa = sorted(p[0] for p in kept)
    assert isa == list(range(1, len(kept) + 1))  # committed numbers: no gap, no repeat
    assert sorted(p[1] for p in kept) == isa
    with Ledger.open(pg_db) as ledger:
        assert ("ISA", "s", "r", len(kept)) in ledger.control_numbers()


def _bill_once(url: str, start, queue, sha: str) -> None:
    """What process.py does for one 835: inside one write transaction, check the file and the claim,
    then record both."""
    start.wait(30)
    with Ledger.open(url) as ledger:
        try:
            with ledger.transaction():
                if ledger.file(sha) is not None or ledger.was_issued("A1", "22222"):
                    queue.put("skipped")
                    return
                number = ledger.next_number("ISA", "s", "r")
                ledger.record_file(FileRecord(sha, "era.835", "835", "converted"))
                ledger.record_issued(sha, [IssuedClaim("A1", "22222", isa13=number)])
            queue.put("billed")
        except LedgerError as exc:
            queue.put(f"error {exc}")


@pytest.mark.parametrize("same_file", [True, False])
def test_one_claim_is_billed_once_when_processes_race(pg_db, same_file):
    """Eight processes take the same file (or eight files remitting the same claim) at once:
    exactly one bills it, the others see it billed; one control number is taken."""
    Ledger.open(pg_db).close()
    start, queue = _fork.Event(), _fork.Queue()
    procs = [_fork.Process(target=_bill_once, args=(pg_db, start, queue, ("a" if same_file else str(n)) * 64))
             for n in range(8)]
    for proc in procs:
        proc.start()
    start.set()
    results = sorted(queue.get(timeout=120) for _ in procs)
    for proc in procs:
        proc.join(30)
    assert results == ["billed"] + ["skipped"] * 7
    with Ledger.open(pg_db) as ledger:
        assert [i.isa13 for i in ledger.issued_for("A1")] == [1]
        assert ledger.control_numbers() == [("ISA", "s", "r", 1)]


def test_a_write_transaction_holds_the_ledger_write_lock(pg_db):
    """begin_write takes the advisory lock: a second writer waits, a reader does not."""
    with Ledger.open(pg_db) as first, Ledger.open(pg_db) as second:
        with first.transaction():
            first.next_number("ISA", "s", "r")
            with psycopg.connect(pg_db, autocommit=True) as probe:
                got = probe.execute("SELECT pg_try_advisory_lock(%s)", (0x636F6270697065,)).fetchone()[0]
                assert got is False
            assert second.control_numbers() == []  # readers see the last commit, without waiting
        assert second.next_number("ISA", "s", "r") == 2


def test_placeholders_are_rewritten_outside_quotes_only():
    assert to_pyformat("SELECT ? FROM t WHERE a = '?' AND b LIKE 'x%' AND c = ?") == \
        "SELECT %s FROM t WHERE a = '?' AND b LIKE 'x%%' AND c = %s"
    assert to_pyformat('SELECT "we?rd" FROM t WHERE n % 2 = ?') == 'SELECT "we?rd" FROM t WHERE n %% 2 = %s'
    assert to_postgres_ddl("CREATE TABLE b (data BLOB NOT NULL, blobby TEXT)") == \
        "CREATE TABLE b (data BYTEA NOT NULL, blobby TEXT)"


def test_targets_name_their_dialect(tmp_path):
    assert ledger_target("postgresql://u@h/db") == "postgresql://u@h/db"
    assert ledger_target(str(tmp_path / "l.db")) == tmp_path / "l.db"
    with pytest.raises(ValueError, match="mysql"):
        ledger_target("mysql://u@h/db")
    assert isinstance(dialect_for("postgres://u@h/db"), PgDialect)
    assert dialect_for(tmp_path / "l.db").name == "sqlite"
    assert masked("postgresql://u:pw@h:5432/db") == "postgresql://u:***@h:5432/db"
