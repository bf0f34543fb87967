"""A folder of ROOT that cannot be written (disk full, read-only mount, a file where the folder
should be): the input stays in inbound, the job goes on with the other files, the log says which
file or folder failed, and the next attempt once it is repaired finishes the work.

The tests run as any user (root ignores permission bits), so the unwritable folder is made real by
putting a regular file where the folder should be: every write into it fails with ENOTDIR."""
import json
import shutil

from cobpipe.jobs.batch import run_once
from cobpipe.jobs.process import Status, process_inbound

from jobfiles import claims_837, drop, era_835


def names(folder):
    return sorted(p.name for p in folder.iterdir() if p.is_file())


def _break(folder):
    shutil.rmtree(folder)
    folder.write_text("not a folder\n")


def _repair(folder):
    folder.unlink()
    folder.mkdir()


def _errors(json_log):
    return [line for line in map(json.loads, json_log) if line["event"] == "file.error"]


def test_an_unwritable_rejected_folder_leaves_the_input_in_inbound(root, ledger, options, json_log):
    junk = drop(root.inbound, "junk.txt", "this is not X12 at all\n")
    _break(root.rejected)
    outcome = process_inbound(junk, ledger, root, options)  # used to raise NotADirectoryError
    assert outcome.status is Status.ERROR
    assert names(root.inbound) == ["junk.txt"]
    [error] = _errors(json_log)
    assert error["file"] == "junk.txt" and "rejected" in error["message"], error
    _repair(root.rejected)
    again = process_inbound(junk, ledger, root, options)
    assert again.status is Status.REJECTED and again.reason == "not-x12"
    assert names(root.rejected) == ["junk.txt", "junk.txt.reason.json"] and names(root.inbound) == []


def test_a_failing_rejection_does_not_stop_the_run(root, ledger, options):
    drop(root.inbound, "junk.txt", "this is not X12 at all\n")
    drop(root.inbound, "zz-claims.837", claims_837(["D1"]))
    _break(root.rejected)
    outcomes = {o.name: o.status for o in run_once(root, ledger, options)}
    assert outcomes == {"junk.txt": Status.ERROR, "zz-claims.837": Status.STORED}
    assert names(root.inbound) == ["junk.txt"] and names(root.archive) == ["zz-claims.837"]


def test_a_truncated_file_that_cannot_be_rejected_stays_in_inbound(root, ledger, options):
    text = claims_837(["T1"])
    cut = drop(root.inbound, "claims.837", text[: text.rindex("GE*")], age=options.truncated_after + 60)
    _break(root.rejected)
    assert process_inbound(cut, ledger, root, options).status is Status.ERROR
    assert names(root.inbound) == ["claims.837"]


def test_an_unwritable_outbound_folder_is_named_in_the_log_and_recovered_later(root, ledger, options, json_log):
    process_inbound(drop(root.inbound, "claims.837", claims_837(["O1"])), ledger, root, options)
    era = drop(root.inbound, "era.835", era_835(["O1"]))
    _break(root.outbound)
    outcome = process_inbound(era, ledger, root, options)
    assert outcome.status is Status.ERROR
    assert names(root.inbound) == ["era.835"]
    [error] = _errors(json_log)
    assert error["file"] == "era.835" and "outbound" in error["message"], error
    _repair(root.outbound)
    again = process_inbound(era, ledger, root, options)  # committed before: published, not converted again
    assert again.status is Status.DUPLICATE
    stem = f"era.{outcome.sha256[:12]}"
    assert names(root.outbound) == [f"{stem}.837", f"{stem}.report.json"]
    assert names(root.inbound) == [] and "era.835" in names(root.archive)
    assert [n for k, _s, _r, n in ledger.control_numbers() if k == "ISA"] == [1]
