"""Claim status (CLP02) semantics for COB, and grouping claims by CLP01 (reversals, splits).

cob-spec §2.4: denials still go to the next payer; reversals (22) are collapsed into their
correction; crossovers (19/20/21, NM1*TT, MA18/MA07/N89) must not be billed to the payer they were
forwarded to, unless MA19 says they were not forwarded; 23 and 25 are not COB input; split claims
(several CLPs with one CLP01, MA15) are aggregated.

The status table is data here for now, descriptions in our own words; mappings/claim_status.csv
holds the same codes in the code book (a test keeps codes, levels and flags in step).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from edi.findings import Finding, Location

from .codes import severity_of
from .model import ClaimPayment


@dataclass(frozen=True, slots=True)
class ClaimStatus:
    """What one CLP02 code means for coordination of benefits."""

    code: str
    description: str
    word: str  # short word for views: primary, secondary, denied, crossover, reversal ...
    level: int | None = None  # payer level that adjudicated: 1 primary, 2 secondary, 3 tertiary
    forwarded: bool = False  # 19/20/21: the payer forwarded the claim to the next payer
    reversal: bool = False
    denial: bool = False
    cob_input: bool = True  # adjudication a next payer can be billed with (23, 25 and 22 are not)

    @property
    def payer_level(self) -> str:
        """SBR01-style letter for the level: P, S, T or ''."""
        return {1: "P", 2: "S", 3: "T"}.get(self.level or 0, "")


CLAIM_STATUS: dict[str, ClaimStatus] = {s.code: s for s in (
    ClaimStatus("1", "Paid or adjudicated as the primary payer", "primary", 1),
    ClaimStatus("2", "Paid or adjudicated as the secondary payer", "secondary", 2),
    ClaimStatus("3", "Paid or adjudicated as the tertiary payer", "tertiary", 3),
    ClaimStatus("4", "Denied: nothing paid", "denied", None, denial=True),
    ClaimStatus("19", "Adjudicated as primary and sent on to the next payer", "crossover", 1, forwarded=True),
    ClaimStatus("20", "Adjudicated as secondary and sent on to the next payer", "crossover", 2, forwarded=True),
    ClaimStatus("21", "Adjudicated as tertiary and sent on to the next payer", "crossover", 3, forwarded=True),
    ClaimStatus("22", "Takes back an earlier payment (amounts negated)", "reversal", None, reversal=True, cob_input=False),
    ClaimStatus("23", "Not this payer's claim; sent on to another payer", "not-ours", None, cob_input=False),
    ClaimStatus("25", "Priced as a predetermination only; no payment", "predetermination", None, cob_input=False),
)}

PRIMARY, SECONDARY, TERTIARY, DENIED = "1", "2", "3", "4"
PRIMARY_FORWARDED, SECONDARY_FORWARDED, TERTIARY_FORWARDED = "19", "20", "21"
REVERSAL, NOT_OUR_CLAIM, PREDETERMINATION = "22", "23", "25"

#: RARCs saying the claim was forwarded to another payer (crossover), and the one saying it was not
FORWARDED_REMARKS = frozenset({"MA18", "MA07", "N89"})
NOT_FORWARDED_REMARK = "MA19"
#: RARC: the claim was split by the payer
SPLIT_REMARK = "MA15"


def status_of(claim: ClaimPayment) -> ClaimStatus | None:
    """The meaning of CLP02, or None for an unknown code (reported as ERA012 by the parser)."""
    return CLAIM_STATUS.get(claim.status)


def describe_status(code: str) -> str:
    status = CLAIM_STATUS.get(code)
    return status.description if status else f"unknown claim status {code!r}"


def payer_level(claim: ClaimPayment) -> int | None:
    """1 for CLP02 1/19, 2 for 2/20, 3 for 3/21; None for denials, reversals, 23, 25 and unknown codes."""
    status = status_of(claim)
    return status.level if status else None


def is_reversal(claim: ClaimPayment) -> bool:
    """CLP02 22: every amount is the negative of the original payment (5010 keeps the group codes)."""
    return claim.status == REVERSAL


def is_denial(claim: ClaimPayment) -> bool:
    """CLP02 4. A denial is still COB input: the next payer gets AMT*D 0 and CAS for the whole charge."""
    return claim.status == DENIED


def crossover_evidence(claim: ClaimPayment) -> list[str]:
    """Why the claim looks forwarded: CLP02 19/20/21, NM1*TT, or a remark MA18/MA07/N89."""
    evidence: list[str] = []
    status = status_of(claim)
    if status is not None and status.forwarded:
        evidence.append(f"CLP02 {claim.status}")
    if claim.crossover_carrier is not None:
        evidence.append("NM1*TT")
    evidence += [f"remark {code}" for code in dict.fromkeys(claim.remark_codes) if code in FORWARDED_REMARKS]
    return evidence


def is_crossover(claim: ClaimPayment) -> bool:
    """Whether the payer forwarded the claim to the next payer (do not bill that payer).

    CLP02 19/20/21, or NM1*TT present, or a remark MA18/MA07/N89 in MOA/MIA/LQ. A remark MA19 (not
    sent to the Medigap insurer) overrides all of them: the provider bills the next payer directly.
    """
    if NOT_FORWARDED_REMARK in claim.remark_codes:
        return False
    return bool(crossover_evidence(claim))


def crossover_payer(claim: ClaimPayment) -> tuple[str, str, str] | None:
    """(name, id qualifier, id) of the NM1*TT payer the claim was forwarded to, if named."""
    party = claim.crossover_carrier
    if party is None:
        return None
    return party.last_name, party.id_qualifier, party.id


def is_cob_input(claim: ClaimPayment) -> bool:
    """Whether this CLP is an adjudication the next payer can be billed with: 1, 2, 3, 4, 19, 20, 21.

    Not: 22 (collapse into the correction, see group_claims), 23 (not this payer's claim), 25
    (predetermination) and unknown codes. A crossover is COB input, but check is_crossover before
    billing the payer it was forwarded to.
    """
    status = status_of(claim)
    return status is not None and status.cob_input


def has_corrected_priority(claim: ClaimPayment) -> bool:
    """2100 NM1*PR: the payer says another payer has priority; wrong COB order, manual review (RFI 963)."""
    return claim.corrected_payer is not None


def split_remark(claim: ClaimPayment) -> bool:
    """The payer says it split the claim (remark MA15)."""
    return SPLIT_REMARK in claim.remark_codes


# --- grouping by CLP01 -----------------------------------------------------------------------


@dataclass(slots=True)
class ReversalPair:
    """A reversal (22) with the correction that follows it and the original it cancels, when present.

    `original` is an earlier non-reversal CLP in the same sequence whose CLP03/CLP04 are exactly the
    negated reversal amounts; most 835s carry only the reversal and its correction.
    """

    reversal: ClaimPayment
    correction: ClaimPayment | None = None
    original: ClaimPayment | None = None


@dataclass(slots=True)
class ClaimGroup:
    """Every CLP of a sequence that shares one CLP01, in file order."""

    claim_id: str
    claims: list[ClaimPayment] = field(default_factory=list)
    reversals: list[ReversalPair] = field(default_factory=list)
    current: list[ClaimPayment] = field(default_factory=list)  # what COB uses: not reversals, not reversed originals
    findings: list[Finding] = field(default_factory=list)

    @property
    def is_split(self) -> bool:
        """Several current parts share the CLP01, or the payer says so (MA15)."""
        return len(self.current) > 1 or any(split_remark(c) for c in self.current)

    @property
    def split_parts(self) -> list[ClaimPayment]:
        return list(self.current) if self.is_split else []

    @property
    def corrections(self) -> list[ClaimPayment]:
        return [p.correction for p in self.reversals if p.correction is not None]

    @property
    def orphan_reversals(self) -> list[ClaimPayment]:
        """Reversals with no later correction for the CLP01 (the money moves in PLB WO/FB, RFI 227)."""
        return [p.reversal for p in self.reversals if p.correction is None]

    @property
    def latest(self) -> ClaimPayment | None:
        """The last current CLP: the one to use when the group is not split."""
        return self.current[-1] if self.current else None


def _negates(original: ClaimPayment, reversal: ClaimPayment) -> bool:
    return (original.charge is not None and reversal.charge is not None and original.paid is not None
            and reversal.paid is not None and reversal.charge == -original.charge and reversal.paid == -original.paid)


def group_claims(claims: Iterable[ClaimPayment], *, path: str | None = None) -> list[ClaimGroup]:
    """Group claims by CLP01 (first-seen order) and tell split parts, reversal + correction pairs
    and orphan reversals (cob-spec §2.4).

    A reversal (22) pairs with the first non-reversal CLP with the same CLP01 after it (its
    correction, RFI 791) not already paired; an earlier CLP whose amounts it exactly negates is the
    original it cancels, and leaves `current`. Findings: ERA201 orphan reversal, ERA202 reversal
    amounts not negative, ERA203 split claim.
    """
    groups: dict[str, ClaimGroup] = {}
    for claim in claims:
        groups.setdefault(claim.claim_id, ClaimGroup(claim.claim_id)).claims.append(claim)
    for group in groups.values():
        _pair(group, path)
    return list(groups.values())


def _where(claim: ClaimPayment, path: str | None, element: str | None = None) -> Location:
    return Location(path, claim.segment or None, claim.line or None, "CLP", "2100", element, claim.claim_id)


def _pair(group: ClaimGroup, path: str | None) -> None:
    used: set[int] = set()  # ids of CLPs already taken as a correction
    reversed_originals: set[int] = set()
    for i, claim in enumerate(group.claims):
        if not is_reversal(claim):
            continue
        pair = ReversalPair(claim)
        for earlier in reversed(group.claims[:i]):
            if not is_reversal(earlier) and id(earlier) not in reversed_originals and _negates(earlier, claim):
                pair.original = earlier
                reversed_originals.add(id(earlier))
                break
        for later in group.claims[i + 1:]:
            if not is_reversal(later) and id(later) not in used:
                pair.correction = later
                used.add(id(later))
                break
        group.reversals.append(pair)
        if pair.correction is None:
            group.findings.append(Finding(
                "ERA201", "reversal (CLP02 22) has no later correction with the same CLP01",
                _where(claim, path, "CLP02"), severity_of("ERA201")))
        if (claim.charge is not None and claim.charge > 0) or (claim.paid is not None and claim.paid > 0):
            group.findings.append(Finding(
                "ERA202", "reversal (CLP02 22) amounts are not negated: 5010 reversals carry the negatives of "
                "the original CLP03/CLP04", _where(claim, path, "CLP03"), severity_of("ERA202")))
    group.current = [c for c in group.claims if not is_reversal(c) and id(c) not in reversed_originals]
    if len(group.current) > 1:
        first = group.current[0]
        group.findings.append(Finding(
            "ERA203", f"split claim: {len(group.current)} CLPs share this CLP01 (segments "
            f"{', '.join(str(c.segment) for c in group.current)})", _where(first, path), severity_of("ERA203")))
