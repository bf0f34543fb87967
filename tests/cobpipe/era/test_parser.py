"""The streaming 835 parser on small inline cases: API contract, envelope handling, bad input as findings."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal as D
from pathlib import Path

import pytest

from cobpipe.era import (BalanceFinding, RemittanceReader, parse_remittance_text, parse_remittances,
                         read_remittances)
from edi.errors import EdiError, EdiSyntaxError, UnsupportedTransactionError
from edi.findings import Severity

from conftest import era, interchange, transaction

PAID_CLAIM = """
    CLP*C1*1*100*80*0*12*PCN1
    SVC*HC:99213*100*80**1
    CAS*CO*45*20
"""


def only(text: str):
    (remit,) = parse_remittance_text(text, "t.835")
    return remit


def codes(findings) -> Counter:
    return Counter(f.code for f in findings)


# --- API contract ------------------------------------------------------------------------------


def test_header_is_ready_before_the_first_claim_and_totals_after_the_last(tmp_path: Path):
    path = tmp_path / "era.835"
    path.write_text(era(PAID_CLAIM + PAID_CLAIM.replace("C1", "C2"), amount="160"))
    reader = read_remittances(path)
    (remit,) = [r for r in _stream_check(reader)]
    assert remit.totals.complete and remit.totals.claim_count == 2
    assert remit.findings == [] and reader.findings == []


def _stream_check(reader: RemittanceReader):
    for remit in reader:
        assert remit.header.payment.amount == D("160")
        assert not remit.totals.complete
        seen = []
        for claim in remit.claims():
            seen.append(claim.claim_id)
            assert claim.lines and claim.lines[0].cas  # each claim arrives with its lines
            assert not remit.totals.complete
        assert seen == ["C1", "C2"]
        assert remit.totals.complete
        yield remit


def test_streamed_claims_can_be_read_once(tmp_path: Path):
    path = tmp_path / "era.835"
    path.write_text(era(PAID_CLAIM, amount="80"))
    for remit in read_remittances(path):
        list(remit.claims())
        with pytest.raises(RuntimeError):
            remit.claims()


def test_kept_claims_can_be_read_again(tmp_path: Path):
    path = tmp_path / "era.835"
    path.write_text(era(PAID_CLAIM, amount="80"))
    (remit,) = parse_remittances(path)
    assert [c.claim_id for c in remit.claims()] == [c.claim_id for c in remit.claims()] == ["C1"]


def test_unread_claims_still_count_for_totals_and_the_t_rule():
    text = interchange(transaction(PAID_CLAIM, amount="999", control="0001"),
                       transaction(PAID_CLAIM, amount="80", control="0002"))
    remits = []
    for remit in RemittanceReader.from_text(text):
        remits.append(remit)  # the caller never reads claims()
    first, second = remits
    assert first.totals.complete and first.totals.paid_total == D("80")
    assert [f.code for f in first.findings] == ["ERA103"]
    assert second.findings == []


def test_several_transaction_sets_and_interchanges():
    text = (interchange(transaction(PAID_CLAIM, amount="80", control="0001"),
                        transaction(PAID_CLAIM, amount="80", control="0002"), control=101)
            + interchange(transaction(PAID_CLAIM, amount="80", control="0003"), control=102))
    remits = parse_remittance_text(text)
    assert [r.header.control_number for r in remits] == ["0001", "0002", "0003"]
    assert [r.header.envelope.interchange_control_number for r in remits] == ["000000101"] * 2 + ["000000102"]
    assert [r.number for r in remits] == [1, 2, 3]
    assert all(not r.findings for r in remits)


def test_header_fields():
    lines = ["ST*835*0001*005010X221A1", "BPR*I*80*C*CHK************20260105", "TRN*1*CHK12345*1512345678*SUPP",
             "CUR*PR*CAD", "REF*EV*RECEIVER1", "REF*F2*VER2", "DTM*405*20260104",
             "N1*PR*SYNTHETIC HEALTH PLAN*XV*SYN01", "N3*1 TEST WAY*SUITE 2", "N4*TESTVILLE*MN*55401",
             "REF*2U*PAYERID2U", "REF*NF*NAIC1", "PER*CX*CLAIMS*TE*8005550100*EM*claims@example.invalid",
             "PER*BL*EDI*TE*8005550101", "N1*PE*EXAMPLE CLINIC*XX*1234567893", "N3*2 MAIN ST",
             "N4*TESTVILLE*MN*55402", "REF*TJ*999999999", "REF*PQ*PQ1", "LX*1", "CLP*C1*1*80*80*0*12*PCN1"]
    lines.append(f"SE*{len(lines) + 1}*0001")
    remit = only(interchange(lines))
    h = remit.header
    assert (h.payment.handling, h.payment.amount, h.payment.credit_debit, h.payment.method) == ("I", D("80"), "C",
                                                                                                "CHK")
    assert h.payment.date == dt.date(2026, 1, 5)
    assert (h.trace.type, h.trace.number, h.trace.payer_id, h.trace.supplemental) == ("1", "CHK12345",
                                                                                      "1512345678", "SUPP")
    assert (h.currency, h.receiver_id, h.version_id, h.production_date) == ("CAD", "RECEIVER1", "VER2",
                                                                            dt.date(2026, 1, 4))
    assert (h.payer.name, h.payer.id_qualifier, h.payer.id) == ("SYNTHETIC HEALTH PLAN", "XV", "SYN01")
    assert h.payer.address.lines == ("1 TEST WAY", "SUITE 2") and h.payer.address.postal_code == "55401"
    assert h.payer.refs == {"2U": ["PAYERID2U"], "NF": ["NAIC1"]}
    assert [c.function for c in h.payer.contacts] == ["CX", "BL"]
    assert h.payer.contacts[0].number("EM") == "claims@example.invalid"
    assert (h.payee.name, h.payee.id_qualifier, h.payee.id) == ("EXAMPLE CLINIC", "XX", "1234567893")
    assert h.payee.refs == {"TJ": ["999999999"], "PQ": ["PQ1"]} and h.payee.address.city == "TESTVILLE"
    assert (h.envelope.interchange_sender, h.envelope.interchange_receiver) == ("PAYERSYNTH", "PROVSYNTH")
    assert (h.envelope.group_sender, h.envelope.group_receiver, h.envelope.version) == (
        "PAYERSYNTH", "PROVSYNTH", "005010X221A1")
    assert h.control_number == "0001" and remit.findings == []


def test_claim_fields_parties_and_references():
    remit = only(era("""
        CLP*C1*2*500*300*50*MB*PCN1*13*7*01*470*1.2345*0.5*Y
        CAS*OA*23*100
        CAS*PR*1*50
        NM1*QC*1*DOE*JANE*Q**JR*MI*SYN0000001
        NM1*IL*1*DOE*JOHN****MI*SYN0000002
        NM1*74*1*DOE*JANE
        NM1*82*1*RIVERA*DANA****XX*1245319599
        NM1*TT*2*NEXT PLAN*****PI*NEXT1
        NM1*PR*2*PRIORITY PLAN*****PI*PRIO1
        NM1*GB*1*OTHER*SUB****MI*SYN0000003
        MIA*3*100.5**250*MA01****************MA02*MA03
        MOA*0.8*12.5*MA01*MA18*N1**N2*3.5*4.5
        DTM*050*20260102
        DTM*232*20251201
        DTM*233*20251203
        DTM*036*20261231
        REF*1L*GROUP1
        REF*F8*ORIGINAL1
        REF*CE*CLASS A
        REF*CE*CLASS B
        AMT*AU*400
        AMT*I*1.25
        QTY*CA*3
        PER*CX*CLAIMS*TE*8005550100
    """, amount="300"))
    (claim,) = remit.claims()
    assert (claim.claim_id, claim.status, claim.charge, claim.paid, claim.patient_responsibility) == (
        "C1", "2", D("500"), D("300"), D("50"))
    assert (claim.filing_indicator, claim.payer_claim_number, claim.facility_code, claim.frequency) == (
        "MB", "PCN1", "13", "7")
    assert (claim.patient_status, claim.drg, claim.drg_weight, claim.discharge_fraction, claim.yes_no) == (
        "01", "470", D("1.2345"), D("0.5"), "Y")
    assert [c.group for c in claim.cas] == ["OA", "PR"]
    assert claim.patient.name == "DOE, JANE Q JR" and claim.patient.id == "SYN0000001"
    assert claim.insured.id == "SYN0000002" and claim.corrected_insured.first_name == "JANE"
    assert claim.rendering_provider.id == "1245319599"
    assert claim.crossover_carrier.name == "NEXT PLAN" and claim.crossover_carrier.id == "NEXT1"
    assert claim.corrected_payer.id == "PRIO1" and claim.other_subscriber.id == "SYN0000003"
    assert claim.mia.covered_days == D("3") and claim.mia.pps_operating_outlier == D("100.5")
    assert claim.mia.drg_amount == D("250") and claim.mia.remarks == ("MA01", "MA02", "MA03")
    assert claim.moa.reimbursement_rate == D("0.8") and claim.moa.payable_amount == D("12.5")
    assert claim.moa.remarks == ("MA01", "MA18", "N1", "N2")
    assert (claim.moa.esrd_amount, claim.moa.nonpayable_professional) == (D("3.5"), D("4.5"))
    assert claim.received == dt.date(2026, 1, 2)
    assert (claim.statement_from, claim.statement_to) == (dt.date(2025, 12, 1), dt.date(2025, 12, 3))
    assert claim.dates["036"] == dt.date(2026, 12, 31)
    assert claim.refs["CE"] == ["CLASS A", "CLASS B"] and claim.ref("F8") == "ORIGINAL1"
    assert claim.amounts == {"AU": D("400"), "I": D("1.25")} and claim.quantities == {"CA": D("3")}
    assert claim.contacts[0].function == "CX"
    assert claim.lx == "1" and claim.segment == 11  # ISA GS ST BPR TRN REF DTM N1 N1 LX CLP
    # C: 500 − (100 + 50) = 350, CLP04 says 300
    assert [f.code for f in claim.findings] == ["ERA102"]


def test_service_line_fields():
    remit = only(era("""
        CLP*C1*1*300*150*0*12*PCN1
        SVC*HC:99214:25:59:XS:GT:OFFICE VISIT*200*100*0510*2*HC:99215:25*3
        DTM*150*20251201
        DTM*151*20251203
        CAS*CO*45*60*1*97*40
        REF*6R*LINE-1
        REF*LU*11
        REF*0K*POLICY
        AMT*B6*140
        AMT*KH*5
        QTY*ZK*2
        LQ*HE*N130
        LQ*RX*70
        SVC*NU:0450*100*50
        DTM*472*20251202
        CAS*CO*45*50
    """, amount="150"))
    (claim,) = remit.claims()
    first, second = claim.lines
    p = first.procedure
    assert (p.qualifier, p.code, p.modifiers, p.description) == ("HC", "99214", ("25", "59", "XS", "GT"),
                                                                 "OFFICE VISIT")
    assert (first.charge, first.paid, first.revenue_code, first.units) == (D("200"), D("100"), "0510", D("2"))
    assert (first.original_procedure.code, first.original_procedure.modifiers, first.original_units) == (
        "99215", ("25",), D("3"))
    assert first.billed_procedure.code == "99215" and first.billed_units == D("3")
    assert first.service_date == dt.date(2025, 12, 1) and first.service_end == dt.date(2025, 12, 3)
    assert [(a.group, a.reason, a.amount, a.quantity, a.triplet) for a in first.adjustments] == [
        ("CO", "45", D("60"), D("1"), 1), ("CO", "97", D("40"), None, 2)]
    assert first.ref_6r == "LINE-1" and first.refs["LU"] == ["11"] and first.ref("0K") == "POLICY"
    assert first.allowed == D("140") and first.amounts["KH"] == D("5") and first.quantities == {"ZK": D("2")}
    assert [(r.code, r.source) for r in first.remarks] == [("N130", "LQ*HE"), ("70", "LQ*RX")]
    assert second.units is None and second.effective_units == D("1") and second.billed_units == D("1")
    assert second.billed_procedure.code == "0450" and second.service_date == dt.date(2025, 12, 2)
    assert [l.ordinal for l in claim.lines] == [1, 2]
    assert claim.remark_codes == ("N130", "70")
    assert remit.findings == []


# --- errors and robustness -----------------------------------------------------------------------


def test_non_835_raises_unless_skipping_is_asked_for():
    text = interchange(transaction("", code="837", control="0001", header=False),
                       transaction(PAID_CLAIM, amount="80", control="0002"))
    with pytest.raises(UnsupportedTransactionError) as info:
        parse_remittance_text(text, "mixed.x12")
    assert info.value.segment == 3 and "837" in str(info.value)
    remits = list(reader := RemittanceReader.from_text(text, "mixed.x12", require_835=False))
    assert [r.header.control_number for r in remits] == ["0002"]
    assert [f.code for f in reader.findings] == ["ERA001"]


@pytest.mark.parametrize("content", ["", "hello world\n", "\x00\x01\x02binary"])
def test_not_x12_raises_edi_syntax_error(tmp_path: Path, content):
    path = tmp_path / "bad.835"
    path.write_text(content)
    with pytest.raises(EdiSyntaxError):
        list(read_remittances(path))


def test_missing_file_raises_edi_error(tmp_path: Path):
    with pytest.raises(EdiError) as info:
        read_remittances(tmp_path / "absent.835")
    assert info.value.path.endswith("absent.835")


def test_envelope_without_a_transaction_set_raises():
    with pytest.raises(EdiSyntaxError):
        parse_remittance_text(interchange())


def test_bad_amounts_and_dates_are_findings_not_crashes():
    remit = only(era("""
        CLP*C1*1*1O0*80*0*12*PCN1
        DTM*050*20260230
        SVC*HC:99213*100*8,0**1
        DTM*472*2025120
        CAS*CO*45*2O
    """, amount="80"))
    (claim,) = remit.claims()
    assert claim.charge is None and claim.received is None
    line = claim.lines[0]
    assert line.paid is None and line.service_date is None and line.cas == []
    assert codes(remit.findings) == Counter({"ERA003": 3, "ERA004": 2})
    assert all(f.location.claim == "C1" for f in remit.findings)
    assert codes(claim.findings) == codes(remit.findings)
    assert codes(line.findings) == Counter({"ERA003": 2, "ERA004": 1})
    assert all("line 1" in f.message for f in line.findings)


def test_cas_structure_findings():
    remit = only(era("""
        CLP*C1*1*100*0*0*12*PCN1
        CAS*CO*1*1*0*2*1*0*3*1*0*4*1*0*5*1*0*6*1*0*7*1
        CAS*PR*1
        CAS*CR*45*3
        CAS*ZZ**4
        CAS*OA
        CAS*PI*96*88
    """, amount="0"))
    (claim,) = remit.claims()
    # 7 triplets of 1 (ERA009, all read), PR-1 without amount (ERA009), CR (ERA010, read),
    # ZZ (ERA010) amount without reason (ERA009), OA with nothing (ERA009)
    # C: 100 − (7 + 3 + 88) = 2 but CLP04 is 0: ERA102 too
    assert codes(remit.findings) == Counter({"ERA009": 4, "ERA010": 2, "ERA102": 1})
    assert sum(a.amount for a in claim.adjustments) == D("98")
    assert [f.code for f in claim.findings if f.code.startswith("ERA1")] == ["ERA102"]


def test_segments_out_of_place():
    remit = only(era("""
        CLP*C1*1*100*80*0*12*PCN1
        XYZ*1
        SVC*HC:99213*100*80**1
        CAS*CO*45*20
        NM1*QC*1*DOE*JANE****MI*SYN0000001
        N3*ADDRESS LINE
        LQ*HE*N1
    """, amount="80"))
    (claim,) = remit.claims()
    assert codes(remit.findings) == Counter({"ERA008": 3})
    assert claim.patient is not None  # an NM1 after the SVC is read at claim level, with a warning
    assert claim.lines[0].remark_codes == ("N1",)
    # no PHI in any message
    assert not any("DOE" in f.message or "JANE" in f.message or "ADDRESS" in f.message for f in remit.findings)


def test_missing_table_1_segments():
    lines = ["ST*835*0001*005010X221A1", "LX*1", "CLP*C1*1*100*100*0*12*PCN1", "SE*4*0001"]
    remit = only(interchange(lines))
    assert codes(remit.findings) == Counter({"ERA011": 4})
    assert remit.totals.claim_count == 1  # no BPR: no T rule to check


def test_debit_payment_balances_a_negative_total():
    # reversal of 50 with nothing else: ΣCLP04 = −50, BPR03 D: BPR02 50 taken as −50
    remit = only(era("""
        CLP*C1*22*-60*-50*0*12*PCN1
        CAS*CO*45*-10
    """, amount="50", cd="D"))
    assert remit.header.payment.signed_amount == D("-50")
    assert remit.findings == []


def test_unknown_credit_debit_and_status_codes():
    remit = only(era("""
        CLP*C1*99*100*100*0*12*PCN1
    """, amount="100", cd="X"))
    assert codes(remit.findings) == Counter({"ERA013": 1, "ERA012": 1})


def test_foreign_separator_in_svc06_and_plb():
    remit = only(era("""
        CLP*C1*1*100*80*0*12*PCN1
        SVC*HC:99213*100*80**1*HC>99214>25
        CAS*CO*45*20
        PLB*1234567893*20261231*L6>INT1*-5
    """, amount="85"))
    (claim,) = remit.claims()
    assert claim.lines[0].original_procedure.code == "99214"
    assert claim.lines[0].original_procedure.modifiers == ("25",)
    assert remit.plbs[0].adjustments[0].reason == "L6" and remit.plbs[0].adjustments[0].reference == "INT1"
    assert codes(remit.findings) == Counter({"ERA006": 1})  # reported once per transaction set


def test_plb_problems_are_findings():
    remit = only(era("""
        CLP*C1*1*100*100*0*12*PCN1
        PLB**2026123*WO:1*
        PLB*1234567893*20261231**5*FB:2*X
    """, amount="100"))
    assert codes(remit.findings) == Counter({"ERA005": 3, "ERA004": 1, "ERA003": 1})
    assert remit.totals.plb_total == D("0")


def test_balance_findings_carry_both_values_and_a_location():
    remit = only(era("""
        CLP*C1*1*100*70*10*12*PCN1
        SVC*HC:99213*100*75**1
        CAS*CO*45*20
        REF*6R*L-1
    """, amount="60"))
    (claim,) = remit.claims()
    s, c, clp05 = claim.findings
    t = remit.findings[-1]
    assert [f.code for f in (s, c, clp05, t)] == ["ERA101", "ERA102", "ERA105", "ERA103"]
    assert all(isinstance(f, BalanceFinding) for f in (s, c, clp05, t))
    assert (s.stated, s.computed, s.rule) == (D("75"), D("80"), "S")
    assert s.message == "line 1 (REF*6R L-1) does not balance: SVC03 stated 75.00, computed 80.00 " \
                        "(SVC02 100.00 − CAS 20.00)"
    assert (s.location.segment, s.location.loop, s.location.element, s.location.claim) == (12, "2110", "SVC03", "C1")
    assert (c.stated, c.computed) == (D("70"), D("80"))
    assert (clp05.stated, clp05.computed, clp05.severity) == (D("10"), D("0"), Severity.WARNING)
    assert (t.stated, t.computed, t.location.tag) == (D("60"), D("70"), "BPR")
    assert claim.lines[0].findings == [s]
    assert s.to_dict()["stated"] == "75.00" and s.to_dict()["computed"] == "80.00"


def test_phi_stays_out_of_repr():
    remit = only(era("""
        CLP*C1*1*100*100*0*12*PCN1
        NM1*QC*1*SECRETNAME*HIDDEN****MI*MEMBER999
    """, amount="100"))
    (claim,) = remit.claims()
    text = repr(claim)
    assert "SECRETNAME" not in text and "HIDDEN" not in text and "MEMBER999" not in text
