"""Review fixes: --claim that is not shown, line findings named once, BPR16 wording, print stylesheet."""
from __future__ import annotations

import json
import re

import os
from pathlib import Path

from click.testing import CliRunner

from cobpipe.cli import main
from cobpipe.explain.htmlout import CSS

CASES = Path(__file__).resolve().parent / "cases"


def run(args: list[str], cwd: Path | None = None):
    old = Path.cwd()
    os.chdir(cwd or old)
    try:
        return CliRunner().invoke(main, ["explain", *args])
    finally:
        os.chdir(old)


def run_case(name: str, *args: str):
    return run([f"{name}.835", *args], cwd=CASES)


def test_unknown_claim_exits_1_and_says_why_in_every_format():
    for fmt in ("text", "json", "html"):
        result = run_case("claim-line-cas", "--claim", "NOPE", "--format", fmt)
        assert result.exit_code == 1, (fmt, result.output)
        assert "no claim NOPE" in result.stderr
        assert "no claim NOPE (CLP01) in this file" in result.stdout, fmt
    doc = json.loads(run_case("claim-line-cas", "--claim", "NOPE", "--format", "json").stdout)
    assert doc["missing_claims"] == [{"id": "NOPE", "reason": "no claim NOPE (CLP01) in this file"}]
    assert doc["balanced"] is True  # nothing unbalanced: the exit code says the claim is missing


def test_found_claim_still_exits_clean():
    result = run_case("claim-line-cas", "--claim", "LINECAS01", "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)["missing_claims"] == []


def test_claim_excluded_by_status_filter_is_explained():
    result = run_case("reversal-correction", "--claim", "REV01", "--status", "denied")
    assert result.exit_code == 1
    assert "claim REV01 is in this file (CLP02 1, 22) but not with the status asked for" in result.stdout
    combined = run_case("reversal-correction", "--claim", "REV01", "--status", "reversal")
    assert combined.exit_code == 0 and combined.stdout.count("CLAIM REV01") == 1


def test_line_findings_name_the_line_once():
    text = run_case("unbalanced").stdout
    assert "line 1: ERA101 line 1" not in text and "ERA101 line 1 (REF*6R UNBAL01-1)" in text
    html = run_case("unbalanced", "--format", "html").stdout
    assert "Line 1: <b>ERA101</b> line 1" not in html and "<b>ERA101</b> line 1 (REF*6R UNBAL01-1)" in html


def test_invalid_payment_date_is_not_called_empty(tmp_path):
    source = (CASES / "denial.835").read_text(encoding="utf-8")
    bpr = re.search(r"BPR\*[^~]*~", source).group(0)
    broken = bpr[:-9] + "20261399~"  # BPR16 is the last element: month 13
    assert broken != bpr
    path = tmp_path / "baddate.835"
    path.write_text(source.replace(bpr, broken), encoding="utf-8")
    text = run([str(path)]).stdout
    assert "BPR16 empty)" not in text and "not given (BPR16 empty or not a valid date)" in text


def test_print_stylesheet_keeps_rows_and_boxes_whole():
    print_css = CSS.split("@media print", 1)[1]
    assert re.search(r"tr, [^{]*\.verdict[^{]*\.total[^{]*\{ break-inside: avoid", print_css)
    assert "thead { display: table-header-group; }" in print_css
    assert "tfoot { display: table-row-group; }" in print_css  # claim totals print once, not on every page
