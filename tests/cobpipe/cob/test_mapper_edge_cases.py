"""Mapper edge cases found in an audit: each test is one realistic input pair and what the guide
(005010X222A1) or cob-spec.md wants of the secondary claim."""
from __future__ import annotations

from cobpipe.cob.gate import ClaimView, check_claim

from cob_probe_support import BILLING, OPTIONS, SECONDARY_2320, SELF_SUBSCRIBER, convert, original, remittance

ONE_LINE = """
LX*1
SV1*HC:99213*100*UN*1***1
DTP*472*D8*20260304
REF*6R*{cid}-1
"""

PAID_60 = """
CLP*{cid}*1*100*60*20*12*ACME{cid}
NM1*QC*1*FERNSPINDLE*PIPPA****MI*PRM0330001
SVC*HC:99213*100*60**1
DTM*472*20260304
CAS*CO*45*20
CAS*PR*3*20
REF*6R*{cid}-1
"""


def one_line_claim(cid: str, other_payers: str = SECONDARY_2320, clm_tail: str = "") -> str:
    return original(BILLING + SELF_SUBSCRIBER + f"CLM*{cid}*100***11:B:1*Y*A*Y*Y{clm_tail}\nHI*ABK:J029\n"
                    + other_payers + ONE_LINE.format(cid=cid))


def test_primary_claim_listing_secondary_and_tertiary_keeps_the_tertiary_2320(tmp_path):
    tertiary = """
    SBR*T*18*NWG0300******CI
    OI***Y*P**Y
    NM1*IL*1*FERNSPINDLE*PIPPA****MI*NWM0330003
    NM1*PR*2*NORTHWIND MUTUAL*****PI*33333
    """
    outcome = convert(tmp_path, one_line_claim("TERLIST01", SECONDARY_2320 + tertiary),
                      remittance(PAID_60.format(cid="TERLIST01"), "60"))
    assert outcome.status == "converted", outcome.reasons
    levels = [loop.first.get(1) for loop in outcome.claim.other_payers]
    assert levels == ["P", "T"]  # the tertiary has not adjudicated: listed, no AMT*D
    assert "SBR*S*18*BSG0300******CI" in outcome.segments


def test_gate_still_wants_amt_d_from_an_earlier_payer():
    from edi.segment import Segment

    text = ["SBR*T*18*G3******CI", "CLM*X1*10***11:B:1*Y*A*Y*Y", "SBR*P*18*G1******CI", "OI***Y*P**Y",
            "NM1*IL*1*A*B****MI*M1", "NM1*PR*2*P1*****PI*11111", "SBR*S*18*G2******CI", "AMT*D*0",
            "OI***Y*P**Y", "NM1*IL*1*A*B****MI*M2", "NM1*PR*2*P2*****PI*22222", "DTP*573*D8*20260301",
            "LX*1", "SV1*HC:99213*10*UN*1***1"]
    segments = [Segment(raw.split("*")[0], tuple(raw.split("*")[1:]), index=n) for n, raw in enumerate(text, 1)]
    codes = [f.code for f in check_claim(ClaimView.scan(segments[1:], segments[0]), today=OPTIONS.as_of)]
    assert "COB012" in codes  # the primary (before the tertiary destination) did adjudicate


def test_fraction_of_a_cent_in_the_835_is_rejected_not_copied(tmp_path):
    era = """
    CLP*MILS01*1*100*59.995*20.005*12*ACMEMILS01
    NM1*QC*1*FERNSPINDLE*PIPPA****MI*PRM0330001
    SVC*HC:99213*100*59.995**1
    DTM*472*20260304
    CAS*CO*45*20
    CAS*PR*3*20.005
    REF*6R*MILS01-1
    """
    outcome = convert(tmp_path, one_line_claim("MILS01"), remittance(era, "59.995"))
    assert outcome.status == "rejected"
    assert "whole cents" in outcome.reasons and "59.995" in outcome.reasons
    assert outcome.text == ""


def test_trailing_zeros_after_the_cents_are_still_whole_cents(tmp_path):
    era = PAID_60.format(cid="ZEROS01").replace("*60*20*12*", "*60.000*20.00*12*").replace("CAS*PR*3*20",
                                                                                         "CAS*PR*3*20.000")
    outcome = convert(tmp_path, one_line_claim("ZEROS01"), remittance(era, "60"))
    assert outcome.status == "converted", outcome.reasons
    assert "AMT*D*60" in outcome.segments and "CAS*PR*3*20" in outcome.segments


def test_trailing_separators_in_the_original_do_not_reach_the_secondary_claim(tmp_path):
    claims = original(BILLING + SELF_SUBSCRIBER.replace("******CI", "******CI*").replace("PRM0330001",
                                                                                       "PRM0330001**")
                      + "CLM*TRAIL01*100***11:B:1:*Y*A*Y*Y*\nHI*ABK:J029*\n" + SECONDARY_2320
                      + ONE_LINE.format(cid="TRAIL01").replace("SV1*HC:99213*100*UN*1***1",
                                                                "SV1*HC:99213:*100*UN*1***1*"),
                      terminator="~\r\n")
    outcome = convert(tmp_path, claims, remittance(PAID_60.format(cid="TRAIL01"), "60"))
    assert outcome.status == "converted", outcome.reasons
    for expected in ("CLM*TRAIL01*100***11:B:1*Y*A*Y*Y", "HI*ABK:J029", "SBR*P*18*ACG0300******CI",
                     "NM1*IL*1*FERNSPINDLE*PIPPA****MI*PRM0330001", "SV1*HC:99213*100*UN*1***1"):
        assert expected in outcome.segments
    assert not [s for s in outcome.segments[1:] if s.endswith(("*", ":"))]  # ISA16 is ":"


