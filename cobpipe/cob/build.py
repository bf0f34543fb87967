"""Build the secondary (or tertiary) 837P claim from the original claim and the adjudication.

The payer that adjudicated moves from 2000B/2010BA/2010BB into a new 2320/2330A/2330B carrying
its adjudication (claim CAS, AMT*D, AMT*EAF, OI, MOA, REF*F8); the next payer moves into
2000B/2010BA/2010BB; each matched line gets a 2430 (SVD, CAS, DTP*573, AMT*EAF). Every other
segment of the original claim is carried over unchanged (005010X222A1; cob-spec §1, §2.3).

This module assembles the claim; the loops carrying the adjudication (2320/2330A/2330B, 2430) and
the whole-cents rule are built in `.adjudication`.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

from edi.segment import STANDARD, Segment, _only_text

from ..claim837.claim import OriginalClaim
from ..claim837.loops import Loop, loop_table, start_segment
from ._make import maker
from .adjudication import (PAYER_SECONDARY_ID_QUALIFIERS, SUBSCRIBER_ID_QUALIFIERS, SVD03_QUALIFIERS, BuildError,
                           adjudicated_line, bundled_into, code, dtp573, line_adjudication, loop_holding,
                           name_and_address, other_payer_loop, require_whole_cents)
from .coverage import Coverage
from .decide import PAYER_LEVELS
from .match import LineMatch
from .remit import RemitClaim
from .tidy import made_tidy, tidy_loop, tidy_segment, tidy_segments

__all__ = ["PAYER_SECONDARY_ID_QUALIFIERS", "SVD03_QUALIFIERS", "BuildError", "NextPayer", "Patient", "build_secondary",
           "code"]  # BuildError, code and the qualifier sets live in .adjudication; imported from here too


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
    # the payer list's eaf_level for this payer: "claim" puts AMT*EAF in the new 2320 alone, never in
    # the 2430s, whatever the lines (some payers read the patient's liability at claim level only)
    eaf_level: str = "line"
    # the 2320 `subscriber` and `payer` are read from, as it holds them (from_2320): the build then
    # knows them tidy when that loop is its tidy original's; no other maker sets it, replace() drops it
    read_from: Loop | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def payer_id(self) -> str:
        return self.payer[0].get(9)

    @classmethod
    def from_2320(cls, loop: Loop) -> "NextPayer":
        sbr = start_segment(loop)
        subscriber = loop.child("2330A")
        payer = loop.child("2330B")
        if sbr is None or subscriber is None or payer is None:
            raise BuildError("the next payer's 2320 lacks its 2330A subscriber or 2330B payer")
        values = (code(sbr, 1), code(sbr, 2) or "18", sbr.get(3), sbr.get(4), code(sbr, 5), code(sbr, 9),
                  name_and_address(subscriber, SUBSCRIBER_ID_QUALIFIERS),
                  name_and_address(payer, PAYER_SECONDARY_ID_QUALIFIERS), loop, "claim 2320", "line")
        # once a converted claim: positionally, without the keyword __init__
        made = _make_next_payer(*values) if cls is NextPayer else cls(*values)
        made.read_from = loop
        return made

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


_make_next_payer = maker(NextPayer)


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
            return cls._of_2000c(original.patient)
        return cls._of_2000b(original.subscriber.child("2010BA"), original.subscriber.segment("PAT"))

    @classmethod
    def _of_2000c(cls, patient: Loop) -> "Patient":
        loop = patient.child("2010CA")
        if loop is None:
            raise BuildError("the original 2000C has no 2010CA patient name")
        address, demographics, extra = _person_parts(loop)
        return cls(start_segment(loop), address, demographics, extra, patient.segment("PAT"))

    @classmethod
    def _of_2000b(cls, loop: Loop | None, pat: Segment | None) -> "Patient":
        """The patient who is the subscriber: the 2000B's 2010BA and PAT, as found."""
        if loop is None:
            raise BuildError("the original 2000B has no 2010BA subscriber")
        address, demographics, _ = _person_parts(loop)
        return cls(start_segment(loop), address, demographics, [], pat)


