"""CAS adjustments as the 837P carries them: one group per segment, at most 6 triplets a segment,
at most 5 segments a loop (005010X222A1 2320 and 2430 CAS)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from edi.segment import STANDARD, Segment, _make_segment
from edi.writer import format_amount

from .tidy import tidy_segment, tidy_segments

TRIPLETS_PER_SEGMENT = 6
SEGMENTS_PER_LOOP = 5
GROUP_CODES_837 = ("CO", "CR", "OA", "PI", "PR")


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One CAS triplet: group (CAS01), reason (CARC), amount, optional quantity."""

    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None = None


class CasDoesNotFit(ValueError):
    """More adjustments than 5 CAS segments of 6 triplets can carry; never drop one to make it fit."""


def cas_segments(adjustments: Iterable[Adjustment]) -> list[Segment]:
    """Pack adjustments verbatim into CAS segments, groups in first-seen order.

    Zero amounts are left out: the 837P forbids CAS amounts of 0 [RFI 1865, 2353] and a zero
    adjustment carries no money. Raises CasDoesNotFit when more than 5 segments are needed.
    """
    if type(adjustments) is list or type(adjustments) is tuple:  # noqa: E721 - a remitted line's own list
        count = len(adjustments)
        # a line's usual one triplet, or two of different groups (CO-45, PR-2): one segment each, in
        # their order, without the grouping; every zero test first, as the grouping makes them
        if count == 1:
            adj = adjustments[0]
            return [] if adj.amount == 0 else [_one_triplet(adj)]
        if count == 2:
            first, second = adjustments
            if first.group != second.group:
                keep_first, keep_second = first.amount != 0, second.amount != 0
                if keep_first and keep_second:
                    return [_one_triplet(first), _one_triplet(second)]
                return [_one_triplet(first)] if keep_first else [_one_triplet(second)] if keep_second else []
    by_group: dict[str, list[Adjustment]] = {}
    for adj in adjustments:
        if adj.amount == 0:
            continue
        items = by_group.get(adj.group)
        if items is None:
            by_group[adj.group] = [adj]
        else:
            items.append(adj)
    segments: list[Segment] = []
    for group, items in by_group.items():
        if len(items) == 1:  # a line's usual CO-45, PR-2: one triplet, one segment
            segments.append(_one_triplet(items[0]))
            continue
        for start in range(0, len(items), TRIPLETS_PER_SEGMENT):
            values: list[str] = [group]
            for adj in items[start:start + TRIPLETS_PER_SEGMENT]:
                quantity = adj.quantity
                values += (adj.reason, format_amount(adj.amount), "" if quantity is None else format_amount(quantity))
            segments.append(Segment.build("CAS", *values))
    if len(segments) > SEGMENTS_PER_LOOP:
        raise CasDoesNotFit(f"{len(segments)} CAS segments needed, the 837P allows {SEGMENTS_PER_LOOP}")
    return segments


_PLAIN_DIGITS = frozenset("-.0123456789")
_TIDY_TRIPLETS: dict[tuple[str, str, str], "Triplet | None"] = {}  # (group, reason, str(amount)) -> CAS or None


def tidy_cas_segments(adjustments: Iterable[Adjustment]) -> list[Segment]:
    """`tidy_segments(cas_segments(adjustments))`, a line's usual one triplet or two of different
    groups (no quantity, a plain finite Decimal amount) answered from segments remembered by
    (group, reason, amount text): an ERA repeats most of them (CO-45 of one fee, PR-2 of one
    copay; ~3 in 4 at 10k), and a segment is immutable. Anything else goes the reference way."""
    if type(adjustments) is list or type(adjustments) is tuple:  # noqa: E721
        written = tidy_cas_written(adjustments)  # one triplet, or two of different groups, remembered
        if written is not None:
            return [*written[0]]
        made = _grouped_remembered(adjustments)
        if made is not None:
            return made
    return tidy_segments(cas_segments(adjustments))


_END = STANDARD.segment + STANDARD.suffix  # what follows each segment's body in standard delimiters
_NOTHING: tuple[tuple[Segment, ...], str, int] = ((), "", 0)


