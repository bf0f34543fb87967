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


def test_an_intake_leaves_partner_homes_to_the_sftp_host(ledger, tmp_path):
    """ROOT/partners/<p>/inbound belongs to sftp-serve (outputs, acknowledgments and archive in the
    partner's home): an intake with a broker does not take those files."""
    from cobpipe.dist.intake import Intake
    from cobpipe.jobs.layout import Root
    from cobpipe.jobs.process import JobOptions

    root = Root.prepare(tmp_path / "root", tmp_path / "unused.db")
    home = root.path / "partners" / "acme" / "inbound"
    home.mkdir(parents=True)
    (home / "era.835").write_text("ISA*00*          *00*          *ZZ*A*ZZ*B*260101*1200*^*00501*000000001*0*P*:~"
                                  "IEA*0*000000001~")
    assert Intake(root, ledger, None, JobOptions(settle=0.0), name="host:/root").run_once() == []
    assert (home / "era.835").exists()
    assert store.jobs_in_state(ledger, "host:/root", "queued") == []
