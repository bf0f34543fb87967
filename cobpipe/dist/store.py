"""What the intake hosts and the workers share, all in the ledger database (no shared disk).

    blobs        the bytes of every accepted input, every output and every coverage file, by
                 sha256, in chunks of CHUNK_SIZE (BYTEA on PostgreSQL, BLOB on SQLite), so a large
                 ERA is never one huge row or one huge parameter;
    blob_files   one row per complete blob, written in the same transaction as its last chunk:
                 a blob without this row does not exist yet (an intake killed midway left it);
    dist_jobs    one row per file an intake accepted (sha256, intake, name): queued -> done, with
                 the outcome the worker recorded, and archived once the intake moved its input;
    dist_outbox  each file a worker produced for an intake's outbound folder, delivered (written
                 to a temp name, fsynced, renamed) by that intake, then marked delivered.

The tables are created by the ledger's own migration (cobpipe/ledger/sql.py, the issue-21 step);
every statement here is portable SQL with `?` parameters, run through `Ledger.query`.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..ledger import Ledger

# 1 MiB: measured in bench/workers.py --blobs (README "Running on several hosts"): a 10 MB ERA is
# stored and read back as fast with 256 KiB .. 4 MiB chunks on PostgreSQL and SQLite; 1 MiB keeps
# each row and parameter small (PostgreSQL TOASTs and compresses it) and a worker's memory flat.
CHUNK_SIZE = 1 << 20

INSERT_CHUNK = "INSERT INTO blobs (sha256, seq, data) VALUES (?, ?, ?) ON CONFLICT (sha256, seq) DO NOTHING"
INSERT_BLOB = """INSERT INTO blob_files (sha256, size, chunks, stored_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (sha256) DO NOTHING"""
GET_BLOB = "SELECT size, chunks FROM blob_files WHERE sha256 = ?"
GET_CHUNK = "SELECT data FROM blobs WHERE sha256 = ? AND seq = ?"
COUNT_BLOBS = "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM blob_files"

INSERT_JOB = """INSERT INTO dist_jobs (sha256, intake, name, mtime_ns, options, state, queued_at)
    VALUES (?, ?, ?, ?, ?, 'queued', ?) ON CONFLICT (sha256, intake, name) DO NOTHING"""
GET_JOB = """SELECT sha256, intake, name, mtime_ns, options, state, status, detail, queued_at, done_at
    FROM dist_jobs WHERE sha256 = ? AND intake = ? AND name = ?"""
FINISH_JOB = """UPDATE dist_jobs SET state = 'done', status = ?, detail = ?, done_at = ?
    WHERE sha256 = ? AND intake = ? AND name = ? AND state = 'queued'"""
ARCHIVE_JOB = "UPDATE dist_jobs SET state = 'archived' WHERE sha256 = ? AND intake = ? AND name = ?"
JOBS_IN_STATE = """SELECT sha256, intake, name, mtime_ns, options, state, status, detail, queued_at, done_at
    FROM dist_jobs WHERE intake = ? AND state = ? ORDER BY queued_at, name"""
JOB_STATE_COUNTS = "SELECT state, COUNT(*) FROM dist_jobs GROUP BY state"

INSERT_OUTBOX = """INSERT INTO dist_outbox (intake, folder, name, blob_sha256, source_sha256, created_at)
    VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (intake, folder, name) DO NOTHING"""
PENDING_OUTBOX = """SELECT folder, name, blob_sha256, source_sha256 FROM dist_outbox
    WHERE intake = ? AND delivered_at IS NULL ORDER BY created_at, name"""
DELIVERED_OUTBOX = "SELECT folder, name FROM dist_outbox WHERE intake = ? AND delivered_at IS NOT NULL"
MARK_DELIVERED = "UPDATE dist_outbox SET delivered_at = ? WHERE intake = ? AND folder = ? AND name = ?"
COUNT_UNDELIVERED = "SELECT COUNT(*) FROM dist_outbox WHERE delivered_at IS NULL"


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


class BlobMissing(LookupError):
    """No complete blob with that sha256 in the ledger database."""


@dataclass(frozen=True, slots=True)
class Job:
    sha256: str
    intake: str
    name: str
    mtime_ns: int
    options: dict
    state: str
    status: str | None
    detail: dict
    queued_at: str
    done_at: str | None

    @property
    def key(self) -> tuple[str, str, str]:
        return self.sha256, self.intake, self.name


def _job(row: tuple) -> Job:
    return Job(row[0], row[1], row[2], int(row[3] or 0), json.loads(row[4] or "{}"), row[5], row[6],
               json.loads(row[7] or "{}"), row[8], row[9])


# --- blobs ------------------------------------------------------------------------------------------

def has_blob(ledger: Ledger, sha256: str) -> bool:
    return bool(ledger.query(GET_BLOB, (sha256,)))


def put_file(ledger: Ledger, path: Path) -> str:
    """Store a file's bytes (streamed, CHUNK_SIZE at a time) in one transaction; returns its sha256.
    Storing the same bytes again changes nothing."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:  # hash first: bytes already stored are not sent again
        while chunk := stream.read(CHUNK_SIZE):
            digest.update(chunk)
    sha = digest.hexdigest()
    if has_blob(ledger, sha):
        return sha
    size = 0
    check = hashlib.sha256()
    with ledger.transaction(), open(path, "rb") as stream:
        seq = 0
        while chunk := stream.read(CHUNK_SIZE):
            check.update(chunk)
            ledger.query(INSERT_CHUNK, (sha, seq, chunk))
            seq += 1
            size += len(chunk)
        if check.hexdigest() != sha:
            raise OSError(f"{path.name} changed while it was being stored")
        ledger.query(INSERT_BLOB, (sha, size, seq, now()))
    return sha


def put_bytes(ledger: Ledger, data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    if has_blob(ledger, sha):
        return sha
    with ledger.transaction():
        count = 0
        for seq, start in enumerate(range(0, len(data), CHUNK_SIZE)):
            ledger.query(INSERT_CHUNK, (sha, seq, data[start:start + CHUNK_SIZE]))
            count = seq + 1
        ledger.query(INSERT_BLOB, (sha, len(data), count, now()))
    return sha


def iter_blob(ledger: Ledger, sha256: str) -> Iterator[bytes]:
    """The blob's bytes, one chunk (one row) at a time; raises BlobMissing."""
    rows = ledger.query(GET_BLOB, (sha256,))
    if not rows:
        raise BlobMissing(sha256)
    size, chunks = int(rows[0][0]), int(rows[0][1])
    total = 0
    for seq in range(chunks):
        got = ledger.query(GET_CHUNK, (sha256, seq))
        if not got:
            raise BlobMissing(f"{sha256} chunk {seq}")
        data = bytes(got[0][0])
        total += len(data)
        yield data
    if total != size:
        raise BlobMissing(f"{sha256}: {total} bytes stored, {size} recorded")


def write_blob(ledger: Ledger, sha256: str, target: Path, *, mtime_ns: int | None = None,
               durable: bool = False) -> Path:
    """Materialise a blob as `target`: written to a hidden temp name beside it, its hash checked,
    (fsynced when `durable`), then renamed into place -- a reader never sees a partial file."""
    from ..fsutil import _fsync_dir

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{sha256[:8]}.part")
    digest = hashlib.sha256()
    try:
        with open(tmp, "wb") as out:
            for chunk in iter_blob(ledger, sha256):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            if durable:
                os.fsync(out.fileno())
        if digest.hexdigest() != sha256:
            raise BlobMissing(f"{sha256}: stored bytes do not match their hash")
        if mtime_ns is not None:
            os.utime(tmp, ns=(mtime_ns, mtime_ns))
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        _fsync_dir(target.parent)
    return target


# --- jobs and the outbox ------------------------------------------------------------------------------

def add_job(ledger: Ledger, sha256: str, intake: str, name: str, mtime_ns: int, options: dict) -> None:
    ledger.query(INSERT_JOB, (sha256, intake, name, mtime_ns, json.dumps(options, sort_keys=True), now()))


def get_job(ledger: Ledger, sha256: str, intake: str, name: str) -> Job | None:
    rows = ledger.query(GET_JOB, (sha256, intake, name))
    return _job(rows[0]) if rows else None


def jobs_in_state(ledger: Ledger, intake: str, state: str) -> list[Job]:
    return [_job(r) for r in ledger.query(JOBS_IN_STATE, (intake, state))]


def finish_job(ledger: Ledger, job: Job, status: str, detail: dict) -> bool:
    with ledger.transaction():
        cursor = ledger._execute(FINISH_JOB, (status, json.dumps(detail, sort_keys=True), now(), *job.key))
        return cursor.rowcount == 1


def archive_job(ledger: Ledger, job: Job) -> None:
    with ledger.transaction():
        ledger.query(ARCHIVE_JOB, job.key)


def add_output(ledger: Ledger, intake: str, folder: str, name: str, blob_sha256: str, source_sha256: str) -> None:
    ledger.query(INSERT_OUTBOX, (intake, folder, name, blob_sha256, source_sha256, now()))


def pending_outputs(ledger: Ledger, intake: str) -> list[tuple[str, str, str, str]]:
    return [tuple(r) for r in ledger.query(PENDING_OUTBOX, (intake,))]


def delivered_outputs(ledger: Ledger, intake: str) -> list[tuple[str, str]]:
    return [tuple(r) for r in ledger.query(DELIVERED_OUTBOX, (intake,))]


def mark_delivered(ledger: Ledger, intake: str, folder: str, name: str) -> None:
    with ledger.transaction():
        ledger.query(MARK_DELIVERED, (now(), intake, folder, name))


def summary(ledger: Ledger) -> dict:
    jobs = {state: int(n) for state, n in ledger.query(JOB_STATE_COUNTS)}
    blobs, size = ledger.query(COUNT_BLOBS)[0]
    undelivered = int(ledger.query(COUNT_UNDELIVERED)[0][0])
    return {"jobs": jobs, "blobs": int(blobs), "blob_bytes": int(size), "undelivered": undelivered}
