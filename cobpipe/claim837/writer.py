"""Write claims as one 837P interchange: fresh envelopes, BHT, 1000A/1000B and a rebuilt HL tree.

Consecutive claims with the same billing provider (2000A + 2010AA/AB/AC content) share one 2000A
HL; consecutive claims with the same subscriber (2000B + 2010BA/BB content) under it share one
2000B HL; consecutive claims for the same patient share one 2000C HL. Nothing is sorted, so the
writer streams: claims from `iter_claims` already arrive grouped.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

from edi.errors import EdiError
from edi.segment import STANDARD, Delimiters, Segment, _make_segment
from edi.writer import (_ENVELOPE_TAGS, ControlNumberSource, InterchangeSettings, InterchangeWriter, TransactionWriter,
                        body_text)

from .claim import OriginalClaim
from .loops import Loop, segment_key

DEFAULT_VERSION = "005010X222A1"
MAX_CLAIMS_PER_TRANSACTION = 5000
"""The 837 TR3 recommends at most 5000 CLM segments per ST-SE, and clearinghouses enforce it: a
larger output is written as several transaction sets in the one functional group."""


@dataclass(slots=True)
class WriteSummary:
    """What `write_claims_837` wrote."""

    claims: int = 0
    billing_providers: int = 0  # 2000A HLs
    subscribers: int = 0  # 2000B HLs
    patients: int = 0  # 2000C HLs
    segments: int = 0  # ST..SE, SE01 (summed over the transaction sets)
    bht_reference: str = ""  # BHT03 of the first transaction set
    control_numbers: list[tuple[str, int]] = field(default_factory=list)  # ('ISA', 7), ('GS', 7), ('ST', 7)
    transactions: list[tuple[int, int]] = field(default_factory=list)  # (ST02, claims in it), in file order

    @property
    def isa13(self) -> int | None:
        return self._number("ISA")

    @property
    def gs06(self) -> int | None:
        return self._number("GS")

    @property
    def st02(self) -> int | None:
        return self._number("ST")

    def _number(self, kind: str) -> int | None:
        return next((n for k, n in self.control_numbers if k == kind), None)


def _context_key(loop: Loop) -> tuple:
    """Content of an HL loop without its HL segment (whose ids are renumbered anyway): equal keys,
    equal segments once written in standard delimiters. `_Level.matches` compares the same."""
    return tuple(_segment_key(s) for s in _after_hl(loop))


def _segment_key(segment: Segment) -> tuple[str, tuple[str, ...]]:
    """`segment_key` without writing the text: in standard delimiters a segment's text is its tag and
    elements joined (a value holding a delimiter fails when the segment is written)."""
    delimiters = segment.delimiters
    if delimiters.component == STANDARD.component and delimiters.repetition == STANDARD.repetition:
        return segment.tag, segment.elements
    tag, *elements = segment_key(segment)[:-len(STANDARD.segment + STANDARD.suffix)].split(STANDARD.element)
    return tag, tuple(elements)


def _after_hl(loop: Loop) -> list[Segment]:
    """The segments `_context_key` is made of: all of the loop's but a first HL."""
    segments = loop.all_segments()
    if segments and segments[0].tag == "HL":
        del segments[0]
    return segments


