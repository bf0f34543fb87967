"""Unattended jobs on a drop folder ROOT: `watch`, `run`, `sftp-serve`, `status`.

All three channels call the same cobpipe.jobs.process.process_inbound; logs are JSON lines on
stderr (no PHI); see cobpipe/jobs/layout.py for the folders under ROOT.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import click

from ..ledger import Ledger
from ..ledger.dialects import ledger_target
from ..logs import LOG_FORMATS, configure, unconfigure
from ..pipeline import ConvertOptions
from .convert import parse_delimiters

EXIT_CLEAN, EXIT_REJECTED, EXIT_CONFIG = 0, 1, 2


def _remember_broker(ctx, _param, value):
    ctx.meta["cobpipe.broker"] = value  # read by _intake(); keeps the commands' signatures as they were


def _remember(name):
    """Keep an option in the click context (read by _build), like --broker: the commands' signatures stay."""
    def callback(ctx, _param, value):
        ctx.meta[f"cobpipe.{name}"] = value
    return callback


def _intake(layout, ledger, options):
    """With --broker: the cobpipe/dist intake (accept, store, queue; deliver the workers' outputs)."""
    broker = click.get_current_context().meta.get("cobpipe.broker")
    if not broker:
        return None
    from ..dist.app import make_app
    from ..dist.intake import Intake

    return Intake(layout, ledger, make_app(broker), options)


def job_options(function):
    """Options shared by watch, run and sftp-serve."""
    decorators = [
        click.argument("root", type=click.Path(exists=True, file_okay=False, path_type=Path)),
        click.option("--db", type=ledger_target, envvar="COBPIPE_DB",
                     help="Ledger file or postgresql:// URL (default $COBPIPE_DB, else ROOT/.cobpipe/ledger.db)."),
        click.option("--broker", expose_value=False, callback=_remember_broker,
                     help="Celery broker URL (redis://... or amqp://...): only accept files, store them in the "
                          "ledger database and queue them for `cobpipe worker` (README: several hosts)."),
        click.option("--coverage", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="CSV of next-payer coverage (re-read for every 835, so edits apply)."),
        click.option("--payers", type=click.Path(exists=True, dir_okay=False, path_type=Path), expose_value=False,
                     callback=_remember("payers"),
                     help="The payer list (CSV: payer_id,name,accepts_electronic_secondary,eaf_level,notes,aliases; "
                          "read at start); default: mappings/payers.csv."),
        click.option("--paper-layout", type=click.Choice(["data", "full"]), default="data", show_default=True,
                     expose_value=False, callback=_remember("paper_layout"),
                     help="Paper claims (outbound/paper/): data only for pre-printed red CMS-1500 forms, or the "
                          "full form drawn."),
        click.option("--acknowledge", is_flag=True, expose_value=False, callback=_remember("acknowledge"),
                     help="Also write a TA1/999 into ROOT/outbound for every file dropped in ROOT/inbound "
                          "(partner homes always get theirs)."),
        click.option("--bill-zero-balance", is_flag=True, help="Also bill claims that leave nothing for the patient."),
        click.option("--usage", type=click.Choice(["P", "T"]), default=None,
                     help="ISA15 (default: T when the 835 or the original claims are test data, else P)."),
        click.option("--delimiters", default="*:^~", show_default=True,
                     help="Output delimiters: element, component, repetition, segment terminator."),
        click.option("--truncated-after", type=click.FloatRange(min=1), default=900, show_default=True,
                     help="Seconds without an IEA trailer before a file is rejected as truncated."),
        click.option("--settle", type=click.FloatRange(min=0), default=2.0, show_default=True,
                     help="Seconds a file must stay unchanged when no close event says it is finished."),
        click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
                     show_default=True),
        click.option("--log-format", type=click.Choice(LOG_FORMATS), default="auto", show_default=True,
                     help="Log lines on stderr: json (one object per line), text (short lines for a "
                          "person), auto: text on a terminal, else json."),
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


