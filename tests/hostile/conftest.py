"""Hostile-input tests: the command runs in a child process (a fresh interpreter started by
peak.py) and its peak memory is read there, never from the test process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
# the child may not use more address space than this: without the caps a hostile file fails fast
# (MemoryError, no figure under the limit) instead of taking the shared machine's memory
ADDRESS_SPACE_LIMIT = 3 << 30


@dataclass
class Peak:
    exit: int
    mb: float  # peak RSS of the command's process (or of the largest child it waited for)
    stdout: str
    stderr: str


def _limit() -> None:  # in the child, before exec
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))


def run_measured(tmp_path: Path, *args: str, timeout: float = 300) -> Peak:
    out = tmp_path / f"peak-{os.getpid()}-{len(list(tmp_path.glob('peak-*')))}.json"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, str(HERE / "peak.py"), str(out), "cobpipe.cli", *args],
                          capture_output=True, text=True, timeout=timeout, cwd=tmp_path, env=env,
                          preexec_fn=_limit)
    data = json.loads(out.read_text())
    assert data["exit"] == done.returncode, done.stderr
    return Peak(done.returncode, max(data["self_kb"], data["children_kb"]) / 1024, done.stdout, done.stderr)


@pytest.fixture
def measured(tmp_path):
    def run(*args: str, timeout: float = 300) -> Peak:
        return run_measured(tmp_path, *args, timeout=timeout)

    return run
