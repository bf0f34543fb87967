"""Serialize segments with chosen delimiters and wrap them in ISA/GS/ST envelopes with correct counts."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, TextIO

from .errors import EdiError
from .segment import STANDARD, Delimiters, Segment


class DelimiterCollisionError(EdiError, ValueError):
    """A value to be written contains one of the output delimiters, so the X12 would be corrupt.

    X12 has no escape character: choose other delimiters (or clean the value). The message names
    the segment and element, never the value (it may be PHI).
    """


class EnvelopeError(EdiError, ValueError):
    """Envelope settings that cannot be written: an id longer than its ISA field, a control number
    out of range."""


def format_amount(value: Decimal | int) -> str:
    """X12 R-type number without needless zeros: 10, 10.5, -2.5, 0.25 (never 1E+1 or -0).

    Money is Decimal: a float raises TypeError (its binary rounding would leak into claims), and
    NaN or infinity raise ValueError.
    """
    if type(value) is Decimal:  # noqa: E721 - the usual case (subclasses take the general way)
        if value.is_finite():
            if not value:
                return "0"  # 0.00, -0, 0E+2
            # str() writes a Decimal's digits as they are (156.40) unless its exponent is positive
            # or it is very small (1E+1, 1E-7): then format 'f' does. Both ~5x cheaper than the
            # Decimal hash a table of remembered texts needed (a fresh Decimal hashes in ~1 us)
            text = str(value)
            if "E" in text:
                text = format(value, "f")
            if "." in text:
                text = text.rstrip("0").rstrip(".")
            return text
        raise ValueError(f"not a finite amount: {value}")
    if isinstance(value, float) or not isinstance(value, (Decimal, int)):
        raise TypeError(f"format_amount takes a Decimal (or int), not {type(value).__name__}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"not a finite amount: {value}")
    if value == 0:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


_ENVELOPE_TAGS = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})
_SEPARATOR_NAMES = ("element separator", "segment terminator", "component separator", "repetition separator")


def _collision(segment: Segment, elements: tuple[str, ...], delimiters: Delimiters,
               check_component: bool, check_repetition: bool) -> DelimiterCollisionError:
    """The error for the first element holding an output delimiter (found the slow way, once)."""
    chars = [delimiters.element, delimiters.segment,
             delimiters.component if check_component else None,
             delimiters.repetition if check_repetition else None]
    for position, value in enumerate(elements, 1):
        if segment.tag == "ISA" and position in (11, 16):
            continue
        for name, char in zip(_SEPARATOR_NAMES, chars):
            if char is not None and char in value:
                return DelimiterCollisionError(
                    f"{segment.tag}{position:02d} contains the {name} {char!r} of the output delimiters; "
                    "choose other delimiters")
    return DelimiterCollisionError(f"{segment.tag} contains an output delimiter; choose other delimiters")


def serialize(segment: Segment, delimiters: Delimiters = STANDARD) -> str:
    """One segment as text, terminator and suffix included, in `delimiters`.

    Composite and repetition separators written with other delimiters are translated, and an ISA
    gets ISA16 (and, when ISA11 holds a repetition separator, ISA11) of the output delimiters, so a
    file can be re-delimited losslessly. A value that contains an output delimiter raises
    DelimiterCollisionError instead of writing corrupt X12.
    """
    source = segment.delimiters
    elements = segment.elements
    if segment.tag == "ISA":
        values = list(elements) + [""] * (16 - len(elements))
        isa11 = values[10]
        if len(isa11) == 1 and not isa11.isalnum() and isa11 != " ":  # ISA11 is a repetition separator
            values[10] = delimiters.repetition or "U"
        values[15] = delimiters.component
        elements = tuple(values)
    else:
        new_component = source.component != delimiters.component
        # a target repetition separator differing from the source's (or the source has none, e.g. 4010)
        new_repetition = delimiters.repetition is not None and source.repetition != delimiters.repetition
        if new_component or new_repetition:
            table = {ord(source.component): delimiters.component}
            if new_repetition and source.repetition is not None:
                table[ord(source.repetition)] = delimiters.repetition  # type: ignore[index]
            # a value already holding the new component/repetition character as data would change
            # meaning (unless that character is itself a source separator being translated)
            check_component = new_component and ord(delimiters.component) not in table
            check_repetition = new_repetition and ord(delimiters.repetition) not in table  # type: ignore[arg-type]
            if check_component or check_repetition:
                for value in elements:
                    if (check_component and delimiters.component in value) or (
                            check_repetition and delimiters.repetition in value):  # type: ignore[operator]
                        raise _collision(segment, elements, delimiters, check_component, check_repetition)
            elements = tuple(e.translate(table) for e in elements)
    body = delimiters.element.join((segment.tag, *elements))
    if body.count(delimiters.element) != len(elements) or delimiters.segment in body:
        raise _collision(segment, elements, delimiters, False, False)
    return body + delimiters.segment + delimiters.suffix


def _same_delimiters_text(segments: list[Segment], delimiters: Delimiters) -> str | None:
    """`serialize` of every segment, joined, for the usual case: body segments whose component and
    repetition separators are the output's (nothing to translate), checked for collisions all at
    once (each segment holds exactly its elements' separators, no terminator). None when any
    segment needs more (another delimiter set, an envelope tag, a collision, no element): the caller
    then serializes one by one, which translates or names the collision."""
    element, terminator = delimiters.element, delimiters.segment
    component, repetition = delimiters.component, delimiters.repetition
    bodies = []
    append = bodies.append
    join = element.join
    separators = 0
    checked = delimiters  # the last source delimiters found to need no translation
    kept = True  # `checked` separates elements as the output does: a segment's kept text is its body
    envelope = _ENVELOPE_TAGS
    for segment in segments:
        source = segment.delimiters
        if source is not checked:
            if source.component != component or (repetition is not None and source.repetition != repetition):
                return None
            checked = source
            kept = source.element == element
        tag = segment.tag
        if tag in envelope:
            return None
        elements = segment.elements
        separators += len(elements)
        text = segment.text
        if text is not None and kept:  # str(segment), kept by its maker (a copied segment): not joined again
            append(text)
        else:
            # one string made (BUILD_STRING), not a tuple of the tag and elements first; a segment with
            # no element gets a separator it does not count, so the check below sends it the slow way
            append(f"{tag}{element}{join(elements)}")
    if not bodies:
        return ""
    # the bodies checked once joined: a terminator or suffix character found by a memchr search,
    # the element separators counted (two counts of the whole text with terminators cost more)
    suffix = delimiters.suffix
    joined = "".join(bodies)
    if joined.count(element) != separators or terminator in joined or (suffix and suffix in joined):
        return None
    append("")  # the last body's terminator and suffix come with the join, no second copy of the text
    return (terminator + suffix).join(bodies)


def body_text(segments: list[Segment], delimiters: Delimiters) -> str:
    """Body segments as the text TransactionWriter.write_all writes for them (ValueError for an
    envelope segment, DelimiterCollisionError for a value holding a delimiter)."""
    text = _same_delimiters_text(segments, delimiters)
    if text is None:
        texts = []
        for segment in segments:
            if segment.tag in _ENVELOPE_TAGS:
                raise ValueError(f"{segment.tag} is written by the envelope writers, not TransactionWriter.write")
            texts.append(serialize(segment, delimiters))
        text = "".join(texts)
    return text


class Prewritten:
    """A loop class whose instances may carry their segments already written: `written` is None or
    (text, element separators, segments), the text `body_text` writes for the loop's segments in
    STANDARD delimiters without the last terminator and suffix, the element separators it holds
    when no value holds one, and how many segments that is. A builder that makes a loop's segments
    from values it has in hand makes their text then, and `tree_text` takes it whole instead of
    writing each segment again (a builder's loop: never an envelope segment). The loop's items stay
    the segments themselves, for every reader."""

    __slots__ = ()
    written: tuple[str, int, int] | None


def tree_text(loop, delimiters: Delimiters = STANDARD) -> tuple[str, int]:
    """`body_text(loop.all_segments(), delimiters)` and how many segments that is, read off the loop
    tree in one walk: no list of the segments made, and a `Prewritten` loop's text taken whole when
    writing in standard delimiters. Anything the one walk does not vouch for (what
    `_same_delimiters_text` refuses, a collision) goes the reference way, which names it."""
    made = _tree_text(loop, delimiters)
    if made is None:
        segments = loop.all_segments()
        return body_text(segments, delimiters), len(segments)
    return made


def _tree_text(loop, delimiters: Delimiters) -> tuple[str, int] | None:
    """`_same_delimiters_text` over the tree's segments in document order (as `Loop.all_segments`
    lists them: a segment item written, any other item a loop read in place), with each usable
    Prewritten loop's text spliced in; the separators and terminators counted once over the whole
    text (each body holds exactly its elements' separators and every segment one terminator when no
    value holds a delimiter). None: the caller goes the reference way."""
    element, terminator = delimiters.element, delimiters.segment
    component, repetition = delimiters.component, delimiters.repetition
    whole = delimiters is STANDARD or delimiters == STANDARD  # a Prewritten text is in STANDARD
    bodies: list[str] = []
    append = bodies.append
    join = element.join
    separators = extra = 0  # extra: a prewritten text's segments beyond the one body it counts as
    checked = delimiters
    kept = True  # `checked` separates elements as the output does: a segment's kept text is its body
    envelope = _ENVELOPE_TAGS
    segment_class = Segment
    pending = []  # the items of the loops being read, each where it stopped
    items = iter(loop.items)
    while True:
        for item in items:
            if type(item) is segment_class:  # (not item.__class__: unspecialised where classes mix)
                source = item.delimiters
                if source is not checked:
                    if source.component != component or (repetition is not None and source.repetition != repetition):
                        return None
                    checked = source
                    kept = source.element == element
                tag = item.tag
                if tag in envelope:
                    return None
                elements = item.elements
                separators += len(elements)
                text = item.text
                if text is not None and kept:  # str(item), kept by its maker (a copied segment): not joined again
                    append(text)
                else:
                    append(f"{tag}{element}{join(elements)}")
            elif whole and isinstance(item, Prewritten) and item.written is not None:
                text, held, count = item.written
                append(text)
                separators += held
                extra += count - 1
            else:
                pending.append(items)
                items = iter(item.items)
                break
        else:
            if not pending:
                break
            items = pending.pop()
    if not bodies:
        return "", 0
    count = len(bodies) + extra
    append("")  # the last body's terminator and suffix come with the join, no second copy of the text
    text = (terminator + delimiters.suffix).join(bodies)
    if text.count(element) != separators or text.count(terminator) != count:
        return None
    return text, count


def write_segments(segments: Iterable[Segment], stream: TextIO, delimiters: Delimiters = STANDARD) -> int:
    """Write segments as they are (no envelope work); returns how many were written."""
    count = 0
    for segment in segments:
        stream.write(serialize(segment, delimiters))
        count += 1
    return count


class ControlNumberSource(Protocol):
    """Issues ISA13 / GS06 / ST02 control numbers; the ledger provides a persistent, gap-free one."""

    def next_number(self, kind: str, sender: str, receiver: str) -> int:
        """The next number of `kind` ('ISA', 'GS' or 'ST') for this sender/receiver pair."""
        ...


class SequentialControlNumbers:
    """In-memory control numbers starting at `start`; for one-off runs and tests."""

    def __init__(self, start: int = 1) -> None:
        self._next: dict[tuple[str, str, str], int] = {}
        self._start = start

    def next_number(self, kind: str, sender: str, receiver: str) -> int:
        key = (kind, sender, receiver)
        number = self._next.get(key, self._start)
        self._next[key] = number + 1
        return number


@dataclass(frozen=True, slots=True)
class Party:
    """An interchange sender or receiver: ISA05/ISA06 (or ISA07/ISA08) and the GS02/GS03 code."""

    qualifier: str
    id: str
    application_code: str | None = None

    @property
    def gs_code(self) -> str:
        return self.application_code or self.id


@dataclass(frozen=True, slots=True)
class InterchangeSettings:
    sender: Party
    receiver: Party
    usage: str = "P"  # ISA15: P production, T test
    acknowledgment_requested: str = "0"  # ISA14
    version: str = "00501"  # ISA12


def _isa_field(value: str, width: int, name: str) -> str:
    if len(value) > width:
        raise EnvelopeError(f"{name} is {len(value)} characters; the ISA field holds {width}")
    return value.ljust(width)


def isa_segment(settings: InterchangeSettings, control: int, when: dt.datetime,
                delimiters: Delimiters = STANDARD) -> Segment:
    """ISA with every field padded to its fixed width; ISA11 is the repetition separator from
    version 00402 on and `U` before."""
    if not 0 <= control <= 999_999_999:
        raise EnvelopeError(f"ISA13 control number {control} is not 0-999999999 (nine digits)")
    repetition = delimiters.repetition if settings.version >= "00402" else None
    return Segment("ISA", (
        "00", " " * 10, "00", " " * 10,
        _isa_field(settings.sender.qualifier, 2, "ISA05 sender qualifier"),
        _isa_field(settings.sender.id, 15, "ISA06 sender id"),
        _isa_field(settings.receiver.qualifier, 2, "ISA07 receiver qualifier"),
        _isa_field(settings.receiver.id, 15, "ISA08 receiver id"),
        when.strftime("%y%m%d"), when.strftime("%H%M"),
        repetition or "U", _isa_field(settings.version, 5, "ISA12 version"), f"{control:09d}",
        _isa_field(settings.acknowledgment_requested, 1, "ISA14"), _isa_field(settings.usage, 1, "ISA15"),
        delimiters.component,
    ))


class InterchangeWriter:
    """Writes one interchange; counts segments, sets and groups; closes every envelope it opened.

        with InterchangeWriter(out, settings, numbers) as ix:
            with ix.group("HC", "005010X222A1"):
                with ix.transaction("837", "005010X222A1") as ts:
                    ts.write(segment)
    """

    def __init__(self, stream: TextIO, settings: InterchangeSettings, numbers: ControlNumberSource,
                 delimiters: Delimiters = STANDARD, now: dt.datetime | None = None) -> None:
        self.stream = stream
        self.settings = settings
        self.numbers = numbers
        # the standard set itself when equal to it: the writers' fast paths ask `is STANDARD` (one
        # identity test a claim, not a dataclass comparison), and a parsed '*:^~' or a pickled copy is not it
        self.delimiters = STANDARD if delimiters == STANDARD else delimiters
        self.now = now or dt.datetime.now()
        self.control = 0
        self.groups = 0
        self.transactions_written = 0
        self.control_numbers: list[tuple[str, int]] = []

    def _pair(self) -> tuple[str, str]:
        return (f"{self.settings.sender.qualifier}:{self.settings.sender.id}",
                f"{self.settings.receiver.qualifier}:{self.settings.receiver.id}")

    def __enter__(self) -> "InterchangeWriter":
        self.control = self.numbers.next_number("ISA", *self._pair())
        self.control_numbers.append(("ISA", self.control))
        self._emit(isa_segment(self.settings, self.control, self.now, self.delimiters))
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self._emit(Segment("IEA", (str(self.groups), f"{self.control:09d}")))

    def _emit(self, segment: Segment) -> None:
        self.stream.write(serialize(segment, self.delimiters))

    def group(self, functional_id: str, version: str) -> "GroupWriter":
        return GroupWriter(self, functional_id, version)


class GroupWriter:
    def __init__(self, interchange: InterchangeWriter, functional_id: str, version: str) -> None:
        self.interchange = interchange
        self.functional_id = functional_id
        self.version = version
        self.control = 0
        self.transactions = 0

    def __enter__(self) -> "GroupWriter":
        ix = self.interchange
        self.control = ix.numbers.next_number("GS", *ix._pair())
        if not 1 <= self.control <= 999_999_999:
            raise EnvelopeError(f"GS06 control number {self.control} is not 1-999999999")
        ix.control_numbers.append(("GS", self.control))
        ix._emit(Segment("GS", (
            self.functional_id, ix.settings.sender.gs_code.strip(), ix.settings.receiver.gs_code.strip(),
            ix.now.strftime("%Y%m%d"), ix.now.strftime("%H%M"), str(self.control), "X", self.version,
        )))
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.interchange._emit(Segment("GE", (str(self.transactions), str(self.control))))
            self.interchange.groups += 1

    def transaction(self, code: str, version: str | None = None) -> "TransactionWriter":
        """ST03 is the group's version unless given; "" omits it (the 835 X221A1 marks ST03 Not Used)."""
        return TransactionWriter(self, code, self.version if version is None else version)


class TransactionWriter:
    def __init__(self, group: GroupWriter, code: str, version: str) -> None:
        self.group = group
        self.code = code
        self.version = version
        self.control = ""
        self.count = 0

    def __enter__(self) -> "TransactionWriter":
        ix = self.group.interchange
        number = ix.numbers.next_number("ST", *ix._pair())
        ix.control_numbers.append(("ST", number))
        if not 0 <= number <= 999_999_999:
            raise EnvelopeError(f"ST02 control number {number} is not 0-999999999 (4 to 9 digits)")
        self.control = f"{number:04d}"
        self._write(Segment("ST", (self.code, self.control, self.version) if self.version else (self.code, self.control)))
        return self

    def write(self, segment: Segment) -> None:
        """One body segment; the envelope (ISA/GS/ST/SE/GE/IEA) is the writers' own job."""
        if segment.tag in _ENVELOPE_TAGS:
            raise ValueError(f"{segment.tag} is written by the envelope writers, not TransactionWriter.write")
        self._write(segment)

    def _write(self, segment: Segment) -> None:
        self.group.interchange._emit(segment)
        self.count += 1

    def write_all(self, segments: Iterable[Segment]) -> None:
        """Body segments, serialized together and handed to the stream in one write (a claim's
        30-odd segments one call at a time cost more than serializing them)."""
        if not isinstance(segments, list):
            segments = list(segments)
        text = body_text(segments, self.group.interchange.delimiters)
        if text:
            self.group.interchange.stream.write(text)
            self.count += len(segments)

    def write_text(self, text: str, count: int) -> None:
        """`count` body segments already serialized in this interchange's delimiters (`body_text`)."""
        if text:
            self.group.interchange.stream.write(text)
            self.count += count

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self._write(Segment("SE", (str(self.count + 1), self.control)))
            self.group.transactions += 1
            self.group.interchange.transactions_written += 1
