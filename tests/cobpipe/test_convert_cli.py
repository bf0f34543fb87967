"""`cobpipe convert` as users run it: exit codes, unusable inputs, batches, atomic outputs."""
from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cobpipe.cli import main
from cobpipe.pipeline import ConvertOptions, run_batch

ROOT = Path(__file__).parents[2]
SAMPLES = ROOT / "samples" / "cob"
GOLDEN = ROOT / "tests" / "golden"


def run(*args):
    return CliRunner().invoke(main, ["convert", *map(str, args), "--as-of", "2026-04-01"])


def test_bundled_samples_convert_cleanly(tmp_path):
    result = run("--era", SAMPLES, "--claims", SAMPLES, "--coverage", SAMPLES / "coverage.csv", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["era.837", "era.report.json", "seed-era.837",
                                                          "seed-era.report.json"]
    report = json.loads((tmp_path / "seed-era.report.json").read_text())
    assert report["claims"] == [{"id": "SEED001", "status": "converted", "payer_id": "22222", "segment": 14,
                                 "level": "S", "era_payer": "ACME HEALTH PLAN (1512345678)",
                                 "state": "billed_secondary",
                                 "reasons": ["billed to payer 22222 (claim 2320) as SBR01 S"]}]
    seed = (tmp_path / "seed-era.837").read_text()
    for expected in ("SBR*S*18*GRP200******CI~", "NM1*PR*2*BLUE STAR INSURANCE*****PI*22222~",
                     "SBR*P*18*GRP100******CI~", "AMT*D*10~", "NM1*PR*2*ACME HEALTH PLAN*****PI*11111~",
                     "REF*F8*ACME26079000123~", "SVD*11111*10*HC:99213**1~", "CAS*CO*45*13~", "CAS*PR*1*10~",
                     "DTP*573*D8*20260320~", "AMT*EAF*10~"):
        assert expected in seed


def test_rejected_and_unmatched_claims_exit_1_and_are_reported(tmp_path):
    result = run("--era", SAMPLES / "problems" / "era.835", "--claims", SAMPLES / "claims.837", "--out", tmp_path)
    assert result.exit_code == 1
    report = json.loads((tmp_path / "era.report.json").read_text())
    assert {c["id"]: c["status"] for c in report["claims"]} == {
        "BADLINE01": "rejected", "UNMATCHGHOST01": "unmatched", "NOCOV01": "rejected"}
    assert not (tmp_path / "era.837").exists()


def test_good_claims_are_written_beside_rejected_ones(tmp_path):
    case = GOLDEN / "08-unmatched"
    result = run("--era", case / "era.835", "--claims", case / "claims.837", "--out", tmp_path)
    assert result.exit_code == 1
    assert "CLM*UNMATCHOK01*" in (tmp_path / "era.837").read_text()


@pytest.mark.parametrize("content, message", [
    (b"", "empty file"),
    (b"\x00\x01\x02binary\xff" * 50, "binary"),
    (b"hello, this is not EDI\n", "not X12"),
    (b"ISA*00*          *00*     ", "truncated ISA"),
])
def test_unusable_era_exits_2_with_one_line_and_writes_nothing(tmp_path, content, message):
    era = tmp_path / "bad.835"
    era.write_bytes(content)
    out = tmp_path / "out"
    result = run("--era", era, "--claims", SAMPLES / "seed-claims.837", "--out", out)
    assert result.exit_code == 2
    assert message in result.output and "bad.835" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert not out.exists() or not any(out.iterdir())


def test_truncated_era_and_wrong_transaction_exit_2(tmp_path):
    seed = (SAMPLES / "seed-era.835").read_text()
    truncated = tmp_path / "cut.835"
    truncated.write_text(seed[: seed.index("SE*")])
    claims_as_era = tmp_path / "claims.835"
    shutil.copy(SAMPLES / "seed-claims.837", claims_as_era)
    for era, message in ((truncated, "truncated"), (claims_as_era, "not an 835")):
        out = tmp_path / f"out-{era.stem}"
        result = run("--era", era, "--claims", SAMPLES / "seed-claims.837", "--out", out)
        assert result.exit_code == 2 and message in result.output, result.output
        assert not out.exists() or not any(out.iterdir())


def test_an_unusable_era_in_a_batch_stops_the_whole_batch_before_writing(tmp_path):
    bad = tmp_path / "zz-bad.835"
    bad.write_text("not x12")
    out = tmp_path / "out"
    result = run("--era", SAMPLES / "seed-era.835", "--era", bad, "--claims", SAMPLES / "seed-claims.837",
                 "--out", out)
    assert result.exit_code == 2
    assert not out.exists() or not any(out.iterdir())


def test_835_given_as_claims_exits_2(tmp_path):
    result = run("--era", SAMPLES / "seed-era.835", "--claims", SAMPLES / "seed-era.835", "--out", tmp_path / "o")
    assert result.exit_code == 2 and "seed-era.835" in result.output


def test_unusable_coverage_file_exits_2(tmp_path):
    coverage = tmp_path / "coverage.csv"
    coverage.write_text("claim_id,payer_name\nX,Y\n")
    result = run("--era", SAMPLES / "seed-era.835", "--claims", SAMPLES / "seed-claims.837", "--coverage",
                 coverage, "--out", tmp_path / "o")
    assert result.exit_code == 2 and "missing columns" in result.output


def test_ledger_remembers_issued_claims_across_runs(tmp_path):
    args = ("--era", SAMPLES / "seed-era.835", "--claims", SAMPLES / "seed-claims.837", "--db", tmp_path / "l.db")
    first = run(*args, "--out", tmp_path / "one")
    second = run(*args, "--out", tmp_path / "two")
    assert first.exit_code == 0 and second.exit_code == 0
    assert (tmp_path / "one" / "seed-era.837").exists()
    report = json.loads((tmp_path / "two" / "seed-era.report.json").read_text())
    assert report["claims"][0]["status"] == "skipped"
    assert "already billed to payer 22222" in report["claims"][0]["reasons"][-1]
    assert not (tmp_path / "two" / "seed-era.837").exists()


def test_custom_output_delimiters(tmp_path):
    result = run("--era", SAMPLES / "seed-era.835", "--claims", SAMPLES / "seed-claims.837", "--delimiters", "|>!~",
                 "--out", tmp_path)
    assert result.exit_code == 0
    text = (tmp_path / "seed-era.837").read_text()
    assert "SVD|11111|10|HC>99213||1~" in text and text.startswith("ISA|00|")


def test_line_feed_as_segment_terminator(tmp_path):
    """Regression: a line feed terminator was followed by the usual line feed suffix, an empty
    segment between every two, and the guide check rejected every claim (IEA missing)."""
    result = run("--era", SAMPLES / "seed-era.835", "--claims", SAMPLES / "seed-claims.837", "--delimiters", "*:^\n",
                 "--out", tmp_path)
    assert result.exit_code == 0, result.output
    text = (tmp_path / "seed-era.837").read_text()
    assert "\n\n" not in text and "~" not in text and "\nSVD*" in text
    assert CliRunner().invoke(main, ["validate", str(tmp_path / "seed-era.837")]).exit_code == 0


def test_installed_console_script(tmp_path):
    script = Path(sys.executable).parent / "cobpipe"
    if not script.exists():
        pytest.skip("console script not installed in this environment")
    proc = subprocess.run([script, "convert", "--era", SAMPLES / "seed-era.835", "--claims",
                           SAMPLES / "seed-claims.837", "--out", tmp_path, "--as-of", "2026-04-01"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "seed-era.837").exists()


def test_two_workers_give_the_same_claims_as_one(tmp_path):
    args = ("--era", SAMPLES, "--claims", SAMPLES, "--coverage", SAMPLES / "coverage.csv")
    assert run(*args, "--workers", "1", "--out", tmp_path / "one").exit_code == 0
    assert run(*args, "--workers", "2", "--out", tmp_path / "two").exit_code == 0
    for name in ("era.report.json", "seed-era.report.json"):
        one = json.loads((tmp_path / "one" / name).read_text())
        two = json.loads((tmp_path / "two" / name).read_text())
        assert one["claims"] == two["claims"]
    numbers = [json.loads((tmp_path / "two" / n).read_text())["control_numbers"][0]["number"]
               for n in ("era.report.json", "seed-era.report.json")]
    # one ledger (the user's) hands out distinct interchange numbers, continuing after the first run's 1 and 2
    assert numbers == [3, 4]  # in command-line order, whichever worker finished first


def test_two_runs_never_repeat_control_numbers_and_test_data_stays_test(tmp_path):
    """Without --db, control numbers live in the user's state folder (XDG): the README's command
    run twice gives new ISA13/GS06; test data in (ISA15 T) gives test data out unless --usage."""
    import os

    args = ("--era", SAMPLES / "seed-era.835", "--claims", SAMPLES / "seed-claims.837", "--as-of", "2026-04-01")
    first, second = run(*args, "--out", tmp_path / "a"), run(*args, "--out", tmp_path / "b")
    assert first.exit_code == second.exit_code == 0
    isa = [(tmp_path / d / "seed-era.837").read_text().split("~")[0].split("*") for d in "ab"]
    gs = [(tmp_path / d / "seed-era.837").read_text().split("~")[1].split("*") for d in "ab"]
    assert isa[0][13] != isa[1][13] and gs[0][6] != gs[1][6]
    state = Path(os.environ["XDG_STATE_HOME"]) / "cobpipe" / "ledger.db"
    assert state.exists() and str(state) in first.output
    assert (SAMPLES / "seed-era.835").read_text().split("*")[15] == "T"
    assert isa[0][15] == "T"
    from cobpipe.ledger import Ledger

    with Ledger.open(state) as ledger:  # what the runs issued is kept there too, as history
        [issued] = ledger.issued_for("SEED001")
        assert (issued.payer_id, issued.output, issued.payer_level) == ("22222", "seed-era.837", "S")
    assert second.exit_code == 0 and "SEED001" in (tmp_path / "b" / "seed-era.837").read_text()  # not refused
    forced = run(*args, "--out", tmp_path / "c", "--usage", "P")
    assert (tmp_path / "c" / "seed-era.837").read_text().split("*")[15] == "P" and forced.exit_code == 0


@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_last_claims_file_naming_a_claim_wins_whatever_the_workers(tmp_path, workers):
    # a billing office re-exports a claim after fixing it: the later file on the command line is
    # the one billed, also when two workers parse the 837P files side by side
    seed = (SAMPLES / "seed-claims.837").read_text()
    fixed = tmp_path / "fixed.837"
    fixed.write_text(seed.replace("NM1*85*2*SUNRISE PEDIATRICS*", "NM1*85*2*SUNRISE PEDIATRICS GROUP*"))
    base = ("--era", SAMPLES / "seed-era.835", "--era", SAMPLES / "era.835", "--coverage",
            SAMPLES / "coverage.csv", "--workers", workers)
    assert run(*base, "--claims", SAMPLES, "--claims", fixed, "--out", tmp_path / "a").exit_code == 0
    assert run(*base, "--claims", fixed, "--claims", SAMPLES, "--out", tmp_path / "b").exit_code == 0
    assert "NM1*85*2*SUNRISE PEDIATRICS GROUP*" in (tmp_path / "a" / "seed-era.837").read_text()
    assert "NM1*85*2*SUNRISE PEDIATRICS*" in (tmp_path / "b" / "seed-era.837").read_text()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_an_unusable_claims_file_in_a_batch_exits_2_naming_it(tmp_path, workers):
    cut = tmp_path / "cut.837"
    seed = (SAMPLES / "seed-claims.837").read_text()
    cut.write_text(seed[: seed.index("SE*")])
    out = tmp_path / "out"
    result = run("--era", SAMPLES / "seed-era.835", "--era", SAMPLES / "era.835", "--claims", SAMPLES / "claims.837",
                 "--claims", cut, "--claims", SAMPLES / "seed-claims.837", "--workers", workers, "--out", out)
    assert result.exit_code == 2, result.output
    assert "cut.837" in result.output and "truncated" in result.output
    assert "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())


def test_a_batch_index_keeps_only_the_claims_its_eras_remit(tmp_path):
    from cobpipe.ledger import Ledger
    from cobpipe.pipeline import load_claim_files

    with Ledger.open(tmp_path / "all.db") as everything, Ledger.open(tmp_path / "some.db") as some:
        stored = load_claim_files(everything, [SAMPLES / "claims.837", SAMPLES / "seed-claims.837"])
        assert load_claim_files(some, [SAMPLES / "claims.837", SAMPLES / "seed-claims.837"],
                                only=frozenset({"SEED001"})) == 1
        assert stored > 1 and some.stats().claims_stored == 1 and some.claims_for("SEED001")


def test_correction_of_a_claim_already_billed_asks_for_review(tmp_path):
    case = GOLDEN / "10-reversal-correction"
    db = tmp_path / "ledger.db"
    first = run("--era", case / "era.835", "--claims", case / "claims.837", "--db", db, "--out", tmp_path / "a")
    assert first.exit_code == 0
    # the same correction arriving again (e.g. in the next 835) must not bill the secondary twice
    second = run("--era", case / "era.835", "--claims", case / "claims.837", "--db", db, "--out", tmp_path / "b")
    report = json.loads((tmp_path / "b" / "era.report.json").read_text())
    [claim] = report["claims"]
    assert second.exit_code == 1 and claim["status"] == "held"
    assert "replacement claim" in claim["reasons"][-1]


@pytest.mark.parametrize("piped", ["no", "yes", "broken", "after", "after-broken"],
                         ids=["in-process", "validator-process", "validator-process-dies",
                              "validator-process-after-writing", "validator-process-after-writing-dies"])
def test_claim_breaking_the_guide_is_rejected_and_the_rest_written(tmp_path, piped, monkeypatch):
    """The gate checks money; the guide check catches what the original claim carried in wrongly
    (here a place of service that is not a code) and drops just that claim from the outbound file."""
    claims = (SAMPLES / "seed-claims.837").read_text()
    era = (SAMPLES / "seed-era.835").read_text()
    clm_block = claims[claims.index("CLM*SEED001"):claims.index("\nSE*") + 1]
    bad_block = clm_block.replace("SEED001", "SEED002").replace("*11:B:1*", "*X9:B:1*")
    claims = claims.replace("SE*30*0001~", bad_block + f"SE*{30 + bad_block.count('~')}*0001~")
    clp_block = era[era.index("CLP*SEED001"):era.index("\nSE*") + 1]
    era = era.replace("SE*21*0001~", clp_block.replace("SEED001", "SEED002") + f"SE*{21 + clp_block.count('~')}*0001~")
    era = era.replace("BPR*I*10*", "BPR*I*20*")
    (tmp_path / "claims.837").write_text(claims)
    (tmp_path / "era.835").write_text(era)
    if piped in ("broken", "after-broken"):  # the validator process exits at once: validated in-process
        monkeypatch.setattr("cobpipe.pipeline.sys.executable", shutil.which("false"))
    elif piped in ("yes", "after"):  # the validator process answers: the file is not validated again
        monkeypatch.setattr("cobpipe.pipeline._validate_written", None)
    # one claim per transaction set: the rewrite without the bad claim also drops its ST-SE
    options = ConvertOptions(today=dt.date(2026, 4, 1), pipe_validation_from=10**9 if piped == "no" else 0,
                             claims_per_transaction=1)
    # two workers for one ERA: the spare process is the piped validator; one worker starts its
    # validator process once the file is written
    [result] = run_batch([tmp_path / "era.835"], [tmp_path / "claims.837"], tmp_path / "out", options=options,
                         workers=2 if piped in ("yes", "broken") else 1)
    assert result.exit_code == 1
    report = json.loads((tmp_path / "out" / "era.report.json").read_text())
    statuses = {c["id"]: c for c in report["claims"]}
    assert statuses["SEED001"]["status"] == "converted"
    assert statuses["SEED002"]["status"] == "rejected"
    assert "005010X222A1" in statuses["SEED002"]["reasons"][-1]
    assert any(f["code"].startswith("IG-") for f in statuses["SEED002"]["findings"])
    written = (tmp_path / "out" / "era.837").read_text()
    assert "CLM*SEED001*" in written and "SEED002" not in written
    assert written.count("ST*837*") == 1 and "GE*1*" in written and len(result.transactions) == 1
    assert CliRunner().invoke(main, ["validate", str(tmp_path / "out" / "era.837")]).exit_code == 0


@pytest.mark.parametrize("workers, alongside, after", [(1, 0, 1), (2, 1, 0)])
def test_workers_bound_the_processes_one_era_keeps_busy(tmp_path, monkeypatch, workers, alongside, after):
    """--workers N means at most N busy processes: with one worker the validator process starts
    once the output is written (the converter waits for it); a second worker, spare for a single
    ERA, checks the output while it is written."""
    import cobpipe.pipeline as pipeline

    piped, checked_after = [], []

    class CountingValidator(pipeline._PipedValidator):
        def __init__(self, name):
            piped.append(name)
            super().__init__(name)

    def counting_child(path):
        checked_after.append(path.name)
        return validate_in_child(path)

    validate_in_child = pipeline._validate_in_child
    monkeypatch.setattr(pipeline, "_PipedValidator", CountingValidator)
    monkeypatch.setattr(pipeline, "_validate_in_child", counting_child)
    monkeypatch.setattr(pipeline, "_validate_written", None)  # never in the converter's own process
    options = ConvertOptions(today=dt.date(2026, 4, 1), pipe_validation_from=0)
    [result] = run_batch([SAMPLES / "seed-era.835"], [SAMPLES / "seed-claims.837"], tmp_path, options=options,
                         workers=workers)
    assert result.exit_code == 0 and result.output.exists()
    assert (len(piped), len(checked_after)) == (alongside, after)


def test_a_large_output_is_split_into_transaction_sets_and_each_claim_remembers_its_own(tmp_path):
    """Past `claims_per_transaction` claims the 837P holds another ST-SE (the TR3's 5000 by default);
    the ledger records each issued claim with the ST02 of the set that carries it."""
    from cobpipe.ledger import Ledger

    options = ConvertOptions(today=dt.date(2026, 4, 1), claims_per_transaction=4)
    db = tmp_path / "ledger.db"
    [result] = run_batch([SAMPLES / "era.835"], [SAMPLES / "claims.837"], tmp_path / "out", options=options,
                         coverage_path=SAMPLES / "coverage.csv", db_path=db, workers=1)
    assert result.exit_code == 0 and result.counts["converted"] == 10
    text = result.output.read_text()
    assert text.count("ST*837*") == 3 and result.transactions == [(1, 4), (2, 4), (3, 2)]
    assert [k for k, _ in result.control_numbers] == ["ISA", "GS", "ST", "ST", "ST"]
    assert CliRunner().invoke(main, ["validate", str(result.output)]).exit_code == 0
    converted = [d.claim_id for d in result.decisions if d.status == "converted"]
    with Ledger.open(db) as ledger:
        st02 = [ledger.issued_for(claim_id)[0].st02 for claim_id in converted]
    assert st02 == [1, 1, 1, 1, 2, 2, 2, 2, 3, 3]
    sets = text.split("ST*837*")[1:]
    assert [[c.split("*")[0] for c in part.split("CLM*")[1:]] for part in sets] == [
        converted[:4], converted[4:8], converted[8:]]


def test_two_eras_with_one_name_are_refused_before_anything_is_written(tmp_path):
    for folder in ("payer-a", "payer-b"):
        (tmp_path / folder).mkdir()
        shutil.copy(SAMPLES / "seed-era.835", tmp_path / folder / "remit.835")
    out = tmp_path / "out"
    result = run("--era", tmp_path / "payer-a" / "remit.835", "--era", tmp_path / "payer-b" / "remit.835",
                 "--claims", SAMPLES / "seed-claims.837", "--out", out)
    assert result.exit_code == 2 and "remit.837" in result.output
    assert not out.exists()


def test_a_batch_reads_its_coverage_file_once_per_process_and_again_when_it_changes(tmp_path, monkeypatch):
    from cobpipe.cob.coverage import CoverageTable

    loads = []
    load = CoverageTable.load.__func__
    monkeypatch.setattr(CoverageTable, "load", classmethod(lambda cls, path: loads.append(path) or load(cls, path)))
    coverage = tmp_path / "coverage.csv"
    coverage.write_bytes((SAMPLES / "coverage.csv").read_bytes())
    options = ConvertOptions(today=dt.date(2026, 4, 1))
    eras, claims = [SAMPLES / "era.835", SAMPLES / "seed-era.835"], [SAMPLES / "claims.837", SAMPLES / "seed-claims.837"]
    results = run_batch(eras, claims, tmp_path / "a", options=options, coverage_path=coverage, workers=1)
    assert [r.exit_code for r in results] == [0, 0] and len(loads) == 1
    coverage.write_bytes(coverage.read_bytes() + b"\n")
    run_batch(eras, claims, tmp_path / "b", options=options, coverage_path=coverage, workers=1)
    assert len(loads) == 2
