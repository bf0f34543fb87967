"""Segment texts a learned run's expression has already accepted in this file, looked up before matching.

edi.ig_blocks checks a run by calling one check per segment text, in C (`all(map(call, checks, texts))`).
Matching a text costs ~150 machine instructions a character in `re`; but many texts come back word for
word in a file (a service date, the payer's NM1, an LX number, a CAS line: half of the segments of
convert's output at 10k claims), and an expression accepts a text it accepted before. So each
expression's check is a dict of the texts it accepted (`Known`): a text seen before is a dict lookup
(hashing it, also in C: ~5x cheaper than matching a date), a new one goes to `__missing__`, which
matches it and remembers it if accepted. A refused text is never remembered: it is refused again by
matching, and the run then goes to the per-segment path as before.

A miss costs a Python call on top of the match. So every STEP texts (from WARM on) an expression looks
at its lookups since it last looked: texts that hardly ever came back (fewer than one hit in 16 misses: a
claim id, a member's NM1) make it give up: it is replaced by its plain `fullmatch` in every run holding
it and in the runs learned after. When it has remembered LIMIT texts (or the file's ROOM is taken), it
looks at how often its runs were taken since it last started remembering: texts that mostly came back
(at least half of the lookups hits) are forgotten and remembering starts again (the frequent ones come
back first); else it gives up. What is kept is this
file's, in the process validating it, at most LIMIT texts per expression and ROOM in all (a file of
many expressions and texts keeps its memory bounded), as the per-segment path's clean texts are.
"""
from __future__ import annotations

from operator import attrgetter
from typing import Any

LIMIT = 16384  # texts remembered per expression before it starts again or gives up
ROOM = 131072  # texts remembered by all expressions of a file together (~12 MB at most)
STEP = 256  # room an expression takes from the file's at a time
WARM = 256  # texts an expression remembers before it looks whether its lookups pay (`Known.worth_it`)


_taken = attrgetter("taken")


class Known(dict):
    """text -> True for the texts `pattern` fullmatched in this file; `check` is what runs call."""

    __slots__ = ("fullmatch", "check", "users", "since", "cap", "owner", "mark")

    def __init__(self, pattern: Any, owner: "KnownTexts") -> None:
        super().__init__()
        self.fullmatch = pattern.fullmatch
        # hits answered by dict's own lookup (C); misses by __missing__; one object, so that
        # `give_up` finds it in the runs' lists by identity
        self.check = self.__getitem__
        # the runs (edi.ig_blocks._Run) holding `check`, each once per place it holds it (so that
        # `lookups` is a sum in C: it is asked at every STEP texts)
        self.users: list[Any] = []
        self.since = 0  # the lookups counted (`lookups`) when remembering last started
        self.owner = owner  # the file's room for texts
        self.cap = 0  # texts it may remember now (room taken from the file's, STEP at a time)
        self.mark: tuple[int, int] | None = None  # (lookups, texts) when `worth_it` last looked

    def __missing__(self, text: str) -> bool:
        if self.fullmatch(text) is None:
            return False  # never remembered: refused each time
        if len(self) < self.cap or self.more():
            self[text] = True
        return True

    def lookups(self) -> int:
        """Texts looked up by the runs taken so far (each run counts the times it was taken)."""
        return sum(map(_taken, self.users))

    def more(self) -> bool:
        """At `cap` texts: True when one more may be remembered (more room taken, or remembering
        started again), False when it gave up (mostly misses lately, or LIMIT texts or no room left
        and mostly misses since it started remembering)."""
        owner = self.owner
        if len(self) >= WARM and not self.worth_it():
            self.give_up()
            return False
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
            self.mark = None
            self.clear()
            self.cap = min(STEP, LIMIT)
            owner.room = room - self.cap
            return True
        self.give_up()
        return False

    def worth_it(self) -> bool:
        """Whether the lookups since the last look had at least one hit for every 16 misses.

        A miss costs a Python call (~2.5k instructions) on top of its match; a hit saves a match,
        which for the usual expression (long alternations, wide character sets) costs several times
        that. Measured on convert's 10k output (validator process): giving up below 1 hit in 16
        misses took 106M instructions off 2,850M; below 1 in 4, 42M, and below 1 in 1 it added 78M
        (those two looking first at 512 texts). So only the expressions whose texts hardly ever come
        back (a claim id, a member's NM1, a CLM) give up, as soon as that shows, not at LIMIT, which
        a 10k-claim file never reaches. The first look, at WARM texts, only marks where it starts
        (the first texts of a file are mostly new)."""
        lookups, texts = self.lookups(), len(self)
        mark, self.mark = self.mark, (lookups, texts)
        if mark is None:
            return True
        misses = texts - mark[1]
        return 16 * (lookups - mark[0] - misses) >= misses

    def give_up(self) -> None:
        """Plain matching from now on, in every run that holds this check (texts forgotten)."""
        check, plain = self.check, self.fullmatch
        for run in {id(run): run for run in self.users}.values():
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
        for known in knowns:  # (once per place: see Known.users)
            if known.check is not known.fullmatch:
                known.users.append(run)
