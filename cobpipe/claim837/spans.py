"""Where the claims of an 837P file are: one pass over its bytes at C speed (splits, counts, literal
searches), Python code only for the envelope, HL and CLM segments. It checks that the plain reader
would read the file as these offsets say (see claim837.index) and raises NotIndexable otherwise.
"""
from __future__ import annotations

import os
import re
import struct
from pathlib import Path

from edi.chunks import CHUNK_BYTES, Unterminated, terminated_chunks
from edi.reader import ISA_WIDTHS, LOOP_LIMIT, parse_isa_delimiters
from edi.segment import STANDARD, _make_segment

from .claim import Envelope
from .parser import is_837p_version

MAX_GAP_BYTES = 3 * LOOP_LIMIT
"""A reader refuses more than LOOP_LIMIT segments without an HL or CLM; a segment is at least 3 bytes
(`XY~`), so two HL/CLM segments closer than this cannot have that many between them. Farther
apart: the plain reader decides."""

# a segment the index does not read: a terminator after a byte the reader strips (layout, NUL /
# Ctrl-Z padding: the segment is not read as its bytes say), or before a segment that does not
# start with a 2-3 character id and then an element separator or its terminator (the reader
# refuses other ids as junk). In a block of one segment a line every terminator but the last is
# followed by a line feed (checked before).
_ODD_SEGMENT = {
    False: re.compile(rb"~(?:(?<=[ \t\v\f\x00\x1a]~)|(?![A-Z0-9]{2,3}[*~]|\Z))"),
    True: re.compile(rb"~(?:(?<=[ \t\v\f\x00\x1a]~)|\n(?![A-Z0-9]{2,3}[*~]))"),
}
_KEY_TAGS = (b"ISA", b"IEA", b"GS", b"GE", b"ST", b"SE", b"HL", b"CLM")
_KIND = {tag: kind for kind, tag in enumerate(_KEY_TAGS)}  # no kind for None: an odd segment
# the envelope, HL and CLM segments (group 1: the tag, where the segment starts) and the odd
# segments above (no group 1) in one search over the block, at every terminator: the look-ups run
# at C speed, once, where two searches (keys, then odd segments) walked the block twice; in a
# block of one segment a line, also a terminator not followed by its line feed (the last is at the
# block's end), which with the line feeds counted is every line feed after a terminator. A key
# segment's match runs on to its terminator (the search goes on from there): where it ends is the
# match's end, not a search of the block for each (a bytes.index call, ~1.8k instructions)
_KEYS_AND_ODD = {
    False: re.compile(rb"~(?:(?<=[ \t\v\f\x00\x1a]~)|(ISA|IEA|GS|GE|ST|SE|HL|CLM)(?=[*~])[^~]*"
                      rb"|(?![A-Z0-9]{2,3}[*~]|\Z))"),
    True: re.compile(rb"~(?:(?<=[ \t\v\f\x00\x1a]~)|\n(?:(ISA|IEA|GS|GE|ST|SE|HL|CLM)(?=[*~])[^~]*"
                     rb"|(?![A-Z0-9]{2,3}[*~]))|(?!\n|\Z))"),
}
# _KEYS_AND_ODD for a block with no byte the reader strips before a terminator and (one segment a
# line) every terminator but the last followed by its line feed, both told at C speed
# (_unstripped_lines): only the segments' starts are left to test, so the search stops at `~<LF>`
# alone and runs no look-behind (~1k instructions a segment instead of ~1.5k). The tags are
# factored by first letter, the most frequent first, and the id taken possessively (a 3-character
# id's third character is no separator, so giving it back never matches): ~10% fewer again
_KEYS_AND_ODD_STARTS = {
    False: re.compile(rb"~(?:(HL|CLM|I(?:SA|EA)|G[SE]|S[TE])(?=[*~])[^~]*|(?![A-Z0-9]{2,3}+[*~]|\Z))"),
    True: re.compile(rb"~\n(?:(HL|CLM|I(?:SA|EA)|G[SE]|S[TE])(?=[*~])[^~]*|(?![A-Z0-9]{2,3}+[*~]))"),
}
_ENVELOPE = {b"ISA", b"IEA", b"GS", b"GE", b"ST", b"SE"}
_CONTEXT_FIELDS = 9  # transaction, then start and end of the header, 2000A, 2000B and 2000C (-1: none)
# a context's fields as the bytes of ClaimIndex.contexts' items (array "q": native 8-byte integers):
# appended with frombytes, where array.extend converts each item through PyArg_Parse (~5k
# instructions a context instead of ~1.8k)
_PACK_CONTEXT = struct.Struct(f"{_CONTEXT_FIELDS}q").pack


