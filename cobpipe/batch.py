"""The CLI's batch: several ERAs against several 837P files, every input checked before anything is
written, the claims indexed once (claim837.index as text spans, else a ledger: a throwaway one
unless --db), then each ERA converted by `pipeline.convert_era`, by worker processes when asked.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
import os
import tempfile
from array import array
from dataclasses import dataclass
from pathlib import Path

from edi.validate_pipe import close_kept

from .decision_log import DecisionLog, HandedLog
from .fsutil import sha256_of as _sha256
from .pipeline import ConvertOptions, ConvertResult, EraScan, StagedEra, load_claim_files, scan_era, stage_era
from .record import issued_runs, record_conversion


def run_batch(era_files: list[Path], claim_files: list[Path], out_dir: Path, *, options: ConvertOptions,
              coverage_path: Path | None = None, db_path: Path | None = None, progress: bool = False,
              workers: int = 1, on_progress=None, numbers_path: Path | None = None) -> list[ConvertResult]:
    """The CLI's batch: every input checked before anything is written, claims indexed in a ledger
    (a temporary one unless `db_path`), then each ERA converted, by `workers` processes at once.
    Control numbers come from the `db_path` ledger, else from the `numbers_path` ledger (the
    user's, so two runs never repeat an ISA13), else from the throwaway index (start at 1).
    With several workers, `workers` processes scan the ERAs and index the 837P files (a run of
    files each), then `workers` processes forked once the claims are indexed convert the ERAs,
    largest first, each 837P with provisional control numbers; this process then takes the real
    numbers and puts the files in place ERA by ERA in command-line order, so the outputs are those
    of one worker byte for byte. With more workers than ERAs, the spare process checks the
    written 837P against the guide. What every converting process needs is made here before they
    fork (modules, the claim loop table, the guide check's tables: `_warm`), once, not once each;
    a process checking its 837Ps in a validator process keeps one for all its ERAs."""
    if coverage_path:
        _coverage_table(coverage_path)  # refuse a bad coverage file before any work
    with contextlib.ExitStack() as stack:
        # the guide check's process kept for this process's ERAs (edi.validate_pipe.validate_in_child)
        # lives as long as the batch (a worker's ends with the worker)
        stack.callback(close_kept)
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cobpipe-")))
        # two pools: this one reads the inputs (ERA scans, the 837P files), the second converts
        pool = None
        if workers > 1 and max(len(era_files), len(claim_files)) > 1:
            # what the workers run first, imported (and its loop table made) once here rather than
            # in each of them
            from .claim837 import index as _index  # noqa: F401
            from .claim837.loops import loop_table
            from .era import clean as _clean  # noqa: F401

            loop_table()

            pool = _pool(stack, workers)
        scan = functools.partial(scan_era, plain=options.plain)
        early = None
        if pool is None and workers > 1 and db_path is None and not options.plain:
            early = _indexed_while_scanned(stack, era_files, claim_files, scan)
        scans = early[0] if early is not None else list(pool.map(scan, era_files) if pool else map(scan, era_files))
        index = early[1] if early is not None else None
        if db_path is not None:
            # kept for later ERAs too; a postgresql:// URL stays a string (issue 21)
            ledger_path, only = (db_path if isinstance(db_path, str) else Path(db_path)), None
        else:  # a throwaway index needs only the claims these ERAs remit (made already: it holds all)
            ledger_path, only = tmp / "claims.sqlite", None if index is not None else _remitted(scans)
        # while the workers index the 837P files, this process warms what every converting process
        # forked from it later needs (the guide check's tables), once for all of them
        meanwhile = functools.partial(_warm, scans, options) if pool is not None else None
        if index is None and db_path is None and not options.plain:
            # None: a file only the plain reader reads
            index = _build_index(claim_files, only, pool, workers, meanwhile=meanwhile)
            meanwhile = None  # (done, or the ledger's path below does it)
        if index is not None:
            stack.callback(index.close)
        else:
            _index_claims(claim_files, ledger_path, only, pool, tmp, meanwhile=meanwhile)
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
        if pool is not None:
            pool.shutdown(wait=True)
        if len(scans) == 1 and allowed > 1:  # one ERA: its conversion may use the processes (cobpipe/split.py)
            options = dataclasses.replace(options, processes=allowed)
        if workers == 1 or pool is None:
            jobs = _jobs(scans, ledger_path, out_dir, options, coverage_path, db_path, numbers_path, index)
            return [job.run(on_progress) for job in _progress(jobs, progress)]
        # The converting processes start now, from this one: they inherit the claim index (with
        # fork; once per process else) instead of unpickling a copy per ERA, whose caches (parsed
        # loops, placements) would start cold each time; and the conversion's modules, imported here once.
        from .cob import convert as _convert  # noqa: F401
        from .claim837 import writer as _writer  # noqa: F401

        pool = _pool(stack, workers, initializer=_adopt_index, initargs=(index,))
        jobs = _jobs(scans, ledger_path, out_dir, options, coverage_path, db_path, numbers_path,
                     _ADOPTED if index is not None else None)
        # Each worker writes its ERA's 837P with provisional control numbers; this process takes
        # the real ones ERA by ERA in command-line order, as one process would (which ERA a worker
        # finishes first must not decide its numbers), and puts each file in place.
        futures = {k: pool.submit(_EraJob.stage, jobs[k]) for k in _largest_first([j.scan.claims for j in jobs])}
        staged = (futures[k].result() for k in range(len(jobs)))
        try:
            with contextlib.ExitStack() as ledgers:
                ledger, numbers = jobs[0].open_ledgers(ledgers)  # opened after the workers are forked
                return [job.finish(era, ledger, numbers)
                        for job, era in _progress(zip(jobs, staged), progress, total=len(jobs))]
        finally:  # an ERA failed: the later ones are not put in place, as one process never converts them
            pool.shutdown(wait=True, cancel_futures=True)
            for job in jobs:  # (stage_era's names for the 837P and the report's claims)
                job.staged_path.unlink(missing_ok=True)
                job.decisions_path.unlink(missing_ok=True)
                job.staged_path.with_name(f".{job.scan.path.stem}.report.json.staged").unlink(missing_ok=True)


def _remitted(scans: list[EraScan]) -> frozenset[str]:
    """The CLP01s of the ERAs: the claims a throwaway index keeps."""
    remitted = frozenset().union(*(s.clp_counts for s in scans))
    # payers echo CLP01 upper-cased: a claim whose CLM01 folds to a remitted id is kept too
    return remitted | {claim_id.upper() for claim_id in remitted}


# One ERA is scanned by a process of its own while this one indexes the claims (_indexed_while_scanned)
# when it is this large (bytes): the scan (~9 ms a MB) then outweighs a process started for it (~15 ms)
SCAN_BESIDE_FROM = 4 << 20
# ... and the 837P files are at most this many times its size: they hold mostly the claims it remits,
# as the index built before the scan names them takes every claim (a month of claims against a small
# ERA is indexed after the scan, with the remitted ones only: an index's memory grows with its claims)
CLAIMS_PER_ERA_BYTES = 4
scanned_beside = 0  # ERAs scanned so (tests: a path that silently did not run fails)


def _indexed_while_scanned(stack: contextlib.ExitStack, era_files: list[Path], claim_files: list[Path], scan):
    """(the ERA's scan, the claim index of every claim in `claim_files`, None when a file is one only
    the plain reader reads) when one large ERA is converted with a core to spare, else None.

    Before a conversion's processes fork, the scan of the ERA and the index of the 837P run one after
    the other in this process alone (~0.5 and ~1 s at 100k claims), the other core idle: the scan
    is run by a process of its own while this one indexes. The index then cannot wait for the
    remitted ids to keep only their claims: it takes every claim, which answers every remitted id
    as the one keeping only those does (a claim is found by its CLM01, or its upper case)."""
    if len(era_files) != 1:
        return None
    try:
        era_size = os.path.getsize(era_files[0])
        claims_size = sum(os.path.getsize(path) for path in claim_files)
    except OSError:  # the scan or the index says what is wrong with it
        return None
    if era_size < SCAN_BESIDE_FROM or claims_size > CLAIMS_PER_ERA_BYTES * era_size:
        return None
    global scanned_beside
    pool = _pool(stack, 1)
    scanned = pool.submit(scan, era_files[0])
    scanned_beside += 1
    index = _build_index(claim_files, None, None, 1)
    try:
        scans = [scanned.result()]  # an unusable ERA refused now, before any 837P file would be
    except BaseException:
        if index is not None:
            index.close()
        raise
    pool.shutdown(wait=True)  # (no thread of its left running when the converting processes fork)
    return scans, index


def _largest_first(sizes: list[int]) -> list[int]:
    """The order to hand ERAs of these CLP counts to the workers: the largest first, so the last to
    finish is a small one (no core idles long at the end), by size class (within a factor of two):
    within one, command-line order, in which the batch's process puts the files in place as they
    come (measured at 30k claims in 8 about equal ERAs, exact largest-first left 6 of them to put
    in place at the end, one after another)."""
    return sorted(range(len(sizes)), key=lambda k: -sizes[k].bit_length())


def _pool(stack: contextlib.ExitStack, workers: int, **kwargs):
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=workers, **kwargs)
    stack.callback(pool.shutdown, wait=True, cancel_futures=True)
    return pool


def _jobs(scans, ledger_path, out_dir, options, coverage_path, db_path, numbers_path, claims) -> list:
    return [_EraJob(scan, ledger_path, Path(out_dir), options, coverage_path, db_path is not None,
                    None if db_path is not None else numbers_path, claims)
            for scan in scans]


_ADOPTED = "the claim index this process adopted"  # an _EraJob's `claims`: the index of `_adopt_index`
_adopted = None


def _adopt_index(index) -> None:
    """A converting process's initializer: the batch's claim index, for every ERA it converts."""
    global _adopted
    _adopted = index


def _warm(scans: list[EraScan], options: ConvertOptions) -> None:
    """Before the converting processes fork: the guide check's tables (map, compiled expressions,
    learned shapes) made here, when more than one ERA is converted and one of them is checked in
    its converting process (an ERA of `pipe_validation_from` claims or more is checked by a process
    of its own). Each forked process inherits them instead of making them on its first ERA: the
    CPU one process spends, not one per worker. Nothing opened or started here (safe to fork)."""
    if options.validate_ig and len(scans) > 1 and any(s.claims < options.pipe_validation_from for s in scans):
        from edi.validate_pipe import warm

        warm(options.delimiters)


def _build_index(claim_files: list[Path], only: frozenset[str] | None, pool, workers: int, meanwhile=None):
    """The claims of the 837P files as text spans (claim837.index), None when a file is one only the
    plain reader reads. With a pool the files are indexed by the workers, a run of files about as
    large as the others' each, and the parts joined here in command-line order (the last file
    naming a claim wins, as in one index of them all). `meanwhile()` is run here while the
    workers index (after this process's own index without a pool)."""
    from .claim837.index import ClaimIndex

    if pool is None or len(claim_files) < 2:
        index = ClaimIndex.build(claim_files, only)
        if meanwhile is not None:
            meanwhile()
        return index
    parts = pool.map(ClaimIndex.build, _runs(claim_files, workers), itertools.repeat(only))  # all submitted
    if meanwhile is not None:
        meanwhile()
    return _merged_index(parts)


def _runs(files: list[Path], count: int) -> list[list[Path]]:
    """`files` cut into at most `count` runs in order, of about equal bytes: one task per worker
    (the `only` set is sent once per task, and each part joined costs a pass over its ids)."""
    sizes = []
    for path in files:
        try:
            sizes.append(max(1, os.path.getsize(path)))
        except OSError:  # the index build says what is wrong with it
            sizes.append(1)
    total, runs, run, done = sum(sizes), [], [], 0
    for path, size in zip(files, sizes):
        run.append(path)
        done += size
        if done * count >= total * (len(runs) + 1) and len(runs) < count - 1:
            runs.append(run)
            run = []
    return runs + [run] if run else runs


def _merged_index(parts):
    """One claim index of the parts' files, in the parts' order: what `ClaimIndex.build` gives over
    all their files at once (their pickled state is the same; tests/cobpipe/test_batch.py holds
    it to that). None when a part is None or the whole holds more than MAX_CLAIMS claims, as
    `build` answers. Every number a part holds (file, transaction, context, claim) is shifted by
    what the parts before it hold."""
    from .claim837.index import MAX_CLAIMS, ClaimIndex
    from .claim837.spans import _CONTEXT_FIELDS as FIELDS

    index = None
    for part in parts:
        if part is None:
            return None
        if index is None:
            index = part  # the first part as it is
            continue
        files, transactions = len(index.paths), len(index.envelopes)
        contexts, claims = len(index.contexts) // FIELDS, len(index.claims) // 4
        if claims + len(part.claims) // 4 > MAX_CLAIMS:
            return None
        index.paths += part.paths
        index.stamps += part.stamps
        index.envelopes += part.envelopes
        shifted = array("q", part.contexts)  # per context: its transaction, then file offsets
        shifted[0::FIELDS] = array("q", (t + transactions for t in part.contexts[0::FIELDS]))
        index.contexts += shifted
        shifted = array("q", part.claims)  # per claim: file, context, start, end
        shifted[0::4] = array("q", (f + files for f in part.claims[0::4]))
        shifted[1::4] = array("q", (c + contexts for c in part.claims[1::4]))
        index.claims += shifted
        for mine, theirs in ((index.by_id, part.by_id), (index.by_folded, part.by_folded)):
            # claim number(s) per id, in file order: an id in both keeps the earlier part's first
            moved = {key: found + claims if type(found) is int else [n + claims for n in found]
                     for key, found in theirs.items()}
            for key in mine.keys() & moved.keys():
                known, found = mine[key], moved[key]
                moved[key] = (known if isinstance(known, list) else [known]) + (
                    found if isinstance(found, list) else [found])
            mine.update(moved)
    return index if index is not None else ClaimIndex()


def _index_claims(claim_files: list[Path], ledger_path: Path, only: frozenset[str] | None, pool, tmp: Path,
                  meanwhile=None) -> None:
    """Store the claims of the 837P files in the ledger; with a pool, each file is parsed by a worker
    into a ledger of its own under `tmp`, merged here in command-line order (the last file naming a
    claim wins, as in a serial run). `meanwhile()` as in `_build_index`."""
    from .ledger import Ledger

    if pool is None or len(claim_files) < 2:
        with Ledger.open(ledger_path) as ledger:
            load_claim_files(ledger, claim_files, only)
        if meanwhile is not None:  # (the ledger closed: nothing open when the workers fork)
            meanwhile()
        return
    parts = [tmp / f"claims-{k}.sqlite" for k in range(len(claim_files))]
    # every file is submitted (and the workers forked) before this process opens an SQLite connection
    parsed = pool.map(_claims_into_ledger, claim_files, parts, itertools.repeat(only))
    if meanwhile is not None:
        meanwhile()
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
    # a one-shot run's claims as text spans (claim837.index); None: they are in `ledger_path`;
    # _ADOPTED: the index the worker process adopted when it started
    claims: object | None = None

    def run(self, on_progress=None) -> ConvertResult:
        """The ERA converted and put in place, in this process."""
        with contextlib.ExitStack() as stack:
            ledger, numbers = self.open_ledgers(stack)
            result = self._stage(ledger, numbers, None, on_progress).finish()
            self._record(result, ledger, numbers)
        return result

    def stage(self) -> StagedEra:
        """In a worker: the ERA converted, its 837P at a hidden name with provisional control
        numbers, for `finish` in the batch's process."""
        from .renumber import ProvisionalNumbers

        with contextlib.ExitStack() as stack:
            ledger = None
            if self.claims is None or self.remember_issued:  # claims or issued claims read from it
                from .ledger import Ledger

                ledger = stack.enter_context(Ledger.open(self.ledger_path))
            staged = self._stage(ledger, ProvisionalNumbers(), self.staged_path, None)
        result = staged.result
        result.counts  # noqa: B018 (counted here, once, not in the batch's busy process)
        # the decisions go back as a file of packed blocks (decision_log.HandedLog), not pickled one
        # by one through the pool's pipe and packed out again by the batch's process
        handed = result.decisions.hand_over(self.decisions_path)
        if handed is not None:
            result.decisions = handed
        return staged

    def finish(self, staged: StagedEra, ledger, numbers) -> ConvertResult:
        """In the batch's process, ERA after ERA in command-line order: the control numbers taken
        as one process converting the ERAs in turn takes them, the 837P renumbered into place, the
        report and the ledger's records."""
        if isinstance(staged.result.decisions, HandedLog):
            staged.result.decisions = DecisionLog.take(staged.result.decisions)
        result = staged.finish(numbers)
        self._record(result, ledger, numbers)
        return result

    @property
    def staged_path(self) -> Path:
        return self.out_dir / f".{self.scan.path.stem}.837.staged"

    @property
    def decisions_path(self) -> Path:  # the decisions a worker hands over (DecisionLog.hand_over)
        return self.out_dir / f".{self.scan.path.stem}.decisions.staged"

    def open_ledgers(self, stack: contextlib.ExitStack) -> tuple:
        """(the ledger of claims and issued claims or None, the control numbers' ledger)."""
        from .ledger import Ledger

        # with `claims`, the throwaway ledger holds no claims: it only counts control numbers
        # (from 1, as the plain path's would) when the run keeps none of the user's
        spare = self.claims is not None and self.numbers_path is not None and not self.remember_issued
        ledger = None if spare else stack.enter_context(Ledger.open(self.ledger_path))
        numbers = stack.enter_context(Ledger.open(self.numbers_path)) if self.numbers_path else ledger
        return ledger, numbers

    def _stage(self, ledger, numbers, staged: Path | None, on_progress) -> StagedEra:
        coverage = _coverage_table(self.coverage_path) if self.coverage_path else None
        source = ledger if self.claims is None else _adopted if self.claims == _ADOPTED else self.claims
        return stage_era(self.scan.path, source, self.out_dir, options=self.options, numbers=numbers,
                         issued=ledger if self.remember_issued else None, coverage=coverage, scan=self.scan,
                         on_progress=on_progress, staged=staged)

    def _record(self, result: ConvertResult, ledger, numbers) -> None:
        # (taken while the output was checked, when a validator process did that)
        sha256 = result.era_sha256 or _sha256(self.scan.path)
        if self.remember_issued:
            record_conversion(ledger, result, sha256)
        elif self.numbers_path:
            # the user's ledger keeps what a one-shot run issued, as history beside its control
            # numbers (a claim is never refused for it: re-running a convert is the user's call)
            numbers.record_issued_runs(sha256, issued_runs(result))


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
