"""Segments that keep their source text (SourceSegment, made by the claim index): written from that
text when the output's separators are the text's, byte for byte what the elements give; joined,
translated or refused exactly as any Segment otherwise; and a Segment in every other respect."""
from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import io
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edi.segment import _SOURCE_FACTORY, STANDARD, Delimiters, Segment, SourceSegment
from edi.writer import DelimiterCollisionError, InterchangeSettings, InterchangeWriter, Party, SequentialControlNumbers

from cobpipe.claim837.index import _make_all

SETTINGS = InterchangeSettings(Party("ZZ", "SENDER"), Party("ZZ", "RECEIVER"), usage="T")
NOW = dt.datetime(2026, 3, 21, 8, 5)
OUTPUTS = [STANDARD, Delimiters(suffix=""), Delimiters(element="|", component=">", repetition="!", segment="~"),
           Delimiters(element="*", component=">", repetition="^", segment="~"),
           Delimiters(element="*", component=":", repetition=None, segment="~"),
           Delimiters(element="*", component=":", repetition="^", segment="\n", suffix="")]


def write_body(segments: list[Segment], delimiters: Delimiters) -> str:
    out = io.StringIO()
    with InterchangeWriter(out, SETTINGS, SequentialControlNumbers(), delimiters, NOW) as ix:
        with ix.group("HC", "005010X222A1") as group:
            with group.transaction("837") as ts:
                ts.write_all(segments)
    return out.getvalue()


def outcome(segments: list[Segment], delimiters: Delimiters) -> str:
    try:
        return write_body(segments, delimiters)
    except DelimiterCollisionError as exc:
        return f"refused: {exc}"


def plain(segment: Segment) -> Segment:
    return Segment(segment.tag, segment.elements, segment.index, segment.line, segment.delimiters)


value = st.text(alphabet="AB1 :^>!|", max_size=5)
body = st.builds(lambda tag, values: "*".join([tag, *values]), st.sampled_from(["NM1", "REF", "SV1", "HI"]),
                 st.lists(value, max_size=5))


@given(st.lists(body, min_size=1, max_size=6), st.sampled_from(OUTPUTS))
def test_source_text_writes_what_the_elements_write(bodies, delimiters):
    made = _make_all(bodies, 1)
    assert all(type(s) is SourceSegment and s.text == b for s, b in zip(made, bodies))
    assert outcome(made, delimiters) == outcome([plain(s) for s in made], delimiters)


def poisoned(tag: str, elements: tuple[str, ...], text: str) -> SourceSegment:
    """A SourceSegment whose text is NOT its elements': shows which of the two the writer used."""
    new, *setters = _SOURCE_FACTORY
    seg = new(SourceSegment)
    for setter, field in zip(setters, (tag, elements, 0, 0, STANDARD, text)):
        setter(seg, field)
    return seg


def test_the_text_is_what_gets_written_when_the_separators_allow():
    seg = poisoned("REF", ("EA", "1"), "REF*EA*FROM-TEXT")
    assert "REF*EA*FROM-TEXT~" in write_body([seg], STANDARD)  # the fast path is taken
    # another element separator: the elements, joined and checked as always
    assert "REF|EA|1~" in write_body([seg], Delimiters(element="|", component=">", repetition="!", segment="~"))
    # an edited copy never carries the old text
    for edited in (seg.with_elements("EA", "2"), seg.replace_element(2, "2"), dataclasses.replace(seg, elements=("EA", "2"))):
        assert "REF*EA*2~" in write_body([edited], STANDARD)


def test_a_source_segment_is_a_segment_in_every_other_respect():
    (seg,) = _make_all(["NM1*IL*1*DOE"], 7)
    same = Segment("NM1", ("IL", "1", "DOE"), 7, 7)
    assert seg == same and same == seg and not (seg != same) and not (same != seg)
    assert [seg] == [same] and (seg,) == (same,) and hash(seg) == hash(same) and {same: 1}[seg] == 1
    assert seg != Segment("NM1", ("IL", "1", "ROE"), 7, 7) and seg != Segment("NM1", ("IL", "1", "DOE"), 8, 8)
    assert repr(seg) == repr(same)
    for clone in (pickle.loads(pickle.dumps(seg)), copy.copy(seg), copy.deepcopy(seg)):
        assert type(clone) is Segment and clone == same
    replaced = dataclasses.replace(seg, tag="N3")
    assert replaced.text is None and replaced.tag == "N3" and replaced.elements == ("IL", "1", "DOE")
    with pytest.raises(dataclasses.FrozenInstanceError):
        seg.tag = "X"  # type: ignore[misc]
    assert isinstance(seg, Segment) and seg.get(3) == "DOE" and seg.id() == "NM1*IL"
