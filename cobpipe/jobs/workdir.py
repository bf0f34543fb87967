"""The private work folders of the drop-folder step: ROOT/.cobpipe/work/<sha256>-<token>/.

An input is copied here before anything reads it (S1, `stage`), its outputs are written to
<work>/out, and the folder is deleted once they are published. A folder belongs to the process
named in its .owner file ("<host> <pid>"), so a restart can tell a folder whose process died
(safe to delete: nothing in it was committed) from one a live process is still filling.
Which folders a restart keeps is decided by process.recover(), which knows the ledger.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import time
from pathlib import Path

from ..fsutil import _fsync_dir, mkdir_durable
from .layout import Root

STALE_WORK_SECONDS = 3600.0
OWNER_FILE = ".owner"  # "<host> <pid>" of the process using a work folder


def stage(path: Path, work: Path) -> str:
    """S1: copy the input into `work` under its own name, hashing the bytes copied; fsync the copy."""
    mkdir_durable(work.parent)
    work.mkdir()
    _fsync_dir(work.parent)
    (work / OWNER_FILE).write_text(_owner())
    digest = hashlib.sha256()
    with open(path, "rb") as src, open(work / path.name, "wb") as dst:
        while chunk := src.read(1 << 20):
            digest.update(chunk)
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    _fsync_dir(work)
    return digest.hexdigest()


def sync_work(work: Path, root: Root) -> None:
    """fsync the folders whose entries a commit relies on: <work>/out (and its sub-folders),
    <work> and .cobpipe/work."""
    out = work / "out"
    if out.is_dir():
        for folder in sorted((p for p in out.rglob("*") if p.is_dir()), reverse=True):
            _fsync_dir(folder)
        _fsync_dir(out)
    _fsync_dir(work)
    _fsync_dir(root.work)


def remove_work(work: Path) -> None:
    """Delete a work folder, its .owner file last: a kill midway leaves either a folder whose
    owner is dead or one that holds nothing but an unreadable .owner, and recover() deletes both."""
    try:
        entries = list(work.iterdir())
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.name == OWNER_FILE:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
    with contextlib.suppress(FileNotFoundError):
        (work / OWNER_FILE).unlink()
    with contextlib.suppress(OSError):
        work.rmdir()


def abandoned(work: Path) -> bool:
    """Uncommitted and safe to delete: its process is gone, or it was killed while being created or
    removed (no readable owner and nothing else inside). Deleting a folder a live process is just
    creating makes that process see its input as gone; the input stays in inbound for next time."""
    if _owner_is_dead(work):
        return True
    try:
        (work / OWNER_FILE).read_text().split()[1]
        return False
    except (OSError, IndexError):
        pass
    try:
        return all(entry.name == OWNER_FILE for entry in work.iterdir())
    except FileNotFoundError:
        return False


def mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return time.time()


def _owner() -> str:
    return f"{socket.gethostname()} {os.getpid()}"


def _owner_is_dead(work: Path) -> bool:
    """An uncommitted work folder whose process (on this host) is gone: its numbers were given back."""
    try:
        host, pid = (work / OWNER_FILE).read_text().split()
    except (OSError, ValueError):
        return False
    if host != socket.gethostname() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False
