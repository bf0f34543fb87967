"""Issue 15, item 9: a transaction set whose SE01 is not its segment count is refused."""
from __future__ import annotations

import json
import os
import time

from cobpipe.ledger import Ledger

from hostile_files import claims_837, claims_cut_midway, era_with_wrong_count


def old(path):
    past = time.time() - 120
    os.utime(path, (past, past))
    return path


def test_convert_refuses_an_era_whose_se01_says_39_while_200_thousand_segments_are_there(tmp_path, measured):
    claims = tmp_path / "claims.837"
    claims.write_text(claims_837(["CNT0000000", "CNT0000001"]))
    era = era_with_wrong_count(tmp_path / "era.835", 22_000)  # ~198,000 segments, SE01 says 39
    out = tmp_path / "out"
    run = measured("convert", "--era", str(era), "--claims", str(claims), "--out", str(out))
    assert run.exit == 2, run.stdout + run.stderr
    [line] = [x for x in run.stderr.splitlines() if x.strip()]
    assert "era.835 seg " in line and "SE01 says 39 segments" in line and "refused" in line
    assert not out.exists() or list(out.iterdir()) == []


def test_convert_refuses_claims_cut_midway(tmp_path, measured):
    claims = claims_cut_midway(tmp_path / "cut.837", ["A1", "A2", "A3"])
    era = tmp_path / "era.835"
    era.write_text(era_with_wrong_count(tmp_path / "ok.835", 3).read_text())
    run = measured("convert", "--era", str(era), "--claims", str(claims), "--out", str(tmp_path / "out"))
    assert run.exit == 2, run.stdout + run.stderr
    [line] = [x for x in run.stderr.splitlines() if x.strip()]
    assert "cut.837 seg " in line and "SE01" in line


def test_the_drop_folder_rejects_both_and_stores_no_claim_of_the_cut_file(tmp_path, measured):
    root = tmp_path / "root"
    (root / "inbound").mkdir(parents=True)
    old(claims_cut_midway(root / "inbound" / "cut.837", ["A1", "A2", "A3"]))
    old(era_with_wrong_count(root / "inbound" / "era.835", 5000))
    run = measured("run", str(root), "--settle", "0", "--json")
    assert run.exit == 1, run.stderr[-2000:]
    outcomes = {o["file"]: o for o in json.loads(run.stdout)}
    for name in ("cut.837", "era.835"):
        assert outcomes[name]["status"] == "rejected" and outcomes[name]["reason"] == "bad-counts", outcomes
        reason = json.loads((root / "rejected" / f"{name}.reason.json").read_text())
        assert "SE01 says" in reason["message"] and reason["segment"]
    assert list((root / "outbound").iterdir()) == []
    with Ledger.open(root / ".cobpipe" / "ledger.db") as ledger:
        assert ledger.claims_for("A1") == [] and ledger.claims_for("A2") == []
        assert ledger.stats().issued == 0
