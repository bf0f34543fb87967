"""The decisions of one ERA, in ERA order, in memory that does not grow with the ERA.

Every remitted claim gets a decision (status, reasons, findings): about half a kilobyte each, so
a 100k-claim ERA held as a list costs some 50 MB, which grows with every claim. The log keeps the
latest decisions in memory and pickles older ones, in blocks, to an anonymous temporary file (gone
when the log is collected; it is ours alone, so unpickling it is safe). It reads like a
list: iterate, `len`, index.
"""
from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

BLOCK = 1000  # decisions per pickled block; as many again stay in memory


class DecisionLog:
    """Append decisions in order; the converter may still change the latest ones, so a decision is
    written out only once `block` newer ones follow it. `revise` changes decisions already written."""

    def __init__(self, decisions: Iterable[Any] = (), *, block: int | None = None) -> None:
        self._block = block or BLOCK
        self._recent: list[Any] = []
        self._file: IO[bytes] | None = None
        self._written = 0  # decisions in the file
        self._revised: dict[int, Any] = {}  # position -> a written decision changed after it was written
        self._spilling = True
        self._blocks: list[tuple[int, int]] = []  # (offset, size) of each pickled block in the file
        # on_block(number, rows): told each block `append` writes out, with its decisions' report_row()s
        # made from them in memory (report.Prepared encodes them then, instead of reading them back)
        self.on_block: Callable[[int, list], None] | None = None
        for decision in decisions:
            self.append(decision)

    def append(self, decision: Any) -> None:
        self._recent.append(decision)
        if len(self._recent) >= 2 * self._block and self._spilling:
            if self._write_out(self._recent[:self._block]):
                del self._recent[:self._block]

    def append_packed(self, data: bytes, count: int) -> None:
        """`count` decisions packed elsewhere by `packed` (a converting process's, cobpipe/split.py),
        after those appended before: written to the file as they are when nothing is held in memory
        (no unpickling and packing again), else appended one by one."""
        if self._recent or not self._spilling or not self._write_data(data, count):
            for decision in _unpacked(data):
                self.append(decision)

    def _write_out(self, decisions: list[Any]) -> bool:
        packing = _packing(decisions)
        if not self._write_data(_pickled(packing), len(decisions)):
            return False
        if self.on_block is not None:
            self.on_block(len(self._blocks) - 1, _rows_of(packing))
        return True

    def _write_data(self, data: bytes, count: int) -> bool:
        try:
            if self._file is None:
                # unbuffered: a failed write leaves nothing pending to fail again on the next read
                self._file = tempfile.TemporaryFile(prefix="cobpipe-decisions-", buffering=0)
            offset = self._file.seek(0, 2)
            view = memoryview(data)
            while view:
                view = view[self._file.write(view):]
        except OSError:
            # no usable temporary folder (full, read-only): keep the rest in memory. Blocks already
            # written stay readable; a partly written one lies past them and is never read.
            self._spilling = False
            return False
        self._blocks.append((offset, len(data)))
        self._written += count
        return True

    def __iter__(self) -> Iterator[Any]:
        position = 0
        for offset, size in self._blocks:
            block = _unpacked(self._read(offset, size))
            if self._revised:
                block = [self._revised.get(position + k, decision) for k, decision in enumerate(block)]
            position += len(block)
            yield from block
        yield from list(self._recent)

    def rows(self) -> Iterator[Any]:
        """Each decision's `report_row()`, in order: a block its type packed gives them by the type's
        `_block_rows` (ClaimDecision's), without the decisions being made again. The end of a
        conversion reads a long log once, for its values only."""
        position = 0
        for number in range(len(self._blocks)):
            rows = self.block_rows(number, position)
            position += len(rows)
            yield from rows
        yield from self.recent_rows()

    def recent_rows(self) -> list:
        """The `report_row()`s of the decisions after the written blocks (those `rows` gives last)."""
        return [d.report_row() for d in self._recent]

    @property
    def blocks(self) -> int:
        """Blocks written to the file: their decisions are read by `block_rows` (the latest are not)."""
        return len(self._blocks)

    def block_rows(self, number: int, position: int) -> list:
        """The `report_row()`s of the decisions of written block `number`, which starts at decision
        `position`, as `rows` gives them."""
        offset, size = self._blocks[number]
        rows = _rows_of(pickle.loads(self._read(offset, size)))
        if self._revised:
            revised = self._revised
            rows = [revised[position + k].report_row() if position + k in revised else row
                    for k, row in enumerate(rows)]
        return rows

    def _read(self, offset: int, size: int) -> bytes:
        assert self._file is not None
        self._file.seek(offset)  # every time: a caller may interleave two iterations
        parts, left = [], size
        while left:
            part = self._file.read(left)
            if not part:
                raise EOFError(f"decision log ends {left} bytes early")  # not reached: we wrote them
            parts.append(part)
            left -= len(part)
        return b"".join(parts)

    def __len__(self) -> int:
        return self._written + len(self._recent)

    def __bool__(self) -> bool:
        return len(self) > 0

    def __getitem__(self, index: int) -> Any:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("decision index out of range")
        if index >= self._written:
            return self._recent[index - self._written]
        for position, decision in enumerate(self):
            if position == index:
                return decision
        raise IndexError(index)  # not reached

    def revise(self, change: Callable[[Any], bool]) -> int:
        """Call `change` on every decision; those it changed (it returns True) keep the change.
        Returns how many changed."""
        changed = 0
        for position, decision in enumerate(self):
            if change(decision):
                changed += 1
                if position < self._written:
                    self._revised[position] = decision
        return changed

    def __reduce__(self) -> tuple:
        # to another process: the decisions themselves, not our file (a batch worker hands its
        # ERA's log over with `hand_over` instead)
        return (DecisionLog, (list(self),))

    def hand_over(self, path: Path) -> HandedLog | None:
        """For another process (a batch worker's ERA, finished by the batch's process): every
        decision written to a new file at `path`, the blocks already written copied as they are and
        the latest packed as they would be, and a small token for `DecisionLog.take` to read them
        there. Pickling the log itself pickles every decision one by one (its `__reduce__`), and
        the receiver unpickles them and packs them out again to a file of its own: ~0.1 s of CPU
        for a 12.5k-claim ERA, half of it in the batch's one process. None when `path` cannot be
        written (the log then goes as itself); this log stays as it was either way."""
        blocks, written, offset = [], 0, 0
        try:
            with open(path, "wb") as target:
                for start, size in self._blocks:
                    target.write(self._read(start, size))
                    blocks.append((offset, size))
                    offset += size
                written = self._written
                for start in range(0, len(self._recent), self._block):
                    part = self._recent[start:start + self._block]
                    data = packed(part)
                    target.write(data)
                    blocks.append((offset, len(data)))
                    offset += len(data)
                    written += len(part)
        except OSError:
            Path(path).unlink(missing_ok=True)
            return None
        return HandedLog(str(path), tuple(blocks), written, dict(self._revised), self._block)

    @classmethod
    def take(cls, handed: HandedLog) -> DecisionLog:
        """The log `hand_over` wrote, read from its file, which this log now owns: the name is
        removed at once (the open file lives as long as the log, like the one it spills to)."""
        log = cls(block=handed.block)
        # unbuffered as the log's own; writable, so later decisions can still be appended after them
        log._file = open(handed.path, "r+b", buffering=0)
        os.unlink(handed.path)
        log._blocks = list(handed.blocks)
        log._written = handed.count
        log._revised = dict(handed.revised)
        return log

    def __repr__(self) -> str:
        return f"DecisionLog({len(self)} decisions, {self._written} on disk)"


