"""`cobpipe worker`: a Celery worker converting the files intake hosts accepted (cobpipe/dist/)."""
from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

import click

from ..ledger.dialects import ENV_VAR, ledger_target


@click.command()
@click.option("--db", required=True, envvar=ENV_VAR, type=ledger_target,
              help="The shared ledger: postgresql://user@host/db (or COBPIPE_DB).")
@click.option("--broker", required=True, envvar="COBPIPE_BROKER",
              help="Celery broker URL: redis://host:6379/0 or amqp://user:pass@host:5672// (or COBPIPE_BROKER).")
@click.option("--concurrency", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Pool processes, each converting one file at a time.")
@click.option("--work", "--out", "work", type=click.Path(file_okay=False, path_type=Path),
              help="This worker's private working folder (default: a new temporary folder).")
@click.option("--name", default=None, help="Worker name (default cobpipe@<host>-<pid>).")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
              show_default=True)
def worker(db, broker, concurrency, work, name, log_level):
    """Convert files from the broker's queue against the shared ledger (run one per core or host).

    \b
    Example:
      cobpipe worker --db postgresql://cobpipe@db/cobpipe --broker redis://queue:6379/0 --concurrency 4

    Inputs come from the ledger database, outputs go back into it for the intake host that accepted
    the file: no disk is shared with the other hosts. Stop with SIGTERM (the file in hand is finished
    first); a worker killed outright is safe: its file is converted again by another worker.
    """
    from ..dist import app as dist_app
    from ..dist.worker import WorkerSettings
    from ..ledger import Ledger
    from ..logs import configure

    configure(sys.stderr, getattr(logging, log_level.upper()))
    with Ledger.open(db):  # create or migrate the schema once, before the pool forks
        pass
    from ..ledger.pg import close_pools

    close_pools()
    made = work is None
    work = Path(work or tempfile.mkdtemp(prefix="cobpipe-worker-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    for leftover in work.iterdir():  # private folders of tasks a killed worker left: nothing committed
        shutil.rmtree(leftover, ignore_errors=True) if leftover.is_dir() else leftover.unlink(missing_ok=True)
    node = name or f"cobpipe@{os.uname().nodename}-{os.getpid()}"
    dist_app.worker_settings = WorkerSettings(db=db, work=work, name=node)
    app = dist_app.make_app(broker)
    try:
        app.worker_main(["worker", "--concurrency", str(concurrency), "--pool", "prefork",
                         "-Q", app.conf.task_default_queue,
                         "-n", node, "--without-gossip", "--without-mingle", "--without-heartbeat",
                         "--loglevel", log_level.upper()])
    finally:
        if made:
            shutil.rmtree(work, ignore_errors=True)


COMMANDS = [worker]
