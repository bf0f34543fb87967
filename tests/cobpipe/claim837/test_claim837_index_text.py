"""The claim index makes its segments without Segment's __init__ (an unfrozen twin turned into a
Segment): each is a real, frozen Segment whose text in the standard delimiters is its text in the file."""
from __future__ import annotations

import dataclasses

import pytest

from cobpipe.claim837.index import ClaimIndex, _make_all, _make_one
from cobpipe.synth import generate_set
from edi.segment import STANDARD, Segment
from edi.writer import serialize


def test_index_segments_are_segments_with_their_file_text(tmp_path):
    made = generate_set(30, tmp_path, seed=5, patient_fraction=0.5)
    texts = set(made.claims.read_text().replace("\n", "").split("~"))
    with ClaimIndex.build([made.claims]) as index:
        claims = [claim for claim_id in index.by_id for claim in index.claims_for(claim_id)]
        assert claims
        for claim in claims:
            for segment in claim.iter_segments():
                assert type(segment) is Segment, segment.tag
                assert serialize(segment, STANDARD)[:-2] in texts


@pytest.mark.parametrize("make", [lambda body, number: _make_all([body], number)[0], _make_one],
                         ids=["make_all", "make_one"])  # _make_one: the CLM and HL segments, one at a time
@pytest.mark.parametrize("body, tag, elements", [("REF*EA*1", "REF", ("EA", "1")), ("LX", "LX", ()),
                                                 ("N3*", "N3", ("",)), ("", "", ()),
                                                 ("CLM*A1*10***11:B:1", "CLM", ("A1", "10", "", "", "11:B:1")),
                                                 ("HL*2*1*22*0", "HL", ("2", "1", "22", "0"))])
def test_make_all_splits_as_the_parser(make, body, tag, elements):
    segment = make(body, 4)
    assert type(segment) is Segment
    assert segment == Segment(tag, elements, 4, 4, STANDARD)
    assert segment.delimiters is STANDARD
    with pytest.raises(dataclasses.FrozenInstanceError):
        segment.tag = "X"  # type: ignore[misc]
