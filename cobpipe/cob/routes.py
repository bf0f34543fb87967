"""What to do with a claim the payer denied, or whose COB order it disputes, by CARC or RARC.

`mappings/denial_routes.csv` (an analyst edits it): `code` (a CARC, or a RARC such as MA130),
`action` (hold: a person decides; skip: nothing to bill; convert: bill the next payer with AMT*D 0),
`when` (denied: only on a denied claim, CLP02 4; any: on any claim carrying the code, at claim or
line level) and the `reason` a biller reads. A denial no row names goes to the next payer with
AMT*D 0 (cob-spec §2.4). When several rows apply, hold wins over skip, skip over convert.
"""
from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from itertools import chain
from operator import attrgetter

from ..codes import CodeListError, _open_data
from .remit import RemitClaim

ROUTES_FILE = "denial_routes.csv"
ACTIONS = ("hold", "skip", "convert")  # strongest first
HEADER = ("code", "action", "when", "reason")


@dataclass(frozen=True, slots=True)
class Route:
    code: str
    action: str
    when: str
    reason: str


@functools.lru_cache(maxsize=1)
def default_routes() -> tuple[Route, ...]:
    text, shown = _open_data(ROUTES_FILE)
    return parse_routes(text, shown)


def parse_routes(text: str, shown: str) -> tuple[Route, ...]:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or tuple(c.strip().lower() for c in rows[0]) != HEADER:
        raise CodeListError(shown, f"the header must be {','.join(HEADER)}", 1)
    routes = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(HEADER):
            raise CodeListError(shown, f"{len(row)} fields, expected {len(HEADER)}", number)
        code, action, when, reason = (c.strip() for c in row)
        if not code or action not in ACTIONS or when not in ("denied", "any"):
            raise CodeListError(shown, f"row {code!r}: action must be one of {', '.join(ACTIONS)} and when "
                                "denied or any", number)
        routes.append(Route(code.upper(), action, when, reason))
    return tuple(routes)


@dataclass(slots=True)
class RouteCounts:
    """How many claims each path answered: a test holds convert to the quick answer, since a quick
    answer that silently stopped being taken would cost only time, never a wrong route."""

    quick: int = 0
    looked_up: int = 0


COUNTS = RouteCounts()
_REASON = attrgetter("reason")
_ADJUSTMENTS = attrgetter("adjustments")


def route(claim: RemitClaim, routes: tuple[Route, ...] | None = None) -> Route | None:
    """The route for this claim's codes, strongest action first (the file's first row among equals);
    None: no row applies."""
    routes = default_routes() if routes is None else routes
    index = _index(routes)
    denied = claim.status_code == "4"
    # nearly every claim carries no code a row that applies to it names: its codes gathered by C
    # loops (attrgetter, chain) and one set test answer None without a look-up per code. A code
    # not upper-case as it stands may still name a row once upper-cased: those go the long way.
    named = index.denied_codes if denied else index.any_codes
    if not named:
        COUNTS.quick += 1
        return None
    codes = set(map(_REASON, claim.adjustments))
    if claim.lines:
        codes.update(map(_REASON, chain.from_iterable(map(_ADJUSTMENTS, claim.lines))))
    remarks = claim.remarks
    if named.isdisjoint(codes) and named.isdisjoint(remarks):
        text = "".join(codes) + "".join(remarks)
        if text.upper() == text:
            COUNTS.quick += 1
            return None
    COUNTS.looked_up += 1
    by_code = index.by_code
    best: tuple[int, int, Route] | None = None
    for codes in (claim.adjustments, *(line.adjustments for line in claim.lines)):
        for adjustment in codes:
            for entry in by_code.get(adjustment.reason.upper(), ()):
                if (denied or entry[2].when == "any") and (best is None or entry < best):
                    best = entry
    for remark in remarks:
        for entry in by_code.get(remark.upper(), ()):
            if (denied or entry[2].when == "any") and (best is None or entry < best):
                best = entry
    return None if best is None else best[2]


@dataclass(frozen=True, slots=True)
class _Index:
    by_code: dict[str, list[tuple[int, int, "Route"]]]  # code -> (action rank, row number, route)
    any_codes: frozenset[str]  # the codes of rows that apply to every claim (when any)
    denied_codes: frozenset[str]  # the codes of every row (a denied claim: all apply)


def _by_code(routes: tuple[Route, ...]) -> dict[str, list[tuple[int, int, Route]]]:
    """code -> (action rank, row number, route) of the rows naming it."""
    return _index(routes).by_code


def _index(routes: tuple[Route, ...]) -> _Index:
    """The table indexed; kept for the last table asked."""
    if _INDEX and _INDEX[0] is routes:
        return _INDEX[1]
    by_code: dict[str, list[tuple[int, int, Route]]] = {}
    for number, row in enumerate(routes):
        by_code.setdefault(row.code, []).append((ACTIONS.index(row.action), number, row))
    index = _Index(by_code, frozenset(r.code for r in routes if r.when == "any"), frozenset(by_code))
    if type(routes) is tuple:  # unchangeable; the entry holds it, so its id is never another table's
        _INDEX[:] = [routes, index]
    return index


_INDEX: list = []
