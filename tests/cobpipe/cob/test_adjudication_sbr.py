"""The new 2320's SBR as other_payer_loop makes it (directly when SBR09 is there) against the way it was
first written: Segment.build of the original SBR's codes, then tidied when the original is."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from cobpipe.claim837.loops import Loop
from cobpipe.cob import adjudication
from cobpipe.cob.tidy import tidy_segment
from edi.segment import STANDARD, Segment

# element texts as an original claim may give them: empty, padded, lower case, ending with ":"
_TEXT = st.sampled_from(["", "P", "s", " t ", "18", "ZZG1", "G:", ":", "12", "mc", "CI ", "A:B"])


def reference_sbr(prior_sbr: Segment, relationship: str) -> Segment:
    level = adjudication.code(prior_sbr, 1)
    return Segment.build("SBR", level, relationship, prior_sbr.get(3), prior_sbr.get(4),
                         adjudication.code(prior_sbr, 5) if level != "P" else "", "", "", "",
                         adjudication.code(prior_sbr, 9))


@given(elements=st.lists(_TEXT, max_size=11), relationship=st.sampled_from(["18", "01", "19", "", "G8:"]),
       tidied=st.booleans())
def test_the_new_sbr_is_the_built_one(elements, relationship, tidied):
    """Fails when the direct make keeps a trailing empty element or drops SBR09 (checked: both)."""
    subscriber = Loop("2010BA", [Segment("NM1", ("IL", "1", "DOE"))])
    payer = Loop("2010BB", [Segment("NM1", ("PR", "2", "PLAN", "", "", "", "", "PI", "99901"))])
    remit = SimpleNamespace(adjustments=(), paid=Decimal("10.50"), patient_responsibility=Decimal("2.00"), moa=None,
                            has_lines=True, payer_claim_number="X1")
    original = SimpleNamespace(clm=Segment("CLM", ("C1", "10", "", "", "11:B:1", "Y", "A", "Y", "Y")))
    prior_sbr = Segment("SBR", tuple(elements))
    loop = adjudication.other_payer_loop(original, remit, prior_sbr, relationship, subscriber, payer,
                                         dt.date(2026, 3, 20), [], claim_level_eaf=False, tidied=tidied)
    expected = reference_sbr(prior_sbr, relationship)
    if tidied:
        expected = tidy_segment(expected)
    sbr = loop.items[0]
    assert (sbr.tag, sbr.elements, sbr.index, sbr.line) == (expected.tag, expected.elements, 0, 0)
    assert sbr.delimiters is STANDARD and type(sbr) is Segment
    assert loop.written[0].startswith(f"SBR*{'*'.join(expected.elements)}~")
