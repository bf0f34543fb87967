"""`cobpipe watch`: a watchdog observer on inbound/ feeding the one processing function.

Events only say "look at this file again"; the decision is always made on the file itself:

  * a name that is hidden or temporary (.x, *.tmp, *.part, *.filepart, *~) is never looked at;
  * a file is taken once it was closed after writing or renamed into inbound/ (inotify's
    on_closed / on_moved), or -- with no such event, as with the PollingObserver on network
    filesystems and for files already there at start -- once unchanged for `settle` seconds or
    as soon as it ends with a complete interchange (intake.finished);
  * and only if its last segment is the IEA (process_inbound checks); otherwise it waits and
    is looked at again later, until `truncated_after` seconds without an IEA reject it.

Every file is processed on the watcher's own thread, one at a time, so the ledger has one user.
A full rescan of inbound/ every `rescan_every` seconds catches events the OS dropped.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from ..ledger import Ledger
from ..logs import error_fields, event
from .batch import priority
from .intake import finished
from .layout import Root, is_ignored_name
from .process import JobOptions, Outcome, Status, process_inbound, recover

log = logging.getLogger("cobpipe.jobs")

ERROR_RETRY_SECONDS = 30.0


@dataclass(slots=True)
class _Candidate:
    closed: bool = False  # a close-after-write or rename-into-place was seen since the last change
    next_check: float = 0.0


class _InboundEvents(FileSystemEventHandler):
    """Translates watchdog events on inbound/ into (path, closed?) hints for the watcher."""

    def __init__(self, inbound: Path, hints: "queue.Queue[tuple[Path, bool]]") -> None:
        self.inbound = inbound
        self.hints = hints

    def _hint(self, raw: str | bytes, closed: bool) -> None:
        path = Path(raw.decode() if isinstance(raw, bytes) else raw)
        if path.parent == self.inbound and not is_ignored_name(path.name):
            self.hints.put((path, closed))

    def on_closed(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self._hint(event.src_path, True)

    def on_moved(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self._hint(event.dest_path, True)

    def on_created(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self._hint(event.src_path, False)

    def on_modified(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self._hint(event.src_path, False)


class InboundWatcher:
    """Watch ROOT/inbound until `stop` is set; `processed` keeps every Outcome (tests, status)."""

    def __init__(self, root: Root, ledger: Ledger, options: JobOptions, *, poll: bool = False,
                 poll_interval: float = 1.0, tick: float = 0.25, rescan_every: float = 30.0) -> None:
        self.root = root
        self.ledger = ledger
        self.options = options
        self.poll = poll
        self.poll_interval = poll_interval
        self.tick = tick
        self.rescan_every = rescan_every
        self.hints: queue.Queue[tuple[Path, bool]] = queue.Queue()
        self.candidates: dict[Path, _Candidate] = {}
        self.processed: list[Outcome] = []
        self.ready = threading.Event()  # set once the observer runs and the first scan is queued
        self._observer = None

    def run(self, stop: threading.Event) -> None:
        """Block until `stop` is set; the observer is always stopped and joined on the way out."""
        observer = PollingObserver(timeout=self.poll_interval) if self.poll else Observer()
        observer.schedule(_InboundEvents(self.root.inbound, self.hints), str(self.root.inbound), recursive=False)
        observer.start()
        self._observer = observer
        try:
            event(log, "watch.started", root=str(self.root.path), observer=type(observer).__name__)
            recover(self.root, self.ledger)
            self._rescan()
            self.ready.set()
            next_rescan = time.monotonic() + self.rescan_every
            while not stop.is_set():
                self._drain(timeout=self.tick)
                self._step()
                if time.monotonic() >= next_rescan:
                    self._rescan()
                    next_rescan = time.monotonic() + self.rescan_every
        finally:
            observer.stop()
            observer.join(timeout=10)
            event(log, "watch.stopped", root=str(self.root.path), count=len(self.processed))

    def _rescan(self) -> None:
        for path in self.root.inbound_files():
            self.candidates.setdefault(path, _Candidate())

    def _drain(self, timeout: float) -> None:
        try:
            path, closed = self.hints.get(timeout=timeout)
        except queue.Empty:
            return
        while True:
            candidate = self.candidates.setdefault(path, _Candidate())
            candidate.closed = closed  # a later modification cancels an earlier close
            candidate.next_check = 0.0
            try:
                path, closed = self.hints.get_nowait()
            except queue.Empty:
                return

    def _step(self) -> None:
        now = time.monotonic()
        due = [p for p, c in self.candidates.items() if c.next_check <= now]
        for path in sorted(due, key=priority):
            candidate = self.candidates.get(path)
            if candidate is None:
                continue
            if not self._settled(path, candidate):
                candidate.next_check = now + min(self.options.settle / 2, 1.0)
                continue
            try:
                outcome = process_inbound(path, self.ledger, self.root, self.options)
            except Exception as exc:  # noqa: BLE001 - e.g. the ledger went away; keep watching
                event(log, "file.error", logging.ERROR, file=path.name, **error_fields(exc))
                candidate.next_check = now + ERROR_RETRY_SECONDS
                continue
            if outcome.status is Status.WAITING:
                candidate.next_check = now + max(self.options.settle, 1.0)
            elif outcome.status is Status.ERROR:
                candidate.next_check = now + ERROR_RETRY_SECONDS
            else:
                self.candidates.pop(path, None)
                if outcome.status is not Status.IGNORED and outcome.status is not Status.GONE:
                    self.processed.append(outcome)

    def _settled(self, path: Path, candidate: _Candidate) -> bool:
        if candidate.closed:
            return True
        try:
            if time.time() - path.stat().st_mtime >= self.options.settle:
                return True
            return finished(path)  # ends with a complete interchange: the writer is done
        except FileNotFoundError:
            self.candidates.pop(path, None)
            return False
        except OSError:
            return False
