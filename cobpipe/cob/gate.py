"""The balancing gate: checks a built secondary 837P claim before it may be written.

Pure checks over the claim's segments (the mapper computes, this module only checks): every rule
is a small function named after cob-spec.md §2.1/§7, returning Findings that state both values.
A claim with any error finding is rejected and never written.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from edi.findings import Finding, Location, Severity
from edi.segment import Segment
from edi.values import parse_date8

from .gate_loops import PAYER_ORDER, balanced_since, levels_clear
# the claim as the gate reads it, and amounts read from it (gate_view): re-exported, callers import them here
from .gate_view import (_DATES, _MONEY, _UNREAD, ZERO, ClaimView, LoopView, Loop2320, Loop2400, Loop2430, cas_sum,
                        cas_total, date_of, money)

__all__ = ["ZERO", "ClaimView", "GateCounts", "Loop2320", "Loop2400", "Loop2430", "balances", "cas_total",
           "check_claim", "check_claim_rules", "money"]


@dataclass(slots=True)
class GateCounts:
    """How many claims each path decided: a test holds convert to the fast path, since a fast path
    that silently stopped answering would cost only time, never a wrong finding."""

    fast: int = 0
    rules: int = 0
    loops: int = 0  # of the fast ones, proven over the built claim's loops (gate_loops)


COUNTS = GateCounts()


def check_claim(view: ClaimView, *, today: dt.date, path: str | None = None) -> list[Finding]:
    """Every gate rule over one claim; the claim may be written only if no finding is an error.

    Nearly every built claim balances: one pass (`balances`, or for a LoopView of the usual claim
    `gate_loops.balanced_since` over its loops) proves that no rule can find anything and the rules
    are not run. Any doubt goes to the rules, so findings are always theirs."""
    if view.__class__ is LoopView:
        latest = balanced_since(view.loop, view.subscriber_sbr)
        if latest is not None and not latest > today:
            COUNTS.fast += 1
            COUNTS.loops += 1
            return []
    if balances(view, today):
        COUNTS.fast += 1
        return []
    COUNTS.rules += 1
    return check_claim_rules(view, today=today, path=path)


def check_claim_rules(view: ClaimView, *, today: dt.date, path: str | None = None) -> list[Finding]:
    """The rules one by one, each finding with both values: the reference `balances` is tested against."""
    claim_id = view.clm.get(1)
    checker = _Checker(claim_id, path)
    checker.rule_c0(view)
    checker.rule_payer_order(view)
    for payer in view.other_payers:
        checker.rule_cas_structure(payer.cas, "2320")
        if payer.amounts.get("A8"):
            continue  # cost avoidance: that payer never adjudicated, nothing to balance [RFI 1353]
        if _comes_after_destination(payer, view.subscriber_sbr):
            continue  # a later payer (the tertiary on a secondary claim) has not adjudicated yet
        if not payer.amounts.get("D"):
            checker.error("COB012", "2320 has no AMT*D paid amount although the payer adjudicated the claim",
                          payer.sbr, "2320")
            continue
        checker.rule_l1_c1(view, payer)
        checker.rule_svd01(view, payer)
        checker.rule_dtp573(view, payer, today)
        checker.rule_eaf_one_level(view, payer)
    checker.rule_svd_payers_known(view)
    return checker.findings



def _comes_after_destination(payer: Loop2320, subscriber_sbr: Segment | None) -> bool:
    """Whether this 2320's payer is billed after the 2000B destination payer, so it has nothing to
    report yet (a primary claim may list both the secondary and the tertiary in 2320)."""
    if subscriber_sbr is None or payer.amounts.get("D") or payer.cas:
        return False
    destination, level = subscriber_sbr.get(1), payer.sbr.get(1)
    if destination not in PAYER_ORDER or level not in PAYER_ORDER:
        return False
    return PAYER_ORDER.index(level) > PAYER_ORDER.index(destination)


# --- the fast path: does everything balance? -----------------------------------------------------
# The same conditions as the rules, read in one pass over the claim's lines per payer, answering
# only yes or no. Sums are taken in the rules' order from the same element texts (Decimal sums
# are exact up to 28 digits; past that the order decides the rounding), so a sum that balances
# here balances there. A claim that does not balance, or anything unexpected, goes to the rules.

def balances(view: ClaimView, today: dt.date) -> bool:
    """True only when check_claim_rules would find nothing."""
    try:
        return _balances(view, today)
    except ArithmeticError:  # an amount past Decimal's range: the rules say what they say today
        return False


# An amount element is read inline as `_MONEY.get(text)`, falling back on money() for a text not
# read yet: the same Decimal money() gives, without a call per amount (most of the gate's time).

def _balances(view: ClaimView, today: dt.date) -> bool:
    lines = view.lines
    payers = view.other_payers
    known = {p.payer_id for p in payers}
    if lines:  # C0, and every SVD01 names a payer of the claim
        total = ZERO
        for line in lines:
            sv1 = line.sv1
            if sv1 is not None:
                elements = sv1.elements
                value = _MONEY.get(elements[1]) if len(elements) > 1 else None
                total += money(sv1, 2) if value is None else value
            for adjudication in line.adjudications:
                if adjudication.svd.get(1) not in known:
                    return False
        if money(view.clm, 2) != total:
            return False
    if not _order_clear(view):
        return False
    sbr = view.subscriber_sbr
    for payer in payers:
        claim_adjustments = cas_sum(payer.cas) if payer.cas else ZERO
        if claim_adjustments is None:
            return False
        amounts = payer.amounts
        if amounts.get("A8") or _comes_after_destination(payer, sbr):
            continue
        paid_rows = amounts.get("D")
        if not paid_rows or payer.payer_nm1 is None:
            return False
        if not _payer_clear(view, payer, claim_adjustments, money(paid_rows[0], 2), today):
            return False
    return True


def _payer_clear(view: ClaimView, payer: Loop2320, claim_adjustments: Decimal, claim_paid: Decimal,
                 today: dt.date) -> bool:
    """L1, C1, 2430 CAS, SVD02, DTP*573 and AMT*EAF for one payer that adjudicated the claim."""
    payer_id = payer.payer_id
    line_adjustments = ZERO
    reported = missing = line_eaf = False
    amount_of = _MONEY.get
    date_known = _DATES.get
    for line in view.lines:
        paid = adjusted = ZERO
        found = False
        for adjudication in line.adjudications:
            svd = adjudication.svd
            elements = svd.elements
            if (elements[0] if elements else "") != payer_id:
                continue
            found = True
            segments = adjudication.cas
            if not segments:
                cas = ZERO  # cas_total of nothing
            elif len(segments) == 1 and len(segments[0].elements) == 3:
                # cas_sum of the one one-triplet CAS nearly every 2430 has, inline
                cas_elements = segments[0].elements
                value = amount_of(cas_elements[2])
                if value is None:
                    value = money(segments[0], 3)
                if not value and cas_elements[1]:
                    return False
                cas = ZERO + value
            else:
                cas = cas_sum(segments)
                if cas is None:
                    return False
            dated = adjudication.dtp573
            if not dated:
                return False
            if len(dated) == 1:  # _date_clear of the one DTP*573 a 2430 has, inline when its date was read
                date_elements = dated[0].elements
                when = date_known(date_elements[2] if len(date_elements) > 2 else "", _UNREAD)
                if when is None or (when is not _UNREAD and when > today):
                    return False
                if when is _UNREAD and not _date_clear(dated[0], today):
                    return False
                dated = ()
            svd_paid = amount_of(elements[1]) if len(elements) > 1 else None
            if svd_paid is None:
                svd_paid = money(svd, 2)
            if svd_paid < 0:
                return False
            paid += svd_paid
            adjusted += cas
            for seg in dated:
                if not _date_clear(seg, today):
                    return False
            if adjudication.eaf:
                line_eaf = True
        if not found:
            missing = True
            continue
        reported = True
        line_adjustments += adjusted
        sv1 = line.sv1
        if sv1 is None:
            charge = ZERO
        else:
            elements = sv1.elements
            charge = amount_of(elements[1]) if len(elements) > 1 else None
            if charge is None:
                charge = money(sv1, 2)
        if charge != paid + adjusted:
            return False
    if missing and reported:
        return False
    if not reported and not payer.dtp573:
        return False
    for seg in payer.dtp573:
        if not _date_clear(seg, today):
            return False
    if line_eaf and payer.amounts.get("EAF"):
        return False
    return money(view.clm, 2) == claim_paid + claim_adjustments + line_adjustments


def _date_clear(seg: Segment, today: dt.date) -> bool:
    when = date_of(seg.get(3))
    return when is not None and not when > today


def _order_clear(view: ClaimView) -> bool:
    """rule_payer_order would find nothing."""
    return levels_clear([payer.sbr for payer in view.other_payers], view.subscriber_sbr)


class _Checker:
    def __init__(self, claim_id: str, path: str | None) -> None:
        self.claim_id = claim_id
        self.path = path
        self.findings: list[Finding] = []

    def error(self, code: str, message: str, seg: Segment, loop: str, element: str | None = None,
              severity: Severity = Severity.ERROR) -> None:
        self.findings.append(Finding(code, message, Location(
            self.path, seg.index or None, seg.line or None, seg.tag, loop, element, self.claim_id), severity))

    def rule_c0(self, view: ClaimView) -> None:
        """C0: CLM02 = ΣSV102 [RFI 1294]."""
        if not view.lines:
            return
        charge = money(view.clm, 2)
        lines = sum((money(line.sv1, 2) for line in view.lines if line.sv1), ZERO)
        if charge != lines:
            self.error("COB001", f"claim charge CLM02 does not equal the line charges: stated {charge}, "
                       f"computed ΣSV102 {lines}", view.clm, "2300", "CLM02")

    def rule_l1_c1(self, view: ClaimView, payer: Loop2320) -> None:
        """L1: SV102 = ΣSVD02 + Σ2430 CAS per line; C1: CLM02 = AMT*D + Σ2320 CAS + Σ2430 CAS
        [RFI 1115, 1294, 1551]; both per prior payer."""
        payer_id = payer.payer_id
        line_adjustments = ZERO
        has_lines = any(a.svd.get(1) == payer_id for line in view.lines for a in line.adjudications)
        for line in view.lines:
            mine = [a for a in line.adjudications if a.svd.get(1) == payer_id]
            for adjudication in mine:
                self.rule_cas_structure(adjudication.cas, "2430")
                paid = money(adjudication.svd, 2)
                if paid < 0:
                    self.error("COB005", f"SVD02 paid amount is negative ({paid})", adjudication.svd, "2430", "SVD02")
            if not mine:
                if has_lines:
                    self.error("COB004", f"line {line.lx.get(1)} has no 2430 adjudication from payer "
                               f"{payer_id} while its other lines do", line.lx, "2400")
                continue
            paid = sum((money(a.svd, 2) for a in mine), ZERO)
            adjusted = sum((cas_total(a.cas) for a in mine), ZERO)
            line_adjustments += adjusted
            charge = money(line.sv1, 2) if line.sv1 else ZERO
            if charge != paid + adjusted:
                self.error("COB002", f"line {line.lx.get(1)} does not balance for payer {payer_id}: stated SV102 "
                           f"{charge}, computed ΣSVD02 + ΣCAS = {paid} + {adjusted} = {paid + adjusted}",
                           line.sv1 or line.lx, "2400", "SV102")
        charge = money(view.clm, 2)
        paid = money(payer.amounts["D"][0], 2)
        claim_adjustments = cas_total(payer.cas)
        computed = paid + claim_adjustments + line_adjustments
        if charge != computed:
            self.error("COB003", f"claim does not balance for payer {payer_id}: stated CLM02 {charge}, computed "
                       f"AMT*D + Σ2320 CAS + Σ2430 CAS = {paid} + {claim_adjustments} + {line_adjustments} = "
                       f"{computed}", view.clm, "2300", "CLM02")

    def rule_cas_structure(self, segments: list[Segment], loop: str) -> None:
        """CAS: ≤5 segments a loop, ≤6 triplets a segment, amounts never 0 [RFI 1865, 2353]."""
        if len(segments) > 5:
            self.error("COB006", f"{len(segments)} CAS segments in one {loop} loop (at most 5)", segments[5], loop)
        for seg in segments:
            if len(seg.elements) > 19:
                self.error("COB006", "more than 6 adjustment triplets in one CAS segment", seg, loop)
            for pos in range(3, min(len(seg.elements) + 1, 18) + 1, 3):  # a reason with or without its amount
                if seg.get(pos - 1) and money(seg, pos) == 0:
                    self.error("COB007", f"CAS{pos:02d} adjustment amount is zero", seg, loop, f"CAS{pos:02d}")

    def rule_svd01(self, view: ClaimView, payer: Loop2320) -> None:
        """SVD01 = 2330B NM109 of the payer that adjudicated the line (TR3 SVD01 note)."""
        if not payer.payer_nm1:
            self.error("COB008", "2320 has no 2330B NM1*PR payer loop", payer.sbr, "2320")

    def rule_svd_payers_known(self, view: ClaimView) -> None:
        known = {p.payer_id for p in view.other_payers}
        for line in view.lines:
            for adjudication in line.adjudications:
                if adjudication.svd.get(1) not in known:
                    self.error("COB008", "SVD01 names no 2330B payer of this claim (SVD01 must equal 2330B NM109)",
                               adjudication.svd, "2430", "SVD01")

    def rule_dtp573(self, view: ClaimView, payer: Loop2320, today: dt.date) -> None:
        """DTP*573 in every 2430, or in 2330B when the payer reported no lines; valid, not in the future."""
        adjudications = [a for line in view.lines for a in line.adjudications if a.svd.get(1) == payer.payer_id]
        dated: list[Segment] = list(payer.dtp573)
        for adjudication in adjudications:
            if not adjudication.dtp573:
                self.error("COB009", "2430 has no DTP*573 adjudication date", adjudication.svd, "2430")
            dated += adjudication.dtp573
        if not adjudications and not payer.dtp573:
            self.error("COB009", f"no adjudication date for payer {payer.payer_id}: 2330B DTP*573 is required "
                       "when no 2430 reports the lines", payer.payer_nm1 or payer.sbr, "2330B")
        for seg in dated:
            when = parse_date8(seg.get(3))
            if when is None:
                self.error("COB010", "DTP*573 adjudication date is not a valid CCYYMMDD date", seg, "2430", "DTP03")
                continue
            if when > today:
                self.error("COB010", f"DTP*573 adjudication date {when.isoformat()} is in the future", seg, "2430",
                           "DTP03")

    def rule_eaf_one_level(self, view: ClaimView, payer: Loop2320) -> None:
        """AMT*EAF at claim level or line level, never both [RFI 1391, 1517]."""
        claim_level = payer.amounts.get("EAF", [])
        line_level = [eaf for line in view.lines for a in line.adjudications if a.svd.get(1) == payer.payer_id
                      for eaf in a.eaf]
        if claim_level and line_level:
            self.error("COB011", f"AMT*EAF for payer {payer.payer_id} at both claim and line level",
                       claim_level[0], "2320", "AMT01")

    def rule_payer_order(self, view: ClaimView) -> None:
        """2000B SBR01 S/T needs the payers before it in 2320 [RFI 1980]; SBR05 only for non-primary
        Medicare; 2000B and a 2320 must not both say SBR09 = MB."""
        levels = {p.sbr.get(1) for p in view.other_payers}
        sbr = view.subscriber_sbr
        order = PAYER_ORDER
        if sbr is not None:
            level = sbr.get(1)
            if level in order:
                needed = set(order[:order.index(level)])
                if not needed <= levels:
                    missing = ", ".join(sorted(needed - levels, key=order.index))
                    self.error("COB013", f"2000B SBR01 is {level} but no 2320 holds payer level {missing}", sbr,
                               "2000B", "SBR01")
            if sbr.get(5) and sbr.get(9) not in ("MA", "MB"):
                self.error("COB014", "2000B SBR05 is used only when the destination payer is Medicare "
                           "(SBR09 MA/MB) and not primary", sbr, "2000B", "SBR05")
            elif not sbr.get(5) and sbr.get(9) in ("MA", "MB") and level != "P":
                # the guide's 2000B SBR05 situation: required when 2010BB is Medicare and it is not primary
                self.error("COB014", f"2000B SBR05 (the Medicare secondary payer type: 12-16, 41-43, 47) is "
                           f"required when the destination payer is Medicare (SBR09 {sbr.get(9)}) and not "
                           "primary", sbr, "2000B", "SBR05")
            if sbr.get(9) == "MB" and any(p.sbr.get(9) == "MB" for p in view.other_payers):
                self.error("COB014", "2000B and a 2320 both give SBR09 = MB", sbr, "2000B", "SBR09")
        for payer in view.other_payers:
            if payer.sbr.get(1) == "P" and payer.sbr.get(5):
                self.error("COB014", "2320 SBR05 must be empty for the primary payer", payer.sbr, "2320", "SBR05")
            if not payer.sbr.get(2):
                self.error("COB015", "2320 SBR02 relationship code is required", payer.sbr, "2320", "SBR02")
