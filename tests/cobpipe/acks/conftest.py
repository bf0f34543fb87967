"""Fixtures for the acknowledgment tests: a ROOT with secondary claims issued, and hand-written
999 / 277CA files answering them (the jobs tests' synthetic 837P/835 pair, tests/cobpipe/jobs/jobfiles.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "jobs"))

from cobpipe.jobs.layout import Root  # noqa: E402
from cobpipe.jobs.process import JobOptions  # noqa: E402
from cobpipe.ledger import Ledger  # noqa: E402
from cobpipe.pipeline import ConvertOptions  # noqa: E402

from jobfiles import TODAY  # noqa: E402


@pytest.fixture
def root(tmp_path) -> Root:
    return Root.prepare(tmp_path / "root")


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request, root):
    """The ledger on SQLite and on PostgreSQL (a fresh database, found by URL: tests/services.py)."""
    if request.param == "sqlite":
        with Ledger.open(root.ledger_path) as opened:
            opened.test_target = str(root.ledger_path)
            yield opened
        return
    from services import fresh_pg_database

    with fresh_pg_database() as url, Ledger.open(url) as opened:
        opened.test_target = url
        yield opened


@pytest.fixture
def options() -> JobOptions:
    return JobOptions(convert=ConvertOptions(today=TODAY), truncated_after=900, settle=0.5)


@pytest.fixture
def json_log():
    """Every cobpipe log line, formatted as the jobs write them."""
    import logging

    from cobpipe.logs import JsonFormatter

    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Capture()
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("cobpipe")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
