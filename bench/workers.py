"""Throughput of `cobpipe worker` processes on one batch: 1, 2 and 4 workers (a benchmark, not a test).

    .venv/bin/python bench/workers.py --eras 8 --claims 500 --workers 1 2 4 --runs 2
    .venv/bin/python bench/workers.py --blobs          # chunk size of the blob store, measured

Each run: a fresh PostgreSQL database (on the server of --pg, default $COBPIPE_TEST_PG_URL or
postgresql://postgres@127.0.0.1:5432/postgres), a queue of its own on --broker (default Redis),
N `cobpipe worker --concurrency 1` processes started and ready, the batch's 837P files accepted
and stored first, then the clock runs from accepting the ERAs (the intake in this process, as
`cobpipe run --broker` does it) until every output is delivered into outbound/. Prints a markdown
table (median of --runs) with claims/s and the speed-up over one worker.
"""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PG_DEFAULT = os.environ.get("COBPIPE_TEST_PG_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
BROKER_DEFAULT = os.environ.get("COBPIPE_TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"


def fresh_database(server: str) -> str:
    import psycopg
    from urllib.parse import urlsplit, urlunsplit

    name = f"cobpipe_bench_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(server)._replace(path="/" + name))


def drop_database(server: str, url: str) -> None:
    import psycopg
    from urllib.parse import urlsplit

    from cobpipe.ledger.pg import close_pools

    close_pools()
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{urlsplit(url).path[1:]}" WITH (FORCE)')


def make_batch(folder: Path, eras: int, claims: int) -> tuple[list[Path], list[Path]]:
    from cobpipe.synth import generate_set

    claim_files, era_files = [], []
    for k in range(eras):
        made = generate_set(claims, folder, seed=100 + k, prefix=f"b{k:02d}-", secondary_absent_fraction=0.0,
                            claim_offset=k * 1_000_000)
        claim_files.append(made.claims)
        era_files.append(made.era)
    return claim_files, era_files


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def one_run(n_workers: int, claim_files, era_files, pg: str, broker: str, tmp: Path) -> float:
    from cobpipe.dist import store
    from cobpipe.dist.app import make_app
    from cobpipe.dist.intake import Intake
    from cobpipe.jobs.layout import Root
    from cobpipe.jobs.process import JobOptions
    from cobpipe.ledger import Ledger

    db = fresh_database(pg)
    queue = f"cobpipe-bench-{secrets.token_hex(4)}"
    env = dict(os.environ, COBPIPE_DB=db, COBPIPE_QUEUE=queue)
    workers = []
    run_dir = Path(tempfile.mkdtemp(dir=tmp))
    try:
        Ledger.open(db).close()
        for n in range(n_workers):
            workers.append(subprocess.Popen(
                [sys.executable, "-m", "cobpipe.cli", "worker", "--broker", broker, "--concurrency", "1",
                 "--work", str(run_dir / f"w{n}"), "--name", f"bench{n}@local", "--log-level", "warning"],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        root = Root.prepare(run_dir / "intake", db)
        with Ledger.open(db) as ledger:
            intake = Intake(root, ledger, make_app(broker, queue), JobOptions(settle=0.0))

            def all_done(files) -> bool:
                intake.deliver()
                return all((root.archive / f.name).exists() for f in files)

            for path in claim_files:  # the claims are stored before the clock starts
                shutil.copy(path, root.inbound / path.name)
                intake.accept(root.inbound / path.name)
            _wait(lambda: all_done(claim_files), 600, "the 837Ps")
            for path in era_files:
                shutil.copy(path, root.inbound / path.name)
            started = time.perf_counter()
            for path in era_files:
                intake.accept(root.inbound / path.name)
            _wait(lambda: all_done(era_files), 3600, "the ERAs")
            elapsed = time.perf_counter() - started
            assert not store.pending_outputs(ledger, intake.name)
        return elapsed
    finally:
        for proc in workers:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(30)
        drop_database(pg, db)
        shutil.rmtree(run_dir, ignore_errors=True)


def bench_blobs(pg: str, tmp: Path, size_mb: int = 10) -> None:
    from cobpipe.dist import store
    from cobpipe.ledger import Ledger

    data = tmp / "big.835"
    with open(data, "wb") as out:  # X12-like text, as compressible as a real ERA
        line = b"CLP*SYN00000001*1*125.00*80.00*20.00*12*PAYER0000001~CAS*CO*45*25.00~\n"
        out.write(line * (size_mb * (1 << 20) // len(line)))
    print("| database | chunk | store s | read s | MB/s store | MB/s read |\n|---|---:|---:|---:|---:|---:|")
    for label in ("postgresql", "sqlite"):
        for chunk in (256 << 10, 1 << 20, 4 << 20):
            db = fresh_database(pg) if label == "postgresql" else str(tmp / f"blobs-{chunk}.db")
            try:
                store.CHUNK_SIZE = chunk
                with Ledger.open(db if label == "postgresql" else Path(db)) as ledger:
                    started = time.perf_counter()
                    sha = store.put_file(ledger, data)
                    stored = time.perf_counter() - started
                    started = time.perf_counter()
                    store.write_blob(ledger, sha, tmp / "back.835", durable=True)
                    read = time.perf_counter() - started
                mb = data.stat().st_size / (1 << 20)
                print(f"| {label} | {chunk >> 10} KiB | {stored:.2f} | {read:.2f} | {mb / stored:.0f} "
                      f"| {mb / read:.0f} |")
            finally:
                if label == "postgresql":
                    drop_database(pg, db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eras", type=int, default=8)
    parser.add_argument("--claims", type=int, default=500, help="claims per ERA")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--pg", default=PG_DEFAULT, help="PostgreSQL server (a database is created per run)")
    parser.add_argument("--broker", default=BROKER_DEFAULT)
    parser.add_argument("--blobs", action="store_true", help="measure the blob store's chunk sizes instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cobpipe-bench-workers-") as tmp_name:
        tmp = Path(tmp_name)
        if args.blobs:
            bench_blobs(args.pg, tmp)
            return
        claim_files, era_files = make_batch(tmp / "batch", args.eras, args.claims)
        total = args.eras * args.claims
        print(f"batch: {args.eras} ERAs x {args.claims} claims; {os.cpu_count()} CPUs; "
              f"broker {args.broker.split('://')[0]}, ledger PostgreSQL\n")
        print("| workers | median s | min s | claims/s | speed-up |\n|---:|---:|---:|---:|---:|")
        base = None
        for n in args.workers:
            times = [one_run(n, claim_files, era_files, args.pg, args.broker, tmp) for _ in range(args.runs)]
            median = statistics.median(times)
            base = base or median
            print(f"| {n} | {median:.2f} | {min(times):.2f} | {total / median:,.0f} | {base / median:.2f}x |",
                  flush=True)


if __name__ == "__main__":
    main()