def write_claims_837(claims: Iterable[OriginalClaim], stream: TextIO, settings: InterchangeSettings,
                     numbers: ControlNumberSource, delimiters: Delimiters = STANDARD,
                     now: dt.datetime | None = None, transaction_version: str = DEFAULT_VERSION, *,
                     submitter: Loop | None = None, receiver: Loop | None = None,
                     reference: str | None = None,
                     claims_per_transaction: int | None = None) -> WriteSummary:
    """Write `claims` as ONE interchange / group holding 837 transaction sets (TR3 005010X222A1) of
    at most `claims_per_transaction` claims each (default MAX_CLAIMS_PER_TRANSACTION), every one
    with its own BHT, 1000A/1000B and HL tree numbered from 1.

    BHT*0019*00*<reference>*<date>*<time>*CH; `reference` defaults to ISA13 + ST02, unique per
    sender/receiver (a given `reference` gets -2, -3... in the later sets). 1000A/1000B
    (`submitter`, `receiver`) default to the first claim's. Writes nothing and returns an empty
    summary when there are no claims.
    """
    per_set = MAX_CLAIMS_PER_TRANSACTION if claims_per_transaction is None else claims_per_transaction
    if per_set < 1:
        raise ValueError("claims_per_transaction must be at least 1")
    iterator = iter(claims)
    first = next(iterator, None)
    summary = WriteSummary()
    if first is None:
        return summary
    submitter = submitter if submitter is not None else first.submitter
    receiver = receiver if receiver is not None else first.receiver
    if submitter is None or receiver is None:
        missing = "1000A submitter" if submitter is None else "1000B receiver"
        raise EdiError(f"no {missing} loop to write (the first claim has none)", path=first.source or None,
                       claim=first.id)
    now = now or dt.datetime.now()
    with InterchangeWriter(stream, settings, numbers, delimiters, now) as ix:
        with ix.group("HC", transaction_version) as group:
            pending: OriginalClaim | None = first
            while pending is not None:
                with group.transaction("837", transaction_version) as ts:
                    ref = f"{ix.control:09d}{ts.control}" if reference is None else _nth_reference(
                        reference, len(summary.transactions) + 1)
                    summary.bht_reference = summary.bht_reference or ref
                    ts.write(Segment.build("BHT", "0019", "00", ref, now.strftime("%Y%m%d"),
                                           now.strftime("%H%M"), "CH"))
                    ts.write_all(submitter.iter_segments())
                    ts.write_all(receiver.iter_segments())
                    before = summary.claims
                    pending = _write_hierarchy(pending, iterator, ts, summary, per_set)
                summary.segments += ts.count
                summary.transactions.append((int(ts.control), summary.claims - before))
    summary.control_numbers = list(ix.control_numbers)
    return summary


def _nth_reference(reference: str, n: int) -> str:
    """BHT03 of the n-th transaction set when the caller named the first: unique, at most 30 characters."""
    if n == 1:
        return reference
    suffix = f"-{n}"
    return reference[:30 - len(suffix)] + suffix


def _plain_output(delimiters: Delimiters) -> bool:
    """Whether a segment in STANDARD delimiters is written in `delimiters` without translating its
    composites or repetitions (serialize's test), so its text is its tag and elements joined."""
    return delimiters.component == STANDARD.component and (
        delimiters.repetition is None or delimiters.repetition == STANDARD.repetition)


class _NotPlain(Exception):
    """A segment that `_PlainText` leaves to `body_text`: in other delimiters than STANDARD, of a
    Segment subclass, or with an envelope tag (an item neither Segment nor Loop too)."""


def _bodies(items: list, append, separator: str, copy: bool, segment_class: type = Segment,
            standard: Delimiters = STANDARD, envelope: frozenset[str] = _ENVELOPE_TAGS,
            loop_class: type = Loop) -> int:
    """Append the text of every segment in `items`, child loops walked in place (`Loop._collect`'s
    order) without terminators, to `append`; returns how many element separators they hold if
    no value holds one. Raises _NotPlain for a segment the reference must write. With `copy`, a
    segment's own `text` is taken when it has one (it is the join when its delimiters are STANDARD
    and the output's element separator is STANDARD's), and a segment made without the slot raises
    AttributeError. (The tag and the joined elements are added: cheaper than joining a tuple.)"""
    separators = 0
    join = separator.join
    for item in items:
        if item.__class__ is segment_class:
            tag = item.tag
            if item.delimiters is not standard or tag in envelope:
                raise _NotPlain
            elements = item.elements
            text = item.text if copy else None
            if elements:
                separators += len(elements)
                append(tag + separator + join(elements) if text is None else text)
            else:
                append(tag)
        elif isinstance(item, loop_class):
            separators += _bodies(item.items, append, separator, copy)
        else:
            raise _NotPlain
    return separators


