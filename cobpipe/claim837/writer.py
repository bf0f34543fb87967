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
from edi.writer import (ControlNumberSource, InterchangeSettings, InterchangeWriter, TransactionWriter, body_text,
                        tree_text)

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


class _HlWriter:
    """Emits HL loops with HL01 renumbered 1..n, HL02 parents and HL04 child codes."""

    def __init__(self, ts: TransactionWriter) -> None:
        self.ts = ts
        self.next_id = 1

    def open(self, loop: Loop, level: str, parent: int | None, has_children: bool,
             segments: list[Segment] | None = None) -> int:
        """Write the HL loop; `segments` are the loop's segments after its HL when the caller has
        them already (`_Level.matches` collected them)."""
        out: list[Segment] = []
        hl_id = self.add(out, loop, level, parent, has_children, segments)
        self.ts.write_all(out)
        return hl_id

    def add(self, out: list[Segment], loop: Loop, level: str, parent: int | None, has_children: bool,
            segments: list[Segment] | None = None) -> int:
        """`open`, the segments appended to `out` instead of written: `_write_hierarchy` writes a
        claim's new HLs and its 2300 in one `write_all` (one serialization and one stream write a
        claim, not one per HL opened, which is about every claim for the subscriber's)."""
        hl_id = self.next_id
        self.next_id += 1
        # Segment.build's result for these values (HL04 is never empty: no trailing element to drop)
        hl = _make_segment("HL", (str(hl_id), str(parent) if parent else "", level, "1" if has_children else "0"),
                           0, 0, STANDARD)
        items = loop.items
        if segments is None or (items and not isinstance(items[0], Segment)):
            # what follows the loop's own HL segment (an HL in a child loop first is written, though
            # `_context_key` leaves it out)
            segments = loop.all_segments()
            if items and isinstance(items[0], Segment) and items[0].tag == "HL":
                del segments[0]
        out.append(hl)
        out += segments
        return hl_id


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
    per_set = claims_per_set(claims_per_transaction)
    iterator = iter(claims)
    first = next(iterator, None)
    summary = WriteSummary()
    if first is None:
        return summary
    submitter = submitter if submitter is not None else first.submitter
    receiver = receiver if receiver is not None else first.receiver
    require_head(submitter, receiver, first.source, first.id)
    def head(ts: TransactionWriter) -> None:
        ts.write_all(submitter.iter_segments())
        ts.write_all(receiver.iter_segments())

    return write_interchange(first, iterator, stream, settings, numbers, delimiters, now or dt.datetime.now(),
                             transaction_version, reference, per_set, head, _write_hierarchy, summary)


def claims_per_set(claims_per_transaction: int | None) -> int:
    per_set = MAX_CLAIMS_PER_TRANSACTION if claims_per_transaction is None else claims_per_transaction
    if per_set < 1:
        raise ValueError("claims_per_transaction must be at least 1")
    return per_set


def require_head(submitter, receiver, source: str, claim_id: str) -> None:
    """Refuses (EdiError) an interchange whose first claim gives no 1000A or 1000B to write."""
    if submitter is None or receiver is None:
        missing = "1000A submitter" if submitter is None else "1000B receiver"
        raise EdiError(f"no {missing} loop to write (the first claim has none)", path=source or None, claim=claim_id)


