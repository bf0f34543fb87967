"""The fast `explain --format json` remembers the JSON of a line's adjustments by the CAS texts
(fastclaim._Words.line_adjustments): the same text on other lines, other claims, several CAS on
one line in either order, and a zero amount (whose finding cites each CAS's own segment) write
the plain path's bytes."""
from __future__ import annotations

import json

import pytest

from cobpipe.explain.build import ExplainOptions

from test_explain_fast import OPTION_SETS, plain, same, x12

CAS_A, CAS_B, CAS_ZERO, CAS_QTY = "CAS*CO*45*30", "CAS*PR*3*20", "CAS*OA*23*0", "CAS*CO*45*30*2"


def _claim(ident: str, lines: list[list[str]]) -> list[str]:
    out = [f"CLP*{ident}*1*150*100*20*12*PCN{ident}", "NM1*QC*1*DOE*JANE****MI*1"]
    for n, cas in enumerate(lines, start=1):
        out += ["SVC*HC:99213*50*0", "DTM*472*20260101", *cas, f"REF*6R*{ident}-{n}"]
    return out


BODIES = {
    "same cas on every line": _claim("A", [[CAS_A]] * 3) + _claim("B", [[CAS_A], [CAS_A]]),
    "pairs in both orders and alone": _claim("A", [[CAS_A, CAS_B], [CAS_B, CAS_A], [CAS_A], [CAS_B]])
    + _claim("B", [[CAS_A, CAS_B], [CAS_A, CAS_B, CAS_ZERO]]),
    "zero amount repeated": _claim("A", [[CAS_ZERO], [CAS_A, CAS_ZERO], [CAS_ZERO]]) + _claim("B", [[CAS_ZERO]]),
    "quantity and none": _claim("A", [[CAS_QTY], [CAS_A], [], [CAS_QTY, CAS_QTY]]),
}


@pytest.mark.parametrize("name", list(BODIES))
def test_repeated_line_adjustments_byte_identical(tmp_path, name):
    path = tmp_path / "era.835"
    path.write_bytes(x12(BODIES[name]).encode("ascii"))
    for options, findings_only in OPTION_SETS:
        assert same(path, options, findings_only)


def test_zero_amount_findings_cite_each_segment(tmp_path):
    """The cached JSON is the adjustments only: each zero-amount finding still names its own CAS."""
    path = tmp_path / "era.835"
    path.write_bytes(x12(BODIES["zero amount repeated"]).encode("ascii"))
    assert same(path)
    document = json.loads(plain(path, ExplainOptions())[0])
    segments = [f["segment"] for claim in document["transactions"][0]["claims"] for line in claim["lines"]
                for f in line["findings"] if f["code"] == "ERA104"]
    assert len(segments) == 4 and len(set(segments)) == 4
