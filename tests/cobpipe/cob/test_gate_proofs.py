"""The proofs the builder leaves for the gate (gate_view.LINE_PROOFS), held to the walk they replace.

adjudicated_line registers each 2430 it makes with what gate_loops' walk would read of it (SVD01,
SVD02 and the CAS sum as money() reads their texts, the DTP*573 date, AMT*EAF); the gate uses an
entry instead of walking the loop. Here: every registered entry is exactly the walk's reading (the
same Decimal digits and exponent, so the gate's sums are bit for bit the same); and check_claim of
claims holding such 2430s, balanced or not, on any day, gives the rules' findings over the flattened
segments, with the proofs and without them, also after a built 2430 was edited (the proof must then
be passed over).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cobpipe.claim837.loops import Loop
from cobpipe.cob import adjudication, gate_view
from cobpipe.cob.cas import Adjustment
from cobpipe.cob.gate import ClaimView, check_claim, check_claim_rules
from cobpipe.cob.gate_loops import balanced_since
from edi.segment import Segment

DAYS = (dt.date(2026, 3, 19), dt.date(2026, 3, 20), dt.date(2026, 4, 2))
_AMOUNTS = st.one_of(st.decimals(min_value=-300, max_value=300, places=2),
                     st.decimals(min_value=0, max_value=300, places=0),
                     st.sampled_from([Decimal("0"), Decimal("0.00"), Decimal("1.50"), Decimal("1E+1"), Decimal("-2.5"),
                                      Decimal("100.00"), Decimal("99999999999999999999.99")]))
_ADJUSTMENTS = st.lists(st.builds(Adjustment, st.sampled_from(["CO", "PR", "OA", "PR:"]),
                                  st.sampled_from(["45", "2", "1", "A:"]), _AMOUNTS,
                                  st.one_of(st.none(), st.none(), st.none(), st.sampled_from([Decimal(1), Decimal("2.5")]))),
                        max_size=4)
_DTPS = [adjudication.dtp573(dt.date(2026, 3, 20)), adjudication.dtp573(dt.date(2026, 3, 1)),
         Segment("DTP", ("573", "D8", "2026")), Segment("DTP", ("472", "D8", "20260320")),
         Segment("DTP", ("573", "D8", "20260230"))]


def _line(paid, adjustments):
    return SimpleNamespace(paid=paid, paid_units=None, procedure=("HC", "99213"), adjustments=adjustments,
                           match=SimpleNamespace(ordinal=1, original_code="99213", code="99213"))


def walk_reading(loop: Loop):
    """What gate_loops' walk reads of a usual 2430, as gate_view.money and date_of read it."""
    svd, *rest = loop.items
    cas = gate_view.ZERO
    when, eaf = None, False
    for seg in rest:
        if seg.tag == "CAS":
            cas += gate_view.money(seg, 3)
        elif seg.tag == "DTP" and seg.elements[0] == "573":
            when = gate_view.date_of(seg.elements[2] if len(seg.elements) > 2 else "")
        elif seg.tag == "AMT" and seg.elements[0] == "EAF":
            eaf = True
    return svd.elements[0], str(gate_view.money(svd, 2)), str(cas), when, eaf


@settings(max_examples=400, deadline=None)
@given(_AMOUNTS, _ADJUSTMENTS, st.sampled_from(_DTPS), st.booleans(), st.sampled_from(["PAYP", "P:", "PAYX"]))
def test_a_registered_2430_is_what_the_walk_reads_of_it(paid, adjustments, dtp, eaf, payer):
    gate_view.LINE_PROOFS.clear()
    try:
        loop = adjudication.adjudicated_line(_line(paid, adjustments), payer, dtp, eaf, "")
    except ValueError:  # an amount the 837P cannot carry (refused alike either way: test_build_remembered)
        return
    kept = gate_view.LINE_PROOFS.get(id(loop))
    one_triplet = all(a.quantity is None for a in adjustments) and (
        len(adjustments) < 2 or (len(adjustments) == 2 and adjustments[0].group != adjustments[1].group))
    plain = all("E" not in str(a.amount) for a in adjustments)
    # registered exactly when its CAS are the usual one or two triplets and the walk reads a date
    assert (kept is not None) == (one_triplet and plain and any(dtp is d for d in _DTPS[:2]))
    if kept is None:
        return
    assert kept[0] is loop and kept[1] == loop.items
    assert (kept[2], str(kept[3]), str(kept[4]), kept[5], kept[6]) == walk_reading(loop)


