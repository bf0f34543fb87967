"""`cobpipe sftp-serve`: each trading partner uploads into its own inbound/ and downloads from its
own outbound/.

Partners. Every line of the authorized-keys file names its partner in the key's comment field, as
OpenSSH writes it (`ssh-ed25519 AAAA... acme-billing`); keys with the same comment are one partner.
Only those keys get in (no passwords, no keyboard-interactive, no GSS, no shell, exec, scp or port
forwarding); the user name the client types is ignored and never logged: the log names the partner
and the key's fingerprint. A partner's home is ROOT/partners/<partner>/ (cobpipe.acks.partners), and
its session sees only:

    /inbound    upload here (its own uploads in progress are listed; nothing can be read back)
    /outbound   its secondary 837Ps, reports and TA1/999 acknowledgments (read, then remove)

Nothing else of ROOT is reachable: every path is resolved by `_resolve` against those two folders
of the partner's home alone -- no '..' component, no subfolders, no symlinks (never followed, never
created), no hidden names except the client's own temporary upload names.

Uploads. Each is written to a hidden staging file in the partner's inbound/.uploads/ and moved into
its inbound/ (never overwriting) only when finished, which is ONLY:
  * an explicit close, by the client, of a handle opened for writing under the final name, or
  * a rename by the client from a temporary name (x.filepart, x.tmp, .x) to its final name.
It is moved before the close or rename is acknowledged (a server killed afterwards finds it there at
start). Handles asyncssh closes because the channel or connection went away (an OpenSSH `sftp`
killed mid-`put`, a dropped connection) never finish an upload, whatever the bytes: the staging file
is deleted and the abort logged; nothing is processed and nothing reaches the ledger. A finished
upload without its IEA is rejected as "truncated"; binary bytes as "not X12: binary data".

Limits (SftpSettings): open handles per session, sessions (connections) per partner, the size of one
upload, a partner's quota (bytes waiting in its inbound, uploads in progress included) and a
free-disk floor below which uploads are refused. Each refusal is one SFTP error with a clear message
and one log line (once per session or upload, not per request).

Processing never happens in the server's process: the drop-folder step (process_inbound) runs in a
worker process (a one-process pool, restarted if it dies), so hostile input cannot grow the
server's memory; the server only streams bytes to disk and looks at a file's head and tail.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import multiprocessing
import os
import pickle
import secrets
import stat
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh

from ..acks.partners import PARTNERS, PartnerRoot, valid_partner
from ..ledger import Ledger
from ..logs import error_fields, event
from .intake import HEAD_BYTES, Completeness, completeness
from .layout import JobConfigError, Root, is_ignored_name
from .process import JobOptions, _move_no_clobber, _sha256_of

log = logging.getLogger("cobpipe.sftp")

AREAS = ("inbound", "outbound")
MB = 1 << 20


# --- settings and the partners' keys --------------------------------------------------------------

@dataclass(slots=True)
class SftpSettings:
    host: str
    port: int
    authorized_keys: Path
    host_key: Path
    rescan_every: float = 60.0
    login_timeout: float = 30.0
    max_handles: int = 64  # open files per session
    max_sessions: int = 4  # SFTP sessions per partner at once
    max_upload: int = 100 * MB  # bytes of one upload
    quota: int = 1024 * MB  # bytes a partner may have waiting in its inbound (uploads included)
    min_free_disk: int = 256 * MB  # below this much free space on ROOT's disk, uploads are refused


@dataclass(frozen=True, slots=True)
class PartnerKey:
    partner: str
    key: asyncssh.SSHKey
    fingerprint: str
    line: int


def load_partner_keys(path: Path) -> dict[bytes, PartnerKey]:
    """{public key blob: PartnerKey} from an OpenSSH authorized-keys file; JobConfigError naming the
    file and line for a line that is not a public key, has options, or has no partner comment."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise JobConfigError(f"{path}: authorized-keys file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise JobConfigError(f"{path}: cannot read the authorized-keys file: {getattr(exc, 'strerror', None) or exc}") from None
    keys: dict[bytes, PartnerKey] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{path}:{number}"
        if not line.startswith(("ssh-", "ecdsa-", "sk-")):
            raise JobConfigError(f"{where}: not a public key line (key options are not supported here; "
                                 "write 'TYPE KEY PARTNER')")
        try:
            key = asyncssh.import_public_key(line)
        except (asyncssh.KeyImportError, ValueError) as exc:
            raise JobConfigError(f"{where}: not a usable public key ({exc})") from None
        comment = key.get_comment()
        if not comment:
            raise JobConfigError(f"{where}: the key has no comment naming its partner "
                                 "(write 'TYPE KEY PARTNER', e.g. 'ssh-ed25519 AAAA... acme-billing')")
        if not valid_partner(comment):
            raise JobConfigError(f"{where}: partner name {comment!r} is not usable as a folder name "
                                 "(letters, digits, '.', '_', '-'; 64 at most)")
        blob = key.public_data
        if blob in keys and keys[blob].partner != comment:
            raise JobConfigError(f"{where}: this key is already line {keys[blob].line}'s, for partner "
                                 f"{keys[blob].partner!r}")
        keys[blob] = PartnerKey(comment, key, key.get_fingerprint("sha256"), number)
    if not keys:
        raise JobConfigError(f"{path}: no keys in the authorized-keys file")
    return keys


