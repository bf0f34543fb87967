"""Streaming X12 reader: delimiters from each ISA, segments with their file position, envelope checks.

The reader holds one chunk of text at a time, so a 1 GB interchange is read in constant memory.
Envelope problems (counts, control numbers, truncation, junk) become Findings and reading goes
on; only a file that is not X12 at all raises EdiSyntaxError.
"""
from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TextIO

from .errors import EdiSyntaxError
from .findings import Finding, Location, Severity
from .segment import Delimiters, Segment

CHUNK_CHARS = 1 << 20
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
_TAG = re.compile(r"[A-Z0-9]{2,3}\Z")
_ENVELOPE_TAGS = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})
_COMPOSITE_HINT = re.compile(r"(?:HC|AD|ER|IV|NU|WK|N4|ZZ|BE|DX|ABK|ABF|BK|BF)([^\w\s])")


def parse_isa_delimiters(text: str) -> tuple[Delimiters, int, bool] | None:
    """Delimiters of the ISA that starts `text`, where its terminator ends, and whether the ISA keeps
    its fixed width; None when `text` is too short to hold the whole ISA.

    Counting the 16 element separators instead of trusting offset 105 reads ISAs whose sender
    forgot to pad their fields; the fixed-width check reports them.
    """
    element = text[3]
    pos = 3
    for _ in range(15):  # text[3] is the first of the 16 separators
        pos = text.find(element, pos + 1)
        if pos < 0:
            return None
    if len(text) < pos + 3:
        return None
    component, terminator = text[pos + 1], text[pos + 2]
    end = pos + 3
    if terminator == "\r":
        if len(text) < end + 1:
            return None
        if text[end] == "\n":
            end += 1
        terminator = "\n"
    fields = text[4:pos].split(element)
    fixed = pos + 2 == 105 and [len(f) for f in fields] == list(ISA_WIDTHS[:-1])
    version, isa11 = fields[11], fields[10]
    repetition: str | None = None
    if version >= "00402" and len(isa11) == 1 and not isa11.isalnum():
        repetition = isa11
    if terminator.isalnum() or terminator == " " or element.isalnum() or component.isalnum():
        raise ValueError("ISA separators must not be letters, digits or spaces")
    if repetition in (element, component, terminator):
        repetition = None
    return Delimiters(element, component, repetition, terminator, ""), end, fixed


def infer_fragment_delimiters(text: str) -> Delimiters:
    """Delimiters for a bare ST..SE fragment with no ISA: guessed from the ST and from composites."""
    element = text[2]
    terminator = next((c for c in text[3:200] if not c.isalnum() and c not in (element, " ")), None)
    if terminator is None:
        raise ValueError("cannot find the segment terminator after ST")
    if terminator == "\r":
        terminator = "\n"
    component = ":"
    for match in _COMPOSITE_HINT.finditer(text, 0, 200_000):
        start = match.start()
        if start and text[start - 1] == element and match.group(1) not in (element, terminator):
            component = match.group(1)
            break
    repetition = "^" if "^" not in (element, terminator, component) else None
    return Delimiters(element, component, repetition, terminator, "")


@dataclass(slots=True)
class _Envelope:
    """Open ISA/GS/ST state for the envelope checks."""

    isa: Segment | None = None
    gs: Segment | None = None
    st: Segment | None = None
    groups: int = 0
    sets: int = 0
    seg_count: int = 0
    closed_interchange: bool = False
    junk_reported: bool = False


