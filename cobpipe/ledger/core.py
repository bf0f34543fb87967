"""The ledger: original claims, processed files, issued secondary claims and control numbers.

It is the `ClaimSource`, `IssuedRegistry` and `ControlNumberSource` of `pipeline.convert_era`, so a
conversion run inside `ledger.transaction()` takes its ISA13/GS06/ST02 numbers in the same
transaction that records what was issued: if the process dies before the commit, the numbers were
never taken and the same run gets them again.

Storage goes through a small dialect object (`connect`, `sql`, `begin_write`, `table_exists`);
every statement is in `sql.py`. One connection per Ledger, shared by threads under a lock.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any, Protocol

from . import sql
from .errors import LedgerError
from .sqlite import SqliteDialect

# ISA13 and GS06 are at most nine digits; ST02 is written with at least four.
MAX_CONTROL_NUMBER = 999_999_999
CONTROL_KINDS = frozenset({"ISA", "GS", "ST"})


class Dialect(Protocol):
    """What the ledger needs from a database: see sqlite.py (and the README for PostgreSQL)."""

    name: str
    errors: Any  # the DB-API module, for its Error classes

    def describe(self) -> str: ...
    def connect(self) -> Any: ...
    def sql(self, statement: str) -> str: ...
    def begin_write(self, cursor: Any) -> None: ...
    def table_exists(self, cursor: Any, table: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One input file, known by the sha256 of its bytes. `kind` is '837P', '835' or 'unknown';
    `outcome` is 'stored', 'converted', 'partial' (some claims rejected/unmatched) or 'rejected'."""

    sha256: str
    name: str
    kind: str
    outcome: str
    reason: str | None = None
    detail: dict = field(default_factory=dict)
    processed_at: str = ""


@dataclass(frozen=True, slots=True)
class OutputRecord:
    """A file written to outbound for an input, with the control numbers inside it."""

    name: str
    kind: str  # '837P' or 'report'
    control_numbers: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class IssuedClaim:
    """A secondary claim billed to `payer_id` (2010BB NM109), in `output` with its envelope numbers."""

    claim_id: str
    payer_id: str
    output: str | None = None
    isa13: int | None = None
    gs06: int | None = None
    st02: int | None = None
    source_sha256: str = ""
    issued_at: str = ""
    payer_level: str = ""  # SBR01 of the 2000B billed: S, T, ...
    frequency: str = "1"  # CLM05-3: 1 original, 7 replacement, 8 void
    channel: str = "electronic"  # or "paper"


@dataclass(frozen=True, slots=True)
class ClaimOutcome:
    """What one ERA said about one claim (CLP01): a pipeline decision status and its reason codes,
    and which payer sent that 835, at which level (CLP02), with its claim number (CLP07)."""

    claim_id: str
    status: str
    payer_id: str | None = None
    reasons: tuple[str, ...] = ()
    era_payer: str | None = None
    era_level: str | None = None
    clp02: str | None = None
    payer_claim_number: str | None = None


# Where a claim stands (claim_states.state); a stored claim with no state is awaiting its primary's 835.
CLAIM_STATES = ("awaiting_primary", "billed_secondary", "billed_tertiary", "billed_next", "awaiting_crossover",
                "closed", "needs_review")


@dataclass(slots=True)
class LedgerStats:
    files: dict[str, dict[str, int]]  # kind -> outcome -> count
    claims_stored: int
    claim_ids_stored: int
    claims_by_status: dict[str, int]  # latest status per remitted claim id
    claims_pending: int  # stored claim ids no ERA has mentioned
    issued: int
    last_rejected_files: list[FileRecord]
    last_claim_problems: list[dict]


# Rebuilds a stored claim from its X12 text and its envelope as stored: the JSON of
# Envelope.to_dict(), or "" when there is none. Text, so a factory can cache per envelope.
ClaimFactory = Callable[[str, str], Any]


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


# rows a statement when many are inserted at once (Ledger.record_issued_runs): run a row at a time, every
# row costs SQLite a statement's set-up (cursors opened, the transaction checked) and the driver a
# call; 50 rows of 5 values (and the 6 a run shares) stay under the 999 values an older SQLite takes
# in one statement
_ROWS_A_STATEMENT = 50
_FOLLOW_UP = ("7", "8")  # CLM05-3 of a replacement and a void: Ledger.record_issued's follow-ups


