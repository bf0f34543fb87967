"""PHI stays out of what convert prints and reports: claim ids and segment numbers, never names,
member ids or birth dates (the golden inputs use distinctive fake ones to make leaks visible)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from cobpipe.cli import main

GOLDEN = Path(__file__).parents[1] / "golden"
CASES = sorted(p for p in GOLDEN.iterdir() if (p / "era.835").exists())


def phi_of(claims_text: str, era_text: str) -> set[str]:
    """Names, member ids and birth dates in the inputs (NM1 person names and ids, DMG dates)."""
    values: set[str] = set()
    for text in (claims_text, era_text):
        for seg in re.split(r"~\s*", text):
            parts = seg.split("*")
            if parts[0] == "NM1" and len(parts) > 3 and parts[2] == "1":
                values.update(p for p in parts[3:5] if len(p) > 2)
                if len(parts) > 9 and parts[8] in ("MI", "II"):
                    values.add(parts[9])
            elif parts[0] == "DMG" and len(parts) > 2:
                values.add(parts[2])
    return values


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_no_phi_in_output_or_report(case, tmp_path):
    args = ["convert", "--era", str(case / "era.835"), "--claims", str(case / "claims.837"), "--out",
            str(tmp_path), "--as-of", "2026-04-01", "--json"]
    if (case / "coverage.csv").exists():
        args += ["--coverage", str(case / "coverage.csv")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (0, 1)
    phi = phi_of((case / "claims.837").read_text(), (case / "era.835").read_text())
    assert phi, "the case has no PHI to look for"
    report = (tmp_path / "era.report.json").read_text()
    for value in phi:
        assert value not in result.output
        assert value not in report