@st.composite
def built_claims(draw):
    """A 2300 whose 2430s adjudicated_line made, the line charges, CLM02 and AMT*D balancing them
    or drawn off; sometimes a built 2430 edited afterwards."""
    payer = draw(st.sampled_from(["PAYP", "PAYP", "P:"]))
    svd_payer = payer if draw(st.integers(0, 9)) else "PAYX"
    dtp = draw(st.sampled_from(_DTPS[:2] * 4 + _DTPS[2:]))
    eaf = draw(st.booleans())
    lines, charges, paid_total = [], Decimal(0), Decimal(0)
    for number in range(1, draw(st.integers(1, 4)) + 1):
        adjudications = []
        charge = Decimal(0)
        for _ in range(draw(st.integers(0, 2))):
            paid = draw(_AMOUNTS)
            adjustments = draw(_ADJUSTMENTS)
            try:
                made = adjudication.adjudicated_line(_line(paid, adjustments), svd_payer, dtp, eaf, "")
            except ValueError:
                continue
            adjudications.append(made)
            charge += paid + sum((a.amount for a in adjustments), Decimal(0))
            paid_total += paid
        charge += draw(st.sampled_from([Decimal(0)] * 6 + [Decimal("0.01"), Decimal(-5)]))
        charges += charge
        lines.append(Loop("2400", [Segment("LX", (str(number),)), Segment("SV1", ("HC:99213", str(charge), "UN", "1"))],
                          adjudications))
    clm_charge = charges + draw(st.sampled_from([Decimal(0)] * 6 + [Decimal(1)]))
    paid_d = paid_total + draw(st.sampled_from([Decimal(0)] * 6 + [Decimal("-0.01")]))
    payer_loop = Loop("2320", [Segment("SBR", ("P", "18", "GRP1", "", "", "", "", "", "CI")),
                               Segment("AMT", ("D", str(paid_d))), Segment("OI", ("", "", "Y", "P", "", "Y"))],
                      [Loop("2330A", [Segment("NM1", ("IL", "1", "SAMPLE"))]),
                       Loop("2330B", [Segment("NM1", ("PR", "2", "PLAN", "", "", "", "", "PI", payer))])])
    claim = Loop("2300", [Segment("CLM", ("C1", str(clm_charge), "", "", "11:B:1", "Y", "A", "Y", "Y"))],
                 [payer_loop, *lines])
    built = [item for line in lines for item in line.items if isinstance(item, Loop)]
    if built and draw(st.integers(0, 3)) == 0:  # a built 2430 edited in place after the fact
        loop = draw(st.sampled_from(built))
        edit = draw(st.sampled_from(["replace", "append", "drop", "date"]))
        if edit == "replace" and len(loop.items) > 1:
            loop.items[1] = Segment("CAS", ("CO", "45", "7"))
        elif edit == "append":
            loop.items.append(Segment("CAS", ("PR", "1", "3")))
        elif edit == "drop" and len(loop.items) > 1:
            del loop.items[1]
        elif edit == "date":
            loop.items[:] = [Segment("DTP", ("573", "D8", "20270101")) if s.tag == "DTP" else s for s in loop.items]
    return claim


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(built_claims())
def test_a_claim_of_built_2430s_gets_the_rules_findings_with_or_without_proofs(claim):
    sbr = Segment("SBR", ("S", "18", "GRP9", "", "", "", "", "", "CI"))
    proofs = dict(gate_view.LINE_PROOFS)
    for today in DAYS:
        expected = check_claim_rules(ClaimView.scan(list(claim.iter_segments()), sbr), today=today)
        gate_view.LINE_PROOFS.update(proofs)
        assert check_claim(ClaimView.scan(claim, sbr), today=today) == expected
        gate_view.LINE_PROOFS.update(proofs)  # the gate takes out each entry it meets
        proven = balanced_since(claim, sbr)
        gate_view.LINE_PROOFS.clear()
        assert check_claim(ClaimView.scan(claim, sbr), today=today) == expected
        assert balanced_since(claim, sbr) == proven  # the walk's answer, whether or not a proof was used
    gate_view.LINE_PROOFS.update(proofs)


def test_adjudicated_line_registers_its_proof():
    """A built claim's 2430s are proven for the gate: were adjudicated_line to stop registering them,
    this fails instead of the gate going slow unseen."""
    gate_view.LINE_PROOFS.clear()
    adjustments = [Adjustment("CO", "45", Decimal("15.00")), Adjustment("PR", "2", Decimal("5"))]
    loop = adjudication.adjudicated_line(_line(Decimal("20.00"), adjustments), "PAYP", _DTPS[0], True, "")
    assert gate_view.LINE_PROOFS[id(loop)][2:] == ("PAYP", Decimal("20"), Decimal("20"), dt.date(2026, 3, 20), True)
    loop = adjudication.adjudicated_line(_line(Decimal("20.00"), []), "PAYP", _DTPS[0], False, "")
    assert gate_view.LINE_PROOFS[id(loop)][2:] == ("PAYP", Decimal("20"), Decimal("0"), dt.date(2026, 3, 20), False)
    # the gate takes the entry out as it uses it: the table holds no more than the claims not gated yet
    claim = Loop("2300", [Segment("CLM", ("C1", "20"))],
                 [Loop("2320", [Segment("SBR", ("P", "18")), Segment("AMT", ("D", "20"))],
                       [Loop("2330B", [Segment("NM1", ("PR", "2", "P", "", "", "", "", "PI", "PAYP"))])]),
                  Loop("2400", [Segment("LX", ("1",)), Segment("SV1", ("HC:1", "20"))], [loop])])
    assert balanced_since(claim, None) == dt.date(2026, 3, 20)
    assert id(loop) not in gate_view.LINE_PROOFS
