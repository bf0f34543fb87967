"""The CLI's batch: several ERAs against several 837P files, every input checked before anything is
written, the claims indexed once (claim837.index as text spans, else a ledger: a throwaway one
unless --db), then each ERA converted by `pipeline.convert_era`, by worker processes when asked.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .fsutil import sha256_of as _sha256
from .pipeline import ConvertOptions, ConvertResult, EraScan, convert_era, load_claim_files, scan_era
from .record import issued_claims, record_conversion


def run_batch(era_files: list[Path], claim_files: list[Path], out_dir: Path, *, options: ConvertOptions,
              coverage_path: Path | None = None, db_path: Path | None = None, progress: bool = False,
              workers: int = 1, on_progress=None, numbers_path: Path | None = None) -> list[ConvertResult]:
    """The CLI's batch: every input checked before anything is written, claims indexed in a ledger
    (a temporary one unless `db_path`), then each ERA converted, by `workers` processes at once.
    Control numbers come from the `db_path` ledger, else from the `numbers_path` ledger (the
    user's, so two runs never repeat an ISA13), else from the throwaway index (start at 1).
    With several workers the ERA scans and the 837P parsing run in the same processes too; with
    more workers than ERAs, the spare process checks the written 837P against the guide."""
    if coverage_path:
        _coverage_table(coverage_path)  # refuse a bad coverage file before any work
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cobpipe-")))
        pool = None
        if workers > 1 and max(len(era_files), len(claim_files)) > 1:
            from concurrent.futures import ProcessPoolExecutor

            pool = ProcessPoolExecutor(max_workers=workers)
            stack.callback(pool.shutdown, wait=True, cancel_futures=True)
        scan = functools.partial(scan_era, plain=options.plain)
        scans = list(pool.map(scan, era_files) if pool else map(scan, era_files))
        if db_path is not None:
            # kept for later ERAs too; a postgresql:// URL stays a string (issue 21)
            ledger_path, only = (db_path if isinstance(db_path, str) else Path(db_path)), None
        else:  # a throwaway index needs only the claims these ERAs remit
            remitted = frozenset().union(*(s.clp_counts for s in scans))
            # payers echo CLP01 upper-cased: a claim whose CLM01 folds to a remitted id is kept too
            ledger_path, only = tmp / "claims.sqlite", remitted | {claim_id.upper() for claim_id in remitted}
        index = None
        if db_path is None and not options.plain:
            from .claim837.index import ClaimIndex

            index = ClaimIndex.build(claim_files, only)  # None: a file only the plain reader reads
            if index is not None:
                stack.callback(index.close)
        if index is None:
            _index_claims(claim_files, ledger_path, only, pool, tmp)
        del only
        scans = [scan.repeated_only() for scan in scans]  # the ids were for the index only
        allowed, workers = workers, max(1, min(workers, len(scans)))
        if workers >= allowed:
            # `workers` is the number of processes the batch may keep busy. When every one of them
            # converts, a validator process beside each would exceed it (and compete for the
            # cores: measured at 100k claims, 2 workers: 74.6 s piped, 127 CPU s), so a large
            # output is checked after it is written, while its converter waits. A spare process
            # (fewer ERAs than workers) runs the guide check while the 837P is written.
            options = dataclasses.replace(options, validate_alongside=False)
        if db_path is None and numbers_path is not None:
            from .ledger import Ledger

            with Ledger.open(numbers_path):  # created and migrated once, before the workers open it
                pass
        jobs = [_EraJob(scan, ledger_path, Path(out_dir), options, coverage_path, db_path is not None,
                        None if db_path is not None else numbers_path, index)
                for scan in scans]
        if workers == 1 or pool is None:
            return [job.run(on_progress) for job in _progress(jobs, progress)]
        return list(_progress(pool.map(_EraJob.run, jobs), progress, total=len(jobs)))


def _index_claims(claim_files: list[Path], ledger_path: Path, only: frozenset[str] | None, pool, tmp: Path) -> None:
    """Store the claims of the 837P files in the ledger; with a pool, each file is parsed by a worker
    into a ledger of its own under `tmp`, merged here in command-line order (the last file naming a
    claim wins, as in a serial run)."""
    from .ledger import Ledger

    if pool is None or len(claim_files) < 2:
        with Ledger.open(ledger_path) as ledger:
            load_claim_files(ledger, claim_files, only)
        return
    parts = [tmp / f"claims-{k}.sqlite" for k in range(len(claim_files))]
    # every file is submitted (and the workers forked) before this process opens an SQLite connection
    parsed = pool.map(_claims_into_ledger, claim_files, parts, itertools.repeat(only))
    with Ledger.open(ledger_path) as ledger:
        for part in parsed:
            with Ledger.open(part) as source:
                ledger.add_claims_of(source)
            for suffix in ("", "-wal", "-shm"):  # the part's SQLite files: free the disk early
                Path(f"{part}{suffix}").unlink(missing_ok=True)


def _claims_into_ledger(claim_file: Path, ledger_path: Path, only: frozenset[str] | None) -> Path:
    """A batch worker's share of the claim loading: one 837P file into a ledger of its own."""
    from .ledger import Ledger

    with Ledger.open(ledger_path) as ledger:
        load_claim_files(ledger, [claim_file], only)
    return ledger_path


@dataclass(frozen=True, slots=True)
class _EraJob:
    """One ERA of a batch; picklable so a worker process can run it against the shared ledger file."""

    scan: EraScan
    ledger_path: Path
    out_dir: Path
    options: ConvertOptions
    coverage_path: Path | None
    remember_issued: bool
    numbers_path: Path | None = None  # control numbers from this ledger instead of `ledger_path`
    # a one-shot run's claims as text spans (claim837.index); None: they are in `ledger_path`
    claims: object | None = None

    def run(self, on_progress=None) -> ConvertResult:
        from .ledger import Ledger

        coverage = _coverage_table(self.coverage_path) if self.coverage_path else None
        with contextlib.ExitStack() as stack:
            # with `claims`, the throwaway ledger holds no claims: it only counts control numbers
            # (from 1, as the plain path's would) when the run keeps none of the user's
            spare = self.claims is not None and self.numbers_path is not None and not self.remember_issued
            ledger = None if spare else stack.enter_context(Ledger.open(self.ledger_path))
            numbers = stack.enter_context(Ledger.open(self.numbers_path)) if self.numbers_path else ledger
            issued = ledger if self.remember_issued else None
            source = ledger if self.claims is None else self.claims
            result = convert_era(self.scan.path, source, self.out_dir, options=self.options, numbers=numbers,
                                 issued=issued, coverage=coverage, scan=self.scan, on_progress=on_progress)
            if self.remember_issued:
                record_conversion(ledger, result, _sha256(self.scan.path))
            elif self.numbers_path:
                # the user's ledger keeps what a one-shot run issued, as history beside its control
                # numbers (a claim is never refused for it: re-running a convert is the user's call)
                numbers.record_issued(_sha256(self.scan.path), issued_claims(result))
        return result


def _coverage_table(path: Path | str):
    """The coverage file, read once per process for all the ERAs of a batch (again if it changed)."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:  # not cached: loading it says what is wrong with it
        return _load_coverage(path)
    return _load_coverage_once(path, stat.st_mtime_ns, stat.st_size)


def _load_coverage(path: Path):
    from .cob.coverage import CoverageTable

    return CoverageTable.load(path)


@functools.lru_cache(maxsize=1)
def _load_coverage_once(path: Path, mtime_ns: int, size: int):  # the stat is part of the cache key
    return _load_coverage(path)


def _progress(items, enabled: bool, total: int | None = None):
    """A progress bar over ERAs, on a terminal only, for batches of several files."""
    total = total if total is not None else len(items)
    if not enabled or total < 2:
        return items
    from tqdm import tqdm

    return tqdm(items, desc="ERAs", unit="file", total=total)
