from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cobpipe.cob.cas import Adjustment, CasDoesNotFit, adjustments_of, cas_segments, merge_same_reason
from edi.writer import serialize


def text(segments):
    return "".join(serialize(s) for s in segments)


def test_one_group_per_segment_in_first_seen_order():
    segs = cas_segments([Adjustment("PR", "1", D("10")), Adjustment("CO", "45", D("13.00")),
                         Adjustment("PR", "2", D("2.50"), D("1"))])
    assert text(segs) == "CAS*PR*1*10**2*2.5*1~\nCAS*CO*45*13~\n"


def test_seven_triplets_of_one_group_take_two_segments():
    segs = cas_segments([Adjustment("CO", str(r), D(r)) for r in range(1, 8)])
    assert [len(s.elements) for s in segs] == [18, 3]
    assert all(s.get(1) == "CO" for s in segs)


def test_zero_amounts_are_left_out():
    assert text(cas_segments([Adjustment("CO", "45", D("0.00")), Adjustment("PR", "3", D("5"))])) == "CAS*PR*3*5~\n"


def test_more_than_five_segments_do_not_fit():
    adjustments = [Adjustment(group, "45", D(1)) for group in ("CO", "PR", "OA", "PI", "CR")]
    assert len(cas_segments(adjustments)) == 5
    with pytest.raises(CasDoesNotFit):
        cas_segments(adjustments + [Adjustment("CO", str(r), D(1)) for r in range(100, 106)])


def test_negative_amounts_kept_verbatim_and_read_back():
    segs = cas_segments([Adjustment("OA", "94", D("-9.00"))])
    assert text(segs) == "CAS*OA*94*-9~\n"
    assert adjustments_of(segs[0]) == [Adjustment("OA", "94", D("-9"))]


def test_merge_same_reason_sums_split_parts():
    merged = merge_same_reason([Adjustment("CO", "45", D("5")), Adjustment("PR", "1", D("3")),
                                Adjustment("CO", "45", D("7.25"))])
    assert merged == [Adjustment("CO", "45", D("12.25")), Adjustment("PR", "1", D("3"))]


def reference_cas(adjustments):
    """cas_segments as first written: grouped, then each segment's values built triplet by triplet."""
    from cobpipe.cob.cas import SEGMENTS_PER_LOOP, TRIPLETS_PER_SEGMENT
    from edi.segment import Segment
    from edi.writer import format_amount

    by_group = {}
    for adj in adjustments:
        if adj.amount == 0:
            continue
        by_group.setdefault(adj.group, []).append(adj)
    segments = []
    for group, items in by_group.items():
        for start in range(0, len(items), TRIPLETS_PER_SEGMENT):
            values = [group]
            for adj in items[start:start + TRIPLETS_PER_SEGMENT]:
                quantity = format_amount(adj.quantity) if adj.quantity is not None else ""
                values += [adj.reason, format_amount(adj.amount), quantity]
            segments.append(Segment.build("CAS", *values))
    if len(segments) > SEGMENTS_PER_LOOP:
        raise CasDoesNotFit("too many")
    return segments


_ADJUSTMENT = st.builds(Adjustment, st.sampled_from(["CO", "PR", "OA", "PI"]),
                        st.sampled_from(["45", "2", "3", "", "A1"]),
                        st.decimals(min_value=-500, max_value=500, places=2),
                        st.one_of(st.none(), st.decimals(min_value=0, max_value=9, places=1)))


@given(st.lists(_ADJUSTMENT, max_size=14))
def test_cas_segments_are_the_reference_ones(adjustments):
    try:
        expected = reference_cas(adjustments)
    except CasDoesNotFit:
        with pytest.raises(CasDoesNotFit):
            cas_segments(adjustments)
        return
    assert cas_segments(adjustments) == expected
    assert cas_segments(tuple(adjustments)) == expected


def test_a_float_amount_is_refused_even_after_an_equal_decimal():
    cas_segments([Adjustment("CO", "45", D("10"))])
    with pytest.raises(TypeError):
        cas_segments([Adjustment("CO", "45", 10.0)])
    assert text(cas_segments([Adjustment("CO", "45", D("10.00"))])) == "CAS*CO*45*10~\n"
