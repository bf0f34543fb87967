import json
import os
import socket
import time

import pytest

from cobpipe import pipeline
from cobpipe.jobs import process as process_module
from cobpipe.jobs.batch import exit_code, ordered, run_once
from cobpipe.jobs.process import Status, process_inbound, recover

from jobfiles import claims_837, drop, era_835


def names(folder):
    return sorted(p.name for p in folder.iterdir() if p.is_file())


def test_an_837p_is_stored_and_archived(root, ledger, options):
    path = drop(root.inbound, "claims.837", claims_837(["A1", "A2"]))
    outcome = process_inbound(path, ledger, root, options)
    assert outcome.status is Status.STORED
    assert outcome.counts == {"claims": 2, "new_or_changed": 2}
    assert names(root.inbound) == []
    assert names(root.archive) == ["claims.837"]
    assert [c.id for c in ledger.claims_for("A2")] == ["A2"]
    assert ledger.file(outcome.sha256).outcome == "stored"


def test_an_835_is_converted_into_outbound_then_archived(root, ledger, options):
    process_inbound(drop(root.inbound, "claims.837", claims_837(["A1", "A2"])), ledger, root, options)
    outcome = process_inbound(drop(root.inbound, "era.835", era_835(["A1", "A2"])), ledger, root, options)
    assert outcome.status is Status.CONVERTED, outcome
    stem = f"era.{outcome.sha256[:12]}"
    assert names(root.outbound) == [f"{stem}.837", f"{stem}.report.json"]
    assert names(root.archive) == ["claims.837", "era.835"]
    assert names(root.inbound) == []
    assert list(root.work.iterdir()) == []
    secondary = (root.outbound / f"{stem}.837").read_text()
    assert secondary.count("CLM*") == 2 and "IEA*1*000000001" in secondary
    assert ledger.was_issued("A1", "22222") and ledger.was_issued("A2", "22222")
    [issued] = ledger.issued_for("A1")
    assert (issued.output, issued.isa13, issued.gs06) == (f"{stem}.837", 1, 1)
    report = json.loads((root.outbound / f"{stem}.report.json").read_text())
    assert report["counts"]["converted"] == 2


def test_the_same_835_again_is_recognized_and_nothing_new_is_written(root, ledger, options):
    process_inbound(drop(root.inbound, "claims.837", claims_837(["A1"])), ledger, root, options)
    first = process_inbound(drop(root.inbound, "era.835", era_835(["A1"])), ledger, root, options)
    before = {p.name: p.read_bytes() for p in root.outbound.iterdir()}
    again = process_inbound(drop(root.inbound, "era.835", era_835(["A1"])), ledger, root, options)
    assert again.status is Status.DUPLICATE and again.sha256 == first.sha256
    assert {p.name: p.read_bytes() for p in root.outbound.iterdir()} == before
    assert names(root.archive) == sorted(["claims.837", "era.835", f"era.{first.sha256[:12]}.835"])
    assert ledger.control_numbers() == [("GS", "ZZ:SUNRISEPEDS", "ZZ:CLEARHOUSE", 1),
                                        ("ISA", "ZZ:SUNRISEPEDS", "ZZ:CLEARHOUSE", 1),
                                        ("ST", "ZZ:SUNRISEPEDS", "ZZ:CLEARHOUSE", 1)]


def test_a_claim_in_a_second_era_is_not_billed_again(root, ledger, options):
    process_inbound(drop(root.inbound, "claims.837", claims_837(["A1", "A2"])), ledger, root, options)
    process_inbound(drop(root.inbound, "era1.835", era_835(["A1"], control=501)), ledger, root, options)
    second = process_inbound(drop(root.inbound, "era2.835", era_835(["A1", "A2"], control=502)), ledger, root,
                             options)
    assert second.counts == {"converted": 1, "skipped": 1}
    out = (root.outbound / f"era2.{second.sha256[:12]}.837").read_text()
    assert "CLM*A2*" in out and "CLM*A1*" not in out
    assert "IEA*1*000000002" in out  # the next interchange number for the pair


def test_an_era_before_its_claims_is_partial_and_reported(root, ledger, options):
    outcome = process_inbound(drop(root.inbound, "era.835", era_835(["Z9"])), ledger, root, options)
    assert outcome.status is Status.PARTIAL
    assert outcome.counts == {"unmatched": 1}
    assert names(root.outbound) == [f"era.{outcome.sha256[:12]}.report.json"]
    assert ledger.stats().claims_by_status == {"unmatched": 1}
    assert exit_code([outcome]) == 1


