"""SegmentLines answers like the plain list of lines it replaces, in few runs for usual layouts."""
from hypothesis import given, strategies as st
import pytest

from edi.seglines import SegmentLines


def filled(lines):
    table = SegmentLines()
    for line in lines:
        table.append(line)
    return table


@given(st.lists(st.integers(min_value=0, max_value=3), max_size=200), st.integers(min_value=1, max_value=50))
def test_same_answers_as_a_list(steps, first):
    lines, line = [], first
    for step in steps:
        line += step
        lines.append(line)
    table = filled(lines)
    assert len(table) == len(lines)
    assert [table[i] for i in range(len(lines))] == lines
    assert list(table) == lines
    if lines:
        assert table[-1] == lines[-1]


def test_one_segment_per_line_is_one_run():
    table = filled(range(3, 100_003))
    assert table.runs == 1
    assert table[99_999] == 100_002


def test_a_whole_interchange_on_one_line_is_one_run():
    table = filled([1] * 50_000)
    assert table.runs == 1
    assert table[49_999] == 1


def test_a_change_of_layout_starts_a_run():
    table = filled([1, 1, 1, 2, 3, 4, 4, 4])
    assert [table[i] for i in range(8)] == [1, 1, 1, 2, 3, 4, 4, 4]
    assert table.runs == 3


def test_out_of_range():
    table = filled([1, 2])
    with pytest.raises(IndexError):
        table[2]
    with pytest.raises(IndexError):
        table[-3]
    with pytest.raises(IndexError):
        SegmentLines()[0]


@given(st.lists(st.tuples(st.integers(min_value=0, max_value=40), st.integers(min_value=0, max_value=2),
                          st.integers(min_value=0, max_value=9)), max_size=30))
def test_extend_is_the_same_as_appending_each(pieces):
    """SegmentLines.extend (the guide check's block path) against appending line by line."""
    bulk, single = SegmentLines(), SegmentLines()
    for first, step, count in pieces:
        bulk.extend(first, step, count)
        for k in range(count):
            single.append(first + k * step)
    assert list(bulk) == list(single) and len(bulk) == len(single)
    assert (bulk._starts, bulk._firsts, bulk._steps, bulk._last, bulk._run_length > 1) == \
        (single._starts, single._firsts, single._steps, single._last, single._run_length > 1)
    bulk.append(7)
    single.append(7)
    assert list(bulk) == list(single)