def load_host_key(path: Path) -> asyncssh.SSHKey:
    try:
        return asyncssh.read_private_key(str(path))
    except FileNotFoundError:
        raise JobConfigError(f"{path}: host key file not found (create it once with "
                             f"ssh-keygen -t ed25519 -N '' -f {path})") from None
    except (OSError, asyncssh.KeyImportError, ValueError) as exc:
        raise JobConfigError(f"{path}: not a usable private host key ({getattr(exc, 'strerror', None) or exc})") from None


# --- the worker process ---------------------------------------------------------------------------

_worker_ledger: Ledger | None = None
_worker_broker: str | None = None  # sftp-serve --broker: uploads are queued for `cobpipe worker`s
_worker_intake = None


def _worker_init(ledger_path, level: int, formatter: logging.Formatter | None, broker: str | None = None) -> None:
    """Runs once in the worker process: its own ledger connection and the server's log format."""
    global _worker_ledger, _worker_broker
    _worker_broker = broker
    _die_with_parent()
    logger = logging.getLogger("cobpipe")
    if formatter is not None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(formatter)
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
    _worker_ledger = Ledger.open(ledger_path)


def _die_with_parent() -> None:
    """Linux: the worker gets SIGKILL when the server dies, however it dies (no orphan keeps working on
    ROOT; the step it was in is crash-safe, see process.py)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(Exception):
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the server died before the call above
            os._exit(1)


def _intake(root: Root, options: JobOptions):
    """With --broker, the dist intake of ROOT (store + enqueue; deliver what the workers made)."""
    global _worker_intake
    if _worker_intake is None:
        from ..dist.app import make_app
        from ..dist.intake import Intake

        _worker_intake = Intake(Root(root.path, root.ledger_path), _worker_ledger, make_app(_worker_broker), options)
    return _worker_intake


def _work_process(path: Path, root: Root, options: JobOptions):
    if _worker_broker:
        return _intake(root, options).accept(path)
    from .process import process_inbound

    return process_inbound(path, _worker_ledger, root, options)


def _work_reject(path: Path, name: str, root: Root, reason: str, message: str, options: JobOptions):
    """A finished upload that cannot be used: into rejected/ with its reason, and the partner gets the
    TA1/999 its envelope allows (a cut interchange: TA1 023; binary: nothing to address)."""
    from ..acks import hook
    from .process import _Reject, _reject_path

    outcome = _reject_path(path, _worker_ledger, root, _sha256_of(path), _Reject(reason, message), name=name)
    hook.after(outcome, _worker_ledger, root, options)
    return outcome


def _work_run_once(root: Root, options: JobOptions):
    if _worker_broker:
        return _intake(root, options).run_once()
    from .batch import run_once

    return run_once(root, _worker_ledger, options)


# --- what every session shares --------------------------------------------------------------------

@dataclass(slots=True)
class _Staged:
    """One upload in progress: the name the client gave and the hidden file holding its bytes."""

    name: str
    path: Path
    open_handles: int = 0
    extents: list[list[int]] = field(default_factory=list)  # byte ranges written, merged
    refused: str | None = None  # why a write was refused (too large, quota, disk): never processed

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

    @property
    def size(self) -> int:
        return self.extents[-1][1] if self.extents else 0

    def contiguous(self, size: int) -> bool:
        """Every byte of the file was written by the client (no hole from a lost write request)."""
        return size == 0 or self.extents == [[0, size]]


@dataclass(slots=True)
class _Handle:
    file: object
    staged: _Staged | None = None
    writable: bool = False


class UploadHub:
    """What all SFTP sessions share: ROOT, the limits, the sessions per partner, and the worker
    process that runs the drop-folder step."""

    def __init__(self, root: Root, ledger: Ledger | None, options: JobOptions,
                 settings: SftpSettings | None = None, broker: str | None = None) -> None:
        self.root = root
        self.broker = broker  # uploads are stored and queued for the Celery workers, not converted here
        self.ledger = ledger  # not used for processing here: the worker opens its own
        self.options = options
        self.settings = settings or SftpSettings("127.0.0.1", 0, Path(), Path())
        self.sessions: dict[str, int] = {}
        self.pending: set[concurrent.futures.Future] = set()
        self.on_processed: Callable | None = None  # tests: called with each Outcome
        self.executor = self._new_executor()

    def _new_executor(self) -> concurrent.futures.ProcessPoolExecutor:
        logger = logging.getLogger("cobpipe")
        formatter = next((h.formatter for h in logger.handlers if h.formatter is not None), None)
        try:
            pickle.dumps(formatter)
        except Exception:  # noqa: BLE001 - a formatter the worker cannot receive: it logs JSON lines
            from ..logs import JsonFormatter

            formatter = JsonFormatter() if logger.handlers else None
        return concurrent.futures.ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_init,
            initargs=(self.root.ledger_path, logger.getEffectiveLevel(), formatter, self.broker))

    def home(self, partner: str) -> PartnerRoot:
        return PartnerRoot.of(self.root, partner)

    def submit(self, fn, *args) -> concurrent.futures.Future:
        try:
            future = self.executor.submit(fn, *args)
        except concurrent.futures.process.BrokenProcessPool:
            self.executor = self._new_executor()
            future = self.executor.submit(fn, *args)
        self.pending.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: concurrent.futures.Future) -> None:
        self.pending.discard(future)
        exc = future.exception()
        if isinstance(exc, concurrent.futures.process.BrokenProcessPool):
            # the worker died (killed, out of memory): the file stays where it was for the next scan
            event(log, "process.worker_died", logging.ERROR, error=type(exc).__name__)
            return
        if exc is not None:
            event(log, "process.error", logging.ERROR, **error_fields(exc))
        elif self.on_processed is not None:
            result = future.result()
            for outcome in result if isinstance(result, list) else [result]:
                self.on_processed(outcome)

    def rescan(self) -> None:
        if self.executor._broken:  # noqa: SLF001 - a dead worker is replaced before the next scan
            self.executor = self._new_executor()
        self.submit(_work_run_once, self.root, self.options)

    # --- sessions per partner --------------------------------------------------------------------

    def open_session(self, partner: str) -> bool:
        if self.sessions.get(partner, 0) >= self.settings.max_sessions:
            return False
        self.sessions[partner] = self.sessions.get(partner, 0) + 1
        return True

    def close_session(self, partner: str) -> None:
        left = self.sessions.get(partner, 0) - 1
        if left > 0:
            self.sessions[partner] = left
        else:
            self.sessions.pop(partner, None)

    # --- finished uploads ------------------------------------------------------------------------

    async def finished(self, staged: _Staged, home: PartnerRoot, who: dict) -> None:
        """A staged upload was closed or renamed to its final name. Before the client hears "OK", a
        complete one is moved into the partner's inbound/ (so a server killed right after cannot
        lose it); the processing then runs in the worker process. An upload without its IEA is
        rejected as truncated, binary bytes as not X12 (in the worker: it writes the ledger)."""
        loop = asyncio.get_running_loop()
        try:
            verdict, target = await loop.run_in_executor(None, self._receive, staged, home, who)
        except OSError as exc:
            event(log, "upload.error", logging.ERROR, file=staged.name, **who, **error_fields(exc))
            self.discard(staged, who)
            raise asyncssh.SFTPFailure("the upload could not be stored: please send it again") from None
        if target is not None:
            self.submit(_work_process, target, home, self.options)
        elif verdict == "binary":
            event(log, "upload.incomplete", logging.WARNING, file=staged.name, **who, reason="not-x12")
            self.submit(_work_reject, staged.path, staged.name, home, "not-x12", "not X12: binary data",
                        self.options)
        elif verdict == "truncated":
            event(log, "upload.incomplete", logging.WARNING, file=staged.name, **who, count=staged.size,
                  reason="truncated")
            self.submit(_work_reject, staged.path, staged.name, home, "truncated",
                        "upload finished without an IEA trailer: the file is incomplete", self.options)

    def _receive(self, staged: _Staged, home: PartnerRoot, who: dict) -> tuple[str, Path | None]:
        """('received', its path in inbound/), ('gone', None), ('binary', None) or ('truncated', None)."""
        try:
            size = staged.path.stat().st_size
            state = completeness(staged.path)
            binary = _looks_binary(staged.path)
        except FileNotFoundError:
            return "gone", None
        if binary:
            return "binary", None
        if state is Completeness.NOT_X12 or (state is Completeness.COMPLETE and staged.contiguous(size)):
            sha = _sha256_of(staged.path)
            target = _move_no_clobber(staged.path, home.inbound, sha or secrets.token_hex(8), staged.name)
            if target is not None:
                event(log, "upload.received", file=target.name, sha256=sha, **who, count=size)
            return "received", target
        return "truncated", None

    def discard(self, staged: _Staged, who: dict, reason: str = "aborted") -> None:
        with contextlib.suppress(FileNotFoundError):
            size = staged.path.stat().st_size
            staged.path.unlink()
            event(log, "upload.aborted", logging.WARNING, file=staged.name, **who, count=size, reason=reason)

    def shutdown(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=False)


def _looks_binary(path: Path) -> bool:
    """NUL bytes, or mostly control characters, in the first kilobytes: no X12 file looks like that."""
    with open(path, "rb") as stream:
        head = stream.read(HEAD_BYTES)
    if not head:
        return False
    if b"\x00" in head:
        return True
    odd = sum(1 for b in head if b < 9 or 13 < b < 32 or b == 127)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            return True
    return odd > len(head) // 20


# --- one session -----------------------------------------------------------------------------------

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
        self.staged: dict[str, _Staged] = {}
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

    # --- path resolution: the only way from a client path to a local one -----------------------

    def _resolve(self, path: bytes) -> tuple[str, str | None]:
        """('/', None), ('inbound'|'outbound', None) or (area, file name); raises for anything else."""
        if self.refused:
            raise asyncssh.SFTPFailure(self.refused)
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
        if area == "inbound":
            return self.home.inbound
        if area == "outbound":
            return self.home.outbound
        return self.home.home

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

    def _free_disk(self) -> int:
        info = os.statvfs(self.hub.root.path)
        return info.f_bavail * info.f_frsize

    def _waiting_bytes(self) -> int:
        """What the partner has in its inbound, uploads in progress included (the quota counts this)."""
        total = 0
        for folder in (self.home.inbound, self.home.uploads):
            with contextlib.suppress(FileNotFoundError), os.scandir(folder) as entries:
                for entry in entries:
                    with contextlib.suppress(OSError):
                        if entry.is_file(follow_symlinks=False):
                            total += entry.stat(follow_symlinks=False).st_size
        return total

    def _check_room(self, extra: int) -> None:
        """Refuse an upload (open or write) that would break the disk floor or the quota."""
        if self._free_disk() - extra < self.settings.min_free_disk:
            raise self._refuse("disk-full", "the server's disk is nearly full: upload refused, try again later",
                               asyncssh.SFTPNoSpaceOnFilesystem)
        if self._waiting_bytes() + extra > self.settings.quota:
            raise self._refuse("quota", f"quota of {self.settings.quota} bytes waiting in /inbound reached: "
                                        "upload refused until your files are processed",
                               asyncssh.SFTPQuotaExceeded)

    # --- files ---------------------------------------------------------------------------------

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> _Handle:
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

    def _open(self, area: str, name: str, writing: bool, pflags: int) -> _Handle:
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
            staged = _Staged(name, local)
            self.staged[name] = staged
            handle = _Handle(os.fdopen(fd, "r+b"), staged, True)
        else:
            handle = _Handle(open(staged.path, "r+b"), staged, True)
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
        staged: _Staged = file_obj.staged
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
        handle: _Handle = file_obj
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


# --- the SSH side ------------------------------------------------------------------------------------

class _Gate(asyncssh.SSHServer):
    """Public-key authentication against the partners' keys; the user name typed is ignored."""

    def __init__(self, keys: dict[bytes, PartnerKey], hub: UploadHub) -> None:
        self.keys = keys
        self.hub = hub
        self.partner = ""
        self.fingerprint = ""
        self._peer = None
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._peer = conn.get_extra_info("peername")

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        found = self.keys.get(key.public_data)
        if found is None:
            return False
        self.partner, self.fingerprint = found.partner, found.fingerprint
        return True

    def auth_completed(self) -> None:
        peer = str(self._peer[0]) if self._peer else None
        who = {"partner": self.partner, "fingerprint": self.fingerprint}
        event(log, "sftp.login", peer=peer, **who)