def _subscriber_parts(loop: Loop) -> tuple[Segment | None, Loop | None, Loop | None, Segment | None]:
    """A 2000B's first SBR, 2010BA, 2010BB and PAT, as Loop.segment and Loop.child find each."""
    sbr = subscriber = payer = pat = None
    for item in loop.items:
        if isinstance(item, Segment):
            tag = item.tag
            if tag == "SBR" and sbr is None:
                sbr = item
            elif tag == "PAT" and pat is None:
                pat = item
        elif isinstance(item, Loop):
            loop_id = item.id
            if loop_id == "2010BA" and subscriber is None:
                subscriber = item
            elif loop_id == "2010BB" and payer is None:
                payer = item
    return sbr, subscriber, payer, pat


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
    require_whole_cents(remit)
    # original.sbr, original.payer, the 2010BA and the 2000B's PAT, found in one read of the 2000B
    prior_sbr, prior_subscriber, prior_payer, subscriber_pat = _subscriber_parts(original.subscriber)
    if prior_sbr is None or prior_payer is None or prior_subscriber is None:
        raise BuildError("the original claim lacks its 2000B SBR, 2010BA or 2010BB")
    if original.patient is None:  # Patient.of(original), and the relationship the original billed
        patient = Patient._of_2000b(prior_subscriber, subscriber_pat)
        prior_relationship = "18"
    else:
        patient = Patient._of_2000c(original.patient)
        prior_pat = patient.pat  # original.patient.segment("PAT"), as Patient.of read it
        prior_relationship = code(prior_pat, 1) if prior_pat else ""

    # the index says when the original's text has nothing tidy_loop would change: its own loops and
    # segments are then carried over without the segment-by-segment look (what is built is still tidied)
    tidy = getattr(original, "indexed_tidy", False) is True
    source = original.claim
    adjustments = remit.adjustments  # most claims carry none at claim level: no generator for nothing
    line_level_eaf = remit.has_lines and next_payer.eaf_level != "claim" and not (
        adjustments and any(a.group == "PR" for a in adjustments))
    payer_id = start_segment(prior_payer).get(9)
    # the new 2300's items but its 2320s, in one read of the original's, which also finds those 2320s
    built, after, others = _claim_items(source, lines, remit, payer_id, adjudication_date, line_level_eaf, tidy)
    # the next payer's NM1/N3/N4/REF as read from one of this tidy original's 2320s: tidy as they are
    read_tidy = tidy and next_payer.read_from in others  # (a Loop is equal only to itself)
    subscriber = _subscriber_loop(original.subscriber, next_payer, patient, tidied=tidy, read_tidy=read_tidy)
    patient_loop = None if next_payer.relationship == "18" else _patient_loop(original, next_payer, patient,
                                                                               tidied=tidy)

    # the 2320 of the payer now billed leaves the claim, whether it or a coverage row named that payer
    kept = []  # (a plain loop: a list comprehension is a function made and called, for one 2320 or none)
    for loop in others:
        if loop is not next_payer.replaces and code(loop.first, 1) != next_payer.level:
            kept.append(loop)
    new_2320 = other_payer_loop(original, remit, prior_sbr, prior_relationship, prior_subscriber, prior_payer,
                                 adjudication_date, others, claim_level_eaf=not line_level_eaf, tidied=tidy)
    if kept:
        payers = [tidy_loop(loop) for loop in sorted(kept + [new_2320],
                                                     key=lambda loop: _level_rank(code(loop.first, 1)))]
    else:  # the usual claim: the original's only 2320 was the next payer's
        payers = [new_2320 if tidy else tidy_loop(new_2320)]
    built[after:after] = payers  # as one block where Loop.add puts each in turn (_claim_items)
    claim = loop_holding("2300", built)
    return OriginalClaim(original.envelope, _tidy_shared(original.header), _tidy_shared(original.billing_provider),
                         subscriber if tidy else tidy_loop(subscriber),
                         patient_loop if tidy else tidy_loop(patient_loop), claim)


