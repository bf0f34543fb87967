"""Named points between two steps of the drop-folder step, where tests stop or kill the process.

`step(name)` does nothing unless one of the variables below names that point:
  COBPIPE_TEST_CRASH_AT=<step>[:<n>]  os._exit(137) there (the n-th time), like a SIGKILL: no
                                      cleanup, no flush -- the crash tests prove process.py's
                                      invariants hold after a kill at every point;
  COBPIPE_TEST_PAUSE_AT=<step>=<dir>  write <dir>/reached and wait for <dir>/go (the locking tests
                                      hold one process there while another runs).
"""
from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

CRASH_ENV = "COBPIPE_TEST_CRASH_AT"  # crash tests only: "<step>" or "<step>:<n>" (the n-th time)
PAUSE_ENV = "COBPIPE_TEST_PAUSE_AT"  # locking tests only: "<step>=<folder>" waits there for <folder>/go
_crash_counts: Counter = Counter()


def step(name: str) -> None:
    """A named point between two steps; COBPIPE_TEST_CRASH_AT=<name>[:n] kills the process there
    (os._exit, like SIGKILL: no cleanup, no flush) so tests can prove the invariants of process.py."""
    pause = os.environ.get(PAUSE_ENV)
    if pause and pause.partition("=")[0] == name:
        _pause(Path(pause.partition("=")[2]))
    wanted = os.environ.get(CRASH_ENV)
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    if point != name:
        return
    _crash_counts[name] += 1
    if _crash_counts[name] >= int(nth or 1):
        os._exit(137)


def _pause(folder: Path, deadline: float = 300.0) -> None:
    """Tests only: say <folder>/reached, then wait (at most `deadline` s) until <folder>/go exists."""
    (folder / "reached").write_text(str(os.getpid()))
    until = time.monotonic() + deadline
    while not (folder / "go").exists() and time.monotonic() < until:
        time.sleep(0.02)
