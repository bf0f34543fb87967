"""The parts of a built 2300 loop the balancing gate reads (cobpipe.cob.gate), found by one scan of
its segments, and amounts and dates read from their elements."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from edi.segment import Segment
from edi.values import parse_amount, parse_date8

from ..claim837.loops import Loop

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
    def scan(cls, claim_segments: Iterable[Segment] | Loop, subscriber_sbr: Segment | None = None) -> "ClaimView":
        """The view of a 2300 loop's segments in document order; given the Loop itself, a LoopView
        that reads them when first asked (check_claim may not need to: cob/gate_loops.py)."""
        if isinstance(claim_segments, Loop):
            view = _NEW_VIEW(LoopView)
            view.loop = claim_segments
            view.subscriber_sbr = subscriber_sbr
            return view
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


class LoopView(ClaimView):
    """ClaimView.scan of a 2300 Loop: the loop kept, its parts read by the segment scan above when
    first asked for. check_claim tries the quick proof over the loop first (cob/gate_loops.py):
    for the usual built claim the parts are never read."""

    __slots__ = ("loop",)

    def __getattr__(self, name: str):
        # called only for an attribute not set: the view's parts, until the scan fills them in
        if name in _PARTS:
            view = ClaimView.scan(self.loop.iter_segments(), self.subscriber_sbr)
            self.clm, self.other_payers, self.lines = view.clm, view.other_payers, view.lines
            return getattr(self, name)
        raise AttributeError(name)


_PARTS = frozenset({"clm", "other_payers", "lines"})
_NEW_VIEW = object.__new__


def money(seg: Segment, position: int) -> Decimal:
    """An amount element; empty or unreadable reads as 0 (the IG check reports bad numbers)."""
    elements = seg.elements
    text = elements[position - 1] if 0 < position <= len(elements) else ""
    value = _MONEY.get(text)
    if value is None:
        value = _MONEY_BEFORE.get(text)
        if value is None:
            value = parse_amount(text)
            if value is None:
                value = ZERO
        if len(_MONEY) >= MONEY_LIMIT:  # a new generation: the last one kept for a look-up more
            _MONEY_BEFORE.clear()
            _MONEY_BEFORE.update(_MONEY)
            _MONEY.clear()
        _MONEY[text] = value
    return value


# element text -> its amount: claims repeat amounts, and a Decimal is immutable (the same text
# always reads as the same value, exponent included, so messages print it alike). Two generations
# of MONEY_LIMIT texts each: at 10k claims some 15k distinct amounts are read 130k times, and one
# table of 4,096 cleared when full read a third of them afresh; amounts still in use when a
# generation ends are found in the one before and move on. Both tables are changed in place: the
# gate's fast paths bind `_MONEY.get` (the current generation; money() looks further).
MONEY_LIMIT = 16384
_MONEY: dict[str, Decimal] = {}
_MONEY_BEFORE: dict[str, Decimal] = {}


def cas_total(segments: Iterable[Segment]) -> Decimal:
    total = ZERO
    for seg in segments:
        for pos in range(3, min(len(seg.elements), 18) + 1, 3):  # the amounts present (absent reads as 0)
            total += money(seg, pos)
    return total


def cas_sum(segments: list[Segment]) -> Decimal | None:
    """cas_total of the segments, or None when rule_cas_structure would find something."""
    if len(segments) > 5:
        return None
    total = ZERO
    amount_of = _MONEY.get
    for seg in segments:
        elements = seg.elements
        size = len(elements)
        if size == 3:  # one triplet, no quantity: nearly every CAS the mapper writes
            value = amount_of(elements[2])
            if value is None:
                value = money(seg, 3)
            if not value and elements[1]:
                return None
            total += value
            continue
        if size > 19:
            return None
        for pos in range(3, min(size + 1, 18) + 1, 3):
            if pos <= size:
                value = amount_of(elements[pos - 1])
                if value is None:
                    value = money(seg, pos)
                if not value and elements[pos - 2]:
                    return None
                total += value  # cas_total adds the amounts present only (x + 0 may round x)
            elif elements[pos - 2]:  # a reason with no amount: its amount reads as 0
                return None
    return total


def date_of(text: str) -> dt.date | None:
    """parse_date8 of a DTP03, remembered: a run has few adjudication dates."""
    when = _DATES.get(text, _UNREAD)
    if when is _UNREAD:
        if len(_DATES) >= 4096:
            _DATES.clear()
        when = _DATES[text] = parse_date8(text)
    return when  # type: ignore[return-value]


_UNREAD = object()
_DATES: dict[str, object] = {}  # DTP03 text -> its date or None
