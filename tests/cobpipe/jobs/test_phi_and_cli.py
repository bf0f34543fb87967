"""No PHI in logs, reason files or status; the jobs commands' exit codes and output."""
import json
import logging
import os
import time

import pytest
from click.testing import CliRunner

from cobpipe.cli import main
from cobpipe.jobs import outcome as outcome_module
from cobpipe.jobs import process as process_module
from cobpipe.jobs.batch import run_once
from cobpipe.logs import error_fields, event

from jobfiles import PHI, claims_837, drop, era_835

PHI_VALUES = list(PHI.values()) + ["1931-12-31"]


def assert_no_phi(text: str, where: str) -> None:
    for value in PHI_VALUES:
        assert value not in text, f"{value!r} leaked into {where}"


def test_event_writes_only_safe_fields(json_log):
    log = logging.getLogger("cobpipe.jobs")
    event(log, "file.converted", file="era.835", claims=["A1"], patient_name=PHI["last_name"],
          member=PHI["member_primary"])
    [line] = json_log
    data = json.loads(line)
    assert data["event"] == "file.converted" and data["claims"] == ["A1"] and data["file"] == "era.835"
    assert "patient_name" not in data and "member" not in data
    assert_no_phi(line, "a log line")


def test_error_fields_keep_the_message_of_our_errors_only():
    from edi.errors import EdiError

    try:
        raise KeyError(PHI["member_primary"])
    except KeyError as exc:
        fields = error_fields(exc)
    assert fields["error"] == "KeyError" and "message" not in fields and fields["where"].startswith("test_")
    assert_no_phi(json.dumps(fields), "error fields")
    ours = error_fields(EdiError("CLP04 is not a number", segment=14, line=14, claim="A1"))
    assert ours == {"error": "EdiError", "message": "CLP04 is not a number", "segment": 14, "line": 14,
                    "claim": "A1"}


def test_full_flow_leaks_no_phi(root, ledger, options, json_log, monkeypatch):
    drop(root.inbound, "claims.837", claims_837(["P1", "P2"]))
    drop(root.inbound, "era.835", era_835(["P1", "P2", "P9"]))  # P9 unmatched
    text = era_835(["P1"], control=502)
    truncated = drop(root.inbound, "cut.835", text[: text.index("CAS*")])
    old = time.time() - options.truncated_after - 10
    os.utime(truncated, (old, old))
    drop(root.inbound, "letter.txt", f"Dear {PHI['first_name']} {PHI['last_name']}, DOB {PHI['birth_date']}")
    drop(root.inbound, "bad-dates.837",
         claims_837(["P3"], control=103).replace("DMG*D8*", "DMG*D8*X").replace("CLM*P3*33", "CLM*P3*3X3"))
    run_once(root, ledger, options)

    real = process_module.pipeline.convert_era

    def leaky(*args, **kwargs):
        raise ValueError(f"member {PHI['member_primary']} born {PHI['birth_date']}")

    monkeypatch.setattr(process_module.pipeline, "convert_era", leaky)
    drop(root.inbound, "boom.835", era_835(["P2"], control=503))
    run_once(root, ledger, options)
    monkeypatch.setattr(process_module.pipeline, "convert_era", real)

    assert len(json_log) >= 6
    assert any('"claims": ["P1", "P2"]' in line for line in json_log)  # claim ids are fine
    for line in json_log:
        assert_no_phi(line, "the log")
    reasons = list(root.rejected.glob("*.reason.json"))
    assert {json.loads(p.read_text())["reason"] for p in reasons} >= {"truncated", "not-x12", "internal-error"}
    for reason in reasons:
        assert_no_phi(reason.read_text(), reason.name)
    runner = CliRunner()
    for args in (["status", str(root.path)], ["status", str(root.path), "--json"]):
        result = runner.invoke(main, args, catch_exceptions=False)
        assert result.exit_code == 0
        assert_no_phi(result.output, "status")
    status = json.loads(runner.invoke(main, ["status", str(root.path), "--json"]).stdout)
    assert status["claims"]["unmatched"] == 1 and status["claims"]["converted"] == 2
    assert status["files"]["rejected"] == 3


def test_run_command_exit_codes_and_json(root):
    runner = CliRunner()
    drop(root.inbound, "claims.837", claims_837(["C1"]))
    drop(root.inbound, "era.835", era_835(["C1"]))
    result = runner.invoke(main, ["run", str(root.path), "--json"])
    assert result.exit_code == 0, result.output
    outcomes = json.loads(result.stdout)
    assert [(o["file"], o["status"]) for o in outcomes] == [("claims.837", "stored"), ("era.835", "converted")]
    drop(root.inbound, "junk.835", "not x12 at all")
    result = runner.invoke(main, ["run", str(root.path)])
    assert result.exit_code == 1
    assert "junk.835: rejected (not-x12)" in result.stdout
    assert json.loads(result.stderr.splitlines()[0])["event"] == "file.rejected"  # JSON log lines


def test_run_refuses_an_unusable_configuration(root, tmp_path):
    runner = CliRunner()
    coverage = tmp_path / "coverage.csv"
    coverage.write_text("claim_id\nX\n")
    drop(root.inbound, "era.835", era_835(["C1"]))
    result = runner.invoke(main, ["run", str(root.path), "--coverage", str(coverage)])
    assert result.exit_code == 2
    assert "missing columns" in result.output
    assert (root.inbound / "era.835").exists()
    (root.ledger_path).write_bytes(b"garbage" * 1000)
    result = runner.invoke(main, ["run", str(root.path)])
    assert result.exit_code == 2 and "not a cobpipe ledger" in result.output


def test_status_text(root):
    runner = CliRunner()
    drop(root.inbound, "claims.837", claims_837(["T1", "T2"]))
    drop(root.inbound, "era.835", era_835(["T1"]))
    runner.invoke(main, ["run", str(root.path)])
    result = runner.invoke(main, ["status", str(root.path)])
    assert result.exit_code == 0
    assert "2 processed, 0 rejected" in result.output
    assert "2 stored; 1 converted" in result.output and "1 pending" in result.output


@pytest.mark.parametrize("command", ["watch", "run", "sftp-serve", "status"])
def test_help_shows_an_example(command):
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0 and "Example:" in result.output


def test_a_log_event_lists_the_first_claims_and_says_how_many_there_were(root, ledger, options, json_log,
                                                                          monkeypatch):
    """A 100k-claim ERA must not write a megabyte log line; the report lists every claim."""
    monkeypatch.setattr(outcome_module, "LOGGED_CLAIMS_MAX", 2)
    drop(root.inbound, "claims.837", claims_837(["P1", "P2", "P3"]))
    drop(root.inbound, "era.835", era_835(["P1", "P2", "P3", "P8", "P9"]))  # P8, P9 unmatched
    run_once(root, ledger, options)
    events = [json.loads(line) for line in json_log]
    [partial] = [e for e in events if e["event"] == "file.partial"]
    assert partial["claims"] == ["P1", "P2"] and partial["claims_total"] == 3
    [problems] = [e for e in events if e["event"] == "claims.not_converted"]
    assert problems["claims"] == ["P8", "P9"] and "claims_total" not in problems
