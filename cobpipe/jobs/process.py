"""One processing function for every channel: `process_inbound(path, ledger, root, options)`.

The drop-folder watcher, the one-shot `run` and the SFTP server all call it, one file at a time.

    837P dropped -> its claims stored in the ledger -> input archived
    835 dropped  -> converted against the stored claims (pipeline.convert_era, ledger as claim
                    source, issued registry and control-number source) -> secondary 837P and
                    report published in outbound -> input archived
    unusable     -> <name>.reason.json written in rejected/ -> input moved there

Order of the steps for an 835 (S1..S6) and why a SIGKILL at any moment is safe:

  S1  copy the input to a private work folder .cobpipe/work/<sha256>-<token>/, hashing it (the
      copy, the folder and its rename fsynced);
  S2  if this sha256 is already recorded, go to R below;
  S3  convert_era into <work>/out with no lock held, with the ISA13/GS06/ST02 numbers the ledger
      will hand out next (peeked, not taken; C1..C3 at _convert); the outputs are written to temp
      names, fsynced and renamed inside <work>/out;
  S4  BEGIN the ledger's write transaction; check that nothing was committed since S3 began (else
      roll back and go to S3 again); take those very numbers; record the file (sha256, outcome,
      the work folder's name), the outputs and their control numbers, every issued claim (claim
      id, payer, output, numbers) and each claim decision; fsync <work>/out, <work> and
      .cobpipe/work -- then COMMIT. (When the ledger cannot tell whether anything changed, or
      under contention, S3 runs inside this transaction instead, as it always did.)
  S5  publish: rename each output from <work>/out into outbound/ (atomic, then fsync the folder);
  S6  archive the input (rename, never overwriting), then delete the work folder.

  R   (sha256 already committed, or after a restart) publish whatever is still in the committed
      work folder (S5), archive the input (S6). `recover()` does the same at start-up for work
      folders whose input is gone, and deletes uncommitted work folders whose process is gone
      (a "<host> <pid>" .owner file) or that are older than an hour.

Outputs reach outbound/ only after COMMIT, never before: an 837P published before a crash that
lost its transaction would carry control numbers the restart (or another ERA processed first)
could hand out again, and the clearinghouse may already have fetched it.

An 837P takes S1, is read into a ledger of its own in the work folder (no lock held; refused there
when unusable), then one transaction copying its claims in and recording the file, then S6. When
earlier 835s left some of its claims unmatched, that transaction also converts them (R1, R2 at
_retry_unmatched) and the 837P then takes S5 and S6 like an 835.

Invariants this gives:
  * No file lost: an input leaves inbound/ only by rename, after its outputs are committed and
    published (or its reason file written); outputs are never deleted.
  * Nothing processed twice: the sha256 is recorded in the same transaction as the issued claims,
    and is checked again inside that transaction (two processes on one ROOT serialise on it).
  * No claim billed twice: issued claims are committed with the file; convert_era is given the
    ledger as its issued registry, and the (claim id, payer) key is unique in the ledger.
  * Unique control numbers: numbers are taken only in the committing transaction; a crash before
    COMMIT gives them back (outputs carrying them never reached outbound/), so every 837P in
    outbound carries numbers that are committed and never reused.
  * Outbound readers never see partial files: outputs are complete and fsynced before the rename.
  * A file that is not complete (no IEA yet) is never read beyond its head and tail.

A rejected input's sha256 is recorded too, but the same bytes dropped again are tried again (the
cause may have been fixed: a coverage file, an internal error). Configuration problems (a broken
coverage file) and I/O errors leave the input where it is, untouched, for the next attempt.
"""
from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import json
import logging
import os
import secrets
import shutil
import socket
import stat
import time
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from edi.errors import CobpipeError, EdiError, EdiSyntaxError, UnsupportedTransactionError
from edi.findings import TooManyFindings
from edi.reader import SegmentCountError, X12Reader, refuse_bad_counts

from .. import pipeline
from ..fsutil import _fsync_dir, mkdir_durable, sha256_of, write_new_file
from ..ledger import MAX_CONTROL_NUMBER, ClaimOutcome, FileRecord, Ledger, OutputRecord
from ..logs import error_fields, event
from .intake import Completeness, completeness
from .layout import Root, is_ignored_name

log = logging.getLogger("cobpipe.jobs")

STALE_WORK_SECONDS = 3600.0
OWNER_FILE = ".owner"  # "<host> <pid>" of the process using a work folder
CRASH_ENV = "COBPIPE_TEST_CRASH_AT"  # crash tests only: "<step>" or "<step>:<n>" (the n-th time)
_crash_counts: Counter = Counter()
PAUSE_ENV = "COBPIPE_TEST_PAUSE_AT"  # locking tests only: "<step>=<folder>" waits there for <folder>/go


def _pause(folder: Path, deadline: float = 300.0) -> None:
    """Tests only: say <folder>/reached, then wait (at most `deadline` s) until <folder>/go exists."""
    (folder / "reached").write_text(str(os.getpid()))
    until = time.monotonic() + deadline
    while not (folder / "go").exists() and time.monotonic() < until:
        time.sleep(0.02)


