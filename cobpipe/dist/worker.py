"""A worker's share: one accepted file, converted with cobpipe/jobs/process.py's own step.

`handle_job(sha256, intake, name, settings)` runs in a Celery task (cobpipe/dist/app.py):

  W1  read the job; done already -> nothing to do (a task is idempotent, keyed by the file's hash);
  W2  materialise the input from the ledger database into a private folder (a fresh ROOT under the
      worker's --work folder: nothing is shared with other workers), with the mtime it had on the
      intake host, and the coverage file the intake was given;
  W3  BEGIN the ledger's write transaction; read the job again (another worker may have finished it
      while this one waited for the lock); for an 837P, materialise the 835s that left some of its
      claims unmatched into the private archive/, so process.py's retry finds them;
  W4  process_inbound(private inbound file): it runs inside this transaction (its own transactions
      join it), so its file record, issued claims and control numbers commit together with
  W5  every output stored as a blob plus an outbox row for the intake that accepted the file, and
      the job marked done with the outcome -- then COMMIT.

A worker killed at any point before the COMMIT leaves nothing behind that counts: its control
numbers, issued claims, file record and outputs roll back together, the broker hands the task to
another worker (late acknowledgment; `reject_on_worker_lost` when a pool process dies, the
visibility timeout / connection loss when the whole worker does), which does W1..W5 again. After the
COMMIT the task is done whatever happens to the acknowledgment: a redelivery stops at W1.

Outputs reach the intake's outbound folder only through the outbox (cobpipe/dist/intake.py), so the
private outbound/ process.py publishes into is scratch, deleted with the private folder.

One exception to "everything in one transaction": a file rejected after its conversion had taken
control numbers (an internal error while writing) would, inside the outer transaction, keep those
numbers (process.py relies on its own transaction's rollback to give them back). That case is
detected (the numbers moved while the outcome is a rejection), rolled back, and the file processed
again on its own, as on a single host: the rejection commits alone, then the job is marked done.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from edi.errors import CobpipeError
from edi.reader import X12Reader

from ..acks.partners import PARTNERS, PartnerRoot, partner_inbound_folders
from ..jobs.batch import priority
from ..jobs.layout import Root
from ..jobs.process import JobOptions, Outcome, Status, process_inbound
from ..ledger import Ledger, LedgerError
from ..logs import error_fields, event
from ..pipeline import ConvertOptions
from . import store

log = logging.getLogger("cobpipe.dist")


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    db: str | Path
    work: Path
    name: str = ""


class TryAgain(Exception):
    """Not done, nothing committed: the task is retried later (ledger or I/O trouble)."""


def job_options(options: dict, private: Path, ledger: Ledger) -> JobOptions:
    """The JobOptions an intake recorded with the job (its coverage file materialised here)."""
    from edi.segment import output_delimiters

    d = options.get("delimiters") or "*:^~"
    payers = None
    if options.get("payers"):  # the intake's --payers file, stored with the job
        from ..payers import PayerList

        payers = PayerList.load(store.write_blob(ledger, options["payers"], private / "payers" / "payers.csv"))
    convert = ConvertOptions(bill_zero_balance=bool(options.get("bill_zero_balance")),
                             delimiters=output_delimiters(d), usage=options.get("usage"),
                             paper_layout=options.get("paper_layout") or "data", payers=payers)
    coverage = None
    if options.get("coverage"):
        coverage = store.write_blob(ledger, options["coverage"], private / "coverage" / options.get(
            "coverage_name", "coverage.csv"))
    return JobOptions(convert=convert, coverage=coverage,
                      truncated_after=float(options.get("truncated_after", 900.0)), settle=0.0)


def handle_job(sha256: str, intake: str, name: str, settings: WorkerSettings) -> str:
    """W1..W5 above; returns what happened ('done', 'already-done', 'missing'); raises TryAgain."""
    try:
        with Ledger.open(settings.db) as ledger:
            return _handle(ledger, sha256, intake, name, settings)
    except TryAgain as exc:
        event(log, "dist.retry", logging.WARNING, file=name, sha256=sha256, host=settings.name, message=str(exc))
        raise
    except (LedgerError, OSError, store.BlobMissing) as exc:
        event(log, "dist.retry", logging.WARNING, file=name, sha256=sha256, host=settings.name, **error_fields(exc))
        raise TryAgain(type(exc).__name__) from exc
    except Exception as exc:  # noqa: BLE001 - the database went away mid-task, a lock error, ...:
        # process_inbound turns every problem of the file itself into a rejection, so what reaches
        # here is the infrastructure's; nothing was committed, so the task is tried again
        event(log, "dist.retry", logging.WARNING, file=name, sha256=sha256, host=settings.name, **error_fields(exc))
        raise TryAgain(type(exc).__name__) from exc


def _handle(ledger: Ledger, sha256: str, intake: str, name: str, settings: WorkerSettings) -> str:
    job = store.get_job(ledger, sha256, intake, name)
    if job is None:
        event(log, "dist.job_missing", logging.WARNING, file=name, sha256=sha256, host=settings.name)
        return "missing"
    if job.state != "queued":
        return "already-done"
    settings.work.mkdir(parents=True, exist_ok=True)
    private = settings.work / f"{sha256[:12]}-{secrets.token_hex(4)}"
    try:
        root = Root.prepare(private, private / ".cobpipe" / "unused.db")
        source = store.write_blob(ledger, sha256, _inbound_of(root, job) / name, mtime_ns=job.mtime_ns or None)
        options = job_options(job.options, private, ledger)
        event(log, "dist.task.started", file=name, sha256=sha256, host=settings.name)
        try:
            result = _in_one_transaction(ledger, job, root, source, options)
        except _AloneInstead:
            result = _alone(ledger, job, settings, options)
        event(log, "dist.task.done", file=name, sha256=sha256, host=settings.name, status=result)
        return "done"
    finally:
        shutil.rmtree(private, ignore_errors=True)


class _AloneInstead(Exception):
    pass


def _in_one_transaction(ledger: Ledger, job: store.Job, root: Root, source: Path, options: JobOptions) -> str:
    with ledger.transaction():
        current = store.get_job(ledger, *job.key)
        if current is None or current.state != "queued":
            return "already-done"
        if priority(source)[0] == 0:
            _materialise_awaiting_eras(ledger, root, source)
        numbers_before = ledger.control_numbers()
        outcome = process_inbound(source, ledger, root, options)
        if outcome.status in (Status.ERROR, Status.WAITING, Status.GONE, Status.IGNORED):
            raise TryAgain(f"{outcome.status}: {outcome.message or outcome.reason or ''}")
        if outcome.status is Status.REJECTED and ledger.control_numbers() != numbers_before:
            raise _AloneInstead()
        _record(ledger, job, root, outcome)
        return str(outcome.status)


def _alone(ledger: Ledger, job: store.Job, settings: WorkerSettings, options: JobOptions) -> str:
    """The rare rejection after numbers were taken: process the file on its own (process.py's
    transaction gives the numbers back), then record the job."""
    private = settings.work / f"{job.sha256[:12]}-{secrets.token_hex(4)}-alone"
    try:
        root = Root.prepare(private, private / ".cobpipe" / "unused.db")
        source = store.write_blob(ledger, job.sha256, _inbound_of(root, job) / job.name,
                                  mtime_ns=job.mtime_ns or None)
        outcome = process_inbound(source, ledger, root, options)
        if outcome.status in (Status.ERROR, Status.WAITING, Status.GONE, Status.IGNORED):
            raise TryAgain(str(outcome.status))
        with ledger.transaction():
            _record(ledger, job, root, outcome)
        return str(outcome.status)
    finally:
        shutil.rmtree(private, ignore_errors=True)


def _inbound_of(root: Root, job: store.Job) -> Path:
    """Where the job's file is placed in the private ROOT: a partner's file in that partner's home,
    so process_inbound answers into that partner's outbound, as on the host it was uploaded to."""
    partner = (job.options or {}).get("partner")
    return PartnerRoot.of(root, partner).inbound if partner else root.inbound


