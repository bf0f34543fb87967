"""Which database a ledger target names: a SQLite file path, or a `postgresql://` URL.

    dialect_for("/srv/cob/.cobpipe/ledger.db")            -> SqliteDialect
    dialect_for("postgresql://cobpipe@db/cobpipe")        -> PgDialect (cobpipe/ledger/pg.py)

`ledger_target` is also a click `type=` for every `--db` option: it keeps a URL a string (a
`pathlib.Path` would fold its `//`) and turns anything else into a Path. `COBPIPE_DB` is the
environment variable those options read when `--db` is not given.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .pg import URL_SCHEMES, is_postgres_url
from .sqlite import SqliteDialect

ENV_VAR = "COBPIPE_DB"


def ledger_target(value: str | Path | None) -> str | Path | None:
    """A URL stays a str; a file name becomes a Path; None stays None."""
    if value is None or isinstance(value, Path):
        return value
    text = str(value)
    if text.startswith(URL_SCHEMES):
        return text
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", text)
    if scheme:
        raise ValueError(f"{scheme.group(1)}:// ledgers are not supported (a file name or postgresql://...)")
    return Path(text)


def is_url(target: Any) -> bool:
    return is_postgres_url(target if isinstance(target, str) else None)


def dialect_for(target: str | Path, busy_timeout: float = 120.0):
    """The dialect for a ledger target (see the module docstring)."""
    target = ledger_target(target)
    if isinstance(target, str):
        from .pg import PgDialect

        return PgDialect(target)
    return SqliteDialect(Path(target), busy_timeout)
