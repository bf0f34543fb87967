"""Issue 15, item 7: every rename and folder creation under .cobpipe/work that the ledger's record
relies on is fsynced (the folder holding it) before the COMMIT that names it.

A power cut cannot be staged in a test; instead the real calls are observed in order -- renames,
links and mkdirs (which folder they change), fsyncs of folders, and the SQL the ledger runs (its
trace callback) -- and the order is checked."""
import os
from pathlib import Path

import pytest

from cobpipe.jobs.process import Status, process_inbound

from jobfiles import claims_837, drop, era_835


@pytest.fixture
def observed(monkeypatch, ledger):
    events: list[tuple[str, str]] = []

    def changes(function, *where):
        def wrapper(*args, **kwargs):
            result = function(*args, **kwargs)
            for index in where:
                events.append(("change", os.path.dirname(os.path.abspath(os.fsdecode(args[index])))))
            return result
        return wrapper

    real_fsync = os.fsync

    def fsync(fd):
        real_fsync(fd)
        target = os.readlink(f"/proc/self/fd/{fd}")
        if os.path.isdir(target):
            events.append(("sync", target))

    monkeypatch.setattr(os, "replace", changes(os.replace, 0, 1))
    monkeypatch.setattr(os, "rename", changes(os.rename, 0, 1))
    monkeypatch.setattr(os, "link", changes(os.link, 1))
    monkeypatch.setattr(os, "mkdir", changes(os.mkdir, 0))
    monkeypatch.setattr(os, "fsync", fsync)
    ledger._conn.set_trace_callback(lambda statement: events.append(("sql", statement.strip().split()[0:3])))
    yield events
    ledger._conn.set_trace_callback(None)


def _commit_of_file_record(events) -> int:
    recorded = next(n for n, e in enumerate(events) if e[0] == "sql" and e[1][:3] == ["INSERT", "INTO", "files"])
    return next(n for n, e in enumerate(events) if n > recorded and e[0] == "sql" and e[1][0] == "COMMIT")


def _unsynced(events, commit: int, under: Path) -> list[str]:
    """Folders under `under` changed before `commit` without an fsync of them after the change."""
    pending: set[str] = set()
    for kind, where in events[:commit]:
        if kind == "change" and (where == str(under) or where.startswith(str(under) + os.sep)):
            pending.add(where)
        elif kind == "sync":
            pending.discard(where)
    return sorted(pending)


def test_an_835s_work_folder_and_outputs_are_synced_before_its_commit(root, ledger, options, observed):
    process_inbound(drop(root.inbound, "claims.837", claims_837(["F1"])), ledger, root, options)
    observed.clear()
    outcome = process_inbound(drop(root.inbound, "era.835", era_835(["F1"])), ledger, root, options)
    assert outcome.status is Status.CONVERTED
    commit = _commit_of_file_record(observed)
    changed = {where for kind, where in observed[:commit] if kind == "change"}
    assert str(root.work) in changed and any(w.endswith(os.sep + "out") for w in changed)  # really observed
    assert _unsynced(observed, commit, root.work) == []


def test_an_837p_retrying_unmatched_claims_syncs_its_outputs_before_its_commit(root, ledger, options, observed):
    process_inbound(drop(root.inbound, "era.835", era_835(["G1"])), ledger, root, options)  # unmatched
    observed.clear()
    outcome = process_inbound(drop(root.inbound, "claims.837", claims_837(["G1"])), ledger, root, options)
    assert outcome.counts.get("retried_converted") == 1
    commit = _commit_of_file_record(observed)
    assert any(w.endswith(os.sep + "out") for kind, w in observed[:commit] if kind == "change")
    assert _unsynced(observed, commit, root.work) == []


def test_new_job_folders_are_synced_in_their_parents(tmp_path, monkeypatch):
    from cobpipe.fsutil import mkdir_durable

    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd):
        real_fsync(fd)
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))

    monkeypatch.setattr(os, "fsync", fsync)
    mkdir_durable(tmp_path / "a" / "b" / "c")
    assert synced == [str(tmp_path), str(tmp_path / "a"), str(tmp_path / "a" / "b")]


def test_a_new_root_s_folders_are_synced_in_their_parents(tmp_path, monkeypatch):
    from cobpipe.jobs.layout import Root

    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd):
        real_fsync(fd)
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))

    monkeypatch.setattr(os, "fsync", fsync)
    root = Root.prepare(tmp_path / "new")
    for folder in (root.inbound, root.outbound, root.archive, root.rejected, root.work, root.uploads):
        assert str(folder.parent) in synced, folder
    assert str(tmp_path) in synced