def _produced(root: Root) -> list[tuple[str, str, Path]]:
    """(folder, name, file) of everything the step wrote for delivery: ROOT/outbound (paper/ kept as a
    sub-folder) and any partner's outbound, acknowledgments included."""
    found = []
    homes = [(f"{PARTNERS}/{p.parent.name}/outbound", p.parent / "outbound") for p in partner_inbound_folders(root)]
    for folder, base in [("outbound", root.outbound), *homes]:
        if base.is_dir():
            found += [(folder, path.relative_to(base).as_posix(), path) for path in sorted(base.rglob("*"))
                      if path.is_file() and not path.name.startswith(".")]
    return found


def _record(ledger: Ledger, job: store.Job, root: Root, outcome: Outcome) -> None:
    """W5: outputs into blobs and the outbox of the job's intake; the job done with its outcome."""
    names = []
    for folder, name, produced in _produced(root):
        blob = store.put_file(ledger, produced)
        store.add_output(ledger, job.intake, folder, name, blob, job.sha256)
        names.append(name)
    detail: dict = {"status": str(outcome.status), "kind": outcome.kind, "counts": dict(outcome.counts),
                    "outputs": names}
    if outcome.reason:
        detail["reason"] = outcome.reason
    if outcome.message:
        detail["message"] = outcome.message
    if outcome.status is Status.REJECTED and outcome.moved_to is not None:
        reason_file = outcome.moved_to.with_name(outcome.moved_to.name + ".reason.json")
        if reason_file.exists():
            detail["reason_file"] = json.loads(reason_file.read_text())
    store.finish_job(ledger, job, str(outcome.status), detail)


def _materialise_awaiting_eras(ledger: Ledger, root: Root, source: Path) -> None:
    """For an 837P: the 835s whose claims it may now match go into the private archive/, where
    process.py's retry of unmatched claims looks for them (they may have arrived on another host)."""
    ids: set[str] = set()
    try:
        reader = X12Reader.open(source)
        reader.body_tags = frozenset({"CLM"})
        for segment in reader:
            if segment.tag == "CLM":
                ids.add(segment.get(1))
    except CobpipeError:
        return  # process_inbound rejects it with the reason
    for era_sha in ledger.unmatched_awaiting(ids):
        record = ledger.file(era_sha)
        if record is None or not store.has_blob(ledger, era_sha):
            continue
        name = record.detail.get("archived") or record.name
        store.write_blob(ledger, era_sha, root.archive / name)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"
