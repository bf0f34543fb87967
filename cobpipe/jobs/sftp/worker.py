"""The server's worker process: where an upload is processed, never in the server itself.

UploadHub submits these functions to a one-process pool (spawned, so nothing of the server's state
is inherited); the worker opens its own ledger connection once (`_worker_init`) and runs the
drop-folder step (process_inbound), or with --broker hands the file to the distributed intake.
Hostile input can then grow only the worker's memory, and a worker that dies is replaced.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path

from ...ledger import Ledger
from ..layout import Root
from ..moves import sha256_or_none
from ..outcome import JobOptions, Reject
from ..rejection import reject_path

_worker_ledger: Ledger | None = None
_worker_broker: str | None = None  # sftp-serve --broker: uploads are queued for `cobpipe worker`s
_worker_intake = None


def init_worker(ledger_path, level: int, formatter: logging.Formatter | None, broker: str | None = None) -> None:
    """Runs once in the worker process: its own ledger connection and the server's log format."""
    global _worker_ledger, _worker_broker
    _worker_broker = broker
    _die_with_parent()
    logger = logging.getLogger("cobpipe")
    if formatter is not None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(formatter)
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
    _worker_ledger = Ledger.open(ledger_path)


def _die_with_parent() -> None:
    """Linux: the worker gets SIGKILL when the server dies, however it dies (no orphan keeps working on
    ROOT; the step it was in is crash-safe, see process.py)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(Exception):
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the server died before the call above
            os._exit(1)


def _intake(root: Root, options: JobOptions):
    """With --broker, the dist intake of ROOT (store + enqueue; deliver what the workers made)."""
    global _worker_intake
    if _worker_intake is None:
        from ...dist.app import make_app
        from ...dist.intake import Intake

        _worker_intake = Intake(Root(root.path, root.ledger_path), _worker_ledger, make_app(_worker_broker), options)
    return _worker_intake


def process_file(path: Path, root: Root, options: JobOptions):
    if _worker_broker:
        return _intake(root, options).accept(path)
    from ..process import process_inbound

    return process_inbound(path, _worker_ledger, root, options)


def reject_upload(path: Path, name: str, root: Root, reason: str, message: str, options: JobOptions):
    """A finished upload that cannot be used: into rejected/ with its reason, and the partner gets the
    TA1/999 its envelope allows (a cut interchange: TA1 023; binary: nothing to address)."""
    from ...acks import hook

    outcome = reject_path(path, _worker_ledger, root, sha256_or_none(path), Reject(reason, message), name=name)
    hook.after(outcome, _worker_ledger, root, options)
    return outcome


def scan_inbound(root: Root, options: JobOptions):
    if _worker_broker:
        return _intake(root, options).run_once()
    from ..batch import run_once

    return run_once(root, _worker_ledger, options)
