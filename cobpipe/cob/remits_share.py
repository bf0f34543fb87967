"""One process's share of a clean 835 read by several at once (cobpipe/split.py): which claims are its
own (Share), and where another process's claims end in a chunk of the fast read (_Ends), so the fast
read (remits_fast) skips them claim by claim, or a whole chunk of them by searches of its text
(others_paid)."""
from __future__ import annotations

import bisect
import dataclasses
import re

from decimal import Decimal

from ..era.claims import _CLAIM_END as _CLAIM_END_TAGS
from .remits_text import _amount


@dataclasses.dataclass(frozen=True, slots=True)
class Share:
    """The claims one of several processes converts (cobpipe/split.py): the ERA's claims are cut in
    windows by the segment number of their CLP (window k: `cuts[k]` to `cuts[k + 1]`, the last to
    the end of the file) and this process takes the windows in `mine`, and reads every part of a
    CLP01 in `keep` (the claims split over several CLPs, wherever their parts are). Another window's
    claim is not read, only its CLP04 added to its set's totals (the set's balance finding, which the
    process of the last window reports); reading stops after this process's last window unless it
    is the last one."""

    cuts: tuple[int, ...]
    mine: frozenset[int]
    keep: frozenset[str]

    def window_of(self, segment: int | None) -> int:
        """The window of a claim whose CLP is at `segment` (None: a claim left incomplete at the
        end of the file, the last window's)."""
        if segment is None:
            return len(self.cuts) - 1
        return bisect.bisect_right(self.cuts, segment) - 1

    def next_change(self, segment: int) -> tuple[int, int | None]:
        """From `segment` on: (the first segment of this process's next window, the first segment
        after that window, None at the end of the file); the first is `segment` itself when in one of
        its windows, the file's end (a large number) when none is left."""
        cuts = self.cuts
        k = max(self.window_of(segment), 0)
        while k < len(cuts) and k not in self.mine:
            k += 1
        if k == len(cuts):
            return _NEVER, _NEVER
        return max(cuts[k], segment), cuts[k + 1] if k + 1 < len(cuts) else None

    @property
    def stop(self) -> int | None:
        last = max(self.mine)
        return None if last == len(self.cuts) - 1 else self.cuts[last + 1]


_NEVER = 1 << 62  # past any segment number


class _Ends:
    """The segments of one chunk that end a claim (era.claims._CLAIM_END), found in its text at C
    speed: another process's claims are skipped claim by claim, not segment by segment
    (remits_fast._end, the reference: tests/cobpipe/cob/test_remits_fast.py)."""

    __slots__ = ("at", "count")

    def __init__(self, text: str, count: int) -> None:
        at = []
        index = start = 0
        text = "~" + text  # every segment after a terminator
        for match in _CLAIM_END.finditer(text):
            index += text.count("~", start, match.start())  # the terminators before it: its index
            start = match.start()
            at.append(index)
        self.at, self.count = at, count

    def after(self, i: int) -> int:
        """The index of the first segment after bodies[i] that ends a claim (`count`: none)."""
        at = self.at
        k = bisect.bisect_right(at, i)
        return at[k] if k < len(at) else self.count


# a segment era.clean vouched for starts with its 2-3 character tag and a "*" or its terminator (the
# chunk's text keeps the line feed after each terminator, when the file has them)
_CLAIM_END = re.compile(r"~\n?(?:" + "|".join(sorted(_CLAIM_END_TAGS)) + r")(?=[*~])")


# the segments that end a claim, but a CLP: a chunk with none of them holds claims alone
_OTHER_ENDS = tuple(sorted(_CLAIM_END_TAGS - {"CLP"}))


def other_end(text: str, separator: str) -> int:
    """Where the first segment of `text` (a chunk that starts with a CLP) that ends a claim but a CLP
    starts (LX, PLB, SE...: others_paid stops there); len(text) when none does."""
    limit = len(text)
    for tag in _OTHER_ENDS:  # a 2-character tag also finds a longer one: read segment by segment, as it may
        at = text.find(separator + tag, 0, limit)
        if at >= 0:
            limit = at + len(separator)
    return limit


def others_paid(text: str, separator: str, keep: frozenset[str], number: int,
                until: int, limit: int | None = None) -> tuple[list[Decimal], int, int]:
    """(their CLP04s, where to read on in `text`, the segments before it): the claims at the start of
    a chunk (whole segments, each ended by `separator`; its first segment's number `number`) that are
    another process's, found by plain searches of the text instead of splitting it into segments,
    and skipped as the fast read skips such a claim (remits_fast._pairs: the CLP split, its CLP01
    not in `keep`, CLP04 an amount; the reference: tests/cobpipe/cob/test_remits_fast.py). Stops
    before the first CLP at or after segment `until` (this process's next window, or the end of its
    last one), a claim the skip would read (a CLP01 in `keep`, a CLP04 missing or not an amount) and
    any other segment that ends a claim (LX, PLB, SE...): the caller reads from there segment by segment.
    `limit`: other_end(text, separator) when the caller knows it (the rest of a chunk after a claim
    read alone: five searches of all the rest again cost ~150M at 10k with two workers)."""
    paid: list[Decimal] = []
    if not text.startswith("CLP*"):
        return paid, 0, 0
    if limit is None:
        limit = other_end(text, separator)
    mark = separator + "CLP*"
    start = segments = 0
    while start < limit and number + segments < until:
        end = text.index(separator, start)
        clp = text[start:end].split("*")
        if len(clp) < 5 or clp[1].strip() in keep:
            break
        amount = _amount(clp[4])
        if amount is None:
            break
        paid.append(amount)
        following = text.find(mark, end, limit)
        following = limit if following < 0 else following + len(separator)
        segments += text.count(separator, end, following)  # the CLP's own separator at `end` and on
        start = following
    return paid, start, segments
