"""The loops that carry the adjudication into the secondary 837P: the 2320/2330A/2330B of the payer
that adjudicated (its claim CAS, AMT*D, AMT*EAF, OI, MOA, REF*F8) and each line's 2430 (SVD, CAS,
DTP*573, AMT*EAF), built from the remitted claim; and the rule that an 835 amount with a fraction of
a cent is never copied (005010X222A1; cob-spec §1, §2.3). Segments made from a few codes (OI,
DTP*573, SVD03's text) are remembered and shared (segments are immutable); none is remembered by an
amount: hashing a fresh Decimal costs more than formatting it.
"""
from __future__ import annotations

import datetime as dt
import functools
from decimal import ROUND_DOWN, Context, Decimal, Inexact, InvalidOperation, Rounded
from decimal import getcontext as _getcontext
from decimal import setcontext as _setcontext

from edi.segment import STANDARD, Segment, _make_segment, _Unfrozen
from edi.writer import Prewritten, format_amount

from ..claim837.claim import OriginalClaim
from ..claim837.loops import Loop
from .cas import cas_segments, tidy_cas_segments, tidy_cas_written
from .remit import RemitClaim
from .tidy import made_tidy, tidy_segment

PAYER_SECONDARY_ID_QUALIFIERS = frozenset({"2U", "EI", "FY", "NF"})
SVD03_QUALIFIERS = frozenset({"ER", "HC", "IV", "WK"})
CENT = Decimal("0.01")


class BuildError(ValueError):
    """The claim cannot be built as the guide requires (the reason goes into the report)."""


def code(segment: Segment, position: int) -> str:
    """An ID-type element the mapper interprets or rewrites (SBR01/02/05/09, PAT01), in upper case:
    X12 code values are upper case, and an original written in lower case would otherwise be read
    as an unknown payer level or copied into a claim the guide refuses."""
    return segment.get(position).strip().upper()


def require_whole_cents(remit: RemitClaim) -> None:
    """837P amounts (DE 782) are dollars and cents: an 835 amount with a fraction of a cent cannot be
    copied, and rounding it would unbalance the line and claim, so the claim goes to review."""
    # the usual case, told at once (by the fast 835 read when it knew: RemitClaim.whole_cents, or by
    # one exact sum); the failing amount is found and named below
    if getattr(remit, "whole_cents", None) is True or _whole_cents(remit):
        return
    # in the order they are reported; a name is written only for the amount that fails
    failed = None
    if _beyond_cents(remit.paid):
        failed = "CLP04", remit.paid
    elif _beyond_cents(remit.patient_responsibility):
        failed = "CLP05", remit.patient_responsibility
    else:
        failed = next(((f"claim CAS {a.group}-{a.reason}", a.amount) for a in remit.adjustments
                       if _beyond_cents(a.amount)), None)
        for line in remit.lines if failed is None else ():
            if _beyond_cents(line.paid):
                failed = f"service line {line.match.ordinal} SVC03", line.paid
                break
            failed = next(((f"service line {line.match.ordinal} CAS {a.group}-{a.reason}", a.amount)
                           for a in line.adjustments if _beyond_cents(a.amount)), None)
            if failed is not None:
                break
    if failed is not None:
        name, value = failed
        raise BuildError(f"the 835 gives {name} as {value}: the 837P carries whole cents only, and "
                         "rounding would unbalance the claim")


# sums of up to 100 digits, exact: rounding or an invalid operation raises instead of changing the answer
_EXACT = Context(prec=100, traps=[Inexact, Rounded, InvalidOperation])


