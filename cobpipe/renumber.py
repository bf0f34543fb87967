"""Control numbers given to an outbound 837P after it is written, so several processes can write
a batch's files at once and the files still get the numbers one process would give them.

A batch worker writes with `ProvisionalNumbers` (1, 2, 3... per kind) and records what it asked
for; the batch then takes the real numbers from the ledger ERA by ERA, in command-line order (the
order one process takes them in), and `renumber` copies the file with them in place of the
provisional ones. Only envelope segments carry them (ISA13/IEA02, GS06/GE02, ST02/SE02), written
as `edi.writer` writes them, and BHT03 (ISA13 and ST02: claim837.writer's reference).
"""
from __future__ import annotations

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
    for kind, sender, receiver in calls:
        taken[kind] += 1
        mapping[(kind, taken[kind])] = numbers.next_number(kind, sender, receiver)
    return mapping


# tag -> (kind, element holding the number, its format)
_FIELDS = {"ISA": ("ISA", 13, "{:09d}"), "IEA": ("ISA", 2, "{:09d}"), "GS": ("GS", 6, "{}"),
           "GE": ("GS", 2, "{}"), "ST": ("ST", 2, "{:04d}"), "SE": ("ST", 2, "{:04d}")}


def renumber(source: Path, target: Path, mapping: dict[tuple[str, int], int], delimiters: Delimiters) -> None:
    """Copy the X12 file `source` to `target` (atomically: temp name, fsync, rename, fsync the
    folder) with each envelope control number n of kind k replaced by mapping[(k, n)]."""
    between = re.escape(delimiters.segment + delimiters.suffix)
    e, t = re.escape(delimiters.element), re.escape(delimiters.segment)
    # an envelope segment at a segment start: the elements before the number, then the number
    pattern = re.compile(
        rf"(?:\A|(?<={between}))(?:(ISA)((?:{e}[^{e}{t}]*){{12}}{e})|(IEA|GE|SE|ST)({e}[^{e}{t}]*{e})"
        rf"|(GS)((?:{e}[^{e}{t}]*){{5}}{e})|(BHT)({e}[^{e}{t}]*{e}[^{e}{t}]*{e}[0-9]{{9}}))([0-9]+)")

    def replace(match: re.Match) -> str:
        tag = match.group(1) or match.group(3) or match.group(5) or match.group(7)
        head = match.group(2) or match.group(4) or match.group(6) or match.group(8)
        number = int(match.group(9))
        if tag == "BHT":  # BHT03: ISA13 and ST02 (claim837.writer's reference)
            isa = int(head[-9:])
            return f"{tag}{head[:-9]}{mapping[('ISA', isa)]:09d}{mapping[('ST', number)]:04d}"
        kind, _, form = _FIELDS[tag]
        return tag + head + form.format(mapping[(kind, number)])

    separator = delimiters.segment + delimiters.suffix
    with open(source, encoding="utf-8", errors="surrogateescape", newline="") as reader, atomic_writer(target) as writer:
        rest = ""
        while chunk := reader.read(_CHUNK):
            text = rest + chunk
            cut = text.rfind(separator)  # whole segments only: a number never spans two chunks
            if cut < 0:
                rest = text
                continue
            cut += len(separator)
            writer.write(pattern.sub(replace, text[:cut]))
            rest = text[cut:]
        writer.write(pattern.sub(replace, rest))
