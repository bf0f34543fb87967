"""The line number of every segment of a file, by segment position, in memory that does not grow
with the file in the usual layouts.

A validator must turn each error's segment position into a line number, and it learns the lines
one segment at a time. An array of 8-byte numbers, one per segment, costs 32 MB on a 100k-claim
837P. Lines usually advance by a constant step (one segment per line: step 1; the whole
interchange on one line: step 0), so they are kept as runs of (first position, first line, step):
one run for such files, a few for a file that changes layout, and at worst (a layout that changes
at every segment) about as much as the array.
"""
from __future__ import annotations

import bisect
from array import array


class SegmentLines:
    """Append lines in segment order; `lines[i]` is the line of the segment at position i + 1."""

    __slots__ = ("_starts", "_firsts", "_steps", "_count", "_last", "_run_length")

    def __init__(self) -> None:
        self._starts = array("q")  # index of the first segment of each run
        self._firsts = array("q")  # its line
        self._steps = array("q")  # line difference between neighbours in the run
        self._count = 0
        self._last = 0
        self._run_length = 0

    def append(self, line: int) -> None:
        if self._run_length == 1:  # the run's second segment sets its step
            self._steps[-1] = line - self._last
            self._run_length = 2
        elif self._run_length and line - self._last == self._steps[-1]:
            self._run_length += 1
        else:
            self._starts.append(self._count)
            self._firsts.append(line)
            self._steps.append(0)
            self._run_length = 1
        self._last = line
        self._count += 1

    def extend(self, first: int, step: int, count: int) -> None:
        """`count` lines from `first`, `step` apart: the same as appending each, in constant time.

        After three appends the last run holds the last two lines (step `step`), so the others
        only lengthen it."""
        if count > 0 and self._run_length >= 2 and first - self._last == step == self._steps[-1]:
            self._count += count  # the last run goes on
            self._run_length += count
            self._last = first + (count - 1) * step
            return
        append = self.append
        done = min(count, 3)
        for k in range(done):
            append(first + k * step)
        rest = count - done
        if rest > 0:
            self._count += rest
            self._run_length += rest
            self._last += rest * step

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: int) -> int:
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError("segment index out of range")
        run = bisect.bisect_right(self._starts, index) - 1
        return self._firsts[run] + (index - self._starts[run]) * self._steps[run]

    def __iter__(self):
        for index in range(self._count):
            yield self[index]

    @property
    def runs(self) -> int:
        """How many runs hold the lines (what the memory depends on)."""
        return len(self._starts)
