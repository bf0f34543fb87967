"""Is a dropped file complete? Read only its first and last few kilobytes to decide.

A file is complete when its last non-blank segment is the interchange trailer IEA (with a
nine-digit IEA02), or SE for a bare ST..SE fragment. `finished()` goes further for a file that
changed only a moment ago: its envelope read through (envelope segments only), the last IEA
matching its ISA and every count right means the writer is done, so it is taken at once instead
of waiting for it to settle. Writers that are still busy leave a file
that ends anywhere else, so such a file waits; one that never gets its IEA is rejected as
truncated after a while (JobOptions.truncated_after). A file that does not even start like X12
is "not X12": ready to be rejected at once.
"""
from __future__ import annotations

import os
import re
from enum import StrEnum
from pathlib import Path

from edi.errors import EdiError
from edi.reader import X12Reader, infer_fragment_delimiters, parse_isa_delimiters

HEAD_BYTES = 4096
TAIL_BYTES = 8192
_IEA02 = re.compile(r"\d{9}\Z")


class Completeness(StrEnum):
    COMPLETE = "complete"
    INCOMPLETE = "incomplete"  # no trailer yet: wait
    EMPTY = "empty"  # nothing but whitespace yet: wait
    NOT_X12 = "not-x12"  # can never become X12: reject now


def completeness(path: Path) -> Completeness:
    """Head: ISA (or ST) with readable delimiters; tail: IEA (or SE) as the last segment."""
    with open(path, "rb") as stream:
        head_bytes = stream.read(HEAD_BYTES)
        size = os.fstat(stream.fileno()).st_size
        if size > HEAD_BYTES:
            stream.seek(max(size - TAIL_BYTES, 0))
            tail_bytes = stream.read()
        else:
            tail_bytes = head_bytes
    head = head_bytes.decode("utf-8", "surrogateescape").lstrip("\ufeff").lstrip()
    if not head:
        return Completeness.EMPTY
    if "\x00" in head:
        return Completeness.NOT_X12
    if head.startswith("ISA"):
        if len(head) < 4:
            return Completeness.INCOMPLETE
        try:
            parsed = parse_isa_delimiters(head)
        except (ValueError, IndexError):
            return Completeness.NOT_X12
        if parsed is None:
            return Completeness.INCOMPLETE if len(head_bytes) < HEAD_BYTES else Completeness.NOT_X12
        delimiters = parsed[0]
        trailer = "IEA"
    elif head.startswith("ST") and len(head) > 2 and not head[2].isalnum():
        try:
            delimiters = infer_fragment_delimiters(head)
        except ValueError:
            return Completeness.INCOMPLETE if len(head_bytes) < HEAD_BYTES else Completeness.NOT_X12
        trailer = "SE"
    elif "ISA".startswith(head[:3]) or "ST".startswith(head[:2]):
        return Completeness.INCOMPLETE  # "I", "IS" or "S": a writer has only just begun
    else:
        return Completeness.NOT_X12
    # a DOS end-of-file mark (Ctrl-Z) after the trailer still ends a complete file
    tail = tail_bytes.decode("utf-8", "surrogateescape").rstrip().rstrip("\x1a").rstrip()
    terminator = delimiters.segment
    if terminator.strip():
        tail = tail.rstrip(terminator).rstrip()
    last = tail.rsplit(terminator, 1)[-1].strip()
    elements = last.split(delimiters.element)
    if elements[0] != trailer:
        return Completeness.INCOMPLETE
    if trailer == "IEA":
        complete = len(elements) >= 3 and _IEA02.match(elements[2].strip()) is not None
    else:
        complete = len(elements) >= 3 and elements[1].strip().isdigit() and elements[2].strip() != ""
    return Completeness.COMPLETE if complete else Completeness.INCOMPLETE


# envelope findings that say an interchange is not complete as written (counts, control numbers, trailers)
_UNFINISHED = frozenset({"ENV002", "ENV003", "ENV004", "ENV005", "ENV006", "ENV007", "ENV008"})


def finished(path: Path) -> bool:
    """The file ends with a complete interchange: its tail is the IEA (`completeness`), and read
    through, that IEA matches its ISA13 and every IEA01/GE01/SE01 count and control number is
    right. Reads the whole file (envelope segments only); False when it cannot be read."""
    if completeness(path) is not Completeness.COMPLETE:
        return False
    reader = X12Reader.open(path, path.name)
    reader.body_tags = frozenset()  # the envelope segments only: no segment object per body segment
    isa13 = None
    last = None
    try:
        for segment in reader:
            if segment.tag == "ISA":
                isa13 = segment.get(13)
            last = segment
    except (EdiError, OSError):
        return False
    if last is None:
        return False
    if reader.fragment:
        complete = last.tag == "SE"
    else:
        complete = last.tag == "IEA" and isa13 is not None and last.get(2) == isa13
    return complete and not any(f.code in _UNFINISHED for f in reader.findings)
