"""An 835 processed before the 837P it answers: its claims are unmatched, and storing the 837P
later converts them from the archived 835 -- once, never billing a claim twice."""
import json

from cobpipe.jobs import process as process_module
from cobpipe.jobs.process import Status, process_inbound

from jobfiles import claims_837, drop, era_835


def billed(root):
    """CLM01s in every secondary 837P in outbound, with how often each was billed."""
    counts = {}
    for out in root.outbound.glob("*.837"):
        for segment in out.read_text().split("~"):
            segment = segment.strip()
            if segment.startswith("CLM*"):
                claim = segment.split("*")[1]
                counts[claim] = counts.get(claim, 0) + 1
    return counts


def test_an_837p_arriving_after_its_835_gets_its_claims_converted(root, ledger, options):
    first = process_inbound(drop(root.inbound, "era.835", era_835(["A1", "A2"])), ledger, root, options)
    assert first.status is Status.PARTIAL and first.counts == {"unmatched": 2}
    assert billed(root) == {}

    stored = process_inbound(drop(root.inbound, "claims.837", claims_837(["A1", "A2", "A3"])), ledger, root,
                             options)
    assert stored.status is Status.STORED
    assert stored.counts["retried_converted"] == 2
    assert billed(root) == {"A1": 1, "A2": 1}
    retry_outputs = sorted(p.name for p in stored.outputs)
    assert retry_outputs == [f"era.{first.sha256[:12]}.retry-{stored.sha256[:12]}.837",
                             f"era.{first.sha256[:12]}.retry-{stored.sha256[:12]}.report.json"]
    report = json.loads((root.outbound / retry_outputs[1]).read_text())
    assert [(c["id"], c["status"]) for c in report["claims"]] == [("A1", "converted"), ("A2", "converted")]
    assert list(root.work.iterdir()) == [] and sorted(p.name for p in root.archive.iterdir()) == [
        "claims.837", "era.835"]
    stats = ledger.stats()
    assert stats.claims_by_status == {"converted": 2}
    assert ledger.file(stored.sha256).detail["retried"][0]["sha256"] == first.sha256


def test_claims_already_settled_are_not_retried_and_nothing_is_billed_twice(root, ledger, options):
    process_inbound(drop(root.inbound, "claims1.837", claims_837(["A1"], control=101)), ledger, root, options)
    process_inbound(drop(root.inbound, "era.835", era_835(["A1", "B1"])), ledger, root, options)
    assert billed(root) == {"A1": 1}
    # the same claim A1 sent again in another 837P, together with the missing B1
    stored = process_inbound(drop(root.inbound, "claims2.837", claims_837(["A1", "B1"], control=102)), ledger,
                             root, options)
    assert stored.counts["retried_converted"] == 1
    assert billed(root) == {"A1": 1, "B1": 1}
    # and once more: nothing awaits now
    again = process_inbound(drop(root.inbound, "claims3.837", claims_837(["B1"], control=103)), ledger, root,
                            options)
    assert "retried_converted" not in again.counts and again.outputs == ()
    assert billed(root) == {"A1": 1, "B1": 1}


def test_an_837p_with_other_claims_retries_nothing(root, ledger, options):
    process_inbound(drop(root.inbound, "era.835", era_835(["A1"])), ledger, root, options)
    stored = process_inbound(drop(root.inbound, "claims.837", claims_837(["Z9"])), ledger, root, options)
    assert stored.outputs == () and "retried_converted" not in stored.counts
    assert ledger.stats().claims_by_status == {"unmatched": 1}


def test_two_835s_awaiting_one_claim_bill_it_once(root, ledger, options):
    process_inbound(drop(root.inbound, "era1.835", era_835(["A1"], control=501)), ledger, root, options)
    process_inbound(drop(root.inbound, "era2.835", era_835(["A1"], control=502)), ledger, root, options)
    stored = process_inbound(drop(root.inbound, "claims.837", claims_837(["A1"])), ledger, root, options)
    assert billed(root) == {"A1": 1}
    counts = [r["counts"] for r in ledger.file(stored.sha256).detail["retried"]]
    assert counts == [{"converted": 1}, {"skipped": 1}]  # the older 835 first, the other finds it billed


def test_the_archived_835_is_found_by_hash_when_its_name_was_not_noted(root, ledger, options, monkeypatch):
    monkeypatch.setattr(process_module, "_note_archived", lambda *args: None)
    process_inbound(drop(root.inbound, "era.835", era_835(["A1"])), ledger, root, options)
    (root.archive / "era.835").rename(root.archive / "era.0123456789ab.835")
    stored = process_inbound(drop(root.inbound, "claims.837", claims_837(["A1"])), ledger, root, options)
    assert stored.counts["retried_converted"] == 1 and billed(root) == {"A1": 1}


def test_a_missing_archived_835_leaves_the_claims_awaiting(root, ledger, options, json_log):
    process_inbound(drop(root.inbound, "era.835", era_835(["A1"])), ledger, root, options)
    (root.archive / "era.835").unlink()
    stored = process_inbound(drop(root.inbound, "claims.837", claims_837(["A1"])), ledger, root, options)
    assert stored.status is Status.STORED and billed(root) == {}
    assert any('"retry.era_missing"' in line for line in json_log)
    assert ledger.stats().claims_by_status == {"unmatched": 1}