def tidy_cas_written(adjustments: list[Adjustment] | tuple[Adjustment, ...]
                     ) -> tuple[tuple[Segment, ...], str, int] | None:
    """`tidy_cas_segments(adjustments)` (as a tuple) with the text the writer writes for them in
    standard delimiters (each body followed by terminator and suffix) and the element separators it
    holds, for a line's usual one triplet or
    two of different groups, remembered with their text; None for anything else (the caller asks
    tidy_cas_segments and writes them itself)."""
    if type(adjustments) is not list and type(adjustments) is not tuple:  # noqa: E721
        return None
    count = len(adjustments)
    by_object = _BY_OBJECT.get
    if count == 1:
        adj = adjustments[0]
        kept = by_object(id(adj))
        made = kept[1] if kept is not None and kept[0] is adj else _remembered_triplet(adj)
        if made is None:
            return _NOTHING
        if made is not _UNKNOWN:
            return made
    elif count == 2:
        first, second = adjustments
        if first.group != second.group:
            kept = by_object(id(first))
            one = kept[1] if kept is not None and kept[0] is first else _remembered_triplet(first)
            kept = by_object(id(second))
            two = kept[1] if kept is not None and kept[0] is second else _remembered_triplet(second)
            if one is not _UNKNOWN and two is not _UNKNOWN:
                if one is not None and two is not None:  # the usual CO-45 and PR-2
                    return (*one[0], *two[0]), f"{one[1]}{two[1]}", one[2] + two[2]
                if one is None:
                    one = two
                return _NOTHING if one is None else one
    return None


def _grouped_remembered(adjustments: list[Adjustment] | tuple[Adjustment, ...]) -> list[Segment] | None:
    """`tidy_segments(cas_segments(adjustments))` made from each triplet's remembered tidy one-triplet
    CAS (a line's CO-45 with PR-1 and PR-2; ~1 line in 14 at 10k, ~40k instructions each the
    reference way): a group of one triplet is that segment, a group of several joins their reason
    and amount texts (tidied already; the empty quantity between triplets stays, the last one is
    dropped as Segment.build drops it). None, for the reference way, when a triplet is not a plain
    one (`_UNKNOWN`: a quantity, an amount not a plain finite Decimal), a group needs a second
    segment (more than 6 triplets) or there are more than 5 segments (CasDoesNotFit)."""
    by_object = _BY_OBJECT.get
    by_group: dict[str, list[Segment]] = {}
    for adj in adjustments:
        kept = by_object(id(adj))
        made = kept[1] if kept is not None and kept[0] is adj else _remembered_triplet(adj)
        if made is _UNKNOWN:
            return None
        if made is None:  # an amount of 0: left out, as cas_segments leaves it out
            continue
        items = by_group.get(adj.group)
        if items is None:
            by_group[adj.group] = [*made[0]]
        else:
            items.append(made[0][0])
    if len(by_group) > SEGMENTS_PER_LOOP:
        return None
    segments: list[Segment] = []
    for items in by_group.values():
        if len(items) == 1:
            segments.append(items[0])
            continue
        if len(items) > TRIPLETS_PER_SEGMENT:
            return None
        values = [items[0].elements[0]]  # the group as its tidied one-triplet CAS writes it
        for one in items:
            values += (one.elements[1], one.elements[2], "")
        values.pop()
        segments.append(_make_segment("CAS", tuple(values), 0, 0, STANDARD))
    return segments


_UNKNOWN = object()
# a remembered tidy one-triplet CAS as tidy_cas_written answers it: ((the segment,), its text in
# standard delimiters, terminator and suffix included, its element count)
Triplet = tuple[tuple[Segment], str, int]
# the same answers by the Adjustment object itself: the fast 835 read (remits_text._cas) hands one
# frozen Adjustment for every CAS of the same text, so most triplets are met again as the same
# object and found here without str() of the amount and the hash of a fresh (group, reason, text)
# key, ~2/3 of the look-up's cost. The entry holds the object, so its id is not reused meanwhile.
_BY_OBJECT: dict[int, tuple[Adjustment, Triplet | None]] = {}