def _claim_items(source: Loop, lines: LineMatch, remit: RemitClaim, payer_id: str, adjudication_date: dt.date,
                 line_level_eaf: bool, tidy: bool = False) -> tuple[list, int, list[Loop]]:
    """The new 2300's items but its 2320s: CLM as an original claim, no REF*F8, every 2400 with its
    2430s, everything tidied (tidy_loop's own rule, the same objects when already tidy); the position
    where the 2320s go, as `Loop.add` puts each in turn: as one block after the last item the guide
    orders at or before a 2320 (so after the 2310x loops, before the first 2400); and the original's
    2320s (Loop.children_of("2320"), found in the same read). `tidy`: the source's items are known
    tidy (OriginalClaim.indexed_tidy), carried over without looking; the CLM, when rewritten, is
    still looked at."""
    before_2320, before_2430 = _placement()
    after = -1  # the position in `built` after which the 2320s go
    items = source.items
    clm = start_segment(source)
    if clm is None:
        raise BuildError("the original 2300 does not start with CLM")
    matches = lines.matches
    count = len(matches)
    # the usual claim: remitted line i adjudicates billed line i (by_line stays None); else each
    # billed line's remitted lines, in the 835's order
    by_line: dict[int, list[int]] | None = None
    if count and matches != _in_order(count):
        by_line = {}
        for remitted, billed in enumerate(matches):
            if billed is not None:
                by_line.setdefault(billed, []).append(remitted)
    dtp = None
    if count:
        try:  # the 2430s' DTP*573, made once a claim
            dtp = dtp573(adjudication_date)
        except (AttributeError, TypeError, ValueError):  # not a date: line_adjudication raises it in its turn
            pass
    remitted_lines = remit.lines if count else ()
    built: list[Segment | Loop] = []
    append = built.append
    others: list[Loop] = []
    position = 0  # the 2400's index among the claim's lines (billed_lines' order)
    for number, item in enumerate(items):
        if isinstance(item, Segment):
            if number == 0:  # the CLM (source.first)
                item = _as_original_frequency(clm)
            elif item.tag == "REF" and item.get(1) == "F8":
                continue  # 2300 REF*F8 is for replacing a claim at the same payer, not for COB
            if tidy and (number or item is clm):  # (a rewritten CLM is looked at)
                append(item)
            else:
                elements = item.elements
                if item.delimiters is STANDARD and elements and elements[-1] != "" \
                        and ":*" not in "*".join(elements) + "*":
                    append(item)  # tidy_loop's usual case, inlined
                else:
                    append(tidy_segment(item))
            if item.tag in before_2320:
                after = len(built)
            continue
        loop_id = item.id
        if loop_id != "2400":
            if loop_id == "2320":
                others.append(item)  # put back by the caller, with the new one, in payer order
                continue
            append(item if tidy else tidy_loop(item))
            if loop_id in before_2320:
                after = len(built)
            continue
        index, position = position, position + 1
        if by_line is None:
            if index >= count:
                append(item if tidy else tidy_loop(item))
                continue
            paid_lines = None  # this line's one remitted line: `index`
        else:
            paid_lines = by_line.get(index)
            if not paid_lines:
                append(item if tidy else tidy_loop(item))
                continue
        line = _new_object(Loop)  # Loop("2400") with the tidied line's items, the 2430s added below
        line.id = "2400"
        line_items = line.items = [*(item.items if tidy else tidy_loop(item).items)]
        last = line_items[-1] if line_items else None
        # Loop.add's place for a 2430 is the end when the line's last item orders at or before it
        at_end = last is not None and (last.id if isinstance(last, Loop) else last.tag) in before_2430
        for remitted in (index,) if paid_lines is None else paid_lines:
            paid = remitted_lines[remitted]
            into = ""  # SVD06
            billed_code = paid.original_code  # a RemitLine is its own `match`: read without the property
            if billed_code and billed_code != paid.code and (paid_lines is None or len(paid_lines) == 1):
                into = bundled_into(source.children_of("2400"), index, paid)  # else none: no look
            if dtp is not None:
                adjudication = adjudicated_line(paid, payer_id, dtp, line_level_eaf, into)
            else:
                adjudication = line_adjudication(paid, payer_id, adjudication_date, line_level_eaf, into)
            if at_end:  # and so it stays: the 2430 just added orders at the 2430's place
                line_items.append(adjudication)
            else:
                _add_2430(line, adjudication)
        append(line)
    if after < 0:  # nothing orders before a 2320: Loop.add's place, after a start segment
        after = 1 if built and isinstance(built[0], Segment) else 0
    return built, after, others


_IN_ORDER = [list(range(n)) for n in range(100)]


def _in_order(count: int) -> list[int]:
    """[0, 1, ..., count - 1]: the matches of a claim whose lines came back in the billed order."""
    return _IN_ORDER[count] if count < 100 else list(range(count))


@functools.cache
def _placement() -> tuple[frozenset[str], frozenset[str]]:
    """What the guide orders at or before a 2320 in a 2300, and at or before a 2430 in a 2400
    (segment tags and loop ids, as Loop.add compares them): one set look-up an item."""
    order_2300, order_2400 = _order_2300(), _order_2400()
    key_2320, key_2430 = order_2300["2320"], order_2400["2430"]
    return (frozenset(name for name, key in order_2300.items() if key <= key_2320),
            frozenset(name for name, key in order_2400.items() if key <= key_2430))


_new_object = object.__new__
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


def _level_rank(level: str) -> int:
    rank = PAYER_LEVELS.find(level)
    return rank if rank >= 0 else len(PAYER_LEVELS)


