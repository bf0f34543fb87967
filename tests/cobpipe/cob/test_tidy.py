"""Trailing separators of carried-over segments are dropped before a secondary claim is written."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cobpipe.cob.tidy import tidy_loop, tidy_segment, tidy_segments
from cobpipe.claim837.loops import Loop
from edi.segment import STANDARD, Delimiters, Segment


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


_ELEMENTS = st.lists(st.text(alphabet="AB1:*|^", max_size=5), max_size=5)


@given(st.lists(st.tuples(st.booleans(), _ELEMENTS, st.sampled_from(("REF", "ISA", "SE"))), max_size=6))
def test_tidy_loop_is_tidy_segment_of_each_segment(specs):
    """tidy_loop's inlined usual case (standard delimiters, clean) agrees with tidy_segment for every
    segment, in standard delimiters or others, envelope tags included, in nested loops."""
    other = Delimiters("|", "^", None, "\n", "")
    segments = [Segment(tag, tuple(values), delimiters=STANDARD if standard else other)
                for standard, values, tag in specs]
    loop = Loop("2300", segments[:3], [Loop("2400", segments[3:])])
    tidied = tidy_loop(loop)
    expected = [tidy_segment(s) for s in segments]
    got = tidied.all_segments()
    assert [(s.tag, s.elements, s.delimiters) for s in got] == [(s.tag, s.elements, s.delimiters) for s in expected]
    assert all((g is s) == (e is s) for g, e, s in zip(got, expected, segments))
    assert (tidied is loop) == all(e is s for e, s in zip(expected, segments))


def test_tidy_loop_with_equal_but_not_the_same_delimiters():
    seg = Segment("SV1", ("HC:99213:", "100"), delimiters=Delimiters())  # equal to STANDARD, another object
    clean = Segment("SV1", ("HC:99213", "100"), delimiters=Delimiters())
    assert tidy_loop(Loop("2400", [seg])).all_segments()[0].elements == ("HC:99213", "100")
    loop = Loop("2400", [clean])
    assert tidy_loop(loop) is loop


@given(st.lists(st.tuples(st.booleans(), _ELEMENTS), max_size=6))
def test_tidy_segments_is_tidy_segment_of_each(specs):
    """The built 2430's tidying: each segment as tidy_segment has it, the same list when all are tidy."""
    other = Delimiters("|", "^", None, "\n", "")
    segments = [Segment("CAS", tuple(values), delimiters=STANDARD if standard else other) for standard, values in specs]
    expected = [tidy_segment(s) for s in segments]
    got = tidy_segments(segments)
    assert [(s.elements, s.delimiters) for s in got] == [(s.elements, s.delimiters) for s in expected]
    assert all((g is s) == (e is s) for g, e, s in zip(got, expected, segments))
    assert (got is segments) == all(e is s for e, s in zip(expected, segments))
