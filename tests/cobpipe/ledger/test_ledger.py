import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cobpipe.ledger import (
    MAX_CONTROL_NUMBER,
    ClaimOutcome,
    FileRecord,
    IssuedClaim,
    Ledger,
    LedgerError,
    OutputRecord,
)
from cobpipe.ledger import sql as ledger_sql
from cobpipe.ledger import core as ledger_core
from cobpipe.ledger.core import CLAIM_STATES


@dataclass(frozen=True)
class StandInClaim:
    """The slice of cobpipe.claim837.OriginalClaim the ledger uses (id, submitter/payer, to_x12)."""

    id: str
    submitter_id: str = "SUN123"
    payer_id: str = "11111"
    body: str = "SV1*HC:99213*33*UN*1***1~"

    def to_x12(self) -> str:
        return f"CLM*{self.id}*33***11:B:1*Y*A*Y*Y~{self.body}|{self.submitter_id}|{self.payer_id}"

    @classmethod
    def from_x12(cls, text: str, envelope: str | None = None) -> "StandInClaim":
        head, submitter, payer = text.split("|")
        clm, body = head.split("~", 1)
        return cls(clm.split("*")[1], submitter, payer, body)


@pytest.fixture
def ledger(db):
    with Ledger.open(db(), claim_factory=StandInClaim.from_x12) as opened:
        yield opened


def test_claims_round_trip_by_clm01(ledger):
    claims = [StandInClaim("A1"), StandInClaim("A2"), StandInClaim("A1", payer_id="99999")]
    assert ledger.add_claims(claims, source_hash="f" * 64) == 3
    assert ledger.claims_for("A1") == [StandInClaim("A1"), StandInClaim("A1", payer_id="99999")]
    assert ledger.claims_for("A2") == [StandInClaim("A2")]
    assert ledger.claims_for("nope") == []


def test_re_adding_the_same_claims_is_idempotent(ledger):
    claims = [StandInClaim(f"C{i}") for i in range(5)]
    assert ledger.add_claims(claims) == 5
    assert ledger.add_claims(claims) == 0
    assert ledger.stats().claims_stored == 5


def test_a_changed_claim_text_replaces_the_stored_one(ledger):
    ledger.add_claims([StandInClaim("A1")])
    corrected = StandInClaim("A1", body="SV1*HC:99214*40*UN*1***1~")
    assert ledger.add_claims([corrected]) == 1
    assert ledger.claims_for("A1") == [corrected]


def test_claims_of_another_ledger_are_added_as_if_read_here(ledger, db):
    ledger.add_claims([StandInClaim("A1"), StandInClaim("B1")])
    corrected = StandInClaim("A1", body="SV1*HC:99214*40*UN*1***1~")
    with Ledger.open(db("part"), claim_factory=StandInClaim.from_x12) as part:
        part.add_claims([corrected, StandInClaim("B1"), StandInClaim("C1")], source_hash="e" * 64)
        assert ledger.add_claims_of(part) == 2  # A1 changed, C1 new, B1 the same
    assert ledger.claims_for("A1") == [corrected]
    assert ledger.claims_for("C1") == [StandInClaim("C1")]
    assert ledger.stats().claims_stored == 3


def test_claims_survive_reopening(db, tmp_path):
    path = tmp_path / "sub" / "ledger.db" if db.kind == "sqlite" else db()
    with Ledger.open(path, claim_factory=StandInClaim.from_x12) as first:
        first.add_claims([StandInClaim("KEEP")])
    with Ledger.open(path, claim_factory=StandInClaim.from_x12) as second:
        assert second.claims_for("KEEP") == [StandInClaim("KEEP")]
        assert second.schema_version == ledger_sql.SCHEMA_VERSION


def test_hundred_thousand_claims_in_seconds(ledger):
    started = time.perf_counter()
    added = ledger.add_claims(StandInClaim(f"CLM{i:06d}") for i in range(100_000))
    elapsed = time.perf_counter() - started
    assert added == 100_000
    assert elapsed < 15, f"100k claims took {elapsed:.1f}s"
    assert ledger.claims_for("CLM054321") == [StandInClaim("CLM054321")]


