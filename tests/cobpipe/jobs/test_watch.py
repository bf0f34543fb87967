"""The real watchdog observers (inotify and polling) on a real folder, in a thread stopped after each test."""
import os
import threading
from dataclasses import replace

import pytest

from cobpipe.jobs.process import Status
from cobpipe.jobs.watch import InboundWatcher

from jobfiles import claims_837, era_835, wait_for


@pytest.fixture(params=[False, True], ids=["inotify", "polling"])
def watcher(request, root, ledger, options):
    """A running InboundWatcher; always stopped and joined, even when the test fails."""
    options = replace(options, truncated_after=3.0, settle=0.5)
    running = InboundWatcher(root, ledger, options, poll=request.param, poll_interval=0.2, tick=0.05,
                             rescan_every=600)
    stop = threading.Event()
    thread = threading.Thread(target=running.run, args=(stop,), daemon=True)
    thread.start()
    try:
        assert running.ready.wait(10), "watcher did not start"
        yield running
    finally:
        stop.set()
        thread.join(timeout=15)
        assert not thread.is_alive(), "watcher thread did not stop"


def outbound_837s(root):
    return sorted(p.name for p in root.outbound.glob("*.837"))


def test_dropped_837p_then_835_gives_the_secondary_claim(watcher, root):
    (root.inbound / "claims.837").write_text(claims_837(["W1", "W2"]))
    wait_for(lambda: (root.archive / "claims.837").exists(), what="837P archived")
    (root.inbound / "era.835").write_text(era_835(["W1", "W2"]))
    [name] = wait_for(lambda: outbound_837s(root), what="secondary 837P")
    assert (root.outbound / name).read_text().count("CLM*") == 2
    # archiving links first and unlinks after: wait until inbound/ no longer has it either
    wait_for(lambda: (root.archive / "era.835").exists() and not (root.inbound / "era.835").exists(),
             what="835 archived")
    # the same 835 again: recognized, nothing new
    (root.inbound / "era.835").write_text(era_835(["W1", "W2"]))
    wait_for(lambda: len(watcher.processed) == 3, what="duplicate recognized")
    assert not (root.inbound / "era.835").exists()
    assert outbound_837s(root) == [name]
    assert [o.status for o in watcher.processed] == [Status.STORED, Status.CONVERTED, Status.DUPLICATE]


def test_a_file_being_written_is_not_taken_until_its_iea_arrives(watcher, root):
    (root.inbound / "claims.837").write_text(claims_837(["H1"]))
    wait_for(lambda: (root.archive / "claims.837").exists(), what="837P archived")
    text = era_835(["H1"])
    half = len(text) // 2
    with open(root.inbound / "era.835", "w") as stream:
        stream.write(text[:half])
        stream.flush()
        os.fsync(stream.fileno())
        threading.Event().wait(1.2)  # longer than settle: only the missing IEA holds it back
        assert (root.inbound / "era.835").exists() and outbound_837s(root) == []
        stream.write(text[half:])
    wait_for(lambda: outbound_837s(root), what="secondary 837P after the file was finished")


def test_a_temporary_name_renamed_into_place_is_taken(watcher, root):
    (root.inbound / ".claims.837.tmp").write_text(claims_837(["R1"]))
    threading.Event().wait(1.0)
    assert (root.inbound / ".claims.837.tmp").exists()  # never touched under its temporary name
    os.rename(root.inbound / ".claims.837.tmp", root.inbound / "claims.837")
    wait_for(lambda: (root.archive / "claims.837").exists(), what="renamed 837P archived")


def test_a_file_that_never_gets_its_iea_is_rejected_as_truncated(watcher, root):
    text = era_835(["T1"])
    (root.inbound / "era.835").write_text(text[: len(text) // 2])
    wait_for(lambda: (root.rejected / "era.835").exists() and not (root.inbound / "era.835").exists(),
             timeout=20, what="truncated rejection")
    assert (root.rejected / "era.835.reason.json").exists()


def test_files_already_in_inbound_are_processed_at_start(root, ledger, options):
    (root.inbound / "claims.837").write_text(claims_837(["S1"]))
    os.utime(root.inbound / "claims.837", (1, 1))
    watcher = InboundWatcher(root, ledger, replace(options, settle=0.5), tick=0.05)
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_for(lambda: (root.archive / "claims.837").exists(), what="existing file processed")
    finally:
        stop.set()
        thread.join(timeout=15)
    assert not thread.is_alive()