@dataclass(frozen=True, slots=True)
class HandedLog:
    """What goes to the other process for `DecisionLog.take`: the file and where its blocks lie."""

    path: str
    blocks: tuple[tuple[int, int], ...]  # (offset, size) of each pickled block
    count: int  # decisions in the blocks
    revised: dict[int, Any]  # position -> a decision changed after its block was written
    block: int


def report_rows(decisions: Iterable[Any]) -> Iterator[tuple]:
    """Each decision's `report_row()` (its fields in cob.decision._ROW's order, its findings), in
    order: a DecisionLog's by `DecisionLog.rows`, without making its decisions again (unpickling a
    block back into decisions costs ~10k instructions a decision), a list's asked of each."""
    return decisions.rows() if isinstance(decisions, DecisionLog) else (d.report_row() for d in decisions)


def _unpacked(data: bytes) -> list[Any]:
    """The decisions of one block `packed` made."""
    kind, block = pickle.loads(data)
    return kind._unpack_block(block) if kind is not None else block


def packed(decisions: list[Any]) -> bytes:
    """One block of decisions as the log's file keeps it (DecisionLog.append_packed takes it)."""
    return _pickled(_packing(decisions))


def _packing(decisions: list[Any]) -> tuple:
    """(the decisions' type, its packed block) when the type packs many at once (ClaimDecision:
    plain tuples, one pickle), else (None, the decisions): what `packed` pickles."""
    kind = type(decisions[0])
    if hasattr(kind, "_pack_block") and set(map(type, decisions)) == {kind}:
        return kind, kind._pack_block(decisions)
    return None, decisions


def _pickled(packing: tuple) -> bytes:
    return pickle.dumps(packing, protocol=pickle.HIGHEST_PROTOCOL)


def _rows_of(packing: tuple) -> list:
    """The report_row()s of a block's decisions from its `_packing` (by the type's `_block_rows`,
    without making the decisions again, when it has one)."""
    kind, block = packing
    if kind is not None and hasattr(kind, "_block_rows"):
        return kind._block_rows(block)
    return [d.report_row() for d in (kind._unpack_block(block) if kind is not None else block)]