def write_interchange(first, rest: Iterator, stream: TextIO, settings: InterchangeSettings,
                      numbers: ControlNumberSource, delimiters: Delimiters, now: dt.datetime,
                      transaction_version: str, reference: str | None, per_set: int, head,
                      hierarchy, summary: WriteSummary) -> WriteSummary:
    """The interchange around the claims, `first` and then `rest`: `per_set` claims a transaction
    set, each set opened by its BHT and `head(ts)` (1000A/1000B), its claims written by
    `hierarchy(first, rest, ts, summary, per_set)` (which returns the claim that opens the next set).
    Shared by write_claims_837 and writer_items.write_items_837 (claims as prepared text)."""
    with InterchangeWriter(stream, settings, numbers, delimiters, now) as ix:
        with ix.group("HC", transaction_version) as group:
            pending = first
            while pending is not None:
                with group.transaction("837", transaction_version) as ts:
                    ref = f"{ix.control:09d}{ts.control}" if reference is None else _nth_reference(
                        reference, len(summary.transactions) + 1)
                    summary.bht_reference = summary.bht_reference or ref
                    ts.write(Segment.build("BHT", "0019", "00", ref, now.strftime("%Y%m%d"),
                                           now.strftime("%H%M"), "CH"))
                    head(ts)
                    before = summary.claims
                    pending = hierarchy(pending, rest, ts, summary, per_set)
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


class _Level:
    """The last HL written at one level and its segments, to merge consecutive claims."""

    __slots__ = ("loop", "segments", "hl_id", "kind")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.loop: Loop | None = None
        self.segments: list[Segment] | None = None  # the open HL's segments after its HL
        self.hl_id = 0
        self.kind = False

    def matches(self, loop: Loop, kind: bool = False) -> bool:
        """Whether `loop` has the content of the open HL (`_context_key` equal); remembers `loop` for
        the next call. Compared segment by segment, stopping at the first difference (consecutive
        claims mostly have different subscribers: their keys were built in full to differ at NM1)."""
        if self.segments is not None and self.loop is loop:
            return self.kind == kind  # loops shared by claims read from one HL: same object
        segments = _after_hl(loop)
        before = self.segments
        self.loop, self.segments = loop, segments
        # a plain loop, not all() over a generator: ~1/3 of its cost (a generator made and resumed
        # for every segment), asked of every new subscriber and patient loop written
        for segment in segments:
            if segment.delimiters is not STANDARD:  # rare: keys written out, as before
                key = tuple(_segment_key(s) for s in segments)
                return before is not None and self.kind == kind and key == tuple(_segment_key(s) for s in before)
        if before is None or self.kind != kind or len(before) != len(segments):
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


def _write_hierarchy(first: OriginalClaim, rest: Iterator[OriginalClaim], ts: TransactionWriter,
                     summary: WriteSummary, limit: int) -> OriginalClaim | None:
    """Write `first` and the claims after it into `ts`, `limit` at most; returns the claim read but
    not written (it opens the next transaction set), or None when `rest` ran out."""
    hl = _HlWriter(ts)
    billing, subscriber, patient = _Level(), _Level(), _Level()
    claim: OriginalClaim | None = first
    written = 0
    while claim is not None:
        if written == limit:
            return claim
        written += 1
        has_patient = claim.patient is not None
        out: list[Segment] = []  # the claim's new HL loops, then its 2300: one write_all
        if not billing.matches(claim.billing_provider):
            billing.hl_id = hl.add(out, claim.billing_provider, "20", None, True, billing.segments)
            summary.billing_providers += 1
            subscriber.reset()
            patient.reset()
        # a subscriber HL holds either claims (subscriber is the patient) or patient HLs (HL04=1)
        if not subscriber.matches(claim.subscriber, has_patient):
            subscriber.hl_id = hl.add(out, claim.subscriber, "22", billing.hl_id, has_patient, subscriber.segments)
            subscriber.kind = has_patient
            summary.subscribers += 1
            patient.reset()
        if claim.patient is not None and not patient.matches(claim.patient):
            patient.hl_id = hl.add(out, claim.patient, "23", subscriber.hl_id, False, patient.segments)
            summary.patients += 1
        # the 2300 read off its loop tree in one walk (edi.writer.tree_text), after the new HLs: one write
        delimiters = ts.group.interchange.delimiters
        text, count = tree_text(claim.claim, delimiters)
        if out:
            text = body_text(out, delimiters) + text
            count += len(out)
        ts.write_text(text, count)
        summary.claims += 1
        claim = next(rest, None)
    return None