def test_a_truncated_file_waits_then_is_rejected_with_a_reason(root, ledger, options):
    text = era_835(["A1"])
    cut = text[: text.rindex("SE*")]
    path = drop(root.inbound, "era.835", cut, age=0)
    assert process_inbound(path, ledger, root, options).status is Status.WAITING
    assert names(root.inbound) == ["era.835"]
    old = time.time() - options.truncated_after - 5
    os.utime(path, (old, old))
    outcome = process_inbound(path, ledger, root, options)
    assert (outcome.status, outcome.reason) == (Status.REJECTED, "truncated")
    assert names(root.rejected) == ["era.835", "era.835.reason.json"]
    reason = json.loads((root.rejected / "era.835.reason.json").read_text())
    assert reason["reason"] == "truncated" and reason["sha256"] == outcome.sha256
    assert ledger.file(outcome.sha256).reason == "truncated"


@pytest.mark.parametrize(("content", "reason"), [
    ("%PDF-1.4 this is a scanned letter", "not-x12"),
    (era_835(["A1"]).replace("ST*835*0001", "ST*999*0001"), "unsupported-transaction"),
    (claims_837(["A1"]).replace("005010X222A1", "005010X223A2"), "unsupported-transaction"),
])
def test_unusable_files_are_rejected_at_once(root, ledger, options, content, reason):
    outcome = process_inbound(drop(root.inbound, "in.x12", content), ledger, root, options)
    assert (outcome.status, outcome.reason) == (Status.REJECTED, reason), outcome
    assert names(root.rejected) == ["in.x12", "in.x12.reason.json"]
    assert names(root.outbound) == [] and ledger.stats().claims_stored == 0


def test_a_rejected_file_fixed_and_dropped_again_is_tried_again(root, ledger, options, monkeypatch):
    process_inbound(drop(root.inbound, "claims.837", claims_837(["A1"])), ledger, root, options)

    def broken(*args, **kwargs):
        raise KeyError("bug")

    monkeypatch.setattr(process_module.pipeline, "convert_era", broken)
    first = process_inbound(drop(root.inbound, "era.835", era_835(["A1"])), ledger, root, options)
    assert (first.status, first.reason) == (Status.REJECTED, "internal-error")
    monkeypatch.undo()
    again = process_inbound(drop(root.inbound, "era.835", era_835(["A1"])), ledger, root, options)
    assert again.status is Status.CONVERTED


def test_a_broken_coverage_file_leaves_the_input_in_place(root, ledger, options, tmp_path):
    from dataclasses import replace

    bad = tmp_path / "coverage.csv"
    bad.write_text("nothing,useful\n1,2\n")
    path = drop(root.inbound, "era.835", era_835(["A1"]))
    outcome = process_inbound(path, ledger, root, replace(options, coverage=bad))
    assert outcome.status is Status.ERROR
    assert names(root.inbound) == ["era.835"] and names(root.rejected) == []
    assert ledger.file(outcome.sha256) is None


def test_symlinks_and_temporary_names_are_never_taken(root, ledger, options, tmp_path):
    secret = tmp_path / "secret.835"
    secret.write_text(era_835(["A1"]))
    (root.inbound / "link.835").symlink_to(secret)
    drop(root.inbound, "era.835.part", era_835(["A1"]))
    assert process_inbound(root.inbound / "link.835", ledger, root, options).status is Status.IGNORED
    assert process_inbound(root.inbound / "era.835.part", ledger, root, options).status is Status.IGNORED
    assert root.inbound_files() == []


def test_archive_never_overwrites(root, ledger, options):
    process_inbound(drop(root.inbound, "claims.837", claims_837(["A1"])), ledger, root, options)
    second = process_inbound(drop(root.inbound, "claims.837", claims_837(["B1"], control=102)), ledger, root,
                             options)
    assert names(root.archive) == sorted(["claims.837", f"claims.{second.sha256[:12]}.837"])


def test_claims_go_before_eras_in_a_batch(root, ledger, options):
    era = drop(root.inbound, "a-era.835", era_835(["A1"]), age=120)
    claims = drop(root.inbound, "z-claims.837", claims_837(["A1"]), age=10)
    assert ordered([era, claims]) == [claims, era]
    outcomes = run_once(root, ledger, options)
    assert [(o.name, o.status) for o in outcomes] == [("z-claims.837", Status.STORED),
                                                     ("a-era.835", Status.CONVERTED)]
    assert exit_code(outcomes) == 0