class X12Reader:
    """Iterates the segments of one X12 text stream; `findings` collects envelope problems.

    Create it with `X12Reader.open(path)` or `X12Reader.from_text(text, name)`.
    """

    def __init__(self, stream: TextIO, name: str) -> None:
        self.name = name
        self.findings: list[Finding] = []
        self.delimiters: Delimiters | None = None
        self.fragment = False
        self._stream = stream
        self._env = _Envelope()
        self._consumed = False

    @classmethod
    def open(cls, path: str | Path, name: str | None = None) -> "X12Reader":
        raw = open(path, "rb")  # noqa: SIM115 - closed when iteration ends
        return cls.from_binary(raw, name or str(path))

    @classmethod
    def from_binary(cls, raw: BinaryIO, name: str) -> "X12Reader":
        # surrogateescape keeps any non-UTF-8 byte so a round trip writes the same bytes back
        text = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="")
        return cls(text, name)

    @classmethod
    def from_text(cls, text: str, name: str = "<text>") -> "X12Reader":
        return cls(io.StringIO(text, newline=""), name)

    # --- reading -------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Segment]:
        if self._consumed:
            raise RuntimeError("an X12Reader can be iterated once")
        self._consumed = True
        try:
            yield from self._segments()
        finally:
            self._stream.close()

    def _read(self) -> str:
        return self._stream.read(CHUNK_CHARS)

    def _error(self, message: str, segment: int | None = None, line: int | None = None) -> EdiSyntaxError:
        return EdiSyntaxError(message, path=self.name, segment=segment, line=line)

    def _segments(self) -> Iterator[Segment]:
        try:
            buf = self._read()
        except OSError as exc:
            raise self._error(f"cannot read file: {exc.strerror or exc}") from exc
        if buf.startswith("\ufeff"):
            buf = buf[1:]
        if "\x00" in buf[:4096] or _mostly_binary(buf[:4096]):
            raise self._error("binary data, not an X12 text file")
        line = 1
        lead = len(buf) - len(buf.lstrip())
        while lead == len(buf):  # only whitespace so far
            more = self._read()
            if not more:
                raise self._error("empty file: no X12 segments")
            line += buf.count("\n")
            buf = more
            lead = len(buf) - len(buf.lstrip())
        line += buf.count("\n", 0, lead)
        buf = buf[lead:]
        if buf.startswith("ISA"):
            buf, delims = self._detect_isa(buf, 1, line)
        elif buf.startswith("ST") and len(buf) > 2 and not buf[2].isalnum():
            try:
                delims = infer_fragment_delimiters(buf)
            except ValueError as exc:
                raise self._error(f"not X12: {exc}", 1, line) from exc
            self.fragment = True
            self.findings.append(Finding(
                "ENV011", "no ISA/GS envelope: a bare ST..SE fragment; delimiters inferred",
                Location(self.name, 1, line, "ST"), Severity.WARNING))
        else:
            raise self._error("not X12: the file does not start with an ISA segment", 1, line)
        self.delimiters = delims
        index = 0
        eof = False
        while True:
            term = delims.segment
            pieces = buf.split(term)
            carry = pieces.pop()
            if eof:
                if carry.strip():
                    pieces.append(carry)
                    self.findings.append(Finding(
                        "ENV012", "the last segment has no segment terminator",
                        Location(self.name, index + len(pieces), None), Severity.WARNING))
                carry = ""
            restart: str | None = None
            for i, raw in enumerate(pieces):
                text = raw.strip()
                if not text:
                    line += raw.count("\n") + (term == "\n")
                    continue
                seg_line = line + raw.count("\n", 0, len(raw) - len(raw.lstrip()))
                if index and text.startswith("ISA") and self._new_delimiters(raw, term, pieces, i, carry, delims):
                    # a following interchange with other delimiters: re-split what is left
                    rest = term.join(pieces[i:]) + ("" if eof else term + carry)
                    restart = rest[len(raw) - len(raw.lstrip()):]
                    line = seg_line
                    break
                line += raw.count("\n") + (term == "\n")
                elements = text.split(delims.element)
                tag = elements[0]
                index += 1
                if tag == "ISA":
                    seg_delims = self._isa_delimiters(text, delims)
                    delims = seg_delims
                seg = Segment(tag, tuple(elements[1:]), index, seg_line, delims)
                if self._check(seg):
                    yield seg
            if restart is not None:
                buf, delims = self._detect_isa(restart, index + 1, line)
                self.delimiters = delims
                continue
            if eof:
                break
            more = self._read()
            if not more:
                eof = True
            buf = carry + more
        self._close_envelope(index, line)

    @staticmethod
    def _new_delimiters(raw: str, term: str, pieces: list[str], i: int, carry: str,
                        current: Delimiters) -> bool:
        """Whether the ISA starting in `raw` uses another element separator or terminator."""
        text = raw.lstrip()
        if len(text) < 4:
            return False
        if text[3] != current.element:
            return True
        following = pieces[i + 1] if i + 1 < len(pieces) else carry
        try:
            parsed = parse_isa_delimiters(text + term + following)
        except (ValueError, IndexError):
            return False
        return parsed is not None and parsed[0].segment != term

    def _isa_delimiters(self, text: str, current: Delimiters) -> Delimiters:
        """Component and repetition separators of an ISA met in the segment stream."""
        try:
            parsed = parse_isa_delimiters(text + current.segment + " ")
        except (ValueError, IndexError):
            parsed = None
        if parsed is None:
            return current
        found = parsed[0]
        return Delimiters(current.element, found.component, found.repetition, current.segment, "")

    def _detect_isa(self, buf: str, index: int, line: int) -> tuple[str, Delimiters]:
        """Read enough of the stream to parse the ISA at the start of `buf`."""
        while True:
            try:
                parsed = parse_isa_delimiters(buf)
            except (ValueError, IndexError) as exc:
                raise self._error(f"unusable ISA segment: {exc}", index, line) from exc
            if parsed is not None:
                break
            more = self._read()
            if not more:
                raise self._error("truncated ISA segment: the file ends inside the interchange header",
                                  index, line)
            buf += more
        delims, _end, fixed = parsed
        if not fixed:
            self.findings.append(Finding(
                "ENV001", "ISA is not fixed width (106 characters with every field padded)",
                Location(self.name, index, line, "ISA")))
        return buf, delims

    # --- envelope checks ---------------------------------------------------------------------

    def _find(self, code: str, message: str, seg: Segment, element: str | None = None,
              severity: Severity = Severity.ERROR) -> None:
        self.findings.append(Finding(code, message, Location(self.name, seg.index, seg.line, seg.tag,
                                                             element=element), severity))

    def _check(self, seg: Segment) -> bool:
        """Track the envelope; returns False for junk that must not reach the models."""
        env = self._env
        tag = seg.tag
        if not _TAG.match(tag):
            self._find("ENV013", "not a segment: the segment id is not 2-3 letters or digits", seg)
            return False
        if env.closed_interchange and tag != "ISA":
            if not env.junk_reported:
                self._find("ENV009", "data after IEA: junk after the end of the interchange", seg)
                env.junk_reported = True
            return False
        if env.st is not None and tag not in ("ST", "GS", "GE", "ISA", "IEA"):
            env.seg_count += 1
        if tag == "ISA":
            if env.isa is not None and not env.closed_interchange:
                self._find("ENV008", "IEA missing: a new ISA starts before the previous interchange ended",
                           seg)
                self._close_open(seg.index, seg.line)
            env.isa, env.groups, env.closed_interchange, env.junk_reported = seg, 0, False, False
        elif tag == "GS":
            if env.gs is not None:
                self._find("ENV008", "GE missing: a new GS starts before the previous group ended", seg)
            if env.isa is None and not self.fragment:
                self._find("ENV010", "GS outside an interchange (no ISA before it)", seg)
            env.gs, env.sets = seg, 0
        elif tag == "ST":
            if env.st is not None:
                self._find("ENV008", "SE missing: a new ST starts before the previous transaction set ended",
                           seg)
            if env.gs is None and not self.fragment:
                self._find("ENV010", "ST outside a functional group (no GS before it)", seg)
            env.st, env.seg_count = seg, 1
        elif tag == "SE":
            if env.st is None:
                self._find("ENV010", "SE without a matching ST", seg)
            else:
                if seg.get(1) != str(env.seg_count):
                    self._find("ENV006", f"SE01 says {seg.get(1) or 'nothing'} segments, the transaction set "
                               f"has {env.seg_count}", seg, "SE01")
                if seg.get(2) != env.st.get(2):
                    self._find("ENV007", f"SE02 {seg.get(2)!r} does not match ST02 {env.st.get(2)!r}", seg,
                               "SE02")
            env.st = None
            env.sets += 1
        elif tag == "GE":
            if env.gs is None:
                self._find("ENV010", "GE without a matching GS", seg)
            else:
                if env.st is not None:
                    self._find("ENV008", "SE missing before GE", seg)
                    env.st = None
                    env.sets += 1
                if seg.get(1) != str(env.sets):
                    self._find("ENV004", f"GE01 says {seg.get(1) or 'nothing'} transaction sets, the group has "
                               f"{env.sets}", seg, "GE01")
                if seg.get(2) != env.gs.get(6):
                    self._find("ENV005", f"GE02 {seg.get(2)!r} does not match GS06 {env.gs.get(6)!r}", seg, "GE02")
            env.gs = None
            env.groups += 1
        elif tag == "IEA":
            if env.isa is None:
                self._find("ENV010", "IEA without a matching ISA", seg)
            else:
                if env.gs is not None:
                    self._find("ENV008", "GE missing before IEA", seg)
                    env.gs = None
                    env.groups += 1
                if seg.get(1) != str(env.groups):
                    self._find("ENV002", f"IEA01 says {seg.get(1) or 'nothing'} functional groups, the "
                               f"interchange has {env.groups}", seg, "IEA01")
                if seg.get(2) != env.isa.get(13):
                    self._find("ENV003", f"IEA02 {seg.get(2)!r} does not match ISA13 {env.isa.get(13)!r}", seg,
                               "IEA02")
            env.isa, env.closed_interchange = None, True
        elif env.st is None and not self.fragment:
            self._find("ENV010", "segment outside a transaction set (no ST before it)", seg)
        return True

    def _close_open(self, index: int, line: int | None) -> None:
        env = self._env
        env.st = env.gs = env.isa = None

    def _close_envelope(self, index: int, line: int) -> None:
        env = self._env
        where = Location(self.name, index or None, line)
        if env.st is not None:
            self.findings.append(Finding("ENV008", "truncated: the file ends inside a transaction set (no SE)",
                                         where))
        if env.gs is not None:
            self.findings.append(Finding("ENV008", "truncated: the file ends inside a functional group (no GE)",
                                         where))
        if env.isa is not None:
            self.findings.append(Finding("ENV008", "truncated: the file ends inside an interchange (no IEA)",
                                         where))