@functools.lru_cache(maxsize=16)
def _rows_at_once(statement: str, count: int) -> str:
    """`statement`, an INSERT of one `VALUES (...)` row of marks, for `count` rows in one statement."""
    head, values, rest = statement.partition("VALUES ")
    depth = 0
    for end, char in enumerate(rest):  # the row ends at its own closing parenthesis: "(?, UPPER(?))"
        depth += (char == "(") - (char == ")")
        if depth == 0:
            break
    return head + values + ", ".join([rest[:end + 1]] * count) + rest[end + 1:]


def _json_list(texts: tuple | list) -> str:
    """`json.dumps(list(texts))`, for texts made by json's own C string encoder joined as json.dumps
    joins them (a decision's reasons: json.dumps's Python encoder set-up a decision cost ~109M at 10k
    claims with --db); anything but strs the json.dumps way."""
    try:
        return "[" + ", ".join(map(_json_string, texts)) + "]"
    except TypeError:
        return json.dumps(list(texts))


_json_string = json.encoder.encode_basestring_ascii  # json.dumps's (ensure_ascii, the default)


def claim_key(claim: Any) -> tuple[str, str, str]:
    """CLM01, submitter (1000A NM109, else ISA06) and billed payer (2010BB NM109) of an original claim."""
    return str(claim.id), _submitter_id(claim), str(getattr(claim, "payer_id", "") or "")


def _submitter_id(claim: Any) -> str:
    explicit = getattr(claim, "submitter_id", None)
    if explicit is not None:
        return str(explicit)
    submitter = getattr(claim, "submitter", None)  # Loop 1000A (NM1*41)
    nm1 = submitter.first if submitter is not None else None
    if nm1 is not None and nm1.get(9):
        return nm1.get(9)
    envelope = getattr(claim, "envelope", None)
    return str(getattr(envelope, "isa_sender", "") or "")


def _envelope_json(claim: Any) -> str | None:
    envelope = getattr(claim, "envelope", None)
    return _envelope_text(envelope) if envelope is not None else None


@functools.lru_cache(maxsize=64)
def _envelope_text(envelope: Any) -> str:
    """The JSON of an envelope; cached because every claim of a file shares one (frozen) envelope."""
    return json.dumps(envelope.to_dict(), sort_keys=True)


def _default_claim_factory() -> ClaimFactory:
    from cobpipe.claim837.claim import Envelope, OriginalClaim

    @functools.lru_cache(maxsize=64)
    def envelope_of(data: str) -> Envelope:  # claims of one file share one envelope (frozen)
        return Envelope.from_dict(json.loads(data) if data else {})

    def load(text: str, envelope: str) -> Any:
        return OriginalClaim.from_x12(text, envelope=envelope_of(envelope))

    return load