def _remembered_triplet(adj: Adjustment) -> Triplet | None | object:
    """The tidied one-triplet CAS of `adj` with its text, None when its amount is 0 (left out),
    `_UNKNOWN` when it is not a plain finite Decimal without quantity (the zero test or the format
    could raise: the caller then goes the reference way, which raises what it raises in its own
    order). Asked by tidy_cas_segments when `_BY_OBJECT` holds no answer for `adj` (it looks there
    itself, inline)."""
    amount = adj.amount
    if adj.quantity is not None or type(amount) is not Decimal:  # noqa: E721
        return _UNKNOWN
    key = (adj.group, adj.reason, str(amount))  # str() of a Decimal is exact: it names the value and exponent
    made = _TIDY_TRIPLETS.get(key, _UNKNOWN)
    if made is _UNKNOWN:
        if not _PLAIN_DIGITS.issuperset(key[2]):  # NaN, sNaN, Infinity, 1E+1: the reference way
            return _UNKNOWN
        if not amount:  # 0 (a plain finite Decimal here: its truth is amount != 0)
            made = None
        else:
            # format_amount(amount) from the str() in hand: plain digits, no exponent, not zero
            text = key[2]
            if "." in text:
                text = text.rstrip("0").rstrip(".")
            made = _triplet_written(adj.group, adj.reason, text)
        if len(_TIDY_TRIPLETS) >= 16384:
            _TIDY_TRIPLETS.clear()
        _TIDY_TRIPLETS[key] = made
    if adj.__class__ is Adjustment:  # frozen: its answer never changes (a subclass may not be)
        if len(_BY_OBJECT) >= 16384:
            _BY_OBJECT.clear()
        _BY_OBJECT[id(adj)] = (adj, made)
    return made


def _triplet_written(group: str, reason: str, amount: str) -> Triplet:
    """The tidy one-triplet CAS of these texts (the amount's never empty, never ends with ":"), its
    text and element count: tidied only when the group or reason ends with the component separator,
    the one thing tidy_segment changes in it."""
    segment = _make_segment("CAS", (group, reason, amount), 0, 0, STANDARD)
    if group[-1:] != ":" and reason[-1:] != ":":
        return (segment,), f"CAS*{group}*{reason}*{amount}{_END}", 3
    segment = tidy_segment(segment)
    elements = segment.elements
    return (segment,), f"{'*'.join(('CAS', *elements))}{_END}", len(elements)


def _one_triplet(adj: Adjustment) -> Segment:
    """`Segment.build("CAS", group, reason, amount[, quantity])` made directly: the amount's text is never
    empty, so nothing trails to drop (group and reason are the 835's text, str)."""
    quantity = adj.quantity
    if quantity is None:
        return _make_segment("CAS", (adj.group, adj.reason, format_amount(adj.amount)), 0, 0, STANDARD)
    return _make_segment("CAS", (adj.group, adj.reason, format_amount(adj.amount), format_amount(quantity)), 0, 0,
                         STANDARD)


def adjustments_of(segment: Segment) -> list[Adjustment]:
    """The triplets of one CAS segment (ours or a reader's), amounts as Decimal."""
    out: list[Adjustment] = []
    group = segment.get(1)
    for start in range(2, 19, 3):
        reason = segment.get(start)
        if not reason:
            continue
        amount = Decimal(segment.get(start + 1) or "0")
        quantity_text = segment.get(start + 2)
        out.append(Adjustment(group, reason, amount, Decimal(quantity_text) if quantity_text else None))
    return out


def merge_same_reason(adjustments: Iterable[Adjustment]) -> list[Adjustment]:
    """Sum adjustments sharing group and reason (split claims: one CAS per reason across parts)."""
    merged: dict[tuple[str, str], Adjustment] = {}
    for adj in adjustments:
        key = (adj.group, adj.reason)
        if key in merged:
            prev = merged[key]
            quantity = None
            if prev.quantity is not None or adj.quantity is not None:
                quantity = (prev.quantity or 0) + (adj.quantity or 0)
            merged[key] = Adjustment(adj.group, adj.reason, prev.amount + adj.amount, quantity)
        else:
            merged[key] = adj
    return list(merged.values())
