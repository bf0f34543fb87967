"""`explain` for big remittances (issue 16): --summary, --findings-only, the verdict first, claims
streamed with flat memory, no green box without amounts, the same words as `convert`, exit codes."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
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

REPO = Path(__file__).resolve().parents[3]
CASES = Path(__file__).resolve().parent / "cases"
SAMPLES = REPO / "samples" / "cob"
LAUNCH = REPO / "bench" / "launch.py"


def explain(*args) -> "CliRunner.invoke":
    return CliRunner().invoke(main, ["explain", *map(str, args)])


def test_summary_in_every_format():
    era = CASES / "unbalanced.835"
    text = explain(era, "--summary")
    assert text.exit_code == 1
    out = text.stdout
    assert "SUMMARY" in out and "CLAIM UNBAL01" not in out  # totals only, no claim pages
    assert "payment does not balance: BPR02 stated 140.00, computed 130.00" in out
    assert "Processed as primary" in out and "CO-45" in out and "Claims with findings" in out
    assert "UNBAL01" in out and "ERA102 claim does not balance" in out
    data = json.loads(explain(era, "--summary", "--json").stdout)
    summary = data["summary"]
    assert "transactions" not in data and data["balanced"] is False
    assert summary["payments"][0]["verdict"] == "does not balance"
    assert summary["claims"] == {"in_file": 1, "shown": 1, "with_findings": 1, "not_balanced": 1, "not_checked": 0}
    assert summary["totals"] == {"charge": "200.00", "paid": "130.00", "patient_responsibility": "20.00"}
    assert summary["by_status"] == [{"status_code": "1", "status": "Processed as primary", "claims": 1,
                                     "charge": "200.00", "paid": "130.00"}]
    assert {(a["group"], a["reason"], a["times"], a["amount"]) for a in summary["by_adjustment"]} == {
        ("CO", "45", 2, "45.00"), ("PR", "3", 1, "20.00")}
    assert [c["id"] for c in summary["claims_with_findings"]] == ["UNBAL01"]
    html = explain(era, "--summary", "--format", "html").stdout
    assert "<h2>Summary</h2>" in html and "<article" not in html and html.rstrip().endswith("</html>")


def test_findings_only_lists_only_the_claims_with_findings():
    era = SAMPLES / "problems" / "era.835"
    every = json.loads(explain(era, "--json").stdout)
    claims = [c for t in every["transactions"] for c in t["claims"]]
    with_findings = {c["id"] for c in claims if c["findings"]}
    assert with_findings and len(with_findings) < len(claims)
    only = json.loads(explain(era, "--json", "--findings-only").stdout)
    assert {c["id"] for t in only["transactions"] for c in t["claims"]} == with_findings
    assert only["findings_only"] is True
    text = explain(era, "--findings-only").stdout
    assert all(f"CLAIM {ident} " in text for ident in with_findings)
    assert not any(f"CLAIM {c['id']} " in text for c in claims if c["id"] not in with_findings)
    html = explain(era, "--findings-only", "--format", "html").stdout
    assert html.count("<article") == len(with_findings)


def test_the_payment_verdict_comes_first_in_text_and_html():
    era = CASES / "unbalanced.835"
    text = explain(era).stdout
    first_claim = text.index("CLAIM UNBAL01")
    assert text.startswith("Verdict") and "DOES NOT BALANCE" in text.splitlines()[0]
    assert text.index("payment does not balance: BPR02 stated 140.00") < first_claim
    assert text.index("Payment check     payment does not balance") < first_claim
    html = explain(era, "--format", "html").stdout
    assert html.index('id="verdict"') < html.index("<article")
    assert html.index("payment does not balance: BPR02 stated 140.00") < html.index("<article")
    balanced = explain(CASES / "denial.835").stdout
    assert balanced.startswith("Verdict           1 payment, all balanced")


def test_a_claim_without_amounts_gets_no_balanced_box(tmp_path):
    era = write_835(tmp_path, """
        CLP*NOAMT1*1***0*12*PCN1
        CLP*OK1*1*100*80*0*12*PCN2
        CAS*CO*45*20
    """, amount="80")
    html = explain(era, "--format", "html").stdout
    article = html[html.index('id="claim-NOAMT1"'):html.index('id="claim-OK1"')]
    assert "verdict ok" not in article and "Balanced" not in article and "badge ok" not in article
    assert "Not checked: CLP03 (charge) or CLP04 (paid) is empty" in article
    ok = html[html.index('id="claim-OK1"'):]
    assert 'class="verdict ok"' in ok  # the claim with amounts still balances
    data = json.loads(explain(era, "--json").stdout)
    noamt = data["transactions"][0]["claims"][0]
    assert noamt["id"] == "NOAMT1" and noamt["balanced"] is None and noamt["verdict"] != "balanced"
    text = explain(era).stdout
    block = text[text.index("CLAIM NOAMT1"):text.index("CLAIM OK1")]
    assert "not checked: CLP03 (charge) or CLP04 (paid) is empty" in block and "BALANCED" not in block


def test_explain_and_convert_describe_an_imbalance_with_the_same_words(tmp_path):
    era = SAMPLES / "problems" / "era.835"
    out = tmp_path / "out"
    done = CliRunner().invoke(main, ["convert", "--era", str(era), "--claims", str(SAMPLES / "claims.837"),
                                     "--out", str(out)])
    assert done.exit_code == 1, done.output
    report = json.loads((out / "era.report.json").read_text())
    prefix = "the 835 does not balance for this claim: "
    reasons = {c["id"]: r[len(prefix):] for c in report["claims"] for r in c["reasons"] if r.startswith(prefix)}
    assert reasons, "the problems sample has a claim that does not balance"
    shown = json.loads(explain(era, "--json").stdout)
    text = explain(era).stdout
    html = explain(era, "--format", "html").stdout
    for claim in (c for t in shown["transactions"] for c in t["claims"] if c["id"] in reasons):
        words = [f["message"] for f in claim["findings"] if f["severity"] == "error"][:3]
        assert "; ".join(words) == reasons[claim["id"]]
        for message in words:
            assert " ".join(message.split()) in " ".join(text.split())
            assert message.replace("&", "&amp;") in html


def test_exit_codes_warnings_alone_exit_0(tmp_path):
    # ERA105 (CLP05 is not the sum of PR adjustments) is a warning: shown, exit 0
    era = write_835(tmp_path, """
        CLP*W1*1*100*70*5*12*PCN1
        CAS*PR*1*30
    """, amount="70")
    result = explain(era, "--json")
    data = json.loads(result.stdout)
    findings = [f for t in data["transactions"] for c in t["claims"] for f in c["findings"]]
    assert findings and all(f["severity"] != "error" for f in findings)
    assert result.exit_code == 0 and data["balanced"] is True
    assert explain(CASES / "unbalanced.835").exit_code == 1


def _peak_mb(tmp_path: Path, *args) -> float:
    """Peak RSS of `cobpipe explain ...` alone, measured by bench/launch.py in a bare interpreter
    (so neither this test process's size nor pytest's counts)."""
    report = tmp_path / "usage.json"
    done = subprocess.run([sys.executable, "-S", "-I", str(LAUNCH), str(report), sys.executable, "-m", "cobpipe.cli",
                           "explain", *map(str, args)], cwd=REPO, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, timeout=900)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(report.read_text())["maxrss_kb"] / 1024


@pytest.fixture(scope="module")
def synth_pair(tmp_path_factory):
    from cobpipe.synth import generate_set

    root = tmp_path_factory.mktemp("explain-sizes")
    small = generate_set(2000, root / "2k", seed=3, unbalanced_fraction=0.01)
    large = generate_set(20000, root / "20k", seed=3, unbalanced_fraction=0.01)
    return small.era, large.era


@pytest.mark.parametrize("output_format", ["json", "html", "text"])
def test_memory_stays_flat_from_2k_to_20k_claims(synth_pair, tmp_path, output_format):
    small, large = synth_pair
    at_2k = _peak_mb(tmp_path, small, "--format", output_format, "-o", tmp_path / "2k.out")
    at_20k = _peak_mb(tmp_path, large, "--format", output_format, "-o", tmp_path / "20k.out")
    # the whole view in memory took ~400 MB at 10k claims (issue 16); claim by claim it is the same
    # process at any size, plus the claim ids counted to find split claims (~1 MB per 10k)
    assert at_20k < at_2k + 15, (at_2k, at_20k)
    assert (tmp_path / "20k.out").stat().st_size > 5 * (tmp_path / "2k.out").stat().st_size
    if output_format == "json":
        data = json.loads((tmp_path / "20k.out").read_text())
        assert sum(len(t["claims"]) for t in data["transactions"]) >= 20000
