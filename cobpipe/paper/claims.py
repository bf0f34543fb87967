"""What a paper claim is made of, and a way to make some from files (tests, samples, docs images).

The converter decides which claims go on paper (the payer list); cobpipe.pipeline gives the
PaperClaim items of an ERA to `write_paper_pdf`.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported for annotations only: the paper package loads neither at import time
    from ..claim837.claim import OriginalClaim
    from ..era.model import ClaimPayment, RemittanceHeader


@dataclass
class PaperClaim:
    """One secondary claim to print, with the primary's remittance of it (its EOB page)."""

    claim: "OriginalClaim"  # the secondary claim as it would be sent electronically (build_secondary)
    payments: list["ClaimPayment"]  # the primary's 835 CLP loop(s) of this claim (several for a split claim)
    header: "RemittanceHeader"  # that 835's Table 1: payer, payment, trace, dates
    reason: str  # why paper


def items_from_files(era: Path, claim_files: Iterable[Path], *, only: Iterable[str] | None = None,
                     reason: str = "printed on request", as_of: dt.date | None = None) -> list[PaperClaim]:
    """Convert `era` against the 837P files in memory and return every converted claim (or those in
    `only`) as a PaperClaim. For tests, samples and the README images: the real channels print the
    claims the payer list sends to paper."""
    from ..claim837 import iter_claims
    from ..cob.convert import ClaimConverter
    from ..decision_log import DecisionLog
    from ..era import read_remittances
    from ..pipeline import CONVERTED, ConvertOptions, scan_era

    originals: dict[str, list] = {}
    for path in claim_files:
        for claim in iter_claims(path):
            originals.setdefault(claim.id, []).append(claim)

    class _Source:
        def claims_for(self, claim_id: str) -> list:
            return originals.get(claim_id, [])

    wanted = frozenset(only) if only is not None else None
    options = ConvertOptions(today=as_of)
    decisions = DecisionLog()
    built = {claim.id: claim for claim in
             ClaimConverter(_Source(), options=options, path=str(era)).run(scan_era(era).repeated_only(), decisions)}
    converted = [d.claim_id for d in decisions if d.status == CONVERTED and (wanted is None or d.claim_id in wanted)]
    payments: dict[str, list] = {}
    headers: dict[str, object] = {}
    for remittance in read_remittances(era):
        for payment in remittance.claims():
            if payment.claim_id in built:
                payments.setdefault(payment.claim_id, []).append(payment)
                headers.setdefault(payment.claim_id, remittance.header)
    return [PaperClaim(built[claim_id], payments[claim_id], headers[claim_id], reason) for claim_id in converted]