def _build(root, db, coverage, bill_zero_balance, usage, delimiters, truncated_after, settle):
    from ..cob.coverage import CoverageTable
    from ..jobs.layout import Root
    from ..jobs.process import JobOptions

    layout = Root.prepare(root, db)
    if coverage is not None:
        CoverageTable.load(coverage)  # a broken coverage file stops the job before anything is taken
    meta = click.get_current_context().meta
    paper = {}
    if meta.get("cobpipe.payers"):  # paper claims (issue 20); a broken payer list stops the job here too
        from ..payers import PayerList

        paper["payers"] = PayerList.load(meta["cobpipe.payers"])
    if meta.get("cobpipe.paper_layout") not in (None, "data"):  # "data" is ConvertOptions' default
        paper["paper_layout"] = meta["cobpipe.paper_layout"]
    options = JobOptions(
        convert=ConvertOptions(bill_zero_balance=bill_zero_balance, delimiters=parse_delimiters(delimiters),
                               usage=usage, **paper),
        coverage=coverage, truncated_after=truncated_after, settle=settle,
        acknowledge=bool(meta.get("cobpipe.acknowledge")))
    return layout, options


@contextlib.contextmanager
def _json_logs(level: str, log_format: str = "auto") -> Iterator[None]:
    handler = configure(sys.stderr, getattr(logging, level.upper()), log_format=log_format)
    try:
        yield
    finally:
        unconfigure(handler)


@contextlib.contextmanager
def _stop_on_signals(stop) -> Iterator[None]:
    """SIGTERM and SIGINT ask for a graceful stop (the file in hand is finished first)."""
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@click.command()
@job_options
@click.option("--poll", is_flag=True, help="Poll the folder (network filesystems without inotify).")
@click.option("--poll-interval", type=click.FloatRange(min=0.1), default=2.0, show_default=True)
def watch(root, db, coverage, bill_zero_balance, usage, delimiters, truncated_after, settle, log_level, log_format,
          poll, poll_interval):
    """Watch ROOT/inbound and process each 837P and 835 as soon as it is complete.

    \b
    Example:
      cobpipe watch /srv/cob --coverage /srv/cob/coverage.csv
      cobpipe watch /mnt/share/cob --poll        # NFS/SMB: no inotify there

    Files already in inbound are processed at start. Stop with SIGTERM or Ctrl-C.
    """
    from ..jobs.watch import InboundWatcher

    layout, options = _build(root, db, coverage, bill_zero_balance, usage, delimiters, truncated_after, settle)
    stop = threading.Event()
    with _json_logs(log_level, log_format), Ledger.open(layout.ledger_path) as ledger, _stop_on_signals(stop):
        intake = _intake(layout, ledger, options)
        if intake is not None:
            intake.run(stop, poll_interval=poll_interval)
            return
        InboundWatcher(layout, ledger, options, poll=poll, poll_interval=poll_interval).run(stop)


@click.command()
@job_options
@click.option("--json", "as_json", is_flag=True, help="Print each file's outcome as JSON.")
def run(root, db, coverage, bill_zero_balance, usage, delimiters, truncated_after, settle, log_level, log_format,
        as_json):
    """Process everything in ROOT/inbound once, then exit (for cron).

    \b
    Example:
      */5 * * * *  cobpipe run /srv/cob --coverage /srv/cob/coverage.csv

    Exit 0: all good (files still being written are left for the next run); 1: some file was
    rejected or some claim not converted; 2: unusable configuration (nothing was processed).
    """
    from ..jobs.batch import exit_code, run_once

    layout, options = _build(root, db, coverage, bill_zero_balance, usage, delimiters, truncated_after, settle)
    with _json_logs(log_level, log_format), Ledger.open(layout.ledger_path) as ledger:
        intake = _intake(layout, ledger, options)
        if intake is not None:
            accepted = intake.run_once()
            click.echo(json.dumps([a.to_dict() for a in accepted], indent=2) if as_json
                       else "\n".join(f"{a.name}: {a.status}" for a in accepted))
            sys.exit(1 if any(a.status == "error" for a in accepted) else 0)
        outcomes = run_once(layout, ledger, options, progress=sys.stderr.isatty() and not as_json)
    if as_json:
        click.echo(json.dumps([o.to_dict() for o in outcomes], indent=2))
    else:
        for outcome in outcomes:
            detail = outcome.reason or ", ".join(f"{n} {k}" for k, n in outcome.counts.items() if n)
            click.echo(f"{outcome.name}: {outcome.status}" + (f" ({detail})" if detail else ""))
    sys.exit(exit_code(outcomes))


@click.command("sftp-serve")
@job_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=2222, show_default=True,
              help="Port to listen on (0: any free port, logged in the sftp.listening line).")
