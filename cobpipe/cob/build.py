"""Build the secondary (or tertiary) 837P claim from the original claim and the adjudication.

The payer that adjudicated moves from 2000B/2010BA/2010BB into a new 2320/2330A/2330B carrying
its adjudication (claim CAS, AMT*D, AMT*EAF, OI, MOA, REF*F8); the next payer moves into
2000B/2010BA/2010BB; each matched line gets a 2430 (SVD, CAS, DTP*573, AMT*EAF). Every other
segment of the original claim is carried over unchanged (005010X222A1; cob-spec §1, §2.3).
"""
from __future__ import annotations

import datetime as dt
import functools
import operator
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Context, Decimal, Inexact, InvalidOperation, Rounded, localcontext

from edi.segment import STANDARD, Segment
from edi.writer import format_amount

from ..claim837.claim import OriginalClaim
from ..claim837.loops import Loop, loop_table
from .cas import cas_segments
from .coverage import Coverage
from .decide import PAYER_LEVELS
from .match import LineMatch
from .remit import RemitClaim
from .tidy import tidy_loop, tidy_segment, tidy_segments

PAYER_SECONDARY_ID_QUALIFIERS = frozenset({"2U", "EI", "FY", "NF"})
SVD03_QUALIFIERS = frozenset({"ER", "HC", "IV", "WK"})
CENT = Decimal("0.01")


class BuildError(ValueError):
    """The claim cannot be built as the guide requires (the reason goes into the report)."""


@dataclass(slots=True)
class NextPayer:
    """The payer the new claim is billed to and its subscriber, as 2000B/2010BA/2010BB want them."""

    level: str  # SBR01 at which it is billed
    relationship: str  # patient's relationship to this subscriber (18 = self)
    group_number: str
    group_name: str
    insurance_type: str  # SBR05
    filing_indicator: str  # SBR09
    subscriber: list[Segment]  # NM1*IL then N3/N4/REF*SY
    payer: list[Segment]  # NM1*PR then N3/N4/REF
    replaces: Loop | None = None  # the original 2320 this came from (it leaves the claim)
    source: str = "claim 2320"

    @property
    def payer_id(self) -> str:
        return self.payer[0].get(9)

    @classmethod
    def from_2320(cls, loop: Loop) -> "NextPayer":
        sbr = loop.first
        subscriber = loop.child("2330A")
        payer = loop.child("2330B")
        if sbr is None or subscriber is None or payer is None:
            raise BuildError("the next payer's 2320 lacks its 2330A subscriber or 2330B payer")
        return cls(
            level=code(sbr, 1), relationship=code(sbr, 2) or "18", group_number=sbr.get(3),
            group_name=sbr.get(4), insurance_type=code(sbr, 5), filing_indicator=code(sbr, 9),
            subscriber=[s for s in subscriber.iter_segments() if s.tag in ("NM1", "N3", "N4")
                        or (s.tag == "REF" and s.get(1) == "SY")],
            payer=[s for s in payer.iter_segments() if s.tag in ("NM1", "N3", "N4")
                   or (s.tag == "REF" and s.get(1) in PAYER_SECONDARY_ID_QUALIFIERS)],
            replaces=loop,
        )

    @classmethod
    def from_coverage(cls, coverage: Coverage, level: str, patient_name: Segment) -> "NextPayer":
        if coverage.subscriber_is_patient and not coverage.subscriber_last_name:
            name = (patient_name.get(3), patient_name.get(4), patient_name.get(5), patient_name.get(7))
        else:
            name = (coverage.subscriber_last_name, coverage.subscriber_first_name, coverage.subscriber_middle_name,
                    "")
        nm1_il = Segment.build("NM1", "IL", "1", name[0], name[1], name[2], "", name[3],
                               coverage.member_id_qualifier, coverage.member_id)
        nm1_pr = Segment.build("NM1", "PR", "2", coverage.payer_name, "", "", "", "", coverage.payer_id_qualifier,
                               coverage.payer_id)
        return cls(
            level=level, relationship=coverage.relationship, group_number=coverage.group_number,
            group_name=coverage.group_name, insurance_type=coverage.insurance_type,
            filing_indicator=coverage.filing_indicator, subscriber=[nm1_il], payer=[nm1_pr], source=coverage.source,
        )


