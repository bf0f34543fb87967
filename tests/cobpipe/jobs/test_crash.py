"""Kill `cobpipe run` mid-batch (at every step of process.py, and with real SIGKILLs at random
moments), restart it, and check: no input lost, nothing processed twice, every claim converted
exactly once, control numbers unique and gap-free."""
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from cobpipe.jobs.layout import Root
from cobpipe.ledger import Ledger

from jobfiles import claims_837, drop, era_835

class Batch:
    """`files` claim files of 5 claims each, remitted by ERAs of 3 claims; the first claim is remitted
    a second time in the last ERA (it must then be skipped, not billed again)."""

    def __init__(self, files: int) -> None:
        self.claim_files = {f"claims{n}.837": [f"K{n:02d}{i}" for i in range(5)] for n in range(files)}
        self.all_claims = [c for ids in self.claim_files.values() for c in ids]
        chunks = [self.all_claims[i:i + 3] for i in range(0, len(self.all_claims), 3)]
        chunks[-1] = [self.all_claims[0], *chunks[-1]]
        self.eras = {f"era{n:02d}.835": ids for n, ids in enumerate(chunks)}

    def drop_all(self, root) -> set[str]:
        """Every input in inbound; returns their sha256s."""
        inputs = []
        for n, (name, ids) in enumerate(self.claim_files.items()):
            inputs.append(drop(root.inbound, name, claims_837(ids, control=200 + n)).read_bytes())
        for n, (name, ids) in enumerate(self.eras.items()):
            inputs.append(drop(root.inbound, name, era_835(ids, control=600 + n)).read_bytes())
        return {hashlib.sha256(data).hexdigest() for data in inputs}


def cobpipe_run(root, crash_at=None, timeout=180):
    env = {k: v for k, v in os.environ.items() if k != "COBPIPE_TEST_CRASH_AT"}
    if crash_at:
        env["COBPIPE_TEST_CRASH_AT"] = crash_at
    return subprocess.run([sys.executable, "-m", "cobpipe.cli", "run", str(root.path), "--settle", "0"],
                          env=env, capture_output=True, text=True, timeout=timeout)


def check_invariants(root, batch, input_hashes):
    assert sorted(p.name for p in root.inbound.iterdir() if p.is_file()) == []
    archived = {hashlib.sha256(p.read_bytes()).hexdigest() for p in root.archive.iterdir()}
    assert input_hashes <= archived, "an input was lost"
    assert list(root.rejected.iterdir()) == []
    assert list(root.work.iterdir()) == []
    assert [p.name for p in root.outbound.iterdir() if p.name.startswith(".")] == []
    billed: Counter = Counter()
    interchanges = []
    for out in root.outbound.glob("*.837"):
        segments = [s.strip() for s in out.read_text().split("~") if s.strip()]
        interchanges += [s.split("*")[13] for s in segments if s.startswith("ISA*")]
        billed.update(s.split("*")[1] for s in segments if s.startswith("CLM*"))
    assert billed == Counter({claim: 1 for claim in batch.all_claims}), "a claim was billed twice or never"
    numbers = sorted(int(n) for n in interchanges)
    assert numbers == list(range(1, len(numbers) + 1)), f"ISA13 not unique and gap-free: {numbers}"
    assert len(numbers) == len(batch.eras)
    with Ledger.open(root.ledger_path) as ledger:
        stats = ledger.stats()
        assert stats.issued == len(batch.all_claims)
        assert sum(stats.files.get("835", {}).values()) == len(batch.eras)
        assert stats.files.get("837P") == {"stored": len(batch.claim_files)}
        assert ledger.control_numbers()[1][3] == len(batch.eras)  # ISA counter == interchanges written


STEPS = ["staged:2", "claims-recorded:2", "claims-committed:1", "staged:5", "converted:1", "converted:3",
         "committed:1", "committed:4", "publishing:1", "publishing:2", "published:2", "archived:1",
         # right after each COMMIT (the record is durable, nothing published or archived yet)
         "claims-after-commit:1", "claims-after-commit:3", "after-commit:1", "after-commit:4"]


@pytest.mark.parametrize("crash_at", STEPS)
def test_killed_at_a_step_and_restarted(tmp_path, crash_at):
    root = Root.prepare(tmp_path / "root")
    batch = Batch(3)
    hashes = batch.drop_all(root)
    crashed = cobpipe_run(root, crash_at)
    assert crashed.returncode == 137, crashed.stderr
    finished = cobpipe_run(root)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    check_invariants(root, batch, hashes)


def test_killed_twice_in_a_row(tmp_path):
    root = Root.prepare(tmp_path / "root")
    batch = Batch(3)
    hashes = batch.drop_all(root)
    assert cobpipe_run(root, "committed:2").returncode == 137
    assert cobpipe_run(root, "publishing:1").returncode == 137
    assert cobpipe_run(root).returncode == 0
    check_invariants(root, batch, hashes)


