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
    """How many claims went the long way: a test holds convert to the quick answer, since a quick
    answer that silently stopped being taken would cost only time, never a wrong route."""

    looked_up: int = 0


COUNTS = RouteCounts()
_REASON = attrgetter("reason")
_ADJUSTMENTS = attrgetter("adjustments")


def route(claim: RemitClaim, routes: tuple[Route, ...] | None = None) -> Route | None:
    """The route for this claim's codes, strongest action first (the file's first row among equals);
    None: no row applies."""
    routes = default_routes() if routes is None else routes
    index = _INDEX[1] if _INDEX and _INDEX[0] is routes else _index(routes)  # _index(routes), inline when kept
    denied = claim.status_code == "4"
    # nearly every claim carries only codes already seen to name no row that applies to it: those
    # codes are remembered (per table, denied or not), and the claim is answered None without a
    # look-up or upper() per code
    clean = index.clean_denied if denied else index.clean_any
    if _all_clean(claim, clean):
        return None
    COUNTS.looked_up += 1
    if len(clean) >= 4096:  # bounded: codes are few, but a hostile file may carry any text
        clean.clear()
    by_code = index.by_code
    best: tuple[int, int, Route] | None = None
    line_codes = map(_REASON, chain.from_iterable(map(_ADJUSTMENTS, claim.lines)))
    for code in chain(map(_REASON, claim.adjustments), line_codes, claim.remarks):
        found = False
        for entry in by_code.get(code.upper(), ()):
            if denied or entry[2].when == "any":
                found = True
                if best is None or entry < best:
                    best = entry
        if not found:
            clean.add(code)
    return None if best is None else best[2]


def _all_clean(claim: RemitClaim, clean: set[str]) -> bool:
    """Whether every code of the claim (claim and line CARCs, remarks) is in `clean`. Plain loops:
    issuperset over a map or chain builds a set of the codes first, twice the time for the few
    codes of a claim."""
    for adjustment in claim.adjustments:
        if adjustment.reason not in clean:
            return False
    if not clean.issuperset(claim.remarks):
        return False
    for line in claim.lines:
        for adjustment in line.adjustments:
            if adjustment.reason not in clean:
                return False
    return True


@dataclass(frozen=True, slots=True)
class _Index:
    by_code: dict[str, list[tuple[int, int, "Route"]]]  # code -> (action rank, row number, route)
    # the codes (as the 835 writes them) seen to name no row that applies to a claim not denied /
    # denied: filled as claims go the long way
    clean_any: set[str]
    clean_denied: set[str]


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
    index = _Index(by_code, set(), set())
    if type(routes) is tuple:  # unchangeable; the entry holds it, so its id is never another table's
        _INDEX[:] = [routes, index]
    return index


_INDEX: list = []
