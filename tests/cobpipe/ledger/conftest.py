"""Every ledger test that asks for `db` runs twice: on SQLite and on PostgreSQL.

`db(name)` is a ledger target: a SQLite file under tmp_path, or the URL of a fresh PostgreSQL
database (one per name and test, dropped afterwards). PostgreSQL is found by URL (tests/services.py):
skipped with the reason when unreachable, a failure when COBPIPE_REQUIRE_SERVICES=1.
"""
from __future__ import annotations

import contextlib

import pytest

from services import fresh_pg_database


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    kind = request.param
    with contextlib.ExitStack() as stack:
        made: dict[str, object] = {}

        def target(name: str = "ledger"):
            if name not in made:
                if kind == "sqlite":
                    made[name] = tmp_path / f"{name}.db"
                else:
                    made[name] = stack.enter_context(fresh_pg_database())
            return made[name]

        target.kind = kind
        yield target
