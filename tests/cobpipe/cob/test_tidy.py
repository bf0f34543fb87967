"""Trailing separators of carried-over segments are dropped before a secondary claim is written."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cobpipe.cob.tidy import tidy_loop, tidy_segment
from cobpipe.claim837.loops import Loop
from edi.segment import Delimiters, Segment


def test_a_clean_segment_is_returned_as_it_is():
    seg = Segment("SV1", ("HC:99213:25", "100", "UN", "1", "", "", "1"))
    assert tidy_segment(seg) is seg


def test_trailing_empty_elements_and_components_are_dropped():
    seg = Segment("SV1", ("HC:99213:", "100", "UN", "1", "", "", "1:2:", "", ""), 7, 9)
    tidied = tidy_segment(seg)
    assert tidied.elements == ("HC:99213", "100", "UN", "1", "", "", "1:2")
    assert (tidied.index, tidied.line) == (7, 9)


def test_components_are_judged_by_the_segments_own_delimiters():
    delims = Delimiters("|", "^", None, "\n", "")
    assert tidy_segment(Segment("SV1", ("HC^99213^", "100"), delimiters=delims)).elements == ("HC^99213", "100")
    colon = Segment("SV1", ("HC:99213:", "100"), delimiters=delims)  # ':' is data here
    assert tidy_segment(colon) is colon


def test_a_loop_without_stray_separators_is_the_same_object():
    loop = Loop("2400", [Segment("LX", ("1",)), Segment("SV1", ("HC:99213", "100"))])
    assert tidy_loop(loop) is loop
    dirty = Loop("2400", [Segment("LX", ("1",)), Segment("SV1", ("HC:99213:", "100", ""))])
    assert [s.elements for s in tidy_loop(dirty).iter_segments()] == [("1",), ("HC:99213", "100")]


def _reference(elements: tuple[str, ...]) -> tuple[str, ...]:
    values = []
    for value in elements:
        parts = value.split(":")
        while len(parts) > 1 and parts[-1] == "":
            parts.pop()
        values.append(":".join(parts))
    while values and values[-1] == "":
        values.pop()
    return tuple(values)


@given(st.lists(st.text(alphabet="AB1:", max_size=6), max_size=6))
def test_tidy_matches_the_definition(values):
    seg = Segment("REF", tuple(values))
    expected = _reference(seg.elements)
    tidied = tidy_segment(seg)
    assert tidied.elements == expected
    assert (tidied is seg) == (expected == seg.elements)
