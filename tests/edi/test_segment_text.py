"""Segment.text, the text a maker splitting segment texts keeps for the writer: a cache, never content."""
from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edi.segment import STANDARD, Delimiters, Segment, _make_segment, _Unfrozen

OTHER = Delimiters(element="|", component=">", repetition="!", segment="~")


def unslotted(tag: str, elements: tuple[str, ...]) -> Segment:
    """A segment made as the reader makes them (`_SEGMENT_FACTORY`): no `text` set at all."""
    seg = object.__new__(_Unfrozen)
    seg.tag, seg.elements, seg.index, seg.line, seg.delimiters = tag, elements, 3, 3, STANDARD
    seg.__class__ = Segment
    return seg


@given(st.text(max_size=3), st.lists(st.text(max_size=4), max_size=5), st.sampled_from([STANDARD, OTHER]))
def test_text_is_no_field(tag, elements, delimiters):
    """Equal, same hash, same repr, same pickle and copies (which drop it), replace() drops it too,
    positional and keyword construction unchanged: the segment with its text is the one without."""
    values = tuple(elements)
    body = delimiters.element.join((tag, *values))
    kept = _make_segment(tag, values, 1, 2, delimiters, body)
    plain = Segment(tag, values, 1, 2, delimiters)
    assert kept.text == body == str(kept) and plain.text is None
    assert kept == plain and hash(kept) == hash(plain) and repr(kept) == repr(plain)
    assert pickle.dumps(kept) == pickle.dumps(plain)
    for again in (pickle.loads(pickle.dumps(kept)), copy.copy(kept), copy.deepcopy(kept),
                  dataclasses.replace(kept, line=9)):
        assert again.text is None and (again.tag, again.elements, again.delimiters) == (tag, values, delimiters)
    assert Segment.__match_args__ == ("tag", "elements", "index", "line", "delimiters")
    with pytest.raises(dataclasses.FrozenInstanceError):
        kept.text = "X"  # type: ignore[misc]


def test_a_segment_made_without_the_slot_reads_pickles_and_copies_as_before():
    seg = unslotted("REF", ("F8", "A1"))
    assert getattr(seg, "text", "unset") == "unset"  # what the writer meets and copes with
    assert seg == Segment("REF", ("F8", "A1"), 3, 3) and str(seg) == "REF*F8*A1"
    for again in (pickle.loads(pickle.dumps(seg)), copy.deepcopy(seg)):
        assert again == seg and again.text is None


def test_old_pickles_still_load():
    """A segment pickled before `text` existed (state: the five fields) loads without it."""
    seg = Segment.__new__(Segment)
    seg.__setstate__(["NM1", ("IL", "1"), 4, 5, STANDARD])
    assert seg == Segment("NM1", ("IL", "1"), 4, 5) and seg.text is None