def _whole_cents(remit: RemitClaim) -> bool:
    """True when no amount of the claim (CLP04, CLP05, claim and line CAS, SVC03) has a digit past the
    cents, told by one exact sum (in the exact context, C-level, no list of the amounts): an
    exact sum's exponent is the smallest of its terms' (cents: -2 or more). False when it cannot tell
    (a float, a NaN, an infinity, a sum that would round): `_beyond_cents` then asks each amount."""
    saved = _getcontext()
    _setcontext(_EXACT)  # `+` in the exact context made current: ~700 instructions a term, _EXACT.add ~1.3k
    try:
        total = _ZERO + remit.paid + remit.patient_responsibility
        for adjustment in remit.adjustments:
            total += adjustment.amount
        for line in remit.lines:
            total += line.paid
            for adjustment in line.adjustments:
                total += adjustment.amount
    except (ArithmeticError, TypeError):
        return False
    finally:
        _setcontext(saved)
    if total.same_quantum(CENT):  # the usual exponent (-2), told without as_tuple()'s ~4k instructions
        return True
    exponent = total.as_tuple().exponent
    return isinstance(exponent, int) and exponent >= -2


def _beyond_cents(value: Decimal) -> bool:
    if type(value) is Decimal:  # noqa: E721 - the usual case: one C-level quantize, no as_tuple()
        try:
            # for a finite amount what the exponent test below answers: exact to the cent or not
            return value != value.quantize(CENT, rounding=ROUND_DOWN)
        except InvalidOperation:  # infinite, NaN, or too long to quantize: the full rule
            pass
    return _beyond_cents_of(value)


def _beyond_cents_of(value: Decimal) -> bool:
    exponent = value.as_tuple().exponent if isinstance(value, Decimal) else 0
    if isinstance(exponent, int) and exponent >= -2:
        return False  # no digit past the cents
    return value != value.quantize(CENT, rounding=ROUND_DOWN)


