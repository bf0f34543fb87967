"""The gate's quick proof over a built claim's loops: the usual secondary claim (one other payer that
adjudicated it, every line reported by that payer) checked in one walk of its 2300 loop, without a
ClaimView and without flattening the loop into a segment list.

`balanced_since(claim, subscriber_sbr)` answers the latest adjudication date of a claim on which
`check_claim_rules` finds nothing on that day or any later one, or None when it proves nothing.
The walk reads the loop's segments in document order exactly as `ClaimView.scan` reads them
(`Loop.iter_segments` is that order), tracking the scan's state; any segment that would take the
scan somewhere this walk does not follow (a second payer, a CLM or SBR out of place, an
adjustment before the payer's NM1*PR, a loop deeper than 2400 > 2430) ends the proof with None,
and the claim goes the reference way (ClaimView.scan, then `balances` or the rules). The sums are
`balances`' own, taken in its order from the same texts (see gate.py), so a sum that balances here
balances there; tests/cobpipe/cob/test_gate_loops.py holds the two together.
"""
from __future__ import annotations

import datetime as dt
from edi.segment import Segment

from ..claim837.loops import Loop
from .gate_view import _DATES, _MONEY, _UNREAD, ZERO, cas_sum, date_of, money

PAYER_ORDER = "PSTABCDEFGH"  # SBR01 payer responsibility sequence
# segments that move ClaimView.scan's state (a new claim segment, payer or line), and, inside a
# line, those it files under the line or its adjudication: where the walk does not expect one, it
# stops
_MOVES_THE_SCAN = frozenset({"CLM", "LX", "SBR"})
_LINE_PARTS = frozenset({"CLM", "LX", "SV1", "SVD"})
_ADJUDICATION_PARTS = frozenset({"CAS", "DTP", "AMT"})
_ENDS_ADJUDICATION = frozenset({"LQ", "FRM"})
_IN_ADJUDICATION_STOPS = _LINE_PARTS | _ENDS_ADJUDICATION  # in a 2430 after the SVD that starts it
_NO_DATE = dt.date.min
# A segment is told from a loop by `type(x) is Segment` where segments and loops of several
# classes meet (a 2300's, a 2400's and a 2320's items): CPython 3.11 does not specialise the
# `x.__class__` look-up at a place that sees several classes (~200 instructions; type() ~140). Where
# only segments come (a 2430's, a 2330x's), `x.__class__` is specialised and the cheaper (~90).
# in a 2330x, what the scan reads (the rest it files nowhere the proof looks)
_READ_IN_2330 = _MOVES_THE_SCAN | {"NM1", "DTP", "CAS", "AMT"}
# SBR01 -> the levels a 2320 must hold before it (rule_payer_order's PAYER_ORDER[:index]), for one letter
_BEFORE = {level: frozenset(PAYER_ORDER[:index]) for index, level in enumerate(PAYER_ORDER)}


def element(seg: Segment, position: int) -> str:
    """Segment.get without the method call."""
    elements = seg.elements
    return elements[position - 1] if position <= len(elements) else ""


def levels_clear(payer_sbrs, subscriber_sbr: Segment | None) -> bool:
    """rule_payer_order would find nothing for 2320s with these SBRs under this 2000B SBR (elements
    read by position, as Segment.get reads them: once a claim, method calls cost more than the rule)."""
    levels = set()
    for sbr in payer_sbrs:
        elements = sbr.elements
        size = len(elements)
        level = elements[0] if size else ""
        if size < 2 or not elements[1] or (level == "P" and size > 4 and elements[4]):
            return False
        levels.add(level)
    if subscriber_sbr is None:
        return True
    elements = subscriber_sbr.elements
    size = len(elements)
    level = elements[0] if size else ""
    before = _BEFORE.get(level)
    if before is None and level in PAYER_ORDER:  # "" or several letters: a substring all the same
        before = set(PAYER_ORDER[:PAYER_ORDER.index(level)])
    if before and not before <= levels:
        return False
    filing = elements[8] if size > 8 else ""
    if size > 4 and elements[4]:
        if filing not in ("MA", "MB"):
            return False
    elif (filing == "MA" or filing == "MB") and level != "P":  # Medicare not primary needs its SBR05
        return False
    return not (filing == "MB" and any(element(sbr, 9) == "MB" for sbr in payer_sbrs))


def balanced_since(claim: Loop, subscriber_sbr: Segment | None) -> dt.date | None:
    """The latest adjudication date (date.min: none read) of a claim the rules pass on any day from
    it on; None: not proven here."""
    try:
        return _balanced_since(claim, subscriber_sbr)
    except ArithmeticError:  # an amount past Decimal's range: the rules say what they say
        return None


