"""Where a one-shot `cobpipe convert` keeps what must outlive the run without `--db`: the control
numbers it used (ISA13/GS06/ST02 never repeat between two runs for the same sender and receiver).

The XDG base directory spec's state directory: $XDG_STATE_HOME/cobpipe, else ~/.local/state/cobpipe.
"""
from __future__ import annotations

import os
from pathlib import Path


def user_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME", "").strip()
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "state"
    return root / "cobpipe"


def user_ledger_path() -> Path:
    return user_state_dir() / "ledger.db"
