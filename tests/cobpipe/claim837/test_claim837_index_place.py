"""The claim index's placement states (`ClaimIndex._make_placed`: one decision per open loops, tag
and, where it decides, element 01; each segment made from its text as `_make_all` makes it) against
the parser's own `_TransactionBuilder.place`, segment by segment."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import cobpipe.claim837.index as index_module
from cobpipe.claim837.claim import Envelope
from cobpipe.claim837.index import ClaimIndex, _make_all
from cobpipe.claim837.loops import Loop
from cobpipe.claim837.parser import _TransactionBuilder
from edi.segment import Segment

# 2300 and 2000B segments with the qualifiers that tell loops apart (NM1*82 2310B, NM1*DN 2310A,
# SBR in 2320, NM1*PR in 2330B...), unknown ones (ZZZ) and ones out of place (HI under 2400)
SEGMENTS = [("HI", "ABK:R05"), ("NM1", "82"), ("NM1", "DN"), ("NM1", "77"), ("NM1", "PR"), ("NM1", "IL"),
            ("NM1", "QB"), ("NM1", "XX"), ("PRV", "PE"), ("REF", "G1"), ("REF", "F8"), ("REF", "6R"),
            ("SBR", "S"), ("OI", ""), ("AMT", "D"), ("CAS", "CO"), ("LX", "1"), ("SV1", "HC:1"),
            ("DTP", "472"), ("SVD", "99"), ("N3", "1 MAIN"), ("N4", "TOWN"), ("ZZZ", "1"), ("DMG", "D8"),
            ("PAT", "19"), ("K3", ""), ("NTE", "ADD"), ("LQ", "UT"), ("FRM", "1"),
            ("NM1", None), ("LX", None), ("SBR", None), ("NM1", "")]  # None: the tag alone, no elements


def tree(loop: Loop) -> list:
    return [(item.tag, item.elements, item.index, item.line, item.delimiters) if isinstance(item, Segment)
            else (item.id, tree(item)) for item in loop.items]


def builder_places(start: str, segments: list[Segment]) -> list:
    builder = _TransactionBuilder(Envelope(), "<test>", [])
    loop = Loop(start, segments[:1])
    builder.stack = [loop]
    for seg in segments[1:]:
        builder.place(seg)
    return tree(loop)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(SEGMENTS), max_size=25), st.sampled_from(["2300", "2000B", "2000C"]),
       st.sampled_from([3, 10_000]))
def test_index_places_as_the_builder(picked, start, kept):
    first = "CLM*A1*10" if start == "2300" else "HL*2*1*22*0"
    bodies = [first] + [tag if qualifier is None else f"{tag}*{qualifier}*X" for tag, qualifier in picked]
    segments = _make_all(bodies, 1)
    original = index_module.PLACEMENTS_KEPT
    index_module.PLACEMENTS_KEPT = kept  # a tiny bound forgets states mid-claim: placements stay the same
    try:
        index = ClaimIndex()
        remembered = []
        for _ in range(2):  # the second time from remembered decisions
            loop = Loop(start, segments[:1])
            index._make_placed([loop.items], (start,), bodies[1:], 2)
            assert tree(loop) == builder_places(start, segments)
            assert index._placed <= kept
            remembered.append(index._placed)
        if kept == 10_000:  # nothing forgotten: the second time finds every decision, makes none
            assert remembered[1] == remembered[0]
    finally:
        index_module.PLACEMENTS_KEPT = original
