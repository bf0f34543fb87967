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
      will hand out next (peeked, not taken; C1..C3 in convert835.py); the outputs are written to temp
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
earlier 835s left some of its claims unmatched, that transaction also converts them (R1, R2 in
store837.py) and the 837P then takes S5 and S6 like an 835.

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

The modules of the step, each below the one that uses it (none imports this one):
    process.py       this: which file it is, its phases in order, what follows COMMIT, recover()
    store837.py      an 837P up to COMMIT (and the retry of claims 835s left unmatched)
    convert835.py    an 835 up to COMMIT (converting without holding the write lock)
    rejection.py     rejected/ and its reason files; ERROR outcomes
    moves.py         publish (S5), archive (S6), no-clobber renames, archived copies
    workdir.py       the work folders: staging (S1), owners, removal
    crashpoints.py   the named points between steps where tests kill or hold the process
    outcome.py       JobOptions, Status, Outcome, Reject: what every channel receives
"""
from __future__ import annotations

import logging
import os
import secrets
import stat
import time
from pathlib import Path

from edi.errors import CobpipeError, EdiError
from edi.reader import X12Reader

from .. import pipeline
from ..fsutil import _fsync_dir
from ..ledger import FileRecord, Ledger
from ..logs import error_fields, event
from .convert835 import convert
from .intake import Completeness, completeness
from .layout import Root, is_ignored_name
from .outcome import JobOptions, Outcome, Status, claim_fields, committed
from .store837 import store_claims
from .workdir import STALE_WORK_SECONDS, abandoned, mtime, stage

# The steps below keep the private names they had when they all lived here: the acknowledgments
# hook (cobpipe.acks.hook) and the distributed intake (cobpipe.dist) call them through this module,
# and the tests replace `_publish` and `_note_archived` here to stop a run between two steps -- so
# this module calls them by these names, never through their own modules.
from .crashpoints import step as _step
from .moves import archive as _archive, note_archived as _note_archived
from .moves import move_no_clobber as _move_no_clobber  # noqa: F401 - cobpipe.dist.intake's import
from .moves import publish as _publish, rel as _rel, sha256_or_none as _sha256_of
from .outcome import Reject as _Reject, reason_of as _reason_of
from .rejection import error_outcome as _error, reject_path as _reject_path
from .workdir import remove_work as _remove_work

log = logging.getLogger("cobpipe.jobs")


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
        sha = stage(path, work)
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
        known = committed(ledger, sha)
        if known is not None:
            return _finish_committed(path, ledger, root, known)
        if state is Completeness.NOT_X12:
            raise _Reject("not-x12", "the file does not start with an ISA segment")
        kind = _sniff_kind(work / name)
        rejecting_kind = kind
        if kind == "837P":
            return _take_837(path, work, sha, ledger, root, options)
        if kind == "835":
            return _take_835(path, work, sha, ledger, root, options)
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


def _drop_uncommitted_work(ledger: Ledger, sha: str, work: Path) -> None:
    """Delete the work folder unless a committed record points at it (its outputs await S5)."""
    if not work.exists():
        return
    try:
        committed_record = ledger.file(sha)
    except CobpipeError:
        return  # cannot tell: keep it; recover() decides on the next start
    if committed_record is None or committed_record.detail.get("work") != work.name:
        _remove_work(work)


# --- the phases, then what follows COMMIT (S5, S6) ------------------------------------------------

def _take_837(path: Path, work: Path, sha: str, ledger: Ledger, root: Root, options: JobOptions) -> Outcome:
    """An 837P: its claims committed (store837.py); when that converted claims earlier 835s left
    unmatched, their outputs are published (S5); then the input is archived (S6)."""
    name = path.name
    stored = store_claims(path, work, sha, ledger, root, options)
    if stored.duplicate is not None:
        return _finish_committed(path, ledger, root, stored.duplicate)
    retried = stored.retried
    published = _publish(work, root) if retried else []
    moved = _archive(path, root, sha)
    _note_archived(ledger, sha, moved)
    if retried:
        _remove_work(work)
    counts = {"claims": stored.read, "new_or_changed": stored.added}
    if retried:
        counts["retried_converted"] = sum(r["counts"].get(pipeline.CONVERTED, 0) for r in retried)
    event(log, "file.stored", file=name, sha256=sha, kind="837P", counts=counts, moved_to=_rel(moved, root),
          outputs=[p.name for p in published] or None)
    return Outcome(name, Status.STORED, sha, "837P", moved_to=moved, outputs=tuple(published), counts=counts)


def _take_835(path: Path, work: Path, sha: str, ledger: Ledger, root: Root, options: JobOptions) -> Outcome:
    """An 835: converted and committed (convert835.py), then published (S5) and archived (S6)."""
    name = path.name
    done = convert(path, work, sha, ledger, root, options)
    if done.duplicate is not None:
        return _finish_committed(path, ledger, root, done.duplicate)
    result, counts, outcome, numbers = done.result, done.counts, done.outcome, done.numbers
    published = _publish(work, root)
    _step("published")
    moved = _archive(path, root, sha)
    _note_archived(ledger, sha, moved)
    _step("archived")
    _remove_work(work)
    converted = claim_fields(d.claim_id for d in result.decisions if d.status == pipeline.CONVERTED)
    problems = claim_fields(d.claim_id for d in result.decisions if d.status in (pipeline.REJECTED, pipeline.UNMATCHED))
    event(log, "file.converted" if outcome is Status.CONVERTED else "file.partial",
          logging.INFO if outcome is Status.CONVERTED else logging.WARNING,
          file=name, sha256=sha, kind="835", counts=dict(counts), **converted,
          control_numbers=[list(n) for n in numbers] or None,
          outputs=[p.name for p in published] or None, moved_to=_rel(moved, root),
          status=str(outcome), reason=None if not problems["claims"] else "claims-not-converted")
    if problems["claims"]:
        event(log, "claims.not_converted", logging.WARNING, file=name, sha256=sha, **problems)
    return Outcome(name, outcome, sha, "835", moved_to=moved, outputs=tuple(published), counts=dict(counts))


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
        elif abandoned(work) or now - mtime(work) > stale_after:
            _remove_work(work)
    if published:
        event(log, "outputs.recovered", outputs=[p.name for p in published], count=len(published))
    return published