class NotIndexable(Exception):
    """The file needs the plain reader (a shape the index does not read, or bad input)."""


def read_spans(index, path: Path, only: frozenset[str] | None) -> os.stat_result:
    """Add the claims of the 837P at `path` to `index` (a claim837.index.ClaimIndex); the file's
    stat as read. NotIndexable when the plain reader must read it."""
    file_no = len(index.paths)
    index.paths.append(str(path))
    scanner = _Scanner(index, file_no, str(path), only)
    with open(path, "rb") as stream:
        stat = os.fstat(stream.fileno())
        try:
            for block, cut, offset in terminated_chunks(stream, size=CHUNK_BYTES):
                scanner.scan(block, cut, offset)
        except Unterminated as exc:
            raise NotIndexable(str(exc)) from None
    scanner.finish()
    return stat


class _Scanner:
    """One file's envelope and HL state across the chunks scanned."""

    def __init__(self, index, file_no: int, name: str, only: frozenset[str] | None) -> None:
        self.index = index
        self.file_no = file_no
        self.name = name
        self.only = only
        self.segments = 0  # segments before the current position (ISA = 1)
        self.started = False
        self.lines = False  # one segment a line (`~<LF>` between segments)
        # envelope
        self.isa: list[str] | None = None
        self.gs: list[str] | None = None
        self.st: list[str] | None = None
        self.closed = False
        self.groups = self.sets = 0
        self.st_number = 0  # segment number of the open ST
        self.last_number = 0  # number of the last key segment
        self.last_tag = b""
        self.last_at = 0  # file offset of the last key segment
        # HL tree of the open transaction set
        self.transaction = -1
        self.header: tuple[int, int] | None = None
        self.billing_by_id: dict[str, tuple[int, int]] = {}
        self.billing: tuple[int, int] | None = None
        self.subscriber: tuple[int, int] | None = None
        self.subscriber_id = ""
        self.patient: tuple[int, int] | None = None
        self.last_hl = 0
        self.context = -1  # the context of the claims read since the last HL
        self.open_span: list | None = None  # [kind, start, payload]: the HL loop or claim being read

    def scan(self, block: bytes, cut: int, offset: int) -> None:
        """The whole segments block[:cut], at file offset `offset` (cut is right after a terminator).

        Everything here runs at C speed over the block (counts, searches); Python code runs once per
        envelope, HL and CLM segment."""
        if not block.isascii():
            raise NotIndexable("not ASCII")
        if not self.started:
            if not block.startswith(b"ISA"):
                raise NotIndexable("does not start with ISA")
            self.started = True
            self.lines = block.find(b"~\n", 0, 200) == block.find(b"~", 0, 200)  # one segment a line
            lead = b"~\n" if self.lines else b"~"
        else:
            lead = b"~"
        # a virtual terminator before the first segment: every segment is `sep` + its bytes
        text = lead + block[:cut]
        shift = offset - len(lead)  # file offset of text[i] = shift + i
        terminators = text.count(b"~")
        if self.lines:  # `~<LF>` between all segments (each terminator's line feed: _KEYS_AND_ODD)
            if text.count(b"\n") != terminators - 1:
                raise NotIndexable("line feeds other than one after each terminator")
            seplen = 2
        else:
            if b"\n" in text:
                raise NotIndexable("line feeds between some segments only")
            seplen = 1
        if b"\r" in text:
            raise NotIndexable("carriage returns")
        found = _key_segments(text, self.lines, terminators)
        counted_to = 0
        number = self.segments  # segments before text[counted_to]
        last_at = self.last_at
        hl, clm, segment = self.hl, self.clm, self.segment
        for code, end in found:
            begin, kind = code >> 3, code & 7
            at = begin - seplen  # the terminator before the segment
            # a segment's span starts right after the terminator before it (with its line feed)
            here = shift + at + 1
            if here - last_at > MAX_GAP_BYTES:
                raise NotIndexable("a long stretch without HL or CLM")
            last_at = here
            if kind == 6:
                hl(text[begin:end].decode("ascii").split("*"), here)
            elif kind == 7:
                clm(text[begin:end].decode("ascii").split("*"), here)
            else:
                number += text.count(b"~", counted_to, at) + 1
                counted_to = at + 1
                segment(_KEY_TAGS[kind], text[begin:end].decode("ascii"), number, here, shift + end + 1)
        self.last_at = last_at
        # the terminators after text[counted_to] (counted_to is mostly near the block's start)
        self.segments = number + terminators - text.count(b"~", 0, counted_to) - 1

    def segment(self, tag: bytes, text: str, number: int, at: int, after: int) -> None:
        """An envelope segment: its number in the file, where its span starts and where the next one can."""
        if self.closed and tag != b"ISA":
            raise NotIndexable("data after IEA")
        elements = text.split("*")
        if tag == b"ISA":
            self.open_isa(text, elements, number)
        else:
            self.envelope(tag, elements, number, at, after)
        self.last_number, self.last_tag = number, tag

    # --- envelope -----------------------------------------------------------------------------

    def _follows(self, number: int) -> bool:
        return number == self.last_number + 1

    def open_isa(self, text: str, elements: list[str], number: int) -> None:
        if self.isa is not None or (number != 1 and not (self.closed and self._follows(number))):
            raise NotIndexable("ISA out of place")
        if [len(e) for e in elements[1:]] != list(ISA_WIDTHS):
            raise NotIndexable("ISA not fixed width")
        parsed = parse_isa_delimiters(text + "~", final=True)
        if parsed is None:
            raise NotIndexable("ISA")
        delimiters, _, fixed = parsed
        if not fixed or (delimiters.element, delimiters.component, delimiters.repetition,
                         delimiters.segment) != ("*", ":", "^", "~"):
            raise NotIndexable("not the standard delimiters")
        self.isa, self.closed, self.groups = elements, False, 0

    def envelope(self, tag: bytes, elements: list[str], number: int, at: int, after: int) -> None:
        get = _getter(elements)
        if tag == b"GS":
            if self.isa is None or self.gs is not None or not self._follows(number) \
                    or self.last_tag not in (b"ISA", b"GE"):
                raise NotIndexable("GS out of place")
            self.gs, self.sets = elements, 0
        elif tag == b"ST":
            if self.gs is None or self.st is not None or not self._follows(number) \
                    or self.last_tag not in (b"GS", b"SE"):
                raise NotIndexable("ST out of place")
            versions = [v for v in (get(3), _getter(self.gs)(8)) if v]
            if get(1) != "837" or not versions or not all(is_837p_version(v) for v in versions):
                raise NotIndexable("not an 837P")  # the plain reader says which way
            self.st, self.st_number = elements, number
            self.open_transaction(after)
        elif tag == b"SE":
            if self.st is None or get(1) != str(number - self.st_number + 1) or get(2) != _getter(self.st)(2):
                raise NotIndexable("SE")
            self.close_span(at)
            if self.header is None:
                raise NotIndexable("a transaction set without HL")
            self.st = None
            self.sets += 1
        elif tag == b"GE":
            if self.gs is None or self.st is not None or not self._follows(number) or self.last_tag != b"SE" \
                    or get(1) != str(self.sets) or get(2) != _getter(self.gs)(6):
                raise NotIndexable("GE")
            self.gs = None
            self.groups += 1
        else:  # IEA
            if self.isa is None or self.gs is not None or not self._follows(number) or self.last_tag != b"GE" \
                    or get(1) != str(self.groups) or get(2) != _getter(self.isa)(13):
                raise NotIndexable("IEA")
            self.isa, self.closed = None, True

    def finish(self) -> None:
        if not self.closed or self.isa is not None:
            raise NotIndexable("truncated")

    # --- the HL tree --------------------------------------------------------------------------

    def open_transaction(self, at: int) -> None:
        isa, gs, st = (_segment("ISA", self.isa), _segment("GS", self.gs), _segment("ST", self.st))
        from ..ledger.core import _envelope_text

        self.index.envelopes.append(_envelope_text(Envelope.of(self.name, isa, gs, st)))
        self.transaction = len(self.index.envelopes) - 1
        self.header = None
        self.billing_by_id = {}
        self.billing = self.subscriber = self.patient = None
        self.subscriber_id = ""
        self.last_hl = 0
        self.context = -1
        self.open_span = ["HEADER", at, None]  # from the segment after ST

    def close_span(self, at: int) -> None:
        """The loop or claim read since the last HL/CLM ends where the segment at `at` starts."""
        span = self.open_span
        if span is None:
            return
        kind, start, payload = span
        self.open_span = None
        if kind == "CLM":  # the most frequent first: a claim, then the subscriber HL that opens most
            context = self.context
            if context < 0:
                patient = self.patient
                self.index.contexts.frombytes(_PACK_CONTEXT(self.transaction, *self.header, *self.billing,
                                                            *self.subscriber,
                                                            *(patient if patient is not None else (-1, -1))))
                context = self.context = len(self.index.contexts) // _CONTEXT_FIELDS - 1
            self.index._add_claim(payload, self.file_no, context, start, at)
        elif kind == "22":
            self.subscriber = (start, at)
        elif kind == "23":
            self.patient = (start, at)
        elif kind == "20":
            self.billing = self.billing_by_id[payload] = (start, at)
        else:  # HEADER
            self.header = (start, at)

    def hl(self, elements: list[str], at: int) -> None:
        if self.st is None:
            raise NotIndexable("HL outside a transaction set")
        self.close_span(at)
        elements += ("", "", "")
        hl_id, parent, level = elements[1], elements[2], elements[3]
        if hl_id != str(self.last_hl + 1):
            raise NotIndexable("HL01 out of sequence")
        self.last_hl += 1
        self.context = -1
        if level == "20":
            self.subscriber = self.patient = None
            self.billing = None
            self.open_span = ["20", at, hl_id]
        elif level == "22":
            billing = self.billing_by_id.get(parent)
            if billing is None:
                raise NotIndexable("subscriber HL without its billing provider HL")
            self.billing = billing
            self.patient = None
            self.subscriber_id = hl_id
            self.open_span = ["22", at, None]
        elif level == "23":
            if self.subscriber is None or parent != self.subscriber_id or not parent:
                raise NotIndexable("patient HL not under the latest subscriber HL")
            self.open_span = ["23", at, None]
        else:
            raise NotIndexable("HL03 level code")

    def clm(self, elements: list[str], at: int) -> None:
        if self.st is None:
            raise NotIndexable("CLM outside a transaction set")
        if self.header is None:
            raise NotIndexable("CLM before any HL")
        self.close_span(at)
        if self.subscriber is None or self.billing is None:
            raise NotIndexable("CLM outside a subscriber HL")
        claim_id = elements[1] if len(elements) > 1 else ""
        only = self.only
        wanted = only is None or claim_id in only or claim_id.upper() in only
        self.open_span = ["CLM", at, claim_id] if wanted else None


