"""One intake and two Celery workers on real PostgreSQL and Redis, with workers SIGKILLed mid-conversion.

Every process is real: `cobpipe watch ROOT --broker` (the intake) and two `cobpipe worker`s, each in
its own working folder and process group, killed with their whole group at the end. Inputs come from
`cobpipe synth` (its generator, in-process); the expected result is what `cobpipe convert` bills for
the same files on one machine.

20 trials, each a small batch (two 837P/835 pairs, dropped together or the 835s first), in which a
worker that has just started one of the batch's files is SIGKILLed after a delay drawn from a seeded
RNG: either its pool process (the broker gets the message back at once: reject_on_worker_lost) or
the whole worker (host lost: the message comes back after the visibility timeout; the worker is
started again). In some trials the intake is SIGKILLed too, while it stores, queues or delivers, and
started again. After every trial and at the end:

  * every claim is billed exactly once (CLM01 across all outbound 837Ps, equal to the reference set);
  * ISA13, GS06 and ST02 are unique and gap-free per sender/receiver (1..n);
  * no outbound file is ever partial (checked at every poll while the workers run, and at the end);
  * no input is lost (each one archived, nothing left in inbound/ or queued/).
"""
from __future__ import annotations

import json
import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from services import fresh_pg_database, redis_url

TRIALS = int(os.environ.get("COBPIPE_DIST_TRIALS", "20"))  # 20 in CI; fewer when debugging
CLAIMS_PER_PAIR = 8
SEED = 2026_21


