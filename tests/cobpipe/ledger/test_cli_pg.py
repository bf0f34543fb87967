"""The commands with a PostgreSQL ledger: `convert --db URL`, `COBPIPE_DB`, `run` and `status`."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from services import fresh_pg_database

SAMPLES = Path(__file__).parents[3] / "samples" / "cob"


def cobpipe(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k != "COBPIPE_DB"}
    return subprocess.run([sys.executable, "-m", "cobpipe.cli", *args], capture_output=True, text=True,
                          timeout=300, env={**base, **(env or {})})


@pytest.fixture
def pg_db():
    with fresh_pg_database() as url:
        yield url


def test_convert_keeps_its_ledger_in_postgres_by_url_or_cobpipe_db(pg_db, tmp_path):
    era, claims = SAMPLES / "seed-era.835", SAMPLES / "seed-claims.837"
    first = cobpipe("convert", "--era", str(era), "--claims", str(claims), "--out", str(tmp_path / "a"),
                    "--db", pg_db, "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)[0]["counts"]["converted"] == 1
    again = cobpipe("convert", "--era", str(era), "--claims", str(claims), "--out", str(tmp_path / "b"),
                    "--json", env={"COBPIPE_DB": pg_db})  # the same ledger, from the environment
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)[0]
    assert summary["counts"]["converted"] == 0 and summary["counts"]["skipped"] == 1  # already billed
    from cobpipe.ledger import Ledger

    with Ledger.open(pg_db) as ledger:
        assert [i.claim_id for i in ledger.issued_for("SEED001")] == ["SEED001"]


def test_run_and_status_on_a_postgres_ledger_never_show_its_password(pg_db, tmp_path):
    import psycopg

    with psycopg.connect(pg_db, autocommit=True) as conn:
        conn.execute("DO $$ BEGIN CREATE ROLE cobpipe_cli_test LOGIN PASSWORD 'Sekr1t-pw'; "
                     "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
        conn.execute(f'GRANT ALL ON DATABASE "{pg_db.rsplit("/", 1)[1]}" TO cobpipe_cli_test')
        conn.execute("GRANT ALL ON SCHEMA public TO cobpipe_cli_test")
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(pg_db)
    url = urlunsplit(parts._replace(netloc=f"cobpipe_cli_test:Sekr1t-pw@{parts.hostname}:{parts.port or 5432}"))
    try:
        _run_and_status(url, tmp_path)
    finally:  # the role is server-wide: never leave it behind
        with psycopg.connect(pg_db, autocommit=True) as conn:
            conn.execute("DROP OWNED BY cobpipe_cli_test")
            conn.execute(f'REVOKE ALL ON DATABASE "{pg_db.rsplit("/", 1)[1]}" FROM cobpipe_cli_test')
        from cobpipe.ledger.pg import close_pools

        close_pools()
        with psycopg.connect(pg_db, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'cobpipe_cli_test'")
            conn.execute("DROP ROLE IF EXISTS cobpipe_cli_test")


def _run_and_status(url: str, tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "inbound").mkdir(parents=True)
    shutil.copy(SAMPLES / "seed-claims.837", root / "inbound" / "claims.837")
    shutil.copy(SAMPLES / "seed-era.835", root / "inbound" / "era.835")
    done = cobpipe("run", str(root), "--db", url, "--settle", "0", "--json")
    assert done.returncode == 0, done.stderr
    assert [o["status"] for o in json.loads(done.stdout)] == ["stored", "converted"]
    assert list((root / "outbound").glob("*.837"))
    shown = cobpipe("status", str(root), "--json", env={"COBPIPE_DB": url})
    assert shown.returncode == 0, shown.stderr
    assert "Sekr1t-pw" not in shown.stdout + shown.stderr + done.stderr
    assert json.loads(shown.stdout)["ledger"].startswith("postgresql://cobpipe_cli_test:***@")