def other_payer_loop(original: OriginalClaim, remit: RemitClaim, prior_sbr: Segment, relationship: str,
                      prior_subscriber: Loop, prior_payer: Loop, adjudication_date: dt.date,
                      others: list[Loop], *, claim_level_eaf: bool, tidied: bool = False) -> Loop:
    """2320/2330A/2330B for the payer that adjudicated: its policy, money and claim control number.

    `tidied`: the original is known tidy (OriginalClaim.indexed_tidy): the loop comes back as
    `tidy_loop` would give it, the segments made here tidied and those copied from the original's
    2010BA/2010BB (the 2330A, most of the 2330B) not looked at."""
    # SBR01..SBR09 read off one padded tuple: what code() and get() answer, without 5 calls of each
    given = (*prior_sbr.elements, *_NINE_EMPTY)
    level = given[0].strip().upper()
    elements = (level, relationship, given[2], given[3], given[4].strip().upper() if level != "P" else "",
                "", "", "", given[8].strip().upper())
    # the SBR carries the claim's codes, trimmed (a code may end with ":" once trimmed)
    if elements[8]:  # the usual SBR: nothing trails for Segment.build to drop
        sbr = made_tidy("SBR", elements, tidied)
    else:
        sbr = Segment.build("SBR", *elements)
        if tidied:
            sbr = tidy_segment(sbr)
    joined = "*".join(sbr.elements)
    segments: list[Segment | Loop] = [sbr]
    # the 2320's text (`written`, below) in document order: a segment made here from texts in hand
    # (SBR, claim CAS, AMT*D, AMT*EAF, OI, REF*F8) gives its body where it is made, as a 2430's
    # segments do, instead of _written_segments joining its elements again; the others (MOA, the
    # 2330A's and 2330B's segments copied from the original, DTP*573) are written by
    # _written_segments. ~3k instructions less a built claim (-21M at 10k, most of it in str.join)
    bodies = [f"SBR*{joined}"]
    separators = len(sbr.elements)
    if remit.adjustments:  # most claims carry their adjustments by line only
        cas = tidy_cas_segments(remit.adjustments) if tidied else cas_segments(remit.adjustments)
        segments += cas
        for segment in cas:  # built, in standard delimiters
            bodies.append(f"CAS*{'*'.join(segment.elements)}")
            separators += len(segment.elements)
    # AMT: our qualifier and an amount's text, never empty: tidy as made
    paid = format_amount(remit.paid)
    segments.append(_make_segment("AMT", ("D", paid), 0, 0, STANDARD))
    bodies.append(f"AMT*D*{paid}")
    separators += 2
    if claim_level_eaf:
        eaf, body = _eaf_written(remit.patient_responsibility)
        segments.append(eaf)
        bodies.append(body)
        separators += 2
    # OI: whole elements of the original's CLM and OI (tidy when it is), trailing empties dropped
    oi, body, held = _other_insurance(original.clm, others)
    segments.append(oi)
    bodies.append(body)
    separators += held
    made = len(segments)  # each with its body in `bodies`
    moa = remit.moa
    if moa is not None and any(moa.elements):
        moa = Segment("MOA", moa.elements, delimiters=moa.delimiters)
        segments.append(tidy_segment(moa) if tidied else moa)  # the 835's codes, in the 835's delimiters
    subscriber = name_and_address(prior_subscriber, SUBSCRIBER_ID_QUALIFIERS)
    payer = name_and_address(prior_payer, _NO_QUALIFIERS)  # its REFs below, after the DTP*573
    if not remit.has_lines:
        payer.append(dtp573(adjudication_date))
    payer += [s for s in prior_payer.items if isinstance(s, Segment) and s.tag == "REF"
              and s.get(1) in PAYER_SECONDARY_ID_QUALIFIERS]
    copied = len(payer)  # the 2330B's segments _written_segments writes: all but a REF*F8 made below
    number = remit.payer_claim_number  # the 835's CLP07
    f8 = None
    if number:
        if number.__class__ is str and number[-1] != ":":  # what Segment.build makes of it, and tidy
            payer.append(_make_segment("REF", ("F8", number), 0, 0, STANDARD))
            f8 = f"REF*F8*{number}"
        else:
            ref = Segment.build("REF", "F8", number)
            payer.append(tidy_segment(ref) if tidied else ref)
            copied += 1
    own = len(segments)
    segments += loop_holding("2330A", subscriber), loop_holding("2330B", payer)
    loop = _new_object(WrittenLoop)  # WrittenLoop("2320", segments) without copying the fresh list
    loop.id = "2320"
    loop.items = segments
    # the writer takes the text whole instead of walking three loops segment by segment
    rest = _written_segments((*segments[made:own], *subscriber, *payer[:copied]))
    if rest is None:
        loop.written = None
        return loop
    text, held, count = rest
    if count:
        bodies.append(text)
    if f8 is not None:
        bodies.append(f8)
        held += 2
    loop.written = _END.join(bodies), separators + held, own + len(subscriber) + len(payer)
    return loop


def _written_segments(segments: tuple[Segment, ...]) -> tuple[str, int, int] | None:
    """`Prewritten.written` for these segments (none an envelope segment): their bodies as the writer
    writes them in standard delimiters, joined by terminator and suffix, their element separators
    and how many they are; None when one is in other delimiters (its composites would be
    translated). A value holding a delimiter is caught by the writer's count of the whole text,
    which then writes the segments the reference way (and names the collision)."""
    bodies = []
    separators = 0
    for segment in segments:
        if segment.delimiters is not STANDARD:
            return None
        elements = segment.elements
        separators += len(elements)
        text = segment.text  # str(segment), kept by its maker (a segment copied from the original)
        bodies.append(text if text is not None else f"{segment.tag}*{'*'.join(elements)}")
    return _END.join(bodies), separators, len(bodies)


SUBSCRIBER_ID_QUALIFIERS = frozenset({"SY"})
_NO_QUALIFIERS: frozenset[str] = frozenset()


def name_and_address(loop: Loop, ref_qualifiers: frozenset[str]) -> list[Segment]:
    """A 2330A's or 2330B's (or the 2010BA/2010BB they are made from) NM1, N3 and N4, and its REFs
    with one of these qualifiers, in document order. A plain loop, not a list comprehension (a
    function made and called each time, several times a claim)."""
    found = []
    for segment in _segments_of(loop):
        tag = segment.tag
        if tag == "NM1" or tag == "N3" or tag == "N4" or (tag == "REF" and segment.get(1) in ref_qualifiers):
            found.append(segment)
    return found


