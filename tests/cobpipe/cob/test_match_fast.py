"""match_lines answers the usual claim (every line echoed in the billed order with its own REF*6R)
at once: held to the line-by-line weighing it skips, on drawn claims."""
import datetime as dt
from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from cobpipe.cob.match import BilledLine, RemittedLine, _match_by_evidence, match_by_refs, match_lines

_REF = st.sampled_from(["", "A", "B", "C", "A1"])
_CODE = st.sampled_from(["99213", "81002"])
_LINE = st.tuples(_REF, _CODE, st.sampled_from([D(10), D(50)]), st.sampled_from([(), ("25",)]))


def _billed(lines):
    return [BilledLine(str(n), ref, "HC", code, mods, charge, D(1), dt.date(2026, 3, 10))
            for n, (ref, code, charge, mods) in enumerate(lines, 1)]


def _remitted(lines):
    return [RemittedLine(n, 100 + n, ref, "HC", code, mods, "", (), charge, D(1), dt.date(2026, 3, 10))
            for n, (ref, code, charge, mods) in enumerate(lines, 1)]


@given(st.lists(_LINE, max_size=5), st.lists(_LINE, max_size=5), st.sampled_from(["lines", "refs", "no"]))
def test_match_lines_is_the_weighed_match(billed, remitted, echoed):
    """The billed lines echoed (the short way whenever their REF*6Rs are all given and distinct),
    only their REF*6Rs echoed on other lines, or drawn apart: the same matches and findings. Fails
    without the distinct or the all-given test of the short way (checked)."""
    billed_lines = _billed(billed)
    if echoed == "refs":
        remitted = [(ref, *rest) for (ref, *_), (_, *rest) in zip(billed, remitted + billed)]
    remitted_lines = _remitted(billed if echoed == "lines" else remitted)
    assert match_lines(billed_lines, remitted_lines, claim_id="X", path="p") == \
        _match_by_evidence(billed_lines, remitted_lines, claim_id="X", path="p")


def test_the_usual_claim_takes_the_short_way_and_says_nothing():
    lines = [("A", "99213", D(50), ()), ("B", "81002", D(10), ())]
    result = match_lines(_billed(lines), _remitted(lines), claim_id="X")
    assert result.matches == [0, 1] and result.findings == []


@given(st.lists(_LINE, max_size=5), st.lists(_LINE, max_size=5), st.sampled_from(["lines", "refs", "no"]))
def test_match_by_refs_is_match_lines_when_it_answers(billed, remitted, echoed):
    """match_by_refs (convert's first try, from the billed lines' REF*6Rs alone) answers only what
    match_lines answers, and declines (None) every claim the weighing has to look at: match_lines
    with it declining is the weighed match."""
    billed_lines = _billed(billed)
    if echoed == "refs":
        remitted = [(ref, *rest) for (ref, *_), (_, *rest) in zip(billed, remitted + billed)]
    remitted_lines = _remitted(billed if echoed == "lines" else remitted)
    quick = match_by_refs([line.ref_6r for line in billed_lines], remitted_lines, [line.code for line in billed_lines])
    weighed = _match_by_evidence(billed_lines, remitted_lines, claim_id="X", path="p")
    if quick is not None:
        assert quick == weighed and quick.findings == []
    assert (quick or weighed) == match_lines(billed_lines, remitted_lines, claim_id="X", path="p")
    if echoed == "lines" and billed and all(ref for ref, *_ in billed) and len({r for r, *_ in billed}) == len(billed):
        assert quick is not None  # the usual claim is answered the short way
