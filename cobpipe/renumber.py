"""Control numbers given to an outbound 837P after it is written, so several processes can write
a batch's files at once and the files still get the numbers one process would give them.

A batch worker writes with `ProvisionalNumbers` (1, 2, 3... per kind) and records what it asked
for; the batch then takes the real numbers from the ledger ERA by ERA, in command-line order (the
order one process takes them in), and `renumber` copies the file with them in place of the
provisional ones. Only envelope segments carry them (ISA13/IEA02, GS06/GE02, ST02/SE02), written
as `edi.writer` writes them, and BHT03 (ISA13 and ST02: claim837.writer's reference).
"""
from __future__ import annotations

import contextlib
import re
from collections import Counter
from pathlib import Path

from edi.segment import Delimiters

from .fsutil import atomic_writer

_CHUNK = 1 << 20


class ProvisionalNumbers:
    """A ControlNumberSource handing out 1, 2, 3... per kind, remembering each request in `calls`
    ((kind, sender, receiver), in order) so the real numbers are taken later in the same order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self._taken: Counter = Counter()

    def next_number(self, kind: str, sender: str, receiver: str) -> int:
        self.calls.append((kind, sender, receiver))
        self._taken[kind] += 1
        return self._taken[kind]


def take_numbers(calls: list[tuple[str, str, str]], numbers) -> dict[tuple[str, int], int]:
    """(kind, provisional number) -> the number `numbers` (a ControlNumberSource) gives for it,
    asked in the order the writer asked ProvisionalNumbers."""
    taken: Counter = Counter()
    mapping = {}
    # a ledger's: one commit for the ERA's numbers, not one each (the same numbers)
    transaction = getattr(numbers, "transaction", None)
    with transaction() if transaction is not None else contextlib.nullcontext():
        for kind, sender, receiver in calls:
            taken[kind] += 1
            mapping[(kind, taken[kind])] = numbers.next_number(kind, sender, receiver)
    return mapping


# tag -> (kind, element holding the number, its format)
_FIELDS = {"ISA": ("ISA", 13, "{:09d}"), "IEA": ("ISA", 2, "{:09d}"), "GS": ("GS", 6, "{}"),
           "GE": ("GS", 2, "{}"), "ST": ("ST", 2, "{:04d}"), "SE": ("ST", 2, "{:04d}"), "BHT": ("BHT", 3, "")}


def renumber(source: Path, target: Path, mapping: dict[tuple[str, int], int], delimiters: Delimiters) -> None:
    """Copy the X12 file `source` to `target` (durably: temp name, fsync, rename, fsync the folder)
    with each envelope control number n of kind k replaced by mapping[(k, n)] (fsutil.atomic_writer). The few envelope
    segments are found in one pass over the bytes, the rest copied as they are: this runs in the
    batch's one process, ERA after ERA."""
    separator = (delimiters.segment + delimiters.suffix).encode("utf-8")
    terminator, element = delimiters.segment.encode("utf-8"), delimiters.element.encode("utf-8")
    # one pass: the separator is a literal prefix the regular expression engine searches fast
    # (~1 ms a MB; bytes.find per tag took 7 passes of ~0.8 ms, a pattern tried at every position ~45)
    envelope = re.compile(re.escape(separator) + b"(?:" + b"|".join(tag.encode() for tag in _FIELDS) + b")"
                          + re.escape(element))
    openings = tuple(tag.encode() + element for tag in _FIELDS)

    def fixed(segment: bytes) -> bytes:
        parts = segment.split(element)
        kind, at, form = _FIELDS[parts[0].decode("ascii")]
        if at >= len(parts) or not parts[at].isdigit():
            return segment
        if kind == "BHT":  # BHT03: ISA13 and ST02 (claim837.writer's reference)
            isa, st = ("ISA", int(parts[at][:9])), ("ST", int(parts[at][9:] or 0))
            if isa not in mapping or st not in mapping:  # a reference of the caller's
                return segment
            parts[at] = b"%09d%04d" % (mapping[isa], mapping[st])
        else:
            parts[at] = form.format(mapping[(kind, int(parts[at]))]).encode("ascii")
        return element.join(parts)

    def block(data: bytes) -> bytes:
        """`data`: whole segments, the first at its start."""
        starts = [0] if data.startswith(openings) else []
        starts += [match.start() + len(separator) for match in envelope.finditer(data)]
        if not starts:
            return data
        pieces, done = [], 0
        for start in starts:
            end = data.find(terminator, start)
            end = len(data) if end < 0 else end
            pieces += (data[done:start], fixed(data[start:end]))
            done = end
        pieces.append(data[done:])
        return b"".join(pieces)

    with open(source, "rb") as reader, atomic_writer(target, encoding=None) as writer:
        rest = b""
        while chunk := reader.read(_CHUNK):
            data = rest + chunk
            cut = data.rfind(separator)  # whole segments only: a number never spans two chunks
            if cut < 0:
                rest = data
                continue
            cut += len(separator)
            writer.write(block(data[:cut]))
            rest = data[cut:]
        writer.write(block(rest))
