"""route() looks a claim's codes up in an index of the routes table: the same answer as testing
every row against the claim's codes, the strongest action first and the file's first row among
equals."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from cobpipe.cob.remit import RemitClaim, RemitLine
from cobpipe.cob.routes import ACTIONS, Route, default_routes, route
from cobpipe.era.model import Adjustment

CODES = ["22", "109", "16", "MA130", "45", "1", "2", "N89", "ma130", "B7", "204", "50", "96", "M15"]


def reference(claim: RemitClaim, routes: tuple[Route, ...]) -> Route | None:
    """The rule as written before the index: every row tested against the set of the claim's codes."""
    denied = claim.status_code == "4"
    codes = {a.reason.upper() for a in claim.adjustments}
    for line in claim.lines:
        codes |= {a.reason.upper() for a in line.adjustments}
    codes |= {r.upper() for r in claim.remarks}
    matching = [r for r in routes if r.code in codes and (denied or r.when == "any")]
    if not matching:
        return None
    return min(matching, key=lambda r: ACTIONS.index(r.action))


def adjustment(code: str) -> Adjustment:
    return Adjustment("CO", code, Decimal("1.00"))


def remit(status: str, claim_codes: list[str], line_codes: list[list[str]], remarks: set[str]) -> RemitClaim:
    lines = [RemitLine(None, Decimal(0), None, ("HC", "99213"), [adjustment(c) for c in codes])
             for codes in line_codes]
    return RemitClaim("C1", status, Decimal(10), Decimal(0), Decimal(0), "", "12",
                      [adjustment(c) for c in claim_codes], lines, 1, None, remarks=remarks)


rows = st.builds(Route, st.sampled_from(CODES).map(str.upper), st.sampled_from(ACTIONS),
                 st.sampled_from(["denied", "any"]), st.text(max_size=3))
codes = st.lists(st.sampled_from(CODES), max_size=4)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.none(), st.lists(rows, max_size=8).map(tuple)), st.sampled_from(["1", "2", "4", "22"]),
       codes, st.lists(codes, max_size=3), st.sets(st.sampled_from(CODES), max_size=3))
def test_the_index_answers_as_every_row_tested(routes, status, claim_codes, line_codes, remarks):
    claim = remit(status, claim_codes, line_codes, remarks)
    table = default_routes() if routes is None else routes
    assert route(claim, routes) is reference(claim, table)
    assert route(claim, list(table)) is reference(claim, table)  # a list is indexed afresh each time


def test_a_table_changed_in_place_is_read_as_it_is_now():
    table = [Route("45", "skip", "any", "first")]
    claim = remit("1", ["45"], [], set())
    assert route(claim, table).reason == "first"
    table[0] = Route("45", "hold", "any", "second")
    assert route(claim, table).reason == "second"