def _segments_of(loop: Loop) -> list[Segment]:
    """`loop.all_segments()`: its items themselves when they are all segments (a 2010BA/2010BB
    has no child loop), without collecting them into a new list."""
    items = loop.items
    for item in items:
        if not isinstance(item, Segment):
            return loop.all_segments()
    return items


def loop_holding(loop_id: str, items: list) -> Loop:
    """`Loop(loop_id, items)` holding the fresh list `items` itself (no copy, no __init__)."""
    loop = _new_object(Loop)
    loop.id = loop_id
    loop.items = items
    return loop


def _other_insurance(clm: Segment, others: list[Loop]) -> tuple[Segment, str, int]:
    """OI: OI03 benefits assignment (CLM08) and OI06 release of information (CLM09) as the claim
    was sent; OI04 patient signature source as the original claim's other 2320s (`others`) gave it.
    With its body and element separators (`_oi`)."""
    signature = ""
    for loop in others:
        for oi in loop.items:
            if isinstance(oi, Segment) and oi.tag == "OI":
                signature = (*oi.elements, "", "", "", "")[3]  # OI04, or "" (oi.get(4) without the call)
                if signature:
                    break
        if signature:
            break
    given = (*clm.elements, *_NINE_EMPTY)  # CLM08 and CLM09 (clm.get(8), clm.get(9) without the calls)
    return _oi(given[7] or "Y", signature, given[8] or "Y")


_NINE_EMPTY = ("",) * 9


@functools.lru_cache(maxsize=256)
def _oi(benefits: str, signature: str, release: str) -> tuple[Segment, str, int]:
    """One OI per (OI03, OI04, OI06), shared, with its body as written in standard delimiters and its
    element separators: a handful of code combinations across an ERA."""
    oi = Segment.build("OI", "", "", benefits, signature, "", release)
    return oi, f"OI*{'*'.join(oi.elements)}", len(oi.elements)


def bundled_into(lines: list[Loop], index: int, remitted) -> str:
    """SVD06: the LX01 of the billed line this one was bundled into, else "".

    The 835 reports a bundled line with SVC06 = the code billed on it and SVC01 = the code it was
    paid under; when SVC01 is the code of exactly one other billed line, that is the line it went
    into. Lines split into several SVCs (unbundling) never get SVD06 [RFI 1814], so the caller
    asks only for a billed line with a single adjudication."""
    billed_code, paid_code = remitted.match.original_code, remitted.match.code
    if not billed_code or billed_code == paid_code:
        return ""
    hosts = [other for position, other in enumerate(lines) if position != index
             and (sv1 := other.segment("SV1")) is not None and sv1.component(1, 2) == paid_code]
    if len(hosts) != 1 or hosts[0].first is None:
        return ""
    return hosts[0].first.get(1)


def line_adjudication(line, payer_id: str, adjudication_date: dt.date, line_level_eaf: bool,
                       bundled_into: str = "") -> Loop:
    """2430 for one remitted line: SVD, CAS, DTP*573 and, when the patient's share is reported by
    line, AMT*EAF; tidied as the rest of the claim is (an element from the 835 may end with ":")."""
    return adjudicated_line(line, payer_id, dtp573(adjudication_date), line_level_eaf, bundled_into)


