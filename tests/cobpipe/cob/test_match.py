import datetime as dt
from decimal import Decimal as D

from cobpipe.cob.match import BilledLine, RemittedLine, match_lines

DOS = dt.date(2026, 3, 10)


def billed(number, code, charge, ref="", mods=(), units=D(1), date=DOS):
    return BilledLine(str(number), ref, "HC", code, tuple(mods), D(charge), units, date)


def remitted(ordinal, code, charge, ref="", mods=(), original="", units=D(1), date=DOS):
    return RemittedLine(ordinal, 100 + ordinal, ref, "HC", code, tuple(mods), original, (), D(charge), units, date)


def codes(result):
    return [f.code for f in result.findings]


def test_ref_6r_matches_lines_remitted_in_another_order():
    lines = [billed(1, "99213", 50, "A"), billed(2, "81002", 10, "B"), billed(3, "99213", 50, "C")]
    result = match_lines(lines, [remitted(1, "99213", 50, "C"), remitted(2, "81002", 10, "B"),
                                 remitted(3, "99213", 50, "A")], claim_id="X")
    assert result.matches == [2, 1, 0] and result.findings == []


def test_procedure_fallback_uses_modifiers_date_and_charge():
    lines = [billed(1, "97110", 40, mods=["GP"]), billed(2, "97110", 40, mods=["GP", "59"])]
    result = match_lines(lines, [remitted(1, "97110", 40, mods=["59", "GP"]), remitted(2, "97110", 40, mods=["GP"])],
                         claim_id="X")
    assert result.matches == [1, 0] and result.findings == []


def test_dropped_modifiers_match_with_a_warning():
    result = match_lines([billed(1, "99213", 50, mods=["25"])], [remitted(1, "99213", 50)], claim_id="X")
    assert result.matches == [0] and codes(result) == ["MATCH005"]


def test_ambiguous_lines_are_a_finding_not_a_guess():
    lines = [billed(1, "99213", 50, mods=["25"]), billed(2, "99213", 50, mods=["57"])]
    result = match_lines(lines, [remitted(1, "99213", 50)], claim_id="X")
    assert result.matches == [None] and "MATCH004" in codes(result)


def test_identical_billed_lines_pair_in_order():
    lines = [billed(1, "J1100", 12), billed(2, "J1100", 12)]
    result = match_lines(lines, [remitted(1, "J1100", 12), remitted(2, "J1100", 12)], claim_id="X")
    assert result.matches == [0, 1] and result.findings == []


def test_unknown_line_and_unadjudicated_line_are_findings():
    result = match_lines([billed(1, "99213", 50)], [remitted(1, "99214", 80)], claim_id="X")
    assert result.matches == [None] and codes(result) == ["MATCH001", "MATCH006"]


def test_svc06_unbundled_lines_share_their_billed_line():
    lines = [billed(1, "80053", 90)]
    result = match_lines(lines, [remitted(1, "82947", 30, original="80053"), remitted(2, "84132", 60,
                                                                                   original="80053")],
                         claim_id="X")
    assert result.matches == [0, 0] and result.findings == []
    assert result.remitted_for(0) == [0, 1]


def test_stale_ref_6r_falls_back_to_procedure():
    result = match_lines([billed(1, "99213", 50, "L1")], [remitted(1, "99213", 50, "1")], claim_id="X")
    assert result.matches == [0] and codes(result) == ["MATCH003"]


def test_a_ref_6r_echoed_on_another_procedure_is_not_trusted():
    """The payer put line 2's REF*6R on the 99213 it paid and line 1's on the 87880 it denied: matched by
    procedure, with a warning (it reported the denial on the 99213); a re-coded line (SVC06 names the
    billed code) keeps its REF*6R."""
    lines = [billed(1, "99213", 50, "SW1-1"), billed(2, "87880", 50, "SW1-2")]
    result = match_lines(lines, [remitted(1, "99213", 50, "SW1-2"), remitted(2, "87880", 50, "SW1-1")], claim_id="X")
    assert result.matches == [0, 1] and codes(result) == ["MATCH007", "MATCH007"]
    recoded = match_lines(lines, [remitted(1, "99212", 40, "SW1-1", original="99213"),
                                  remitted(2, "87880", 50, "SW1-2")], claim_id="X")
    assert recoded.matches == [0, 1] and recoded.findings == []
    # re-coded without SVC06, to a code billed on no line: still that line's REF*6R
    downcoded = match_lines(lines, [remitted(1, "99212", 50, "SW1-1"), remitted(2, "87880", 50, "SW1-2")],
                            claim_id="X")
    assert downcoded.matches == [0, 1] and downcoded.findings == []
