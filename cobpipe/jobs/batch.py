"""Which inbound files to take, in which order, and the one-shot `run` over all of them.

837Ps go before 835s (an ERA converted before its claims were stored would only find them
unmatched), then oldest first, then by name.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path

from ..ledger import Ledger
from ..logs import event
from .intake import finished
from .layout import Root
from .process import JobOptions, Outcome, Status, process_inbound, recover

log = logging.getLogger("cobpipe.jobs")

_HEAD = 4096


def priority(path: Path) -> tuple[int, float, str]:
    """(0 for an 837, 1 for an 835, 2 otherwise; modification time; name)."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(_HEAD).decode("utf-8", "replace")
        mtime = os.stat(path).st_mtime
    except OSError:
        return (3, 0.0, path.name)
    text = head.lstrip("\ufeff \r\n\t")
    if text.startswith("ISA") and len(text) > 3:
        element = text[3]
    elif text.startswith("ST") and len(text) > 2:
        element = text[2]
    else:
        return (2, mtime, path.name)
    rank = 2
    for code, value in (("837", 0), ("835", 1)):
        if f"ST{element}{code}" in head:
            rank = min(rank, value)
    return (rank, mtime, path.name)


def ordered(paths: Iterable[Path]) -> list[Path]:
    return sorted(paths, key=priority)


def run_once(root: Root, ledger: Ledger, options: JobOptions, *, progress: bool = False) -> list[Outcome]:
    """Process everything in inbound/ once (cron): recover, then each file in order. A file changed in
    the last `options.settle` seconds is taken when it ends with a complete interchange (IEA matching
    its ISA, counts right: `intake.finished`), else left for the next run (a writer may be busy)."""
    recover(root, ledger)
    started = time.monotonic()
    files = ordered(root.inbound_files())
    outcomes: list[Outcome] = []
    iterator: Iterable[Path] = files
    if progress and len(files) > 1:
        from tqdm import tqdm

        iterator = tqdm(files, desc="inbound", unit="file")
    now = time.time()
    for path in iterator:
        try:
            fresh = now - path.stat().st_mtime < options.settle
        except FileNotFoundError:
            outcomes.append(Outcome(path.name, Status.GONE))
            continue
        if fresh and not _finished(path):
            outcomes.append(Outcome(path.name, Status.WAITING, reason="settling"))
            continue
        outcomes.append(process_inbound(path, ledger, root, options))
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[str(outcome.status)] = counts.get(str(outcome.status), 0) + 1
    event(log, "run.done", root=str(root.path), counts=counts,
          elapsed_ms=int((time.monotonic() - started) * 1000),
          waiting=[o.name for o in outcomes if o.status is Status.WAITING] or None)
    return outcomes


def _finished(path: Path) -> bool:
    try:
        return finished(path)
    except OSError:
        return False  # gone or unreadable now: process_inbound says which, next time


def exit_code(outcomes: Iterable[Outcome]) -> int:
    """0 all good (or waiting), 1 some file rejected, partly converted or left by an error."""
    bad = {Status.REJECTED, Status.PARTIAL, Status.ERROR}
    return 1 if any(o.status in bad for o in outcomes) else 0
