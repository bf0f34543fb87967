"""835s that real payers send and the guide allows (or that break in common ways): line dates from
the claim, service lines outside a claim, and no PHI in findings about unreadable values."""
from __future__ import annotations

import datetime as dt

from cobpipe.era import parse_remittance_text
from edi.findings import Severity

from conftest import era


def only(text: str):
    (remit,) = parse_remittance_text(text, "t.835")
    return remit


def claims(text: str):
    return list(only(text).claims())


# --- line dates: claim dates apply to every line without its own DTM (X221A1 2100/2110 DTM) ----


def test_line_without_dtm_takes_the_one_day_claim_date():
    (claim,) = claims(era("""
        CLP*D1*1*100*80*0*12*PCN1
        DTM*232*20260105
        DTM*233*20260105
        SVC*HC:99213*100*80**1
        CAS*CO*45*20
    """, amount="80"))
    line = claim.lines[0]
    assert line.service_date == line.service_end == dt.date(2026, 1, 5)
    assert line.period == (dt.date(2026, 1, 5), dt.date(2026, 1, 5))


def test_claim_start_without_end_is_one_day_for_its_lines():
    (claim,) = claims(era("""
        CLP*D1*1*100*80*0*12*PCN1
        DTM*232*20260105
        SVC*HC:99213*100*80**1
        CAS*CO*45*20
    """, amount="80"))
    assert claim.lines[0].service_date == dt.date(2026, 1, 5)


def test_multi_day_claim_period_gives_the_line_a_period_but_no_single_date():
    # which day of the period the line was is not said: matching must not compare a made-up date
    (claim,) = claims(era("""
        CLP*D1*1*100*80*0*12*PCN1
        DTM*232*20260105
        DTM*233*20260107
        SVC*HC:99213*100*80**1
        CAS*CO*45*20
    """, amount="80"))
    line = claim.lines[0]
    assert line.period == (dt.date(2026, 1, 5), dt.date(2026, 1, 7))
    assert line.service_date is None and line.service_end is None


def test_line_dates_override_claim_dates():
    (claim,) = claims(era("""
        CLP*D1*1*200*160*0*12*PCN1
        DTM*232*20260105
        DTM*233*20260107
        SVC*HC:99213*100*80**1
        DTM*472*20260106
        CAS*CO*45*20
        SVC*HC:99214*100*80**1
        DTM*472*20260231
        CAS*CO*45*20
    """, amount="160"))
    first, second = claim.lines
    assert first.service_date == first.service_end == dt.date(2026, 1, 6)
    # an invalid line date is a finding, and the claim's period does not silently replace it
    assert second.service_date is None and [f.code for f in second.findings] == ["ERA004"]


# --- money outside a claim -----------------------------------------------------------------------


def test_svc_before_any_clp_is_an_error_not_a_silent_warning():
    remit = only(era("""
        SVC*HC:99213*100*80**1
        DTM*472*20260105
        CAS*CO*45*20
        CLP*C1*1*100*100*0*12*PCN1
    """, amount="100"))
    (claim,) = remit.claims()
    assert claim.lines == []
    (finding,) = remit.findings  # one error for the line; its DTM and CAS are not reported again
    assert finding.code == "ERA008" and finding.severity is Severity.ERROR
    assert finding.location.segment == 11 and "SVC outside a claim" in finding.message


def test_cas_before_any_clp_is_an_error():
    remit = only(era("""
        CAS*CO*45*20
        CLP*C1*1*100*100*0*12*PCN1
    """, amount="100"))
    list(remit.claims())
    (finding,) = remit.findings
    assert finding.code == "ERA008" and finding.severity is Severity.ERROR


# --- PHI: unreadable values are not quoted when they could be a name or member id ----------------


def test_merged_patient_segment_does_not_put_the_name_in_findings():
    # the CLP lost its segment terminator: NM1*QC's name lands in CLP12/CLP13 (numeric elements)
    text = era("""
        CLP*C1*1*100*80*0*12*PCN1*11*1NM1*QC*1*SMITHERS*WAYLON****MI*W123456789
        SVC*HC:99213*100*80**1
        CAS*CO*45*20
    """, amount="80")
    remit = only(text)
    list(remit.claims())
    messages = " ".join(f.message for f in remit.findings)
    assert [f.code for f in remit.findings] == ["ERA003", "ERA003"]
    assert "SMITHERS" not in messages and "WAYLON" not in messages
    assert "CLP12" in messages and "CLP13" in messages


def test_unreadable_value_without_letters_is_still_quoted():
    remit = only(era("""
        CLP*C1*1*100.0.0*80*0*12*PCN1
        DTM*232*2026-01-05
    """, amount="80"))
    list(remit.claims())
    messages = [f.message for f in remit.findings if f.code in ("ERA003", "ERA004")]
    assert messages == ["CLP03 '100.0.0' is not a number", "DTM02 '2026-01-05' is not a valid CCYYMMDD date"]
