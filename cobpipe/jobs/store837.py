"""An 837P in the drop-folder step: store its claims and commit, converting in the same
transaction the claims earlier 835s left unmatched because this 837P had not arrived yet.

The 837P is read and its claims indexed in a ledger of its own in the work folder first, with no
lock held (and refused there when unusable); the shared ledger's write transaction then only
copies the rows in (and converts the claims earlier 835s left unmatched, R1..R2 below).

Claims an 835 remitted before their 837P was stored: an 835 may be processed before the 837P it
answers is stored (the 837P went out another way and is dropped later, or the files arrived out of
order). Its claims are then `unmatched`. When an 837P later stores one of them, that 835 is
converted again from its archived copy for those claims only, inside the 837P's transaction:
  R1  for each such 835, oldest first: copy it from archive/ into the work folder (its hash
      checked) and convert it for the awaiting claims into <work>/out, recording the issued
      claims before the next 835 (so two 835s can never bill one claim twice);
  R2  record the decisions, outputs and the 837P's file record (detail.work) -- COMMIT;
then process.py publishes and archives as for an 835 (S5, S6): a crash at any point is recovered
the same way. Claims the first conversion settled (converted, skipped, rejected) are never retried.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from edi.errors import EdiError, UnsupportedTransactionError
from edi.reader import SegmentCountError, refuse_bad_counts

from .. import pipeline
from ..ledger import ClaimOutcome, FileRecord, Ledger
from ..logs import error_fields, event
from .convert835 import load_coverage, outputs_of, record_outputs
from .crashpoints import step
from .layout import Root
from .moves import archived_copy
from .outcome import JobOptions, Reject, claim_fields, committed, reason_of
from .workdir import sync_work

log = logging.getLogger("cobpipe.jobs")


@dataclass(slots=True)
class Stored:
    """What the 837P's transaction committed, or the record of the same bytes committed before."""

    duplicate: FileRecord | None = None
    read: int = 0  # claims in the file
    added: int = 0  # claims new or changed in the ledger
    retried: list[dict] = field(default_factory=list)  # one entry per 835 converted again (R1)


def store_claims(path: Path, work: Path, sha: str, ledger: Ledger, root: Root, options: JobOptions) -> Stored:
    """Store the claims of the 837P staged in `work`; in the same transaction, convert the claims
    earlier 835s left unmatched because this 837P had not arrived yet (R1..R2)."""
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

    staged = None
    if not ledger.in_transaction:
        staged = Ledger.open(work / ".claims.sqlite")  # hidden: no input can have that name
    try:
        if staged is not None:
            _parse_claims(staged, counted(), sha)
            if read == 0:
                raise Reject("no-claims", "the 837P holds no claims", "837P")
            _refuse_truncated(claim_file.findings)
        with ledger.transaction():
            duplicate = committed(ledger, sha)
            if duplicate is None:
                if staged is not None:
                    added = ledger.add_claims_of(staged)
                else:
                    added = _parse_claims(ledger, counted(), sha)
                    if read == 0:
                        raise Reject("no-claims", "the 837P holds no claims", "837P")
                    _refuse_truncated(claim_file.findings)
                if (work / "out").is_file():  # an 837P dropped as "out": make way for the outputs' folder
                    os.replace(work / "out", work / ".input-out")
                retried = _retry_unmatched(claim_ids, sha, work, ledger, root, options)
                findings = Counter(f.code for f in claim_file.findings)
                detail = {"claims": read, "new_or_changed": added, "findings": dict(sorted(findings.items()))}
                if retried:
                    detail.update(retried=retried, work=work.name)
                    sync_work(work, root)
                ledger.record_file(FileRecord(sha, name, "837P", "stored", detail=detail))
                step("claims-recorded")
            step("claims-committed")
    finally:
        if staged is not None:
            staged.close()
    step("claims-after-commit")
    if duplicate is not None:
        return Stored(duplicate=duplicate)
    return Stored(None, read, added, retried)


def _parse_claims(ledger: Ledger, claims, sha: str) -> int:
    try:
        return ledger.add_claims(claims, source_hash=sha)
    except UnsupportedTransactionError as exc:
        raise Reject("unsupported-transaction", exc.message, "837", exc) from exc
    except EdiError as exc:
        raise Reject(reason_of(exc), exc.message, "837P", exc) from exc


def _refuse_truncated(findings) -> None:
    """The reader reports an interchange cut short (ENV008 "truncated ...") as a finding; like
    pipeline.load_claim_files, claims from such a file are not stored."""
    for finding in findings:
        if finding.code == "ENV008" and "truncated" in finding.message:
            raise Reject("truncated", finding.message, "837P")
    try:
        refuse_bad_counts(Path(""), list(findings))
    except SegmentCountError as exc:
        raise Reject("bad-counts", exc.message, "837P", exc) from exc


def _retry_unmatched(claim_ids: set[str], sha: str, work: Path, ledger: Ledger, root: Root,
                     options: JobOptions) -> list[dict]:
    """R1 for every 835 awaiting some of `claim_ids`, then R2's decisions (see the module's doc)."""
    awaiting = ledger.unmatched_awaiting(claim_ids)
    if not awaiting:
        return []
    coverage = load_coverage(options)
    out = work / "out"
    retried: list[dict] = []
    decisions: list[ClaimOutcome] = []
    for era_sha, ids in awaiting.items():
        record = ledger.file(era_sha)
        archived = archived_copy(root, record) if record is not None else None
        if record is None or archived is None:
            event(log, "retry.era_missing", logging.WARNING, sha256=era_sha, **claim_fields(sorted(ids)),
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
            event(log, "retry.failed", logging.WARNING, sha256=era_sha, **claim_fields(sorted(ids)),
                  **error_fields(exc))
            continue
        produced, numbers = outputs_of(result)
        record_outputs(ledger, sha, result, produced, numbers)
        pipeline.record_conversion(ledger, result, sha, decisions=False)  # all retried ERAs' decisions below
        decisions += pipeline.claim_outcomes(result)
        counts = Counter(d.status for d in result.decisions)
        retried.append({"era": record.name, "sha256": era_sha, "claims": sorted(ids), "counts": dict(counts),
                        "outputs": [Path(p).name for p in produced],
                        "control_numbers": [list(n) for n in numbers]})
        event(log, "claims.retried", sha256=era_sha, era=record.name, **claim_fields(sorted(ids)),
              counts=dict(counts))
        step("retried")
    ledger.record_decisions(sha, decisions)
    return retried
