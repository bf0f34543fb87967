"""A claim's 2000B made when first used (`index._DeferredHL`): whom the claim was billed to
(`identity.billed_to`) read off the loop's segment texts equals the answer of the made loop, and the
made loop is the one the parser's builder places, whatever the 2000B holds."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cobpipe.claim837.claim import Envelope, OriginalClaim
from cobpipe.claim837.index import ClaimIndex, _DeferredHL, _make_all
from cobpipe.claim837.loops import Loop
from cobpipe.cob.identity import billed_to

from test_claim837_index_place import builder_places, tree

# what a 2000B may hold after its HL: the usual segments, payer REFs read as ids (2U, EI, FY, NF)
# and others (G2, SY), segments of no 2010BB (DMG, PER, PAT, ZZZ), other NM1s, odd spellings
# (lower case, spaces, bare tags, an empty REF02, NM1*PRX) and a second NM1*PR
SEGMENTS = ["SBR*P*18*GRP******CI", "SBR* s ", "SBR", "SBR*", "SBRX*P", "PAT*19", "NM1*IL*1*DOE*JANE****MI*M1",
            "N3*1 MAIN", "N4*TOWN*ST*12345", "DMG*D8*19800101*F", "REF*SY*123", "PER*IC*X",
            "NM1*PR*2*ACME*****PI*P1", "NM1*PR*2*OTHER*****PI*P2", "NM1*PR*2*BARE", "NM1*PR", "NM1*PRX*2*NO",
            "REF*2U*ID2U", "REF*EI*ID-EI", "REF*FY*IDFY", "REF*NF*IDNF", "REF*G2*PROV", "REF*2U", "REF*2U*",
            "REF", "N3", "N4", "ZZZ*1"]
USUAL = ["HL*2*1*22*0", "SBR*p *18*******CI", "NM1*IL*1*DOE*JANE****MI*M1", "N3*1 MAIN", "N4*TOWN*ST*12345",
         "DMG*D8*19800101*F", "NM1*PR*2*ACME*****PI*P1"]


def _claim(subscriber: Loop) -> OriginalClaim:
    return OriginalClaim(Envelope(), Loop("HEADER"), Loop("2000A"), subscriber, None, Loop("2300"))


def _answers(bodies: list[str]) -> tuple:
    """billed_to of a deferred 2000B of `bodies` (from its texts when it can) and of the same loop made,
    the texts' answer or None, and the made loop's tree."""
    index = ClaimIndex()
    deferred = _DeferredHL.of(index, bodies, 5, "~".join(bodies) + "~")
    texts = deferred.billed_to_texts()
    from_texts = billed_to(_claim(deferred))
    assert (type(deferred) is _DeferredHL) == (texts is not None)  # answered from its texts: not made
    made = _DeferredHL.of(index, bodies, 5, "~".join(bodies) + "~")
    made.items  # noqa: B018 - makes the segments, the loop becomes a plain Loop
    assert type(made) is Loop
    return from_texts, billed_to(_claim(made)), texts, tree(made)


def _same(a, b) -> bool:
    (ref_a, level_a), (ref_b, level_b) = a, b
    return (ref_a.ids, ref_a.name, level_a) == (ref_b.ids, ref_b.name, level_b)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(SEGMENTS), max_size=14))
def test_billed_to_from_texts_is_the_made_loops(picked):
    bodies = ["HL*2*1*22*0", *picked]
    from_texts, from_made, _, made_tree = _answers(bodies)
    assert _same(from_texts, from_made)
    assert made_tree == builder_places("2000B", _make_all(bodies, 5))


def test_the_usual_2000b_is_answered_from_its_texts():
    """The usual shape takes the text path (the test above would pass with every answer from the made
    loop), and the answer names the payer's NM109 and NM103 and SBR01 as code() reads it; the
    shapes around it answer from the made loop."""
    from_texts, from_made, texts, _ = _answers(USUAL)
    assert texts is not None
    assert _same(from_texts, from_made)
    ref, level = from_texts
    assert (ref.ids, ref.name, level) == (("P1",), "ACME", "P")
    assert _answers([USUAL[0], USUAL[1], USUAL[-1]])[2] is not None
    for odd in (["REF*2U*X"], ["N3*A"], ["DMG*D8*1"], ["NM1*PR*2*B"]):  # after the NM1*PR
        assert _answers(USUAL + odd)[2] is None
    for odd in (["NM1*PR*2*B"], ["NM1*PRX*2"]):  # before it
        assert _answers(USUAL[:2] + odd + USUAL[2:])[2] is None
    assert _answers([USUAL[0], "PAT*19", *USUAL[1:]])[2] is None  # SBR not first


def test_a_claim_of_the_index_defers_its_2000b(tmp_path):
    """ClaimIndex.claim gives each claim a deferred 2000B (a decision that asks only billed_to never
    makes it), and made it is the tree the eager path made (test_convert_fast compares the rest)."""
    from cobpipe.synth import generate_set

    made = generate_set(8, tmp_path, seed=3, patient_fraction=0.5)
    with ClaimIndex.build([made.claims]) as index:
        for number in range(len(index.claims) // 4):
            claim = index.claim(number)
            assert type(claim.subscriber) is _DeferredHL
            ref, level = billed_to(claim)
            assert type(claim.subscriber) is _DeferredHL
            index._loops.clear()
            again = index.claim(number)
            again.subscriber.items  # noqa: B018
            assert _same((ref, level), billed_to(again))
