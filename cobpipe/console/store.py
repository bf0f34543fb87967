"""The console's SQL and data access: users, sessions and the audit log (tables of ledger migration
1 -> 2), and the read-only queries over the pipeline's own tables (decisions, files, outputs,
claims, issued) that the console's screens show.

Portable SQL only (`?` parameters, no AUTOINCREMENT); every statement runs through
`Ledger.query`, writes inside `Ledger.transaction()`.
"""
from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass, field

from ..ledger import Ledger

ROLES = ("biller", "analyst", "admin")
QUEUE_STATUSES = ("rejected", "held", "unmatched")

# --- users ---------------------------------------------------------------------------------------
INSERT_USER = """INSERT INTO console_users (name, role, password_hash, disabled, created_at)
    VALUES (?, ?, ?, 0, ?)"""
GET_USER = "SELECT name, role, password_hash, disabled, created_at FROM console_users WHERE name = ?"
ALL_USERS = "SELECT name, role, password_hash, disabled, created_at FROM console_users ORDER BY name"
SET_USER_ROLE = "UPDATE console_users SET role = ? WHERE name = ?"
SET_USER_DISABLED = "UPDATE console_users SET disabled = ? WHERE name = ?"
SET_USER_PASSWORD = "UPDATE console_users SET password_hash = ? WHERE name = ?"
COUNT_ADMINS = "SELECT COUNT(*) FROM console_users WHERE role = 'admin' AND disabled = 0"

# --- sessions ------------------------------------------------------------------------------------
INSERT_SESSION = """INSERT INTO console_sessions (token_hash, user_name, csrf, revealed, created_at, last_seen,
    expires_at) VALUES (?, ?, ?, '[]', ?, ?, ?)"""
GET_SESSION = """SELECT token_hash, user_name, csrf, revealed, created_at, last_seen, expires_at
    FROM console_sessions WHERE token_hash = ?"""
TOUCH_SESSION = "UPDATE console_sessions SET last_seen = ?, expires_at = ? WHERE token_hash = ?"
SET_REVEALED = "UPDATE console_sessions SET revealed = ? WHERE token_hash = ?"
DELETE_SESSION = "DELETE FROM console_sessions WHERE token_hash = ?"
DELETE_USER_SESSIONS = "DELETE FROM console_sessions WHERE user_name = ?"
DELETE_EXPIRED_SESSIONS = "DELETE FROM console_sessions WHERE expires_at < ?"

# --- audit ---------------------------------------------------------------------------------------
INSERT_AUDIT = """INSERT INTO console_audit (id, at, user_name, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)"""
AUDIT_PAGE = """SELECT at, user_name, action, target, detail FROM console_audit
    ORDER BY at DESC, id DESC LIMIT ? OFFSET ?"""
AUDIT_OF = """SELECT at, user_name, action, target, detail FROM console_audit WHERE action = ?
    ORDER BY at DESC, id DESC LIMIT ?"""
COUNT_AUDIT = "SELECT COUNT(*) FROM console_audit"

# --- the pipeline's tables, read ---------------------------------------------------------------------
# The latest decision of every claim id (by time, then file and position), as `cobpipe status`
# orders them: a claim leaves the queue once a later decision (another 835, or a claim sent from
# the console) settles it.
_LATER = """NOT EXISTS (SELECT 1 FROM decisions later WHERE later.claim_id = d.claim_id
          AND (later.decided_at > d.decided_at
               OR (later.decided_at = d.decided_at AND later.source_sha256 > d.source_sha256)
               OR (later.decided_at = d.decided_at AND later.source_sha256 = d.source_sha256
                   AND later.seq > d.seq)))"""
QUEUE = """SELECT d.claim_id, d.status, d.payer_id, d.reasons, d.decided_at, d.source_sha256, d.seq,
        f.name, f.kind
    FROM decisions d LEFT JOIN files f ON f.sha256 = d.source_sha256
    WHERE d.status IN ('rejected', 'held', 'unmatched') AND """ + _LATER + """{where}
    ORDER BY d.decided_at DESC, d.source_sha256, d.seq"""
QUEUE_COUNTS = """SELECT d.status, COUNT(*) FROM decisions d
    WHERE d.status IN ('rejected', 'held', 'unmatched') AND """ + _LATER + """
    GROUP BY d.status"""
LATEST_DECISION = """SELECT d.claim_id, d.status, d.payer_id, d.reasons, d.decided_at, d.source_sha256, d.seq,
        f.name, f.kind
    FROM decisions d LEFT JOIN files f ON f.sha256 = d.source_sha256
    WHERE d.claim_id = ? AND """ + _LATER
