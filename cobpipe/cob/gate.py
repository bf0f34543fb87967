"""The balancing gate: checks a built secondary 837P claim before it may be written.

Pure checks over the claim's segments (the mapper computes, this module only checks): every rule
is a small function named after cob-spec.md §2.1/§7, returning Findings that state both values.
A claim with any error finding is rejected and never written.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from edi.findings import Finding, Location, Severity
from edi.segment import Segment
from edi.values import parse_amount, parse_date8

ZERO = Decimal(0)


@dataclass(slots=True)
class Loop2430:
    svd: Segment
    cas: list[Segment] = field(default_factory=list)
    dtp573: list[Segment] = field(default_factory=list)
    eaf: list[Segment] = field(default_factory=list)


@dataclass(slots=True)
class Loop2400:
    lx: Segment
    sv1: Segment | None = None
    adjudications: list[Loop2430] = field(default_factory=list)


@dataclass(slots=True)
class Loop2320:
    sbr: Segment
    cas: list[Segment] = field(default_factory=list)
    amounts: dict[str, list[Segment]] = field(default_factory=dict)
    payer_nm1: Segment | None = None  # 2330B NM1*PR
    dtp573: list[Segment] = field(default_factory=list)  # 2330B DTP*573

    @property
    def payer_id(self) -> str:
        return self.payer_nm1.get(9) if self.payer_nm1 else ""


@dataclass(slots=True)
class ClaimView:
    """The parts of a 2300 loop the gate reads, found by a single scan of its segments."""

    clm: Segment
    subscriber_sbr: Segment | None
    other_payers: list[Loop2320]
    lines: list[Loop2400]

    @classmethod
    def scan(cls, claim_segments: Iterable[Segment], subscriber_sbr: Segment | None = None) -> "ClaimView":
        clm: Segment | None = None
        payers: list[Loop2320] = []
        lines: list[Loop2400] = []
        payer: Loop2320 | None = None
        in_2330b = False
        line: Loop2400 | None = None
        adjudication: Loop2430 | None = None
        for seg in claim_segments:
            tag = seg.tag
            if tag == "CLM":
                clm = seg
            elif tag == "LX":
                line, adjudication, payer = Loop2400(seg), None, None
                lines.append(line)
            elif line is not None:
                if tag == "SV1":
                    line.sv1 = seg
                elif tag == "SVD":
                    adjudication = Loop2430(seg)
                    line.adjudications.append(adjudication)
                elif adjudication is not None:
                    if tag == "CAS":
                        adjudication.cas.append(seg)
                    elif tag == "DTP" and seg.get(1) == "573":
                        adjudication.dtp573.append(seg)
                    elif tag == "AMT" and seg.get(1) == "EAF":
                        adjudication.eaf.append(seg)
                    elif tag in ("LQ", "FRM"):
                        adjudication = None
            elif tag == "SBR":
                payer, in_2330b = Loop2320(seg), False
                payers.append(payer)
            elif payer is not None:
                if tag == "NM1":
                    in_2330b = seg.get(1) == "PR"
                    if in_2330b:
                        payer.payer_nm1 = seg
                elif in_2330b and tag == "DTP" and seg.get(1) == "573":
                    payer.dtp573.append(seg)
                elif tag == "CAS" and payer.payer_nm1 is None:
                    payer.cas.append(seg)
                elif tag == "AMT" and payer.payer_nm1 is None:
                    payer.amounts.setdefault(seg.get(1), []).append(seg)
        if clm is None:
            raise ValueError("claim segments contain no CLM")
        return cls(clm, subscriber_sbr, payers, lines)


def check_claim(view: ClaimView, *, today: dt.date, path: str | None = None) -> list[Finding]:
    """Every gate rule over one claim; the claim may be written only if no finding is an error."""
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


PAYER_ORDER = "PSTABCDEFGH"  # SBR01 payer responsibility sequence


def _comes_after_destination(payer: Loop2320, subscriber_sbr: Segment | None) -> bool:
    """Whether this 2320's payer is billed after the 2000B destination payer, so it has nothing to
    report yet (a primary claim may list both the secondary and the tertiary in 2320)."""
    if subscriber_sbr is None or payer.amounts.get("D") or payer.cas:
        return False
    destination, level = subscriber_sbr.get(1), payer.sbr.get(1)
    if destination not in PAYER_ORDER or level not in PAYER_ORDER:
        return False
    return PAYER_ORDER.index(level) > PAYER_ORDER.index(destination)


def money(seg: Segment, position: int) -> Decimal:
    """An amount element; empty or unreadable reads as 0 (the IG check reports bad numbers)."""
    elements = seg.elements
    text = elements[position - 1] if 0 < position <= len(elements) else ""
    value = _MONEY.get(text)
    if value is None:
        value = parse_amount(text)
        if value is None:
            value = ZERO
        if len(_MONEY) >= 4096:
            _MONEY.clear()
        _MONEY[text] = value
    return value


# element text -> its amount: claims repeat few amounts, and a Decimal is immutable (the same text
# always reads as the same value, exponent included, so messages print it alike)
_MONEY: dict[str, Decimal] = {}


def cas_total(segments: Iterable[Segment]) -> Decimal:
    total = ZERO
    for seg in segments:
        for pos in range(3, min(len(seg.elements), 18) + 1, 3):  # the amounts present (absent reads as 0)
            total += money(seg, pos)
    return total


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
            if sbr.get(9) == "MB" and any(p.sbr.get(9) == "MB" for p in view.other_payers):
                self.error("COB014", "2000B and a 2320 both give SBR09 = MB", sbr, "2000B", "SBR09")
        for payer in view.other_payers:
            if payer.sbr.get(1) == "P" and payer.sbr.get(5):
                self.error("COB014", "2320 SBR05 must be empty for the primary payer", payer.sbr, "2320", "SBR05")
            if not payer.sbr.get(2):
                self.error("COB015", "2320 SBR02 relationship code is required", payer.sbr, "2320", "SBR02")