def _key_segments(text: bytes, lines: bool, terminators: int | None = None) -> list[tuple[int, int]]:
    """Each envelope, HL and CLM segment of `text` (a block after its virtual terminator): where it
    starts, shifted left 3 bits, or'ed with its kind (_KEY_TAGS), and where its terminator is;
    NotIndexable when a segment is odd (`_odd_segment`), or, one segment a line, a terminator but
    the last is not followed by a line feed. `terminators`: text.count(b"~"), when known. Held to
    splitting the block by tests/cobpipe/claim837/test_claim837_index_scan.py."""
    keys = (_KEYS_AND_ODD_STARTS if _unstripped_lines(text, lines, terminators) else _KEYS_AND_ODD)[lines]
    try:
        return [(match.start(1) << 3 | _KIND[match.group(1)], match.end()) for match in keys.finditer(text)]
    except KeyError:  # an odd segment (no group 1)
        raise NotIndexable(_odd_segment(text, lines) or "line feeds other than one after each terminator") from None


def _unstripped_lines(text: bytes, lines: bool, terminators: int | None) -> bool:
    """Whether no segment of `text` ends in a byte the reader strips and, one segment a line, every
    terminator but the last (at the block's end) is followed by a line feed: what _KEYS_AND_ODD tests
    at each terminator beside the segment's start. False says nothing (_KEYS_AND_ODD decides)."""
    if lines and text.count(b"~\n") != (text.count(b"~") if terminators is None else terminators) - 1:
        return False
    return not (b" ~" in text or b"\t" in text or b"\v" in text or b"\f" in text or b"\x00" in text
                or b"\x1a" in text)


def _odd_segment(text: bytes, lines: bool) -> str | None:
    """Why the segments of `text` (a block after its virtual terminator: `~` or `~<LF>` + whole
    segments) are not all read as their bytes say, or None. Held to splitting the block into
    segments by tests/cobpipe/claim837/test_claim837_index_scan.py."""
    found = _ODD_SEGMENT[lines].search(text)
    if found is None:
        return None
    at = found.start()
    if at and text[at - 1] in _STRIPPED:
        return "a segment ending in what the reader strips"
    return "a segment id the reader does not take"


_STRIPPED = b" \t\v\f\x00\x1a"  # what the reader strips before a terminator


def _getter(elements: list[str]):
    def get(position: int) -> str:
        return elements[position] if position < len(elements) else ""
    return get


def _segment(tag: str, elements: list[str]):
    return _make_segment(tag, tuple(elements[1:]), 0, 0, STANDARD)