def adjudicated_line(line, payer_id: str, dtp: Segment, line_level_eaf: bool, bundled_into: str) -> Loop:
    """`line_adjudication` with its DTP*573 made once a claim (`dtp573(adjudication_date)`).

    ~3.5 a claim: the SVD is made from its tuple directly (its units are never empty: nothing trails
    to drop) and tidied only when one of its texts from the claim or the 835 (SVD01, SVD03, SVD06)
    ends with the component separator, the one thing tidying changes in it; the CAS and AMT*EAF
    come remembered by their texts (`tidy_cas_segments`, `_eaf`)."""
    global _LAST_UNITS, _LAST_DTP
    amount = line.paid
    kept = _PAID_TEXTS.get(id(amount))
    if kept is not None and kept[0] is amount:
        paid = kept[1]
    else:
        paid = format_amount(amount)  # first: what it raises comes before SVD03's BuildError
        if amount.__class__ is Decimal:
            if len(_PAID_TEXTS) >= 8192:
                _PAID_TEXTS.clear()
            _PAID_TEXTS[id(amount)] = (amount, paid)
    procedure = _SVD03.get(line.procedure) if type(line.procedure) is tuple else None  # noqa: E721
    if procedure is None:
        procedure = _svd03(line)
    units = line.paid_units
    if units is None:
        units = "1"
    else:
        last = _LAST_UNITS  # one read of the pair: what another thread puts there is a whole pair too
        if units is last[0]:
            units = last[1]
        else:
            units_text = format_amount(units)
            _LAST_UNITS = (units, units_text)
            units = units_text
    # _make_segment inlined (one Python call less a line, ~1k instructions)
    svd = _new_object(_Unfrozen)
    svd.tag = "SVD"
    svd.elements = (payer_id, paid, procedure, "", units, bundled_into) if bundled_into else \
        (payer_id, paid, procedure, "", units)
    svd.index = svd.line = 0
    svd.delimiters = STANDARD
    svd.text = None  # (written with its 2430's text)
    svd.__class__ = Segment
    tidied = payer_id[-1:] == ":" or procedure[-1:] == ":" or bundled_into[-1:] == ":"
    if tidied:
        svd = tidy_segment(svd)
    adjustments = line.adjustments
    cas = tidy_cas_written(adjustments) if adjustments else _NO_CAS
    if cas is None:  # more triplets, a quantity, an odd amount: the reference way, no text
        segments = [svd, *tidy_cas_segments(adjustments), dtp]
    else:
        segments = [svd, *cas[0], dtp]
    eaf = None
    if line_level_eaf:
        patient = _ZERO
        for adjustment in adjustments:  # sum() with a generator, without the generator
            if adjustment.group == "PR":
                patient += adjustment.amount
        eaf = _EAFS.get(str(patient))  # _eaf_written's look-up inlined: `patient` is a Decimal here
        if eaf is None:
            eaf = _eaf_written(patient)
        segments.append(eaf[0])
    loop = _new_object(WrittenLoop)  # WrittenLoop("2430", segments) without copying the fresh list
    loop.id = "2430"
    loop.items = segments
    dated = _LAST_DTP  # (DTP*573, its text, its separators): one date a claim, usually one an ERA
    if dtp is not dated[0]:
        dated = _LAST_DTP = _written(dtp)
    if cas is None or dated[1] is None or tidied:
        loop.written = None  # (a tidied SVD: a trailing ":" of the claim's or the 835's, rare)
        return loop
    # the loop's text in one string: the SVD's body, the remembered texts of its other segments
    if eaf is None:
        if bundled_into:
            text = f"SVD*{payer_id}*{paid}*{procedure}**{units}*{bundled_into}{_END}{cas[1]}{dated[1]}"
        else:
            text = f"SVD*{payer_id}*{paid}*{procedure}**{units}{_END}{cas[1]}{dated[1]}"
        loop.written = text, len(svd.elements) + cas[2] + dated[2], len(segments)
    else:
        if bundled_into:
            text = f"SVD*{payer_id}*{paid}*{procedure}**{units}*{bundled_into}{_END}{cas[1]}{dated[1]}{_END}{eaf[1]}"
        else:
            text = f"SVD*{payer_id}*{paid}*{procedure}**{units}{_END}{cas[1]}{dated[1]}{_END}{eaf[1]}"
        loop.written = text, len(svd.elements) + cas[2] + dated[2] + 2, len(segments)
    return loop


class WrittenLoop(Loop, Prewritten):
    """A loop built here, carrying its segments' text as the writer writes them (edi.writer.Prewritten:
    `written` is (text, element separators, segments) or None). Built loops are never edited in
    place (a follow-up copies the claim first, and Loop.copy makes plain loops)."""

    __slots__ = ("written",)


