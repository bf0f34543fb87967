"""The implementation guide's own COB example: claim 26407789 sent to the primary (LinuxForHealth's
copy of the TR3 example 3, step A) and, as its step B shows, the primary's adjudication: $39.15
paid, PR-1 $21.89 and PR-2 $15 at claim level, CO-42 $3 on line 1. Our secondary claim must carry
what step B carries in 2320 and 2430. The step A file names the secondary payer without a 2330B,
so the billing office's coverage file supplies it."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from cobpipe.claim837.parser import ClaimFile
from cobpipe.pipeline import ConvertOptions, run_batch
from edi import ig

ERA = """\
ISA*00*          *00*          *ZZ*KEYINS         *ZZ*PREMIER        *051015*1023*^*00501*000000321*0*T*:~
GS*HP*KEYINS*PREMIER*20051015*1023*321*X*005010X221A1~
ST*835*0001~
BPR*I*39.15*C*CHK************20051015~
TRN*1*CHK0001*1999999999~
DTM*405*20051015~
N1*PR*KEY INSURANCE COMPANY~
N1*PE*KILDARE ASSOCIATES*XX*1581234567~
LX*1~
CLP*26407789*1*79.04*39.15*36.89*12*KEY123456~
CAS*PR*1*21.89**2*15~
SVC*HC:99213*43*40**1~
DTM*472*20051003~
CAS*CO*42*3~
SVC*HC:90782*15*15**1~
DTM*472*20051003~
SVC*HC:J3301*21.04*21.04**1~
DTM*472*20051003~
SE*17*0001~
GE*1*321~
IEA*1*000000321~
"""

COVERAGE = """claim_id,payer_name,payer_id,member_id,subscriber_last_name,subscriber_first_name,relationship,filing_indicator
26407789,GREAT PRAIRIES HEALTH,567890,222334444,SMITH,JACK,01,CI
"""


@pytest.fixture
def step_a(corpus_dir, tmp_path) -> Path:
    source = corpus_dir / "837p" / "lfh_837p_demo.cob.example3.A.837"
    if not source.exists():
        pytest.skip("corpus file absent")
    claims = tmp_path / "claims.837"
    claims.write_text(source.read_text().replace("005010X222A2", "005010X222A1"))
    return claims


def convert(step_a: Path, tmp_path: Path, coverage: bool):
    (tmp_path / "era.835").write_text(ERA)
    csv = tmp_path / "coverage.csv"
    csv.write_text(COVERAGE)
    options = ConvertOptions(today=dt.date(2026, 1, 1), now=dt.datetime(2026, 1, 1, 8, 0))
    [result] = run_batch([tmp_path / "era.835"], [step_a], tmp_path / "out", options=options,
                         coverage_path=csv if coverage else None)
    return result


def test_secondary_claim_carries_what_the_guide_example_carries(step_a, tmp_path):
    result = convert(step_a, tmp_path, coverage=True)
    assert [(d.claim_id, d.status) for d in result.decisions] == [("26407789", "converted")]
    text = result.output.read_text()
    for expected in ("SBR*S********CI~", "NM1*IL*1*SMITH*JACK****MI*222334444~",
                     "NM1*PR*2*GREAT PRAIRIES HEALTH*****PI*567890~", "PAT*01~", "NM1*QC*1*SMITH*TED~",
                     "SBR*P*19*******CI~", "CAS*PR*1*21.89**2*15~", "AMT*D*39.15~",
                     "NM1*IL*1*SMITH*JANE****MI*111223333~", "NM1*PR*2*KEY INSURANCE COMPANY*****PI*999996666~",
                     "REF*F8*KEY123456~", "SVD*999996666*40*HC:99213**1~", "CAS*CO*42*3~",
                     "SVD*999996666*15*HC:90782**1~", "SVD*999996666*21.04*HC:J3301**1~",
                     "DTP*573*D8*20051015~"):
        assert expected in text, expected
    assert "AMT*EAF*36.89~" in text  # claim-level PR: EAF at claim level, not on the lines
    assert [f for f in ig.validate_file(result.output) if f.severity == "error"] == []
    [claim] = ClaimFile.open(result.output)
    assert claim.frequency == "1"


def test_incomplete_2320_without_a_coverage_row_is_rejected_with_the_reason(step_a, tmp_path):
    result = convert(step_a, tmp_path, coverage=False)
    [decision] = result.decisions
    assert decision.status == "rejected" and "2330B" in decision.reasons[-1]
