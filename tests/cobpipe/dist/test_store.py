"""The blob store: chunked bytes in the ledger database, on SQLite and PostgreSQL."""
from __future__ import annotations

import hashlib

import pytest

from cobpipe.dist import store
from cobpipe.ledger import Ledger
from services import fresh_pg_database


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request, tmp_path):
    if request.param == "sqlite":
        with Ledger.open(tmp_path / "ledger.db") as opened:
            yield opened
    else:
        with fresh_pg_database() as url, Ledger.open(url) as opened:
            yield opened


def test_a_file_larger_than_a_chunk_round_trips_byte_for_byte(ledger, tmp_path, monkeypatch):
    monkeypatch.setattr(store, "CHUNK_SIZE", 1000)
    data = bytes(range(256)) * 41 + b"\x00tail"  # 10,501 bytes: 11 chunks, binary-safe
    source = tmp_path / "in.bin"
    source.write_bytes(data)
    sha = store.put_file(ledger, source)
    assert sha == hashlib.sha256(data).hexdigest()
    assert ledger.query("SELECT COUNT(*) FROM blobs WHERE sha256 = ?", (sha,)) == [(11,)]
    assert store.put_file(ledger, source) == sha  # stored again: nothing new
    assert ledger.query("SELECT COUNT(*) FROM blobs") == [(11,)]
    target = store.write_blob(ledger, sha, tmp_path / "out" / "back.bin", mtime_ns=1_700_000_000_000_000_000,
                              durable=True)
    assert target.read_bytes() == data
    assert target.stat().st_mtime_ns == 1_700_000_000_000_000_000
    assert [p.name for p in target.parent.iterdir()] == ["back.bin"]  # no temp file left beside it


def test_a_blob_without_its_header_row_does_not_exist(ledger, tmp_path):
    """Chunks an intake stored before it was killed (no blob_files row yet) are never read."""
    sha = "f" * 64
    with ledger.transaction():
        ledger.query(store.INSERT_CHUNK, (sha, 0, b"partial"))
    assert not store.has_blob(ledger, sha)
    with pytest.raises(store.BlobMissing):
        store.write_blob(ledger, sha, tmp_path / "x.bin")
    assert not (tmp_path / "x.bin").exists() and not list(tmp_path.glob(".*"))


def test_bytes_that_do_not_match_their_hash_are_refused(ledger, tmp_path):
    sha = store.put_bytes(ledger, b"ISA*00*...~IEA*1*000000001~")
    with ledger.transaction():
        ledger.query("UPDATE blobs SET data = ? WHERE sha256 = ?", (b"ISA*00*...~IEA*1*000000009~", sha))
    with pytest.raises(store.BlobMissing, match="do not match"):
        store.write_blob(ledger, sha, tmp_path / "x.835")
    assert not (tmp_path / "x.835").exists()


def test_an_intake_killed_between_marking_an_output_delivered_and_placing_it(ledger, tmp_path):
    """The staging file a crash left after the commit is renamed into place at the next delivery,
    never written again; one left before the commit is written again from the database."""
    from cobpipe.dist.intake import STAGING, Intake
    from cobpipe.jobs.layout import Root
    from cobpipe.jobs.process import JobOptions

    root = Root.prepare(tmp_path / "root", tmp_path / "unused.db")
    intake = Intake(root, ledger, None, JobOptions(), name="host:/root")
    first, second = store.put_bytes(ledger, b"first 837"), store.put_bytes(ledger, b"second 837")
    with ledger.transaction():
        store.add_output(ledger, intake.name, "outbound", "a.837", first, "1" * 64)
        store.add_output(ledger, intake.name, "outbound", "b.837", second, "2" * 64)
    store.mark_delivered(ledger, intake.name, "outbound", "a.837")  # committed, then the crash
    (root.outbound / f"{STAGING}a.837").write_bytes(b"first 837")
    (root.outbound / f"{STAGING}b.837").write_bytes(b"second")  # not committed: a torn write
    placed = intake.deliver()
    assert sorted(p.name for p in placed) == ["a.837", "b.837"]
    assert (root.outbound / "a.837").read_bytes() == b"first 837"
    assert (root.outbound / "b.837").read_bytes() == b"second 837"
    assert sorted(p.name for p in root.outbound.iterdir()) == ["a.837", "b.837"]
    (root.outbound / "a.837").unlink()  # the partner fetched it
    assert intake.deliver() == [] and not (root.outbound / "a.837").exists()


def test_an_intake_queues_a_partners_file_with_its_partner_and_delivers_into_its_home(ledger, tmp_path):
    """ROOT/partners/<p>/inbound (where sftp-serve puts uploads): the job remembers the partner, and
    what the workers made of it (here a 999) is delivered into that partner's outbound, never the
    shared one. The broker is the real Redis, on a queue of this test's own."""
    import redis
    import secrets

    from cobpipe.dist.app import make_app
    from cobpipe.dist.intake import Intake
    from cobpipe.jobs.layout import Root
    from cobpipe.jobs.process import JobOptions
    from services import redis_url

    root = Root.prepare(tmp_path / "root", tmp_path / "unused.db")
    home = root.path / "partners" / "acme" / "inbound"
    home.mkdir(parents=True)
    (home / "era.835").write_text("ISA*00*          *00*          *ZZ*A              *ZZ*B              *260101*1200*^*"
                                  "00501*000000001*0*P*:~IEA*0*000000001~")
    queue = f"cobpipe-test-{secrets.token_hex(4)}"
    intake = Intake(root, ledger, make_app(redis_url(), queue), JobOptions(settle=0.0), name="host:/root")
    try:
        [accepted] = intake.run_once()
        assert accepted.status == "queued" and not (home / "era.835").exists()
        [job] = store.jobs_in_state(ledger, "host:/root", "queued")
        assert job.options["partner"] == "acme"
        blob = store.put_bytes(ledger, b"ISA*...999...~")
        with ledger.transaction():
            store.add_output(ledger, "host:/root", "partners/acme/outbound", "era.999", blob, job.sha256)
        [placed] = intake.deliver()
        assert placed == (root.path / "partners" / "acme" / "outbound" / "era.999").resolve()
        assert placed.read_bytes() == b"ISA*...999...~" and list(root.outbound.iterdir()) == []
        with ledger.transaction():  # a worker cannot send an output anywhere else under ROOT
            store.add_output(ledger, "host:/root", "archive", "evil.837", blob, job.sha256)
        with pytest.raises(OSError):
            intake.deliver()
    finally:
        redis.Redis.from_url(redis_url()).delete(queue)