@dataclass(slots=True)
class Patient:
    """The patient's own name, address and demographics, wherever the original claim held them."""

    name: Segment  # NM1*IL or NM1*QC
    address: list[Segment]  # N3, N4
    demographics: Segment | None  # DMG
    extra: list[Segment] = field(default_factory=list)  # 2010CA REF/PER, kept when the patient stays in 2000C
    pat: Segment | None = None  # PAT with death date / weight / pregnancy (PAT05-09)

    @classmethod
    def of(cls, original: OriginalClaim) -> "Patient":
        if original.patient is not None:
            loop = original.patient.child("2010CA")
            if loop is None:
                raise BuildError("the original 2000C has no 2010CA patient name")
            address, demographics, extra = _person_parts(loop)
            return cls(loop.first, address, demographics, extra, original.patient.segment("PAT"))
        loop = original.subscriber.child("2010BA")
        if loop is None:
            raise BuildError("the original 2000B has no 2010BA subscriber")
        address, demographics, _ = _person_parts(loop)
        return cls(loop.first, address, demographics, [], original.subscriber.segment("PAT"))


def _person_parts(loop: Loop) -> tuple[list[Segment], Segment | None, list[Segment]]:
    """A 2010BA/2010CA's N3s then N4s, its first DMG, its REF and PER segments: one read of the loop."""
    n3: list[Segment] = []
    n4: list[Segment] = []
    extra: list[Segment] = []
    demographics = None
    for item in loop.items:
        if isinstance(item, Segment):
            tag = item.tag
            if tag == "N3":
                n3.append(item)
            elif tag == "N4":
                n4.append(item)
            elif tag == "DMG":
                if demographics is None:
                    demographics = item
            elif tag == "REF" or tag == "PER":
                extra.append(item)
    return n3 + n4, demographics, extra


def build_secondary(original: OriginalClaim, remit: RemitClaim, next_payer: NextPayer, lines: LineMatch,
                    adjudication_date: dt.date) -> OriginalClaim:
    """The claim for `next_payer`, carrying the adjudication of the payer billed in `original`.

    Built in one pass over the original 2300, never copied first: what the claim carries over
    unchanged (2310x loops, lines without an adjudication, every segment already tidy) is the
    original's own object, shared, so a writer that keeps a copied segment's text can reuse it.
    Nothing edits a built claim in place (a follow-up copies it first)."""
    _require_whole_cents(remit)
    prior_sbr = original.sbr
    prior_payer = original.payer
    prior_subscriber = original.subscriber.child("2010BA")
    if prior_sbr is None or prior_payer is None or prior_subscriber is None:
        raise BuildError("the original claim lacks its 2000B SBR, 2010BA or 2010BB")
    patient = Patient.of(original)
    if original.patient is None:
        prior_relationship = "18"
    else:
        prior_pat = original.patient.segment("PAT")
        prior_relationship = code(prior_pat, 1) if prior_pat else ""

    subscriber = _subscriber_loop(original.subscriber, next_payer, patient)
    patient_loop = None if next_payer.relationship == "18" else _patient_loop(original, next_payer, patient)

    source = original.claim
    others = source.children_of("2320")
    # the 2320 of the payer now billed leaves the claim, whether it or a coverage row named that payer
    kept = [loop for loop in others if loop is not next_payer.replaces and code(loop.first, 1) != next_payer.level]
    line_level_eaf = remit.has_lines and not any(a.group == "PR" for a in remit.adjustments)
    payer_id = prior_payer.first.get(9)
    new_2320 = _other_payer_loop(original, remit, prior_sbr, prior_relationship, prior_subscriber, prior_payer,
                                 adjudication_date, others, claim_level_eaf=not line_level_eaf)
    payers = [tidy_loop(loop) for loop in sorted(kept + [new_2320], key=lambda loop: _level_rank(code(loop.first, 1)))]
    claim = _claim_loop(source, lines, remit, payer_id, adjudication_date, line_level_eaf, payers)
    return OriginalClaim(original.envelope, _tidy_shared(original.header), _tidy_shared(original.billing_provider),
                         tidy_loop(subscriber), tidy_loop(patient_loop), claim)