DECISIONS_OF_CLAIM = """SELECT d.claim_id, d.status, d.payer_id, d.reasons, d.decided_at, d.source_sha256, d.seq,
        f.name, f.kind
    FROM decisions d LEFT JOIN files f ON f.sha256 = d.source_sha256
    WHERE d.claim_id = ? ORDER BY d.decided_at DESC, d.source_sha256, d.seq"""
DECISIONS_OF_FILE = """SELECT claim_id, status, payer_id, reasons, decided_at FROM decisions
    WHERE source_sha256 = ? AND claim_id IN ({marks}) ORDER BY seq"""
CLAIM_PAYERS = "SELECT DISTINCT payer_id FROM claims WHERE claim_id = ?"
FILES_PAGE = """SELECT sha256, name, kind, outcome, reason, detail, processed_at FROM files {where}
    ORDER BY processed_at DESC, sha256 LIMIT ? OFFSET ?"""
COUNT_FILES = "SELECT COUNT(*) FROM files {where}"
OUTPUTS_ALL = """SELECT name, source_sha256, kind, control_numbers, written_at FROM outputs
    ORDER BY written_at DESC, name LIMIT ?"""
OUTPUT_BY_NAME = "SELECT name, source_sha256, kind, control_numbers, written_at FROM outputs WHERE name = ?"
ISSUED_BY_OUTPUT = "SELECT claim_id, payer_id, isa13, gs06, st02 FROM issued WHERE output = ? ORDER BY claim_id"
SEARCH_CLAIMS = """SELECT claim_id, submitter_id, payer_id, raw, envelope, added_at FROM claims
    WHERE {where} ORDER BY added_at DESC, claim_id LIMIT ?"""
CLAIM_ROW = """SELECT claim_id, submitter_id, payer_id, raw, envelope, added_at FROM claims
    WHERE claim_id = ? ORDER BY submitter_id, payer_id"""


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def stamp(when: dt.datetime | None = None) -> str:
    return (when or now()).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: str
    password_hash: str
    disabled: bool = False
    created_at: str = ""


@dataclass(slots=True)
class Session:
    token_hash: str
    user_name: str
    csrf: str
    revealed: set[str] = field(default_factory=set)
    created_at: str = ""
    last_seen: str = ""
    expires_at: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    """One row of `decisions`, with the name and kind of the file that made it (None for a claim sent
    from the console, which has no input file)."""

    claim_id: str
    status: str
    payer_id: str | None
    reasons: tuple[str, ...]
    decided_at: str
    source_sha256: str
    seq: int
    file_name: str | None
    file_kind: str | None


def _decision(row: tuple) -> Decision:
    try:
        reasons = tuple(json.loads(row[3] or "[]"))
    except ValueError:
        reasons = ()
    return Decision(row[0], row[1], row[2], reasons, row[4], row[5], int(row[6]), row[7], row[8])


