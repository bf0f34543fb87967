"""The intake host's share: accept files (store + enqueue) and deliver what the workers produced.

`cobpipe watch ROOT --broker URL` and `cobpipe run ROOT --broker URL` use `Intake` instead of
processing files themselves:

  I1  a complete file in ROOT/inbound (settled; or incomplete for longer than --truncated-after, or
      not X12 at all, which a worker then rejects with the reason) is stored in the ledger database
      (cobpipe/dist/store.py: chunked blob, its hash checked) and a job row is committed for it;
  I2  the input is renamed into ROOT/.cobpipe/queued/<sha256>-<name> (out of inbound, never lost:
      its bytes are committed in I1 and the file itself stays on this disk until I4);
  I3  a task is sent to the broker (again at every start for jobs still queued: a task is
      idempotent, so sending one twice costs nothing);
  D   delivery, every loop: each output a worker stored for this intake is written into outbound/
      (temp name, fsync, rename, fsync the folder -- a reader never sees a partial file), then
      marked delivered;
  I4  a finished job's input moves from queued/ to archive/ (or rejected/, beside its reason file
      written by the worker), after its outputs were delivered.

A crash between any two steps repeats the step on the next start: storing again is a no-op, the
job row exists, delivering again rewrites the same bytes under the same name.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..acks.partners import PARTNERS, PartnerRoot, home_of, partner_inbound_folders
from ..fsutil import write_text_atomic
from ..jobs.batch import ordered
from ..jobs.intake import Completeness, completeness
from ..jobs.layout import Root, is_ignored_name
from ..jobs.process import JobOptions, _move_no_clobber
from ..ledger import Ledger
from ..logs import error_fields, event
from . import store
from .app import enqueue

log = logging.getLogger("cobpipe.dist")


@dataclass(frozen=True, slots=True)
class Accepted:
    name: str
    status: str  # queued, duplicate, waiting, gone, ignored, error
    sha256: str | None = None
    message: str | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in (("file", self.name), ("status", self.status), ("sha256", self.sha256),
                                  ("message", self.message)) if v}


def intake_name(root: Root) -> str:
    """This intake's identity in the ledger: host and ROOT (outputs come back to the right folder)."""
    return f"{socket.gethostname()}:{root.path}"


def _delimiters_text(options: JobOptions) -> str:
    d = options.convert.delimiters
    return f"{d.element}{d.component}{d.repetition or '^'}{d.segment}"


