"""`cobpipe sftp-serve`: trading partners upload into inbound/ and download from outbound/.

Only public keys listed in the authorized-keys file get in (no passwords, no keyboard-interactive,
no GSS, no shell, exec, scp or port forwarding). Every user sees the same virtual tree:

    /inbound    upload here (and list what waits); others' uploads cannot be read back
    /outbound   secondary 837Ps and reports to download (and remove after pickup)

Nothing else of ROOT is reachable: every path is resolved by `_resolve` against those two
folders alone -- no '..' component, no subfolders, no symlinks (never followed, never created),
no hidden names except the client's own temporary upload names.

Uploads never write into inbound/ directly. Each is written to a hidden staging file in
inbound/.uploads/ and moved into inbound/ (never overwriting) only when finished:
  * the client closed it under its final name and its last segment is an IEA, or
  * the client renamed it from a temporary name (x.filepart, x.tmp, .x) to its final name;
it is moved into inbound/ before the client's close or rename is acknowledged (a server killed
afterwards finds it there at start), then processed by `process_inbound` on a single worker thread
(the SSH server keeps serving). A finished upload without IEA goes to rejected/ as "truncated". An
aborted upload (connection dropped before the close) triggers nothing and leaves nothing, whatever
its bytes: its staging file is deleted when the session ends.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import secrets
import stat
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh

from ..ledger import Ledger
from ..logs import error_fields, event
from .batch import run_once
from .intake import Completeness, completeness
from .layout import Root, is_ignored_name
from .process import JobOptions, _move_no_clobber, _sha256_of, process_inbound, reject_truncated_upload

log = logging.getLogger("cobpipe.sftp")

AREAS = ("inbound", "outbound")


@dataclass(slots=True)
class _Staged:
    """One upload in progress: the name the client gave and the hidden file holding its bytes."""

    name: str
    path: Path
    open_handles: int = 0
    extents: list[list[int]] = field(default_factory=list)  # byte ranges written, merged

    def wrote(self, offset: int, length: int) -> None:
        if not length:
            return
        start, end = offset, offset + length
        merged: list[list[int]] = []
        for lo, hi in self.extents:
            if hi < start or lo > end:
                merged.append([lo, hi])
            else:
                start, end = min(lo, start), max(hi, end)
        merged.append([start, end])
        self.extents = sorted(merged)

    def contiguous(self, size: int) -> bool:
        """Every byte of the file was written by the client (no hole from a lost write request)."""
        return size == 0 or self.extents == [[0, size]]


@dataclass(slots=True)
class _Handle:
    file: object
    staged: _Staged | None = None
    writable: bool = False


class UploadHub:
    """What all SFTP sessions share: the ROOT, and one worker thread that owns the ledger."""

    def __init__(self, root: Root, ledger: Ledger, options: JobOptions) -> None:
        self.root = root
        self.ledger = ledger
        self.options = options
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="cobpipe-process")
        self.pending: set[concurrent.futures.Future] = set()
        self.on_processed: Callable | None = None  # tests: called with each Outcome

    def submit(self, fn, *args) -> concurrent.futures.Future:
        future = self.executor.submit(fn, *args)
        self.pending.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: concurrent.futures.Future) -> None:
        self.pending.discard(future)
        exc = future.exception()
        if exc is not None:
            event(log, "process.error", logging.ERROR, **error_fields(exc))
        elif self.on_processed is not None:
            self.on_processed(future.result())

    async def finished(self, staged: _Staged, user: str) -> None:
        """A staged upload was closed or renamed to its final name. Before the client hears "OK", a
        complete one is moved into inbound/ (so a server killed right after cannot lose it); the
        processing then runs on the worker thread, so a large file never stalls the SSH server. An
        upload without its IEA goes to rejected/ as truncated (on the worker: it writes the ledger)."""
        loop = asyncio.get_running_loop()
        try:
            received, target = await loop.run_in_executor(None, self._receive, staged, user)
        except OSError as exc:
            event(log, "upload.error", logging.ERROR, file=staged.name, user=user, **error_fields(exc))
            self.discard(staged, user)
            raise asyncssh.SFTPFailure("the upload could not be stored: please send it again") from None
        if target is not None:
            self.submit(process_inbound, target, self.ledger, self.root, self.options)
        elif not received:
            self.submit(self._reject_truncated, staged, user)

    def _receive(self, staged: _Staged, user: str) -> tuple[bool, Path | None]:
        """(True, its path in inbound/) for a complete upload; (True, None) if it vanished;
        (False, None) if it has no IEA (or a hole)."""
        try:
            size = staged.path.stat().st_size
        except FileNotFoundError:
            return True, None
        if completeness(staged.path) is Completeness.COMPLETE and staged.contiguous(size):
            sha = _sha256_of(staged.path)
            target = _move_no_clobber(staged.path, self.root.inbound, sha or secrets.token_hex(8), staged.name)
            if target is not None:
                event(log, "upload.received", file=target.name, sha256=sha, user=user, count=size)
            return True, target
        return False, None

    def _reject_truncated(self, staged: _Staged, user: str):
        try:
            size = staged.path.stat().st_size
        except FileNotFoundError:
            return None
        event(log, "upload.incomplete", logging.WARNING, file=staged.name, user=user, count=size,
              reason="truncated")
        return reject_truncated_upload(staged.path, staged.name, self.ledger, self.root)

    def discard(self, staged: _Staged, user: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            size = staged.path.stat().st_size
            staged.path.unlink()
            event(log, "upload.aborted", logging.WARNING, file=staged.name, user=user, count=size)

    def shutdown(self) -> None:
        self.executor.shutdown(wait=True)


class DropFolderSFTP(asyncssh.SFTPServer):
    """One SFTP session confined to /inbound and /outbound of ROOT."""

    def __init__(self, chan: asyncssh.SSHServerChannel, hub: UploadHub) -> None:
        super().__init__(chan)
        self.hub = hub
        self.root = hub.root
        self.user = str(chan.get_extra_info("username") or "")
        self.session = secrets.token_hex(4)
        self.staged: dict[str, _Staged] = {}
        self._counter = 0

    # --- path resolution: the only way from a client path to a local one -----------------------

    def _resolve(self, path: bytes) -> tuple[str, str | None]:
        """('/', None), ('inbound'|'outbound', None) or (area, file name); raises for anything else."""
        try:
            text = path.decode("utf-8")
        except UnicodeDecodeError:
            raise asyncssh.SFTPNoSuchFile("file names must be UTF-8") from None
        if "\x00" in text or "\\" in text:
            raise asyncssh.SFTPPermissionDenied("invalid path")
        parts = [p for p in text.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise asyncssh.SFTPPermissionDenied("'..' is not allowed")
        if not parts:
            return "/", None
        if parts[0] not in AREAS:
            raise asyncssh.SFTPNoSuchFile("no such file (only /inbound and /outbound exist)")
        if len(parts) == 1:
            return parts[0], None
        if len(parts) > 2:
            raise asyncssh.SFTPNoSuchFile("no subfolders here")
        return parts[0], parts[1]

    def _area_dir(self, area: str) -> Path:
        return self.root.path if area == "/" else self.root.path / area

    def _visible_file(self, area: str, name: str) -> Path:
        """A real, regular, visible file in inbound/ or outbound/ (symlinks are not files here)."""
        if is_ignored_name(name) and area == "outbound":
            raise asyncssh.SFTPNoSuchFile("no such file")
        local = self._area_dir(area) / name
        try:
            info = os.lstat(local)
        except FileNotFoundError:
            raise asyncssh.SFTPNoSuchFile("no such file") from None
        if not stat.S_ISREG(info.st_mode) or (area == "inbound" and is_ignored_name(name)):
            raise asyncssh.SFTPNoSuchFile("no such file")
        return local

    def map_path(self, path: bytes) -> bytes:  # asyncssh must never map a path on its own
        raise asyncssh.SFTPPermissionDenied("not supported")

    def realpath(self, path: bytes) -> bytes:
        text = path.decode("utf-8", "replace")
        parts: list[str] = []
        for part in text.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if parts:
                    parts.pop()
            else:
                parts.append(part)
        return ("/" + "/".join(parts)).encode()

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
                yield asyncssh.SFTPName(sub.encode(), attrs=asyncssh.SFTPAttrs.from_local(os.stat(here / sub)))
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
        return os.statvfs(self.root.path)

    # --- files ---------------------------------------------------------------------------------

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> _Handle:
        area, name = self._resolve(path)
        if name is None:
            raise asyncssh.SFTPFailure("is a folder")
        writing = bool(pflags & (asyncssh.FXF_WRITE | asyncssh.FXF_APPEND | asyncssh.FXF_CREAT | asyncssh.FXF_TRUNC))
        if area == "outbound":
            if writing:
                raise asyncssh.SFTPPermissionDenied("outbound is read-only: upload into /inbound")
            local = self._visible_file(area, name)
            fd = os.open(local, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            return _Handle(os.fdopen(fd, "rb"))
        # inbound: only the client's own upload in progress can be opened
        staged = self.staged.get(name)
        if not writing:
            if staged is None:
                raise asyncssh.SFTPPermissionDenied("uploads cannot be read back")
            return _Handle(open(staged.path, "rb"), staged)
        if staged is None or pflags & asyncssh.FXF_TRUNC or not staged.path.exists():
            if staged is not None and pflags & asyncssh.FXF_EXCL:
                raise asyncssh.SFTPFileAlreadyExists("file already exists")
            self._counter += 1
            local = self.root.uploads / f".{self.session}-{self._counter}-{secrets.token_hex(4)}.part"
            self.root.uploads.mkdir(parents=True, exist_ok=True)
            fd = os.open(local, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            if staged is not None:
                with contextlib.suppress(FileNotFoundError):
                    staged.path.unlink()
            staged = _Staged(name, local)
            self.staged[name] = staged
            handle = _Handle(os.fdopen(fd, "r+b"), staged, True)
        else:
            handle = _Handle(open(staged.path, "r+b"), staged, True)
            size = staged.path.stat().st_size
            staged.wrote(0, size)  # resuming: what is there was written before
        staged.open_handles += 1
        event(log, "upload.started", file=name, user=self.user, session=self.session)
        return handle

    def read(self, file_obj: object, offset: int, size: int) -> bytes:
        file_obj.file.seek(offset)
        return file_obj.file.read(size)

    def write(self, file_obj: object, offset: int, data: bytes) -> int:
        if not file_obj.writable:
            raise asyncssh.SFTPPermissionDenied("read-only")
        file_obj.file.seek(offset)
        written = file_obj.file.write(data)
        file_obj.staged.wrote(offset, written)
        return written

    def fsync(self, file_obj: object) -> None:
        file_obj.file.flush()
        os.fsync(file_obj.file.fileno())

    async def close(self, file_obj: object) -> None:
        handle: _Handle = file_obj
        if handle.writable:
            handle.file.flush()
            os.fsync(handle.file.fileno())
        handle.file.close()
        staged = handle.staged
        if staged is None or not handle.writable:
            return
        staged.open_handles -= 1
        if staged.open_handles or is_ignored_name(staged.name):
            return  # a temporary name: wait for the rename that says it is finished
        if self.staged.get(staged.name) is staged:
            del self.staged[staged.name]
        # asyncssh also closes the handles left open when a connection drops: that is an abort, and
        # an aborted upload triggers nothing, even when what arrived happens to end with an IEA
        if self.channel.is_closing():
            self.hub.discard(staged, self.user)
            return
        await self.hub.finished(staged, self.user)

    def remove(self, path: bytes) -> None:
        area, name = self._resolve(path)
        if name is None:
            raise asyncssh.SFTPPermissionDenied("not a file")
        if area == "outbound":
            local = self._visible_file(area, name)
            local.unlink()
            event(log, "download.removed", file=name, user=self.user)
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
        del self.staged[old_name]
        staged.name = new_name
        if is_ignored_name(new_name) or staged.open_handles:
            self.staged[new_name] = staged
            return
        await self.hub.finished(staged, self.user)

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
            self.hub.discard(staged, self.user)
        self.staged.clear()
        event(log, "sftp.session_closed", user=self.user, session=self.session)


class _Gate(asyncssh.SSHServer):
    """Public-key authentication only; logs who came in (user name and peer, never file content)."""

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._peer = conn.get_extra_info("peername")
        self._user = ""

    def begin_auth(self, username: str) -> bool:
        self._user = username
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def auth_completed(self) -> None:
        event(log, "sftp.login", user=self._user, peer=str(self._peer[0]) if self._peer else None)


@dataclass(slots=True)
class SftpSettings:
    host: str
    port: int
    authorized_keys: Path
    host_key: Path
    rescan_every: float = 60.0
    login_timeout: float = 30.0


async def serve(root: Root, ledger: Ledger, options: JobOptions, settings: SftpSettings,
                stop: asyncio.Event, *, on_listening: Callable[[int], None] | None = None,
                hub: UploadHub | None = None) -> None:
    """Serve until `stop` is set; inbound is scanned at start and every `rescan_every` seconds (files
    dropped directly, files waiting for their IEA). Processing runs on the hub's worker thread."""
    hub = hub or UploadHub(root, ledger, options)
    _clean_stale_uploads(root, options.truncated_after)
    try:
        server = await asyncssh.create_server(
            _Gate, settings.host, settings.port,
            server_host_keys=[str(settings.host_key)],
            authorized_client_keys=str(settings.authorized_keys),
            sftp_factory=lambda chan: DropFolderSFTP(chan, hub),
            allow_scp=False, agent_forwarding=False, x11_forwarding=False,
            password_auth=False, kbdint_auth=False, gss_host=None,
            login_timeout=settings.login_timeout,
        )
    except (OSError, asyncssh.Error, ValueError, asyncssh.KeyImportError) as exc:
        hub.shutdown()
        from .layout import JobConfigError

        raise JobConfigError(f"cannot start the SFTP server: {exc}") from exc
    port = server.sockets[0].getsockname()[1]
    event(log, "sftp.listening", host=settings.host, port=port, root=str(root.path))
    if on_listening is not None:
        on_listening(port)
    try:
        while not stop.is_set():
            if not hub.pending:
                hub.submit(run_once, root, ledger, options)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.rescan_every)
    finally:
        server.close()
        await server.wait_closed()
        await asyncio.get_running_loop().run_in_executor(None, hub.shutdown)
        event(log, "sftp.stopped", port=port)


def _clean_stale_uploads(root: Root, older_than: float) -> None:
    """Staging files left by a server that died (their sessions are gone)."""
    now = time.time()
    for leftover in root.uploads.glob("*"):
        with contextlib.suppress(OSError):
            if leftover.is_file() and now - leftover.stat().st_mtime > older_than:
                leftover.unlink()
