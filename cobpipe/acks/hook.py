"""What the drop-folder step (cobpipe.jobs.process.process_inbound) calls around each file.

  take_ack   a complete 999 (GS01 FA) or 277CA (GS01 HN, 005010X214) is applied to the ledger
             (cobpipe.acks.apply) and archived -- or rejected with its reason -- instead of being
             converted; its Outcome says kind '999' / '277CA'.
  after      every other file taken (stored, converted, partly converted, rejected) gets a TA1 /
             999 (cobpipe.acks.write) in the outbound folder of the partner who sent it (a partner
             home), or in ROOT/outbound when JobOptions.acknowledge is set; the partner is noted in
             the file's ledger record (detail.partner).

An acknowledgment is written to a hidden name in outbound/, its control numbers are committed
with its output record, and only then is it renamed to its final name: a partner never sees one
whose numbers could be handed out again.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
from pathlib import Path

from edi.errors import CobpipeError, EdiError, UnsupportedTransactionError

from ..fsutil import _fsync_dir
from ..ledger import Ledger, OutputRecord
from ..logs import error_fields, event
from .partners import PartnerRoot, home_of

log = logging.getLogger("cobpipe.acks")

_HEAD = 1 << 16
_ACK_HEAD = re.compile(r"GS(.)(FA|HN)\1.*?ST\1(999|277)\1", re.S)
TAKEN = ("stored", "converted", "partial", "rejected")


def sniff_ack(path: Path) -> str | None:
    """'999' or '277CA' from the file's first 64 KB (GS01 FA + ST 999, GS01 HN + ST 277), else None."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(_HEAD).decode("utf-8", "replace")
    except OSError:
        return None
    text = head.lstrip("\ufeff \r\n\t")
    if not text.startswith("ISA"):
        return None
    match = _ACK_HEAD.search(text)
    if match is None:
        return None
    if match.group(2) == "FA" and match.group(3) == "999":
        return "999"
    if match.group(2) == "HN" and match.group(3) == "277":
        terminator = text[105] if len(text) > 105 else "~"  # ISA16 is followed by the segment terminator
        gs08 = text[match.start():].split(terminator, 1)[0].split(match.group(1))
        version = gs08[8] if len(gs08) > 8 else ""
        return "277CA" if not version.strip() or version.strip().startswith("005010X214") else None
    return None


def take_ack(path: Path, ledger: Ledger, root, options):
    """The Outcome of an acknowledgment file, or None for any other file (processed as usual)."""
    from ..jobs import process
    from ..jobs.intake import Completeness, completeness

    kind = sniff_ack(path)
    if kind is None:
        return None
    try:
        if completeness(path) is not Completeness.COMPLETE:
            return None  # waits (or is rejected as truncated) like any other file
    except OSError:
        return None
    from .apply import apply_file

    name = path.name
    root = home_of(path, root)
    detail = {"partner": root.partner} if isinstance(root, PartnerRoot) else None
    try:
        result = apply_file(path, ledger, kind, name, detail)
    except FileNotFoundError:
        return process.Outcome(name, process.Status.GONE)
    except UnsupportedTransactionError as exc:
        sha = process._sha256_of(path)
        return process._reject_path(path, ledger, root, sha,
                                    process._Reject("unsupported-transaction", exc.message, kind, exc))
    except EdiError as exc:
        sha = process._sha256_of(path)
        return process._reject_path(path, ledger, root, sha,
                                    process._Reject(process._reason_of(exc), exc.message, kind, exc))
    except (CobpipeError, OSError) as exc:
        return process._error(name, None, exc, root)
    moved = process._archive(path, root, result.sha256)
    process._note_archived(ledger, result.sha256, moved)
    status = process.Status.DUPLICATE if result.duplicate else process.Status.STORED
    counts = dict(result.claims)
    if result.unmatched:
        counts["unmatched"] = len(result.unmatched)
    return process.Outcome(name, status, result.sha256, kind, moved_to=moved, counts=counts)


def after(outcome, ledger: Ledger, root, options) -> None:
    """TA1/999 for a file just taken, into its sender's outbound. Never raises: an acknowledgment
    that cannot be written is logged (the file itself was processed)."""
    if str(outcome.status) not in TAKEN or outcome.moved_to is None or outcome.sha256 is None:
        return
    if outcome.kind in ("999", "277CA"):
        return
    partner = root.partner if isinstance(root, PartnerRoot) else None
    try:
        if partner:
            ledger.update_file_detail(outcome.sha256, partner=partner)
        if not partner and not getattr(options, "acknowledge", False):
            return
        write_acknowledgment(Path(outcome.moved_to), outcome.name, outcome.sha256, ledger, root.outbound,
                             accepted=str(outcome.status) != "rejected", reject_reason=outcome.reason)
    except Exception as exc:  # noqa: BLE001 - the input is processed; the answer is best effort, logged
        event(log, "ack.error", logging.ERROR, file=outcome.name, sha256=outcome.sha256, **error_fields(exc))


def write_acknowledgment(path: Path, name: str, sha: str, ledger: Ledger, outbound: Path, *,
                         accepted: bool, reject_reason: str | None = None) -> Path | None:
    """Validate `path` as `cobpipe validate` does, write its TA1/999 into `outbound`; the path written,
    or None when the file has no interchange to answer (not X12, a bare fragment)."""
    from ..commands.validate import validate_path
    from .write import acknowledge

    report = validate_path(path, name=name)
    findings = report.findings if report.usable else []
    outbound.mkdir(parents=True, exist_ok=True)
    hidden = outbound / f".ack-{secrets.token_hex(6)}.tmp"
    with ledger.transaction():
        written = acknowledge(path, findings, ledger, accepted=accepted, reject_reason=reject_reason)
        if written is None:
            return None
        suffix = "999" if "999" in written.kinds else "ta1"
        target = outbound / f"{Path(name).stem}.{sha[:12]}.{suffix}"
        with open(hidden, "w", encoding="utf-8", newline="") as stream:
            stream.write(written.text)
            stream.flush()
            os.fsync(stream.fileno())
        ledger.record_outputs(sha, [OutputRecord(target.name, suffix.upper(), written.control_numbers)])
    try:
        os.replace(hidden, target)
        _fsync_dir(outbound)
    except OSError:
        with contextlib.suppress(OSError):
            hidden.unlink()
        raise
    event(log, "ack.written", file=name, sha256=sha, output=target.name, kind=suffix.upper(),
          status=",".join(written.verdicts), control_numbers=[list(n) for n in written.control_numbers])
    return target
