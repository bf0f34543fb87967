"""The gate proof's reading of the one 2320 (gate_loops._one_payer) held to what ClaimView.scan files
under that payer (Loop2320), on 2320 loops of any segments: it answers exactly when the scan finds
an NM1*PR, an AMT*D and no AMT*A8, and then reads the scan's SBR, first AMT*D, claim CAS, DTP*573s
(2330B), AMT*EAF and payer id."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cobpipe.claim837.loops import Loop
from cobpipe.cob.gate_loops import _one_payer
from cobpipe.cob.gate_view import ClaimView
from edi.segment import Segment

_OWN = st.sampled_from([("CAS", ("CO", "45", "5")), ("AMT", ("D", "10")), ("AMT", ("D", "12")), ("AMT", ("A8", "1")),
                        ("AMT", ("EAF", "2")), ("AMT", ()), ("OI", ("", "", "Y")), ("DTP", ("573", "D8", "20260320"))])
_INNER = st.sampled_from([("NM1", ("PR", "2", "P", "", "", "", "", "PI", "99901")), ("NM1", ("IL", "1", "DOE")),
                          ("NM1", ("PR", "2", "Q", "", "", "", "", "PI", "99902")), ("NM1", ()),
                          ("DTP", ("573", "D8", "20260320")), ("DTP", ("573", "D8", "20260321")), ("DTP", ("472",)),
                          ("DTP", ()), ("N3", ("1 MAIN",)), ("REF", ("F8", "X1"))])


def _segment(drawn) -> Segment:
    return Segment(drawn[0], drawn[1])


@given(st.lists(_OWN, max_size=5), st.lists(st.lists(_INNER, min_size=1, max_size=4), max_size=3))
def test_payer_read_is_what_the_scan_files(own, inner):
    """Fails if the first AMT*D, the last NM1*PR or the 2330B-only DTP*573 is read otherwise, or a
    2330x DTP skipped as a segment the scan files nowhere (checked)."""
    loop = Loop("2320", [Segment("SBR", ("P", "18", "G1")), *map(_segment, own)])
    for segments in inner:
        loop.items.append(Loop("2330B", list(map(_segment, segments))))
    payer = _one_payer(loop)
    view = ClaimView.scan([Segment("CLM", ("C1", "10")), *loop.iter_segments()])
    (scanned,) = view.other_payers
    adjudicated = scanned.payer_nm1 is not None and "D" in scanned.amounts and not scanned.amounts.get("A8")
    assert (payer is not None) == adjudicated
    if payer is None:
        return
    sbr, paid, cas, dated, eaf, payer_id = payer
    assert sbr is scanned.sbr
    assert paid is scanned.amounts["D"][0]
    assert cas == scanned.cas
    assert dated == scanned.dtp573
    assert eaf == bool(scanned.amounts.get("EAF"))
    assert payer_id == scanned.payer_id
