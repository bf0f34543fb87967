"""The console's SQL on both ledgers: SQLite and PostgreSQL (found by URL, tests/services.py: skipped
with the reason when unreachable, a failure when COBPIPE_REQUIRE_SERVICES=1)."""
from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal

import pytest

from cobpipe import pipeline
from cobpipe.console import claims as claimmod
from cobpipe.console.store import ConsoleStore
from cobpipe.ledger import ClaimOutcome, FileRecord, Ledger
from services import fresh_pg_database
from conftest import claim_form, login  # at import time: later conftests replace the module 'conftest'


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request, tmp_path):
    with contextlib.ExitStack() as stack:
        target = tmp_path / "ledger.db" if request.param == "sqlite" else stack.enter_context(fresh_pg_database())
        with Ledger.open(target) as opened:
            yield opened


def test_users_sessions_and_audit(ledger):
    store = ConsoleStore(ledger)
    store.add_user("bella", "biller", "$argon2id$fake")
    with pytest.raises(ValueError):
        store.add_user("bella", "admin", "$argon2id$other")
    with pytest.raises(ValueError):
        store.add_user("zed", "root", "$argon2id$x")
    assert [u.name for u in store.users()] == ["bella"] and store.active_admins() == 0
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)
    store.add_session("a" * 64, "bella", "csrf-token", later)
    session = store.session("a" * 64)
    assert session.user_name == "bella" and session.revealed == set()
    store.set_revealed("a" * 64, {"C2", "C1"})
    assert store.session("a" * 64).revealed == {"C1", "C2"}
    store.set_disabled("bella", True)  # ends the user's sessions
    assert store.session("a" * 64) is None and store.user("bella").disabled
    for n in range(3):
        store.audit("bella", "phi.reveal", f"C{n}", {"n": n})
    rows, total = store.audit_page(2, 0)
    assert total == 3 and [r["target"] for r in rows] == ["C2", "C1"]
    assert store.audit_page(2, 2)[0][0]["detail"] == {"n": 0}


def test_queue_is_the_latest_decision_per_claim(ledger, samples_dir):
    store = ConsoleStore(ledger)
    pipeline.load_claim_files(ledger, [samples_dir / "cob" / "claims.837"])
    ledger.record_file(FileRecord("1" * 64, "first.835", "835", "partial"))
    ledger.record_decisions("1" * 64, [ClaimOutcome("BADLINE01", "rejected", None, ("ERA101",)),
                                       ClaimOutcome("NOCOV01", "rejected"), ClaimOutcome("GHOST", "unmatched"),
                                       ClaimOutcome("MULTILINE01", "converted", "22222")])
    ledger.record_file(FileRecord("2" * 64, "second.835", "835", "partial"))
    ledger.record_decisions("2" * 64, [ClaimOutcome("NOCOV01", "held", None, ("payer mismatch",)),
                                       ClaimOutcome("GHOST", "converted", "22222")])
    queue = store.queue()
    assert [(d.claim_id, d.status, d.file_name) for d in queue] == [
        ("NOCOV01", "held", "second.835"), ("BADLINE01", "rejected", "first.835")]
    assert store.queue_counts() == {"rejected": 1, "held": 1, "unmatched": 0}
    assert [d.claim_id for d in store.queue(statuses=("held",))] == ["NOCOV01"]
    assert [d.claim_id for d in store.queue(payer="11111")] == ["NOCOV01", "BADLINE01"]
    assert store.queue(payer="99999") == []
    assert store.queue(since="2999-01-01") == []
    assert store.latest_decision("GHOST").status == "converted"
    assert [d.status for d in store.decisions_of_claim("NOCOV01")] == ["held", "rejected"]
    assert store.decisions_in_file("1" * 64, ["BADLINE01"])["BADLINE01"]["reasons"] == ["ERA101"]
    files, total = store.files(kind="835", limit=1)
    assert total == 2 and len(files) == 1
    hits = store.search_claims(claim_id="badline")
    assert [r[0] for r in hits] == ["BADLINE01"]
    assert [r[0] for r in store.search_claims(patient="tansybrook")] == ["BADLINE01"]
    assert "BADLINE01" in [r[0] for r in store.search_claims(service_date=dt.date(2026, 2, 27))]
    assert store.search_claims(patient="%") == [] and store.search_claims(claim_id="_%") == []  # no wildcards
    assert store.search_claims(patient="tansy") == []  # a last name is matched whole


