import datetime as dt
import textwrap

from hypothesis import given
from hypothesis import strategies as st

from cobpipe.cob.gate import ClaimView, check_claim
from edi.segment import Segment

TODAY = dt.date(2026, 4, 1)

SEED = """\
    SBR*S*18*GRP200******CI~
    CLM*SEED001*33***11:B:1*Y*A*Y*Y~
    SBR*P*18*GRP100******CI~
    AMT*D*10~
    OI***Y*P**Y~
    NM1*IL*1*SAMPLE*ALEX****MI*PRM0001234~
    NM1*PR*2*ACME HEALTH PLAN*****PI*11111~
    REF*F8*ACME26079000123~
    LX*1~
    SV1*HC:99213*33*UN*1***1~
    DTP*472*D8*20260310~
    SVD*11111*10*HC:99213**1~
    CAS*CO*45*13~
    CAS*PR*1*10~
    DTP*573*D8*20260320~
    AMT*EAF*10~
"""


def findings(text):
    segments = [Segment(raw.split("*")[0], tuple(raw.split("*")[1:]), index=n)
                for n, raw in enumerate(textwrap.dedent(text).replace("\n", "").split("~")[:-1], start=1)]
    view = ClaimView.scan(segments[1:], segments[0])
    return check_claim(view, today=TODAY, path="claim.837")


def codes(text):
    return sorted(f.code for f in findings(text))


def test_seed_example_balances():
    assert findings(SEED) == []


def test_unbalanced_line_names_both_values():
    result = findings(SEED.replace("CAS*CO*45*13~", "CAS*CO*45*12~"))
    assert sorted(f.code for f in result) == ["COB002", "COB003"]
    line = next(f for f in result if f.code == "COB002")
    assert "stated SV102 33" in line.message and "= 32" in line.message
    assert line.location.claim == "SEED001" and line.location.segment == 10


def test_claim_charge_must_equal_line_charges():
    assert "COB001" in codes(SEED.replace("CLM*SEED001*33*", "CLM*SEED001*34*"))


def test_zero_cas_amount_rejected():
    assert "COB007" in codes(SEED.replace("CAS*PR*1*10~", "CAS*PR*1*10*1*3*0~"))
    assert "COB007" in codes(SEED.replace("CAS*PR*1*10~", "CAS*PR*1*10**2~"))  # CAS05 reason, no CAS06 amount
    assert "COB007" not in codes(SEED)


def test_negative_paid_rejected():
    assert "COB005" in codes(SEED.replace("SVD*11111*10*", "SVD*11111*-10*"))


def test_svd01_must_name_the_2330b_payer():
    assert "COB008" in codes(SEED.replace("SVD*11111*", "SVD*99999*"))


def test_adjudication_date_required_and_not_in_future():
    assert "COB009" in codes(SEED.replace("DTP*573*D8*20260320~\n", ""))
    assert "COB010" in codes(SEED.replace("DTP*573*D8*20260320", "DTP*573*D8*20260402"))
    assert "COB010" in codes(SEED.replace("DTP*573*D8*20260320", "DTP*573*D8*20260231"))


def test_eaf_at_both_levels_rejected():
    assert "COB011" in codes(SEED.replace("AMT*D*10~", "AMT*D*10~\n    AMT*EAF*10~"))


def test_secondary_needs_a_primary_2320():
    assert "COB013" in codes(SEED.replace("SBR*P*18*GRP100", "SBR*T*18*GRP100"))


def test_sbr05_only_for_medicare_secondary():
    assert "COB014" in codes(SEED.replace("SBR*S*18*GRP200******CI", "SBR*S*18*GRP200**12****CI"))
    assert "COB014" not in codes(SEED.replace("SBR*S*18*GRP200******CI", "SBR*S*18*GRP200**12****MB"))
    # Medicare as the destination and not primary: SBR05 says why it is not (the guide's situation)
    assert "COB014" in codes(SEED.replace("SBR*S*18*GRP200******CI", "SBR*S*18*GRP200******MB"))


def test_claim_level_only_needs_2330b_date():
    claim_level = """\
        SBR*S*18*GRP200******CI~
        CLM*C1*100***11:B:1*Y*A*Y*Y~
        SBR*P*18*GRP100******CI~
        CAS*CO*45*30~
        CAS*PR*1*20~
        AMT*D*50~
        AMT*EAF*20~
        OI***Y*P**Y~
        NM1*IL*1*SAMPLE*ALEX****MI*PRM0001234~
        NM1*PR*2*ACME HEALTH PLAN*****PI*11111~
        DTP*573*D8*20260320~
        LX*1~
        SV1*HC:99213*100*UN*1***1~
    """
    assert findings(claim_level) == []
    assert "COB009" in codes(claim_level.replace("DTP*573*D8*20260320~\n", ""))
    assert "COB003" in codes(claim_level.replace("AMT*D*50", "AMT*D*49"))


@given(st.lists(st.sampled_from(["", "10", "10.0", "10.00", "-2.5", "1E+1", "abc", "NaN", "Inf", " 5", "0", "-0"]),
                max_size=8), st.integers(min_value=-1, max_value=4))
def test_money_reads_as_parse_amount_whatever_was_read_before(texts, position):
    """money() remembers each text's amount: the value (exponent included) is parse_amount's, else 0."""
    from edi.values import parse_amount

    from cobpipe.cob.gate import ZERO, money

    for text in texts + texts:
        seg = Segment("AMT", ("D", text))
        expected_text = seg.get(position)
        expected = parse_amount(expected_text)
        expected = ZERO if expected is None else expected
        got = money(seg, position)
        assert str(got) == str(expected) and got.as_tuple() == expected.as_tuple()