class Status(StrEnum):
    STORED = "stored"  # 837P: claims stored
    CONVERTED = "converted"  # 835: every claim converted or skipped
    PARTIAL = "partial"  # 835: some claims rejected or unmatched (the report says which)
    DUPLICATE = "duplicate"  # same bytes already processed: archived, nothing new
    REJECTED = "rejected"  # moved to rejected/ with a reason file
    WAITING = "waiting"  # not complete yet (no IEA): left in inbound
    ERROR = "error"  # configuration or I/O problem: left in inbound for the next attempt
    GONE = "gone"  # vanished before it could be taken (another worker took it)
    IGNORED = "ignored"  # hidden/temporary name, or not a regular file


@dataclass(frozen=True, slots=True)
class JobOptions:
    """Settings shared by watch, run and sftp-serve (explicit, never global)."""

    convert: pipeline.ConvertOptions = pipeline.ConvertOptions()
    coverage: Path | None = None  # the coverage CSV (re-read for each 835, so edits apply)
    truncated_after: float = 900.0  # seconds without an IEA before a file is rejected as truncated
    settle: float = 2.0  # seconds unchanged before a file seen without a close event is taken
    acknowledge: bool = False  # TA1/999 for ROOT/inbound files too (partner homes always get them)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one inbound file."""

    name: str
    status: Status
    sha256: str | None = None
    kind: str | None = None  # '837P', '835' or None when unknown
    reason: str | None = None  # rejection reason code
    message: str | None = None  # PHI-free detail (our own error messages only)
    moved_to: Path | None = None
    outputs: tuple[Path, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        data = {"file": self.name, "status": str(self.status)}
        for key in ("sha256", "kind", "reason", "message"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        if self.moved_to:
            data["moved_to"] = str(self.moved_to)
        if self.outputs:
            data["outputs"] = [str(p) for p in self.outputs]
        if self.counts:
            data["counts"] = dict(self.counts)
        return data


class _Reject(Exception):
    """Internal: the input is unusable for `reason`; carries the PHI-free details."""

    def __init__(self, reason: str, message: str, kind: str | None = None, exc: BaseException | None = None):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.kind = kind
        self.exc = exc


# --- the one entry point ------------------------------------------------------------------------

def process_inbound(path: Path, ledger: Ledger, root: Root, options: JobOptions) -> Outcome:
    """`_process_inbound`, with the acknowledgments hook (cobpipe.acks.hook, issue 18): a file in a
    partner's home (ROOT/partners/<p>/inbound) is processed for that partner (outputs in its
    outbound); a 999/277CA is applied to the ledger instead; every other file taken gets a TA1/999."""
    from ..acks import hook

    root = hook.home_of(path, root)
    taken = hook.take_ack(Path(path), ledger, root, options)
    if taken is not None:
        return taken
    outcome = _process_inbound(path, ledger, root, options)
    hook.after(outcome, ledger, root, options)
    return outcome


def _process_inbound(path: Path, ledger: Ledger, root: Root, options: JobOptions) -> Outcome:
    """Take one file from inbound/ to archive/ (with outputs in outbound/) or rejected/, or leave it
    in inbound/ (waiting for its IEA, or status ERROR for a configuration, ledger or I/O problem).
    Never raises for bad input."""
    path = Path(path)
    name = path.name
    if is_ignored_name(name):
        return Outcome(name, Status.IGNORED)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return Outcome(name, Status.GONE)
    if not stat.S_ISREG(info.st_mode):
        return Outcome(name, Status.IGNORED)  # symlinks and folders are never followed
    try:
        state = completeness(path)
    except FileNotFoundError:
        return Outcome(name, Status.GONE)
    except OSError as exc:
        return _error(name, None, exc, root)
    if state in (Completeness.INCOMPLETE, Completeness.EMPTY):
        age = time.time() - info.st_mtime
        if age < options.truncated_after:
            return Outcome(name, Status.WAITING, reason=str(state))
        reason = "empty" if state is Completeness.EMPTY else "truncated"
        message = ("no X12 content" if state is Completeness.EMPTY
                   else f"no IEA trailer after {int(age)}s: the file was not written completely")
        try:
            digest = _sha256_of(path)
        except OSError as exc:
            return _error(name, None, exc, root)
        return _reject_path(path, ledger, root, digest, _Reject(reason, message))

    rejecting_kind: str | None = None
    work = root.work / f"pending-{secrets.token_hex(6)}"
    try:
        sha = _stage(path, work)
        staged = work.with_name(f"{sha}-{work.name.split('-', 1)[1]}")
        os.replace(work, staged)
        work = staged
        _fsync_dir(root.work)  # the committed record will name the new folder: its name must last
    except FileNotFoundError:
        _remove_work(work)
        return Outcome(name, Status.GONE)
    except OSError as exc:
        _remove_work(work)
        return _error(name, None, exc, root)
    _step("staged")
    try:
        known = ledger.file(sha)
        if known is not None and known.outcome != "rejected":
            return _finish_committed(path, ledger, root, known)
        if state is Completeness.NOT_X12:
            raise _Reject("not-x12", "the file does not start with an ISA segment")
        kind = _sniff_kind(work / name)
        rejecting_kind = kind
        if kind == "837P":
            return _store_claims(path, work, sha, ledger, root, options)
        if kind == "835":
            return _convert(path, work, sha, ledger, root, options)
        raise _Reject("unsupported-transaction", f"transaction set {kind} is neither an 837P nor an 835")
    except _Reject as rejection:
        return _reject_path(path, ledger, root, sha, rejection)
    except CobpipeError as exc:  # configuration (coverage file) or ledger: not the file's fault
        return _error(name, sha, exc, root)
    except OSError as exc:
        return _error(name, sha, exc, root)
    except Exception as exc:  # noqa: BLE001 - a bug must not stop the job or loop on one file
        event(log, "file.internal_error", logging.ERROR, file=name, sha256=sha, **error_fields(exc))
        return _reject_path(path, ledger, root, sha,
                            _Reject("internal-error", f"internal error ({type(exc).__name__})",
                                    rejecting_kind, exc))
    finally:
        _drop_uncommitted_work(ledger, sha, work)


def _drop_uncommitted_work(ledger: Ledger, sha: str, work: Path) -> None:
    """Delete the work folder unless a committed record points at it (its outputs await S5)."""
    if not work.exists():
        return
    try:
        committed = ledger.file(sha)
    except CobpipeError:
        return  # cannot tell: keep it; recover() decides on the next start
    if committed is None or committed.detail.get("work") != work.name:
        _remove_work(work)


# --- 837P: store the claims ---------------------------------------------------------------------

def _store_claims(path: Path, work: Path, sha: str, ledger: Ledger, root: Root, options: JobOptions) -> Outcome:
    """Store the claims; in the same transaction, convert the claims earlier 835s left unmatched
    because this 837P had not arrived yet (R1..R2 below), then publish and archive like an 835."""
    from ..claim837 import iter_claims

    name = path.name
    claim_file = iter_claims(work / name)
    read = 0
    claim_ids: set[str] = set()
    retried: list[dict] = []

    def counted():
        nonlocal read
        for claim in claim_file:
            read += 1
            claim_ids.add(claim.id)
            yield claim

    # the 837P is read and its claims indexed in a ledger of its own in the work folder first, with
    # no lock held (and refused there when unusable); the shared ledger's write transaction then
    # only copies the rows in (and converts claims earlier 835s left unmatched, R1..R2)
    staged = None
    if not ledger.in_transaction:
        staged = Ledger.open(work / ".claims.sqlite")  # hidden: no input can have that name
    try:
        if staged is not None:
            _parse_claims(staged, counted(), sha)
            if read == 0:
                raise _Reject("no-claims", "the 837P holds no claims", "837P")
            _refuse_truncated(claim_file.findings)
        with ledger.transaction():
            known = ledger.file(sha)
            if known is not None and known.outcome != "rejected":
                duplicate = known
            else:
                duplicate = None
                if staged is not None:
                    added = ledger.add_claims_of(staged)
                else:
                    added = _parse_claims(ledger, counted(), sha)
                    if read == 0:
                        raise _Reject("no-claims", "the 837P holds no claims", "837P")
                    _refuse_truncated(claim_file.findings)
                if (work / "out").is_file():  # an 837P dropped as "out": make way for the outputs' folder
                    os.replace(work / "out", work / ".input-out")
                retried = _retry_unmatched(claim_ids, sha, work, ledger, root, options)
                findings = Counter(f.code for f in claim_file.findings)
                detail = {"claims": read, "new_or_changed": added, "findings": dict(sorted(findings.items()))}
                if retried:
                    detail.update(retried=retried, work=work.name)
                    _sync_work(work, root)
                ledger.record_file(FileRecord(sha, name, "837P", "stored", detail=detail))
                _step("claims-recorded")
            _step("claims-committed")
    finally:
        if staged is not None:
            staged.close()
    _step("claims-after-commit")
    if duplicate is not None:
        return _finish_committed(path, ledger, root, duplicate)
    published = _publish(work, root) if retried else []
    moved = _archive(path, root, sha)
    _note_archived(ledger, sha, moved)
    if retried:
        _remove_work(work)
    counts = {"claims": read, "new_or_changed": added}
    if retried:
        counts["retried_converted"] = sum(r["counts"].get(pipeline.CONVERTED, 0) for r in retried)
    event(log, "file.stored", file=name, sha256=sha, kind="837P", counts=counts, moved_to=_rel(moved, root),
          outputs=[p.name for p in published] or None)
    return Outcome(name, Status.STORED, sha, "837P", moved_to=moved, outputs=tuple(published), counts=counts)


def _parse_claims(ledger: Ledger, claims, sha: str) -> int:
    try:
        return ledger.add_claims(claims, source_hash=sha)
    except UnsupportedTransactionError as exc:
        raise _Reject("unsupported-transaction", exc.message, "837", exc) from exc
    except EdiError as exc:
        raise _Reject(_reason_of(exc), exc.message, "837P", exc) from exc


# --- claims an 835 remitted before their 837P was stored ----------------------------------------
#
# An 835 may be processed before the 837P it answers is stored (the 837P went out another way and
# is dropped later, or the files arrived out of order). Its claims are then `unmatched`. When an
# 837P later stores one of them, that 835 is converted again from its archived copy for those
# claims only, inside the 837P's transaction:
#   R1  for each such 835, oldest first: copy it from archive/ into the work folder (its hash
#       checked) and convert it for the awaiting claims into <work>/out, recording the issued
#       claims before the next 835 (so two 835s can never bill one claim twice);
#   R2  record the decisions, outputs and the 837P's file record (detail.work) -- COMMIT;
# then publish and archive as for an 835 (S5, S6): a crash at any point is recovered the same way.
# Claims the first conversion settled (converted, skipped, rejected) are never retried.

def _retry_unmatched(claim_ids: set[str], sha: str, work: Path, ledger: Ledger, root: Root,
                     options: JobOptions) -> list[dict]:
    awaiting = ledger.unmatched_awaiting(claim_ids)
    if not awaiting:
        return []
    coverage = _load_coverage(options)
    out = work / "out"
    retried: list[dict] = []
    decisions: list[ClaimOutcome] = []
    for era_sha, ids in awaiting.items():
        record = ledger.file(era_sha)
        archived = _archived_copy(root, record) if record is not None else None
        if record is None or archived is None:
            event(log, "retry.era_missing", logging.WARNING, sha256=era_sha, **_claim_fields(sorted(ids)),
                  reason="the 835 is no longer in archive/: drop it again to convert these claims")
            continue
        era_name = Path(record.name)
        copy = work / f"{era_name.stem}.{era_sha[:12]}.retry-{sha[:12]}{era_name.suffix or '.835'}"
        shutil.copyfile(archived, copy)
        convert = dataclasses.replace(options.convert, only_claims=frozenset(ids))
        try:
            result = pipeline.convert_era(copy, ledger, out, options=convert, numbers=ledger, issued=ledger,
                                          coverage=coverage)
        except EdiError as exc:  # it converted once; say why it no longer does, keep the 837P
            event(log, "retry.failed", logging.WARNING, sha256=era_sha, **_claim_fields(sorted(ids)),
                  **error_fields(exc))
            continue
        produced = [p for p in (result.output, getattr(result, "paper", None), result.report)
                    if p is not None and Path(p).exists()]
        numbers = tuple((str(k), int(n)) for k, n in result.control_numbers)
        ledger.record_outputs(sha, [OutputRecord(Path(p).name, _output_kind(p, result),
                                                 numbers if p == result.output else ()) for p in produced])
        pipeline.record_conversion(ledger, result, sha, decisions=False)  # all retried ERAs' decisions below
        decisions += pipeline.claim_outcomes(result)
        counts = Counter(d.status for d in result.decisions)
        retried.append({"era": record.name, "sha256": era_sha, "claims": sorted(ids), "counts": dict(counts),
                        "outputs": [Path(p).name for p in produced],
                        "control_numbers": [list(n) for n in numbers]})
        event(log, "claims.retried", sha256=era_sha, era=record.name, **_claim_fields(sorted(ids)),
              counts=dict(counts))
        _step("retried")
    ledger.record_decisions(sha, decisions)
    return retried


def _archived_copy(root: Root, record: FileRecord) -> Path | None:
    """The archived bytes of a recorded input, found by the name noted at archiving or else by
    name and hash (a crash may have come between archiving and noting it)."""
    noted = record.detail.get("archived")
    stem = Path(record.name).stem
    candidates = [root.archive / noted] if noted else []
    if root.archive.is_dir():
        candidates += sorted(p for p in root.archive.iterdir() if p.name.startswith(stem) and p.is_file())
    for candidate in candidates:
        if candidate.is_file() and _sha256_of(candidate) == record.sha256:
            return candidate
    return None


def _note_archived(ledger: Ledger, sha: str, moved: Path | None) -> None:
    if moved is None:
        return
    try:
        ledger.update_file_detail(sha, archived=moved.name)
    except CobpipeError:  # only a shortcut: _archived_copy finds the file by hash without it
        pass


# --- 835: convert -------------------------------------------------------------------------------

# How an 835 is converted without holding the ledger's write lock for the whole conversion:
#   C1  note the ledger's change token (Ledger.change_token: nothing committed since <=> same token);
#   C2  convert into <work>/out with the control numbers the ledger would hand out next (peeked,
#       not taken), reading claims and issued claims as they are -- no write lock held;
#   C3  BEGIN; if the token is unchanged, nothing the conversion read has changed: take the same
#       numbers for real, record everything, fsync the work folders -- COMMIT (short);
#       else ROLLBACK and convert again (another process committed meanwhile), and after
#       OPTIMISTIC_ATTEMPTS, or when the database cannot tell (no change token), or when the caller
#       holds a transaction already, convert inside the transaction as before.
# Numbers stay gap-free and unique (only taken in the committing transaction, exactly those the
# output carries), nothing is billed twice (the issued claims read in C2 are still all there are).
OPTIMISTIC_ATTEMPTS = 3


class _Stale(Exception):
    """The ledger changed between the conversion and its transaction: convert again."""


class _PeekedNumbers:
    """The control numbers the ledger will hand out next, without taking them (C2); `take` takes
    them for real inside the committing transaction and says whether they are the same."""

    def __init__(self, ledger: Ledger) -> None:
        self.last = {(k, s, r): int(n) for k, s, r, n in ledger.control_numbers()}
        self.used: list[tuple[str, str, str, int]] = []

    def next_number(self, kind: str, sender: str, receiver: str) -> int:
        key = (kind, sender, receiver)
        last = self.last.get(key, 0)
        number = 1 if last >= MAX_CONTROL_NUMBER else last + 1
        self.last[key] = number
        self.used.append((kind, sender, receiver, number))
        return number

    def take(self, ledger: Ledger) -> None:
        for kind, sender, receiver, number in self.used:
            if ledger.next_number(kind, sender, receiver) != number:
                raise _Stale(kind)


def _convert_era(era: Path, ledger: Ledger, out: Path, options: JobOptions, coverage, numbers):
    shutil.rmtree(out, ignore_errors=True)  # what an earlier attempt wrote
    try:
        return pipeline.convert_era(era, ledger, out, options=options.convert, numbers=numbers,
                                    issued=ledger, coverage=coverage)
    except UnsupportedTransactionError as exc:
        raise _Reject("unsupported-transaction", exc.message, "835", exc) from exc
    except EdiError as exc:
        raise _Reject(_reason_of(exc), exc.message, "835", exc) from exc


def _record_conversion(ledger: Ledger, sha: str, name: str, work: Path, result, root: Root):
    """S4: the file, its outputs and every claim decision, inside the committing transaction."""
    produced = [p for p in (result.output, getattr(result, "paper", None), result.report)
                if p is not None and Path(p).exists()]
    counts = Counter(d.status for d in result.decisions)
    outcome = Status.PARTIAL if result.exit_code else Status.CONVERTED
    numbers = tuple((str(k), int(n)) for k, n in result.control_numbers)
    ledger.record_file(FileRecord(sha, name, "835", str(outcome), detail={
        "counts": dict(counts), "outputs": [Path(p).name for p in produced], "work": work.name,
        "control_numbers": [list(n) for n in numbers]}))
    ledger.record_outputs(sha, [OutputRecord(Path(p).name, _output_kind(p, result),
                                             numbers if p == result.output else ())
                                for p in produced])
    pipeline.record_conversion(ledger, result, sha)  # issued claims, decisions, the claims' life
    _sync_work(work, root)  # the record names <work>/out's files: their names must last first
    return counts, outcome, numbers


def _sync_work(work: Path, root: Root) -> None:
    """fsync the folders whose entries a commit relies on: <work>/out (and its sub-folders),
    <work> and .cobpipe/work."""
    out = work / "out"
    if out.is_dir():
        for folder in sorted((p for p in out.rglob("*") if p.is_dir()), reverse=True):
            _fsync_dir(folder)
        _fsync_dir(out)
    _fsync_dir(work)
    _fsync_dir(root.work)


def _convert(path: Path, work: Path, sha: str, ledger: Ledger, root: Root, options: JobOptions) -> Outcome:
    name = path.name
    coverage = _load_coverage(options)
    # the work copy's name makes the output names unique per content: <stem>.<sha12>.837
    era = work / f"{Path(name).stem}.{sha[:12]}{Path(name).suffix or '.835'}"
    os.replace(work / name, era)
    out = work / "out"
    duplicate = result = None
    attempts = 0 if ledger.in_transaction else OPTIMISTIC_ATTEMPTS
    for _attempt in range(attempts):
        token = ledger.change_token()
        if token is None:
            break
        known = ledger.file(sha)
        if known is not None and known.outcome != "rejected":
            return _finish_committed(path, ledger, root, known)
        numbers_source = _PeekedNumbers(ledger)
        converted = _convert_era(era, ledger, out, options, coverage, numbers_source)
        _step("converted")
        try:
            with ledger.transaction():
                if ledger.change_token() != token:
                    raise _Stale("changed")
                numbers_source.take(ledger)
                counts, outcome, numbers = _record_conversion(ledger, sha, name, work, converted, root)
                _step("committed")
        except _Stale:
            event(log, "file.reconvert", file=name, sha256=sha,
                  reason="the ledger changed while converting; converting again")
            continue
        result = converted
        break
    if result is None:  # under the write lock all along (contention, or the caller's transaction)
        with ledger.transaction():
            known = ledger.file(sha)
            if known is not None and known.outcome != "rejected":
                duplicate = known
            else:
                result = _convert_era(era, ledger, out, options, coverage, ledger)
                _step("converted")
                counts, outcome, numbers = _record_conversion(ledger, sha, name, work, result, root)
            _step("committed")
    _step("after-commit")
    if duplicate is not None:
        return _finish_committed(path, ledger, root, duplicate)
    published = _publish(work, root)
    _step("published")
    moved = _archive(path, root, sha)
    _note_archived(ledger, sha, moved)
    _step("archived")
    _remove_work(work)
    converted = _claim_fields(d.claim_id for d in result.decisions if d.status == pipeline.CONVERTED)
    problems = _claim_fields(d.claim_id for d in result.decisions if d.status in (pipeline.REJECTED, pipeline.UNMATCHED))
    event(log, "file.converted" if outcome is Status.CONVERTED else "file.partial",
          logging.INFO if outcome is Status.CONVERTED else logging.WARNING,
          file=name, sha256=sha, kind="835", counts=dict(counts), **converted,
          control_numbers=[list(n) for n in numbers] or None,
          outputs=[p.name for p in published] or None, moved_to=_rel(moved, root),
          status=str(outcome), reason=None if not problems["claims"] else "claims-not-converted")
    if problems["claims"]:
        event(log, "claims.not_converted", logging.WARNING, file=name, sha256=sha, **problems)
    return Outcome(name, outcome, sha, "835", moved_to=moved, outputs=tuple(published), counts=dict(counts))


# claim ids one log event lists: a log line stays small enough for log shippers (journald cuts
# lines at 48 KB, Docker at 16 KB) on a 100k-claim ERA; the report lists every claim
LOGGED_CLAIMS_MAX = 200


def _claim_fields(claim_ids) -> dict:
    """event() fields: `claims`, the first LOGGED_CLAIMS_MAX ids, and `claims_total` when there were more."""
    ids: list[str] = []
    total = 0
    for total, claim_id in enumerate(claim_ids, 1):
        if total <= LOGGED_CLAIMS_MAX:
            ids.append(claim_id)
    return {"claims": ids or None, "claims_total": total if total > LOGGED_CLAIMS_MAX else None}


def _refuse_truncated(findings) -> None:
    """The reader reports an interchange cut short (ENV008 "truncated ...") as a finding; like
    pipeline.load_claim_files, claims from such a file are not stored."""
    for finding in findings:
        if finding.code == "ENV008" and "truncated" in finding.message:
            raise _Reject("truncated", finding.message, "837P")
    try:
        refuse_bad_counts(Path(""), list(findings))
    except SegmentCountError as exc:
        raise _Reject("bad-counts", exc.message, "837P", exc) from exc


def _load_coverage(options: JobOptions):
    if options.coverage is None:
        return None
    from ..cob.coverage import CoverageTable

    return CoverageTable.load(options.coverage)


# --- committed inputs, publishing, archiving --------------------------------------------------

def _finish_committed(path: Path, ledger: Ledger, root: Root, record: FileRecord) -> Outcome:
    """The sha256 is committed: publish what its work folder still holds, then archive (R)."""
    work_name = record.detail.get("work")
    published: list[Path] = []
    if work_name:
        work = root.work / work_name
        if work.exists():
            published = _publish(work, root)
            _remove_work(work)
    moved = _archive(path, root, record.sha256)
    status = Status.DUPLICATE
    event(log, "file.recovered" if published else "file.duplicate", file=path.name, sha256=record.sha256,
          kind=record.kind, first_seen=record.processed_at, outputs=[p.name for p in published] or None,
          moved_to=_rel(moved, root))
    return Outcome(path.name, status, record.sha256, record.kind, moved_to=moved, outputs=tuple(published))


def _publish(work: Path, root: Root) -> list[Path]:
    """S5: move every finished output from <work>/out into outbound/; the .837 before its report.
    Paper claims (<era>.paper.pdf, CMS-1500 forms to print) go to outbound/paper/ (issue 20)."""
    out = work / "out"
    if not out.is_dir():
        return []
    files = sorted((p for p in out.iterdir() if p.is_file() and not is_ignored_name(p.name)),
                   key=lambda p: (p.name.endswith(".json"), p.name))
    published = []
    for produced in files:
        folder = root.outbound / PAPER_FOLDER if produced.name.endswith(PAPER_SUFFIX) else root.outbound
        if folder != root.outbound:
            mkdir_durable(folder)
        target = folder / produced.name
        _move_durably(produced, target)
        published.append(target)
        _step("publishing")
    for folder in sorted({p.parent for p in published}):
        _fsync_dir(folder)
    return published


PAPER_FOLDER, PAPER_SUFFIX = "paper", ".paper.pdf"


def _output_kind(path, result) -> str:
    """How the ledger lists an output of a conversion: the 837P, the paper claims' PDF, the report."""
    if path == result.output:
        return "837P"
    return "paper" if path == getattr(result, "paper", None) else "report"


def _archive(path: Path, root: Root, sha: str) -> Path | None:
    """S6: rename the input into archive/ under a name not yet used there; None if it vanished."""
    return _move_no_clobber(path, root.archive, sha)


def _candidate_names(name: str, sha: str):
    """`name`, then variants with the sha256 in it: the names tried for a file in archive/ or rejected/."""
    stem, suffix = Path(name).stem, Path(name).suffix
    yield name
    yield f"{stem}.{sha[:12]}{suffix}"
    for n in range(1, 1000):
        yield f"{stem}.{sha[:12]}.{n}{suffix}"


_PLACED, _TAKEN, _GONE = "placed", "taken", "gone"


def _place(path: Path, target: Path) -> str:
    """Rename `path` to `target` unless `target` exists (never overwrites); both folders fsynced."""
    try:
        os.link(path, target)  # fails if target exists: never overwrite an archived file
    except FileExistsError:
        return _TAKEN
    except FileNotFoundError:
        return _GONE
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
            raise
        if os.path.lexists(target):
            return _TAKEN
        try:
            _move_durably(path, target)
        except FileNotFoundError:
            return _GONE
        _fsync_dir(target.parent)
        return _PLACED
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    _fsync_dir(target.parent)
    _fsync_dir(path.parent)
    return _PLACED


def _move_no_clobber(path: Path, folder: Path, sha: str, name: str | None = None) -> Path | None:
    """Rename `path` into `folder` as `name` (default: its own), or a variant with the sha256 in it
    when that is taken; never overwrites. None if `path` vanished."""
    mkdir_durable(folder)
    for candidate in _candidate_names(name or path.name, sha):
        target = folder / candidate
        placed = _place(path, target)
        if placed == _PLACED:
            return target
        if placed == _GONE:
            return None
    raise OSError(errno.EEXIST, f"no free name for {path.name} in {folder}")


def _move_durably(source: Path, target: Path) -> None:
    """Atomic rename; across filesystems: copy to a temp name, fsync, rename, then remove the source."""
    try:
        os.replace(source, target)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    with open(source, "rb") as src, open(tmp, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
        dst.flush()
        os.fsync(dst.fileno())
    os.replace(tmp, target)
    _fsync_dir(target.parent)
    source.unlink()


# --- rejection ----------------------------------------------------------------------------------

def reject_truncated_upload(path: Path, name: str, ledger: Ledger, root: Root) -> Outcome:
    """An upload the client said was finished (clean close or rename) but that has no IEA: into
    rejected/ under the client's `name`, with a reason file. `path` is the hidden staging file."""
    return _reject_path(path, ledger, root, _sha256_of(path),
                        _Reject("truncated", "upload finished without an IEA trailer: the file is incomplete"),
                        name=name)


def _reject_path(path: Path, ledger: Ledger, root: Root, sha: str | None, rejection: _Reject,
                 name: str | None = None) -> Outcome:
    """reason file first, then the ledger record, then the input moved into rejected/. Never raises:
    when rejected/ or the ledger cannot be written (disk full, read-only, locked), the input stays
    where it is (status ERROR, tried again next time) and no reason file is left without its input."""
    name = name or path.name
    if sha is None:
        return Outcome(name, Status.GONE)
    written: list[Path] = []
    try:
        return _reject_now(path, ledger, root, sha, rejection, name, written)
    except (OSError, CobpipeError) as exc:
        for reason_file in written:
            with contextlib.suppress(OSError):
                reason_file.unlink()
        return _error(name, sha, exc, root)


def _reject_now(path: Path, ledger: Ledger, root: Root, sha: str, rejection: _Reject, name: str,
                written: list[Path]) -> Outcome:
    exc = rejection.exc
    reason = {"file": name, "sha256": sha, "reason": rejection.reason, "message": rejection.message,
              "kind": rejection.kind, "rejected_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    if isinstance(exc, EdiError):
        reason.update({"segment": exc.segment, "line": exc.line, "claim": exc.claim})
    reason = {k: v for k, v in reason.items() if v is not None}
    text = json.dumps(reason, indent=2) + "\n"
    mkdir_durable(root.rejected)
    moved: Path | None = None
    for candidate in _candidate_names(name, sha):
        # a name free for the input and for its reason file: nothing in rejected/ is ever replaced
        # (a dropped file may itself be called "<other>.reason.json")
        target = root.rejected / candidate
        reason_file = root.rejected / f"{candidate}.reason.json"
        if os.path.lexists(target):
            continue
        if os.path.lexists(reason_file):
            if not _own_orphan(reason_file, sha):
                continue
            reason_file.unlink()  # ours, left by a run killed before it moved the input beside it
        try:
            write_new_file(reason_file, text)
        except FileExistsError:
            continue
        written.append(reason_file)
        ledger.record_file(FileRecord(sha, name, rejection.kind or "unknown", "rejected", rejection.reason,
                                      detail={"message": rejection.message, "moved_to": candidate}))
        _step("rejected-recorded")
        placed = _place(path, target)
        if placed == _TAKEN:  # another file took the name meanwhile: try the next one
            reason_file.unlink()
            written.remove(reason_file)
            continue
        if placed == _PLACED:
            moved = target
        written.clear()  # the input is beside its reason file now (or gone): keep the reason file
        break
    else:
        raise OSError(errno.EEXIST, f"no free name for {name} in {root.rejected}")
    event(log, "file.rejected", logging.WARNING, file=name, sha256=sha, kind=rejection.kind,
          reason=rejection.reason, message=rejection.message,
          segment=getattr(exc, "segment", None), line=getattr(exc, "line", None), moved_to=_rel(moved, root))
    return Outcome(name, Status.REJECTED, sha, rejection.kind, rejection.reason, rejection.message, moved)


def _own_orphan(reason_file: Path, sha: str) -> bool:
    """A reason file written for these very bytes whose input never joined it (a kill in between)."""
    try:
        return json.loads(reason_file.read_text()).get("sha256") == sha
    except (OSError, ValueError, AttributeError):
        return False


def _reason_of(exc: EdiError) -> str:
    if isinstance(exc, TooManyFindings):
        return "too-many-errors"
    if isinstance(exc, SegmentCountError):
        return "bad-counts"
    if isinstance(exc, UnsupportedTransactionError):
        return "unsupported-transaction"
    if isinstance(exc, EdiSyntaxError):
        return "not-x12"
    return "unusable"


def _error(name: str, sha: str | None, exc: BaseException, root: Root | None = None) -> Outcome:
    fields = error_fields(exc)
    message = fields.get("message") or (f"{type(exc).__name__}: {exc.strerror}" if isinstance(exc, OSError)
                                        and exc.strerror else type(exc).__name__)
    if isinstance(exc, OSError) and not fields.get("message"):
        # which file or folder failed (paths under ROOT: folder and file names, never file content)
        paths = [_shown_path(p, root) for p in (exc.filename, exc.filename2) if p]
        if paths:
            message += ": " + " -> ".join(paths)
    if isinstance(exc, CobpipeError) and not isinstance(exc, EdiError):
        message = str(exc)  # configuration errors name a setting file and row, never claim data
    event(log, "file.error", logging.ERROR, file=name, sha256=sha, error=type(exc).__name__, message=message)
    return Outcome(name, Status.ERROR, sha, reason="error", message=message)


def _shown_path(raw, root: Root | None) -> str:
    path = Path(os.fsdecode(raw))
    if root is not None:
        with contextlib.suppress(ValueError):
            return str(path.relative_to(root.path))
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


# --- helpers --------------------------------------------------------------------------------------

def _step(name: str) -> None:
    """A named point between two steps; COBPIPE_TEST_CRASH_AT=<name>[:n] kills the process there
    (os._exit, like SIGKILL: no cleanup, no flush) so tests can prove the invariants above."""
    pause = os.environ.get(PAUSE_ENV)
    if pause and pause.partition("=")[0] == name:
        _pause(Path(pause.partition("=")[2]))
    wanted = os.environ.get(CRASH_ENV)
    if not wanted:
        return
    step, _, nth = wanted.partition(":")
    if step != name:
        return
    _crash_counts[name] += 1
    if _crash_counts[name] >= int(nth or 1):
        os._exit(137)


def _stage(path: Path, work: Path) -> str:
    """S1: copy the input into `work` under its own name, hashing the bytes copied; fsync the copy."""
    mkdir_durable(work.parent)
    work.mkdir()
    _fsync_dir(work.parent)
    (work / OWNER_FILE).write_text(_owner())
    digest = hashlib.sha256()
    with open(path, "rb") as src, open(work / path.name, "wb") as dst:
        while chunk := src.read(1 << 20):
            digest.update(chunk)
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    _fsync_dir(work)
    return digest.hexdigest()


def _sha256_of(path: Path) -> str | None:
    try:
        return sha256_of(path)
    except FileNotFoundError:
        return None


def _sniff_kind(path: Path) -> str:
    """'837P', '835', or the ST01 found (first transaction set); raises _Reject for non-X12."""
    reader = X12Reader.open(path, name=path.name)
    try:
        for segment in reader:
            if segment.tag == "ST":
                code = segment.get(1)
                return "837P" if code == "837" else code
    except EdiError as exc:
        raise _Reject(_reason_of(exc), exc.message, None, exc) from exc
    raise _Reject("unusable", "no ST transaction set in the file")


def _rel(path: Path | None, root: Root) -> str | None:
    if path is None:
        return None
    try:
        return str(path.relative_to(root.path))
    except ValueError:
        return str(path)


def _owner() -> str:
    return f"{socket.gethostname()} {os.getpid()}"


def _owner_is_dead(work: Path) -> bool:
    """An uncommitted work folder whose process (on this host) is gone: its numbers were given back."""
    try:
        host, pid = (work / OWNER_FILE).read_text().split()
    except (OSError, ValueError):
        return False
    if host != socket.gethostname() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _remove_work(work: Path) -> None:
    """Delete a work folder, its .owner file last: a kill midway leaves either a folder whose
    owner is dead or one that holds nothing but an unreadable .owner, and recover() deletes both."""
    try:
        entries = list(work.iterdir())
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.name == OWNER_FILE:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
    with contextlib.suppress(FileNotFoundError):
        (work / OWNER_FILE).unlink()
    with contextlib.suppress(OSError):
        work.rmdir()


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return time.time()


def _abandoned(work: Path) -> bool:
    """Uncommitted and safe to delete: its process is gone, or it was killed while being created or
    removed (no readable owner and nothing else inside). Deleting a folder a live process is just
    creating makes that process see its input as gone; the input stays in inbound for next time."""
    if _owner_is_dead(work):
        return True
    try:
        (work / OWNER_FILE).read_text().split()[1]
        return False
    except (OSError, IndexError):
        pass
    try:
        return all(entry.name == OWNER_FILE for entry in work.iterdir())
    except FileNotFoundError:
        return False


def recover(root: Root, ledger: Ledger, stale_after: float = STALE_WORK_SECONDS) -> list[Path]:
    """At start-up: publish outputs of committed work folders (R), delete stale uncommitted ones."""
    published: list[Path] = []
    now = time.time()
    for work in sorted(p for p in root.work.iterdir() if p.is_dir()) if root.work.exists() else []:
        sha = work.name.split("-", 1)[0]
        record = ledger.file(sha) if len(sha) == 64 else None
        if record is not None and record.detail.get("work") == work.name:
            published += _publish(work, root)
            _remove_work(work)
        elif _abandoned(work) or now - _mtime(work) > stale_after:
            _remove_work(work)
    if published:
        event(log, "outputs.recovered", outputs=[p.name for p in published], count=len(published))
    return published
