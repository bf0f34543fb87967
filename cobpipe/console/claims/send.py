"""Send: the checked secondary claim written the way the jobs publish theirs -- an 837P with the
ledger's control numbers (`send`), or a CMS-1500 PDF in outbound/paper/ when the payer takes no
electronic secondary claims (`send_paper`) -- recorded with `Ledger.record_issued` so a claim is
never billed to the same payer twice, and published only after COMMIT (a hidden pending name,
renamed into place; `recover_pending` finishes that rename after a crash).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from edi.findings import Severity

from ... import pipeline
from ...claim837.claim import OriginalClaim
from ...fsutil import _fsync_dir
from ...fsutil import sha256_of as _sha256
from ...jobs.layout import PAPER_FOLDER
from ...ledger import ClaimOutcome, IssuedClaim, Ledger, OutputRecord

PENDING_SUFFIX = ".pending"


class SendRefused(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Sent:
    output: str
    sha256: str
    payer_id: str
    control_numbers: tuple[tuple[str, int], ...]


def send(ledger: Ledger, outbound: Path, built: OriginalClaim, original: OriginalClaim, payer_id: str, *,
         level: str = "", usage: str = "P", on_commit=None, detail: str = "",
         now: dt.datetime | None = None) -> Sent:
    """Write the built claim as its own outbound 837P, the way the jobs publish theirs.

    In one ledger transaction: take ISA13/GS06/ST02, write the interchange to a hidden name in
    outbound/, check it against the 005010X222A1 guide, record output, issued claim and a
    `converted` decision (and `on_commit(sha, name)`, the audit row). A guide error, an issued
    claim already recorded or any failure rolls everything back: the numbers are not used, nothing
    is published. Like the jobs, the claim sent is also stored as a claim (the next payer's 835
    continues from it) and its state set (billed_secondary, ...). After COMMIT the file is renamed
    to its final name (`recover_pending` finishes that rename if the process died in between)."""
    from edi import ig

    from ...claim837.rows import ClaimRows
    from ...claim837.writer import write_claims_837

    outbound.mkdir(parents=True, exist_ok=True)
    now = now or dt.datetime.now()
    stamp = now.strftime("%Y%m%d%H%M%S")
    tmp = outbound / f".console-{stamp}.{secrets.token_hex(6)}.tmp"
    pending: Path | None = None
    try:
        with ledger.transaction():
            if ledger.was_issued(built.id, payer_id):
                raise SendRefused([f"claim {built.id} was already sent to payer {payer_id}"])
            with open(tmp, "w", encoding="utf-8", newline="") as stream:
                summary = write_claims_837([built], stream, pipeline.interchange_for(original, usage), ledger,
                                           now=now)
                stream.flush()
                os.fsync(stream.fileno())
            errors = [f for f in ig.validate_file(tmp, name="secondary claim") if f.severity is Severity.ERROR]
            if errors:
                raise SendRefused([f"005010X222A1 {f.code} {f.location.tag or ''}{f.location.element or ''}: "
                                   f"{f.message}" for f in errors[:8]])
            digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
            name = f"console-{stamp}.{digest[:12]}.837"
            pending = outbound / f".{name}{PENDING_SUFFIX}"
            os.replace(tmp, pending)
            numbers = tuple((str(k), int(n)) for k, n in summary.control_numbers)
            ledger.record_outputs(digest, [OutputRecord(name, "837P", numbers)])
            _record_sent(ledger, digest, IssuedClaim(built.id, payer_id, name, summary.isa13, summary.gs06,
                                                     summary.st02, payer_level=level),
                         "converted", ("console",), detail, on_commit)
            ledger.add_claim_rows(ClaimRows.open(pending), source_hash=digest, issued=True)
    except BaseException:
        _discard(tmp, pending)
        raise
    _publish(pending, outbound / name)
    return Sent(name, digest, payer_id, numbers)


def recover_pending(ledger: Ledger, outbound: Path) -> list[str]:
    """At start: a claim file (837P, or a paper claim's PDF in outbound/paper/) whose transaction
    committed but which was never renamed into place is published; one whose transaction did not
    commit is removed."""
    published = []
    for folder in (outbound, outbound / PAPER_FOLDER):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob(f".console-*{PENDING_SUFFIX}")):
            name = path.name[1:-len(PENDING_SUFFIX)]
            committed = ledger.query("SELECT 1 FROM outputs WHERE name = ?", (name,))
            if committed:
                os.replace(path, folder / name)
                published.append(name)
            else:
                path.unlink(missing_ok=True)
        for path in folder.glob(".console-*.tmp"):
            path.unlink(missing_ok=True)
        if published:
            _fsync_dir(folder)
    return published


def send_paper(ledger: Ledger, outbound: Path, built: OriginalClaim, payer_id: str, reason: str, *,
               era_path: Path | None = None, level: str = "", on_commit=None, detail: str = "",
               now: dt.datetime | None = None, today: dt.date | None = None) -> Sent:
    """Print the built claim on a CMS-1500 (cobpipe.paper, the pipeline's own renderer) into
    outbound/paper/console-<time>.<sha12>.paper.pdf, followed by the primary's EOB page for this
    claim when it came from an 835 (keyed from a paper EOB: attach that paper EOB). In one ledger
    transaction: record the output, the claim as billed on paper (never billed twice, on paper or
    electronically), the claim itself (the next payer's 835 continues from it), its state and a
    `paper` decision; the PDF is renamed into place after COMMIT, as `send` does with an 837P."""
    from ...era.model import RemittanceHeader
    from ...paper import PaperClaim, write_paper_pdf

    folder = outbound / PAPER_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    now = now or dt.datetime.now()
    stamp = now.strftime("%Y%m%d%H%M%S")
    payments, header = [], RemittanceHeader()
    if era_path is not None:
        from ...era import read_remittances

        for remittance in read_remittances(era_path):
            found = [p for p in remittance.claims() if p.claim_id.strip().upper() == built.id.upper()]
            if found:
                payments, header = found, remittance.header
                break
    tmp = folder / f".console-{stamp}.{secrets.token_hex(6)}.tmp"
    pending: Path | None = None
    try:
        with ledger.transaction():
            if ledger.was_issued(built.id, payer_id):
                raise SendRefused([f"claim {built.id} was already sent to payer {payer_id}"])
            write_paper_pdf([PaperClaim(built, payments, header, reason)], tmp, today=today)
            digest = _sha256(tmp)
            name = f"console-{stamp}.{digest[:12]}.paper.pdf"
            pending = folder / f".{name}{PENDING_SUFFIX}"
            os.replace(tmp, pending)
            ledger.record_outputs(digest, [OutputRecord(name, "paper")])
            _record_sent(ledger, digest, IssuedClaim(built.id, payer_id, name, payer_level=level, channel="paper"),
                         "paper", ("console", reason), detail, on_commit)
            ledger.add_claims([built], source_hash=digest, issued=True)
    except BaseException:
        _discard(tmp, pending)
        raise
    _publish(pending, folder / name)
    return Sent(name, digest, payer_id, ())


def _record_sent(ledger: Ledger, digest: str, issued: IssuedClaim, status: str, reasons: tuple[str, ...],
                 detail: str, on_commit) -> None:
    """Inside the send's transaction: the claim as issued (refused if that payer already had it),
    its state and its decision, then the caller's audit row. (The caller stores the claim's text.)"""
    from ...cob.convert import STATE_OF_LEVEL

    if ledger.record_issued(digest, [issued]) != 1:
        raise SendRefused([f"claim {issued.claim_id} was already sent to payer {issued.payer_id}"])
    ledger.set_claim_state(issued.claim_id, STATE_OF_LEVEL.get(issued.payer_level, "billed_next"), issued.payer_id,
                           detail)
    ledger.record_decisions(digest, [ClaimOutcome(issued.claim_id, status, issued.payer_id, reasons)])
    if on_commit is not None:
        on_commit(digest, issued.output)


def _discard(*paths: Path | None) -> None:
    for path in paths:
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _publish(pending: Path, target: Path) -> None:
    """After COMMIT: the hidden pending file takes its final name (recover_pending does it after a crash)."""
    os.replace(pending, target)
    _fsync_dir(target.parent)