def test_sigkill_at_random_moments(tmp_path):
    """Real SIGKILLs from outside, mid-batch (after a few more inputs were archived, plus a random
    few milliseconds to land anywhere inside a file), then a clean run."""
    root = Root.prepare(tmp_path / "root")
    batch = Batch(12)
    hashes = batch.drop_all(root)
    total = len(hashes)
    rng = random.Random(1234)
    killed_mid_batch = 0
    for target in (3, 9, 16, 24):
        proc = subprocess.Popen([sys.executable, "-m", "cobpipe.cli", "run", str(root.path), "--settle", "0"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while (proc.poll() is None and time.monotonic() < deadline
                   and len(list(root.archive.iterdir())) < target):
                time.sleep(0.005)
            time.sleep(rng.uniform(0, 0.05))
            if proc.poll() is None and len(list(root.archive.iterdir())) < total:
                killed_mid_batch += 1
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait(timeout=30)
    assert killed_mid_batch >= 2, "the kills did not land mid-batch: the test proved nothing"
    final = cobpipe_run(root)
    assert final.returncode == 0, final.stdout + final.stderr
    check_invariants(root, batch, hashes)


@pytest.mark.parametrize("crash_at", ["retried:1", "retried:2", "claims-recorded:1", "claims-committed:1",
                                      "claims-after-commit:1", "claims-after-commit:2", "publishing:1",
                                      "publishing:3"])
def test_killed_while_retrying_unmatched_claims(tmp_path, crash_at):
    """The 835s arrive first (every claim unmatched); the 837Ps that follow convert them from the
    archive. A kill anywhere in that leaves every claim billed exactly once after a restart."""
    root = Root.prepare(tmp_path / "root")
    batch = Batch(2)
    inputs = []
    for n, (name, ids) in enumerate(batch.eras.items()):
        inputs.append(drop(root.inbound, name, era_835(ids, control=600 + n)).read_bytes())
    assert cobpipe_run(root).returncode == 1  # claims unmatched: exit 1, nothing billed
    assert list(root.outbound.glob("*.837")) == []
    for n, (name, ids) in enumerate(batch.claim_files.items()):
        inputs.append(drop(root.inbound, name, claims_837(ids, control=200 + n)).read_bytes())
    crashed = cobpipe_run(root, crash_at)
    assert crashed.returncode == 137, crashed.stderr
    finished = cobpipe_run(root)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert sorted(p.name for p in root.inbound.iterdir() if p.is_file()) == []
    archived = {hashlib.sha256(p.read_bytes()).hexdigest() for p in root.archive.iterdir()}
    assert {hashlib.sha256(data).hexdigest() for data in inputs} <= archived
    assert list(root.work.iterdir()) == [] and list(root.rejected.iterdir()) == []
    billed: Counter = Counter()
    numbers = []
    for out in root.outbound.glob("*.837"):
        segments = [s.strip() for s in out.read_text().split("~") if s.strip()]
        numbers += [int(s.split("*")[13]) for s in segments if s.startswith("ISA*")]
        billed.update(s.split("*")[1] for s in segments if s.startswith("CLM*"))
    assert billed == Counter({claim: 1 for claim in batch.all_claims})
    assert sorted(numbers) == list(range(1, len(numbers) + 1))
    with Ledger.open(root.ledger_path) as ledger:
        stats = ledger.stats()
        assert stats.issued == len(batch.all_claims)
        # the claim remitted twice is converted from the older 835 and skipped (already billed) from
        # the other: it counts as converted
        assert stats.claims_by_status == {"converted": len(batch.all_claims)}


@pytest.mark.parametrize("crash_at", ["rejected-recorded:1", "rejected-recorded:2"])
def test_killed_right_after_a_rejection_is_recorded(tmp_path, crash_at):
    """The rejection's record is committed, the input not yet moved: the restart rejects it again
    into the same place, one reason file beside each input, nothing lost or overwritten."""
    root = Root.prepare(tmp_path / "root")
    drop(root.inbound, "a.837", "not X12 at all\n")
    drop(root.inbound, "b.837", "not X12 either\n")
    crashed = cobpipe_run(root, crash_at)
    assert crashed.returncode == 137, crashed.stderr
    finished = cobpipe_run(root)
    assert finished.returncode == 1, finished.stdout + finished.stderr
    assert sorted(p.name for p in root.inbound.iterdir() if p.is_file()) == []
    assert sorted(p.name for p in root.rejected.iterdir()) == ["a.837", "a.837.reason.json", "b.837",
                                                               "b.837.reason.json"]
    assert list(root.work.iterdir()) == []
    with Ledger.open(root.ledger_path) as ledger:
        assert ledger.stats().files == {"unknown": {"rejected": 2}}
