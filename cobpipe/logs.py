"""JSON log lines for the unattended jobs, one object per line, with no PHI in them.

Only the fields named in `SAFE_FIELDS` are written: file names, hashes, control numbers, counts,
segment positions, claim ids (CLM01/CLP01), reason codes. Anything else passed to `event()` is
dropped, so a careless call cannot leak a patient's name, member id or birth date. Exceptions are
logged by type, plus the message of our own EdiError (whose messages never hold PHI); the message
of any other exception (a KeyError can hold a member id) is never written.

    log = logging.getLogger("cobpipe.jobs")
    event(log, "file.converted", file="era.835", sha256=digest, claims=["A1"], counts={"converted": 1})
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from edi.errors import EdiError

SAFE_FIELDS = frozenset({
    "file", "files", "era", "sha256", "kind", "outcome", "reason", "moved_to", "outputs", "output",
    "control_numbers", "counts", "count", "claims", "claims_total", "claim", "segment", "line", "error",
    "message",
    "root", "host", "port", "user", "peer", "session", "elapsed_ms", "first_seen", "observer",
    "waiting", "age_s", "status", "where", "partner", "fingerprint",
})


class JsonFormatter(logging.Formatter):
    """`{"ts": ..., "level": ..., "logger": ..., "event": ..., <safe fields>}` per record."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": getattr(record, "event", None) or "log",
        }
        data.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[1] is not None:
            data.update(error_fields(record.exc_info[1]))
        return json.dumps(data, default=str, sort_keys=False)


def event(logger: logging.Logger, name: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event with only the safe fields (others are dropped, never written)."""
    if not logger.isEnabledFor(level):
        return
    safe = {key: value for key, value in fields.items() if key in SAFE_FIELDS and value is not None}
    logger.log(level, name, extra={"event": name, "fields": safe})


def error_fields(exc: BaseException) -> dict[str, Any]:
    """What may be logged about an exception: its type; for an EdiError also its message and position."""
    fields: dict[str, Any] = {"error": type(exc).__name__}
    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
    if frames:  # where it was raised (file:line), never the values involved
        last = frames[-1]
        fields["where"] = f"{Path(last.filename).name}:{last.lineno}"
    if isinstance(exc, EdiError):
        fields["message"] = exc.message
        if exc.segment is not None:
            fields["segment"] = exc.segment
        if exc.line is not None:
            fields["line"] = exc.line
        if exc.claim:
            fields["claim"] = exc.claim
    return fields


class TextFormatter(logging.Formatter):
    """Short lines for a person at a terminal: `12:04:05 file.converted era.835 counts=converted:10`.

    The same safe fields as the JSON lines, nothing else."""

    def format(self, record: logging.LogRecord) -> str:
        when = dt.datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        fields = dict(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[1] is not None:
            fields.update(error_fields(record.exc_info[1]))
        parts = [when]
        if record.levelno >= logging.WARNING:
            parts.append(record.levelname.lower())
        parts.append(getattr(record, "event", None) or record.getMessage())
        name = fields.pop("file", None)
        if name is not None:
            parts.append(str(name))
        for key, value in fields.items():
            if key == "sha256" and isinstance(value, str):
                value = value[:12]  # enough to tell files apart on a screen; the JSON lines keep it whole
            parts.append(f"{key}={_short(value)}")
        return " ".join(parts)


def _short(value: Any) -> str:
    """A field value on one short line: mappings as k:v,k:v, lists as a,b,c (the first 10, then +N)."""
    if isinstance(value, Mapping):
        return ",".join(f"{k}:{_short(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        shown = [_short(v) for v in value[:10]]
        return ",".join(shown) + (f",+{len(value) - 10}" if len(value) > 10 else "")
    text = str(value)
    return json.dumps(text) if not text or any(c.isspace() for c in text) else text


class ProgressSafeHandler(logging.StreamHandler):
    """Writes each line with tqdm.write, which clears any progress bar on the stream first and
    draws it again after: log lines and the bar never share a line."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from tqdm import tqdm

            tqdm.write(self.format(record), file=self.stream)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


LOG_FORMATS = ("auto", "json", "text")


def configure(stream: TextIO, level: int = logging.INFO, logger_name: str = "cobpipe",
              log_format: str = "json") -> logging.Handler:
    """Send the `cobpipe` loggers to `stream`; returns the handler (remove it to undo).

    `log_format`: "json" (one object per line, for log shippers), "text" (short human lines), or
    "auto": text when `stream` is a terminal, else JSON. On a terminal, lines are written around
    any progress bar, never into it."""
    on_terminal = _isatty(stream)
    if log_format == "auto":
        log_format = "text" if on_terminal else "json"
    handler = ProgressSafeHandler(stream) if on_terminal else logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter() if log_format == "text" else JsonFormatter())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return handler


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def unconfigure(handler: logging.Handler, logger_name: str = "cobpipe") -> None:
    logger = logging.getLogger(logger_name)
    logger.removeHandler(handler)
    handler.close()


def counts_of(items: Mapping[str, int]) -> dict[str, int]:
    """Non-zero counts only, for compact lines."""
    return {key: value for key, value in items.items() if value}