def _as_original_frequency(clm: Segment) -> Segment:
    """CLM05-3 = 1: to the next payer this is a new claim, not a replacement (practice; cob-spec §1)."""
    elements = clm.elements  # clm.composite(5), read here
    value = elements[4] if len(elements) > 4 else ""
    parts = value.split(clm.delimiters.component) if value else ()
    if len(parts) >= 3 and parts[2] != "1":
        parts[2] = "1"
        return clm.replace_element(5, clm.delimiters.component.join(parts))
    return clm


def _subscriber_loop(original: Loop, next_payer: NextPayer, patient: Patient, tidied: bool = False,
                     read_tidy: bool = False) -> Loop:
    """The new 2000B. `tidied`: the original is known tidy (OriginalClaim.indexed_tidy): the loop comes
    back as `tidy_loop` would give it, only what does not come from the original looked at (the
    SBR made of the next payer's values, the next payer's NM1/N3/N4/REF, which a coverage row may
    have given, unless `read_tidy`: read from the original's own 2320); the HL, the patient's address
    and DMG and the PAT made of the original's are tidy."""
    hl = start_segment(original)
    elements = (next_payer.level, "18" if next_payer.relationship == "18" else "", next_payer.group_number,
                next_payer.group_name, next_payer.insurance_type, "", "", "", next_payer.filing_indicator)
    if elements[8] and _only_text(elements):  # the usual SBR: SBR09 there, texts
        sbr = made_tidy("SBR", elements, tidied)
    else:
        sbr = Segment.build("SBR", *elements)
        if tidied:
            sbr = tidy_segment(sbr)
    subscriber_segments, payer_segments = next_payer.subscriber, next_payer.payer
    if tidied and not read_tidy:
        subscriber_segments, payer_segments = _tidied(subscriber_segments), _tidied(payer_segments)
    items: list[Segment | Loop] = [hl, sbr]
    if next_payer.relationship == "18" and patient.pat is not None and any(patient.pat.elements[4:]):
        items.append(Segment("PAT", ("", "", "", "", *patient.pat.elements[4:]), delimiters=patient.pat.delimiters))
    name, *rest = subscriber_segments
    subscriber = [name]
    addresses = [s for s in rest if s.tag in ("N3", "N4")] if rest else rest  # (often the NM1 alone)
    if next_payer.relationship == "18":
        # 2010BA N3/N4/DMG are required when the subscriber is the patient
        subscriber += addresses or patient.address
        if patient.demographics is not None:
            subscriber.append(patient.demographics)
    else:
        subscriber += addresses
    if rest:
        subscriber += [s for s in rest if s.tag == "REF"]
    items += (loop_holding("2010BA", subscriber), loop_holding("2010BB", [*payer_segments]))
    return loop_holding("2000B", items)


def _tidied(segments: list[Segment]) -> list[Segment]:
    return tidy_segments(segments) if type(segments) is list else [tidy_segment(s) for s in segments]  # noqa: E721


def _patient_loop(original: OriginalClaim, next_payer: NextPayer, patient: Patient, tidied: bool = False) -> Loop:
    """The new 2000C. `tidied`: as for `_subscriber_loop`; only the PAT, whose PAT01 is the next
    payer's relationship code, is looked at."""
    hl = start_segment(original.patient) if original.patient is not None else _NEW_2000C_HL
    tail = patient.pat.elements[4:] if patient.pat is not None else ()
    relationship = next_payer.relationship
    if not tail and relationship and relationship.__class__ is str:
        pat = made_tidy("PAT", (relationship,), tidied)  # the usual PAT, PAT01 alone (its empty 02-04 dropped)
    else:
        pat = Segment.build("PAT", relationship, "", "", "", *tail)
        if tidied:
            pat = tidy_segment(pat)
    name = patient.name
    given = (*name.elements, *_SEVEN_EMPTY)  # NM101..NM107: name.get(1)...get(7) without a call each
    if given[0] != "QC":
        name = Segment.build("NM1", "QC", "1", given[2], given[3], given[4], "", given[6])
    segments = [name, *patient.address]
    if patient.demographics is not None:
        segments.append(patient.demographics)
    segments += patient.extra
    return loop_holding("2000C", [hl, pat, loop_holding("2010CA", segments)])


_SEVEN_EMPTY = ("",) * 7

# the HL of a 2000C made for a claim whose original has none (~1 built claim in 4): the same segment
# for each (a segment is immutable), not Segment.build's anew (~7k instructions); the writer writes
# its own HL with the numbers in its place
_NEW_2000C_HL = Segment.build("HL", "", "", "23", "0")


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