async def serve(root: Root, ledger: Ledger | None, options: JobOptions, settings: SftpSettings,
                stop: asyncio.Event, *, on_listening: Callable[[int], None] | None = None,
                hub: UploadHub | None = None, broker: str | None = None) -> None:
    """Serve until `stop` is set; every inbound (ROOT's and each partner's) is scanned at start and
    every `rescan_every` seconds (files dropped directly, files waiting for their IEA). Processing
    runs in the hub's worker process. A bad key line or host key raises JobConfigError naming it."""
    keys = load_partner_keys(settings.authorized_keys)
    host_key = load_host_key(settings.host_key)
    hub = hub or UploadHub(root, ledger, options, settings, broker=broker)
    hub.settings = settings
    for partner in sorted({k.partner for k in keys.values()}):
        hub.home(partner)
    _clean_stale_uploads(root, options.truncated_after)
    try:
        server = await asyncssh.create_server(
            lambda: _Gate(keys, hub), settings.host, settings.port,
            server_host_keys=[host_key],
            sftp_factory=lambda chan: DropFolderSFTP(chan, hub),
            allow_scp=False, agent_forwarding=False, x11_forwarding=False,
            password_auth=False, kbdint_auth=False, gss_host=None,
            login_timeout=settings.login_timeout,
        )
    except (OSError, asyncssh.Error, ValueError) as exc:
        hub.shutdown()
        raise JobConfigError(f"cannot start the SFTP server on {settings.host}:{settings.port}: "
                             f"{getattr(exc, 'strerror', None) or exc}") from exc
    port = server.sockets[0].getsockname()[1]
    event(log, "sftp.listening", host=settings.host, port=port, root=str(root.path),
          count=len({k.partner for k in keys.values()}))
    if on_listening is not None:
        on_listening(port)
    try:
        while not stop.is_set():
            if not hub.pending:
                hub.rescan()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.rescan_every)
    finally:
        server.close()
        await server.wait_closed()
        await asyncio.get_running_loop().run_in_executor(None, hub.shutdown)
        event(log, "sftp.stopped", port=port)


def _clean_stale_uploads(root: Root, older_than: float) -> None:
    """Staging files left by a server that died (their sessions are gone), in every partner home."""
    now = time.time()
    folders = [root.uploads] + sorted((root.path / PARTNERS).glob("*/inbound/.uploads"))
    for folder in folders:
        for leftover in folder.glob("*"):
            with contextlib.suppress(OSError):
                if leftover.is_file() and now - leftover.stat().st_mtime > older_than:
                    leftover.unlink()