def _claim_loop(source: Loop, lines: LineMatch, remit: RemitClaim, payer_id: str, adjudication_date: dt.date,
                line_level_eaf: bool, payers: list[Loop]) -> Loop:
    """The new 2300: CLM as an original claim, no REF*F8, the original's 2320s replaced by `payers`,
    every 2400 with its 2430s, everything tidied (tidy_loop's own rule, the same objects when already
    tidy). `payers` go where `Loop.add` puts each in turn: as one block after the last item the guide
    orders at or before a 2320 (so after the 2310x loops, before the first 2400)."""
    order = _order_2300()
    payers_key = order["2320"]
    after = -1  # the position in `built` after which the 2320s go
    items = source.items
    clm = source.first
    if clm is None:
        raise BuildError("the original 2300 does not start with CLM")
    by_line: dict[int, list[int]] = {}
    for remitted, billed in enumerate(lines.matches):
        if billed is not None:
            by_line.setdefault(billed, []).append(remitted)
    built: list[Segment | Loop] = []
    append = built.append
    position = 0  # the 2400's index among the claim's lines (billed_lines' order)
    for number, item in enumerate(items):
        if isinstance(item, Segment):
            if number == 0:  # the CLM (source.first)
                item = _as_original_frequency(clm)
            elif item.tag == "REF" and item.get(1) == "F8":
                continue  # 2300 REF*F8 is for replacing a claim at the same payer, not for COB
            elements = item.elements
            if item.delimiters is STANDARD and elements and elements[-1] != "" \
                    and ":*" not in "*".join(elements) + "*":
                append(item)  # tidy_loop's usual case, inlined
            else:
                append(tidy_segment(item))
            key = order.get(item.tag)
            if key is not None and key <= payers_key:
                after = len(built)
            continue
        loop_id = item.id
        if loop_id == "2320":
            continue  # the 2320s are put back, with the new one, in payer order
        if loop_id != "2400":
            append(tidy_loop(item))
            key = order.get(loop_id)
            if key is not None and key <= payers_key:
                after = len(built)
            continue
        index, position = position, position + 1
        remitted_lines = by_line.get(index)
        if not remitted_lines:
            append(tidy_loop(item))
            continue
        line = Loop("2400")
        line.items = list(tidy_loop(item).items)
        for remitted in remitted_lines:
            paid = remit.lines[remitted]
            bundled_into = ""
            billed_code = paid.match.original_code
            if len(remitted_lines) == 1 and billed_code and billed_code != paid.match.code:  # else none: no look
                bundled_into = _bundled_into(source.children_of("2400"), index, paid)
            _add_2430(line, _line_adjudication(paid, payer_id, adjudication_date, line_level_eaf, bundled_into))
        append(line)
    if after < 0:  # nothing orders before a 2320: Loop.add's place, after a start segment
        after = 1 if built and isinstance(built[0], Segment) else 0
    built[after:after] = payers
    claim = Loop("2300")
    claim.items = built
    return claim


_TIDIED: dict[int, tuple[Loop, Loop]] = {}


def _tidy_shared(loop: Loop) -> Loop:
    """`tidy_loop` of a context loop the original claims share (the claims read under one header or
    2000A), tidied once: nothing edits an original's loops, and the entry keeps the loop alive so
    its id is not reused."""
    kept = _TIDIED.get(id(loop))
    if kept is not None and kept[0] is loop:
        return kept[1]
    if len(_TIDIED) >= 64:
        _TIDIED.clear()
    tidied = tidy_loop(loop)
    _TIDIED[id(loop)] = (loop, tidied)
    return tidied


def _require_whole_cents(remit: RemitClaim) -> None:
    """837P amounts (DE 782) are dollars and cents: an 835 amount with a fraction of a cent cannot be
    copied, and rounding it would unbalance the line and claim, so the claim goes to review."""
    amounts = [remit.paid, remit.patient_responsibility]
    amounts += map(_AMOUNT_OF, remit.adjustments)
    for line in remit.lines:
        amounts.append(line.paid)
        amounts += map(_AMOUNT_OF, line.adjustments)
    if _whole_cents(amounts):
        return  # the usual case, told at once; the failing amount is found and named below
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


_AMOUNT_OF = operator.attrgetter("amount")
# sums of up to 100 digits, exact: rounding or an invalid operation raises instead of changing the answer
_EXACT = Context(prec=100, traps=[Inexact, Rounded, InvalidOperation])


def _whole_cents(amounts: list) -> bool:
    """True when no amount has a digit past the cents, told by one C-level sum: an exact sum's
    exponent is the smallest of its terms' (cents: -2 or more). False when it cannot tell (a
    float, a NaN, an infinity, a sum that would round): `_beyond_cents` then asks each amount."""
    try:
        with localcontext(_EXACT):
            total = sum(amounts, _ZERO)
    except (ArithmeticError, TypeError):
        return False
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


