"""An 835 in the drop-folder step: convert it against the stored claims and commit (S3, S4).

How an 835 is converted without holding the ledger's write lock for the whole conversion:
  C1  note the ledger's change token (Ledger.change_token: nothing committed since <=> same token);
  C2  convert into <work>/out with the control numbers the ledger would hand out next (peeked,
      not taken), reading claims and issued claims as they are -- no write lock held;
  C3  BEGIN; if the token is unchanged, nothing the conversion read has changed: take the same
      numbers for real, record everything, fsync the work folders -- COMMIT (short);
      else ROLLBACK and convert again (another process committed meanwhile), and after
      OPTIMISTIC_ATTEMPTS, or when the database cannot tell (no change token), or when the caller
      holds a transaction already, convert inside the transaction as before.
Numbers stay gap-free and unique (only taken in the committing transaction, exactly those the
output carries), nothing is billed twice (the issued claims read in C2 are still all there are).

What comes after COMMIT (publishing, archiving) is process.py's, the same for every kind of file.
The helpers that record a conversion's outputs are shared with store837.py's retry of unmatched
claims.
"""
from __future__ import annotations

import logging
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from edi.errors import EdiError, UnsupportedTransactionError

from .. import pipeline
from ..ledger import MAX_CONTROL_NUMBER, FileRecord, Ledger, OutputRecord
from ..logs import event
from .crashpoints import step
from .layout import Root
from .outcome import JobOptions, Reject, Status, committed, reason_of
from .workdir import sync_work

log = logging.getLogger("cobpipe.jobs")

OPTIMISTIC_ATTEMPTS = 3


@dataclass(slots=True)
class Converted:
    """What S4 committed for an 835, or the record of the same bytes committed before (`duplicate`)."""

    duplicate: FileRecord | None = None
    result: object = None  # pipeline's conversion result
    counts: Counter = field(default_factory=Counter)
    outcome: Status = Status.CONVERTED
    numbers: tuple[tuple[str, int], ...] = ()


def convert(path: Path, work: Path, sha: str, ledger: Ledger, root: Root, options: JobOptions) -> Converted:
    """S3, S4 for the 835 staged in `work` (C1..C3 above)."""
    name = path.name
    coverage = load_coverage(options)
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
        known = committed(ledger, sha)
        if known is not None:
            return Converted(duplicate=known)
        numbers_source = _PeekedNumbers(ledger)
        converted = _convert_era(era, ledger, out, options, coverage, numbers_source)
        step("converted")
        try:
            with ledger.transaction():
                if ledger.change_token() != token:
                    raise _Stale("changed")
                numbers_source.take(ledger)
                counts, outcome, numbers = _record_conversion(ledger, sha, name, work, converted, root)
                step("committed")
        except _Stale:
            event(log, "file.reconvert", file=name, sha256=sha,
                  reason="the ledger changed while converting; converting again")
            continue
        result = converted
        break
    if result is None:  # under the write lock all along (contention, or the caller's transaction)
        with ledger.transaction():
            duplicate = committed(ledger, sha)
            if duplicate is None:
                result = _convert_era(era, ledger, out, options, coverage, ledger)
                step("converted")
                counts, outcome, numbers = _record_conversion(ledger, sha, name, work, result, root)
            step("committed")
    step("after-commit")
    if duplicate is not None:
        return Converted(duplicate=duplicate)
    return Converted(None, result, counts, outcome, numbers)


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
        raise Reject("unsupported-transaction", exc.message, "835", exc) from exc
    except EdiError as exc:
        raise Reject(reason_of(exc), exc.message, "835", exc) from exc


def _record_conversion(ledger: Ledger, sha: str, name: str, work: Path, result, root: Root):
    """S4: the file, its outputs and every claim decision, inside the committing transaction."""
    produced, numbers = outputs_of(result)
    counts = Counter(d.status for d in result.decisions)
    outcome = Status.PARTIAL if result.exit_code else Status.CONVERTED
    ledger.record_file(FileRecord(sha, name, "835", str(outcome), detail={
        "counts": dict(counts), "outputs": [Path(p).name for p in produced], "work": work.name,
        "control_numbers": [list(n) for n in numbers]}))
    record_outputs(ledger, sha, result, produced, numbers)
    pipeline.record_conversion(ledger, result, sha)  # issued claims, decisions, the claims' life
    sync_work(work, root)  # the record names <work>/out's files: their names must last first
    return counts, outcome, numbers


def outputs_of(result) -> tuple[list, tuple[tuple[str, int], ...]]:
    """The files a conversion wrote (837P, paper claims' PDF, report) and the 837P's control numbers."""
    produced = [p for p in (result.output, getattr(result, "paper", None), result.report)
                if p is not None and Path(p).exists()]
    return produced, tuple((str(k), int(n)) for k, n in result.control_numbers)


def record_outputs(ledger: Ledger, sha: str, result, produced: list, numbers) -> None:
    """The ledger's list of the outputs of `sha`; the 837P carries its control numbers."""
    ledger.record_outputs(sha, [OutputRecord(Path(p).name, _output_kind(p, result),
                                             numbers if p == result.output else ())
                                for p in produced])


def _output_kind(path, result) -> str:
    """How the ledger lists an output of a conversion: the 837P, the paper claims' PDF, the report."""
    if path == result.output:
        return "837P"
    return "paper" if path == getattr(result, "paper", None) else "report"


def load_coverage(options: JobOptions):
    """The coverage CSV, read again for each file so edits apply; None without one."""
    if options.coverage is None:
        return None
    from ..cob.coverage import CoverageTable

    return CoverageTable.load(options.coverage)
