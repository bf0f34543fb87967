"""Which remitted claims become secondary claims, and why the others do not (cob-spec §2.4).

Pure functions over RemitClaim parts; each returns a decision with reasons a billing analyst reads.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ..era.status import CLAIM_STATUS
from .cas import merge_same_reason
from .remit import RemitClaim

REVERSAL = "22"
CROSSOVER_CODES = frozenset({"19", "20", "21"})
NOT_COB_INPUT = {"23": "not our claim (CLP02 23)", "25": "predetermination pricing only (CLP02 25)"}
FORWARDED_REMARKS = frozenset({"MA18", "MA07", "N89"})
NOT_FORWARDED_REMARK = "MA19"
PAYER_LEVELS = "PSTABCDEFGH"  # SBR01 payer responsibility sequence
STATUS_LEVEL = {"1": "P", "19": "P", "2": "S", "20": "S", "3": "T", "21": "T"}
PROCESSED = frozenset({"1", "2", "3", "4"})  # processed as primary, secondary, tertiary; denied


@dataclass(slots=True)
class Resolution:
    """The claim to bill from (or None) and, if None, why it is skipped."""

    claim: RemitClaim | None
    skip_reason: str | None = None
    notes: list[str] = field(default_factory=list)


def resolve_parts(parts: list[RemitClaim]) -> Resolution:
    """Collapse all CLPs of one CLP01: a reversal voids what came before it, the parts after the
    last reversal are the correction, and split parts (MA15) are summed into one claim."""
    if len(parts) == 1:  # nearly every claim: what the general path below gives for one part
        claim = parts[0]
        if claim.status_code == REVERSAL:
            return Resolution(None, "reversal without a correction in this 835 (CLP02 22)")
        claim.reversed = False
        return Resolution(claim, None, [])
    return _resolve(parts)


def _resolve(parts: list[RemitClaim]) -> Resolution:
    reversed_any = any(p.status_code == REVERSAL for p in parts)
    notes: list[str] = []
    if reversed_any:
        current = standing_parts(parts)
        if not current:
            return Resolution(None, "reversal without a correction in this 835 (CLP02 22)")
        notes.append("a reversal (CLP02 22) voided the earlier adjudication; billed from its correction")
    else:
        current = parts
    if len(current) > 1:
        notes.append(f"split claim: {len(current)} CLP segments share CLP01, combined")
    claim = current[0] if len(current) == 1 else combine_split(current)
    claim.reversed = reversed_any
    return Resolution(claim, None, notes)


def standing_parts(parts: list[RemitClaim]) -> list[RemitClaim]:
    """The parts of one CLP01 that no reversal in this 835 takes back, in their order.

    A reversal (CLP02 22) names the adjudication it takes back by its CLP07, the payer's claim
    number: it takes back the parts before it with that number. The guide asks for the reversal
    before its correction [RFI 791], but payers also send the correction first, and reuse the
    number for the correction: a part after the reversal is never taken back, and a reversal whose
    number no earlier part has took back an adjudication of an earlier 835. A reversal without a
    CLP07 takes back every part before it (nothing tells which)."""
    taken_back: set[int] = set()
    for index, part in enumerate(parts):
        if part.status_code != REVERSAL:
            continue
        taken_back.add(index)
        number = _claim_number(part)
        for earlier in range(index):
            other = parts[earlier]
            if other.status_code != REVERSAL and (not number or _claim_number(other) == number):
                taken_back.add(earlier)
    return [part for index, part in enumerate(parts) if index not in taken_back]


def _claim_number(part: RemitClaim) -> str:
    """A part's CLP07 as compared: payers echo it with spaces or in another case."""
    return (part.payer_claim_number or "").strip().upper()