def test_run_leaves_files_still_being_written(root, ledger, options):
    text = era_835(["A1"])  # a writer still busy: the trailer is not there yet
    drop(root.inbound, "era.835", text[:text.index("GE*")], age=0)
    [outcome] = run_once(root, ledger, options)
    assert outcome.status is Status.WAITING
    assert names(root.inbound) == ["era.835"]


def test_outputs_committed_but_not_published_are_published_on_recovery(root, ledger, options, monkeypatch):
    """A crash between COMMIT and publishing (S4/S5): the restart publishes from the work folder."""
    process_inbound(drop(root.inbound, "claims.837", claims_837(["A1"])), ledger, root, options)

    def crash(*args):
        raise SystemExit("killed")

    monkeypatch.setattr(process_module, "_publish", crash)
    with pytest.raises(SystemExit):
        process_inbound(drop(root.inbound, "era.835", era_835(["A1"])), ledger, root, options)
    monkeypatch.undo()
    assert names(root.outbound) == [] and names(root.inbound) == ["era.835"]
    published = recover(root, ledger)
    assert sorted(p.name for p in published) == [n for n in names(root.outbound)]
    assert len(published) == 2
    outcome = process_inbound(root.inbound / "era.835", ledger, root, options)
    assert outcome.status is Status.DUPLICATE
    assert names(root.inbound) == [] and list(root.work.iterdir()) == []


def test_a_crash_before_commit_gives_the_control_numbers_back(root, ledger, options, monkeypatch):
    process_inbound(drop(root.inbound, "claims.837", claims_837(["A1"])), ledger, root, options)
    real = pipeline.convert_era

    def convert_then_die(*args, **kwargs):
        real(*args, **kwargs)
        raise SystemExit("killed")

    monkeypatch.setattr(process_module.pipeline, "convert_era", convert_then_die)
    with pytest.raises(SystemExit):
        process_inbound(drop(root.inbound, "era.835", era_835(["A1"])), ledger, root, options)
    monkeypatch.undo()
    assert names(root.outbound) == [] and ledger.control_numbers() == []
    assert not ledger.was_issued("A1", "22222")
    outcome = process_inbound(root.inbound / "era.835", ledger, root, options)
    assert outcome.status is Status.CONVERTED
    assert "IEA*1*000000001" in (root.outbound / f"era.{outcome.sha256[:12]}.837").read_text()


@pytest.mark.parametrize("contents", [{}, {".owner": ""}, {".owner": "myhost"}])
def test_recover_deletes_folders_killed_while_being_created_or_removed(root, ledger, contents):
    """A SIGKILL between mkdir and writing .owner, or in the middle of removing a folder (the
    .owner goes last), leaves a folder with nothing but an unreadable owner: nothing to lose."""
    work = root.work / "pending-0123456789ab"
    work.mkdir(parents=True)
    for name, text in contents.items():
        (work / name).write_text(text)
    recover(root, ledger)
    assert list(root.work.iterdir()) == []


def test_recover_keeps_a_folder_whose_owner_is_alive_or_unknown(root, ledger):
    alive = root.work / "pending-aaaaaaaaaaaa"
    alive.mkdir(parents=True)
    (alive / ".owner").write_text(f"{socket.gethostname()} {os.getppid()}")
    (alive / "era.835").write_text("ISA")
    unknown = root.work / "pending-bbbbbbbbbbbb"
    unknown.mkdir()
    (unknown / "era.835").write_text("ISA")  # owner file lost but content present: wait for staleness
    recover(root, ledger)
    assert sorted(p.name for p in root.work.iterdir()) == [alive.name, unknown.name]
    recover(root, ledger, stale_after=-1)
    assert list(root.work.iterdir()) == []


def test_a_removed_work_folder_loses_its_owner_last(tmp_path, monkeypatch):
    work = tmp_path / "w"
    (work / "out").mkdir(parents=True)
    for name in (".owner", "a.835", "out/x.837"):
        (work / name).write_text("x")
    seen = []
    real_unlink = type(work).unlink

    def unlink(self, *args, **kwargs):
        seen.append(self.name)
        return real_unlink(self, *args, **kwargs)

    monkeypatch.setattr(type(work), "unlink", unlink)
    process_module._remove_work(work)
    assert seen[-1] == ".owner" and not work.exists()
