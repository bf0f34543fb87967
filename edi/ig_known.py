"""Segment texts a learned run's expression has already accepted in this file, looked up before matching.

edi.ig_blocks checks a run by calling one check per segment text, in C (`all(map(call, checks, texts))`).
Matching a text costs ~150 machine instructions a character in `re`; but many texts come back word for
word in a file (a service date, the payer's NM1, an LX number, a CAS line: half of the segments of
convert's output at 10k claims), and an expression accepts a text it accepted before. So each
expression's check is a dict of the texts it accepted (`Known`): a text seen before is a dict lookup
(hashing it, also in C: ~5x cheaper than matching a date), a new one goes to `__missing__`, which
matches it and remembers it if accepted. A refused text is never remembered: it is refused again by
matching, and the run then goes to the per-segment path as before.

A miss costs a Python call on top of the match. So when an expression has remembered LIMIT texts (or
the file's ROOM is taken), it looks at how often its runs were taken since it last started remembering: texts that mostly came back
(at least half of the lookups hits) are forgotten and remembering starts again (the frequent ones come
back first); texts that mostly did not (a claim id, a member's NM1) make it give up: it is replaced by
its plain `fullmatch` in every run holding it and in the runs learned after. What is kept is this
file's, in the process validating it, at most LIMIT texts per expression and ROOM in all (a file of
many expressions and texts keeps its memory bounded), as the per-segment path's clean texts are.
"""
from __future__ import annotations

from typing import Any

LIMIT = 16384  # texts remembered per expression before it starts again or gives up
ROOM = 131072  # texts remembered by all expressions of a file together (~12 MB at most)
STEP = 256  # room an expression takes from the file's at a time


class Known(dict):
    """text -> True for the texts `pattern` fullmatched in this file; `check` is what runs call."""

    __slots__ = ("fullmatch", "check", "users", "since", "cap", "owner")

    def __init__(self, pattern: Any, owner: "KnownTexts") -> None:
        super().__init__()
        self.fullmatch = pattern.fullmatch
        # hits answered by dict's own lookup (C); misses by __missing__; one object, so that
        # `give_up` finds it in the runs' lists by identity
        self.check = self.__getitem__
        self.users: list[Any] = []  # the runs (edi.ig_blocks._Run) holding `check`
        self.since = 0  # the lookups counted (`lookups`) when remembering last started
        self.owner = owner  # the file's room for texts
        self.cap = 0  # texts it may remember now (room taken from the file's, STEP at a time)

    def __missing__(self, text: str) -> bool:
        if self.fullmatch(text) is None:
            return False  # never remembered: refused each time
        if len(self) < self.cap or self.more():
            self[text] = True
        return True

    def lookups(self) -> int:
        """Texts looked up by the runs taken so far (each run counts the times it was taken)."""
        check = self.check
        return sum(run.taken * sum(c is check for c in run.checks) for run in self.users)

    def more(self) -> bool:
        """At `cap` texts: True when one more may be remembered (more room taken, or remembering
        started again), False when it gave up (LIMIT texts or no room left, mostly not hits)."""
        owner = self.owner
        step = min(STEP, LIMIT - self.cap)
        if step > 0 and owner.room >= step:
            owner.room -= step
            self.cap += step
            return True
        lookups = self.lookups()
        room = owner.room + self.cap
        # at least as many hits as misses since it started remembering: start again (texts forgotten)
        if lookups - self.since >= 2 * len(self) and room >= min(STEP, LIMIT):
            self.since = lookups
            self.clear()
            self.cap = min(STEP, LIMIT)
            owner.room = room - self.cap
            return True
        self.give_up()
        return False

    def give_up(self) -> None:
        """Plain matching from now on, in every run that holds this check (texts forgotten)."""
        check, plain = self.check, self.fullmatch
        for run in self.users:
            checks = run.checks
            for i, c in enumerate(checks):
                if c is check:
                    checks[i] = plain
        self.check = plain
        self.users = []
        self.clear()
        self.owner.room += self.cap
        self.cap = 0


class KnownTexts:
    """The `Known` of each expression in one file, and the room left for their texts.

    Kept by the expression's identity (`by_pattern`: id -> Known; the Known holds its expression, so
    the id stays its own): hashing a compiled expression hashes its whole text and code (~9k
    instructions each time a run is learned), and edi.ig_blocks compiles each distinct expression
    text once, so equal expressions are one object there."""

    __slots__ = ("by_pattern", "room")

    def __init__(self) -> None:
        self.by_pattern: dict[int, Known] = {}
        self.room = ROOM

    def of(self, pattern: Any) -> Known | None:
        """The Known of `pattern`, if a run holding it was attached."""
        return self.by_pattern.get(id(pattern))

    def attach(self, run: Any) -> None:
        """Give `run` its checks (`run.checks`, one per expression of `run.patterns`, in order): each
        expression's Known's lookup, or its fullmatch once that gave up; the run is kept by each Known
        whose lookup it holds, to count its lookups and to be changed should it give up."""
        knowns = []
        for pattern in run.patterns:
            known = self.by_pattern.get(id(pattern))
            if known is None:
                known = self.by_pattern[id(pattern)] = Known(pattern, self)
            knowns.append(known)
        run.checks = [k.check for k in knowns]
        for known in {id(k): k for k in knowns}.values():  # (a dict is no set member)
            if known.check is not known.fullmatch:
                known.users.append(run)
