"""spans._odd_segment (one regular-expression search over a block) refuses exactly the blocks that
splitting the block into its segments refuses (the index's earlier check, kept here as the
reference): a segment id the reader does not take, or a segment ending in a byte it strips."""
from __future__ import annotations

import re
from operator import itemgetter

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cobpipe.claim837.spans import (_KEY_TAGS, _KEYS_AND_ODD, _KEYS_AND_ODD_STARTS, NotIndexable, _key_segments,
                                    _odd_segment, _unstripped_lines)

_START = re.compile(rb"[A-Z0-9]{2,3}(?:\*.*)?", re.DOTALL)
_STRIPPED = frozenset(b" \t\v\f\x00\x1a")


def odd_by_splitting(text: bytes, lines: bool) -> bool:
    """The reference: the block split at its terminators, each segment's first bytes and last byte."""
    pieces = text.split(b"~")
    pieces.pop()  # after the last terminator: nothing
    del pieces[0]  # before the virtual terminator: nothing
    width, skip = (5, 1) if lines else (4, 0)
    if any(_START.fullmatch(start, skip) is None for start in set(map(itemgetter(slice(0, width)), pieces))):
        return True
    return not _STRIPPED.isdisjoint(map(itemgetter(-1), pieces))


_SEGMENT_BYTES = st.sampled_from([b"A", b"B", b"Z", b"0", b"9", b"a", b"*", b":", b" ", b"\t", b"\x00", b"\x1a",
                                  b"\v", b"~", b"\n", b"-"])
_SEGMENTS = st.one_of(
    st.lists(_SEGMENT_BYTES, max_size=7).map(b"".join),
    st.sampled_from([b"NM1*82*1", b"LX*1", b"LX", b"ABC", b"AB*", b"ABCD*1", b"REF*6R*X ", b"SV1*HC:1\x00",
                     b"HL*1**20*1", b"ab*1", b"A*1", b"", b"N3*1 MAIN ST", b"PER*IC**TE*1\x1a"]),
)


def block(segments: list[bytes], lines: bool) -> bytes:
    """A block as the scanner searches it: the virtual terminator, then each segment and its terminator
    (with the line feed after every terminator but the last, one segment a line)."""
    sep = b"~\n" if lines else b"~"
    return sep + sep.join(segments) + b"~"


@settings(max_examples=1500, deadline=None)
@given(st.lists(_SEGMENTS, min_size=1, max_size=6), st.booleans())
def test_odd_segment_as_splitting(segments, lines):
    text = block(segments, lines)
    if lines and (text.count(b"\n") != text.count(b"~") - 1 or text.count(b"~\n") != text.count(b"\n")):
        return  # the scanner refuses such a block before it looks at the segments
    if not lines and b"\n" in text:
        return
    assert (_odd_segment(text, lines) is not None) == odd_by_splitting(text, lines)


@pytest.mark.parametrize("lines", [False, True])
@pytest.mark.parametrize("segments, odd", [
    ([b"ISA*00", b"GS*HC", b"LX"], None),
    ([b"LX*1", b"REF*6R*X "], "a segment ending in what the reader strips"),
    ([b"LX*1", b"Ab*1"], "a segment id the reader does not take"),
    ([b"ABCD*1"], "a segment id the reader does not take"),
    ([b"LX*1", b""], "a segment id the reader does not take"),
])
def test_odd_segment_says_why(segments, odd, lines):
    assert _odd_segment(block(segments, lines), lines) == odd


def keys_by_splitting(text: bytes, lines: bool) -> list[tuple[int, int]] | None:
    """The reference for spans._key_segments: None when the block is refused (an odd segment, or one
    segment a line, a terminator but the last without its line feed), else each envelope, HL and CLM
    segment's start << 3 | its kind and where its terminator is, found by splitting the block at its
    terminators."""
    if odd_by_splitting(text, lines) or (lines and text.count(b"~\n") != text.count(b"~") - 1):
        return None
    found = []
    at = 0  # where the piece after the terminator at text[at - 1] starts
    pieces = text.split(b"~")
    for piece in pieces[1:-1]:
        at += 1
        start = at + 1 if lines else at  # the segment after its line feed
        tag = text[start:at + len(piece)].partition(b"*")[0]
        if tag in _KEY_TAGS:
            found.append((start << 3 | _KEY_TAGS.index(tag), at + len(piece)))
        at += len(piece)
    return found


_KEY_SEGMENTS = st.one_of(_SEGMENTS, st.sampled_from(
    [b"ISA*00", b"IEA*1", b"GS*HC", b"GE*1", b"ST*837", b"SE*9", b"HL*1**20*1", b"CLM*A1*10", b"HL", b"CLM",
     b"HLX*1", b"SEX*1", b"CLMS*1", b"GSA", b"SE~HL*2", b"CLM*1~\nHL*3", b"HL*4~ST*1", b"ST\n*1", b"REF*6R*A\nB"]))


@settings(max_examples=3000, deadline=None)
@given(st.lists(_KEY_SEGMENTS, min_size=1, max_size=6), st.booleans())
@example([b"SE~HL*2", b"REF*6R*A\nB"], True)  # a line feed moved into a segment: the counts still agree
def test_key_segments_as_splitting(segments, lines):
    text = block(segments, lines)
    if lines and text.count(b"\n") != text.count(b"~") - 1:
        return  # the scanner refuses such a block before it looks at the segments
    if not lines and b"\n" in text:
        return
    try:
        found = _key_segments(text, lines)
    except NotIndexable:
        found = None
    assert found == keys_by_splitting(text, lines)


def keys_by(expression, text: bytes) -> list[tuple[int, int]] | None:
    try:
        return [(match.start(1) << 3 | _KEY_TAGS.index(match.group(1)), match.end())
                for match in expression.finditer(text)]
    except ValueError:  # an odd segment (no group 1)
        return None


@settings(max_examples=3000, deadline=None)
@given(st.lists(_KEY_SEGMENTS, min_size=1, max_size=6), st.booleans())
@example([b"LX*1", b"LX"], True)  # a segment without elements: the starts' search takes it too
def test_keys_of_unstripped_blocks_from_the_starts_alone(segments, lines):
    """_key_segments searches a block with no stripped byte before a terminator and (one segment a
    line) a line feed after every terminator but the last (`_unstripped_lines`) by the segments'
    starts alone: the same answer as the search of every terminator, and as splitting the block."""
    text = block(segments, lines)
    if (lines and text.count(b"\n") != text.count(b"~") - 1) or (not lines and b"\n" in text):
        return  # the scanner refuses such a block before it looks at the segments
    reference = keys_by_splitting(text, lines)
    assert keys_by(_KEYS_AND_ODD[lines], text) == reference
    if _unstripped_lines(text, lines, None):
        assert keys_by(_KEYS_AND_ODD_STARTS[lines], text) == reference


@pytest.mark.parametrize("lines", [False, True])
def test_unstripped_lines_tells_a_usual_block(lines):
    usual = block([b"HL*1**20*1", b"NM1*85*2*A B", b"LX", b"CLM*A1*10"], lines)
    assert _unstripped_lines(usual, lines, None)
    assert not _unstripped_lines(block([b"HL*1**20*1", b"REF*EI*1 "], lines), lines, None)
    assert not _unstripped_lines(block([b"HL*1**20*1", b"REF*EI*1\x1a"], lines), lines, None)
