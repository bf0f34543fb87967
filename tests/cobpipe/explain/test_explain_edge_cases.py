"""`cobpipe explain` on small inline 835s the guide allows or that break in common ways: debit payments,
lines dated by their claim, service lines outside a claim, and no PHI in findings."""
from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cobpipe.cli import main

ISA = "ISA*00*          *00*          *ZZ*PAYERSYNTH     *ZZ*PROVSYNTH      *260105*1200*^*00501*000000101*0*T*:"


def write_835(tmp_path: Path, body: str, *, amount: str, cd: str = "C") -> Path:
    """One interchange, one 835 with a standard Table 1 and `body` (one segment a line)."""
    st = ["ST*835*0001*005010X221A1",
          f"BPR*I*{amount}*{cd}*ACH*CCP*01*999999992*DA*123456*1512345678**01*999988880*DA*98765*20260105",
          "TRN*1*EFT0001*1512345678", "DTM*405*20260104", "N1*PR*SYNTHETIC HEALTH PLAN*XV*SYN01",
          "N1*PE*EXAMPLE CLINIC*XX*1234567893", "LX*1"]
    st += [line.strip() for line in body.strip().splitlines()]
    st.append(f"SE*{len(st) + 1}*0001")
    segs = [ISA, "GS*HP*PAYERSYNTH*PROVSYNTH*20260105*1200*101*X*005010X221A1", *st, "GE*1*101", "IEA*1*000000101"]
    path = tmp_path / "era.835"
    path.write_text("".join(s + "~\n" for s in segs))
    return path


def explain(path: Path, *args: str):
    return CliRunner().invoke(main, ["explain", str(path), *args])


def test_debit_payment_is_stated_negative_like_the_computed_payment(tmp_path):
    # BPR03 D: the provider pays the payer back; ΣCLP04 − ΣPLB is negative and BPR02 is its size
    path = write_835(tmp_path, """
        CLP*R1*22*-100*-80*0*12*PCN1
        CAS*CO*45*-20
    """, amount="80", cd="D")
    result = explain(path, "--format", "json")
    assert result.exit_code == 0, result.output
    total = json.loads(result.stdout)["transactions"][0]["total"]
    assert total == {"stated": "-80.00", "claims_paid": "-80.00", "plb": "0.00", "computed": "-80.00",
                     "balanced": True}
    text = explain(path).stdout
    assert "Payment stated (BPR02, BPR03 D: debit)" in text
    stated = next(line for line in text.splitlines() if line.strip().startswith("Payment stated"))
    assert stated.rstrip().endswith("-80.00")
    html = explain(path, "--format", "html").stdout
    assert "Payment stated (BPR02, BPR03 D: debit)" in html


def test_line_without_dates_shows_the_claim_period(tmp_path):
    path = write_835(tmp_path, """
        CLP*C1*1*100*80*0*12*PCN1
        DTM*232*20260105
        DTM*233*20260107
        SVC*HC:99213*100*80**1
        CAS*CO*45*20
    """, amount="80")
    result = explain(path, "--format", "json")
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout)["transactions"][0]["claims"][0]["lines"][0]
    assert (line["date_from"], line["date_to"]) == ("2026-01-05", "2026-01-07")
    assert "01/05/2026-01/07/2026" in explain(path).stdout


def test_svc_outside_a_claim_gives_findings_exit(tmp_path):
    path = write_835(tmp_path, """
        SVC*HC:99213*100*80**1
        CAS*CO*45*20
        CLP*C1*1*100*100*0*12*PCN1
    """, amount="100")
    result = explain(path)
    assert result.exit_code == 1, result.output
    assert "ERA008 SVC outside a claim" in result.stdout and "(segment 10)" in result.stdout


def test_no_patient_name_in_findings_when_a_segment_terminator_is_missing(tmp_path):
    path = write_835(tmp_path, """
        CLP*C1*1*100*80*0*12*PCN1*11*1NM1*QC*1*SMITHERS*WAYLON****MI*W123456789
        SVC*HC:99213*100*80**1
        CAS*CO*45*20
    """, amount="80")
    for fmt in ("text", "json", "html"):
        result = explain(path, "--format", fmt)
        assert result.exit_code == 1, result.output
        assert "ERA003" in result.output
        assert "SMITHERS" not in result.output and "WAYLON" not in result.output
