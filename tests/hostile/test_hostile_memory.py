"""Issue 15, item 1: malformed input is refused or processed in bounded memory and time.

Each shape is generated at two sizes, 10x apart; the peak RSS of the command (measured in its
own process) must not grow with the input, and stays far below the 200 MB target. Without the
caps, memory grew by 2-3 KB per bad segment (a 50 MB file needs several GB).
"""
from __future__ import annotations

import json
import os
import time

import pytest

from edi.reader import LOOP_LIMIT

from hostile_files import (bad_segment_ids, claim_flooded, claims_837, claims_flooded, endless_segment,
                           unknown_segments, zz_only)

SMALL, LARGE = 5_000_000, 50_000_000  # bytes
TARGET_MB = 200
GROWTH_MB = 15  # allowed difference between the 5 MB and the 50 MB run (noise, not growth)


def old(path):
    past = time.time() - 120
    os.utime(path, (past, past))
    return path


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr[-2000:]
    return lines[0]


def flat(small, large) -> None:
    assert large.mb < TARGET_MB, f"{large.mb:.0f} MB"
    assert large.mb - small.mb < GROWTH_MB, f"{small.mb:.0f} MB -> {large.mb:.0f} MB"


@pytest.mark.parametrize("kind", ["837", "835"])
def test_validate_refuses_millions_of_bad_segment_ids_in_flat_memory(tmp_path, measured, kind):
    runs = []
    for size in (SMALL, LARGE):
        path = bad_segment_ids(tmp_path / f"bad{size}.{kind}", size // 3)  # "x~\n"
        runs.append(measured("validate", str(path)))
    for run in runs:
        assert run.exit == 2, run.stderr[-500:]
        line = one_line(run.stderr)
        assert "refused" in line and "seg " in line and f"bad" in line and "ENV013" in line
    flat(*runs)


def test_convert_refuses_an_era_with_millions_of_unknown_segments_and_writes_nothing(tmp_path, measured):
    claims = tmp_path / "claims.837"
    claims.write_text(claims_837(["ZZC0", "ZZC1", "ZZC2"]))
    runs = []
    for size in (SMALL, LARGE):
        era = unknown_segments(tmp_path / f"zz{size}.835", size // 6)  # "ZZ*1~\n"
        out = tmp_path / f"out{size}"
        runs.append(measured("convert", "--era", str(era), "--claims", str(claims), "--out", str(out)))
        assert not out.exists() or list(out.iterdir()) == []
    for run in runs:
        assert run.exit == 2, run.stderr[-500:]
        line = one_line(run.stderr)
        assert "refused" in line and "seg " in line and "zz" in line
    flat(*runs)


def test_validate_refuses_a_file_of_nothing_but_unknown_segments(tmp_path, measured):
    runs = [measured("validate", str(zz_only(tmp_path / f"zzonly{size}.835", size // 6)))
            for size in (SMALL, LARGE)]
    for run in runs:
        assert run.exit == 2, run.stderr[-500:]
        assert "refused" in one_line(run.stderr)
    flat(*runs)


@pytest.mark.parametrize("shape", ["era-unknown", "837-bad-ids", "835-zz-only", "837-zz-in-claim",
                                   "835-endless-segment"])
def test_the_drop_folder_rejects_hostile_files_in_flat_memory_with_a_small_reason(tmp_path, measured, shape):
    runs = []
    for size in (SMALL, LARGE):
        root = tmp_path / f"root{size}"
        (root / "inbound").mkdir(parents=True)
        target = root / "inbound" / f"{shape}.{'837' if '837' in shape else '835'}"
        if shape == "era-unknown":
            unknown_segments(target, size // 6)
        elif shape == "837-bad-ids":
            bad_segment_ids(target, size // 3)
        elif shape == "837-zz-in-claim":
            claims_flooded(target, size // 6)
        elif shape == "835-endless-segment":
            endless_segment(target, size)
        else:
            zz_only(target, size // 6)
        old(target)
        run = measured("run", str(root), "--settle", "0", "--json")
        runs.append(run)
        assert run.exit == 1, run.stderr[-500:]
        [outcome] = json.loads(run.stdout)
        assert outcome["status"] == "rejected", outcome
        assert outcome["reason"] == ("not-x12" if shape == "835-endless-segment" else "too-many-errors"), outcome
        assert list((root / "outbound").iterdir()) == []
        reasons = list((root / "rejected").glob("*.reason.json"))
        assert len(reasons) == 1 and reasons[0].stat().st_size < 2000
        assert "refused" in json.loads(reasons[0].read_text())["message"]
        assert len(run.stderr) < 20_000  # the log lines stay small
    flat(*runs)


@pytest.mark.parametrize("unit", ["CAS*CO*45*0", "SVC*HC:99213*33*10**1"])
def test_a_claim_flooded_with_segments_is_refused_in_flat_memory(tmp_path, measured, unit):
    """Millions of zero CAS (an error each) or of service lines in one claim: refused once a claim
    holds more segments than any guide allows (edi.reader.LOOP_LIMIT), before a parser keeps them."""
    claims = tmp_path / "claims.837"
    claims.write_text(claims_837(["FLOOD1"]))
    runs = []
    for size in (SMALL, LARGE):
        era = claim_flooded(tmp_path / f"flood{size}.835", size // (len(unit) + 2), unit)
        runs.append(measured("convert", "--era", str(era), "--claims", str(claims), "--out", str(tmp_path / "o")))
    for run in runs:
        assert run.exit == 2, run.stderr[-500:]
        line = one_line(run.stderr)
        assert "refused" in line and "one claim" in line and "flood" in line
    flat(*runs)


@pytest.mark.parametrize("unit", ["CAS*CO*45*0", "SVC*HC:99213*33*10**1"])
def test_a_claim_just_below_the_limit_gives_a_report_of_its_size_not_of_its_errors(tmp_path, measured, unit):
    claims = tmp_path / "claims.837"
    claims.write_text(claims_837(["FLOOD1"]))
    era = claim_flooded(tmp_path / "flood.835", LOOP_LIMIT - 100, unit)
    run = measured("convert", "--era", str(era), "--claims", str(claims), "--out", str(tmp_path / "o"),
                   "--db", str(tmp_path / "ledger.db"))
    assert run.exit == 1, run.stderr[-500:]  # rejected: the claim does not balance / lines do not match
    assert run.mb < TARGET_MB, f"{run.mb:.0f} MB"
    [report] = (tmp_path / "o").glob("*.report.json")
    data = json.loads(report.read_text())
    assert len(data["claims"]) == 1
    assert report.stat().st_size < 100_000, report.stat().st_size  # 100 per code and a count, not 30,000
    findings = data["claims"][0].get("findings", [])
    assert any("more" in f["message"] and "not listed" in f["message"] for f in findings)


@pytest.mark.parametrize("command", ["validate", "convert"])
def test_a_segment_without_end_is_refused_in_flat_memory(tmp_path, measured, command):
    claims = tmp_path / "claims.837"
    claims.write_text(claims_837(["LONG1"]))
    runs = []
    for size in (SMALL, LARGE):
        era = endless_segment(tmp_path / f"long{size}.835", size)
        args = [str(era)] if command == "validate" else ["--era", str(era), "--claims", str(claims), "--out",
                                                         str(tmp_path / "o")]
        runs.append(measured(command, *args))
    for run in runs:
        assert run.exit == 2, run.stderr[-500:]
        line = one_line(run.stderr)
        assert "long" in line and "seg 4" in line and "no segment terminator" in line
    flat(*runs)
