"""Issue 15, item 6: the ledger's write lock is held only for the moments a conversion records,
`status` opens the ledger read-only, and opening never takes the write lock once migrated."""
import json
import os
import subprocess
import sys
from collections import Counter

from cobpipe.jobs.layout import Root
from cobpipe.ledger import Ledger

from jobfiles import claims_837, drop, era_835, wait_for

HOLDER = r"""
import sqlite3, sys, time, pathlib
db, folder = sys.argv[1], pathlib.Path(sys.argv[2])
conn = sqlite3.connect(db, timeout=60, isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("UPDATE meta SET value = value WHERE key = 'schema_version'")
(folder / "holding").write_text("1")
until = time.monotonic() + 300
while not (folder / "release").exists() and time.monotonic() < until:
    time.sleep(0.02)
conn.execute("COMMIT")
"""


def cli(*args, env=None, **kwargs):
    base = {k: v for k, v in os.environ.items() if not k.startswith("COBPIPE_TEST_")}
    return subprocess.Popen([sys.executable, "-m", "cobpipe.cli", *args], env={**base, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def test_status_answers_while_another_process_holds_a_write_transaction(tmp_path):
    root = Root.prepare(tmp_path / "root")
    drop(root.inbound, "claims.837", claims_837(["L1"]))
    assert cli("run", str(root.path)).wait(timeout=120) == 0
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(root.ledger_path), str(tmp_path)])
    try:
        wait_for(lambda: (tmp_path / "holding").exists(), timeout=60, what="the writer holding the lock")
        status = cli("status", str(root.path), "--json")
        out, err = status.communicate(timeout=90)  # the writer holds its lock all this time
        assert status.returncode == 0, err
        assert json.loads(out)["claims"]["stored"] == 1
        assert holder.poll() is None, "the writer let go before status answered: the test proved nothing"
    finally:
        (tmp_path / "release").write_text("1")
        holder.wait(timeout=60)


def test_opening_a_migrated_ledger_takes_no_write_lock(tmp_path):
    path = tmp_path / "ledger.db"
    Ledger.open(path).close()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(tmp_path)])
    try:
        wait_for(lambda: (tmp_path / "holding").exists(), timeout=60, what="the writer holding the lock")
        with Ledger.open(path, busy_timeout=0.2) as ledger:  # would fail "database is locked" if it wrote
            assert ledger.control_numbers() == []
        with Ledger.open(path, readonly=True, busy_timeout=0.2) as ledger:
            assert ledger.readonly
    finally:
        (tmp_path / "release").write_text("1")
        holder.wait(timeout=60)


def test_a_run_on_the_same_ledger_goes_on_while_another_run_is_converting(tmp_path):
    """Run A is stopped in the middle of an 835 (converted, not yet recorded); run B, on another
    ROOT sharing the ledger, stores claims and converts its own 835 meanwhile. Then A goes on:
    its numbers were taken by B in between, so it converts again -- every claim billed once and
    the interchange numbers of the sender/receiver pair unique and gap-free."""
    db = tmp_path / "shared.db"
    root_a, root_b = Root.prepare(tmp_path / "a", db), Root.prepare(tmp_path / "b", db)
    pause = tmp_path / "pause"
    pause.mkdir()
    drop(root_a.inbound, "claims-a.837", claims_837(["A1", "A2"], control=201))
    assert cli("run", str(root_a.path), "--db", str(db)).wait(timeout=120) == 0
    drop(root_a.inbound, "era-a.835", era_835(["A1", "A2"], control=601))
    run_a = cli("run", str(root_a.path), "--db", str(db), env={"COBPIPE_TEST_PAUSE_AT": f"converted={pause}"})
    try:
        wait_for(lambda: (pause / "reached").exists() or run_a.poll() is not None, timeout=120,
                 what="run A in the middle of its conversion")
        assert run_a.poll() is None, run_a.communicate()
        drop(root_b.inbound, "claims-b.837", claims_837(["B1"], control=202))
        drop(root_b.inbound, "era-b.835", era_835(["B1"], control=602))
        run_b = cli("run", str(root_b.path), "--db", str(db), "--json")
        out, err = run_b.communicate(timeout=120)  # A is still stopped mid-conversion all along
        assert run_b.returncode == 0, err
        assert "database is locked" not in err
        assert {o["file"]: o["status"] for o in json.loads(out)} == {"claims-b.837": "stored",
                                                                    "era-b.835": "converted"}
        assert run_a.poll() is None
    finally:
        (pause / "go").write_text("1")
        out_a, err_a = run_a.communicate(timeout=120)
    assert run_a.returncode == 0, err_a
    billed, numbers = Counter(), []
    for out in [*root_a.outbound.glob("*.837"), *root_b.outbound.glob("*.837")]:
        segments = [s.strip() for s in out.read_text().split("~") if s.strip()]
        numbers += [int(s.split("*")[13]) for s in segments if s.startswith("ISA*")]
        billed.update(s.split("*")[1] for s in segments if s.startswith("CLM*"))
    assert billed == Counter({"A1": 1, "A2": 1, "B1": 1})
    assert sorted(numbers) == [1, 2]
    with Ledger.open(db) as ledger:
        assert ledger.stats().issued == 3
        assert [n for k, *_, n in ledger.control_numbers() if k == "ISA"] == [2]


def test_the_change_token_sees_commits_of_other_connections_and_of_its_own(tmp_path):
    path = tmp_path / "ledger.db"
    with Ledger.open(path) as mine, Ledger.open(path) as other:
        token = mine.change_token()
        assert mine.change_token() == token  # reads change nothing
        mine.file("0" * 64)
        assert mine.change_token() == token
        other.next_number("ISA", "S", "R")  # another connection commits
        changed = mine.change_token()
        assert changed != token
        with mine.transaction():  # and under the write lock it still says so
            assert mine.change_token() == changed
        mine.next_number("GS", "S", "R")  # this Ledger commits
        assert mine.change_token() != changed
