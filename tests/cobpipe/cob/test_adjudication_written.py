"""The new 2320's text as other_payer_loop makes it (the bodies of the SBR, claim CAS, AMT*D, AMT*EAF,
OI and REF*F8 made where those segments are made) against the way it was first written: every
segment of the loop, in document order, written by `_written_segments`."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from cobpipe.claim837.loops import Loop
from cobpipe.cob import adjudication
from cobpipe.cob.cas import Adjustment, CasDoesNotFit
from edi.segment import STANDARD, Delimiters, Segment

# texts as an original claim or an 835 may give them: empty, ending with ":", holding a delimiter
_TEXT = st.sampled_from(["", "Y", "P", "I", "W:", ":", "A*B", "N"])
_NUMBER = st.sampled_from(["", "ZZ1", "Z:", "A*1", ":", "7 "])
_ADJ = st.builds(Adjustment, st.sampled_from(["CO", "PR", "OA:"]), st.sampled_from(["45", "2", "A:"]),
                 st.decimals(min_value=-500, max_value=500, places=2), st.none())
_DELIMITERS = st.sampled_from([STANDARD, Delimiters("|", ":", "^", "~", "\n"), Delimiters("*", ">", "^", "~", "")])


def _loop(loop_id: str, *segments: Segment) -> Loop:
    return Loop(loop_id, list(segments))


@given(clm08=_TEXT, clm09=_TEXT, signatures=st.lists(st.one_of(st.none(), _TEXT), max_size=3), number=_NUMBER,
       adjustments=st.lists(_ADJ, max_size=3), claim_level_eaf=st.booleans(), has_lines=st.booleans(),
       moa=st.one_of(st.none(), _DELIMITERS), copied=_DELIMITERS, sbr=st.lists(_TEXT, max_size=10),
       payer_refs=st.lists(st.sampled_from(["2U", "G2", "FY", "F8"]), max_size=3), tidied=st.booleans())
def test_the_2320s_text_is_its_segments_written(clm08, clm09, signatures, number, adjustments, claim_level_eaf,
                                               has_lines, moa, copied, sbr, payer_refs, tidied):
    """`written` is (text, separators, count) as _written_segments gives it for all the loop's
    segments (None when one copied from the original or the MOA is in other delimiters), whatever
    OI04 the other 2320s give (none, empty, or an OI of too few elements), and with a CLP07 made
    directly or built and tidied. Fails when the REF*F8's body is left out, when the OI's
    separators are not counted, and when the MOA is taken as made here (checked: each)."""
    others = []
    for signature in signatures:  # the original's other 2320s: an OI with OI04, or one without an OI
        items = [Segment("SBR", ("S", "18"))]
        if signature is not None:
            items.append(Segment("OI", ("", "", "Y", signature)))
        others.append(_loop("2320", *items))
    subscriber = _loop("2010BA", Segment("NM1", ("IL", "1", "DOE"), delimiters=copied), Segment("N3", ("1 MAIN",)),
                       Segment("N4", ("CITY", "IN", "46201")), Segment("DMG", ("D8", "19700101")),
                       Segment("REF", ("SY", "123")))
    payer = _loop("2010BB", Segment("NM1", ("PR", "2", "PLAN", "", "", "", "", "PI", "99901")),
                  *(Segment("REF", (qualifier, "X1")) for qualifier in payer_refs))
    remit = SimpleNamespace(adjustments=adjustments, paid=Decimal("10.50"), patient_responsibility=Decimal("2.00"),
                            moa=None if moa is None else Segment("MOA", ("", "", "MA01"), delimiters=moa),
                            has_lines=has_lines, payer_claim_number=number)
    clm = ("C1", "10", "", "", "11:B:1", "Y", "A", clm08, clm09)
    original = SimpleNamespace(clm=Segment("CLM", clm[:9] if clm09 else clm[:8]))
    try:
        loop = adjudication.other_payer_loop(original, remit, Segment("SBR", tuple(sbr)), "18", subscriber, payer,
                                             dt.date(2026, 3, 20), others, claim_level_eaf=claim_level_eaf,
                                             tidied=tidied)
    except CasDoesNotFit:
        return
    assert loop.written == adjudication._written_segments(tuple(loop.all_segments()))
    assert (loop.written is None) == (copied is not STANDARD or (moa is not None and moa is not STANDARD))


@given(subscriber=st.lists(st.sampled_from(["NM1*IL*1*DOE", "N3*1 MAIN", "N3*", "N4*CITY*IN*46201", "N4",
                                            "REF*SY*123", "NM1*IL*1*A|B", "DMG*D8*19700101"]), max_size=6),
       payer=st.lists(st.sampled_from(["NM1*PR*2*PLAN*****PI*99901", "N3*BOX 1", "REF*2U*X1", "REF*G2*A|B"]),
                      max_size=4),
       tidied=st.booleans(), delimiters=st.sampled_from([STANDARD, Delimiters("|", ":", "^", "~", "\n")]))
def test_the_2330s_copied_from_indexed_segments_are_written_as_without_their_texts(subscriber, payer, tidied,
                                                                                     delimiters):
    """The 2330A's and 2330B's segments copied from the original (made by the claim index, each keeping
    its text: `Segment.text`) are written from their texts: the 837P text the writer makes of the
    2320 is the one it makes when the same segments have no text (joined again), values holding a
    separator and segments without elements included."""
    from cobpipe.claim837.index import _make_all
    from edi.writer import tree_text

    def made(kept: bool) -> str:
        def segments(bodies):
            found = _make_all(bodies, 1)
            return found if kept else [Segment(s.tag, s.elements, s.index, s.line, s.delimiters) for s in found]

        remit = SimpleNamespace(adjustments=[], paid=Decimal("10.50"), patient_responsibility=Decimal("2.00"),
                                moa=None, has_lines=True, payer_claim_number="ZZ1")
        original = SimpleNamespace(clm=Segment("CLM", ("C1", "10", "", "", "11:B:1", "Y", "A", "Y", "Y")))
        loop = adjudication.other_payer_loop(original, remit, Segment("SBR", ("P", "18", "G1", "", "", "", "", "",
                                                                              "CI")), "18",
                                             _loop("2010BA", *segments(subscriber)), _loop("2010BB", *segments(payer)),
                                             dt.date(2026, 3, 20), [], claim_level_eaf=True, tidied=tidied)
        try:
            return tree_text(Loop("2300", [loop]), delimiters)
        except ValueError as exc:  # a value holding an output separator: refused alike
            return f"refused: {exc}"

    assert made(True) == made(False)
