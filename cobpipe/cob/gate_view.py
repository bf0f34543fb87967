"""The parts of a built 2300 loop the balancing gate reads (cobpipe.cob.gate), found by one scan of
its segments, and amounts read from their elements."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from edi.segment import Segment
from edi.values import parse_amount

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
        # once per built claim, for every segment: the loops made with their lists given (no
        # default factory run per field), element 01 read from the elements (no get() call)
        clm: Segment | None = None
        payers: list[Loop2320] = []
        lines: list[Loop2400] = []
        payer: Loop2320 | None = None
        in_2330b = False
        line: Loop2400 | None = None
        adjudication: Loop2430 | None = None
        for seg in claim_segments:
            tag = seg.tag
            if line is not None:  # 2400 onwards: the claim's last part, most of its segments
                if tag == "SV1":
                    line.sv1 = seg
                elif tag == "SVD":
                    adjudication = Loop2430(seg, [], [], [])
                    line.adjudications.append(adjudication)
                elif tag == "LX":
                    line, adjudication = Loop2400(seg, None, []), None
                    lines.append(line)
                elif tag == "CLM":
                    clm = seg
                elif adjudication is not None:
                    if tag == "CAS":
                        adjudication.cas.append(seg)
                    elif tag == "DTP":
                        if (seg.elements[0] if seg.elements else "") == "573":
                            adjudication.dtp573.append(seg)
                    elif tag == "AMT":
                        if (seg.elements[0] if seg.elements else "") == "EAF":
                            adjudication.eaf.append(seg)
                    elif tag == "LQ" or tag == "FRM":
                        adjudication = None
            elif tag == "CLM":
                clm = seg
            elif tag == "LX":
                line, adjudication, payer = Loop2400(seg, None, []), None, None
                lines.append(line)
            elif tag == "SBR":
                payer, in_2330b = Loop2320(seg, [], {}, None, []), False
                payers.append(payer)
            elif payer is not None:
                if tag == "NM1":
                    in_2330b = (seg.elements[0] if seg.elements else "") == "PR"
                    if in_2330b:
                        payer.payer_nm1 = seg
                elif tag == "DTP":
                    if in_2330b and (seg.elements[0] if seg.elements else "") == "573":
                        payer.dtp573.append(seg)
                elif tag == "CAS":
                    if payer.payer_nm1 is None:
                        payer.cas.append(seg)
                elif tag == "AMT":
                    if payer.payer_nm1 is None:
                        payer.amounts.setdefault((seg.elements[0] if seg.elements else ""), []).append(seg)
        if clm is None:
            raise ValueError("claim segments contain no CLM")
        return cls(clm, subscriber_sbr, payers, lines)


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