_END = STANDARD.segment + STANDARD.suffix
_NO_CAS: tuple[tuple[Segment, ...], str, int] = ((), "", 0)
_LAST_DTP: tuple[Segment | None, str | None, int] = (None, None, 0)


def _written(segment: Segment) -> tuple[Segment, str | None, int]:
    """The segment, its body as the writer writes it in standard delimiters (tag and elements
    joined; None when the segment is in other delimiters, whose composites would be translated) and
    its element separators."""
    if segment.delimiters is not STANDARD:
        return segment, None, 0
    return segment, "*".join((segment.tag, *segment.elements)), len(segment.elements)


_new_object = object.__new__
# SVD02's text by the amount object: the 835 reader gives one Decimal per text (two lines in three of
# the 10k bench are paid an amount object met before), found without formatting it again. A
# Decimal is immutable; the entry holds it, so its id is not reused meanwhile.
_PAID_TEXTS: dict[int, tuple[Decimal, str]] = {}
# the last SVD05 formatted, (amount, its text): the 835 reader gives one Decimal per text, and nearly
# every line is paid for the same units (1), so it is usually the very same object again
_LAST_UNITS: tuple[object, str] = (None, "")


_ONE, _ZERO = Decimal(1), Decimal(0)


def _amt(qualifier: str, amount: Decimal) -> Segment:
    """`Segment.build("AMT", qualifier, format_amount(amount))` made directly: an amount's text is never
    empty (nothing trails to drop), the qualifier is ours (D, EAF)."""
    return _make_segment("AMT", (qualifier, format_amount(amount)), 0, 0, STANDARD)


_EAFS: dict[str, tuple[Segment, str]] = {}  # str(amount) -> AMT*EAF and its body: the patient's share repeats


def _eaf(amount: Decimal) -> Segment:
    """`_amt("EAF", amount)`, remembered (`_eaf_written`)."""
    return _eaf_written(amount)[0]


def _eaf_written(amount: Decimal) -> tuple[Segment, str]:
    """`_amt("EAF", amount)` and its body, remembered by the amount's str() for a Decimal (exact: it
    names the value and the exponent, which is all format_amount reads). Only an amount
    format_amount took is remembered, so one it refuses is refused every time."""
    if type(amount) is not Decimal:  # noqa: E721
        made = _amt("EAF", amount)
        return made, f"AMT*{made.elements[0]}*{made.elements[1]}"
    key = str(amount)
    made = _EAFS.get(key)
    if made is None:
        segment = _amt("EAF", amount)
        made = segment, f"AMT*EAF*{segment.elements[1]}"
        if len(_EAFS) >= 8192:
            _EAFS.clear()
        _EAFS[key] = made
    return made


_SVD03: dict[tuple[str, ...], str] = {}  # SVC01 components -> SVD03 text; an ERA repeats few codes


def _svd03(line) -> str:
    """SVD03, the procedure composite as paid; BuildError when its qualifier cannot be reported."""
    procedure = tuple(line.procedure)
    text = _SVD03.get(procedure)
    if text is not None:
        return text
    if not procedure or procedure[0] not in SVD03_QUALIFIERS:
        raise BuildError(f"service line {line.match.ordinal}: procedure qualifier "
                         f"{procedure[0] if procedure else 'missing'!r} cannot be reported in SVD03 "
                         "(ER, HC, IV or WK)")
    text = Segment.build("SVD", procedure).get(1)  # the composite as Segment.build joins it
    if len(_SVD03) >= 4096:
        _SVD03.clear()
    _SVD03[procedure] = text
    return text


@functools.lru_cache(maxsize=64)
def dtp573(when: dt.date) -> Segment:
    """One segment per date (segments are immutable and shared): every line of every claim of an
    ERA usually carries the same payment date."""
    return Segment.build("DTP", "573", "D8", when.strftime("%Y%m%d"))
