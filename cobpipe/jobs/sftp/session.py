"""One SFTP session (DropFolderSFTP), confined to its partner's /inbound and /outbound.

Every client path goes through paths.resolve; uploads are written to a hidden staging file and
only a client's explicit close, or its rename from a temporary name, finishes one (see the
package's doc); the limits are checked as the bytes arrive (limits.py), each refusal logged once
per session.
"""
from __future__ import annotations

import contextlib
import logging
import os
import secrets
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh

from ...logs import event
from ..layout import is_ignored_name
from .config import MB
from .hub import UploadHub, Handle, Staged
from .limits import room_refusal
from .paths import AREAS, area_dir, normalized, resolve, visible_file

log = logging.getLogger("cobpipe.sftp")


class DropFolderSFTP(asyncssh.SFTPServer):
    """One SFTP session confined to the partner's /inbound and /outbound."""

    def __init__(self, chan: asyncssh.SSHServerChannel, hub: UploadHub) -> None:
        super().__init__(chan)
        self.hub = hub
        gate = chan.get_connection().get_owner()
        self.partner: str = gate.partner
        self.who = {"partner": self.partner, "fingerprint": gate.fingerprint}
        self.home = hub.home(self.partner)
        self.settings = hub.settings
        self.session = secrets.token_hex(4)
        self.staged: dict[str, Staged] = {}
        self.handles = 0
        self._counter = 0
        self._refusals: set[str] = set()
        self.refused: str | None = None  # a session over the partner's limit: every request fails
        if not hub.open_session(self.partner):
            self.refused = f"too many sessions for partner {self.partner} (limit {self.settings.max_sessions})"
            self._refuse("sessions", self.refused)
        event(log, "sftp.session_started", session=self.session, **self.who)

    def _refuse(self, kind: str, message: str, error=asyncssh.SFTPFailure, **fields) -> Exception:
        """An SFTP error for the client; logged once per session and kind."""
        if kind not in self._refusals:
            self._refusals.add(kind)
            event(log, "sftp.refused", logging.WARNING, reason=kind, message=message, session=self.session,
                  **self.who, **fields)
        return error(message)

    # --- path resolution: paths.py is the only way from a client path to a local one -----------

    def _resolve(self, path: bytes) -> tuple[str, str | None]:
        """paths.resolve, for a session that may serve requests (else every request fails)."""
        if self.refused:
            raise asyncssh.SFTPFailure(self.refused)
        return resolve(path)

    def _area_dir(self, area: str) -> Path:
        return area_dir(self.home, area)

    def _visible_file(self, area: str, name: str) -> Path:
        return visible_file(self.home, area, name)

    def map_path(self, path: bytes) -> bytes:  # asyncssh must never map a path on its own
        raise asyncssh.SFTPPermissionDenied("not supported")

    def realpath(self, path: bytes) -> bytes:
        return normalized(path)

    # --- attributes and listings ---------------------------------------------------------------

    def _stat(self, path: bytes) -> os.stat_result:
        area, name = self._resolve(path)
        if name is None:
            return os.stat(self._area_dir(area))
        if area == "inbound" and name in self.staged:
            return os.stat(self.staged[name].path)
        return os.lstat(self._visible_file(area, name))

    def stat(self, path: bytes) -> os.stat_result:
        return self._stat(path)

    def lstat(self, path: bytes) -> os.stat_result:
        return self._stat(path)

    def fstat(self, file_obj: object) -> os.stat_result:
        return os.fstat(file_obj.file.fileno())

    async def scandir(self, path: bytes) -> AsyncIterator[asyncssh.SFTPName]:
        area, name = self._resolve(path)
        if name is not None:
            raise asyncssh.SFTPNoSuchFile("not a folder")
        here = self._area_dir(area)
        for dot in (".", ".."):
            yield asyncssh.SFTPName(dot.encode(), attrs=asyncssh.SFTPAttrs.from_local(os.stat(here)))
        if area == "/":
            for sub in AREAS:
                yield asyncssh.SFTPName(sub.encode(),
                                        attrs=asyncssh.SFTPAttrs.from_local(os.stat(self._area_dir(sub))))
            return
        with os.scandir(here) as entries:
            listed = [(e.name, e.stat(follow_symlinks=False)) for e in entries
                      if not is_ignored_name(e.name) and e.is_file(follow_symlinks=False)]
        if area == "inbound":
            listed += [(s.name, os.stat(s.path)) for s in self.staged.values() if s.path.exists()]
        for entry_name, info in sorted(listed):
            yield asyncssh.SFTPName(entry_name.encode(), attrs=asyncssh.SFTPAttrs.from_local(info))

    def setstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        self._stat(path)  # permissions and times of our files are ours: accepted, not applied

    def lsetstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        self._stat(path)

    def fsetstat(self, file_obj: object, attrs: asyncssh.SFTPAttrs) -> None:
        return None

    def statvfs(self, path: bytes):
        self._resolve(path)
        return os.statvfs(self.hub.root.path)

    # --- limits ----------------------------------------------------------------------------------

    def _check_room(self, extra: int) -> None:
        """Refuse an upload (open or write) that would break the disk floor or the quota."""
        refusal = room_refusal(self.settings, self.hub.root.path, self.home, extra)
        if refusal is not None:
            kind, message, error = refusal
            raise self._refuse(kind, message, error)

    # --- files ---------------------------------------------------------------------------------

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> Handle:
        area, name = self._resolve(path)
        if name is None:
            raise asyncssh.SFTPFailure("is a folder")
        if self.handles >= self.settings.max_handles:
            raise self._refuse("handles", f"too many open files in this session (limit "
                                          f"{self.settings.max_handles}): close some first")
        writing = bool(pflags & (asyncssh.FXF_WRITE | asyncssh.FXF_APPEND | asyncssh.FXF_CREAT | asyncssh.FXF_TRUNC))
        try:
            handle = self._open(area, name, writing, pflags)
        except OSError as exc:  # EMFILE, ENOSPC, ...: one error for the client, one log line
            raise self._refuse(f"os-{exc.errno}", f"cannot open the file now ({exc.strerror or exc})") from None
        self.handles += 1
        return handle

    def _open(self, area: str, name: str, writing: bool, pflags: int) -> Handle:
        if area == "outbound":
            if writing:
                raise asyncssh.SFTPPermissionDenied("outbound is read-only: upload into /inbound")
            local = self._visible_file(area, name)
            fd = os.open(local, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            return Handle(os.fdopen(fd, "rb"))
        # inbound: only the client's own upload in progress can be opened
        staged = self.staged.get(name)
        if not writing:
            if staged is None:
                raise asyncssh.SFTPPermissionDenied("uploads cannot be read back")
            return Handle(open(staged.path, "rb"), staged)
        self._check_room(0)
        if staged is None or pflags & asyncssh.FXF_TRUNC or not staged.path.exists():
            if staged is not None and pflags & asyncssh.FXF_EXCL:
                raise asyncssh.SFTPFileAlreadyExists("file already exists")
            self._counter += 1
            local = self.home.uploads / f".{self.session}-{self._counter}-{secrets.token_hex(4)}.part"
            self.home.uploads.mkdir(parents=True, exist_ok=True)
            fd = os.open(local, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            if staged is not None:
                with contextlib.suppress(FileNotFoundError):
                    staged.path.unlink()
            staged = Staged(name, local)
            self.staged[name] = staged
            handle = Handle(os.fdopen(fd, "r+b"), staged, True)
        else:
            handle = Handle(open(staged.path, "r+b"), staged, True)
            size = staged.path.stat().st_size
            staged.wrote(0, size)  # resuming: what is there was written before
        staged.open_handles += 1
        event(log, "upload.started", file=name, session=self.session, **self.who)
        return handle

    def read(self, file_obj: object, offset: int, size: int) -> bytes:
        file_obj.file.seek(offset)
        return file_obj.file.read(size)

    def write(self, file_obj: object, offset: int, data: bytes) -> int:
        if not file_obj.writable:
            raise asyncssh.SFTPPermissionDenied("read-only")
        staged: Staged = file_obj.staged
        if staged.refused:
            raise asyncssh.SFTPFailure(staged.refused)
        end = offset + len(data)
        grows = max(end - staged.size, 0)
        try:
            if end > self.settings.max_upload:
                raise self._refuse("too-large", f"upload larger than the limit of {self.settings.max_upload} "
                                                "bytes: refused", asyncssh.SFTPFailure, file=staged.name)
            if grows and (staged.size // MB != end // MB or staged.size == 0):  # checked once a megabyte
                self._check_room(grows)
        except asyncssh.SFTPError as exc:
            staged.refused = exc.reason
            raise
        file_obj.file.seek(offset)
        written = file_obj.file.write(data)
        staged.wrote(offset, written)
        return written

    def fsync(self, file_obj: object) -> None:
        file_obj.file.flush()
        os.fsync(file_obj.file.fileno())

    def close(self, file_obj: object):
        """asyncssh calls this for a client's close request (`_process_close`) and for every handle
        still open when the session ends (`_cleanup`: the channel or connection went away). Only the
        first finishes an upload; which one it is, is decided here, from the caller, before anything
        is awaited."""
        aborted = sys._getframe(1).f_code.co_name != "_process_close" or self.channel.is_closing()
        return self._close(file_obj, aborted)

    async def _close(self, file_obj: object, aborted: bool) -> None:
        handle: Handle = file_obj
        self.handles = max(self.handles - 1, 0)
        if handle.writable:
            handle.file.flush()
            os.fsync(handle.file.fileno())
        handle.file.close()
        staged = handle.staged
        if staged is None or not handle.writable:
            return
        staged.open_handles -= 1
        if staged.refused:
            if self.staged.get(staged.name) is staged:
                del self.staged[staged.name]
            self.hub.discard(staged, self.who, reason="refused")
            if not aborted:
                raise asyncssh.SFTPFailure(f"upload not stored: {staged.refused}")
            return
        if aborted:
            # the client never closed it: an abort, even when what arrived happens to end with an IEA
            if self.staged.get(staged.name) is staged:
                del self.staged[staged.name]
            self.hub.discard(staged, self.who)
            return
        if staged.open_handles or is_ignored_name(staged.name):
            return  # a temporary name: wait for the rename that says it is finished
        if self.staged.get(staged.name) is staged:
            del self.staged[staged.name]
        await self.hub.finished(staged, self.home, self.who)

    def remove(self, path: bytes) -> None:
        area, name = self._resolve(path)
        if name is None:
            raise asyncssh.SFTPPermissionDenied("not a file")
        if area == "outbound":
            local = self._visible_file(area, name)
            local.unlink()
            event(log, "download.removed", file=name, **self.who)
            return
        staged = self.staged.pop(name, None)
        if staged is None:
            raise asyncssh.SFTPPermissionDenied("only your own unfinished uploads can be removed")
        with contextlib.suppress(FileNotFoundError):
            staged.path.unlink()

    async def rename(self, oldpath: bytes, newpath: bytes) -> None:
        old_area, old_name = self._resolve(oldpath)
        new_area, new_name = self._resolve(newpath)
        if old_area != "inbound" or new_area != "inbound" or not old_name or not new_name:
            raise asyncssh.SFTPPermissionDenied("only an upload in /inbound can be renamed, within /inbound")
        staged = self.staged.get(old_name)
        if staged is None:
            raise asyncssh.SFTPPermissionDenied("only your own unfinished uploads can be renamed")
        if new_name in self.staged and new_name != old_name:
            raise asyncssh.SFTPFileAlreadyExists("file already exists")
        if staged.refused:
            raise asyncssh.SFTPFailure(f"upload not stored: {staged.refused}")
        del self.staged[old_name]
        staged.name = new_name
        if is_ignored_name(new_name) or staged.open_handles:
            self.staged[new_name] = staged
            return
        await self.hub.finished(staged, self.home, self.who)

    async def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        await self.rename(oldpath, newpath)

    def mkdir(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        raise asyncssh.SFTPPermissionDenied("folders cannot be created")

    def rmdir(self, path: bytes) -> None:
        raise asyncssh.SFTPPermissionDenied("folders cannot be removed")

    def readlink(self, path: bytes) -> bytes:
        raise asyncssh.SFTPPermissionDenied("no links here")

    def symlink(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPPermissionDenied("links cannot be created")

    def link(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPPermissionDenied("links cannot be created")

    def exit(self) -> None:
        """Session over: uploads never finished (aborted, or left under a temporary name) are dropped."""
        for staged in list(self.staged.values()):
            self.hub.discard(staged, self.who)
        self.staged.clear()
        if not self.refused:
            self.hub.close_session(self.partner)
        event(log, "sftp.session_closed", session=self.session, **self.who)