def test_send_on_this_ledger(ledger, samples_dir, tmp_path):
    """A paper EOB keyed and sent: control numbers, issued claim and decision in this ledger."""
    pipeline.load_claim_files(ledger, [samples_dir / "cob" / "seed-claims.837"])
    (original,) = ledger.claims_for("SEED001")
    form = claimmod.form_for_paper(original, 0)
    form.adjudication_date = dt.date(2026, 3, 20)
    form.lines[0].paid = Decimal("10.00")
    form.lines[0].adjustments = [claimmod.AdjRow("CO", "45", Decimal("13")), claimmod.AdjRow("PR", "1", Decimal("10"))]
    result = claimmod.check(form, original, [], today=dt.date(2026, 12, 1), issued=ledger)
    assert result.ok, result.errors + result.findings
    sent = claimmod.send(ledger, tmp_path / "outbound", result.built, original, result.next_payer.payer_id,
                         level=result.next_payer.level)
    assert (tmp_path / "outbound" / sent.output).is_file()
    assert dict(sent.control_numbers)["ISA"] == 1
    assert ledger.was_issued("SEED001", "22222")
    assert ConsoleStore(ledger).latest_decision("SEED001").status == "converted"
    with pytest.raises(claimmod.SendRefused):
        claimmod.send(ledger, tmp_path / "outbound", result.built, original, "22222", level="S")
    assert len(list((tmp_path / "outbound").iterdir())) == 1  # nothing left behind by the refused one
    # the refused send took no control number
    assert [n for k, _, _, n in ledger.control_numbers() if k == "ISA"] == [1]


def test_a_send_interrupted_after_commit_is_published_at_start(ledger, tmp_path):
    """The claim file waits under a hidden name until the ledger committed; `recover_pending` (run when
    the console starts) publishes a committed one and removes one whose transaction never committed."""
    from cobpipe.ledger import OutputRecord

    outbound = tmp_path / "outbound"
    outbound.mkdir()
    committed, lost = "console-20260101000000.aaaaaaaaaaaa.837", "console-20260101000001.bbbbbbbbbbbb.837"
    ledger.record_outputs("a" * 64, [OutputRecord(committed, "837P", (("ISA", 1),))])
    (outbound / f".{committed}.pending").write_text("ISA*...")
    (outbound / f".{lost}.pending").write_text("ISA*...")
    (outbound / ".console-20260101000002.cccccc.tmp").write_text("ISA*")
    assert claimmod.recover_pending(ledger, outbound) == [committed]
    assert sorted(p.name for p in outbound.iterdir()) == [committed]


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_the_console_on_a_postgresql_ledger(tmp_path, samples_dir):
    """The job's run and the console sharing a PostgreSQL ledger: a rejected claim fixed and sent."""
    import re
    import shutil

    from click.testing import CliRunner
    from starlette.testclient import TestClient

    from cobpipe.cli import main
    from cobpipe.console import Settings, create_app

    root = tmp_path / "root"
    (root / "inbound").mkdir(parents=True)
    for name in ("claims.837", "seed-claims.837"):
        shutil.copyfile(samples_dir / "cob" / name, root / "inbound" / name)
    with fresh_pg_database() as url:
        runner = CliRunner()
        assert runner.invoke(main, ["run", str(root), "--db", url, "--settle", "0"]).exit_code == 0
        shutil.copyfile(samples_dir / "cob" / "problems" / "era.835", root / "inbound" / "era.835")
        assert runner.invoke(main, ["run", str(root), "--db", url, "--settle", "0"]).exit_code == 1
        done = runner.invoke(main, ["user", "add", str(root), "bella", "--db", url, "--password-stdin"],
                             input="biller-pass-0001\n")
        assert done.exit_code == 0, done.output
        assert not (root / ".cobpipe" / "ledger.db").exists()
        with Ledger.open(url) as ledger, TestClient(create_app(root, ledger, settings=Settings(root)),
                                                    base_url="http://127.0.0.1") as client:
            assert login(client, "bella").status_code == 303
            assert re.search(r"<strong>2</strong> rejected", client.get("/queue").text)
            form = claim_form(client, "/claims/BADLINE01")
            form.update({"line-1-paid": "12", "action": "send"})
            assert client.post("/claims/BADLINE01", data=form, follow_redirects=False).status_code == 303
            assert ledger.issued_for("BADLINE01")[0].payer_id == "22222"
            assert "BADLINE01" not in client.get("/queue").text
        assert len(list((root / "outbound").glob("console-*.837"))) == 1