class _PlainText:
    """`body_text` of the segments of a loop's items (loops walked), made without a list of the
    segments and without `serialize`'s per-segment checks, for segments in STANDARD delimiters
    written in delimiters for which `_plain_output` holds. The checks are made on the joined text
    (every element separator and terminator is one the join put there: no value holds one, so the
    text is `serialize`'s); None when any fails or any segment needs more (the caller then takes
    `body_text`, which writes or names the problem as before)."""

    __slots__ = ("delimiters", "plain", "copy")

    def __init__(self, delimiters: Delimiters) -> None:
        self.delimiters = delimiters
        self.plain = _plain_output(delimiters)
        # a segment's own text is the join in STANDARD delimiters: copied when the output's element
        # separator is STANDARD's too; not tried again in this write once a segment had no slot
        self.copy = self.plain and delimiters.element == STANDARD.element

    def __call__(self, items: list) -> tuple[str, int] | None:
        if not self.plain:
            return None
        delimiters = self.delimiters
        bodies: list[str] = []
        try:
            try:
                separators = _bodies(items, bodies.append, delimiters.element, self.copy)
            except AttributeError:  # a segment made without `text` (the reader's): join them all
                self.copy = False
                bodies.clear()
                separators = _bodies(items, bodies.append, delimiters.element, False)
        except _NotPlain:
            return None
        count = len(bodies)
        if not count:
            return "", 0
        terminator = delimiters.segment
        end = terminator + delimiters.suffix
        text = end.join(bodies) + end
        # (a value holding the suffix is written as serialize writes it: the suffix is layout only)
        if text.count(delimiters.element) != separators or text.count(terminator) != count:
            return None
        return text, count


def _after_hl_items(loop: Loop) -> list | None:
    """The items of `loop` whose segments the writer writes after the loop's own HL (which is
    renumbered): all but a first HL segment; None when the loop does not start with a plain
    Segment (the reference decides; a loop starting with a child loop has all its segments written)."""
    items = loop.items
    if not items:
        return items
    head = items[0]
    if head.__class__ is not Segment:
        return None
    return items[1:] if head.tag == "HL" else items


def _same_content(segments: list[Segment], before: list[Segment] | None, same_kind: bool) -> bool:
    """The reference comparison of an HL loop's segments after its HL with the open HL's (`before`,
    None when no HL is open): `_context_key` equal, compared segment by segment and stopping at the
    first difference; a segment in other delimiters written out in STANDARD ones (which raises
    DelimiterCollisionError for a value holding a STANDARD delimiter, open HL or not)."""
    if not all(s.delimiters is STANDARD for s in segments):  # rare: keys written out, as before
        key = tuple(_segment_key(s) for s in segments)
        return before is not None and same_kind and key == tuple(_segment_key(s) for s in before)
    if before is None or not same_kind or len(before) != len(segments):
        return False
    for new, old in zip(segments, before):
        if new is old:
            continue
        if old.delimiters is STANDARD:
            if new.tag != old.tag or new.elements != old.elements:
                return False
        elif _segment_key(new) != _segment_key(old):
            return False
    return True


