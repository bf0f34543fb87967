"""A clean 835 read without the general reader's work: checked once at C speed, then split straight into segments.

`cobpipe convert` reads each ERA twice: a scan (is it an 835, how many CLPs share each CLP01) and
the conversion. The general reader (`edi.reader.X12Reader`) handles every layout users send and
tracks the envelope segment by segment. Most files need none of that: ASCII, standard delimiters,
`~` or `~<LF>` between segments, every envelope count and control number right. `scan` checks that
with splits, counts and literal searches over whole chunks, and gives what the scan needs (CLP01
counts, transaction set codes, ISA15); `CleanReader` then yields the segments of such a file as
`X12Reader` would (same tags, elements, segment numbers, lines, delimiters; no findings), split
with `str.split`. For anything else `scan` answers None and the general reader does both passes,
so findings and refusals stay its own. tests/cobpipe/era/test_clean.py holds both readers to the
same segments.
"""
from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path

from edi.chunks import CHUNK_BYTES, Unterminated, terminated_chunks
from edi.errors import EdiSyntaxError
from edi.reader import ISA_WIDTHS, LOOP_LIMIT, TransactionSet, parse_isa_delimiters
from edi.segment import Delimiters, Segment, _make_segment

READ_BYTES = 1 << 14  # a chunk's segments are made at once: about 500 (larger batches cost the cyclic GC more than they save)
MAX_GAP_BYTES = 3 * LOOP_LIMIT  # a segment is at least 3 bytes: closer loop starts cannot hide LOOP_LIMIT
# what the reader would strip from a segment's end: each byte, and it before a terminator
_STRIPPED = tuple((bytes((byte,)), bytes((byte,)) + b"~") for byte in b" \t\v\f\x00\x1a")
# envelope segments and loop starts (edi.reader.LOOP_STARTS)
# (ISA|IEA|GS|GE|ST|SE|CLP|CLM|LX|HL|AK2|IK3, factored by first character: the engine tries the
# alternatives at every terminator, and fewer of them there cost less: 122.7M -> 101.9M instructions
# over the 10k bench ERA; tests/cobpipe/era/test_clean.py holds it to the plain list)
_TAGS = b"I(?:SA|EA|K3)|G[SE]|S[TE]|CL[PM]|LX|HL|AK2"
# (the "*" or terminator after the tag is looked at, not taken: a segment without elements, "LX~",
# would otherwise hide a loop start right after it in a file without line feeds)
# Group 1: a loop start's tag, where the segment starts. No group 1, in the same search: a
# terminator whose segment does not start with a 2-3 character id followed by "*" or its own
# terminator (the block's last terminator ends it), with one segment a line also a terminator not
# followed by its line feed. One walk of the block where two searches walked it twice (~236k
# terminators at 10k: 793.9M -> 768.8M instructions for the scan of the 10k bench ERA); the loop
# start first, which a terminator is less often, so it is not also tested as a bad start; the id
# possessive (a 3-character id's third character is no separator: giving it back never matches)
_KEY_OR_BAD_START = {
    False: re.compile(rb"~(" + _TAGS + rb")(?=[*~])|~(?![A-Z0-9]{2,3}+[*~]|\Z)"),
    True: re.compile(rb"~\n(" + _TAGS + rb")(?=[*~])|~(?!\n[A-Z0-9]{2,3}+[*~]|\Z)"),
}
_ENVELOPE = frozenset({b"ISA", b"IEA", b"GS", b"GE", b"ST", b"SE"})


class _NotClean(Exception):
    pass


@dataclass(slots=True)
class CleanScan:
    """What `pipeline.scan_era` reads from a clean file."""

    clp_counts: Counter
    codes: set
    usage: str
    lines: bool  # one segment a line
    delimiters: Delimiters
    segments: int
    set_sizes: list  # SE01 of each transaction set, in file order
    stamp: tuple = ()  # (inode, size, mtime) of the file as scanned


def scan(path: Path) -> CleanScan | None:
    """The file's CLP01 counts, ST01 codes and ISA15 when `X12Reader` would read it with no finding
    at all and `CleanReader` reads it as it would; else None."""
    try:
        return _Scan(path).run()
    except (_NotClean, OSError, ValueError):
        return None


def _segment_problem(text: bytes, lines: bool, count: int) -> str:
    """What the reader would read differently in the `count` segments between text's terminators
    (text starts with one and ends with one) but their ids and a terminator without its line feed
    (_KEY_OR_BAD_START finds those): with `lines`, line feeds but one a segment, else any; a
    carriage return; a segment ending in what the reader strips; "" when none. Counted and searched
    over the whole text at C speed instead of split into segments (tests/cobpipe/era/test_clean.py
    holds these checks to the split)."""
    if text.count(b"\n") != (count if lines else 0):
        return "line feeds"
    if b"\r" in text:
        return "carriage return"
    for blank, blank_end in _STRIPPED:  # a byte that is not there is ruled out at memchr speed
        if blank in text and blank_end in text:
            return "stripped before a terminator"
    return ""


