"""Renderers and view building in isolation: masking, money, columns, escaping, status words."""
from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal as D
from pathlib import Path

import pytest

from cobpipe.codes import default_codebook
from cobpipe.explain import ExplainOptions, explain_file, render
from cobpipe.explain import fmt
from cobpipe.explain.build import resolve_statuses
from cobpipe.explain.mask import mask_id, mask_name
from cobpipe.explain.text import WIDTH
from cobpipe.explain.view import (AdjustmentView, ClaimView, ExplainView, FindingView, HeaderView, LineView,
                                  PersonView, SectionView)

CASES = Path(__file__).resolve().parent / "cases"


def test_mask_name_and_id():
    assert mask_name("JOHN DOE") == "J*** D***"
    assert mask_name("") == ""
    assert mask_id("123456789") == "****6789"
    assert mask_id("ABC123") == "****23"
    assert mask_id("1234") == "****"
    assert mask_id("") == ""


@pytest.mark.parametrize("value, plain, shown", [
    (D("10.5"), "10.50", "10.50"),
    (D("1680.15"), "1680.15", "1,680.15"),
    (D("-2.35"), "-2.35", "-2.35"),
    (D("0"), "0.00", "0.00"),
    (D("-0.00"), "0.00", "0.00"),
    (D("12.345"), "12.345", "12.345"),
    (D("1E+2"), "100.00", "100.00"),
])
def test_money_is_exact(value, plain, shown):
    assert fmt.money_plain(value) == plain
    assert fmt.money(value) == shown


def test_numbers_and_dates():
    assert fmt.number(D("1.0")) == "1" and fmt.number(D("2.50")) == "2.5" and fmt.number(D("0")) == "0"
    assert fmt.date(dt.date(2026, 3, 20)) == "03/20/2026"
    assert fmt.date_range(dt.date(2026, 3, 1), dt.date(2026, 3, 1)) == "03/01/2026"
    assert fmt.date_range(dt.date(2026, 3, 1), dt.date(2026, 3, 2)) == "03/01/2026-03/02/2026"


def small_view(payer: str = "PLAN", claim_id: str = "C1") -> ExplainView:
    adj = AdjustmentView("CO", "contractual", "45", "Over the fee schedule " * 5, D("13"))
    line = LineView(1, "99213", "HC", ("25",), charge=D("33"), paid=D("10"), units=D("1"),
                    date_from=dt.date(2026, 3, 10), adjustments=[adj, AdjustmentView("PR", "patient", "1",
                                                                                     "Deductible", D("10"))])
    claim = ClaimView(claim_id, "1", "Processed as primary", "primary", D("33"), D("10"), D("10"),
                      people=[PersonView("patient", "A*** S***", "member id", "****1234")], lines=[line])
    header = HeaderView(payer=payer, amount=D("10"), credit_debit="C", method="ACH")
    section = SectionView(1, header, [claim], claims_total=1, paid_total=D("10"), plb_total=D("0"))
    return ExplainView("x.835", [section])


def test_text_money_columns_line_up():
    text = render(small_view(), "text")
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= WIDTH
    row = next(line for line in lines if line.lstrip().startswith("1  HC 99213-25"))
    header = next(line for line in lines if line.lstrip().startswith("#  Procedure"))
    co45 = next(line for line in lines if "CO-45" in line)
    # Charge, Adjusted and Paid end where their headings end; adjustments sit in the Adjusted column
    assert row.rstrip().endswith("33.00        23.00        10.00")
    assert len(header) == len(row) == WIDTH
    assert co45.endswith("13.00") and len(co45) == header.index("Adjusted") + len("Adjusted")


def test_text_fits_100_columns_for_every_case():
    for path in sorted(CASES.glob("*.835")):
        view = explain_file(str(path), default_codebook(), ExplainOptions(show_phi=True))
        assert max(len(line) for line in render(view, "text").splitlines()) <= WIDTH, path.name


def test_html_escapes_view_values():
    html = render(small_view(payer='<img src=x onerror="alert(1)">', claim_id="<C&1>"), "html")
    assert "<img" not in html and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert "&lt;C&amp;1&gt;" in html and 'id="claim-&lt;C&amp;1&gt;"' in html


def test_json_is_valid_and_money_strings():
    doc = json.loads(render(small_view(), "json"))
    claim = doc["transactions"][0]["claims"][0]
    assert claim["charge"] == "33.00" and claim["lines"][0]["adjustments"][0]["amount"] == "13.00"
    assert claim["lines"][0]["units"] == "1"


def test_verdicts():
    view = small_view()
    claim = view.claims[0]
    assert claim.verdict == "BALANCED" and not view.has_errors
    claim.lines[0].findings.append(FindingView("ERA104", "zero CAS", "error", 9, rule="CAS03"))
    assert claim.balanced and claim.verdict == "BALANCED, FINDINGS" and view.has_errors
    claim.findings.append(FindingView("ERA102", "claim does not balance", "error", 7, D("10"), D("12"), "C"))
    assert not claim.balanced and claim.verdict == "DOES NOT BALANCE"
    text = render(view, "text")
    assert "DOES NOT BALANCE" in text and "ERA102 claim does not balance (segment 7); stated 10.00, computed 12.00" in text


def test_warnings_do_not_fail():
    view = small_view()
    view.claims[0].findings.append(FindingView("ERA105", "CLP05 differs", "warning", 3, rule="CLP05"))
    assert view.claims[0].verdict == "BALANCED" and not view.has_errors


def test_transaction_errors_count_unless_filtered():
    view = small_view()
    view.sections[0].findings.append(FindingView("ERA103", "payment", "error", 4, D("1"), D("2"), "T"))
    assert view.has_errors and not view.sections[0].balanced
    view.filtered = True
    assert not view.has_errors


def test_resolve_statuses():
    book = default_codebook()
    assert resolve_statuses(["4"], book) == {"4"}
    assert resolve_statuses(["crossover"], book) == {"19", "20", "21"}
    assert resolve_statuses(["Denied, reversal"], book) == {"4", "22"}
    assert resolve_statuses([], book) == frozenset()
    with pytest.raises(ValueError, match="'99'"):
        resolve_statuses(["99"], book)


def test_no_phi_in_view_unless_asked():
    path = CASES / "claim-line-cas.835"
    masked = explain_file(str(path), default_codebook())
    shown = explain_file(str(path), default_codebook(), ExplainOptions(show_phi=True))
    assert [p.name for p in masked.claims[1].people] == ["T*** B***", "R*** B***"]
    assert [p.name for p in shown.claims[1].people] == ["BRAMBLEWICK, THEO", "BRAMBLEWICK, ROSA"]
    assert not re.search(r"ZX\d{10}", repr(masked))