def code(segment: Segment, position: int) -> str:
    """An ID-type element the mapper interprets or rewrites (SBR01/02/05/09, PAT01), in upper case:
    X12 code values are upper case, and an original written in lower case would otherwise be read
    as an unknown payer level or copied into a claim the guide refuses."""
    return segment.get(position).strip().upper()


def _level_rank(level: str) -> int:
    rank = PAYER_LEVELS.find(level)
    return rank if rank >= 0 else len(PAYER_LEVELS)


def _as_original_frequency(clm: Segment) -> Segment:
    """CLM05-3 = 1: to the next payer this is a new claim, not a replacement (practice; cob-spec §1)."""
    parts = clm.composite(5)
    if len(parts) >= 3 and parts[2] != "1":
        parts[2] = "1"
        return clm.replace_element(5, clm.delimiters.component.join(parts))
    return clm


def _subscriber_loop(original: Loop, next_payer: NextPayer, patient: Patient) -> Loop:
    hl = original.first
    sbr = Segment.build("SBR", next_payer.level, "18" if next_payer.relationship == "18" else "",
                        next_payer.group_number, next_payer.group_name, next_payer.insurance_type, "", "", "",
                        next_payer.filing_indicator)
    items: list[Segment | Loop] = [hl, sbr]
    if next_payer.relationship == "18" and patient.pat is not None and any(patient.pat.elements[4:]):
        items.append(Segment("PAT", ("", "", "", "", *patient.pat.elements[4:]), delimiters=patient.pat.delimiters))
    name, *rest = next_payer.subscriber
    subscriber = [name]
    addresses = [s for s in rest if s.tag in ("N3", "N4")]
    if next_payer.relationship == "18":
        # 2010BA N3/N4/DMG are required when the subscriber is the patient
        subscriber += addresses or patient.address
        if patient.demographics is not None:
            subscriber.append(patient.demographics)
    else:
        subscriber += addresses
    subscriber += [s for s in rest if s.tag == "REF"]
    payer = Loop("2010BB", next_payer.payer)
    return Loop("2000B", items, [Loop("2010BA", subscriber), payer])


def _patient_loop(original: OriginalClaim, next_payer: NextPayer, patient: Patient) -> Loop:
    hl = original.patient.first if original.patient is not None else Segment.build("HL", "", "", "23", "0")
    tail = patient.pat.elements[4:] if patient.pat is not None else ()
    pat = Segment.build("PAT", next_payer.relationship, "", "", "", *tail)
    name = patient.name
    if name.get(1) != "QC":
        name = Segment.build("NM1", "QC", "1", name.get(3), name.get(4), name.get(5), "", name.get(7))
    segments = [name, *patient.address]
    if patient.demographics is not None:
        segments.append(patient.demographics)
    segments += patient.extra
    return Loop("2000C", [hl, pat], [Loop("2010CA", segments)])


def _other_payer_loop(original: OriginalClaim, remit: RemitClaim, prior_sbr: Segment, relationship: str,
                      prior_subscriber: Loop, prior_payer: Loop, adjudication_date: dt.date,
                      others: list[Loop], *, claim_level_eaf: bool) -> Loop:
    """2320/2330A/2330B for the payer that adjudicated: its policy, money and claim control number."""
    level = code(prior_sbr, 1)
    sbr = Segment.build("SBR", level, relationship, prior_sbr.get(3), prior_sbr.get(4),
                        code(prior_sbr, 5) if level != "P" else "", "", "", "", code(prior_sbr, 9))
    segments: list[Segment] = [sbr]
    if remit.adjustments:  # most claims carry their adjustments by line only
        segments += cas_segments(remit.adjustments)
    segments.append(_amt("D", remit.paid))
    if claim_level_eaf:
        segments.append(_amt("EAF", remit.patient_responsibility))
    segments.append(_other_insurance(original.clm, others))
    if remit.moa is not None and any(remit.moa.elements):
        segments.append(Segment("MOA", remit.moa.elements, delimiters=remit.moa.delimiters))
    subscriber = [s for s in prior_subscriber.iter_segments()
                  if s.tag in ("NM1", "N3", "N4") or (s.tag == "REF" and s.get(1) == "SY")]
    payer = [s for s in prior_payer.iter_segments() if s.tag in ("NM1", "N3", "N4")]
    if not remit.has_lines:
        payer.append(_dtp573(adjudication_date))
    payer += [s for s in prior_payer.segments_of("REF") if s.get(1) in PAYER_SECONDARY_ID_QUALIFIERS]
    if remit.payer_claim_number:
        payer.append(Segment.build("REF", "F8", remit.payer_claim_number))
    return Loop("2320", segments, [Loop("2330A", subscriber), Loop("2330B", payer)])


