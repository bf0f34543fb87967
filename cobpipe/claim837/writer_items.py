"""Claims as the text the 837P writer writes for them, made where the claims are built, and written
by another process: the same bytes `writer.write_claims_837` writes for the claims themselves.

A split conversion (cobpipe/split.py) builds claims in several processes. Each turns its claims into
items (`ItemMaker`): plain tuples of strings, cheap to pickle. The process that writes the 837P
(`write_items_837`) only compares and joins them: it numbers the HL tree and merges consecutive
claims of one billing provider, subscriber or patient exactly as `writer._write_hierarchy` does.

An item: (CLM01, billing provider, subscriber, patient or None, the 2300's text, its segment count),
each loop a `LoopText` tuple (key, text, segments): `key` is the text of the loop's segments after
its HL, the content `writer._Level.matches` compares (equal text, equal tag and elements: a value
holding a delimiter fails to serialize instead), `text` what the writer writes after the loop's
new HL, `segments` how many that is.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TextIO

from edi.segment import STANDARD, Delimiters, Segment
from edi.writer import ControlNumberSource, InterchangeSettings, TransactionWriter, body_text, tree_text

from .claim import OriginalClaim
from .loops import Loop
from .writer import DEFAULT_VERSION, WriteSummary, _after_hl, claims_per_set, require_head, write_interchange

LoopText = tuple  # (key, text, segments)
ClaimItem = tuple  # (claim_id, billing LoopText, subscriber LoopText, patient LoopText | None, text, segments)


@dataclass(slots=True)
class ItemHead:
    """What the interchange takes from its first claim: the envelope (ISA/GS ids, usage) and the
    1000A/1000B loops as (text, segments), None when the claim has none."""

    envelope: object  # claim837.claim.Envelope
    submitter: tuple[str, int] | None
    receiver: tuple[str, int] | None
    source: str
    claim_id: str

    @classmethod
    def of(cls, claim: OriginalClaim, delimiters: Delimiters) -> "ItemHead":
        def text(loop: Loop | None) -> tuple[str, int] | None:
            if loop is None:
                return None
            segments = list(loop.iter_segments())
            return body_text(segments, delimiters), len(segments)

        return cls(claim.envelope, text(claim.submitter), text(claim.receiver), claim.source, claim.id)


class ItemMaker:
    """Claims to items in the output's delimiters. A loop shared by consecutive claims (read from
    one HL of the original) is the same object each time: made into text once, and the same tuple
    in each item (one copy in a pickled batch)."""

    __slots__ = ("delimiters", "_last")

    def __init__(self, delimiters: Delimiters = STANDARD) -> None:
        self.delimiters = delimiters
        self._last: list = [None, None, None]  # per level: (loop, its LoopText)

    def item(self, claim: OriginalClaim) -> ClaimItem:
        patient = claim.patient
        return (claim.id, self._loop(0, claim.billing_provider), self._loop(1, claim.subscriber),
                None if patient is None else self._loop(2, patient), *tree_text(claim.claim, self.delimiters))

    def _loop(self, level: int, loop: Loop) -> LoopText:
        last = self._last[level]
        if last is not None and last[0] is loop:
            return last[1]
        segments = _after_hl(loop)
        key = body_text(segments, self.delimiters)
        items = loop.items
        if items and not isinstance(items[0], Segment):
            # a child loop first: the writer writes all of the loop's segments (writer._HlWriter.add)
            written = loop.all_segments()
            made = (key, body_text(written, self.delimiters), len(written))
        else:
            made = (key, key, len(segments))
        self._last[level] = (loop, made)
        return made


def write_items_837(items: Iterable[ClaimItem], stream: TextIO, settings: InterchangeSettings,
                    numbers: ControlNumberSource, delimiters: Delimiters = STANDARD,
                    now: dt.datetime | None = None, transaction_version: str = DEFAULT_VERSION, *,
                    head: ItemHead, claims_per_transaction: int | None = None) -> WriteSummary:
    """`writer.write_claims_837` for claims made into items (in `delimiters`), the 1000A/1000B and
    envelope ids from `head` (the first claim's)."""
    per_set = claims_per_set(claims_per_transaction)
    iterator = iter(items)
    first = next(iterator, None)
    summary = WriteSummary()
    if first is None:
        return summary
    submitter, receiver = head.submitter, head.receiver
    require_head(submitter, receiver, head.source, head.claim_id)

    def write_head(ts: TransactionWriter) -> None:
        ts.write_text(*submitter)
        ts.write_text(*receiver)

    def hierarchy(first_item, rest, ts, summary, limit):
        return _write_items(first_item, rest, ts, summary, limit, delimiters)

    return write_interchange(first, iterator, stream, settings, numbers, delimiters, now or dt.datetime.now(),
                             transaction_version, None, per_set, write_head, hierarchy, summary)


def _write_items(first: ClaimItem, rest: Iterator[ClaimItem], ts: TransactionWriter, summary: WriteSummary,
                 limit: int, delimiters: Delimiters) -> ClaimItem | None:
    """writer._write_hierarchy for items: the same HL numbers, parents, child codes and merges."""
    e = delimiters.element
    end = delimiters.segment + delimiters.suffix
    next_id = 1
    # per level, the key of the last loop seen (None after a reset), as writer._Level remembers it
    billing_key = subscriber_key = patient_key = None
    billing_id = subscriber_id = 0
    subscriber_kind = False
    item: ClaimItem | None = first
    written = 0
    while item is not None:
        if written == limit:
            return item
        written += 1
        _, billing, subscriber, patient, text, count = item
        has_patient = patient is not None
        out: list[str] = []
        segments = count
        if billing_key is None or billing_key != billing[0]:
            billing_id, next_id = next_id, next_id + 1
            out += (f"HL{e}{billing_id}{e}{e}20{e}1{end}", billing[1])
            segments += 1 + billing[2]
            summary.billing_providers += 1
            subscriber_key = patient_key = None
            subscriber_kind = False
        billing_key = billing[0]
        if subscriber_key is None or subscriber_kind != has_patient or subscriber_key != subscriber[0]:
            subscriber_id, next_id = next_id, next_id + 1
            out += (f"HL{e}{subscriber_id}{e}{billing_id}{e}22{e}{1 if has_patient else 0}{end}", subscriber[1])
            segments += 1 + subscriber[2]
            subscriber_kind = has_patient
            summary.subscribers += 1
            patient_key = None
        subscriber_key = subscriber[0]
        if has_patient:
            if patient_key is None or patient_key != patient[0]:
                patient_id, next_id = next_id, next_id + 1
                out += (f"HL{e}{patient_id}{e}{subscriber_id}{e}23{e}0{end}", patient[1])
                segments += 1 + patient[2]
                summary.patients += 1
            patient_key = patient[0]
        out.append(text)
        ts.write_text("".join(out), segments)
        summary.claims += 1
        item = next(rest, None)
    return None
