"""What every command shares: the error shape, checks that an output can be written before any
work is done, the progress bar, and the file mode of what cobpipe writes.

Errors. A command that cannot do its work prints one line on stderr naming the path and the
reason and exits 2 (unusable input or output), or 3 (internal error). With `--json` it also prints
one object on stdout, the same for every command:

    {"error": {"code": "cannot_write", "message": "cannot write out/era.837: Permission denied",
               "path": "out"}}

`code` is one of ERROR_CODES; `path` is null when no file is involved.
"""
from __future__ import annotations

import errno
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edi.errors import CobpipeError

#: error codes of the JSON error object, and the exit status each comes with
ERROR_CODES = {
    "unusable_input": 2,  # an input file that cannot be used (not X12, truncated, bad CSV, missing)
    "cannot_write": 2,  # an output that cannot be written (permission, read-only, under a file, full)
    "cannot_read": 2,  # an input that cannot be read (permission, not there)
    "usage": 2,  # a wrong option or argument
    "internal": 3,  # a bug: run with --debug for the traceback
}

#: OS errors that are about the environment (a path, a permission, a full disk), not a bug
ENVIRONMENT_ERRNOS = frozenset({
    errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EISDIR, errno.ENOSPC, errno.EDQUOT,
    errno.ENOENT, errno.EEXIST, errno.ENAMETOOLONG, errno.ELOOP, errno.EXDEV, errno.ETXTBSY, errno.EFBIG,
})


class OutputError(CobpipeError):
    """An output (file or folder) that cannot be written: `path` and the operating system's reason."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot write {self.path}: {reason}")


def error_object(code: str, message: str, path: str | None = None) -> dict[str, Any]:
    """The one JSON error shape of every command."""
    return {"error": {"code": code, "message": message, "path": path}}


def print_error_json(code: str, message: str, path: str | None = None) -> None:
    sys.stdout.write(json.dumps(error_object(code, message, path)) + "\n")
    sys.stdout.flush()


def is_environment_error(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in ENVIRONMENT_ERRNOS


def os_error_message(exc: OSError) -> str:
    """`PATH: reason` for an OSError (both names when it has two, as a rename does)."""
    reason = exc.strerror or type(exc).__name__
    if exc.filename2 is not None:
        return f"{exc.filename} -> {exc.filename2}: {reason}"
    if exc.filename is not None:
        return f"{exc.filename}: {reason}"
    return reason


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def check_output_dir(path: Path) -> None:
    """Refuse (OutputError) an output folder that cannot be written, before any work: a path under
    a regular file, no permission, a read-only filesystem, an immutable folder. Leaves nothing
    behind: a probe file is created and removed in the folder, or in its nearest existing parent
    when the folder is still to be made."""
    path = Path(path)
    existing = next((p for p in [path, *path.parents] if p.exists() or p.is_symlink()), Path("."))
    if not existing.is_dir():
        raise OutputError(path, "not a folder" if existing == path else f"{existing} is not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".cobpipe-probe-", dir=existing)
    except OSError as exc:
        raise OutputError(path, _reason(exc)) from None
    os.close(fd)
    os.unlink(probe)


def check_output_file(path: Path) -> None:
    """Refuse (OutputError) an output file that cannot be written: its folder is checked as by
    check_output_dir, and the file itself must not be a folder."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(path, "is a folder")
    parent = path.parent if str(path.parent) else Path(".")
    try:
        check_output_dir(parent)
    except OutputError as exc:
        reason = f"{parent} is not a folder" if exc.reason == "not a folder" else exc.reason
        raise OutputError(path, reason) from None


# -- file modes ------------------------------------------------------------------------------------

#: Mode of every file cobpipe writes (837P outputs, reports, explain pages, synthetic sets): they
#: hold claims, so PHI: owner only, whatever the umask (what tempfile.mkstemp, behind every atomic
#: write, gives too).
OUTPUT_MODE = 0o600


def open_output(path: Path, encoding: str = "utf-8", buffering: int = -1):
    """A text stream writing `path` (created or truncated) with OUTPUT_MODE."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OUTPUT_MODE)
    try:
        os.fchmod(fd, OUTPUT_MODE)  # a file that was there keeps its mode through O_TRUNC
    except OSError:
        os.close(fd)
        raise
    return os.fdopen(fd, "w", encoding=encoding, newline="", buffering=buffering)


# -- progress --------------------------------------------------------------------------------------

def show_progress(*, quiet: bool = False, as_json: bool = False, stream=None) -> bool:
    """A progress bar only for a person watching: stderr is a terminal, and neither --quiet nor --json."""
    stream = stream if stream is not None else sys.stderr
    if quiet or as_json:
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def terminal_size(default: tuple[int, int] = (100, 24)) -> tuple[int, int]:
    """(columns, rows) of the terminal on stderr; the default for what it does not say (a pty that
    was never sized says 0 x 0, and tqdm then draws nothing)."""
    try:
        size = os.get_terminal_size(sys.stderr.fileno())
        columns, rows = size.columns, size.lines
    except (AttributeError, OSError, ValueError):
        columns = rows = 0
    return columns or default[0], rows or default[1]


class ClaimProgress:
    """A tqdm bar over the claims of one or more ERAs (one bar, reset for each ERA); a callable
    `(era, done, total)` for the pipeline's progress callback."""

    def __init__(self, unit: str = "claim") -> None:
        self.unit = unit
        self.bar = None
        self.era = None

    def __call__(self, era, done: int, total: int) -> None:
        from tqdm import tqdm

        if self.bar is None:
            columns, rows = terminal_size()
            self.bar = tqdm(total=total, unit=self.unit, desc=Path(str(era)).name, file=sys.stderr,
                            ncols=columns, nrows=rows, smoothing=0.1)
            self.era = era
        elif era != self.era:
            self.era = era
            self.bar.reset(total=total)
            self.bar.set_description(Path(str(era)).name)
        if done > self.bar.n:
            self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def progress_callback(enabled: bool) -> tuple[Callable | None, Callable[[], None]]:
    """(callback or None, close) for the pipeline's `on_progress`."""
    if not enabled:
        return None, lambda: None
    bar = ClaimProgress()
    return bar, bar.close


# -- the CSV report --------------------------------------------------------------------------------

#: columns of `convert --report-format csv`: one row per remitted claim (CLP01), as in the JSON report
REPORT_CSV_COLUMNS = ("id", "status", "payer_id", "segment", "reasons")


def report_csv_path(report_json: Path) -> Path:
    """OUT/<era stem>.report.csv beside OUT/<era stem>.report.json."""
    report_json = Path(report_json)
    return report_json.with_name(report_json.name.removesuffix(".json") + ".csv")


def write_report_csv(result) -> Path:
    """The claims of a convert result (pipeline.ConvertResult) as CSV, written atomically (0600):
    `segment` is the claim's CLP segment number in the 835; `reasons` joined with " | "."""
    import csv

    from .fsutil import atomic_writer

    path = report_csv_path(result.report)
    with atomic_writer(path) as stream:
        writer = csv.writer(stream, lineterminator="\r\n")
        writer.writerow(REPORT_CSV_COLUMNS)
        for decision in result.decisions:
            row = decision.to_dict()
            writer.writerow([row["id"], row["status"], row.get("payer_id", ""), row.get("segment", ""),
                             " | ".join(row.get("reasons", []))])
    return path