def _mostly_binary(sample: str) -> bool:
    if not sample:
        return False
    odd = sum(1 for c in sample if (ord(c) < 32 and c not in "\r\n\t\f\v") or "\udc80" <= c <= "\udcff")
    return odd > len(sample) // 10


@dataclass(slots=True)
class TransactionSet:
    """One ST..SE with its envelope; `segments` streams ST through SE and must be read before the next."""

    st: Segment
    isa: Segment | None
    gs: Segment | None
    segments: Iterator[Segment] = field(repr=False)

    @property
    def code(self) -> str:
        return self.st.get(1)

    @property
    def version(self) -> str:
        """The implementation guide version, ST03 or else GS08 (e.g. 005010X221A1)."""
        return self.st.get(3) or (self.gs.get(8) if self.gs else "")


def iter_transactions(segments: Iterator[Segment] | X12Reader) -> Iterator[TransactionSet]:
    """Group a segment stream into transaction sets, lazily: each set's segments are read on demand."""
    stream = iter(segments)
    pending: list[Segment] = []
    isa: Segment | None = None
    gs: Segment | None = None

    def next_segment() -> Segment | None:
        if pending:
            return pending.pop()
        return next(stream, None)

    def body(st: Segment) -> Iterator[Segment]:
        yield st
        while True:
            seg = next_segment()
            if seg is None:
                return
            if seg.tag in ("ST", "GS", "GE", "ISA", "IEA"):
                pending.append(seg)
                return
            yield seg
            if seg.tag == "SE":
                return

    while True:
        seg = next_segment()
        if seg is None:
            return
        if seg.tag == "ISA":
            isa, gs = seg, None
        elif seg.tag == "GS":
            gs = seg
        elif seg.tag == "ST":
            segments = body(seg)
            yield TransactionSet(seg, isa, gs, segments)
            for _ in segments:  # drain what the consumer left
                pass


def read_segments(path: str | Path) -> tuple[list[Segment], list[Finding]]:
    """Every segment of a file at once, with the envelope findings; for small files and tests."""
    reader = X12Reader.open(path)
    segments = list(reader)
    return segments, reader.findings
