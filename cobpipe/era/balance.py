"""The 835's self-balancing rules (cob-spec §2.2) as small pure functions returning findings.

Positive CAS and PLB amounts reduce the payment (X221A1 §1.10.2.1 via redix.com and ediacademy;
RFI 2287). Each function checks what the file states; none of them changes the model. An amount
that is absent (already reported by the parser as ERA005/ERA003) skips the rule that needs it.
"""
from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from edi.findings import Finding, Location

from .codes import severity_of
from .model import (ZERO, Adjustment, BalanceFinding, Cas, ClaimPayment, Payment, RemittanceTotals, ServiceLine,
                    format_money as m)

REVERSAL = "22"


def _finding(code: str, rule: str, message: str, where: Location, stated: Decimal | None,
             computed: Decimal | None) -> BalanceFinding:
    return BalanceFinding(code, message, where, severity_of(code), rule=rule, stated=stated, computed=computed)


def line_balance(line: ServiceLine, *, claim_id: str, path: str | None = None,
                 cas_total: Decimal | None = None) -> list[Finding]:
    """S: SVC02 − Σ2110 CAS = SVC03 (cob-spec §2.2; X221A1 §1.10.2.1 line balancing).
    `cas_total` is the line's adjustment_total when the caller has summed it already."""
    if line.charge is None or line.paid is None:
        return []
    cas = line.adjustment_total if cas_total is None else cas_total
    computed = line.charge - cas
    if computed == line.paid:
        return []
    return [_finding(
        "ERA101", "S",
        f"{line.label()} does not balance: SVC03 stated {m(line.paid)}, computed {m(computed)} "
        f"(SVC02 {m(line.charge)} − CAS {m(cas)})",
        Location(path, line.segment or None, line.line or None, "SVC", "2110", "SVC03", claim_id),
        line.paid, computed)]


def claim_balance(claim: ClaimPayment, *, path: str | None = None,
                  line_cas_total: Decimal | None = None) -> list[Finding]:
    """C: CLP03 − Σ(2100 CAS + 2110 CAS) = CLP04 (cob-spec §2.2; RFI 452: CLP04 = ΣSVC03 only
    when there is no claim-level CAS, so the CAS form is the rule). `line_cas_total` is Σ2110 CAS
    when the caller has summed it already (the parser does, for the S rule)."""
    if claim.charge is None or claim.paid is None:
        return []
    if line_cas_total is None:
        line_cas_total = sum((line.adjustment_total for line in claim.lines), ZERO)
    cas = sum((c.total for c in claim.cas), ZERO) + line_cas_total
    computed = claim.charge - cas
    if computed == claim.paid:
        return []
    return [_finding(
        "ERA102", "C",
        f"claim does not balance: CLP04 stated {m(claim.paid)}, computed {m(computed)} "
        f"(CLP03 {m(claim.charge)} − CAS {m(cas)})",
        Location(path, claim.segment or None, claim.line or None, "CLP", "2100", "CLP04", claim.claim_id),
        claim.paid, computed)]


def cas_amounts_nonzero(cas_segments: Iterable[Cas], *, loop: str, claim_id: str,
                        path: str | None = None, line: ServiceLine | None = None) -> list[Finding]:
    """CAS03 (and 06, 09 ...) ≠ 0: an adjustment of zero carries no money (cob-spec §2.2; RFI 2353)."""
    found: list[Finding] = []
    for cas in cas_segments:
        for adj in cas.adjustments:
            if adj.amount == 0:
                element = f"CAS{3 * adj.triplet:02d}"
                prefix = f"{line.label()}: " if line is not None else ""
                found.append(_finding(
                    "ERA104", "CAS03",
                    f"{prefix}CAS {adj.group}-{adj.reason} amount is 0 ({element})",
                    Location(path, cas.segment or None, cas.line or None, "CAS", loop, element, claim_id),
                    adj.amount, None))
    return found


def patient_responsibility(claim: ClaimPayment, *, path: str | None = None) -> list[Finding]:
    """CLP05 = ΣPR CAS over 2100 and 2110 (cob-spec §2.2; RFI 2548, 680). Not part of the
    payment balancing, so a warning; reversals (CLP02 22) are excepted. An absent CLP05 counts as 0."""
    if claim.status == REVERSAL:
        return []
    # ΣPR over claim.all_adjustments (claim-level, then each line's), without building those lists
    computed = ZERO
    for cas_segments in (claim.cas, *(line.cas for line in claim.lines)):
        for cas in cas_segments:
            for adjustment in cas.adjustments:
                if adjustment.group == "PR":
                    computed += adjustment.amount
    stated = claim.patient_responsibility if claim.patient_responsibility is not None else ZERO
    if stated == computed:
        return []
    return [_finding(
        "ERA105", "CLP05",
        f"patient responsibility: CLP05 stated {m(claim.patient_responsibility)}, computed {m(computed)} (ΣPR CAS)",
        Location(path, claim.segment or None, claim.line or None, "CLP", "2100", "CLP05", claim.claim_id),
        claim.patient_responsibility, computed)]


def transaction_balance(payment: Payment, totals: RemittanceTotals, *, path: str | None = None) -> list[Finding]:
    """T: BPR02 = ΣCLP04 − ΣPLB, with BPR02 negated when BPR03 = D (cob-spec §2.2; X221A1
    §1.10.2.1 transaction balancing; positive PLB amounts reduce the payment, RFI 2287)."""
    stated = payment.signed_amount
    if stated is None:
        return []
    computed = totals.computed_payment
    if stated == computed:
        return []
    sign = " (BPR03 D: debit)" if payment.credit_debit == "D" else ""
    return [_finding(
        "ERA103", "T",
        f"payment does not balance: BPR02 stated {m(stated)}{sign}, computed {m(computed)} "
        f"(ΣCLP04 {m(totals.paid_total)} − ΣPLB {m(totals.plb_total)})",
        Location(path, payment.segment or None, payment.line or None, "BPR", None, "BPR02"),
        stated, computed)]


def check_line(line: ServiceLine, *, claim_id: str, path: str | None = None,
               cas_total: Decimal | None = None) -> list[Finding]:
    """Every line-level rule: S and non-zero CAS (`cas_total`: see line_balance)."""
    return line_balance(line, claim_id=claim_id, path=path, cas_total=cas_total) + cas_amounts_nonzero(
        line.cas, loop="2110", claim_id=claim_id, path=path, line=line)


def check_claim_level(claim: ClaimPayment, *, path: str | None = None,
                      line_cas_total: Decimal | None = None) -> list[Finding]:
    """Every claim-level rule: non-zero 2100 CAS, C and CLP05 (`line_cas_total`: see claim_balance)."""
    return (cas_amounts_nonzero(claim.cas, loop="2100", claim_id=claim.claim_id, path=path)
            + claim_balance(claim, path=path, line_cas_total=line_cas_total)
            + patient_responsibility(claim, path=path))


def check_claim(claim: ClaimPayment, *, path: str | None = None) -> list[Finding]:
    """Every rule of one claim and its lines (what the parser already attached to `claim.findings`)."""
    found: list[Finding] = []
    for line in claim.lines:
        found += check_line(line, claim_id=claim.claim_id, path=path)
    return found + check_claim_level(claim, path=path)


def pr_total(adjustments: Iterable[Adjustment]) -> Decimal:
    return sum((a.amount for a in adjustments if a.group == "PR"), ZERO)