def _balanced_since(claim: Loop, subscriber_sbr: Segment | None) -> dt.date | None:
    # one function, its sums in locals: `balances` (gate.py) over the scan's view, read as the scan
    # reads the segments; the parts of a line are named as in `_payer_clear`
    items = claim.items
    if not items:
        return None
    clm = items[0]
    if clm.__class__ is not Segment or clm.tag != "CLM":
        return None
    amount_of, date_known = _MONEY.get, _DATES.get
    payer_sbr = None  # the one 2320's SBR, once read, and the rest `_one_payer` reads
    payer_id = ""
    lines = 0
    charges = line_adjustments = ZERO  # C0's ΣSV102; Σ2430 CAS of the reported lines
    reported = missing = line_eaf = False
    latest = _NO_DATE
    # the last DTP*573 read: the builder makes one a claim, shared by its 2430s (a date is read once)
    proven_date = None
    in_loops = False  # a child loop was read: a 2300 segment after it is out of the usual order
    for item in items:
        if type(item) is Segment:
            if item is clm:
                continue
            if in_loops or item.tag in _MOVES_THE_SCAN:
                return None
            continue
        if type(item) is not Loop and not isinstance(item, Loop):
            return None
        in_loops = True
        parts = item.items
        lx = parts[0] if parts else None
        if lx.__class__ is not Segment:
            return None
        start = lx.tag
        if start != "LX":  # (after a line, any loop but a 2400 ends the proof: a payer is read by then)
            if start == "SBR":
                if payer_sbr is not None:  # a second payer: the reference way
                    return None
                payer = _one_payer(item)
                if payer is None:
                    return None
                payer_sbr, payer_paid, payer_cas, payer_dated, payer_eaf, payer_id = payer
            elif payer_sbr is not None or not _quiet(parts):  # 2310x: before the 2320, nothing the scan reads
                return None
            continue
        # --- a 2400 line: _payer_clear's per-line sums, for the one payer
        if payer_sbr is None:
            return None
        sv1 = None
        paid = adjusted = ZERO
        found = open_adjudication = in_line_loops = False
        for part in parts[1:]:  # after the LX (another LX is a stop below)
            if type(part) is Segment:
                if in_line_loops:
                    return None
                tag = part.tag
                if tag in _LINE_PARTS:  # the SV1, or a stop (one look for the line's other segments)
                    if tag != "SV1":
                        return None
                    sv1 = part
                continue
            if part.__class__ is not Loop and not isinstance(part, Loop):
                return None
            in_line_loops = True
            segments = part.items
            svd = segments[0] if segments else None
            if svd.__class__ is not Segment or svd.tag != "SVD":  # 2410, 2420x, 2440
                open_adjudication = _line_loop_quiet(segments, open_adjudication)
                if open_adjudication is None:
                    return None
                continue
            open_adjudication = True
            elements = svd.elements
            if (elements[0] if elements else "") != payer_id:  # SVD01 names another payer (or none)
                return None
            found = True
            cas = ZERO
            cas_segments = None  # the CAS segments when one is not a one-triplet CAS
            count = 0
            dated = False
            for seg in segments[1:]:  # after the SVD (another SVD is a stop below)
                if seg.__class__ is not Segment:
                    return None
                tag = seg.tag
                if tag == "CAS":
                    count += 1
                    cas_elements = seg.elements
                    if len(cas_elements) == 3 and cas_segments is None:  # cas_sum's one-triplet step, inline
                        value = amount_of(cas_elements[2])
                        if value is None:
                            value = money(seg, 3)
                        if not value and cas_elements[1]:
                            return None
                        cas += value
                    else:
                        cas_segments = [s for s in segments if s.__class__ is Segment and s.tag == "CAS"]
                elif tag == "DTP":
                    if seg is proven_date:  # the claim's one DTP*573 object, read in an earlier 2430
                        dated = True
                        continue
                    date_elements = seg.elements
                    if date_elements and date_elements[0] == "573":
                        text = date_elements[2] if len(date_elements) > 2 else ""
                        when = date_known(text, _UNREAD)
                        if when is _UNREAD:
                            when = date_of(text)
                        if when is None:
                            return None
                        if when > latest:
                            latest = when
                        dated = True
                        proven_date = seg
                elif tag == "AMT":
                    amount_elements = seg.elements
                    if amount_elements and amount_elements[0] == "EAF":
                        line_eaf = True
                elif tag in _IN_ADJUDICATION_STOPS:
                    return None
            if cas_segments is not None or count > 5:
                cas = cas_sum(cas_segments or [s for s in segments if s.__class__ is Segment and s.tag == "CAS"])
                if cas is None:
                    return None
            if not dated:
                return None
            svd_paid = amount_of(elements[1]) if len(elements) > 1 else None
            if svd_paid is None:
                svd_paid = money(svd, 2)
            if svd_paid < ZERO:
                return None
            paid += svd_paid
            adjusted += cas
        lines += 1
        if sv1 is None:
            charge = ZERO
        else:
            elements = sv1.elements
            charge = amount_of(elements[1]) if len(elements) > 1 else None
            if charge is None:
                charge = money(sv1, 2)
            charges += charge  # C0 adds the lines that have an SV1
        if not found:
            missing = True
            continue
        reported = True
        line_adjustments += adjusted
        if charge != paid + adjusted:  # L1
            return None
    # --- the claim: C0, the payer order, and _payer_clear's claim-level checks
    if payer_sbr is None:  # (one that did not adjudicate, or cost avoided, ended the proof when read)
        return None
    claim_charge = money(clm, 2)  # CLM02, for C0 and C1
    if lines and claim_charge != charges:
        return None
    if not levels_clear((payer_sbr,), subscriber_sbr):
        return None
    claim_adjustments = cas_sum(payer_cas) if payer_cas else ZERO
    if claim_adjustments is None:
        return None
    if (missing and reported) or (not reported and not payer_dated) or (line_eaf and payer_eaf):
        return None
    for seg in payer_dated:
        when = date_of(element(seg, 3))
        if when is None:
            return None
        if when > latest:
            latest = when
    if claim_charge != money(payer_paid, 2) + claim_adjustments + line_adjustments:  # C1
        return None
    return latest