@click.option("--authorized-keys", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="OpenSSH authorized_keys file: the only keys let in; each key's comment names its partner.")
@click.option("--host-key", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The server's private host key (e.g. from ssh-keygen -t ed25519).")
@click.option("--max-handles", type=click.IntRange(1), default=64, show_default=True,
              help="Open files per SFTP session.")
@click.option("--max-sessions", type=click.IntRange(1), default=4, show_default=True,
              help="SFTP sessions per partner at once.")
@click.option("--max-upload-mb", type=click.FloatRange(min=0.001), default=100, show_default=True,
              help="Largest single upload, in MB.")
@click.option("--quota-mb", type=click.FloatRange(min=0.001), default=1024, show_default=True,
              help="Bytes a partner may have waiting in its inbound (uploads included), in MB.")
@click.option("--min-free-disk-mb", type=click.FloatRange(min=0), default=256, show_default=True,
              help="Uploads are refused while ROOT's disk has less free space than this, in MB.")
@click.option("--rescan", type=click.FloatRange(min=1), default=60, show_default=True,
              help="Seconds between scans of inbound (files dropped directly, files waiting for an IEA).")
def sftp_serve(root, db, coverage, bill_zero_balance, usage, delimiters, truncated_after, settle, log_level,
               log_format, host, port, authorized_keys, host_key, max_handles, max_sessions, max_upload_mb, quota_mb,
               min_free_disk_mb, rescan):
    """Serve ROOT over SFTP: partners upload into /inbound and download from /outbound.

    \b
    Example:
      cobpipe sftp-serve /srv/cob --host 0.0.0.0 --port 2222 \\
          --authorized-keys /etc/cobpipe/partners.pub --host-key /etc/cobpipe/host_ed25519

    Public-key authentication only. Stop with SIGTERM or Ctrl-C.
    """
    from ..jobs.sftp import SftpSettings, serve

    broker = click.get_current_context().meta.get("cobpipe.broker")  # uploads queued for `cobpipe worker`s
    layout, options = _build(root, db, coverage, bill_zero_balance, usage, delimiters, truncated_after, settle)
    mb = 1 << 20
    settings = SftpSettings(host, port, authorized_keys, host_key, rescan_every=rescan, max_handles=max_handles,
                            max_sessions=max_sessions, max_upload=int(max_upload_mb * mb), quota=int(quota_mb * mb),
                            min_free_disk=int(min_free_disk_mb * mb))

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(layout, ledger, options, settings, stop, broker=broker)

    with _json_logs(log_level, log_format), Ledger.open(layout.ledger_path) as ledger:
        asyncio.run(main())


@click.command()
@click.argument("root", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--db", type=ledger_target, envvar="COBPIPE_DB",
              help="Ledger file or postgresql:// URL (default $COBPIPE_DB, else ROOT/.cobpipe/ledger.db).")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.option("--last", type=click.IntRange(1, 1000), default=10, show_default=True, help="How many recent errors.")
@click.option("--ack-after", type=click.FloatRange(min=0), default=24, show_default=True,
              help="Hours after which an 837P without a 999, or a claim without a 277CA, is listed.")
@click.option("--crossover-days", type=click.IntRange(min=0), default=30, show_default=True,
              help="Days after which a crossover the primary announced (MA18/N89, CLP02 19-21) that the "
                   "forwarded-to payer has not answered with its own 835 is listed as overdue.")
def status(root, db, as_json, last, ack_after, crossover_days=30):
    """What the drop folder has done: files processed and rejected, claims stored, converted and pending.

    \b
    Example:
      cobpipe status /srv/cob --json
    """
    from ..jobs.layout import JobConfigError, Root
    from ..jobs.status import render_text, status as build_status

    layout = Root(Path(root).resolve(), db if isinstance(db, str) else Path(db).resolve() if db
                  else Path(root).resolve() / ".cobpipe" / "ledger.db")
    if not isinstance(layout.ledger_path, str) and not layout.ledger_path.exists():
        raise JobConfigError(f"{layout.ledger_path}: no ledger yet (has a job run on this ROOT?)")
    with Ledger.open(layout.ledger_path, readonly=True) as ledger:  # never waits for a writer
        data = build_status(layout, ledger, last=last, ack_after=ack_after * 3600, crossover_days=crossover_days)
    data["generated_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    click.echo(json.dumps(data, indent=2) if as_json else render_text(data))


COMMANDS = [watch, run, sftp_serve, status]