class ConsoleStore:
    """The console's view of one ledger."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    # --- users ---------------------------------------------------------------------------------
    def add_user(self, name: str, role: str, password_hash: str) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        with self.ledger.transaction():
            if self.ledger.query(GET_USER, (name,)):
                raise ValueError(f"user {name!r} already exists")
            self.ledger.query(INSERT_USER, (name, role, password_hash, stamp()))

    def user(self, name: str) -> User | None:
        rows = self.ledger.query(GET_USER, (name,))
        return _user(rows[0]) if rows else None

    def users(self) -> list[User]:
        return [_user(r) for r in self.ledger.query(ALL_USERS)]

    def set_role(self, name: str, role: str) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        with self.ledger.transaction():
            self.ledger.query(SET_USER_ROLE, (role, name))

    def set_disabled(self, name: str, disabled: bool) -> None:
        with self.ledger.transaction():
            self.ledger.query(SET_USER_DISABLED, (1 if disabled else 0, name))
            if disabled:
                self.ledger.query(DELETE_USER_SESSIONS, (name,))

    def set_password(self, name: str, password_hash: str) -> None:
        with self.ledger.transaction():
            self.ledger.query(SET_USER_PASSWORD, (password_hash, name))
            self.ledger.query(DELETE_USER_SESSIONS, (name,))

    def active_admins(self) -> int:
        return int(self.ledger.query(COUNT_ADMINS)[0][0])

    # --- sessions ------------------------------------------------------------------------------
    def add_session(self, token_hash: str, user_name: str, csrf: str, expires_at: dt.datetime) -> None:
        at = stamp()
        with self.ledger.transaction():
            self.ledger.query(DELETE_EXPIRED_SESSIONS, (at,))
            self.ledger.query(INSERT_SESSION, (token_hash, user_name, csrf, at, at, stamp(expires_at)))

    def session(self, token_hash: str) -> Session | None:
        rows = self.ledger.query(GET_SESSION, (token_hash,))
        if not rows:
            return None
        r = rows[0]
        try:
            revealed = set(json.loads(r[3] or "[]"))
        except ValueError:
            revealed = set()
        return Session(r[0], r[1], r[2], revealed, r[4], r[5], r[6])

    def touch_session(self, token_hash: str, expires_at: dt.datetime) -> None:
        with self.ledger.transaction():
            self.ledger.query(TOUCH_SESSION, (stamp(), stamp(expires_at), token_hash))

    def set_revealed(self, token_hash: str, revealed: set[str]) -> None:
        with self.ledger.transaction():
            self.ledger.query(SET_REVEALED, (json.dumps(sorted(revealed)), token_hash))

    def end_session(self, token_hash: str) -> None:
        with self.ledger.transaction():
            self.ledger.query(DELETE_SESSION, (token_hash,))

    # --- audit ---------------------------------------------------------------------------------
    def audit(self, user_name: str, action: str, target: str = "", detail: dict | None = None) -> None:
        """One audit row (who, when, what). Joins the caller's transaction when there is one, so a
        change and its audit row commit together."""
        with self.ledger.transaction():
            self.ledger.query(INSERT_AUDIT, (secrets.token_hex(16), stamp(), user_name, action, target,
                                             json.dumps(detail or {}, sort_keys=True, default=str)))

    def audit_page(self, limit: int = 100, offset: int = 0) -> tuple[list[dict], int]:
        rows = self.ledger.query(AUDIT_PAGE, (limit, offset))
        total = int(self.ledger.query(COUNT_AUDIT)[0][0])
        return [_audit(r) for r in rows], total

    def audit_of(self, action: str, limit: int = 100) -> list[dict]:
        return [_audit(r) for r in self.ledger.query(AUDIT_OF, (action, limit))]

    # --- the work queue ----------------------------------------------------------------------------
    def queue(self, *, statuses: tuple[str, ...] = (), payer: str = "", since: str = "",
              until: str = "") -> list[Decision]:
        """Claims whose latest decision needs a person, newest first (filtered by status, payer id
        -- the payer the decision names or the one the original claim was billed to -- and the
        decision's date, YYYY-MM-DD inclusive)."""
        where, params = "", []
        statuses = tuple(s for s in statuses if s in QUEUE_STATUSES)
        if statuses:
            where += f" AND d.status IN ({', '.join('?' * len(statuses))})"
            params += statuses
        if payer:
            where += (" AND (d.payer_id = ? OR EXISTS (SELECT 1 FROM claims c WHERE c.claim_id = d.claim_id"
                      " AND c.payer_id = ?))")
            params += [payer, payer]
        if since:
            where += " AND d.decided_at >= ?"
            params.append(since)
        if until:
            where += " AND d.decided_at < ?"
            params.append(until)
        return [_decision(r) for r in self.ledger.query(QUEUE.format(where=where), tuple(params))]

    def queue_counts(self) -> dict[str, int]:
        counts = {status: 0 for status in QUEUE_STATUSES}
        counts.update({status: int(n) for status, n in self.ledger.query(QUEUE_COUNTS)})
        return counts

    def latest_decision(self, claim_id: str) -> Decision | None:
        rows = self.ledger.query(LATEST_DECISION, (claim_id,))
        return _decision(rows[0]) if rows else None

    def decisions_of_claim(self, claim_id: str) -> list[Decision]:
        return [_decision(r) for r in self.ledger.query(DECISIONS_OF_CLAIM, (claim_id,))]

    def decisions_in_file(self, sha256: str, claim_ids: list[str]) -> dict[str, dict]:
        if not claim_ids:
            return {}
        rows = self.ledger.query(DECISIONS_OF_FILE.format(marks=", ".join("?" * len(claim_ids))),
                                 (sha256, *claim_ids))
        out: dict[str, dict] = {}
        for claim_id, status, payer_id, reasons, decided_at in rows:
            out[claim_id] = {"status": status, "payer_id": payer_id, "reasons": json.loads(reasons or "[]"),
                             "at": decided_at}
        return out

    def billed_payers(self, claim_id: str) -> list[str]:
        return [r[0] for r in self.ledger.query(CLAIM_PAYERS, (claim_id,))]

    # --- files and outputs ---------------------------------------------------------------------------
    def files(self, *, kind: str = "", limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
        where, params = ("WHERE kind = ?", (kind,)) if kind else ("", ())
        rows = self.ledger.query(FILES_PAGE.format(where=where), (*params, limit, offset))
        total = int(self.ledger.query(COUNT_FILES.format(where=where), params)[0][0])
        return [_file(r) for r in rows], total

    def file(self, sha256: str) -> dict | None:
        record = self.ledger.file(sha256)
        if record is None:
            return None
        return {"sha256": record.sha256, "name": record.name, "kind": record.kind, "outcome": record.outcome,
                "reason": record.reason, "detail": record.detail, "processed_at": record.processed_at}

    def outputs(self, limit: int = 200) -> list[dict]:
        return [_output(r) for r in self.ledger.query(OUTPUTS_ALL, (limit,))]

    def output(self, name: str) -> dict | None:
        rows = self.ledger.query(OUTPUT_BY_NAME, (name,))
        return _output(rows[0]) if rows else None

    def issued_in(self, output: str) -> list[dict]:
        return [{"claim_id": r[0], "payer_id": r[1], "isa13": r[2], "gs06": r[3], "st02": r[4]}
                for r in self.ledger.query(ISSUED_BY_OUTPUT, (output,))]

    def claim_segments(self, claim_id: str, payer_id: str) -> list[str]:
        """The 2300 loop (CLM on) of the stored claim billed to that payer -- for a claim the console
        or a job sent, the secondary claim as it was sent (issued claims are stored as claims)."""
        rows = [r for r in self.ledger.query(CLAIM_ROW, (claim_id,)) if r[2] == payer_id]
        if not rows:
            return []
        segments = [s.strip() for s in rows[0][3].split("~") if s.strip()]
        start = next((n for n, s in enumerate(segments) if s.startswith("CLM*")), 0)
        return segments[start:]

    # --- original claims ------------------------------------------------------------------------------
    def search_claims(self, *, claim_id: str = "", patient: str = "", service_date: dt.date | None = None,
                      limit: int = 50) -> list[tuple]:
        """Stored original claims by CLM01 (prefix), patient or subscriber last name (the NM1*IL/QC
        name as billed) and date of service; rows (claim_id, submitter, payer, raw, envelope, added_at)."""
        clauses, params = [], []
        if _like_escape(claim_id):
            clauses.append("UPPER(claim_id) LIKE ?")
            params.append(_like_prefix(claim_id.upper()))
        name = _like_escape(patient.strip().upper())
        if name:
            clauses.append("(raw LIKE ? OR raw LIKE ?)")
            params += [f"%NM1*IL*1*{name}*%", f"%NM1*QC*1*{name}*%"]
        if service_date:
            day = service_date.strftime("%Y%m%d")
            clauses.append("(raw LIKE ? OR raw LIKE ?)")
            params += [f"%DTP*472*D8*{day}%", f"%DTP*472*RD8*{day}%"]
        if not clauses:
            return []
        return self.ledger.query(SEARCH_CLAIMS.format(where=" AND ".join(clauses)), (*params, limit))


def _like_escape(text: str) -> str:
    return "".join(c for c in text if c not in "%_*~:^\\")


def _like_prefix(text: str) -> str:
    return _like_escape(text) + "%"


def _user(row: tuple) -> User:
    return User(row[0], row[1], row[2], bool(row[3]), row[4])


def _audit(row: tuple) -> dict:
    try:
        detail = json.loads(row[4] or "{}")
    except ValueError:
        detail = {}
    return {"at": row[0], "user": row[1], "action": row[2], "target": row[3] or "", "detail": detail}


def _file(row: tuple) -> dict:
    try:
        detail = json.loads(row[5]) if row[5] else {}
    except ValueError:
        detail = {}
    return {"sha256": row[0], "name": row[1], "kind": row[2], "outcome": row[3], "reason": row[4],
            "detail": detail, "processed_at": row[6]}


def _output(row: tuple) -> dict:
    try:
        numbers = [(str(k), int(n)) for k, n in json.loads(row[3] or "[]")]
    except (ValueError, TypeError):
        numbers = []
    return {"name": row[0], "source_sha256": row[1], "kind": row[2], "control_numbers": numbers,
            "written_at": row[4]}