TWO_LINES = """
LX*1
SV1*HC:99213*100*UN*1***1
DTP*472*D8*20260304
LX*2
SV1*HC:36415*18*UN*1***1
DTP*472*D8*20260304
"""


def two_line_claim(cid: str) -> str:
    return original(BILLING + SELF_SUBSCRIBER + f"CLM*{cid}*118***11:B:1*Y*A*Y*Y\nHI*ABK:J029\n"
                    + SECONDARY_2320 + TWO_LINES)


def test_bundled_line_names_the_line_it_went_into_in_svd06(tmp_path):
    era = """
    CLP*BUNDLE01*1*118*60*20*12*ACMEBUNDLE01
    NM1*QC*1*FERNSPINDLE*PIPPA****MI*PRM0330001
    SVC*HC:99213*100*60**1
    DTM*472*20260304
    CAS*CO*45*20
    CAS*PR*3*20
    SVC*HC:99213*18*0**1*HC:36415
    DTM*472*20260304
    CAS*CO*97*18
    """
    outcome = convert(tmp_path, two_line_claim("BUNDLE01"), remittance(era, "60"))
    assert outcome.status == "converted", outcome.reasons
    assert "SVD*11111*60*HC:99213**1" in outcome.segments  # the line it went into: no SVD06
    assert "SVD*11111*0*HC:99213**1*1" in outcome.segments  # 36415, bundled into LX 1


def test_unbundled_line_gets_no_svd06(tmp_path):
    era = """
    CLP*UNBUNDLE01*1*118*60*20*12*ACMEUNBUNDLE01
    NM1*QC*1*FERNSPINDLE*PIPPA****MI*PRM0330001
    SVC*HC:99212*60*40**1*HC:99213
    DTM*472*20260304
    CAS*CO*45*10
    CAS*PR*3*10
    SVC*HC:36415*40*10**1*HC:99213
    DTM*472*20260304
    CAS*CO*45*20
    CAS*PR*3*10
    SVC*HC:36415*18*10**1
    DTM*472*20260304
    CAS*CO*45*8
    """
    outcome = convert(tmp_path, two_line_claim("UNBUNDLE01"), remittance(era, "60"))
    assert outcome.status == "converted", outcome.reasons
    svds = [s for s in outcome.segments if s.startswith("SVD")]
    assert svds == ["SVD*11111*40*HC:99212**1", "SVD*11111*10*HC:36415**1", "SVD*11111*10*HC:36415**1"]


def test_eft_dated_after_the_835_was_produced_uses_the_production_date(tmp_path):
    # the ERA (DTM*405 2026-03-30) arrives before its EFT settles (BPR16 2026-04-03, after "today")
    era = remittance(PAID_60.format(cid="EARLYERA01"), "60", payment_date="20260403", production_date="20260330")
    outcome = convert(tmp_path, one_line_claim("EARLYERA01"), era)
    assert outcome.status == "converted", outcome.reasons
    assert "DTP*573*D8*20260330" in outcome.segments


def test_eft_date_after_the_production_date_stays_the_adjudication_date_once_past(tmp_path):
    # the usual 835: produced 2026-03-16, EFT on 2026-03-18; both before "today" (2026-04-01)
    era = remittance(PAID_60.format(cid="LATEEFT01"), "60", payment_date="20260318", production_date="20260316")
    outcome = convert(tmp_path, one_line_claim("LATEEFT01"), era)
    assert outcome.status == "converted", outcome.reasons
    assert "DTP*573*D8*20260318" in outcome.segments and "DTP*573*D8*20260316" not in outcome.segments


def test_lower_case_payer_codes_in_the_original_are_read_and_written_upper_case(tmp_path):
    claims = original(BILLING + SELF_SUBSCRIBER.replace("SBR*P*18*ACG0300******CI", "SBR*p*18*ACG0300******ci")
                      + "CLM*LOWER01*100***11:B:1*Y*A*Y*Y\nHI*ABK:J029\n"
                      + SECONDARY_2320.replace("SBR*S*18*BSG0300******CI", "SBR*s*18*BSG0300******ci")
                      + ONE_LINE.format(cid="LOWER01"))
    outcome = convert(tmp_path, claims, remittance(PAID_60.format(cid="LOWER01"), "60"))
    assert outcome.status == "converted", outcome.reasons
    assert "SBR*S*18*BSG0300******CI" in outcome.segments  # 2000B, the secondary
    assert "SBR*P*18*ACG0300******CI" in outcome.segments  # 2320, the primary
