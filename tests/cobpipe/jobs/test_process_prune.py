"""`cobpipe prune ROOT --older-than DAYS`: retention for rejected/ and archive/ that never deletes
an archived 835 whose unmatched claims still wait for their 837P."""
import json
import os
import subprocess
import sys
import time

from cobpipe.commands.prune import plan
from cobpipe.jobs.batch import run_once
from cobpipe.ledger import Ledger

from jobfiles import claims_837, drop, era_835


def cli(*args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("COBPIPE_TEST_")}
    return subprocess.run([sys.executable, "-m", "cobpipe.cli", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_prune_keeps_the_835_awaiting_its_claims_and_deletes_the_rest(root, ledger, options):
    drop(root.inbound, "early.835", era_835(["P1", "P2"], control=610))  # before its 837P: unmatched
    drop(root.inbound, "claims.837", claims_837(["Q1"], control=210))
    drop(root.inbound, "done.835", era_835(["Q1"], control=611))
    drop(root.inbound, "junk.837", "not X12\n")
    run_once(root, ledger, options)
    assert names(root.archive) == ["claims.837", "done.835", "early.835"]
    assert names(root.rejected) == ["junk.837", "junk.837.reason.json"]
    ledger.close()

    dry = cli("prune", str(root.path), "--older-than", "0", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    listed = json.loads(dry.stdout)
    assert sorted(listed["delete"]) == ["archive/claims.837", "archive/done.835", "rejected/junk.837",
                                        "rejected/junk.837.reason.json"]
    assert [k["path"] for k in listed["kept"]] == ["archive/early.835"]
    assert names(root.archive) == ["claims.837", "done.835", "early.835"]  # nothing deleted yet

    done = cli("prune", str(root.path), "--older-than", "0")
    assert done.returncode == 0, done.stderr
    assert "kept archive/early.835" in done.stdout
    assert names(root.archive) == ["early.835"] and names(root.rejected) == []

    # the 837P arrives: its claims are converted from the archived 835 that prune kept
    drop(root.inbound, "late.837", claims_837(["P1", "P2"], control=211))
    with Ledger.open(root.ledger_path) as reopened:
        [outcome] = run_once(root, reopened, options)
        assert outcome.counts.get("retried_converted") == 2, outcome
        assert reopened.was_issued("P1", "22222") and reopened.was_issued("P2", "22222")
        # now nothing awaits it: the next prune may delete it
        assert [k["path"] for k in plan(root.path, reopened, 0)["kept"]] == []


def test_files_younger_than_the_limit_stay(root, ledger, options):
    drop(root.inbound, "junk.837", "not X12\n")
    run_once(root, ledger, options)
    assert plan(root.path, ledger, 1, now=time.time())["delete"] == []
    assert len(plan(root.path, ledger, 1, now=time.time() + 2 * 86400)["delete"]) == 1
    ledger.close()
    kept = cli("prune", str(root.path), "--older-than", "30")
    assert kept.returncode == 0 and "deleted 0 files" in kept.stdout
    assert names(root.rejected) == ["junk.837", "junk.837.reason.json"]
