"""What the drop-folder step does with a file it cannot use, and with a problem that is not the file's.

`reject_path`: a reason file (<name>.reason.json) in rejected/, then the ledger record, then the
input moved beside it; nothing in rejected/ is ever replaced. `error_outcome`: a configuration,
ledger or I/O problem -- the input stays where it is for the next attempt, and the message names
the setting or the path that failed, never claim data.
"""
from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import time
from pathlib import Path

from edi.errors import CobpipeError, EdiError

from ..fsutil import mkdir_durable, write_new_file
from ..ledger import FileRecord, Ledger
from ..logs import error_fields, event
from .crashpoints import step
from .layout import Root
from .moves import PLACED, TAKEN, candidate_names, place, rel
from .outcome import Outcome, Reject, Status

log = logging.getLogger("cobpipe.jobs")


def reject_path(path: Path, ledger: Ledger, root: Root, sha: str | None, rejection: Reject,
                name: str | None = None) -> Outcome:
    """reason file first, then the ledger record, then the input moved into rejected/. Never raises:
    when rejected/ or the ledger cannot be written (disk full, read-only, locked), the input stays
    where it is (status ERROR, tried again next time) and no reason file is left without its input."""
    name = name or path.name
    if sha is None:
        return Outcome(name, Status.GONE)
    written: list[Path] = []
    try:
        return _reject_now(path, ledger, root, sha, rejection, name, written)
    except (OSError, CobpipeError) as exc:
        for reason_file in written:
            with contextlib.suppress(OSError):
                reason_file.unlink()
        return error_outcome(name, sha, exc, root)


def _reject_now(path: Path, ledger: Ledger, root: Root, sha: str, rejection: Reject, name: str,
                written: list[Path]) -> Outcome:
    exc = rejection.exc
    reason = {"file": name, "sha256": sha, "reason": rejection.reason, "message": rejection.message,
              "kind": rejection.kind, "rejected_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    if isinstance(exc, EdiError):
        reason.update({"segment": exc.segment, "line": exc.line, "claim": exc.claim})
    reason = {k: v for k, v in reason.items() if v is not None}
    text = json.dumps(reason, indent=2) + "\n"
    mkdir_durable(root.rejected)
    moved: Path | None = None
    for candidate in candidate_names(name, sha):
        # a name free for the input and for its reason file: nothing in rejected/ is ever replaced
        # (a dropped file may itself be called "<other>.reason.json")
        target = root.rejected / candidate
        reason_file = root.rejected / f"{candidate}.reason.json"
        if os.path.lexists(target):
            continue
        if os.path.lexists(reason_file):
            if not _own_orphan(reason_file, sha):
                continue
            reason_file.unlink()  # ours, left by a run killed before it moved the input beside it
        try:
            write_new_file(reason_file, text)
        except FileExistsError:
            continue
        written.append(reason_file)
        ledger.record_file(FileRecord(sha, name, rejection.kind or "unknown", "rejected", rejection.reason,
                                      detail={"message": rejection.message, "moved_to": candidate}))
        step("rejected-recorded")
        placed = place(path, target)
        if placed == TAKEN:  # another file took the name meanwhile: try the next one
            reason_file.unlink()
            written.remove(reason_file)
            continue
        if placed == PLACED:
            moved = target
        written.clear()  # the input is beside its reason file now (or gone): keep the reason file
        break
    else:
        raise OSError(errno.EEXIST, f"no free name for {name} in {root.rejected}")
    event(log, "file.rejected", logging.WARNING, file=name, sha256=sha, kind=rejection.kind,
          reason=rejection.reason, message=rejection.message,
          segment=getattr(exc, "segment", None), line=getattr(exc, "line", None), moved_to=rel(moved, root))
    return Outcome(name, Status.REJECTED, sha, rejection.kind, rejection.reason, rejection.message, moved)


def _own_orphan(reason_file: Path, sha: str) -> bool:
    """A reason file written for these very bytes whose input never joined it (a kill in between)."""
    try:
        return json.loads(reason_file.read_text()).get("sha256") == sha
    except (OSError, ValueError, AttributeError):
        return False


def error_outcome(name: str, sha: str | None, exc: BaseException, root: Root | None = None) -> Outcome:
    """Status ERROR for a problem that is not the file's (the input stays for the next attempt)."""
    fields = error_fields(exc)
    message = fields.get("message") or (f"{type(exc).__name__}: {exc.strerror}" if isinstance(exc, OSError)
                                        and exc.strerror else type(exc).__name__)
    if isinstance(exc, OSError) and not fields.get("message"):
        # which file or folder failed (paths under ROOT: folder and file names, never file content)
        paths = [_shown_path(p, root) for p in (exc.filename, exc.filename2) if p]
        if paths:
            message += ": " + " -> ".join(paths)
    if isinstance(exc, CobpipeError) and not isinstance(exc, EdiError):
        message = str(exc)  # configuration errors name a setting file and row, never claim data
    event(log, "file.error", logging.ERROR, file=name, sha256=sha, error=type(exc).__name__, message=message)
    return Outcome(name, Status.ERROR, sha, reason="error", message=message)


def _shown_path(raw, root: Root | None) -> str:
    path = Path(os.fsdecode(raw))
    if root is not None:
        with contextlib.suppress(ValueError):
            return str(path.relative_to(root.path))
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name
