"""Segment.build's fast path (plain strings only) against the general one it skips."""
from __future__ import annotations

import dataclasses
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edi.segment import STANDARD, Delimiters, Segment, _make_segment, _only_text


def reference_build(tag: str, *elements) -> Segment:
    """Segment.build as written before its fast path: every value converted one by one."""
    values: list[str] = []
    for value in elements:
        if value is None:
            values.append("")
        elif isinstance(value, (tuple, list)):
            parts = list(value)
            while parts and parts[-1] == "":
                parts.pop()
            values.append(STANDARD.component.join(parts))
        else:
            values.append(value)
    while values and values[-1] == "":
        values.pop()
    return Segment(tag, tuple(values))


text = st.text(alphabet="AB1 .-", max_size=4)
value = st.one_of(text, st.none(), st.tuples(text, text), st.lists(text, max_size=3))


@given(st.lists(text, max_size=8))
def test_plain_strings_build_as_the_general_path(elements):
    built = Segment.build("REF", *elements)
    expected = reference_build("REF", *elements)
    assert built == expected
    assert type(built.elements) is tuple and built.index == 0 and built.line == 0
    assert built.delimiters is STANDARD


@given(st.lists(value, max_size=8))
def test_mixed_values_build_as_the_general_path(elements):
    assert Segment.build("SVD", *elements) == reference_build("SVD", *elements)


def test_a_str_subclass_is_kept_as_the_general_way_keeps_it():
    class Code(str):
        pass

    code = Code("573")
    built = Segment.build("DTP", code, "D8", "20260101", "")
    assert built == Segment("DTP", ("573", "D8", "20260101"))
    assert built.elements[0] is code  # the value itself, as the general way appends it


@given(st.lists(st.one_of(value, st.integers(-5, 5)), max_size=8))
def test_only_text_is_true_exactly_when_every_value_is_a_str(elements):
    """_only_text, the fast path's test: true for texts (a str subclass too, which build keeps as it
    is either way), false when any value is None, a composite, or anything else (an int, which the
    general way keeps as it is). Fails if a None, a tuple, a list or an int passes (each checked)."""
    class Code(str):
        pass

    values = tuple(elements)
    assert _only_text(values) is all(isinstance(v, str) for v in values)
    assert _only_text((*values, Code("1"))) is all(isinstance(v, str) for v in values)
    assert Segment.build("REF", *values) == reference_build("REF", *values)


def test_subclasses_still_construct_through_their_own_class():
    class Tagged(Segment):
        __slots__ = ()

    built = Tagged.build("N3", "1 MAIN", "")
    assert type(built) is Tagged and built.elements == ("1 MAIN",)


@given(st.text(max_size=3), st.lists(text, max_size=5), st.integers(0, 10**6), st.integers(0, 10**6),
       st.sampled_from([STANDARD, Delimiters(element="|", component=">", repetition="!", segment="~")]))
def test_make_segment_makes_the_segment_the_constructor_makes(tag, elements, index, line, delimiters):
    """_make_segment fills an unfrozen twin and turns it into a Segment: the same object in every way."""
    made = _make_segment(tag, tuple(elements), index, line, delimiters)
    expected = Segment(tag, tuple(elements), index, line, delimiters)
    assert type(made) is Segment and made == expected and hash(made) == hash(expected)
    assert repr(made) == repr(expected) and pickle.loads(pickle.dumps(made)) == expected
    assert (made.tag, made.elements, made.index, made.line, made.delimiters) == (
        tag, tuple(elements), index, line, delimiters)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.tag = "X"  # type: ignore[misc]