class Proc:
    """A cobpipe subprocess in its own process group, its stderr lines collected."""

    def __init__(self, args: list[str], env: dict, cwd: Path) -> None:
        self.args, self.env, self.cwd = args, env, cwd
        self.lines: list[str] = []
        self.lock = threading.Lock()
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "cobpipe.cli", *self.args], env=self.env, cwd=self.cwd,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()

    def _read(self, proc) -> None:
        for line in proc.stderr:
            with self.lock:
                self.lines.append(line)

    def events(self, name: str | None = None) -> list[dict]:
        with self.lock:
            lines = list(self.lines)
        out = []
        for line in lines:
            if line.startswith("{"):
                try:
                    data = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if name is None or data.get("event") == name:
                    out.append(data)
        return out

    def child_pids(self) -> list[int]:
        try:
            text = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return []
        return [int(p) for p in text.split()]

    def kill_group(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        self.kill_group()


def wait_for(predicate, timeout: float, what: str, every: float = 0.05, also=None):
    deadline = time.monotonic() + timeout
    while True:
        if also is not None:
            also()
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


# --- what the outbound folder holds ------------------------------------------------------------------

def segments(text: str) -> list[list[str]]:
    element, terminator = text[3], text[105]
    return [s.strip().split(element) for s in text.split(terminator) if s.strip()]


def assert_complete(path: Path) -> None:
    """A visible outbound file is whole: an 837 ends with its IEA, a report parses as JSON."""
    data = path.read_text()
    if path.suffix == ".json":
        json.loads(data)
    else:
        segs = segments(data)
        assert segs[0][0] == "ISA" and segs[-1][0] == "IEA", f"{path.name} is partial"


def outbound_facts(outbound: Path):
    claims: Counter = Counter()
    numbers: dict[tuple, list[int]] = defaultdict(list)
    for path in sorted(outbound.iterdir()):
        if path.name.startswith("."):
            continue
        assert_complete(path)
        if path.suffix != ".837":
            continue
        segs = segments(path.read_text())
        isa = segs[0]
        pair = (isa[6].strip(), isa[8].strip())
        numbers[("ISA", *pair)].append(int(isa[13]))
        for seg in segs:
            if seg[0] == "GS":
                numbers[("GS", *pair)].append(int(seg[6]))
            elif seg[0] == "ST":
                numbers[("ST", *pair)].append(int(seg[2]))
            elif seg[0] == "CLM":
                claims[seg[1]] += 1
    return claims, numbers


def assert_invariants(root: Path, expected_claims: set[str]) -> None:
    claims, numbers = outbound_facts(root / "outbound")
    billed_twice = sorted(c for c, n in claims.items() if n > 1)
    assert not billed_twice, f"billed more than once: {billed_twice}"
    assert set(claims) == expected_claims, (sorted(set(claims) - expected_claims),
                                           sorted(expected_claims - set(claims)))
    for key, got in numbers.items():
        assert sorted(got) == list(range(1, len(got) + 1)), f"{key}: {sorted(got)} not unique and gap-free"
    leftovers = [p.name for p in (root / "outbound").iterdir() if p.name.startswith(".")]
    assert not leftovers, f"temporary files left in outbound: {leftovers}"


# --- the cluster ---------------------------------------------------------------------------------------

@pytest.fixture
def cluster(tmp_path):
    broker = redis_url()
    with fresh_pg_database("cobpipe_dist") as db:
        queue = f"cobpipe-test-{secrets.token_hex(4)}"
        env = dict(os.environ, COBPIPE_DB=db, COBPIPE_QUEUE=queue, COBPIPE_VISIBILITY_TIMEOUT="4",
                   COBPIPE_RETRY_SECONDS="1", PYTHONUNBUFFERED="1")
        env.pop("COBPIPE_TEST_CRASH_AT", None)
        root = tmp_path / "intake"
        (root / "inbound").mkdir(parents=True)
        procs: list[Proc] = []
        try:
            from cobpipe.ledger import Ledger

            Ledger.open(db).close()  # the schema, before three processes race to create it
            workers = []
            for n in (1, 2):
                folder = tmp_path / f"worker{n}"
                folder.mkdir()
                workers.append(Proc(["worker", "--broker", broker, "--work", str(folder / "work"),
                                     "--name", f"w{n}@test", "--concurrency", "1"], env, folder))
            procs += workers
            intake = Proc(["--debug", "watch", str(root), "--broker", broker, "--settle", "0",
                           "--poll-interval", "0.2", "--log-format", "json"], env, tmp_path)
            procs.append(intake)
            yield {"db": db, "root": root, "workers": workers, "intake": intake, "broker": broker,
                   "env": env, "tmp": tmp_path, "queue": queue}
        finally:
            for proc in procs:
                proc.stop()
            try:
                import redis

                client = redis.Redis.from_url(broker)
                client.delete(queue)
                client.close()
            except Exception:  # noqa: BLE001 - cleanup only
                pass


def make_batches(tmp: Path) -> list[list[tuple[Path, Path]]]:
    from cobpipe.synth import generate_set

    batches = []
    for trial in range(TRIALS):
        pairs = []
        for k in range(2):
            made = generate_set(CLAIMS_PER_PAIR, tmp / "gen", seed=SEED + trial * 10 + k, prefix=f"t{trial:02d}p{k}-",
                                secondary_absent_fraction=0.0,
                                claim_offset=(trial * 10 + k) * 1000)
            pairs.append((made.claims, made.era))
        batches.append(pairs)
    return batches


def reference_claims(tmp: Path, batches) -> set[str]:
    """What `cobpipe convert` bills for the same files on one machine, with one ledger."""
    out = tmp / "reference"
    eras = [era for pairs in batches for _, era in pairs]
    claims = [c for pairs in batches for c, _ in pairs]
    args = [sys.executable, "-m", "cobpipe.cli", "convert", "--out", str(out), "--workers", "1",
            "--db", str(tmp / "reference.db")]
    for era in eras:
        args += ["--era", str(era)]
    for claim_file in claims:
        args += ["--claims", str(claim_file)]
    env = {k: v for k, v in os.environ.items() if k != "COBPIPE_DB"}
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode in (0, 1), done.stderr
    billed, _ = outbound_facts(out)
    assert billed, "the reference conversion billed nothing: the test would prove nothing"
    return set(billed)


def drop(path: Path, inbound: Path) -> None:
    tmp = inbound / f".{path.name}.tmp"
    tmp.write_bytes(path.read_bytes())
    os.replace(tmp, inbound / path.name)


def test_workers_killed_mid_conversion_bill_every_claim_exactly_once(cluster):
    rng = random.Random(SEED)
    root: Path = cluster["root"]
    tmp: Path = cluster["tmp"]
    workers: list[Proc] = cluster["workers"]
    batches = make_batches(tmp)
    expected = reference_claims(tmp, batches)
    from cobpipe.dist import store
    from cobpipe.ledger import Ledger

    ledger = Ledger.open(cluster["db"])

    def check_outbound():  # a reader polling outbound never sees a partial file
        for path in (root / "outbound").iterdir() if (root / "outbound").exists() else []:
            if not path.name.startswith("."):
                assert_complete(path)

    interrupted = 0
    intake_kills = 0
    intake: Proc = cluster["intake"]
    expected_so_far: set[str] = set()
    all_inputs: list[Path] = []
    try:
        for trial, pairs in enumerate(batches):
            names = {p.name for pair in pairs for p in pair}
            all_inputs += [p for pair in pairs for p in pair]
            started_before = {id(w): len(w.events("dist.task.started")) for w in workers}
            eras_first = rng.random() < 0.3
            first = [era for _, era in pairs] if eras_first else [p for pair in pairs for p in pair]
            for path in first:
                drop(path, root / "inbound")
            if rng.random() < 0.2:  # the intake host dies while it stores, queues or delivers
                time.sleep(rng.uniform(0.0, 0.3))
                intake.kill_group()
                intake.start()
                intake_kills += 1

            def new_start():
                for w in workers:
                    fresh = w.events("dist.task.started")[started_before[id(w)]:]
                    hits = [e for e in fresh if e.get("file") in names]
                    if hits:
                        return w, hits[0]
                return None

            victim, hit = wait_for(new_start, 60, f"trial {trial}: a worker starting a file", also=check_outbound)
            time.sleep(rng.uniform(0.0, 0.3))  # the kill moment, drawn from the seeded RNG
            whole = rng.random() < 0.3
            if whole:
                victim.kill_group()
                victim.start()
            else:
                for pid in victim.child_pids():
                    os.kill(pid, signal.SIGKILL)
            if eras_first:
                wait_for(lambda: all(store.get_job(ledger, None or _sha(p), _intake(cluster), p.name) is not None
                                     and store.get_job(ledger, _sha(p), _intake(cluster), p.name).state != "queued"
                                     for _, p in pairs), 90, f"trial {trial}: the 835s processed first",
                         also=check_outbound)
                for claims_file, _ in pairs:
                    drop(claims_file, root / "inbound")

            def trial_done():
                archived = {p.name for p in (root / "archive").iterdir()}
                return names <= archived and not store.pending_outputs(ledger, _intake(cluster))

            wait_for(trial_done, 120, f"trial {trial}: every input archived and every output delivered",
                     also=check_outbound)
            restarted = Counter(e.get("sha256") for w in workers for e in w.events("dist.task.started"))
            interrupted = sum(1 for n in restarted.values() if n > 1)
            expected_so_far |= _claims_of(pairs) & expected
            assert_invariants(root, expected_so_far)
    finally:
        ledger.close()

    # the end: nothing lost, nothing left over, the ledger agrees with the outbound folder
    assert_invariants(root, expected)
    assert sorted(p.name for p in (root / "archive").iterdir()) == sorted(p.name for p in all_inputs)
    assert not list((root / "inbound").iterdir()) or all(p.name.startswith(".") for p in (root / "inbound").iterdir())
    assert not list((root / ".cobpipe" / "queued").iterdir())
    assert not (root / "rejected").exists() or not list((root / "rejected").iterdir())
    with Ledger.open(cluster["db"]) as ledger:
        issued = {row[0] for row in ledger.query("SELECT claim_id FROM issued")}
        assert issued == expected
        summary = store.summary(ledger)
        assert summary["undelivered"] == 0 and summary["jobs"] == {"archived": len(all_inputs)}
    # the kills did land mid-task: files a worker started and another had to start again
    assert interrupted >= 3, f"only {interrupted} tasks were interrupted: the kills missed"
    print(f"\n{TRIALS} trials, {interrupted} tasks started again after a kill, {intake_kills} intake kills, "
          f"{len(expected)} claims billed once")


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _intake(cluster) -> str:
    import socket

    return f"{socket.gethostname()}:{cluster['root'].resolve()}"


def _claims_of(pairs) -> set[str]:
    ids = set()
    for claims_file, _ in pairs:
        for seg in segments(claims_file.read_text()):
            if seg[0] == "CLM":
                ids.add(seg[1])
    return ids


def test_files_on_two_intakes_in_either_order_rejections_and_duplicates(cluster):
    """The 835 arrives on one intake host, its 837P later on another: the 837P's worker converts the
    claims the 835 left unmatched (the 835's bytes come from the database, not a shared disk) and
    the 837 goes to the 837P's host. Garbage is rejected with its reason file on the host that got
    it; the same 835 dropped again is archived as a duplicate, billing nothing."""
    from cobpipe.dist import store
    from cobpipe.dist.app import make_app
    from cobpipe.dist.intake import Intake
    from cobpipe.jobs.layout import Root
    from cobpipe.jobs.process import JobOptions
    from cobpipe.ledger import Ledger
    from cobpipe.synth import generate_set

    tmp: Path = cluster["tmp"]
    root_a: Path = cluster["root"]
    made = generate_set(10, tmp / "gen", seed=7, prefix="x-", secondary_absent_fraction=0.0)
    expected = reference_claims(tmp, [[(made.claims, made.era)]])
    root_b = Root.prepare(tmp / "intake-b", cluster["db"])
    with Ledger.open(cluster["db"]) as ledger:
        host_b = Intake(root_b, ledger, make_app(cluster["broker"], cluster["queue"]), JobOptions(settle=0.0),
                        name="host-b:/srv/cob")

        def settled(intake, root, name):
            intake.deliver() if intake is host_b else None
            return (root / "archive" / name).exists() or (root / "rejected" / name).exists()

        drop(made.era, root_b.inbound)
        assert host_b.accept(root_b.inbound / made.era.name).status == "queued"
        wait_for(lambda: settled(host_b, root_b.path, made.era.name), 60, "the 835 on host B")
        report = json.loads(next(root_b.outbound.glob("*.report.json")).read_text())
        assert report["counts"]["unmatched"] >= len(expected) and not list(root_b.outbound.glob("*.837"))

        drop(made.claims, root_a / "inbound")
        junk = tmp / "junk.835"
        junk.write_bytes(b"\x00\x01 this is no X12 at all" * 50)
        drop(junk, root_a / "inbound")
        wait_for(lambda: settled(None, root_a, made.claims.name) and settled(None, root_a, "junk.835"), 60,
                 "the 837P and the junk on host A")
        wait_for(lambda: list((root_a / "outbound").glob("*.837")), 30, "the retried claims' 837 on host A")
        claims, _ = outbound_facts(root_a / "outbound")
        assert set(claims) == expected and max(claims.values()) == 1
        reason = json.loads((root_a / "rejected" / "junk.835.reason.json").read_text())
        assert reason["reason"] == "not-x12" and reason["file"] == "junk.835"

        drop(made.era, root_b.inbound)  # the same bytes again, on host B
        assert host_b.accept(root_b.inbound / made.era.name).status == "duplicate"
        assert len(list(root_b.archive.iterdir())) == 2  # the first copy and the duplicate, side by side
        assert root_b.inbound_files() == []
        assert store.summary(ledger)["undelivered"] == 0
        assert {row[0] for row in ledger.query("SELECT claim_id FROM issued")} == expected


def test_rabbitmq_by_url_and_cobpipe_run_as_the_intake(tmp_path):
    """The same with RabbitMQ as the broker and the one-shot `cobpipe run --broker` as the intake:
    a whole worker SIGKILLed while it converts loses nothing (RabbitMQ gives the message back when
    the connection drops), and a second worker started afterwards finishes the batch."""
    from services import amqp_url

    broker = amqp_url()
    from cobpipe.synth import generate_set

    with fresh_pg_database("cobpipe_amqp") as db:
        queue = f"cobpipe-test-{secrets.token_hex(4)}"
        env = dict(os.environ, COBPIPE_DB=db, COBPIPE_QUEUE=queue, COBPIPE_RETRY_SECONDS="1", PYTHONUNBUFFERED="1")
        root = tmp_path / "intake"
        (root / "inbound").mkdir(parents=True)
        pairs = []
        for k in range(3):
            made = generate_set(20, tmp_path / "gen", seed=40 + k, prefix=f"r{k}-", secondary_absent_fraction=0.0,
                                claim_offset=k * 1000)
            pairs.append((made.claims, made.era))
        expected = reference_claims(tmp_path, [pairs])
        for claims_file, era in pairs:
            drop(claims_file, root / "inbound")
            drop(era, root / "inbound")

        def run_intake() -> None:
            done = subprocess.run([sys.executable, "-m", "cobpipe.cli", "run", str(root), "--broker", broker,
                                   "--settle", "0", "--json"], env=env, capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr

        from cobpipe.ledger import Ledger

        Ledger.open(db).close()
        run_intake()  # accept and queue all six files
        assert len(list((root / ".cobpipe" / "queued").iterdir())) == 6
        first = Proc(["worker", "--broker", broker, "--work", str(tmp_path / "w1")], env, tmp_path)
        second = None
        try:
            wait_for(lambda: any(e.get("kind") != "837P" and e.get("file", "").endswith(".835")
                                 for e in first.events("dist.task.started")), 60, "the first worker starting an 835")
            first.kill_group()
            second = Proc(["worker", "--broker", broker, "--work", str(tmp_path / "w2")], env, tmp_path)

            def all_archived() -> bool:
                run_intake()
                return len(list((root / "archive").iterdir())) == 6

            wait_for(all_archived, 120, "all six files archived", every=0.5)
        finally:
            first.stop()
            if second is not None:
                second.stop()
            try:
                import kombu

                with kombu.Connection(broker) as conn:
                    conn.default_channel.queue_delete(queue)
            except Exception:  # noqa: BLE001 - cleanup only
                pass
        assert_invariants(root, expected)
