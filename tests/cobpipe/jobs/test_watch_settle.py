"""Issue 16 (settle) for the watcher: with no close event (polling; files already there at start)
a file that ends with a complete interchange is taken at once, not after `settle` seconds."""
import threading
from dataclasses import replace

from cobpipe.jobs.process import Status
from cobpipe.jobs.watch import InboundWatcher

from jobfiles import claims_837, drop, era_835, wait_for


def test_polling_watcher_takes_complete_files_without_waiting_for_them_to_settle(root, ledger, options):
    options = replace(options, truncated_after=3600, settle=3600)
    drop(root.inbound, "claims.837", claims_837(["S1"]), age=0)  # there at start: no event at all
    text = era_835(["S1"])
    drop(root.inbound, "half.835", text[:len(text) // 2], age=0)
    watcher = InboundWatcher(root, ledger, options, poll=True, poll_interval=0.2, tick=0.05, rescan_every=600)
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_for(lambda: watcher.processed, timeout=60, what="the complete 837P taken")
        assert [(o.name, o.status) for o in watcher.processed] == [("claims.837", Status.STORED)]
        assert (root.inbound / "half.835").exists()  # no trailer: it waits
    finally:
        stop.set()
        thread.join(timeout=15)
    assert not thread.is_alive()