def _quiet(parts: list) -> bool:
    """A loop of segments none of which ClaimView.scan reads before the first 2320."""
    for seg in parts:
        if seg.__class__ is not Segment or seg.tag in _MOVES_THE_SCAN:
            return False
    return True


def _line_loop_quiet(segments: list, open_adjudication: bool) -> bool | None:
    """A 2400's child loop other than a 2430 (2410, 2420x, 2440): whether an adjudication is still
    open after it (LQ/FRM end one), or None when the scan would file one of its segments."""
    for seg in segments:
        if seg.__class__ is not Segment:
            return None
        tag = seg.tag
        if tag in _LINE_PARTS or (open_adjudication and tag in _ADJUDICATION_PARTS):
            return None
        if tag in _ENDS_ADJUDICATION:
            open_adjudication = False
    return open_adjudication


def _one_payer(loop: Loop) -> tuple | None:
    """What the scan files under the one 2320 (Loop2320), as the proof needs it: (SBR, the first
    AMT*D, the 2320 CAS, the 2330B DTP*573s, whether an AMT*EAF is there, the last 2330B NM1*PR's
    payer id); None when the proof cannot hold: a segment the scan files elsewhere, no 2330x
    NM1*PR or no AMT*D (the payer did not adjudicate), an AMT*A8 (cost avoided). Read into locals
    and handed back as one tuple: once a claim, an object's attributes cost more than the reading."""
    parts = loop.items
    sbr = parts[0]
    cas: list[Segment] = []
    dated: list[Segment] = []  # 2330B DTP*573
    paid = nm1 = None  # the first AMT*D; the last 2330x NM1*PR
    eaf = False  # AMT*EAF seen
    in_2330b = False
    in_loops = False
    for item in parts:
        if type(item) is Segment:
            if item is sbr:
                continue
            if in_loops:
                return None
            tag = item.tag
            if tag == "CAS":
                cas.append(item)
            elif tag == "AMT":
                elements = item.elements
                qualifier = elements[0] if elements else ""
                if qualifier == "D":
                    if paid is None:
                        paid = item
                elif qualifier == "A8":
                    return None
                elif qualifier == "EAF":
                    eaf = True
            elif tag == "NM1" or tag in _MOVES_THE_SCAN:
                return None
            continue
        if item.__class__ is not Loop and not isinstance(item, Loop):
            return None
        in_loops = True
        for seg in item.items:  # a 2330x: NM1*PR names the payer, its DTP*573 dates it
            if seg.__class__ is not Segment:
                return None
            tag = seg.tag
            if tag not in _READ_IN_2330:  # N3, N4, REF, PER...: nothing the scan files
                continue
            if tag == "NM1":
                elements = seg.elements
                in_2330b = (elements[0] if elements else "") == "PR"
                if in_2330b:
                    nm1 = seg  # the last NM1*PR, as the scan keeps it
            elif tag == "DTP":
                if in_2330b:
                    elements = seg.elements
                    if (elements[0] if elements else "") == "573":
                        dated.append(seg)
            elif nm1 is None or tag in _MOVES_THE_SCAN:  # a CAS or AMT before the payer's NM1*PR
                return None
    if nm1 is None or paid is None:
        return None
    return sbr, paid, cas, dated, eaf, element(nm1, 9)
