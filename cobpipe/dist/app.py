"""The Celery application: one task, `cobpipe.dist.process_file(sha256, intake, name)`.

Redis is the default broker (`redis://host:6379/0`); RabbitMQ works by URL too
(`amqp://user:password@host:5672//`). The task is idempotent (keyed by the file's sha256, the
intake and the name: cobpipe/dist/worker.py), acknowledged late (after it ran), and rejected back
to the queue when the pool process running it dies (`reject_on_worker_lost`), so a file whose
worker was killed is converted by another worker -- exactly once, because the ledger commits a
file's conversion in one transaction and the task stops at once for a job already done.

With Redis, a message taken by a worker that dies altogether (host lost, SIGKILL of the whole
worker) comes back after the broker's visibility timeout: COBPIPE_VISIBILITY_TIMEOUT seconds
(default 3600). Keep it above your longest conversion: a task still running when it expires is
delivered to a second worker too, which waits for the first's commit and then finds the job done
(no harm, only a worker kept busy). RabbitMQ gives the message back as soon as the connection drops.
"""
from __future__ import annotations

import os

QUEUE = os.environ.get("COBPIPE_QUEUE", "cobpipe")  # one queue per deployment (tests: one per run)
TASK_NAME = "cobpipe.dist.process_file"
VISIBILITY_ENV = "COBPIPE_VISIBILITY_TIMEOUT"
RETRY_ENV = "COBPIPE_RETRY_SECONDS"

# set by `cobpipe worker` before the pool starts (inherited by the forked pool processes)
worker_settings = None


def make_app(broker: str, queue: str | None = None):
    """The app for `broker`; tasks go to `queue` (default $COBPIPE_QUEUE, else "cobpipe")."""
    from celery import Celery

    app = Celery("cobpipe", broker=broker, set_as_current=False)
    visibility = float(os.environ.get(VISIBILITY_ENV, "3600"))
    transport: dict = {"visibility_timeout": visibility}
    if broker.startswith(("redis://", "rediss://", "redis+socket://")):
        # sweep for messages of dead workers often enough to honour a short visibility timeout
        transport.update(unacked_restore_interval=max(1, min(10, int(visibility / 4) or 1)),
                         unacked_restore_throttle=1)
    app.conf.update(
        task_default_queue=queue or os.environ.get("COBPIPE_QUEUE") or QUEUE,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        task_serializer="json", accept_content=["json"],
        task_ignore_result=True, result_backend=None,
        broker_transport_options=transport,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False, worker_redirect_stdouts=False,
        worker_send_task_events=False, task_send_sent_event=False,
        enable_utc=True,
    )
    app.task(name=TASK_NAME, bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)(process_file)
    return app


def process_file(task, sha256: str, intake: str, name: str) -> str:
    from .worker import TryAgain, handle_job

    if worker_settings is None:  # pragma: no cover - only `cobpipe worker` runs tasks
        raise RuntimeError("cobpipe worker settings missing")
    try:
        return handle_job(sha256, intake, name, worker_settings)
    except TryAgain as exc:
        raise task.retry(countdown=float(os.environ.get(RETRY_ENV, "5")), exc=exc) from None


def enqueue(app, sha256: str, intake: str, name: str) -> None:
    app.send_task(TASK_NAME, args=[sha256, intake, name], queue=app.conf.task_default_queue)