def _other_insurance(clm: Segment, others: list[Loop]) -> Segment:
    """OI: OI03 benefits assignment (CLM08) and OI06 release of information (CLM09) as the claim
    was sent; OI04 patient signature source as the original claim's other 2320s (`others`) gave it."""
    signature = ""
    for loop in others:
        for oi in loop.items:
            if isinstance(oi, Segment) and oi.tag == "OI" and oi.get(4):
                signature = oi.get(4)
                break
        if signature:
            break
    return _oi(clm.get(8) or "Y", signature, clm.get(9) or "Y")


@functools.lru_cache(maxsize=256)
def _oi(benefits: str, signature: str, release: str) -> Segment:
    """One OI per (OI03, OI04, OI06), shared: a handful of code combinations across an ERA."""
    return Segment.build("OI", "", "", benefits, signature, "", release)


def _bundled_into(lines: list[Loop], index: int, remitted) -> str:
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


def _line_adjudication(line, payer_id: str, adjudication_date: dt.date, line_level_eaf: bool,
                       bundled_into: str = "") -> Loop:
    """2430 for one remitted line: SVD, CAS, DTP*573 and, when the patient's share is reported by
    line, AMT*EAF; tidied as the rest of the claim is (an element from the 835 may end with ":")."""
    segments = [Segment.build("SVD", payer_id, format_amount(line.paid), _svd03(line), "",
                              format_amount(line.paid_units if line.paid_units is not None else _ONE),
                              bundled_into)]
    adjustments = line.adjustments
    if adjustments:
        segments += cas_segments(adjustments)
    segments.append(_dtp573(adjudication_date))
    if line_level_eaf:
        patient = _ZERO
        for adjustment in adjustments:  # sum() with a generator, without the generator
            if adjustment.group == "PR":
                patient += adjustment.amount
        segments.append(_amt("EAF", patient))
    return Loop("2430", tidy_segments(segments))


_ONE, _ZERO = Decimal(1), Decimal(0)
# AMT*D / AMT*EAF by (qualifier, amount): immutable segments, shared; an ERA repeats few amounts (the
# text depends on the value only). Bounded; Decimal keys only (a float must still be refused).
_AMT: dict[tuple[str, Decimal], Segment] = {}


def _amt(qualifier: str, amount: Decimal) -> Segment:
    if type(amount) is not Decimal:  # noqa: E721
        return Segment.build("AMT", qualifier, format_amount(amount))
    key = (qualifier, amount)
    found = _AMT.get(key)
    if found is None:
        found = Segment.build("AMT", qualifier, format_amount(amount))  # refuses NaN before it is kept
        if len(_AMT) >= 8192:
            _AMT.clear()
        _AMT[key] = found
    return found
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


def _add_2430(line: Loop, adjudication: Loop) -> None:
    """`line.add(adjudication)`, answered at once in the usual case: the 2430 goes last (nothing in
    the line sorts after it but a 2440, which Loop.add places it before)."""
    last = line.items[-1] if line.items else None
    order = _order_2400()
    key = order["2430"]
    if last is not None:
        last_key = order.get(last.id if isinstance(last, Loop) else last.tag)
        if last_key is not None and last_key <= key:
            line.items.append(adjudication)
            return
    line.add(adjudication)


@functools.cache
def _order_2400() -> dict[str, tuple[int, int]]:
    return loop_table().specs["2400"].order


@functools.cache
def _order_2300() -> dict[str, tuple[int, int]]:
    return loop_table().specs["2300"].order


@functools.lru_cache(maxsize=64)
def _dtp573(when: dt.date) -> Segment:
    """One segment per date (segments are immutable and shared): every line of every claim of an
    ERA usually carries the same payment date."""
    return Segment.build("DTP", "573", "D8", when.strftime("%Y%m%d"))