def test_a_failed_add_stores_nothing(ledger):
    def claims():
        yield StandInClaim("OK1")
        raise RuntimeError("reader blew up")

    with pytest.raises(RuntimeError):
        ledger.add_claims(claims())
    assert ledger.claims_for("OK1") == []


def test_control_numbers_are_sequential_per_pair_and_kind(ledger):
    assert [ledger.next_number("ISA", "ZZ:A", "ZZ:B") for _ in range(3)] == [1, 2, 3]
    assert ledger.next_number("GS", "ZZ:A", "ZZ:B") == 1
    assert ledger.next_number("ISA", "ZZ:A", "ZZ:C") == 1
    assert ledger.next_number("ISA", "ZZ:A", "ZZ:B") == 4
    with pytest.raises(ValueError):
        ledger.next_number("XX", "a", "b")


def test_numbers_taken_in_a_rolled_back_transaction_are_taken_again(ledger):
    ledger.next_number("ISA", "s", "r")
    with pytest.raises(RuntimeError):
        with ledger.transaction():
            assert ledger.next_number("ISA", "s", "r") == 2
            assert ledger.next_number("ST", "s", "r") == 1
            raise RuntimeError("crash before commit")
    with ledger.transaction():
        assert ledger.next_number("ISA", "s", "r") == 2
        assert ledger.next_number("ST", "s", "r") == 1
    assert ledger.next_number("ISA", "s", "r") == 3


def test_numbers_wrap_after_nine_digits(ledger):
    ledger.next_number("ISA", "s", "r")
    with ledger.transaction():
        ledger._execute("UPDATE control_numbers SET last_number = ?", (MAX_CONTROL_NUMBER - 1,))
    assert ledger.next_number("ISA", "s", "r") == MAX_CONTROL_NUMBER
    assert ledger.next_number("ISA", "s", "r") == 1


