"""A segment the claim index makes keeps its text (`Segment.text`: `str(segment)`, the body it was
split from), and the 837P writers write that text instead of joining the elements again
(`edi.writer.tree_text`, `body_text`): the same bytes as the same segments without a text, in
any output delimiters."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cobpipe.claim837 import Loop, OriginalClaim, write_claims_837
from cobpipe.claim837.index import ClaimIndex, _make_all, _make_one
from cobpipe.claim837.writer_items import ItemHead, ItemMaker, write_items_837
from cobpipe.synth import generate_set
from edi.errors import EdiError
from edi.segment import STANDARD, Delimiters, Segment, output_delimiters
from edi.writer import InterchangeSettings, Party, SequentialControlNumbers, body_text, tree_text

SETTINGS = InterchangeSettings(Party("ZZ", "MAPLECLINIC"), Party("ZZ", "CLEARHOUSE"), usage="T")
NOW = dt.datetime(2026, 4, 2, 8, 15)
# the output's: standard, standard without the line feed, another element separator (the kept
# text is not the body then), another component separator (the reference way), all of them other
DELIMITERS = [STANDARD, output_delimiters("*:^~"), output_delimiters("|:^~"), output_delimiters("*>^~"),
              Delimiters("|", ">", "!", "~", "")]
BODIES = ["REF*EA*1", "LX", "N3*", "NTE*ADD*A:B", "SV1*HC:99213*156*UN*1***1:2:4", "HI*ABK:R051*ABF:E119",
          "DTP*472*D8*20260122", "K3*X^Y", "PRV*PE*PXC*207Q00000X", "NTE*A|B", "REF*EA*X>Y!"]  # (one
# separator a value holds where the output separates with it: as many as the segment has elements)


def without_text(segment: Segment) -> Segment:
    return Segment(segment.tag, segment.elements, segment.index, segment.line, segment.delimiters)


def without_texts(loop: Loop) -> Loop:
    copy = Loop(loop.id)
    copy.items = [without_text(item) if isinstance(item, Segment) else without_texts(item) for item in loop.items]
    return copy


def plain_claim(claim: OriginalClaim) -> OriginalClaim:
    """The claim with every segment made again without its text (the reference the writer had)."""
    patient = claim.patient
    return OriginalClaim(claim.envelope, without_texts(claim.header), without_texts(claim.billing_provider),
                         without_texts(claim.subscriber), None if patient is None else without_texts(patient),
                         without_texts(claim.claim))


def written(write, claims, delimiters: Delimiters) -> str:
    out = io.StringIO()
    try:
        write(claims, out, delimiters)
    except EdiError as exc:  # e.g. a value holding an output delimiter: refused alike
        return f"refused: {type(exc).__name__}: {exc}"
    return out.getvalue()


def write_claims(claims, out, delimiters):
    write_claims_837(claims, out, SETTINGS, SequentialControlNumbers(start=7), delimiters, now=NOW)


def write_items(claims, out, delimiters):
    maker = ItemMaker(delimiters)
    write_items_837([maker.item(claim) for claim in claims], out, SETTINGS, SequentialControlNumbers(start=7),
                    delimiters, now=NOW, head=ItemHead.of(claims[0], delimiters))


@pytest.mark.parametrize("make", [lambda body, number: _make_all([body], number)[0], _make_one],
                         ids=["make_all", "make_one"])
@pytest.mark.parametrize("body", BODIES + ["", "CLM*A1*10***11:B:1", "HL*2*1*22*0"])
def test_an_indexed_segment_keeps_the_text_it_was_made_from(make, body):
    segment = make(body, 4)
    assert segment.text == body == str(segment)
    assert segment == without_text(segment) and hash(segment) == hash(without_text(segment))  # not its value
    assert without_text(segment).text is None


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(BODIES), min_size=1, max_size=12), st.sampled_from(DELIMITERS))
@example(["NTE*A|B"], DELIMITERS[2])  # its '|' counts as the separator it lacks: refused, not written
@example(["REF*EA*X>Y!", "NTE*A|B", "LX"], DELIMITERS[2])
def test_kept_texts_are_written_as_the_elements_joined(bodies, delimiters):
    segments = _make_all(bodies, 1)
    loop = Loop("2300", segments[:2])
    if len(segments) > 2:
        loop.items.append(Loop("2400", segments[2:]))
    plain = [without_text(segment) for segment in segments]

    def either(make):  # what the writer gives, or the error it raises
        try:
            return make()
        except (EdiError, ValueError) as exc:
            return f"refused: {type(exc).__name__}: {exc}"

    assert either(lambda: body_text(segments, delimiters)) == either(lambda: body_text(plain, delimiters))
    assert either(lambda: tree_text(loop, delimiters)) == either(lambda: tree_text(without_texts(loop), delimiters))


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(DELIMITERS), st.sampled_from([write_claims, write_items]))
def test_indexed_claims_are_written_as_without_their_texts(tmp_path_factory, seed, delimiters, write):
    made = generate_set(12, tmp_path_factory.mktemp("texts"), seed=seed, patient_fraction=0.5)
    with ClaimIndex.build([made.claims]) as index:
        claims = [claim for claim_id in index.by_id for claim in index.claims_for(claim_id)]
        assert claims and all(segment.text == str(segment) for claim in claims for segment in claim.iter_segments())
        assert written(write, claims, delimiters) == written(write, [plain_claim(c) for c in claims], delimiters)