def combine_split(parts: list[RemitClaim]) -> RemitClaim:
    """One claim from split parts: money summed, lines concatenated, the first part's CLP07 kept
    (the 837P has one 2330B REF*F8 slot)."""
    first = parts[0]
    findings = [f for p in parts for f in p.findings]
    remarks: set[str] = set()
    for p in parts:
        remarks |= p.remarks
    return RemitClaim(
        claim_id=first.claim_id,
        status_code=first.status_code,
        charge=sum((p.charge for p in parts), Decimal(0)),
        paid=sum((p.paid for p in parts), Decimal(0)),
        patient_responsibility=sum((p.patient_responsibility for p in parts), Decimal(0)),
        payer_claim_number=first.payer_claim_number,
        filing_indicator=first.filing_indicator,
        adjustments=merge_same_reason(a for p in parts for a in p.adjustments),
        lines=[line for p in parts for line in p.lines],
        segment=first.segment,
        adjudication_date=max((p.adjudication_date for p in parts if p.adjudication_date), default=None),
        moa=first.moa,
        crossover_carrier=next((p.crossover_carrier for p in parts if p.crossover_carrier), None),
        remarks=remarks,
        corrected_priority_payer=any(p.corrected_priority_payer for p in parts),
        parts=len(parts),
        findings=findings,
        payments=[payment for p in parts for payment in p.payments],
        member_ids=frozenset().union(*(p.member_ids for p in parts)),
    )


def skip_reason(claim: RemitClaim, *, bill_zero_balance: bool) -> str | None:
    """Why a resolved claim is not billed onward, or None when it should be."""
    return not_cob_input(claim) or zero_balance(claim, bill_zero_balance=bill_zero_balance)


def is_crossover(claim: RemitClaim) -> bool:
    """The payer forwarded the claim to the next payer itself (CLP02 19-21, NM1*TT, MA18/MA07/N89),
    unless it says it did not (MA19)."""
    forwarded = claim.status_code in CROSSOVER_CODES or claim.crossover_carrier or (
        claim.remarks & FORWARDED_REMARKS)
    return bool(forwarded) and NOT_FORWARDED_REMARK not in claim.remarks


def not_cob_input(claim: RemitClaim) -> str | None:
    """Why an 835 claim is no adjudication to bill a next payer with (checked before its balance)."""
    if (claim.status_code in PROCESSED and not claim.crossover_carrier
            and claim.remarks.isdisjoint(FORWARDED_REMARKS)):
        return None  # the usual claim, told at once: processed (CLP02 1-4), not forwarded (is_crossover)
    return _why_not_cob_input(claim)


def _why_not_cob_input(claim: RemitClaim) -> str | None:
    """not_cob_input's answer for any claim (the reference its shortcut is tested against)."""
    if claim.status_code in NOT_COB_INPUT:
        return NOT_COB_INPUT[claim.status_code]
    if is_crossover(claim):
        carrier = f" to {claim.crossover_carrier}" if claim.crossover_carrier else ""
        return f"crossover: the payer forwarded the claim{carrier} (CLP02 {claim.status_code}); not billed again"
    if claim.status_code not in STATUS_LEVEL and claim.status_code != "4":
        return f"claim status {claim.status_code} is not a processed claim"
    return None


def unknown_status(claim: RemitClaim) -> str | None:
    """Why the claim is refused when its CLP02 is no claim status code of the 835 guide: the 835 is
    wrong, and nothing it says of the claim can be billed on (never skipped as if settled)."""
    if claim.status_code in CLAIM_STATUS:
        return None
    return (f"CLP02 {claim.status_code!r} is not a claim status code of the 835 guide (1-4, 19-23, 25): "
            "the payer's 835 is wrong for this claim; ask the payer, or work the claim by hand")


def zero_balance(claim: RemitClaim, *, bill_zero_balance: bool) -> str | None:
    """Nothing left for the patient: checked only once the claim balances (an unbalanced claim's
    patient share is unknown)."""
    if (claim.status_code != "4" and not bill_zero_balance and claim.patient_responsibility == 0
            and claim.patient_adjustments == 0):
        return "nothing left for the patient (CLP05 = 0, no PR adjustment); use --bill-zero-balance to bill it"
    return None


def next_level(level: str) -> str | None:
    """The SBR01 of the payer after `level` (P -> S -> T -> A ...)."""
    index = PAYER_LEVELS.find(level)
    if index < 0 or index + 1 >= len(PAYER_LEVELS):
        return None
    return PAYER_LEVELS[index + 1]
