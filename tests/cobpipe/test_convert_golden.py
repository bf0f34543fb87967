"""Golden cases: original 837P + the payer's 835 -> exactly the expected secondary 837P and report.

Inputs and the hand-worked numbers are in tests/golden/<case>/{claims.837, era.835, case.md}.
Regenerate the expected files after a deliberate change with COBPIPE_REGEN_GOLDEN=1, then review
the diff against case.md before committing.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from cobpipe.cob.gate import ClaimView, check_claim
from cobpipe.claim837.parser import ClaimFile
from cobpipe.pipeline import ConvertOptions, run_batch
from edi import ig

GOLDEN = Path(__file__).parents[1] / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "era.835").exists())
NOW = dt.datetime(2026, 4, 1, 9, 30)
OPTIONS = ConvertOptions(today=dt.date(2026, 4, 1), now=NOW, usage="T")
REGEN = os.environ.get("COBPIPE_REGEN_GOLDEN") == "1"


def convert_case(case_dir: Path, out_dir: Path, options: ConvertOptions = OPTIONS):
    coverage = case_dir / "coverage.csv"
    [result] = run_batch([case_dir / "era.835"], [case_dir / "claims.837"], out_dir, options=options,
                         coverage_path=coverage if coverage.exists() else None)
    return result


def check_golden(actual: Path | None, expected: Path) -> None:
    if REGEN:
        if actual is None:
            expected.unlink(missing_ok=True)
        else:
            expected.write_bytes(actual.read_bytes())
        return
    if actual is None:
        assert not expected.exists(), f"{expected.name} expected but nothing was written"
        return
    assert expected.exists(), f"no {expected} yet: run with COBPIPE_REGEN_GOLDEN=1 and review it"
    assert actual.read_text() == expected.read_text()


@pytest.mark.parametrize("case", CASES)
def test_golden_case(case, tmp_path):
    case_dir = GOLDEN / case
    result = convert_case(case_dir, tmp_path)
    check_golden(result.output, case_dir / "expected.837")
    report = json.loads(result.report.read_text())
    (tmp_path / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    check_golden(tmp_path / "report.json", case_dir / "expected.report.json")


@pytest.mark.parametrize("case", CASES)
def test_every_converted_claim_passes_the_guide_and_the_gate(case, tmp_path):
    result = convert_case(GOLDEN / case, tmp_path)
    if result.output is None:
        pytest.skip("nothing converted in this case")
    assert [f for f in ig.validate_file(result.output) if f.severity == "error"] == []
    claims = ClaimFile.open(result.output)
    for claim in claims:
        view = ClaimView.scan(claim.claim.iter_segments(), claim.sbr)
        assert check_claim(view, today=OPTIONS.today) == [], claim.id
    assert [f for f in claims.findings if f.severity == "error"] == []


def test_zero_balance_is_billed_on_request(tmp_path):
    result = convert_case(GOLDEN / "06-zero-balance", tmp_path,
                          ConvertOptions(today=OPTIONS.today, now=NOW, usage="T", bill_zero_balance=True))
    assert [(d.claim_id, d.status) for d in result.decisions] == [("ZEROBAL01", "converted")]
    assert "AMT*D*212.25~" in result.output.read_text()


@pytest.mark.parametrize("case", ["01-multi-line", "08-unmatched", "11-coverage-file", "12-tertiary"])
def test_validator_process_gives_the_same_result(case, tmp_path):
    """Large ERAs are checked by a validator process fed as the output is written; forced on here."""
    piped = convert_case(GOLDEN / case, tmp_path / "piped",
                         ConvertOptions(today=OPTIONS.today, now=NOW, usage="T", pipe_validation_from=0))
    assert piped.output.read_text() == (GOLDEN / case / "expected.837").read_text()
    assert [d.to_dict() for d in piped.decisions] == json.loads(
        (GOLDEN / case / "expected.report.json").read_text())["claims"]
