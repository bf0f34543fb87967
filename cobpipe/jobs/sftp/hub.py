"""What every SFTP session shares (UploadHub), and an upload while it is being received (Staged).

The hub holds ROOT, the limits, the number of sessions per partner and the worker pool; it is
where a finished upload goes: checked (complete? binary?), moved into the partner's inbound/
before the client hears "OK", then handed to the worker process.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import multiprocessing
import pickle
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh

from ...acks.partners import PartnerRoot
from ...ledger import Ledger
from ...logs import error_fields, event
from ..intake import HEAD_BYTES, Completeness, completeness
from ..layout import Root
from ..moves import move_no_clobber, sha256_or_none
from ..outcome import JobOptions
from .config import SftpSettings
from .limits import PartnerSessions
from .worker import init_worker, process_file, reject_upload, scan_inbound

log = logging.getLogger("cobpipe.sftp")


@dataclass(slots=True)
class Staged:
    """One upload in progress: the name the client gave and the hidden file holding its bytes."""

    name: str
    path: Path
    open_handles: int = 0
    extents: list[list[int]] = field(default_factory=list)  # byte ranges written, merged
    refused: str | None = None  # why a write was refused (too large, quota, disk): never processed

    def wrote(self, offset: int, length: int) -> None:
        if not length:
            return
        start, end = offset, offset + length
        merged: list[list[int]] = []
        for lo, hi in self.extents:
            if hi < start or lo > end:
                merged.append([lo, hi])
            else:
                start, end = min(lo, start), max(hi, end)
        merged.append([start, end])
        self.extents = sorted(merged)

    @property
    def size(self) -> int:
        return self.extents[-1][1] if self.extents else 0

    def contiguous(self, size: int) -> bool:
        """Every byte of the file was written by the client (no hole from a lost write request)."""
        return size == 0 or self.extents == [[0, size]]


@dataclass(slots=True)
class Handle:
    file: object
    staged: Staged | None = None
    writable: bool = False


class UploadHub:
    """What all SFTP sessions share: ROOT, the limits, the sessions per partner, and the worker
    process that runs the drop-folder step."""

    def __init__(self, root: Root, ledger: Ledger | None, options: JobOptions,
                 settings: SftpSettings | None = None, broker: str | None = None) -> None:
        self.root = root
        self.broker = broker  # uploads are stored and queued for the Celery workers, not converted here
        self.ledger = ledger  # not used for processing here: the worker opens its own
        self.options = options
        self.settings = settings or SftpSettings("127.0.0.1", 0, Path(), Path())
        self.sessions = PartnerSessions()
        self.pending: set[concurrent.futures.Future] = set()
        self.on_processed: Callable | None = None  # tests: called with each Outcome
        self.executor = self._new_executor()

    def _new_executor(self) -> concurrent.futures.ProcessPoolExecutor:
        logger = logging.getLogger("cobpipe")
        formatter = next((h.formatter for h in logger.handlers if h.formatter is not None), None)
        try:
            pickle.dumps(formatter)
        except Exception:  # noqa: BLE001 - a formatter the worker cannot receive: it logs JSON lines
            from ...logs import JsonFormatter

            formatter = JsonFormatter() if logger.handlers else None
        return concurrent.futures.ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=init_worker,
            initargs=(self.root.ledger_path, logger.getEffectiveLevel(), formatter, self.broker))

    def home(self, partner: str) -> PartnerRoot:
        return PartnerRoot.of(self.root, partner)

    def submit(self, fn, *args) -> concurrent.futures.Future:
        try:
            future = self.executor.submit(fn, *args)
        except concurrent.futures.process.BrokenProcessPool:
            self.executor = self._new_executor()
            future = self.executor.submit(fn, *args)
        self.pending.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: concurrent.futures.Future) -> None:
        self.pending.discard(future)
        exc = future.exception()
        if isinstance(exc, concurrent.futures.process.BrokenProcessPool):
            # the worker died (killed, out of memory): the file stays where it was for the next scan
            event(log, "process.worker_died", logging.ERROR, error=type(exc).__name__)
            return
        if exc is not None:
            event(log, "process.error", logging.ERROR, **error_fields(exc))
        elif self.on_processed is not None:
            result = future.result()
            for outcome in result if isinstance(result, list) else [result]:
                self.on_processed(outcome)

    def rescan(self) -> None:
        if self.executor._broken:  # noqa: SLF001 - a dead worker is replaced before the next scan
            self.executor = self._new_executor()
        self.submit(scan_inbound, self.root, self.options)

    # --- sessions per partner --------------------------------------------------------------------

    def open_session(self, partner: str) -> bool:
        return self.sessions.open(partner, self.settings.max_sessions)

    def close_session(self, partner: str) -> None:
        self.sessions.close(partner)

    # --- finished uploads ------------------------------------------------------------------------

    async def finished(self, staged: Staged, home: PartnerRoot, who: dict) -> None:
        """A staged upload was closed or renamed to its final name. Before the client hears "OK", a
        complete one is moved into the partner's inbound/ (so a server killed right after cannot
        lose it); the processing then runs in the worker process. An upload without its IEA is
        rejected as truncated, binary bytes as not X12 (in the worker: it writes the ledger)."""
        loop = asyncio.get_running_loop()
        try:
            verdict, target = await loop.run_in_executor(None, self._receive, staged, home, who)
        except OSError as exc:
            event(log, "upload.error", logging.ERROR, file=staged.name, **who, **error_fields(exc))
            self.discard(staged, who)
            raise asyncssh.SFTPFailure("the upload could not be stored: please send it again") from None
        if target is not None:
            self.submit(process_file, target, home, self.options)
        elif verdict == "binary":
            event(log, "upload.incomplete", logging.WARNING, file=staged.name, **who, reason="not-x12")
            self.submit(reject_upload, staged.path, staged.name, home, "not-x12", "not X12: binary data",
                        self.options)
        elif verdict == "truncated":
            event(log, "upload.incomplete", logging.WARNING, file=staged.name, **who, count=staged.size,
                  reason="truncated")
            self.submit(reject_upload, staged.path, staged.name, home, "truncated",
                        "upload finished without an IEA trailer: the file is incomplete", self.options)

    def _receive(self, staged: Staged, home: PartnerRoot, who: dict) -> tuple[str, Path | None]:
        """('received', its path in inbound/), ('gone', None), ('binary', None) or ('truncated', None)."""
        try:
            size = staged.path.stat().st_size
            state = completeness(staged.path)
            binary = looks_binary(staged.path)
        except FileNotFoundError:
            return "gone", None
        if binary:
            return "binary", None
        if state is Completeness.NOT_X12 or (state is Completeness.COMPLETE and staged.contiguous(size)):
            sha = sha256_or_none(staged.path)
            target = move_no_clobber(staged.path, home.inbound, sha or secrets.token_hex(8), staged.name)
            if target is not None:
                event(log, "upload.received", file=target.name, sha256=sha, **who, count=size)
            return "received", target
        return "truncated", None

    def discard(self, staged: Staged, who: dict, reason: str = "aborted") -> None:
        with contextlib.suppress(FileNotFoundError):
            size = staged.path.stat().st_size
            staged.path.unlink()
            event(log, "upload.aborted", logging.WARNING, file=staged.name, **who, count=size, reason=reason)

    def shutdown(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=False)


def looks_binary(path: Path) -> bool:
    """NUL bytes, or mostly control characters, in the first kilobytes: no X12 file looks like that."""
    with open(path, "rb") as stream:
        head = stream.read(HEAD_BYTES)
    if not head:
        return False
    if b"\x00" in head:
        return True
    odd = sum(1 for b in head if b < 9 or 13 < b < 32 or b == 127)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            return True
    return odd > len(head) // 20