class Ledger:
    """Open with `Ledger.open(path)`; use as a context manager or call `close()`.

        with Ledger.open(root / ".cobpipe" / "ledger.db") as ledger:
            ledger.add_claims(iter_claims(path), source_hash=digest)
            with ledger.transaction():
                result = convert_era(era, ledger, out, numbers=ledger, issued=ledger)
                ledger.record_issued(digest, [...])
    """

    def __init__(self, dialect: Dialect, *, claim_factory: ClaimFactory | None = None,
                 readonly: bool = False) -> None:
        self.dialect = dialect
        self._claim_factory = claim_factory
        self._lock = threading.RLock()
        self._depth = 0
        self._commits = 0  # write transactions committed through this Ledger (see change_token)
        self.readonly = False
        self._conn = dialect.connect()
        try:
            self._migrate()
            if readonly:  # no write transaction from here on (status, reports): never a write lock
                set_readonly = getattr(dialect, "set_readonly", None)
                if set_readonly is not None:
                    set_readonly(self._conn)
                self.readonly = True
        except BaseException:
            self.close()
            raise

    @classmethod
    def open(cls, path: str | Path, *, claim_factory: ClaimFactory | None = None,
             busy_timeout: float = 120.0, readonly: bool = False) -> "Ledger":
        """A ledger in a SQLite file (created with its folder when missing), or in PostgreSQL when
        `path` is a `postgresql://` URL (dialects.py, pg.py)."""
        from .dialects import dialect_for

        return cls(dialect_for(path, busy_timeout), claim_factory=claim_factory, readonly=readonly)

    def close(self) -> None:
        with self._lock:
            release = getattr(self.dialect, "release", None)  # a pooled connection goes back to its pool
            release(self._conn) if release is not None else self._conn.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transactions ----------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator["Ledger"]:
        """One write transaction; nested calls join the outer one. Rolled back on any exception."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            if self.readonly:
                raise LedgerError(f"{self.dialect.describe()}: opened read-only, cannot write")
            cursor = self._conn.cursor()
            try:
                self.dialect.begin_write(cursor)
            except self.dialect.errors.Error as exc:
                raise LedgerError(f"{self.dialect.describe()}: cannot start a transaction: {exc}") from exc
            self._depth = 1
            try:
                yield self
            except BaseException:
                self._depth = 0
                with contextlib.suppress(self.dialect.errors.Error):
                    cursor.execute("ROLLBACK")
                raise
            self._depth = 0
            cursor.execute("COMMIT")
            self._commits += 1

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    def _execute(self, statement: str, params: tuple = ()) -> Any:
        cursor = self._conn.cursor()
        cursor.execute(self.dialect.sql(statement), params)
        return cursor

    def change_token(self) -> tuple | None:
        """Equal tokens taken at two moments mean nothing was committed in between, by this Ledger or
        any other connection (SQLite's data_version); None when the database cannot tell."""
        probe = getattr(self.dialect, "data_version", None)
        if probe is None:
            return None
        with self._lock:
            return self._commits, probe(self._conn)

    def _migrate(self) -> None:
        # a cheap read first: a ledger already at this version needs no write transaction (opening
        # never waits for a writer then); an older one is migrated once, checked again under the lock
        cursor = self._conn.cursor()
        if self.dialect.table_exists(cursor, "meta"):
            row = self._execute(sql.GET_META, (sql.SCHEMA_VERSION_KEY,)).fetchone()
            if row and int(row[0]) == sql.SCHEMA_VERSION:
                return
        with self.transaction():
            cursor = self._conn.cursor()
            version = 0
            if self.dialect.table_exists(cursor, "meta"):
                row = self._execute(sql.GET_META, (sql.SCHEMA_VERSION_KEY,)).fetchone()
                version = int(row[0]) if row else 0
            if version > sql.SCHEMA_VERSION:
                raise LedgerError(f"{self.dialect.describe()}: ledger schema {version} is newer than this "
                                  f"cobpipe understands ({sql.SCHEMA_VERSION}); upgrade cobpipe")
            ddl = getattr(self.dialect, "ddl", None)  # e.g. BLOB -> BYTEA on PostgreSQL
            for steps in sql.MIGRATIONS[version:]:
                for statement in steps:
                    cursor.execute(ddl(statement) if ddl is not None else statement)
            if version < sql.SCHEMA_VERSION:
                self._execute(sql.SET_META, (sql.SCHEMA_VERSION_KEY, str(sql.SCHEMA_VERSION)))

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self._execute(sql.GET_META, (sql.SCHEMA_VERSION_KEY,)).fetchone()[0])

    def query(self, statement: str, params: tuple = ()) -> list[tuple]:
        """Run one portable statement (`?` parameters) under the ledger's lock and return its rows
        ([] for statements without a result). For modules keeping tables of their own in the
        ledger (cobpipe/console/store.py); writes belong inside `transaction()`."""
        with self._lock:
            cursor = self._execute(statement, params)
            return [tuple(row) for row in cursor.fetchall()] if cursor.description else []

    # --- claims (pipeline.ClaimSource) -------------------------------------------------------

    def add_claims(self, claims: Iterable[Any], source_hash: str | None = None, *, issued: bool = False) -> int:
        """Store original 837P claims (their `to_x12()` text); returns how many rows were new or
        changed. Re-adding a claim already stored with the same text changes nothing. `issued`: as
        in `add_claim_rows`, claims cobpipe sent to a later payer."""
        added_at = _now()
        origin = "issued" if issued else None
        return self._store_claim_rows(
            (*(key := claim_key(claim)), source_hash, claim.to_x12(), _envelope_json(claim), added_at, key[0], origin)
            for claim in claims)

    def add_claim_rows(self, rows: Iterable[tuple[str, str, str, str, str]], source_hash: str | None = None,
                       *, issued: bool = False) -> int:
        """`add_claims` for claims already in their storage form: (CLM01, submitter id, payer id,
        `to_x12()` text, envelope JSON) rows, as cobpipe.claim837.rows.ClaimRows reads them.
        `issued`: claims cobpipe sent to a later payer (the next payer's 835 continues from them),
        not counted as stored originals."""
        added_at = _now()
        origin = "issued" if issued else None
        return self._store_claim_rows(
            (claim_id, submitter, payer, source_hash, raw, envelope, added_at, claim_id, origin)
            for claim_id, submitter, payer, raw, envelope in rows)

    def add_claims_of(self, other: "Ledger") -> int:
        """Store every claim of another ledger as if `add_claims` had read them here: a batch
        parses its 837P files in parallel, each into a ledger of its own, then merges those in
        command-line order so the last file naming a claim wins, as in a serial run."""
        with other._lock:
            rows = other._execute(sql.ALL_CLAIMS)
            return self._store_claim_rows(iter(rows))

    def _store_claim_rows(self, rows: Iterable[tuple]) -> int:
        """The rows (read as they come: an 837P's claims, memory flat) many a statement
        (_insert_rows: -61M at 10k claims with --db, 16,894 rows), a statement cut before a key it holds
        already: the upsert then sees each row after the one before it, as executemany's statement
        run a row did (its update is conditional, and PostgreSQL refuses to update a row twice in
        one statement)."""
        with self.transaction():
            cursor = self._conn.cursor()
            changed, part, keys = 0, [], set()
            for row in rows:
                key = row[:3]
                if key in keys or len(part) == _ROWS_A_STATEMENT:
                    changed += self._insert_rows(cursor, sql.UPSERT_CLAIM, part)
                    part, keys = [], set()
                part.append(row)
                keys.add(key)
            return changed + self._insert_rows(cursor, sql.UPSERT_CLAIM, part)

    def claims_for(self, claim_id: str, *, folded: bool = False) -> list:
        """Every stored claim with this CLM01 (several submitters or payers may share one: the
        original billed to the primary, and the claims cobpipe issued to later payers). `folded`:
        every claim whose CLM01 equals `claim_id` ignoring case."""
        with self._lock:
            rows = self._execute(sql.CLAIMS_FOLDED if folded else sql.CLAIMS_FOR, (claim_id,)).fetchall()
        if not rows:
            return []
        if self._claim_factory is None:
            self._claim_factory = _default_claim_factory()
        return [self._claim_factory(raw, envelope or "") for raw, envelope in rows]

    # --- issued claims (pipeline.IssuedRegistry) ---------------------------------------------

    def was_issued(self, claim_id: str, payer_id: str) -> bool:
        with self._lock:
            return self._execute(sql.WAS_ISSUED, (claim_id, payer_id)).fetchone() is not None

    def issued_for(self, claim_id: str) -> list[IssuedClaim]:
        with self._lock:
            rows = self._execute(sql.ISSUED_FOR, (claim_id,)).fetchall()
        return [IssuedClaim(claim_id=r[0], payer_id=r[1], source_sha256=r[2], output=r[3], isa13=r[4],
                            gs06=r[5], st02=r[6], issued_at=r[7], payer_level=r[8] or "",
                            frequency=r[9] or "1", channel=r[10] or "electronic") for r in rows]

    def record_issued(self, source_sha256: str, claims: Iterable[IssuedClaim]) -> int:
        """Record claims sent to a later payer: an original (CLM05-3 1) keeps its first record per
        claim and payer; a replacement or void is a follow-up, one per causing 835. Returns how many
        were new."""
        runs: list[tuple[tuple, list[tuple]]] = []
        for c in claims:
            shared = (c.output, c.isa13, c.gs06, c.channel)
            if not runs or runs[-1][0] != shared:
                runs.append((shared, []))
            runs[-1][1].append((c.claim_id, c.payer_id, c.st02, c.payer_level, c.frequency))
        return self.record_issued_runs(source_sha256, runs)

    def record_issued_runs(self, source_sha256: str, runs: Iterable[tuple[tuple, list[tuple]]]) -> int:
        """`record_issued` of claims given in runs that went to the same place, in the order they were
        issued: ((output, ISA13, GS06, channel), [(CLM01, payer id, ST02, payer level, frequency), ...]).
        What a run shares is bound once a statement (sql.INSERT_ISSUED_RUN), as the ERA's hash and
        the time are: a one-shot run records its billed claims as one run (6,894 at 10k claims) made
        straight from its decisions (record.issued_runs), where an IssuedClaim a claim, its 11
        attributes read back into a row and the driver's 11 binds a row cost ~49M at 10k claims."""
        issued_at = _now()
        follow_ups = []
        with self.transaction():
            cursor = self._conn.cursor()
            voided = self._voided_keys(cursor)
            followed: set[tuple[str, str]] = set()  # this call's follow-ups: one a claim and payer (the table's key)
            new = 0
            for (output, isa13, gs06, channel), claims in runs:
                originals = [c for c in claims if c[4] not in _FOLLOW_UP]
                if len(originals) < len(claims) or voided:
                    originals = []
                    for claim in claims:
                        claim_id, payer_id, st02, _, frequency = claim
                        key = (claim_id, payer_id)
                        # an original sent where the last claim sent was voided is billed anew: a
                        # follow-up too (the issued row keeps the first original), so that it is no
                        # longer taken for voided
                        if frequency not in _FOLLOW_UP and key not in voided:
                            originals.append(claim)
                        elif key not in followed:
                            followed.add(key)
                            follow_ups.append((claim_id, payer_id, source_sha256, frequency or "1", output, isa13,
                                               gs06, st02, issued_at))
                            voided.add(key) if frequency == "8" else voided.discard(key)
                new += self._insert_rows(cursor, sql.INSERT_ISSUED_RUN, originals,
                                         [source_sha256, output, isa13, gs06, issued_at, channel])
            if follow_ups:
                cursor.executemany(self.dialect.sql(sql.INSERT_FOLLOW_UP), follow_ups)
                new += max(cursor.rowcount, 0)
            return new

    def _insert_rows(self, cursor, statement: str, rows: list[tuple], shared: list | None = None) -> int:
        """`rows` of `statement` (an INSERT of one `VALUES (...)` row of marks, after the marks of the
        values `shared` binds once a statement) inserted _ROWS_A_STATEMENT rows a statement instead of
        executemany's statement run a row (a `convert --db` of 10k claims: its 10,000 decisions, 9,709
        payer claim numbers and 10,000 states, -192M); returns the rows inserted or updated. An
        upsert's rows must not repeat its conflict key (PostgreSQL refuses to update a row twice in
        one statement)."""
        changed = 0
        for start in range(0, len(rows), _ROWS_A_STATEMENT):
            part = rows[start:start + _ROWS_A_STATEMENT]
            values = list(chain.from_iterable(part))
            cursor.execute(self.dialect.sql(_rows_at_once(statement, len(part))), shared + values if shared else values)
            changed += max(cursor.rowcount, 0)
        return changed

    def _voided_keys(self, cursor) -> set[tuple[str, str]]:
        """(claim, payer) of the claims whose last follow-up was a void (CLM05-3 8). Follow-ups are
        few (a primary's reversals and corrections), so all are read."""
        last: dict[tuple[str, str], str] = {}
        cursor.execute(self.dialect.sql(sql.FOLLOW_UP_FREQUENCIES))
        for claim_id, payer_id, frequency in cursor.fetchall():
            last[(claim_id, payer_id)] = frequency
        return {key for key, frequency in last.items() if frequency == "8"}

    def voided(self, claim_id: str, payer_id: str) -> bool:
        """The last claim sent to this payer for this CLM01 was a void (CLM05-3 8): nothing stands
        billed there."""
        sent = [f for f in self.follow_ups_for(claim_id) if f.payer_id == payer_id]
        return bool(sent) and sent[-1].frequency == "8"

    def follow_ups_for(self, claim_id: str) -> list[IssuedClaim]:
        """Replacements and voids sent for this claim, oldest first."""
        with self._lock:
            rows = self._execute(sql.FOLLOW_UPS_FOR, (claim_id,)).fetchall()
        return [IssuedClaim(claim_id=r[0], payer_id=r[1], source_sha256=r[2], output=r[3], isa13=r[4],
                            gs06=r[5], st02=r[6], issued_at=r[7], frequency=r[8]) for r in rows]

    # --- a claim's life across payers ----------------------------------------------------------

    def record_payer_claim_number(self, claim_id: str, payer_id: str, number: str, source: str) -> None:
        """The claim number `payer_id` gave our claim (`source`: '835' CLP07, '277CA' REF*1K, ...)."""
        if not number:
            return
        with self.transaction():
            self._execute(sql.UPSERT_PAYER_CLAIM_NUMBER, (claim_id, payer_id, number, source, _now()))

    def payer_claim_number(self, claim_id: str, payer_id: str) -> str | None:
        with self._lock:
            row = self._execute(sql.GET_PAYER_CLAIM_NUMBER, (claim_id, payer_id)).fetchone()
        return row[0] if row else None

    def set_claim_state(self, claim_id: str, state: str, payer_id: str | None = None, detail: str = "") -> None:
        if state not in CLAIM_STATES:
            raise ValueError(f"unknown claim state {state!r}")
        with self.transaction():
            self._execute(sql.UPSERT_CLAIM_STATE, (claim_id, state, payer_id, detail, _now()))

    def claim_state(self, claim_id: str) -> dict | None:
        with self._lock:
            row = self._execute(sql.GET_CLAIM_STATE, (claim_id,)).fetchone()
        return {"state": row[0], "payer_id": row[1], "detail": row[2], "updated_at": row[3]} if row else None

    def claim_state_counts(self) -> dict[str, int]:
        with self._lock:
            return {state: int(n) for state, n in self._execute(sql.CLAIM_STATE_COUNTS).fetchall()}

    def record_crossover(self, claim_id: str, source_sha256: str, announced_by: str, forwarded_to: str,
                         announced_on: dt.date) -> None:
        with self.transaction():
            self._execute(sql.INSERT_CROSSOVER, (claim_id, source_sha256, announced_by, forwarded_to,
                                                 announced_on.isoformat()))

    def open_crossovers(self, claim_id: str) -> list[dict]:
        with self._lock:
            rows = self._execute(sql.OPEN_CROSSOVERS_FOR, (claim_id,)).fetchall()
        return [{"source_sha256": r[0], "announced_by": r[1], "forwarded_to": r[2], "announced_on": r[3]}
                for r in rows]

    def answer_crossovers(self, claim_id: str, source_sha256: str) -> int:
        with self.transaction():
            return max(self._execute(sql.ANSWER_CROSSOVERS, (source_sha256, _now(), claim_id)).rowcount, 0)

    def record_claim_life(self, source_sha256: str, *, numbers: Iterable[tuple] = (), states: Iterable[tuple] = (),
                          crossovers: Iterable[tuple] = (), answered: Iterable[str] = (),
                          today: dt.date | None = None) -> None:
        """One conversion's claim life in one transaction: payer claim numbers (claim, payer, number,
        source), states (claim, state, payer, detail), crossovers announced by this 835 (claim,
        announced by, forwarded to) and the claims whose crossover this 835 answers."""
        now = _now()
        announced = (today or dt.date.today()).isoformat()
        with self.transaction():
            cursor = self._conn.cursor()
            # many rows a statement (_insert_rows), each key's last row only: executemany's upserts a
            # row at a time left each key with its last row's values, as every column is updated
            self._insert_rows(cursor, sql.UPSERT_PAYER_CLAIM_NUMBER,
                              list({n[:2]: (*n, now) for n in numbers}.values()))
            for state in states:
                if state[1] not in CLAIM_STATES:
                    raise ValueError(f"unknown claim state {state[1]!r}")
            self._insert_rows(cursor, sql.UPSERT_CLAIM_STATE, list({st[0]: (*st, now) for st in states}.values()))
            cursor.executemany(self.dialect.sql(sql.INSERT_CROSSOVER),
                               [(c[0], source_sha256, c[1], c[2], announced) for c in crossovers])
            cursor.executemany(self.dialect.sql(sql.ANSWER_CROSSOVERS),
                               [(source_sha256, now, claim_id) for claim_id in answered])

    def overdue_crossovers(self, announced_before: dt.date) -> list[dict]:
        """Crossovers announced before that date that the forwarded-to payer has not answered."""
        with self._lock:
            rows = self._execute(sql.OVERDUE_CROSSOVERS, (announced_before.isoformat(),)).fetchall()
        return [{"claim_id": r[0], "source_sha256": r[1], "announced_by": r[2], "forwarded_to": r[3],
                 "announced_on": r[4]} for r in rows]

    # --- control numbers (edi.writer.ControlNumberSource) ------------------------------------

    def next_number(self, kind: str, sender: str, receiver: str) -> int:
        """The next ISA13/GS06/ST02 for this sender/receiver pair: 1, 2, 3, ... with no gaps, wrapping
        after 999999999. Inside `transaction()` the number is only taken if that transaction
        commits; outside one it is committed at once."""
        if kind not in CONTROL_KINDS:
            raise ValueError(f"control number kind must be one of {sorted(CONTROL_KINDS)}, not {kind!r}")
        with self.transaction():
            row = self._execute(sql.NEXT_CONTROL_NUMBER,
                                (kind, sender, receiver, 1, MAX_CONTROL_NUMBER)).fetchone()
            return int(row[0])

    def control_numbers(self) -> list[tuple[str, str, str, int]]:
        """(kind, sender, receiver, last number used) for every pair."""
        with self._lock:
            return [tuple(r) for r in self._execute(sql.PEEK_CONTROL_NUMBERS).fetchall()]

    # --- files, outputs, decisions ------------------------------------------------------------

    def file(self, sha256: str) -> FileRecord | None:
        """The record of an input already processed (by the sha256 of its bytes), or None."""
        with self._lock:
            row = self._execute(sql.GET_FILE, (sha256,)).fetchone()
        return _file_record(row) if row else None

    def record_file(self, record: FileRecord) -> FileRecord:
        """Record a processed input. A record saying 'rejected' is replaced (the same bytes may be tried
        again once the cause is fixed); any other existing record raises LedgerError."""
        record = FileRecord(record.sha256, record.name, record.kind, record.outcome, record.reason,
                            dict(record.detail), record.processed_at or _now())
        with self.transaction():
            self._execute(sql.DELETE_REJECTED_FILE, (record.sha256,))
            try:
                self._execute(sql.INSERT_FILE, (record.sha256, record.name, record.kind, record.outcome,
                                                record.reason, json.dumps(record.detail, sort_keys=True),
                                                record.processed_at))
            except self.dialect.errors.IntegrityError as exc:
                raise LedgerError(f"file {record.sha256} is already recorded") from exc
        return record

    def update_file_detail(self, sha256: str, **detail: Any) -> None:
        """Add keys to a recorded file's detail (e.g. where it was archived)."""
        with self.transaction():
            row = self._execute(sql.GET_FILE, (sha256,)).fetchone()
            if row is None:
                return
            merged = {**_file_record(row).detail, **detail}
            self._execute(sql.SET_FILE_DETAIL, (json.dumps(merged, sort_keys=True), sha256))

    def unmatched_awaiting(self, claim_ids: Iterable[str]) -> dict[str, list[str]]:
        """The 835s (sha256, oldest first) that left some of `claim_ids` unmatched, with no decision
        about them since: {era sha256: [claim ids]}."""
        ids = sorted(set(claim_ids))
        awaiting: dict[str, list[str]] = {}
        seen: set[tuple[str, str]] = set()
        rows: list[tuple] = []
        with self._lock:
            for start in range(0, len(ids), 500):  # SQLite allows 999 parameters in older builds
                chunk = ids[start:start + 500]
                statement = sql.UNMATCHED_AWAITING.format(marks=", ".join("?" * len(chunk)))
                rows += self._execute(statement, tuple(chunk)).fetchall()
        for _, era, _, claim_id in sorted(rows):
            if (era, claim_id) not in seen:
                seen.add((era, claim_id))
                awaiting.setdefault(era, []).append(claim_id)
        return awaiting

    def record_outputs(self, source_sha256: str, outputs: Iterable[OutputRecord]) -> None:
        written_at = _now()
        rows = [(o.name, source_sha256, o.kind, json.dumps([list(n) for n in o.control_numbers]), written_at)
                for o in outputs]
        with self.transaction():
            self._conn.cursor().executemany(self.dialect.sql(sql.UPSERT_OUTPUT), rows)

    def outputs_of(self, source_sha256: str) -> list[OutputRecord]:
        with self._lock:
            rows = self._execute(sql.OUTPUTS_OF, (source_sha256,)).fetchall()
        return [OutputRecord(r[0], r[1], tuple((k, int(n)) for k, n in json.loads(r[2] or "[]")))
                for r in rows]

    def record_decisions(self, source_sha256: str, outcomes: Iterable[ClaimOutcome]) -> None:
        decided_at = _now()
        rows = [(source_sha256, seq, o.claim_id, o.status, o.payer_id, _json_list(o.reasons), decided_at,
                 o.era_payer, o.era_level, o.clp02, o.payer_claim_number)
                for seq, o in enumerate(outcomes, 1)]
        with self.transaction():  # many rows a statement (_insert_rows): seq is each row's own key
            self._insert_rows(self._conn.cursor(), sql.INSERT_DECISION, rows)

    # --- acknowledgments of what we sent (issue 18; cobpipe/acks) -------------------------------

    def record_claim_ack(self, claim_id: str, payer_id: str, kind: str, state: str, codes: Iterable[str],
                         reason: str, ack_sha256: str, ack_name: str, payer_claim_number: str = "") -> None:
        """A claim's latest 999 or 277CA verdict ('accepted', 'accepted_with_errors', 'rejected')."""
        with self.transaction():
            self._execute(sql.UPSERT_CLAIM_ACK, (claim_id, payer_id, kind, state, json.dumps(list(codes)), reason,
                                                 payer_claim_number or None, ack_sha256, ack_name, _now()))

    def claim_acks(self, claim_id: str) -> list[dict]:
        with self._lock:
            rows = self._execute(sql.CLAIM_ACKS_FOR, (claim_id,)).fetchall()
        keys = ("claim_id", "payer_id", "kind", "state", "codes", "reason", "payer_claim_number", "ack_sha256",
                "ack_name", "received_at")
        return [{**dict(zip(keys, r)), "codes": json.loads(r[4] or "[]")} for r in rows]

    def issued_in_set(self, gs06: int, st02: int | None) -> list[tuple[str, str, str | None]]:
        """(claim id, payer id, output) of the claims we issued in group GS06 (and set ST02 when given)."""
        with self._lock:
            if st02 is None:
                return [tuple(r) for r in self._execute(sql.ISSUED_IN_GROUP, (gs06,)).fetchall()]
            return [tuple(r) for r in self._execute(sql.ISSUED_IN_SET, (gs06, st02)).fetchall()]

    def ack_summary(self, before: str, last: int = 10) -> dict:
        """For `cobpipe status`: verdict counts, 837Ps written before `before` (ISO time) without a 999,
        and claims issued before it without a 277CA."""
        with self._lock:
            counts: dict[str, dict[str, int]] = {}
            for kind, state, n in self._execute(sql.ACK_STATE_COUNTS).fetchall():
                counts.setdefault(kind, {})[state] = int(n)
            no_999 = [{"file": r[0], "written_at": r[1]}
                      for r in self._execute(sql.OUTPUTS_WITHOUT_999, (before, last)).fetchall()]
            no_277 = [{"claim_id": r[0], "payer_id": r[1], "output": r[2], "issued_at": r[3]}
                      for r in self._execute(sql.ISSUED_WITHOUT_277CA, (before, last)).fetchall()]
            no_277_total = int(self._execute(sql.COUNT_WITHOUT_277CA, (before,)).fetchone()[0])
        return {"counts": counts, "outputs_without_999": no_999, "claims_without_277ca": no_277,
                "claims_without_277ca_total": no_277_total}

    # --- status --------------------------------------------------------------------------------

    def stats(self, last: int = 10) -> LedgerStats:
        with self._lock:
            files: dict[str, dict[str, int]] = {}
            for kind, outcome, count in self._execute(sql.FILE_COUNTS).fetchall():
                files.setdefault(kind, {})[outcome] = int(count)
            claims_stored = int(self._execute(sql.COUNT_CLAIMS).fetchone()[0])
            claim_ids = int(self._execute(sql.COUNT_CLAIM_IDS).fetchone()[0])
            by_status = {status: int(n) for status, n in self._execute(sql.CLAIM_STATUS_COUNTS).fetchall()}
            pending = int(self._execute(sql.COUNT_PENDING).fetchone()[0])
            issued = int(self._execute(sql.COUNT_ISSUED).fetchone()[0])
            rejected = [_file_record(r) for r in self._execute(sql.LAST_REJECTED_FILES, ("rejected", last))]
            problems = [{"claim_id": r[0], "status": r[1], "reasons": json.loads(r[2] or "[]"),
                         "at": r[3], "file": r[4]}
                        for r in self._execute(sql.LAST_CLAIM_PROBLEMS, ("rejected", "unmatched", last))]
        return LedgerStats(files, claims_stored, claim_ids, by_status, pending, issued, rejected, problems)


def _file_record(row: tuple) -> FileRecord:
    return FileRecord(sha256=row[0], name=row[1], kind=row[2], outcome=row[3], reason=row[4],
                      detail=json.loads(row[5]) if row[5] else {}, processed_at=row[6])
