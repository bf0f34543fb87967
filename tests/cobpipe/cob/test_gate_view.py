"""ClaimView.scan (cob/gate_view.py) finds what the scan before it found, for segments in any order:
the reference below is that scan, as it was, line for line."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cobpipe.cob.gate import ClaimView, Loop2320, Loop2400, Loop2430
from edi.segment import Segment


def reference_scan(claim_segments, subscriber_sbr=None):
    clm = None
    payers, lines = [], []
    payer = None
    in_2330b = False
    line = None
    adjudication = None
    for seg in claim_segments:
        tag = seg.tag
        if tag == "CLM":
            clm = seg
        elif tag == "LX":
            line, adjudication, payer = Loop2400(seg), None, None
            lines.append(line)
        elif line is not None:
            if tag == "SV1":
                line.sv1 = seg
            elif tag == "SVD":
                adjudication = Loop2430(seg)
                line.adjudications.append(adjudication)
            elif adjudication is not None:
                if tag == "CAS":
                    adjudication.cas.append(seg)
                elif tag == "DTP" and seg.get(1) == "573":
                    adjudication.dtp573.append(seg)
                elif tag == "AMT" and seg.get(1) == "EAF":
                    adjudication.eaf.append(seg)
                elif tag in ("LQ", "FRM"):
                    adjudication = None
        elif tag == "SBR":
            payer, in_2330b = Loop2320(seg), False
            payers.append(payer)
        elif payer is not None:
            if tag == "NM1":
                in_2330b = seg.get(1) == "PR"
                if in_2330b:
                    payer.payer_nm1 = seg
            elif in_2330b and tag == "DTP" and seg.get(1) == "573":
                payer.dtp573.append(seg)
            elif tag == "CAS" and payer.payer_nm1 is None:
                payer.cas.append(seg)
            elif tag == "AMT" and payer.payer_nm1 is None:
                payer.amounts.setdefault(seg.get(1), []).append(seg)
    if clm is None:
        raise ValueError("claim segments contain no CLM")
    return ClaimView(clm, subscriber_sbr, payers, lines)


def shape(view: ClaimView):
    """The view by the identity of each segment it holds (Segment equality could hide a swap)."""
    ids = lambda segs: [id(s) for s in segs]  # noqa: E731
    return (id(view.clm), id(view.subscriber_sbr),
            [(id(p.sbr), ids(p.cas), {k: ids(v) for k, v in p.amounts.items()}, id(p.payer_nm1), ids(p.dtp573))
             for p in view.other_payers],
            [(id(l.lx), id(l.sv1), [(id(a.svd), ids(a.cas), ids(a.dtp573), ids(a.eaf)) for a in l.adjudications])
             for l in view.lines])


TEXTS = ["CLM*C1*100", "LX*1", "SV1*HC:99213*100", "SVD*P1*80", "CAS*CO*45*20", "DTP*573*D8*20260301",
         "DTP*472*D8*20260301", "AMT*EAF*5", "AMT*D*80", "AMT*A8*0", "LQ*HE*N1", "FRM*1*Y", "SBR*P*18",
         "NM1*PR*2*PAYER", "NM1*IL*1*X", "REF*F8*1", "DTP", "AMT", "NM1", "HI*ABK:R51", "K3*X"]
segments = st.lists(st.sampled_from(TEXTS).map(lambda t: Segment(t.split("*")[0], tuple(t.split("*")[1:]))),
                    max_size=40)


@settings(max_examples=500, deadline=None)
@given(segments, st.booleans())
def test_the_scan_finds_what_the_reference_finds(segs, with_sbr):
    sbr = Segment("SBR", ("S", "18")) if with_sbr else None
    try:
        expected = shape(reference_scan(segs, sbr))
    except ValueError:
        try:
            ClaimView.scan(segs, sbr)
        except ValueError:
            return
        raise AssertionError("the scan read a claim with no CLM")
    assert shape(ClaimView.scan(segs, sbr)) == expected


def test_a_clm_after_the_lines_is_the_claims_clm():
    segs = [Segment("CLM", ("A",)), Segment("LX", ("1",)), Segment("SVD", ("P1", "1")), Segment("CLM", ("B",))]
    assert ClaimView.scan(segs).clm is segs[3]
