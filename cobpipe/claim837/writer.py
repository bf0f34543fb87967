"""Write claims as one 837P interchange: fresh envelopes, BHT, 1000A/1000B and a rebuilt HL tree.

Consecutive claims with the same billing provider (2000A + 2010AA/AB/AC content) share one 2000A
HL; consecutive claims with the same subscriber (2000B + 2010BA/BB content) under it share one
2000B HL; consecutive claims for the same patient share one 2000C HL. Nothing is sorted, so the
writer streams: claims from `iter_claims` already arrive grouped.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TextIO

from edi.errors import EdiError
from edi.segment import STANDARD, Delimiters, Segment
from edi.writer import ControlNumberSource, InterchangeSettings, InterchangeWriter, TransactionWriter

from .claim import OriginalClaim
from .loops import Loop, segment_key

DEFAULT_VERSION = "005010X222A1"


@dataclass(slots=True)
class WriteSummary:
    """What `write_claims_837` wrote."""

    claims: int = 0
    billing_providers: int = 0  # 2000A HLs
    subscribers: int = 0  # 2000B HLs
    patients: int = 0  # 2000C HLs
    segments: int = 0  # ST..SE, SE01
    bht_reference: str = ""  # BHT03
    control_numbers: list[tuple[str, int]] = field(default_factory=list)  # ('ISA', 7), ('GS', 7), ('ST', 7)

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


def _context_key(loop: Loop) -> tuple[str, ...]:
    """Content of an HL loop without its HL segment (whose ids are renumbered anyway)."""
    segments = loop.iter_segments()
    first = next(segments, None)
    keys = [] if first is None or first.tag == "HL" else [segment_key(first)]
    keys.extend(segment_key(s) for s in segments)
    return tuple(keys)


class _HlWriter:
    """Emits HL loops with HL01 renumbered 1..n, HL02 parents and HL04 child codes."""

    def __init__(self, ts: TransactionWriter) -> None:
        self.ts = ts
        self.next_id = 1

    def open(self, loop: Loop, level: str, parent: int | None, has_children: bool) -> int:
        hl_id = self.next_id
        self.next_id += 1
        segments = [Segment.build("HL", str(hl_id), str(parent) if parent else None, level,
                                  "1" if has_children else "0")]
        items = iter(loop.items)
        first = loop.items[0] if loop.items else None
        if isinstance(first, Segment) and first.tag == "HL":
            next(items)
        for item in items:
            if isinstance(item, Segment):
                segments.append(item)
            else:
                segments.extend(item.iter_segments())
        self.ts.write_all(segments)
        return hl_id


def write_claims_837(claims: Iterable[OriginalClaim], stream: TextIO, settings: InterchangeSettings,
                     numbers: ControlNumberSource, delimiters: Delimiters = STANDARD,
                     now: dt.datetime | None = None, transaction_version: str = DEFAULT_VERSION, *,
                     submitter: Loop | None = None, receiver: Loop | None = None,
                     reference: str | None = None) -> WriteSummary:
    """Write `claims` as ONE interchange / group / 837 transaction (TR3 005010X222A1).

    BHT*0019*00*<reference>*<date>*<time>*CH; `reference` defaults to ISA13 + ST02, unique per
    sender/receiver. 1000A/1000B (`submitter`, `receiver`) default to the first claim's. Writes
    nothing and returns an empty summary when there are no claims.
    """
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
            with group.transaction("837", transaction_version) as ts:
                ref = reference or f"{ix.control:09d}{ts.control}"
                summary.bht_reference = ref
                ts.write(Segment.build("BHT", "0019", "00", ref, now.strftime("%Y%m%d"), now.strftime("%H%M"),
                                       "CH"))
                ts.write_all(submitter.iter_segments())
                ts.write_all(receiver.iter_segments())
                _write_hierarchy(first, iterator, ts, summary)
            summary.segments = ts.count
    summary.control_numbers = list(ix.control_numbers)
    return summary


class _Level:
    """The last HL written at one level and its content key, to merge consecutive claims."""

    __slots__ = ("loop", "key", "hl_id", "kind")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.loop: Loop | None = None
        self.key: tuple[str, ...] | None = None
        self.hl_id = 0
        self.kind = False

    def matches(self, loop: Loop, kind: bool = False) -> bool:
        """Whether `loop` has the content of the open HL; remembers `loop` for the next call."""
        if self.key is not None and self.loop is loop:
            return self.kind == kind  # loops shared by claims read from one HL: same object
        key = _context_key(loop)
        same = self.key is not None and key == self.key and self.kind == kind
        self.loop, self.key = loop, key
        return same


def _write_hierarchy(first: OriginalClaim, rest: Iterable[OriginalClaim], ts: TransactionWriter,
                     summary: WriteSummary) -> None:
    hl = _HlWriter(ts)
    billing, subscriber, patient = _Level(), _Level(), _Level()

    def claims() -> Iterable[OriginalClaim]:
        yield first
        yield from rest

    for claim in claims():
        has_patient = claim.patient is not None
        if not billing.matches(claim.billing_provider):
            billing.hl_id = hl.open(claim.billing_provider, "20", None, True)
            summary.billing_providers += 1
            subscriber.reset()
            patient.reset()
        # a subscriber HL holds either claims (subscriber is the patient) or patient HLs (HL04=1)
        if not subscriber.matches(claim.subscriber, has_patient):
            subscriber.hl_id = hl.open(claim.subscriber, "22", billing.hl_id, has_patient)
            subscriber.kind = has_patient
            summary.subscribers += 1
            patient.reset()
        if claim.patient is not None and not patient.matches(claim.patient):
            patient.hl_id = hl.open(claim.patient, "23", subscriber.hl_id, False)
            summary.patients += 1
        ts.write_all(claim.claim.iter_segments())
        summary.claims += 1
