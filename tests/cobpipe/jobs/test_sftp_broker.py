"""`cobpipe sftp-serve --broker`: an SFTP host that only accepts uploads and queues them for Celery
workers (issue 21), and still answers each partner in its own home (issue 18). Real PostgreSQL,
Redis, Celery worker, SFTP server and client."""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys

import pytest

from jobfiles import claims_837, era_835, wait_for
from services import fresh_pg_database, redis_url
from test_sftp import Keys, Server, run


@pytest.fixture
def worker_env(tmp_path, monkeypatch):
    broker = redis_url()
    with fresh_pg_database("cobpipe_sftp_broker") as db:
        queue = f"cobpipe-test-{secrets.token_hex(4)}"
        for name, value in (("COBPIPE_DB", db), ("COBPIPE_QUEUE", queue), ("COBPIPE_RETRY_SECONDS", "1"),
                            ("PYTHONUNBUFFERED", "1")):
            monkeypatch.setenv(name, value)
        from cobpipe.ledger import Ledger

        Ledger.open(db).close()
        worker = subprocess.Popen([sys.executable, "-m", "cobpipe.cli", "worker", "--broker", broker,
                                   "--work", str(tmp_path / "worker"), "--concurrency", "1"],
                                  stdout=subprocess.DEVNULL, stderr=(tmp_path / "worker.log").open("w"),
                                  start_new_session=True)
        try:
            yield {"db": db, "broker": broker}
        finally:
            try:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(10)


def test_uploads_are_queued_for_workers_and_answered_in_the_partners_home(root, tmp_path, worker_env):
    keys = Keys(tmp_path / "keys")
    server = Server(root, keys, "--broker", worker_env["broker"], "--rescan", "1")
    try:
        async def upload():
            async with server.connect() as conn, conn.start_sftp_client() as sftp:
                for name, text in (("claims.837", claims_837(["Q1", "Q2"])), ("era.835", era_835(["Q1", "Q2"]))):
                    local = tmp_path / name
                    local.write_text(text)
                    await sftp.put(str(local), f"/inbound/{name}")

        run(upload())
        home = server.home("acme-billing") / "outbound"
        wait_for(lambda: list(home.glob("*.837")) and len(list(home.glob("*.999"))) == 2, timeout=120,
                 what="the secondary claim and a 999 per upload in the partner's outbound")
        [secondary] = home.glob("*.837")
        assert secondary.read_text().count("CLM*") == 2
        assert [p for p in root.outbound.iterdir() if not p.name.startswith(".")] == []
        assert server.events("file.queued")  # the server queued the uploads: the worker converted them
        assert not server.events("file.converted")
        wait_for(lambda: len(list(root.archive.iterdir())) == 2, timeout=60, what="both inputs archived")
        assert [p.name for p in (server.home("acme-billing") / "inbound").iterdir() if not p.name.startswith(".")] == []
    finally:
        server.stop()
    assert server.proc.returncode == 0
