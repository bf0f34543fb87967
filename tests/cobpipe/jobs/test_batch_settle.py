"""Issue 16: `cobpipe run ROOT` right after complete files were copied in processes them at once;
only files without their trailer (or whose trailer does not close the interchange) wait."""
import json
import os
import subprocess
import sys

from cobpipe.jobs.batch import run_once
from cobpipe.jobs.intake import finished
from cobpipe.jobs.process import JobOptions, Status

from jobfiles import claims_837, drop, era_835


def test_complete_files_copied_in_a_moment_ago_are_processed_by_an_immediate_run(root, ledger):
    options = JobOptions(settle=3600)  # far longer than the test: only completeness can let them in
    drop(root.inbound, "claims.837", claims_837(["A1"]), age=0)
    drop(root.inbound, "era.835", era_835(["A1"]), age=0)
    outcomes = {o.name: o.status for o in run_once(root, ledger, options)}
    assert outcomes == {"claims.837": Status.STORED, "era.835": Status.CONVERTED}


def test_fresh_files_without_a_complete_interchange_still_wait(root, ledger):
    options = JobOptions(settle=3600)
    text = era_835(["A1"])
    drop(root.inbound, "no-trailer.835", text[:text.index("GE*")], age=0)
    drop(root.inbound, "wrong-iea.835", text.replace("IEA*1*000000501", "IEA*1*000000999"), age=0)
    drop(root.inbound, "wrong-count.835", text.replace("GE*1*501", "GE*2*501"), age=0)
    drop(root.inbound, "half-of-two.835", text + text.replace("ISA*", "ISA*", 1)[:200], age=0)
    outcomes = run_once(root, ledger, options)
    assert {o.name: (o.status, o.reason) for o in outcomes} == {
        name: (Status.WAITING, "settling") for name in
        ("no-trailer.835", "wrong-iea.835", "wrong-count.835", "half-of-two.835")}
    assert sorted(p.name for p in root.inbound.iterdir() if p.is_file()) == sorted(o.name for o in outcomes)


def test_finished_reads_the_envelope_of_every_interchange(tmp_path):
    two = tmp_path / "two.835"
    two.write_text(era_835(["A1"], control=501) + era_835(["A2"], control=502))
    assert finished(two)
    spliced = tmp_path / "spliced.835"
    first = era_835(["A1"], control=501)
    spliced.write_text(first[:first.index("IEA*")] + era_835(["A2"], control=502))
    assert not finished(spliced)  # the first interchange never closed


def test_the_cli_run_right_after_copying_processes_the_files(root):
    drop(root.inbound, "claims.837", claims_837(["B1", "B2"]), age=0)
    drop(root.inbound, "era.835", era_835(["B1", "B2"]), age=0)
    done = subprocess.run([sys.executable, "-m", "cobpipe.cli", "run", str(root.path), "--json"],
                          capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if k != "COBPIPE_TEST_CRASH_AT"})
    assert done.returncode == 0, done.stderr
    statuses = {o["file"]: o["status"] for o in json.loads(done.stdout)}
    assert statuses == {"claims.837": "stored", "era.835": "converted"}
    assert len(list(root.outbound.glob("*.837"))) == 1
