"""cobpipe on several hosts: intake hosts accept files, Celery workers convert them, one ledger.

    intake (watch/run --broker)  ->  ledger DB: blob + job  ->  broker: task(sha256, intake, name)
    worker (cobpipe worker)      ->  process.py's step in one ledger transaction, outputs to the outbox
    intake                       ->  outbox -> ROOT/outbound (temp name, fsync, rename)

store.py (blobs, jobs, outbox), intake.py, worker.py, app.py (the Celery app and its one task).
The README's "Running on several hosts" is the operator's guide.
"""
