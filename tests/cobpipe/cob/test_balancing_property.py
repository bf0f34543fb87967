"""Property: whatever a balanced 835 says, the secondary claim built from it balances (cob-spec
§2.1 C0, L1, C1); and an 835 whose line does not balance is always rejected, never converted."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cobpipe.cob.gate import ClaimView, check_claim
from cobpipe.claim837.parser import parse_claims_text
from cobpipe.pipeline import ConvertOptions, run_batch

TODAY = dt.date(2026, 4, 1)
OPTIONS = ConvertOptions(today=TODAY, now=dt.datetime(2026, 4, 1, 8, 0), bill_zero_balance=True,
                         validate_ig=False)
CENT = Decimal("0.01")


def money(cents: int) -> str:
    return str((Decimal(cents) * CENT).normalize()) if cents % 100 else str(cents // 100)


@st.composite
def line_splits(draw):
    """One service line: charge split into paid, CO-45, OA-23 and PR-1/2/3 (cents, summing exactly)."""
    charge = draw(st.integers(1, 500_000))
    paid = draw(st.integers(0, charge))
    rest = charge - paid
    co = draw(st.integers(0, rest))
    rest -= co
    oa = draw(st.integers(0, rest))
    rest -= oa
    pr1 = draw(st.integers(0, rest))
    pr2 = draw(st.integers(0, rest - pr1))
    pr3 = rest - pr1 - pr2
    return {"charge": charge, "paid": paid, "adj": [("CO", "45", co), ("OA", "23", oa), ("PR", "1", pr1),
                                                     ("PR", "2", pr2), ("PR", "3", pr3)]}


@st.composite
def remittances(draw):
    lines = draw(st.lists(line_splits(), min_size=1, max_size=5))
    line_paid = sum(line["paid"] for line in lines)
    claim_level = draw(st.integers(0, line_paid))  # CO-253 taken at claim level from what the lines paid
    return {"lines": lines, "claim_cas": claim_level}


def files(case, *, break_line: int | None = None):
    lines = case["lines"]
    charge = sum(line["charge"] for line in lines)
    pr = sum(a for line in lines for g, _, a in line["adj"] if g == "PR")
    clp04 = sum(line["paid"] for line in lines) - case["claim_cas"]
    claim = [
        "ST*837*0001*005010X222A1", "BHT*0019*00*B1*20260310*0900*CH",
        "NM1*41*2*SUNRISE PEDIATRICS*****46*SUN123", "PER*IC*BILLING*TE*5555550100",
        "NM1*40*2*CLEARHOUSE INC*****46*CLEARHOUSE", "HL*1**20*1",
        "NM1*85*2*SUNRISE PEDIATRICS*****XX*1234567893", "N3*100 MAIN STREET", "N4*SPRINGFIELD*IL*627010001",
        "REF*EI*371234567", "HL*2*1*22*0", "SBR*P*18*G1******CI", "NM1*IL*1*PROPERTY*PAT****MI*M1",
        "N3*1 A ST", "N4*SPRINGFIELD*IL*62701", "DMG*D8*19800101*F", "NM1*PR*2*ACME*****PI*11111",
        f"CLM*PROP1*{money(charge)}***11:B:1*Y*A*Y*Y", "HI*ABK:J069",
        "SBR*S*18*G2******CI", "OI***Y*P**Y", "NM1*IL*1*PROPERTY*PAT****MI*M2", "NM1*PR*2*BLUE*****PI*22222",
    ]
    for n, line in enumerate(lines, start=1):
        claim += [f"LX*{n}", f"SV1*HC:99213*{money(line['charge'])}*UN*1***1", "DTP*472*D8*20260305",
                  f"REF*6R*L{n}"]
    claim.append(f"SE*{len(claim) + 1}*0001")
    era = ["ST*835*0001", f"BPR*I*{money(clp04)}*C*CHK************20260320", "TRN*1*T1*1512345678",
           "DTM*405*20260320", "N1*PR*ACME", "N1*PE*SUNRISE PEDIATRICS*XX*1234567893", "LX*1",
           f"CLP*PROP1*1*{money(charge)}*{money(clp04)}*{money(pr)}*12*PAYER1"]
    if case["claim_cas"]:
        era.append(f"CAS*CO*253*{money(case['claim_cas'])}")
    for n, line in enumerate(lines, start=1):
        paid = line["paid"] + (1 if n == break_line else 0)
        era += [f"SVC*HC:99213*{money(line['charge'])}*{money(paid)}**1", "DTM*472*20260305"]
        for group in ("CO", "OA", "PR"):
            triplets = [f"{reason}*{money(a)}*" for g, reason, a in line["adj"] if g == group and a]
            if triplets:
                era.append(f"CAS*{group}*" + "*".join(triplets).rstrip("*"))
        era.append(f"REF*6R*L{n}")
    era.append(f"SE*{len(era) + 1}*0001")
    return _envelope(claim, "HC", "005010X222A1"), _envelope(era, "HP", "005010X221A1")


def _envelope(body, functional_id, version):
    isa = "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *260320*0900*^*00501*000000001*0*T*:"
    segments = [isa, f"GS*{functional_id}*SENDER*RECEIVER*20260320*0900*1*X*{version}", *body, "GE*1*1",
                "IEA*1*000000001"]
    return "~\n".join(segments) + "~\n"


def convert(tmp_path, claims_text, era_text):
    (tmp_path / "claims.837").write_text(claims_text)
    (tmp_path / "era.835").write_text(era_text)
    [result] = run_batch([tmp_path / "era.835"], [tmp_path / "claims.837"], tmp_path / "out", options=OPTIONS)
    return result


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=remittances())
def test_balanced_remittance_converts_to_a_balanced_claim(case, tmp_path):
    result = convert(tmp_path, *files(case))
    [decision] = result.decisions
    assert decision.status == "converted", decision.reasons
    [claim] = parse_claims_text(result.output.read_text())
    assert check_claim(ClaimView.scan(claim.claim.iter_segments(), claim.sbr), today=TODAY) == []
    text = result.output.read_text()
    paid = sum(line["paid"] for line in case["lines"]) - case["claim_cas"]
    assert f"AMT*D*{money(paid)}~" in text


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=remittances(), data=st.data())
def test_unbalanced_line_is_always_rejected(case, data, tmp_path):
    broken = data.draw(st.integers(1, len(case["lines"])))
    result = convert(tmp_path, *files(case, break_line=broken))
    [decision] = result.decisions
    assert decision.status == "rejected"
    assert result.output is None
