"""from_era.billed_lines (one look at each line's items, answers remembered by element text) is held
to billed_lines_plain (a segment look-up per value, parsed every time): the same BilledLines, field
for field and in the same representation (Decimal('1.0') is not Decimal('1') here)."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cobpipe.claim837.claim import Envelope, OriginalClaim
from cobpipe.claim837.loops import Loop
from cobpipe.cob import from_era
from cobpipe.cob.from_era import billed_lines, billed_lines_plain
from edi.segment import STANDARD, Delimiters, Segment

OTHER = Delimiters(element="|", component=">", repetition="^", segment="~")

_codes = st.sampled_from(["", "6R", "6R", "472", "472", "D8", "X"])
_amounts = st.sampled_from(["", "0", "0.00", "1.0", "1", "100", "12.5", "1e2", "NaN", "-3", " 7", "abc", "Infinity"])
_dates = st.sampled_from(["", "20260122", "2026012", "20260122-20260124", "20261301", "2026012x", "202601221"])
_procedures = st.sampled_from(["", "HC:99213", "HC:99213:25", "HC:99213:25::59:XS:QQ:desc", "HC", ":99213",
                               "HC>99213>25", "HC:99213:::", "ER:A0425:RH"])
_texts = st.sampled_from(["", "1", "2", "SYN-1", "X"])


def _segment(draw, delimiters: Delimiters) -> Segment:
    tag = draw(st.sampled_from(["LX", "SV1", "SV1", "REF", "REF", "DTP", "DTP", "NTE"]))
    if tag == "SV1":
        elements = [draw(_procedures), draw(_amounts), draw(_texts), draw(_amounts)]
    elif tag == "DTP":
        elements = [draw(_codes), draw(_codes), draw(_dates)]
    else:
        elements = [draw(_codes if tag == "REF" else _texts), draw(_texts)]
    elements = elements[:draw(st.integers(0, len(elements)))]
    return Segment(tag, tuple(elements), draw(st.integers(0, 50)), 0, delimiters)


@st.composite
def claims(draw) -> OriginalClaim:
    delimiters = draw(st.sampled_from([STANDARD, OTHER]))
    lines = []
    for _ in range(draw(st.integers(0, 4))):
        items: list = []
        for _ in range(draw(st.integers(0, 7))):
            if draw(st.integers(0, 6)) == 0:
                items.append(Loop("2430", [_segment(draw, delimiters)]))
            else:
                items.append(_segment(draw, delimiters))
        line = Loop("2400")
        line.items = items
        lines.append(line)
    claim = Loop("2300", [Segment("CLM", ("PCN", "100"))])
    claim.items += lines
    if draw(st.booleans()):
        claim.items.insert(1, Loop("2320", [Segment("SBR", ("S",))]))
    return OriginalClaim(Envelope(), Loop("HEADER"), Loop("2000A"), Loop("2000B"), None, claim)


def _fields(lines) -> list[tuple]:
    return [tuple((value, repr(value)) for value in (line.number, line.ref_6r, line.qualifier, line.code,
                                                      line.modifiers, line.charge, line.units, line.service_date))
            for line in lines]


@settings(max_examples=400, deadline=None)
@given(claims(), claims())
def test_billed_lines_as_the_plain_reading(claim, other):
    expected = _fields(billed_lines_plain(claim))
    assert _fields(billed_lines(claim)) == expected
    # answers remembered from another claim (either delimiters) change nothing
    assert _fields(billed_lines(other)) == _fields(billed_lines_plain(other))
    assert _fields(billed_lines(claim)) == expected


def test_remembered_answers_stay_bounded(monkeypatch):
    monkeypatch.setattr(from_era, "_VALUES_KEPT", 3)
    for number in range(20):
        line = Loop("2400", [Segment("LX", ("1",)), Segment("SV1", (f"HC:{number}", f"{number}.5", "UN", "1")),
                             Segment("DTP", ("472", "D8", f"202601{number + 1:02d}"))])
        claim = OriginalClaim(Envelope(), Loop("HEADER"), Loop("2000A"), Loop("2000B"), None,
                              Loop("2300", [Segment("CLM", ("PCN", "1"))], [line]))
        assert _fields(billed_lines(claim)) == _fields(billed_lines_plain(claim))
    assert max(map(len, (from_era._procedures, from_era._amounts, from_era._dates))) <= 3


@settings(max_examples=400, deadline=None)
@given(claims())
def test_billed_line_refs_are_billed_lines_refs(claim):
    """billed_line_refs (what matching by REF*6R reads) is each billed line's ref_6r, the general
    reading's, on lines of any shape: several REFs, REF*6R with no value, a REF in a child loop."""
    assert from_era.billed_line_refs(claim) == [line.ref_6r for line in billed_lines_plain(claim)]
