"""route() looks a claim's codes up in an index of the routes table: the same answer as testing
every row against the claim's codes, the strongest action first and the file's first row among
equals."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from cobpipe.cob import routes
from cobpipe.cob.match import RemittedLine
from cobpipe.cob.remit import RemitClaim, RemitLine
from cobpipe.cob.routes import ACTIONS, Route, default_routes, route
from cobpipe.era.model import Adjustment
from cobpipe.pipeline import ConvertOptions, run_batch

GOLDEN = Path(__file__).parents[2] / "golden"

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
    matched = RemittedLine(1, None, "", "HC", "99213", (), "", (), Decimal(0), None, None)
    lines = [RemitLine(matched, Decimal(0), None, ("HC", "99213"), [adjustment(c) for c in codes])
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


def test_a_claim_whose_codes_were_seen_is_answered_quickly():
    """The quick answer (codes seen before to name no applicable row) is taken for the common
    claim: were it to stop being taken, this fails instead of going slow unseen."""
    table = (Route("22", "hold", "any", "order"), Route("16", "hold", "denied", "missing"))
    looked_up = routes.COUNTS.looked_up
    assert route(remit("1", ["45"], [["16", "2"]], {"MA01"}), table) is None  # 16 applies to denied claims only
    assert route(remit("1", ["2"], [["45"], ["16"]], set()), table) is None
    assert route(remit("1", ["16"], [], {"MA01"}), table) is None
    assert routes.COUNTS.looked_up - looked_up == 1  # the first claim only: its codes are learnt
    assert route(remit("4", ["45"], [["16"]], set()), table).reason == "missing"  # denied: learnt apart
    assert route(remit("1", ["45"], [["22"]], set()), table).reason == "order"  # a line's code
    assert route(remit("4", [], [], {"16"}), table).reason == "missing"  # a remark
    assert routes.COUNTS.looked_up - looked_up == 4


def test_a_code_in_lower_case_is_found_and_never_learnt_as_clean():
    table = (Route("MA130", "hold", "any", "incomplete"), Route("A1", "skip", "any", "a1"))
    for _ in range(2):
        assert route(remit("1", ["a1"], [], set()), table).reason == "a1"
        assert route(remit("1", [], [], {"ma130"}), table).reason == "incomplete"
        assert route(remit("1", ["b7"], [], set()), table) is None


def test_the_learnt_codes_stay_bounded():
    table = (Route("22", "hold", "any", "order"),)
    for n in range(5000):
        assert route(remit("1", [f"X{n}"], [], set()), table) is None
    assert route(remit("1", ["22"], [], set()), table).reason == "order"
    assert len(routes._index(table).clean_any) <= 4096


def test_convert_answers_the_golden_claims_quickly(tmp_path):
    """Convert's claims whose codes were seen take the quick answer: at most the first claims with
    each code go the long way."""
    options = ConvertOptions(today=dt.date(2026, 4, 1), now=dt.datetime(2026, 4, 1, 9, 30), usage="T",
                             validate_ig=False)
    routes._INDEX.clear()  # the codes learnt by earlier tests in this process forgotten: the first pass starts cold
    before = routes.COUNTS.looked_up
    for case in sorted(p for p in GOLDEN.iterdir() if (p / "era.835").exists()):
        coverage = case / "coverage.csv"
        run_batch([case / "era.835"], [case / "claims.837"], tmp_path / case.name, options=options,
                  coverage_path=coverage if coverage.exists() else None)
    after = routes.COUNTS.looked_up
    for case in sorted(p for p in GOLDEN.iterdir() if (p / "era.835").exists()):  # the same claims again
        coverage = case / "coverage.csv"
        run_batch([case / "era.835"], [case / "claims.837"], tmp_path / (case.name + "-2"), options=options,
                  coverage_path=coverage if coverage.exists() else None)
    assert after > before  # some went the long way the first time
    # the second time, only claims carrying a code that names an applicable row go the long way
    assert routes.COUNTS.looked_up - after < after - before