class _Level:
    """The last HL loop seen at one level (2000A, 2000B or 2000C), to merge consecutive claims:
    its text after the HL in the output delimiters when `_PlainText` makes it, else its segments."""

    __slots__ = ("loop", "segments", "text", "seen", "hl_id", "kind", "plain_text")

    def __init__(self, plain_text: _PlainText | None = None) -> None:
        self.plain_text = plain_text or _PlainText(STANDARD)
        self.reset()

    def reset(self) -> None:
        self.loop: Loop | None = None
        self.seen = False  # an HL is open at this level: `loop` is its content
        self.segments: list[Segment] | None = None  # the loop's segments after its HL, when collected
        self.text: tuple[str, int] | None = None  # `_PlainText` of them, when plain
        self.hl_id = 0
        self.kind = False

    def matches(self, loop: Loop, kind: bool = False) -> bool:
        """Whether `loop` has the content of the open HL (`_context_key` equal, and the same `kind`);
        remembers `loop` for the next call and for `open`. Two plain texts are compared as texts
        (a plain text is the segments' tags and elements, unambiguously: equal texts, equal keys);
        anything else the reference way, `_same_content`."""
        if self.seen and self.loop is loop:
            return self.kind == kind  # loops shared by claims read from one HL: same object
        before_loop, before_segments, before_text, seen = self.loop, self.segments, self.text, self.seen
        plain_text = self.plain_text
        items = _after_hl_items(loop) if plain_text.plain else None
        text = plain_text(items) if items is not None else None
        self.loop, self.seen, self.text, self.segments = loop, True, text, None
        if text is not None and before_text is not None:
            return self.kind == kind and text[0] == before_text[0]
        segments = self.segments = _after_hl(loop)
        if seen and before_segments is None:
            before_segments = _after_hl(before_loop)  # type: ignore[arg-type]
        return _same_content(segments, before_segments if seen else None, self.kind == kind)

    def open(self, parts: list, hl_id: int, level: str, parent: int | None, has_children: bool) -> int:
        """Open an HL for the loop `matches` just answered False for: its HL segment (HL01 `hl_id`,
        HL02 `parent`, HL04 whether children follow) and its segments appended to `parts` (texts,
        or segment lists `body_text` writes later); returns how many segments."""
        self.hl_id = hl_id
        values = (str(hl_id), str(parent) if parent else "", level, "1" if has_children else "0")
        plain_text = self.plain_text
        delimiters = plain_text.delimiters
        body = delimiters.element.join(("HL", *values))
        if plain_text.plain and body.count(delimiters.element) == 4 and delimiters.segment not in body:
            parts.append(body + delimiters.segment + delimiters.suffix)  # serialize's text of the HL
        else:  # Segment.build's result for these values (HL04 is never empty: nothing to drop)
            parts.append([_make_segment("HL", values, 0, 0, STANDARD)])
        loop = self.loop
        items = loop.items  # type: ignore[union-attr]
        if self.text is not None:
            parts.append(self.text[0])
            return 1 + self.text[1]
        if items and not isinstance(items[0], Segment):
            # what follows the loop's own HL segment (an HL in a child loop first is written, though
            # `_context_key` leaves it out)
            segments = loop.all_segments()  # type: ignore[union-attr]
        else:
            segments = self.segments if self.segments is not None else _after_hl(loop)  # type: ignore[arg-type]
        parts.append(segments)
        return 1 + len(segments)


def _write_hierarchy(first: OriginalClaim, rest: Iterator[OriginalClaim], ts: TransactionWriter,
                     summary: WriteSummary, limit: int) -> OriginalClaim | None:
    """Write `first` and the claims after it into `ts`, `limit` at most; returns the claim read but
    not written (it opens the next transaction set), or None when `rest` ran out. A claim's new HL
    loops and its 2300 are one text and one stream write; what `_PlainText` makes is not made
    again by `body_text`, which writes the rest (and raises for it, in the claim's segment order)."""
    delimiters = ts.group.interchange.delimiters
    plain_text = _PlainText(delimiters)
    billing, subscriber, patient = _Level(plain_text), _Level(plain_text), _Level(plain_text)
    next_id = 1
    claim: OriginalClaim | None = first
    written = 0
    while claim is not None:
        if written == limit:
            return claim
        written += 1
        has_patient = claim.patient is not None
        parts: list = []  # the claim's new HL loops, then its 2300: texts, or segments to serialize
        count = 0
        if not billing.matches(claim.billing_provider):
            count += billing.open(parts, next_id, "20", None, True)
            next_id += 1
            summary.billing_providers += 1
            subscriber.reset()
            patient.reset()
        # a subscriber HL holds either claims (subscriber is the patient) or patient HLs (HL04=1)
        if not subscriber.matches(claim.subscriber, has_patient):
            count += subscriber.open(parts, next_id, "22", billing.hl_id, has_patient)
            next_id += 1
            subscriber.kind = has_patient
            summary.subscribers += 1
            patient.reset()
        if claim.patient is not None and not patient.matches(claim.patient):
            count += patient.open(parts, next_id, "23", subscriber.hl_id, False)
            next_id += 1
            summary.patients += 1
        text = plain_text(claim.claim.items)
        if text is None:
            segments = claim.claim.all_segments()
            parts.append(segments)
            count += len(segments)
        else:
            parts.append(text[0])
            count += text[1]
        ts.write_text("".join([p if p.__class__ is str else body_text(p, delimiters) for p in parts]), count)
        summary.claims += 1
        claim = next(rest, None)
    return None
