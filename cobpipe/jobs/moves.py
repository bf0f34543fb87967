"""Moving files between ROOT's folders without losing or overwriting any.

The drop-folder step's S5 (`publish`: a work folder's outputs into outbound/) and S6 (`archive`:
the input into archive/), the no-clobber rename that rejected/ and archive/ rely on (a name
already there is never replaced: a variant with the sha256 in it is taken instead), and finding
an archived input again by its bytes. Every move is an atomic rename with the folders fsynced;
across filesystems a copy is fsynced under a temp name and renamed.
"""
from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
from pathlib import Path

from edi.errors import CobpipeError

from ..fsutil import _fsync_dir, mkdir_durable, sha256_of
from ..ledger import FileRecord, Ledger
from .crashpoints import step
from .layout import PAPER_FOLDER, Root, is_ignored_name

PAPER_SUFFIX = ".paper.pdf"


def publish(work: Path, root: Root) -> list[Path]:
    """S5: move every finished output from <work>/out into outbound/; the .837 before its report.
    Paper claims (<era>.paper.pdf, CMS-1500 forms to print) go to outbound/paper/ (issue 20)."""
    out = work / "out"
    if not out.is_dir():
        return []
    files = sorted((p for p in out.iterdir() if p.is_file() and not is_ignored_name(p.name)),
                   key=lambda p: (p.name.endswith(".json"), p.name))
    published = []
    for produced in files:
        folder = root.outbound / PAPER_FOLDER if produced.name.endswith(PAPER_SUFFIX) else root.outbound
        if folder != root.outbound:
            mkdir_durable(folder)
        target = folder / produced.name
        move_durably(produced, target)
        published.append(target)
        step("publishing")
    for folder in sorted({p.parent for p in published}):
        _fsync_dir(folder)
    return published


def archive(path: Path, root: Root, sha: str) -> Path | None:
    """S6: rename the input into archive/ under a name not yet used there; None if it vanished."""
    return move_no_clobber(path, root.archive, sha)


def note_archived(ledger: Ledger, sha: str, moved: Path | None) -> None:
    """Note the archive name in the file's record (the retry of unmatched claims reads it back)."""
    if moved is None:
        return
    try:
        ledger.update_file_detail(sha, archived=moved.name)
    except CobpipeError:  # only a shortcut: archived_copy finds the file by hash without it
        pass


def archived_copy(root: Root, record: FileRecord) -> Path | None:
    """The archived bytes of a recorded input (a crash may have come between archiving and noting it)."""
    return find_archived(root.archive, record.name, record.sha256, record.detail.get("archived"))


def find_archived(archive_folder: Path, name: str, sha: str, noted: str | None = None) -> Path | None:
    """The file in `archive_folder` holding these bytes: the name noted at archiving, else any file
    named like the input (archive() may have added the sha256 to its name) whose SHA-256 matches.
    The jobs and the console's claim screen both look inputs up this way."""
    candidates = [archive_folder / Path(noted).name] if noted else []
    stem = Path(name).stem
    if archive_folder.is_dir():
        candidates += sorted(p for p in archive_folder.iterdir() if p.name.startswith(stem) and p.is_file())
    for candidate in candidates:
        if candidate.is_file() and sha256_or_none(candidate) == sha:
            return candidate
    return None


def sha256_or_none(path: Path) -> str | None:
    """The file's SHA-256, or None when it vanished (another worker took it)."""
    try:
        return sha256_of(path)
    except FileNotFoundError:
        return None


def rel(path: Path | None, root: Root) -> str | None:
    """A placed file as log lines name it: relative to ROOT when it is inside."""
    if path is None:
        return None
    try:
        return str(path.relative_to(root.path))
    except ValueError:
        return str(path)


def candidate_names(name: str, sha: str):
    """`name`, then variants with the sha256 in it: the names tried for a file in archive/ or rejected/."""
    stem, suffix = Path(name).stem, Path(name).suffix
    yield name
    yield f"{stem}.{sha[:12]}{suffix}"
    for n in range(1, 1000):
        yield f"{stem}.{sha[:12]}.{n}{suffix}"


PLACED, TAKEN, GONE = "placed", "taken", "gone"


def place(path: Path, target: Path) -> str:
    """Rename `path` to `target` unless `target` exists (never overwrites); both folders fsynced.
    PLACED, TAKEN (the name is used) or GONE (`path` vanished)."""
    try:
        os.link(path, target)  # fails if target exists: never overwrite an archived file
    except FileExistsError:
        return TAKEN
    except FileNotFoundError:
        return GONE
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
            raise
        if os.path.lexists(target):
            return TAKEN
        try:
            move_durably(path, target)
        except FileNotFoundError:
            return GONE
        _fsync_dir(target.parent)
        return PLACED
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    _fsync_dir(target.parent)
    _fsync_dir(path.parent)
    return PLACED


def move_no_clobber(path: Path, folder: Path, sha: str, name: str | None = None) -> Path | None:
    """Rename `path` into `folder` as `name` (default: its own), or a variant with the sha256 in it
    when that is taken; never overwrites. None if `path` vanished."""
    mkdir_durable(folder)
    for candidate in candidate_names(name or path.name, sha):
        target = folder / candidate
        placed = place(path, target)
        if placed == PLACED:
            return target
        if placed == GONE:
            return None
    raise OSError(errno.EEXIST, f"no free name for {path.name} in {folder}")


def move_durably(source: Path, target: Path) -> None:
    """Atomic rename; across filesystems: copy to a temp name, fsync, rename, then remove the source."""
    try:
        os.replace(source, target)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    with open(source, "rb") as src, open(tmp, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
        dst.flush()
        os.fsync(dst.fileno())
    os.replace(tmp, target)
    _fsync_dir(target.parent)
    source.unlink()