def test_control_numbers_are_unique_across_processes(db):
    """Two connections (as two processes would) drawing numbers concurrently never share one."""
    path = db()
    Ledger.open(path).close()
    drawn: list[int] = []
    lock = threading.Lock()

    def draw():
        with Ledger.open(path) as mine:
            for _ in range(50):
                number = mine.next_number("ISA", "s", "r")
                with lock:
                    drawn.append(number)

    threads = [threading.Thread(target=draw) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(drawn) == list(range(1, 151))


def test_issued_claims_are_never_issued_twice(ledger):
    assert not ledger.was_issued("A1", "22222")
    first = IssuedClaim("A1", "22222", output="era.837", isa13=7, gs06=7, st02=1)
    assert ledger.record_issued("a" * 64, [first]) == 1
    assert ledger.was_issued("A1", "22222")
    assert not ledger.was_issued("A1", "33333")
    assert ledger.record_issued("b" * 64, [IssuedClaim("A1", "22222", output="other.837", isa13=9)]) == 0
    [kept] = ledger.issued_for("A1")
    assert (kept.output, kept.isa13, kept.source_sha256) == ("era.837", 7, "a" * 64)


def test_files_are_recorded_once_by_hash(ledger):
    assert ledger.file("c" * 64) is None
    ledger.record_file(FileRecord("c" * 64, "era.835", "835", "converted", detail={"claims": 2}))
    record = ledger.file("c" * 64)
    assert (record.name, record.kind, record.outcome, record.detail) == ("era.835", "835", "converted",
                                                                         {"claims": 2})
    assert record.processed_at
    with pytest.raises(LedgerError):
        ledger.record_file(FileRecord("c" * 64, "again.835", "835", "converted"))


def test_a_rejected_file_record_is_replaced_when_the_content_is_tried_again(ledger):
    ledger.record_file(FileRecord("c" * 64, "era.835", "835", "rejected", reason="internal-error"))
    ledger.record_file(FileRecord("c" * 64, "era.835", "835", "rejected", reason="not-x12"))
    assert ledger.file("c" * 64).reason == "not-x12"
    ledger.record_file(FileRecord("c" * 64, "era.835", "835", "converted"))
    assert ledger.file("c" * 64).outcome == "converted"


def test_one_transaction_records_everything_or_nothing(ledger):
    sha = "d" * 64
    with pytest.raises(RuntimeError):
        with ledger.transaction():
            ledger.record_file(FileRecord(sha, "era.835", "835", "converted"))
            ledger.record_outputs(sha, [OutputRecord("era.837", "837P", (("ISA", 1), ("ST", 1)))])
            ledger.record_issued(sha, [IssuedClaim("A1", "22222")])
            raise RuntimeError("killed before commit")
    assert ledger.file(sha) is None
    assert not ledger.was_issued("A1", "22222")
    assert ledger.outputs_of(sha) == []
    with ledger.transaction():
        ledger.record_file(FileRecord(sha, "era.835", "835", "converted"))
        ledger.record_outputs(sha, [OutputRecord("era.837", "837P", (("ISA", 1), ("ST", 1)))])
    assert ledger.outputs_of(sha) == [OutputRecord("era.837", "837P", (("ISA", 1), ("ST", 1)))]


def test_stats_count_stored_pending_and_latest_status(ledger):
    ledger.add_claims([StandInClaim("A1"), StandInClaim("A2"), StandInClaim("A3")])
    ledger.record_file(FileRecord("1" * 64, "claims.837", "837P", "stored"))
    ledger.record_file(FileRecord("2" * 64, "era1.835", "835", "partial"))
    ledger.record_decisions("2" * 64, [ClaimOutcome("A1", "converted", "22222"),
                                       ClaimOutcome("A2", "rejected", reasons=("BAL001",))])
    ledger.record_file(FileRecord("3" * 64, "bad.835", "unknown", "rejected", reason="truncated"))
    stats = ledger.stats()
    assert stats.claims_stored == 3
    assert stats.claims_pending == 1
    assert stats.claims_by_status == {"converted": 1, "rejected": 1}
    assert stats.files == {"837P": {"stored": 1}, "835": {"partial": 1}, "unknown": {"rejected": 1}}
    assert [f.reason for f in stats.last_rejected_files] == ["truncated"]
    assert stats.last_claim_problems[0]["claim_id"] == "A2"
    assert stats.last_claim_problems[0]["reasons"] == ["BAL001"]
    # a later ERA converts A2: its latest status wins
    ledger.record_file(FileRecord("4" * 64, "era2.835", "835", "converted"))
    ledger.record_decisions("4" * 64, [ClaimOutcome("A2", "converted", "22222")])
    assert ledger.stats().claims_by_status == {"converted": 2}
    # the same claims remitted again: "already billed" skips do not hide that they were converted
    ledger.record_file(FileRecord("5" * 64, "era3.835", "835", "converted"))
    ledger.record_decisions("5" * 64, [ClaimOutcome("A1", "skipped", "22222"), ClaimOutcome("A3", "skipped")])
    assert ledger.stats().claims_by_status == {"converted": 2, "skipped": 1}


def test_not_a_ledger_is_one_clear_error(tmp_path):
    bogus = tmp_path / "ledger.db"
    bogus.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(LedgerError, match="not a cobpipe ledger"):
        Ledger.open(bogus)


def test_a_newer_schema_is_refused(db):
    path = db()
    with Ledger.open(path) as ledger, ledger.transaction():
        ledger._execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(LedgerError, match="newer"):
        Ledger.open(path)


def test_sql_uses_only_portable_placeholders():
    """No SQLite-only syntax in the shared statements: the PostgreSQL dialect must run them as-is."""
    statements = [v for k, v in vars(ledger_sql).items() if k.isupper() and isinstance(v, str)]
    statements += [s for steps in ledger_sql.MIGRATIONS for s in steps]
    for statement in statements:
        upper = statement.upper()
        for sqlite_only in ("INSERT OR ", "PRAGMA", "AUTOINCREMENT", "SQLITE_", "IMMEDIATE", "GLOB"):
            assert sqlite_only not in upper, statement
        assert "%s" not in statement and ":name" not in statement


def test_real_837p_claims_round_trip_with_their_envelope(db):
    claim837 = pytest.importorskip("cobpipe.claim837")
    sample = Path(__file__).parents[3] / "samples" / "cob" / "seed-claims.837"
    [original] = list(claim837.iter_claims(sample))
    with Ledger.open(db()) as ledger:
        assert ledger.add_claims([original], source_hash="e" * 64) == 1
        assert ledger.add_claims(claim837.iter_claims(sample)) == 0
        [back] = ledger.claims_for("SEED001")
    assert back.content_key() == original.content_key()
    assert back.envelope == original.envelope
    assert (back.payer_id, back.envelope.isa_sender) == ("11111", "SUNRISEPEDS")


def test_claim_life_tables(db):
    """Issue 14: payer claim numbers, follow-ups, states, crossovers and CLM01 folded for matching."""
    import datetime as dt

    from cobpipe.claim837 import ClaimFile

    with Ledger.open(db("l")) as ledger:
        ledger.record_payer_claim_number("A1", "22222", "SEC-9", "835")
        ledger.record_payer_claim_number("A1", "22222", "SEC-10", "277CA")
        assert ledger.payer_claim_number("A1", "22222") == "SEC-10"
        assert ledger.payer_claim_number("A1", "11111") is None
        ledger.record_issued("a" * 64, [IssuedClaim("A1", "22222", payer_level="S")])
        ledger.record_issued("b" * 64, [IssuedClaim("A1", "22222", frequency="7")])
        assert [i.frequency for i in ledger.issued_for("A1")] == ["1"]
        assert [i.frequency for i in ledger.follow_ups_for("A1")] == ["7"]
        ledger.set_claim_state("A1", "billed_secondary", "22222")
        assert ledger.claim_state("A1")["state"] == "billed_secondary"
        assert ledger.claim_state_counts() == {"billed_secondary": 1}
        with pytest.raises(ValueError):
            ledger.set_claim_state("A1", "lost")
        ledger.record_crossover("A1", "c" * 64, "MEDICARE", "MEDIGAP", dt.date(2026, 1, 1))
        assert len(ledger.overdue_crossovers(dt.date(2026, 2, 1))) == 1
        assert ledger.overdue_crossovers(dt.date(2026, 1, 1)) == []
        assert ledger.answer_crossovers("A1", "d" * 64) == 1
        assert ledger.open_crossovers("A1") == [] and ledger.overdue_crossovers(dt.date(2026, 2, 1)) == []
        claims = list(ClaimFile.open(Path(__file__).parents[3] / "samples" / "cob" / "seed-claims.837"))
        ledger.add_claims(claims)
        clm01 = claims[0].id
        assert ledger.claims_for(clm01.lower()) == []
        assert [c.id for c in ledger.claims_for(clm01.lower(), folded=True)] == [clm01]


def test_an_unreachable_database_is_one_clear_error():
    """A PostgreSQL URL nothing answers at: LedgerError naming the URL without its password."""
    with pytest.raises(LedgerError, match=r"cannot connect") as caught:
        Ledger.open("postgresql://cobpipe:s3cret@127.0.0.1:1/none?connect_timeout=2")
    assert "s3cret" not in str(caught.value) and "127.0.0.1:1" in str(caught.value)


def _open_when_released(path, barrier):
    barrier.wait()  # every process opens the new ledger at the same moment
    try:
        with Ledger.open(path) as ledger:
            ledger.next_number("ISA", "SENDER", "RECEIVER")
        return "ok"
    except LedgerError as exc:
        return str(exc)


def test_processes_creating_one_new_ledger_at_once_all_open_it(tmp_path):
    """Regression: two batch workers opening the user's new control-number ledger together got
    "not a cobpipe ledger (database is locked)" from the WAL switch, which SQLite refuses at once
    instead of waiting while another process creates the file (before the fix: 16 of 240 opens
    failed in this shape)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with multiprocessing.Manager() as manager, ProcessPoolExecutor(6) as pool:
        for attempt in range(25):
            barrier = manager.Barrier(6)
            path = tmp_path / f"new-{attempt}.db"
            assert list(pool.map(_open_when_released, [path] * 6, [barrier] * 6)) == ["ok"] * 6
            with Ledger.open(path) as ledger:  # six numbers taken, none twice
                assert ledger.control_numbers() == [("ISA", "SENDER", "RECEIVER", 6)]


@pytest.mark.parametrize("count", [1, 49, 50, 51, 137])
def test_many_issued_claims_are_recorded_as_one_at_a_time(db, count):
    """record_issued inserts its rows many to a statement (_ROWS_A_STATEMENT), what a run of claims
    shares (output, ISA13, GS06, channel, the hash, the time) bound once a statement: the same rows
    kept and the same count of new ones as recording them one a call, with repeats inside one
    statement, across statements, and of claims issued before; runs of paper claims (no ISA13, GS06
    or ST02) among electronic ones, frequencies '' and None kept as '1', replacements and voids as
    follow-ups, an original after a void as a follow-up too (billed anew); and the rows are each claim's own values (fails with a statement's last row left out,
    with a run's ISA13 bound as its GS06, with the frequency's default dropped)."""
    claims = []
    for k in range(count):
        paper = k % 11 in (4, 5)
        claims.append(IssuedClaim(f"C{k % (count // 2 + 1)}", "22222" if k % 3 else "33333",
                                  output="paper.pdf" if paper else f"out{k // 20}.837",
                                  isa13=None if paper else 100 + k // 20, gs06=None if paper else 200 + k // 20,
                                  st02=None if paper else k % 7 or None, payer_level="S" if k % 5 else "",
                                  frequency=("1", "", None, "7", "1", "8", "1")[k % 7],
                                  channel="paper" if paper else "electronic"))
    before = IssuedClaim("C0", "33333", output="earlier.837", isa13=1)
    with Ledger.open(db("many")) as many, Ledger.open(db("one")) as one:
        many.record_issued("a" * 64, [before])
        one.record_issued("a" * 64, [before])
        new = many.record_issued("b" * 64, claims)
        assert new == sum(one.record_issued("b" * 64, [claim]) for claim in claims)

        def rows(ledger):  # each claim's, by value (a call's rows share one issue time: no order among them)
            return {claim.claim_id: sorted((c.payer_id, c.output, c.isa13, c.gs06, c.st02, c.source_sha256,
                                            c.payer_level, c.frequency, c.channel)
                                           for c in ledger.issued_for(claim.claim_id))
                    for claim in claims}

        assert rows(many) == rows(one)
        kept: dict[tuple[str, str], tuple] = {}  # an original's first record per claim and payer
        follow_ups: dict[tuple[str, str], str] = {}  # a follow-up's first per claim, payer and 835
        voided: set[tuple[str, str]] = set()  # the last follow-up a void: an original there is billed anew
        for sha, c in [("a" * 64, before)] + [("b" * 64, c) for c in claims]:
            key = (c.claim_id, c.payer_id)
            if c.frequency not in ("7", "8") and key not in voided:
                kept.setdefault(key, (c.payer_id, c.output, c.isa13, c.gs06, c.st02, sha,
                                      c.payer_level, c.frequency or "1", c.channel))
            elif key not in follow_ups:
                follow_ups[key] = c.frequency or "1"
                voided.add(key) if c.frequency == "8" else voided.discard(key)
        assert rows(many) == {claim.claim_id: sorted(row for (claim_id, _), row in kept.items()
                                                     if claim_id == claim.claim_id) for claim in claims}
        # (issued_for reads a NULL frequency as '1': the stored value itself)
        assert many._execute("SELECT COUNT(*) FROM issued WHERE frequency IS NULL OR frequency = ''").fetchone()[0] == 0
        assert {(f.claim_id, f.payer_id): f.frequency for claim_id in {c.claim_id for c in claims}
                for f in many.follow_ups_for(claim_id)} == follow_ups


@pytest.mark.parametrize("count", [1, 50, 51, 137])
def test_many_decisions_numbers_and_states_are_recorded_as_one_at_a_time(db, count):
    """record_decisions and record_claim_life insert their rows many to a statement (_insert_rows),
    an upsert's rows each key's last only: the ledger holds what executemany's statement run a row
    left, with claims repeated inside one statement and across statements, rows recorded before, and
    an ERA's decisions recorded again; fails on PostgreSQL with the repeated keys kept (it refuses to
    update a row twice in one statement) and on both with the first row of a key kept (each checked)."""
    numbers = [(f"C{k % (count // 2 + 1)}", "22222" if k % 3 else "33333", f"N{k}", "835") for k in range(count)]
    states = [(f"C{k % (count // 2 + 1)}", CLAIM_STATES[k % len(CLAIM_STATES)], f"P{k}", f"d{k}") for k in range(count)]
    outcomes = [ClaimOutcome(f"C{k % (count // 2 + 1)}", ("converted", "skipped")[k % 2], f"P{k}", (f"R{k}",),
                             "ERA PAYER", "1", str(k % 4 + 1), f"X{k}") for k in range(count)]
    with Ledger.open(db("many")) as many, Ledger.open(db("one")) as one:
        for ledger in (many, one):
            ledger.record_claim_life("a" * 64, numbers=[("C0", "33333", "EARLIER", "277CA")],
                                     states=[("C0", "closed", "", "")])
            ledger.record_decisions("b" * 64, [ClaimOutcome("C0", "held")] * (count + 3))
        many.record_claim_life("b" * 64, numbers=numbers, states=states)
        many.record_decisions("b" * 64, outcomes)
        for n in numbers:
            one.record_claim_life("b" * 64, numbers=[n])
        for s in states:
            one.record_claim_life("b" * 64, states=[s])
        with one.transaction():  # record_decisions as it was: executemany, a row a run
            one._conn.cursor().executemany(one.dialect.sql(ledger_sql.INSERT_DECISION), [
                ("b" * 64, seq, o.claim_id, o.status, o.payer_id, json.dumps(list(o.reasons)), "t", o.era_payer,
                 o.era_level, o.clp02, o.payer_claim_number) for seq, o in enumerate(outcomes, 1)])

        def kept(ledger):
            ids = sorted({n[0] for n in numbers} | {"C0"})
            return ([ledger.payer_claim_number(i, p) for i in ids for p in ("22222", "33333")],
                    [{k: v for k, v in (ledger.claim_state(i) or {}).items() if k != "updated_at"} for i in ids],
                    [tuple(r) for r in ledger._execute(
                        "SELECT seq, claim_id, status, payer_id, reasons, era_payer, era_level, clp02,"
                        " payer_claim_number FROM decisions ORDER BY seq").fetchall()])

        assert kept(many) == kept(one)


@pytest.mark.parametrize("count", [1, 50, 51, 137])
def test_many_claim_rows_are_stored_as_one_at_a_time(db, count):
    """_store_claim_rows upserts its rows many to a statement, a statement cut before a key it holds:
    the same rows kept (each key with its last text) and the same count of rows
    new or changed as storing them one a call, with a key repeated inside what would be one
    statement (with its text changed and unchanged), across statements, and stored before; fails
    on PostgreSQL with the cut at a repeated key left out (it refuses to update a row twice in one
    statement) and with a statement's last row left out (each checked)."""
    rows = [(f"c{k % (count // 2 + 1)}", "SUB", "22222" if k % 4 else "33333", f"RAW{k % 5}", "{}")
            for k in range(count)]
    with Ledger.open(db("many")) as many, Ledger.open(db("one")) as one:
        for ledger in (many, one):
            ledger.add_claim_rows([("c0", "SUB", "33333", "EARLIER", "{}")], source_hash="a" * 64)
        stored = many.add_claim_rows(rows, source_hash="b" * 64, issued=True)
        assert stored == sum(one.add_claim_rows([row], source_hash="b" * 64, issued=True) for row in rows)

        def kept(ledger):
            return [tuple(r) for r in ledger._execute(
                "SELECT claim_id, submitter_id, payer_id, source_hash, raw, envelope, claim_id_folded, origin"
                " FROM claims ORDER BY claim_id, submitter_id, payer_id").fetchall()]

        assert kept(many) == kept(one)


@given(st.lists(st.one_of(st.text(), st.text(alphabet='"\\\x00\x1f\u2028é☃\U0001d11e ab', max_size=6)), max_size=4)
       | st.lists(st.one_of(st.text(max_size=3), st.integers(), st.none()), max_size=3))
def test_a_decisions_reasons_are_stored_as_json_dumps_writes_them(reasons):
    """record_decisions writes a decision's reasons by json's C string encoder (_json_list): the text
    json.dumps makes of the list, for any strs (quotes, backslashes, controls, non-ASCII, astral) and,
    the json.dumps way, for anything else; fails with the items joined by ',' and with the strs
    encoded without ensure_ascii (each checked)."""
    assert ledger_core._json_list(tuple(reasons)) == json.dumps(reasons)
    assert ledger_core._json_list(reasons) == json.dumps(reasons)