class Intake:
    def __init__(self, root: Root, ledger: Ledger, app, options: JobOptions, name: str | None = None) -> None:
        self.root = root
        self.ledger = ledger
        self.app = app
        self.options = options
        self.name = name or intake_name(root)
        self.queued = root.state / "queued"
        self.queued.mkdir(parents=True, exist_ok=True)

    # --- I1..I3 --------------------------------------------------------------------------------

    def _job_options(self) -> dict:
        convert = self.options.convert
        data = {"bill_zero_balance": convert.bill_zero_balance, "usage": convert.usage,
                "delimiters": _delimiters_text(self.options), "truncated_after": self.options.truncated_after,
                "paper_layout": getattr(convert, "paper_layout", "data")}
        if self.options.coverage is not None:  # re-stored for each file, so edits apply (by hash)
            data["coverage"] = store.put_file(self.ledger, Path(self.options.coverage))
            data["coverage_name"] = Path(self.options.coverage).name
        payers = getattr(convert, "payers", None)
        if payers is not None and Path(payers.source).is_file():  # --payers: the workers bill by the same list
            data["payers"] = store.put_file(self.ledger, Path(payers.source))
        return data

    def accept(self, path: Path) -> Accepted:
        path = Path(path)
        name = path.name
        if is_ignored_name(name):
            return Accepted(name, "ignored")
        try:
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode):
                return Accepted(name, "ignored")
            state = completeness(path)
        except FileNotFoundError:
            return Accepted(name, "gone")
        if state in (Completeness.INCOMPLETE, Completeness.EMPTY) \
                and time.time() - info.st_mtime < self.options.truncated_after:
            return Accepted(name, "waiting", message=str(state))
        home = home_of(path, self.root)
        try:
            sha = store.put_file(self.ledger, path)  # I1
            job = store.get_job(self.ledger, sha, self.name, name)
            if job is not None and job.state == "archived":  # these bytes under this name: done before
                moved = _move_no_clobber(path, self.root.archive, sha)
                event(log, "file.duplicate", file=name, sha256=sha, moved_to=moved.name if moved else None)
                return Accepted(name, "duplicate", sha)
            options = self._job_options()
            if isinstance(home, PartnerRoot):  # its outputs and acknowledgments go back to its home
                options["partner"] = home.partner
            with self.ledger.transaction():
                store.add_job(self.ledger, sha, self.name, name, info.st_mtime_ns, options)
            queued = self.queued / f"{sha}-{name}"
            if queued.exists():  # the same bytes and name are queued already: this copy is a duplicate
                moved = _move_no_clobber(path, self.root.archive, sha)
                return Accepted(name, "duplicate", sha)
            os.replace(path, queued)  # I2
            from ..fsutil import _fsync_dir

            _fsync_dir(self.queued)
            _fsync_dir(path.parent)
            enqueue(self.app, sha, self.name, name)  # I3
        except FileNotFoundError:
            return Accepted(name, "gone")
        except Exception as exc:  # noqa: BLE001 - the database or broker is down: try again later
            event(log, "file.error", logging.ERROR, file=name, **error_fields(exc))
            return Accepted(name, "error", message=type(exc).__name__)
        event(log, "file.queued", file=name, sha256=sha, kind=_kind(queued))
        return Accepted(name, "queued", sha)

    def resend_queued(self) -> int:
        """I3 again for every job of this intake still queued (at start, and now and then)."""
        jobs = store.jobs_in_state(self.ledger, self.name, "queued")
        for job in jobs:
            enqueue(self.app, *job.key)
        if jobs:
            event(log, "dist.resent", count=len(jobs))
        return len(jobs)

    # --- D and I4 ------------------------------------------------------------------------------

    def deliver(self) -> list[Path]:
        """D: each pending output is written beside its place under a hidden staging name (fsynced),
        marked delivered (COMMIT), then renamed into place. A crash before the commit leaves a
        staging file that is written again; after it, a staging file that `_place_staged` renames
        into place: an output appears once, whole, even when the partner fetches and deletes it
        at once (it is never written a second time after it was placed)."""
        # the finished jobs first: their outputs were committed with them, so the outbox read next
        # holds them all, and each input is archived only after its outputs are in outbound/
        finished = store.jobs_in_state(self.ledger, self.name, "done")
        delivered = self._place_staged()
        for folder, name, blob, source in store.pending_outputs(self.ledger, self.name):
            target = self._target(folder, name)
            staged = store.write_blob(self.ledger, blob, _staging(target), durable=True)
            store.mark_delivered(self.ledger, self.name, folder, name)
            delivered.append(_place(staged, target))
        if delivered:
            event(log, "outputs.delivered", outputs=[p.name for p in delivered], count=len(delivered))
        for job in finished:
            self._settle(job)
        return delivered

    def _target(self, folder: str, name: str) -> Path:
        base = self._folder(folder)
        target = (base / name).resolve()
        if base.resolve() not in target.parents:
            raise OSError(f"output name {name!r} leaves {folder}/")
        return target

    def _folder(self, folder: str) -> Path:
        """`outbound`, or a partner's `partners/<p>/outbound` (created: the partner may be new here)."""
        if folder == "outbound":
            return self.root.outbound
        parts = folder.split("/")
        if len(parts) != 3 or parts[0] != PARTNERS or parts[2] != "outbound":
            raise OSError(f"output folder {folder!r} is not outbound/ or a partner's outbound/")
        return PartnerRoot.of(self.root, parts[1]).outbound

    def _outbound_folders(self) -> list[tuple[str, Path]]:
        homes = [(f"{PARTNERS}/{inbound.parent.name}/outbound", inbound.parent / "outbound")
                 for inbound in partner_inbound_folders(self.root)]
        return [("outbound", self.root.outbound)] + [(folder, path) for folder, path in homes if path.is_dir()]

    def _place_staged(self) -> list[Path]:
        """Staging files a crash left: placed when their output was marked delivered, else removed
        (the output is still pending and is written again)."""
        leftovers = [(folder, base, staged) for folder, base in self._outbound_folders()
                     for staged in sorted(base.rglob(f"{STAGING}*"))]
        if not leftovers:
            return []
        delivered = set(store.delivered_outputs(self.ledger, self.name))
        placed = []
        for folder, base, staged in leftovers:
            target = staged.with_name(staged.name[len(STAGING):])
            if (folder, target.relative_to(base).as_posix()) in delivered:
                placed.append(_place(staged, target))
            else:
                staged.unlink(missing_ok=True)
        return placed

    def _settle(self, job: store.Job) -> None:
        queued = self.queued / f"{job.sha256}-{job.name}"
        moved = None
        if queued.exists():
            if job.status == "rejected":
                moved = _move_no_clobber(queued, self.root.rejected, job.sha256, job.name)
                if moved is not None and job.detail.get("reason_file"):
                    reason = dict(job.detail["reason_file"], file=job.name)
                    write_text_atomic(moved.with_name(moved.name + ".reason.json"),
                                      json.dumps(reason, indent=2) + "\n")
            else:
                moved = _move_no_clobber(queued, self.root.archive, job.sha256, job.name)
        store.archive_job(self.ledger, job)
        event(log, "file." + ("rejected" if job.status == "rejected" else "done"), file=job.name,
              sha256=job.sha256, status=job.status, counts=job.detail.get("counts") or None,
              outputs=job.detail.get("outputs") or None, reason=job.detail.get("reason"),
              moved_to=moved.name if moved else None)

    # --- loops ---------------------------------------------------------------------------------

    def _inbound_files(self) -> list[Path]:
        """Files directly in ROOT/inbound and in each partner's home (ROOT/partners/<p>/inbound,
        where `sftp-serve` puts uploads): a partner's file is queued with its partner, and what the
        workers make of it (secondary claims, reports, TA1/999) comes back to that partner's outbound."""
        found: list[Path] = []
        for folder in [self.root.inbound, *partner_inbound_folders(self.root)]:
            try:
                entries = list(os.scandir(folder))
            except FileNotFoundError:
                continue
            found += [Path(e.path) for e in entries if not is_ignored_name(e.name) and e.is_file(follow_symlinks=False)]
        return sorted(found)

    def run_once(self) -> list[Accepted]:
        """`cobpipe run --broker`: deliver what is ready, accept everything settled, deliver again."""
        self.resend_queued()
        self.deliver()
        accepted = []
        now = time.time()
        for path in ordered(self._inbound_files()):
            try:
                if now - path.stat().st_mtime < self.options.settle:
                    accepted.append(Accepted(path.name, "waiting", message="settling"))
                    continue
            except FileNotFoundError:
                continue
            accepted.append(self.accept(path))
        self.deliver()
        return accepted

    def run(self, stop: threading.Event, poll_interval: float = 1.0, resend_every: float = 600.0) -> None:
        """`cobpipe watch --broker`: poll inbound and deliver until `stop` is set."""
        event(log, "intake.started", root=str(self.root.path), host=self.name)
        self.resend_queued()
        next_resend = time.monotonic() + resend_every
        while not stop.is_set():
            try:
                self.deliver()
                now = time.time()
                for path in ordered(self._inbound_files()):
                    try:
                        info = path.stat()
                    except FileNotFoundError:
                        continue
                    if now - info.st_mtime < self.options.settle:
                        continue
                    self.accept(path)
                if time.monotonic() >= next_resend:
                    self.resend_queued()
                    next_resend = time.monotonic() + resend_every
            except Exception as exc:  # noqa: BLE001 - the database or broker went away: keep trying
                event(log, "intake.error", logging.ERROR, **error_fields(exc))
            stop.wait(poll_interval)
        event(log, "intake.stopped", root=str(self.root.path))


STAGING = ".deliver-"  # hidden (ignored by every reader of outbound/), then renamed into place


def _staging(target: Path) -> Path:
    return target.with_name(STAGING + target.name)


def _place(staged: Path, target: Path) -> Path:
    from ..fsutil import _fsync_dir

    os.replace(staged, target)
    _fsync_dir(target.parent)
    return target


def _kind(path: Path) -> str | None:
    from ..jobs.batch import priority

    return {0: "837P", 1: "835"}.get(priority(path)[0])