class _Scan:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.counts: Counter = Counter()
        self.codes: set[str] = set()
        self.usage = ""
        self.lines = False
        self.delimiters: Delimiters | None = None
        self.segments = 0
        self.set_sizes: list[int] = []
        # envelope state
        self.isa: list[str] | None = None
        self.gs: list[str] | None = None
        self.st: list[str] | None = None
        self.interchanges = 0
        self.closed = False
        self.groups = self.sets = 0
        self.st_number = 0
        self.last_number = 0
        self.last_tag = b""
        self.last_at = 0

    def run(self) -> CleanScan:
        with open(self.path, "rb") as stream:
            self.stamp = _stamp(os.fstat(stream.fileno()))
            first = True
            try:
                for block, cut, offset in terminated_chunks(stream, size=CHUNK_BYTES):
                    self.block(block, cut, offset, first)
                    first = False
            except Unterminated as exc:
                raise _NotClean(str(exc)) from None
        if first or not self.closed or self.isa is not None or self.segments != self.last_number:
            raise _NotClean("truncated, or something after IEA")
        assert self.delimiters is not None
        return CleanScan(self.counts, self.codes, self.usage, self.lines, self.delimiters, self.segments,
                         self.set_sizes, self.stamp)

    def block(self, block: bytes, cut: int, offset: int, first: bool) -> None:
        if not block.isascii():
            raise _NotClean("not ASCII")
        if first:
            if not block.startswith(b"ISA"):
                raise _NotClean("does not start with ISA")
            self.lines = block.find(b"~\n", 0, 200) == block.find(b"~", 0, 200) >= 0
            lead = b"~\n" if self.lines else b"~"
        else:
            lead = b"~"
        text = lead + block[:cut]
        shift = offset - len(lead)
        count = text.count(b"~") - 1  # the block's segments: text[0] is the lead's virtual terminator
        problem = _segment_problem(text, self.lines, count)
        if problem:
            raise _NotClean(problem)
        counted_to = before = 0
        last_at = self.last_at
        clp01s = []  # counted at the block's end: Counter.update counts in C (+= calls its __missing__ a new id)
        for match in _KEY_OR_BAD_START[self.lines].finditer(text):
            tag = match[1]
            if tag is None:
                raise _NotClean("segment id")
            begin = match.start(1)
            here = shift + begin
            if here - last_at > MAX_GAP_BYTES:
                raise _NotClean("a long stretch without a loop start")
            last_at = here
            if tag == b"CLP":
                end = text.index(b"~", begin)
                clp01s.append(text[begin + 4:end].split(b"*", 1)[0])
                if self.st is None:
                    raise _NotClean("CLP outside a transaction set")
            elif tag in _ENVELOPE:
                # text[0] is the virtual terminator: the n-th segment of the block has n before it;
                # counted from the nearer of the last one counted and the text's end (count + 1 in all)
                if begin - counted_to <= len(text) - begin:
                    before += text.count(b"~", counted_to, begin)
                else:  # an SE or GE near the block's end: not the whole transaction set counted again
                    before = count + 1 - text.count(b"~", begin)
                counted_to = begin
                number = self.segments + before
                end = text.index(b"~", begin)
                self.envelope(tag, text[begin:end].decode("ascii"), number)
            elif self.st is None:
                raise _NotClean("loop start outside a transaction set")
        self.counts.update(map(str.strip, map(bytes.decode, clp01s)))  # ASCII (checked above): as decode("ascii")
        self.last_at = last_at
        self.segments += count

    def _follows(self, number: int) -> bool:
        return number == self.last_number + 1

    def envelope(self, tag: bytes, text: str, number: int) -> None:
        if self.closed and tag != b"ISA":
            raise _NotClean("after IEA")
        elements = text.split("*")

        def get(n: int, source: list[str] | None = elements) -> str:
            return source[n] if source is not None and n < len(source) else ""

        if tag == b"ISA":
            if self.isa is not None or self.interchanges or number != 1:
                raise _NotClean("one interchange only")
            if [len(e) for e in elements[1:]] != list(ISA_WIDTHS):
                raise _NotClean("ISA width")
            parsed = parse_isa_delimiters(text + "~", final=True)
            if parsed is None or not parsed[2]:
                raise _NotClean("ISA")
            delimiters = parsed[0]
            if (delimiters.element, delimiters.component, delimiters.repetition, delimiters.segment) != (
                    "*", ":", "^", "~"):
                raise _NotClean("delimiters")
            self.delimiters = delimiters
            self.usage = get(15).strip().upper()
            self.isa, self.interchanges, self.groups = elements, 1, 0
        elif tag == b"GS":
            if self.isa is None or self.gs is not None or not self._follows(number) \
                    or self.last_tag not in (b"ISA", b"GE"):
                raise _NotClean("GS")
            self.gs, self.sets = elements, 0
        elif tag == b"ST":
            if self.gs is None or self.st is not None or not self._follows(number) \
                    or self.last_tag not in (b"GS", b"SE"):
                raise _NotClean("ST")
            self.codes.add(get(1))
            self.st, self.st_number = elements, number
        elif tag == b"SE":
            if self.st is None or get(1) != str(number - self.st_number + 1) or get(2) != get(2, self.st):
                raise _NotClean("SE")
            self.set_sizes.append(number - self.st_number + 1)
            self.st = None
            self.sets += 1
        elif tag == b"GE":
            if self.gs is None or self.st is not None or not self._follows(number) or self.last_tag != b"SE" \
                    or get(1) != str(self.sets) or get(2) != get(6, self.gs):
                raise _NotClean("GE")
            self.gs = None
            self.groups += 1
        else:  # IEA
            if self.isa is None or self.gs is not None or not self._follows(number) or self.last_tag != b"GE" \
                    or get(1) != str(self.groups) or get(2) != get(13, self.isa):
                raise _NotClean("IEA")
            self.isa, self.closed = None, True
        self.last_number, self.last_tag = number, tag


