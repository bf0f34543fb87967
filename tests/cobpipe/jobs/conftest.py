"""Fixtures for the jobs: a ROOT, its ledger, job options, and the JSON log lines written."""
from __future__ import annotations

import logging

import pytest

from cobpipe.jobs.layout import Root
from cobpipe.jobs.process import JobOptions
from cobpipe.ledger import Ledger
from cobpipe.logs import JsonFormatter
from cobpipe.pipeline import ConvertOptions

from jobfiles import TODAY


@pytest.fixture
def root(tmp_path) -> Root:
    return Root.prepare(tmp_path / "root")


@pytest.fixture
def ledger(root):
    with Ledger.open(root.ledger_path) as opened:
        yield opened


@pytest.fixture
def options() -> JobOptions:
    return JobOptions(convert=ConvertOptions(today=TODAY), truncated_after=900, settle=0.5)


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def json_log():
    """Every cobpipe log line, formatted as the jobs write them."""
    handler = _Capture()
    logger = logging.getLogger("cobpipe")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
