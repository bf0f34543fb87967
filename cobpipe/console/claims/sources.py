"""Where the claim screen finds the primary's adjudication of a claim: the archived 835 (found as
the jobs find it), the claim's parts in it combined as the pipeline combines them, and the payer
that sent it.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from ...cob.decide import resolve_parts
from ...cob.from_era import remit_claim
from ...cob.remit import RemitClaim
from ...jobs.moves import find_archived


def archived_copy(root: Path, record: dict | None) -> Path | None:
    """The archived copy of a recorded input, 835 or 837P (the jobs note its archive name in the
    file's detail; else it is found by name and SHA-256)."""
    if record is None:
        return None
    return find_archived(root / "archive", record["name"], record["sha256"],
                         (record.get("detail") or {}).get("archived"))


def remit_from_835(path: Path, claim_id: str, today: dt.date) -> tuple[RemitClaim | None, list]:
    """The claim's adjudication in that 835, its parts combined as the pipeline combines them, and
    each remitted line's allowed amount (AMT*B6, shown on the screen; the 837P does not carry it)."""
    from ...era import read_remittances

    parts, allowed = [], []
    for remittance in read_remittances(path):
        header = remittance.header
        for payment in remittance.claims():
            if payment.claim_id == claim_id:
                parts.append(remit_claim(payment, header, today))
                allowed.append([line.allowed for line in payment.lines])
    if not parts:
        return None, []
    remit = resolve_parts(parts).claim
    last_reversal = max((i for i, p in enumerate(parts) if p.status_code == "22"), default=-1)
    kept = [a for part in allowed[last_reversal + 1:] for a in part]
    return remit, kept if remit is not None and len(kept) == len(remit.lines) else []


def era_sender(path: Path):
    """The payer that sent an 835 (its first transaction set's 1000A and TRN03), as cob.identity reads it."""
    from ...cob.identity import era_payer
    from ...era import read_remittances

    for remittance in read_remittances(path):
        return era_payer(remittance.header)
    return None
