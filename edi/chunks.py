"""A file read in chunks that each end at a segment terminator, for the fast passes over plain X12.

The claim index (cobpipe/claim837/spans.py) and the clean-835 reader (cobpipe/era/clean.py) scan
raw bytes a megabyte at a time; a segment cut by a chunk's end is carried into the next chunk, so
each pass sees whole segments only and memory stays bounded by the chunk, whatever the file's size.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

CHUNK_BYTES = 1 << 20
LONGEST_CARRY = 1 << 20  # a file with no terminator in this many bytes is not plain X12
# what may follow the last terminator: the plain reader ignores trailing blanks, NULs and ^Z
TRAILING = b" \t\r\n\v\f\x00\x1a"


class Unterminated(ValueError):
    """Text after the last segment terminator, or none within LONGEST_CARRY bytes."""


def terminated_chunks(stream: BinaryIO, terminator: bytes = b"~",
                      size: int = CHUNK_BYTES) -> Iterator[tuple[bytes, int, int]]:
    """(block, cut, offset) per chunk: block[:cut] is whole segments ending at a terminator and
    starting at file offset `offset`; block[cut:] is carried into the next chunk."""
    carry = b""
    offset = 0  # file offset of block[0]
    while True:
        data = stream.read(size)
        block = carry + data if carry else data
        if not data:
            if block.strip(TRAILING):
                raise Unterminated("text after the last segment terminator")
            return
        cut = block.rfind(terminator) + 1
        if cut == 0:
            if len(block) > LONGEST_CARRY:
                raise Unterminated("no segment terminator")
            carry = block
            continue
        yield block, cut, offset
        carry = block[cut:]
        offset += cut
