"""Atomic file output: write to a temporary name beside the target, fsync, then rename.

A reader (the clearinghouse's pickup job, an SFTP client) never sees a partial file: the target
name appears only once its content is complete and on disk.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO


@contextlib.contextmanager
def atomic_writer(target: Path, encoding: str | None = "utf-8") -> Iterator[TextIO]:
    """Yields a text stream (a binary one when `encoding` is None); on clean exit the content
    replaces `target` atomically, else it vanishes."""
    target = Path(target)
    mkdir_durable(target.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        stream = os.fdopen(fd, "wb") if encoding is None else os.fdopen(
            fd, "w", encoding=encoding, errors="surrogateescape", newline="")
        with stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_text_atomic(target: Path, text: str) -> None:
    with atomic_writer(target) as stream:
        stream.write(text)


def _fsync_dir(directory: Path) -> None:
    """Persist the rename itself (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_dir(directory: Path) -> None:
    """Persist the entries of `directory` (renames, links, new files and folders in it)."""
    _fsync_dir(directory)


def mkdir_durable(folder: Path) -> None:
    """Create `folder` and any missing parents, fsyncing the parent of each folder created, so the
    new folders survive a power cut (a rename into them relies on that)."""
    folder = Path(folder)
    missing: list[Path] = []
    current = folder
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for created in reversed(missing):
        try:
            created.mkdir()
        except FileExistsError:
            pass
        _fsync_dir(created.parent)
    if not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True)  # raises the usual error for a path under a file


def write_new_file(target: Path, text: str, encoding: str = "utf-8") -> None:
    """Write `text` to `target` durably, never replacing an existing file: FileExistsError if the
    name is taken (temp name, fsync, hard link to the target, folder fsynced)."""
    target = Path(target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding=encoding, errors="surrogateescape", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.link(tmp, target)  # fails when the name exists: never overwrites
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    _fsync_dir(target.parent)


def rename_no_clobber(source: Path, target: Path) -> None:
    """Rename `source` to `target` in one filesystem, raising FileExistsError instead of replacing
    an existing `target` (link, then unlink the source); both folders fsynced."""
    os.link(source, target)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(source)
    _fsync_dir(Path(target).parent)
    if Path(source).parent != Path(target).parent:
        _fsync_dir(Path(source).parent)


def sha256_of(path: Path) -> str:
    """The hex SHA-256 of a file's bytes, read 1 MiB at a time (how inputs and outputs are known)."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