def reopen_unchanged(path, name: str, stamp: tuple):
    """The scanned file opened again for its second pass (binary); refused when it is no longer
    the file the scan vouched for."""
    try:
        stream = open(path, "rb")  # noqa: SIM115 - the caller closes it
    except OSError as exc:
        raise EdiSyntaxError(f"cannot read it again: {exc.strerror or exc}", path=name) from exc
    if _stamp(os.fstat(stream.fileno())) != stamp:
        stream.close()
        raise EdiSyntaxError("the file changed while it was being converted; convert it again", path=name)
    return stream


def _stamp(stat: os.stat_result) -> tuple[int, int, int]:
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


class CleanReader:
    """The segments of a file `scan` accepted, as `X12Reader` yields them; quacks like one for
    `era.RemittanceReader` (name, findings, delimiters, iterate once)."""

    def __init__(self, path: Path, found: CleanScan) -> None:
        self.path = Path(path)
        self.name = str(path)
        self.found = found
        self.findings: list = []  # a clean file has none
        self.delimiters = found.delimiters
        self.fragment = False
        self._consumed = False

    def __iter__(self) -> Iterator[Segment]:
        if self._consumed:
            raise RuntimeError("a CleanReader can be iterated once")
        self._consumed = True
        return self._segments()

    def _segments(self) -> Iterator[Segment]:
        """Chunk by chunk, each chunk's segments made in one list (iterated at C speed after)."""
        return chain.from_iterable(self._chunks())

    def _chunks(self) -> Iterator[list[Segment]]:
        delimiters = self.delimiters
        lines = self.found.lines
        make = _make_segment
        number = 0
        with reopen_unchanged(self.path, self.name, self.found.stamp) as stream:
            carry = b""
            while True:
                data = stream.read(READ_BYTES)
                if not data:
                    break
                block = carry + data if carry else data
                cut = block.rfind(b"~") + 1
                carry = block[cut:]
                text = block[:cut].decode("ascii")
                if lines:
                    text = text.replace("\n", "")
                bodies = text.split("~")
                bodies.pop()
                split = [body.split("*") for body in bodies]
                if lines:
                    made = [make(parts[0], tuple(parts[1:]), n, n, delimiters)
                            for n, parts in enumerate(split, number + 1)]
                else:
                    made = [make(parts[0], tuple(parts[1:]), n, 1, delimiters)
                            for n, parts in enumerate(split, number + 1)]
                number += len(made)
                yield made
        if number != self.found.segments:
            raise EdiSyntaxError("the file changed while it was being converted; convert it again", path=self.name)

    def transactions(self) -> Iterator[TransactionSet]:
        """`edi.reader.iter_transactions` over this file: the scan counted each set's segments, so a
        set's segments are a slice of the stream (no per-segment look for its end)."""
        if self._consumed:
            raise RuntimeError("a CleanReader can be iterated once")
        self._consumed = True
        stream = self._segments()
        sizes = iter(self.found.set_sizes)
        isa = gs = None
        for seg in stream:
            tag = seg.tag
            if tag == "ISA":
                isa, gs = seg, None
            elif tag == "GS":
                gs = seg
            elif tag == "GE":
                gs = None
            elif tag == "IEA":
                isa = gs = None
            elif tag == "ST":
                body = chain((seg,), islice(stream, next(sizes) - 1))
                yield TransactionSet(seg, isa, gs, body)
                for _ in body:  # drain what the consumer left
                    pass
