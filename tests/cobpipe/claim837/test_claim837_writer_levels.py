"""The 837 writer's HL merging (`_Level.matches`, compared segment by segment with an early stop)
held to the content keys it used to build in full (`_context_key`)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edi.segment import STANDARD, Delimiters, Segment
from edi.writer import DelimiterCollisionError

from cobpipe.claim837.loops import Loop
from cobpipe.claim837.writer import _context_key, _Level

OTHER = Delimiters(element="|", component=">", repetition="^", segment="~")
SAME_SEPARATORS = Delimiters(element="|", component=":", repetition="^", segment="~")

value = st.sampled_from(["", "A", "B", "HC:1", "HC>1", "X^Y"])
segment = st.builds(
    lambda tag, elements, delimiters: Segment(tag, tuple(elements), 0, 0, delimiters),
    st.sampled_from(["SBR", "NM1", "N3"]), st.lists(value, min_size=1, max_size=3),
    st.sampled_from([STANDARD, STANDARD, OTHER, SAME_SEPARATORS]))


def hl_loop(draw_items: list, hl_first: bool) -> Loop:
    loop = Loop("2000B")
    if hl_first:
        loop.append(Segment("HL", ("2", "1", "22", "0")))
    for item in draw_items:
        loop.append(Loop("2010BA", item) if isinstance(item, list) else item)
    return loop


loops = st.builds(hl_loop, st.lists(st.one_of(segment, st.lists(segment, min_size=1, max_size=2)), max_size=4),
                  st.booleans())


@settings(max_examples=300)
@given(st.lists(st.tuples(loops, st.booleans()), min_size=1, max_size=6), st.data())
def test_matches_answers_as_the_full_content_keys(sequence, data):
    level = _Level()
    previous = None  # (key, kind, loop) of the open HL
    for loop, kind in sequence:
        if previous is not None and data.draw(st.booleans()):
            loop = previous[2]  # the same loop object again (claims read from one HL)
        try:
            key = _context_key(loop)
        except DelimiterCollisionError:  # the writer stopped here before: it still does
            if previous is None or loop is not previous[2]:
                with pytest.raises(DelimiterCollisionError):
                    level.matches(loop, kind)
            return
        expected = previous is not None and previous[0] == key and previous[1] == kind
        assert level.matches(loop, kind) is expected
        if not expected:  # _write_hierarchy opens a new HL and records its kind
            level.kind = kind
            previous = (key, kind, loop)
        else:
            previous = (key, previous[1], loop)


def test_a_subscriber_differing_at_its_name_does_not_match():
    a = Loop("2000B", [Segment("HL", ("2", "1", "22", "0")), Segment("SBR", ("P", "18"))],
             [Loop("2010BA", [Segment("NM1", ("IL", "1", "DOE"))])])
    b = Loop("2000B", [Segment("HL", ("3", "1", "22", "0")), Segment("SBR", ("P", "18"))],
             [Loop("2010BA", [Segment("NM1", ("IL", "1", "ROE"))])])
    c = Loop("2000B", [Segment("HL", ("4", "1", "22", "0")), Segment("SBR", ("P", "18"))],
             [Loop("2010BA", [Segment("NM1", ("IL", "1", "ROE"))])])
    level = _Level()
    assert not level.matches(a)
    assert not level.matches(b)
    assert level.matches(c)  # same content, new HL ids: merged
    assert not level.matches(Loop("2000B", c.items), True)  # an HL with patients is not one with claims
