"""One large ERA converted by two processes at once, written by this one as one process writes it.

`convert` of a single large ERA is CPU-bound in one process (reading the 835, fetching and building
each claim, the gate); its guide check already runs in a process beside it. With the cores to
spare, the ERA's claims are cut in two windows by segment number (cob.remits_fast.Window) and two
forked processes convert one window each: the first reads the file up to its end, the second skips
the first window's claims (their CLP04 only, for the set's totals) and converts the rest, with every
claim split over several CLPs (read in every window, converted in the one holding its last part,
an incomplete one in the last). Each sends, in order, its decisions, its built claims as text
(claim837.writer_items: what the writer would write) and at the end its paper claims and findings.
This process writes the first window's claims as they come (a pipe), then the second's (a spool
file, so that process never waits), through the same HL tree, transaction sets and control numbers:
the .837, the report and the decisions are those of one process byte for byte
(tests/cobpipe/test_split.py).

Split only where that is sure to hold and to pay: a clean 835 (the fast read), the claims in a
claim index (read with pread: safe to share across a fork), no ledger of issued claims, `fork`
available, at least MIN_CLAIMS claims.
"""
from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import pickle
import signal
import sys
import tempfile
import traceback
from collections.abc import Iterator

from .cob.decision import ClaimDecision, ConvertOptions, EraScan

MIN_CLAIMS = 2000  # below this a second process costs more than it saves (fork, the spool, the merge)
ITEMS = 128  # claims a message
DECISIONS = 512  # decisions a message


def split_for(scan: EraScan, claims, issued, options: ConvertOptions, coverage, path: str):
    """A SplitConversion for this ERA, None when it is converted in this process alone."""
    if options.processes < 2 or issued is not None or options.plain or scan.claims < MIN_CLAIMS:
        return None
    clean = scan.clean
    if clean is None or getattr(clean, "codes", None) != {"835"}:
        return None
    from .claim837.index import ClaimIndex

    if type(claims) is not ClaimIndex or sys.platform != "linux" or "fork" not in multiprocessing.get_all_start_methods():
        return None
    return SplitConversion(scan, claims, options, coverage, path)


class SplitConversion:
    """`ClaimConverter.run` in two processes: `items(decisions)` yields the built claims as items
    (for writer_items.write_items_837, with `head`) and appends every decision, in ERA order; then
    `paper` and `era_findings` are what one converter's are."""

    started = 0  # conversions split in this process (tests: a split that silently did not happen fails)

    def __init__(self, scan: EraScan, claims, options: ConvertOptions, coverage, path: str) -> None:
        self.scan = scan
        self.claims = claims
        self.options = options
        self.coverage = coverage
        self.path = path
        self.converter = None  # the ClaimConverter each process runs, made before they fork
        self.head = None  # writer_items.ItemHead of the first claim built
        self.paper: list = []
        self.era_findings: list = []

    def windows(self) -> tuple:
        from .cob.remits_fast import Window

        keep = frozenset(self.scan.clp_counts)  # the repeated CLP01s only (EraScan.repeated_only)
        cut = self.cut()
        return Window(0, cut, keep), Window(cut, None, keep)

    def cut(self) -> int:
        """The first segment number of the second window: half the file's segments (the first
        window's process reads its half; the second skips it at a fraction of the cost)."""
        return self.scan.clean.segments // 2 + 1  # segment numbers count from 1

    def items(self, decisions) -> Iterator[tuple]:
        from .claim837 import writer_items  # noqa: F401 - imported once, before the fork
        from .cob.convert import ClaimConverter

        first_window, second_window = self.windows()
        SplitConversion.started += 1
        # made before the fork: the modules, the payer list and the converter's tables are made
        # once and inherited, not made again in each process
        self.converter = ClaimConverter(self.claims, options=self.options, coverage=self.coverage, path=self.path)
        context = multiprocessing.get_context("fork")
        read_end, write_end = os.pipe()
        spool = tempfile.TemporaryFile(prefix="cobpipe-split-")
        first = context.Process(target=self._convert, args=(first_window, write_end), daemon=True)
        second = context.Process(target=self._convert, args=(second_window, spool.fileno()), daemon=True)
        # what exists now (the claim index, the tables) is out of the processes' garbage collections:
        # a collection there would visit it all and copy every page it touches (copy on write)
        gc.freeze()
        try:
            first.start()
            os.close(write_end)  # (before the second forks: only the first holds it, EOF when it ends)
            second.start()
        finally:
            gc.unfreeze()
        try:
            with open(read_end, "rb", buffering=1 << 16, closefd=True) as stream:
                yield from self._take(stream, decisions, first, last=False)
            first.join()
            second.join()
            spool.seek(0)
            yield from self._take(spool, decisions, second, last=True)
        finally:
            for process in (first, second):
                if process.is_alive():
                    process.terminate()
                process.join()
            spool.close()

    def _take(self, stream, decisions, process, last: bool) -> Iterator[tuple]:
        """One window's messages, in the order sent."""
        while True:
            try:
                kind, value = pickle.load(stream)
            except EOFError:
                process.join()
                raise RuntimeError(f"a converting process ended before its last claim (exit code {process.exitcode})")
            if kind == "i":
                yield from value
            elif kind == "d":
                for decision in ClaimDecision._unpack_block(value):
                    decisions.append(decision)
            elif kind == "h":
                if self.head is None:
                    self.head = value
            elif kind == "p":
                self.paper += value
            elif kind == "f":
                if last:  # the last window's process read every claim's totals
                    self.era_findings += value
            elif kind == "x":
                raise value
            elif kind == "end":
                return

    def _convert(self, window, fd: int) -> None:
        """In a forked process: the window's claims converted, sent to `fd` as (kind, value) pickles."""
        from .claim837.writer_items import ItemHead, ItemMaker

        # Ctrl-C reaches the whole process group: this process leaves it to the writing one, which
        # stops it (terminate) instead of both printing an interruption
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        sink = open(fd, "wb", buffering=1 << 16, closefd=True)

        def send(kind: str, value) -> None:
            pickle.dump((kind, value), sink, protocol=pickle.HIGHEST_PROTOCOL)

        try:
            decisions = _Sent(send)
            converter = self.converter
            delimiters = self.options.delimiters
            maker = ItemMaker(delimiters)
            batch: list = []
            for claim in converter.run(self.scan, decisions, window):
                if self.head is None:
                    self.head = ItemHead.of(claim, delimiters)
                    send("h", self.head)
                batch.append(maker.item(claim))
                if len(batch) >= ITEMS:
                    send("i", batch)
                    batch = []
            decisions.flush()
            if batch:
                send("i", batch)
            if converter.paper:
                send("p", [_loaded(bound) for bound in converter.paper])
            send("f", converter.era_findings)
            send("end", None)
        except BaseException as exc:  # noqa: BLE001 - every failure goes to the writing process
            with contextlib.suppress(OSError):  # (gone: it failed or stopped on its own)
                send("x", _portable(exc))
        finally:
            with contextlib.suppress(OSError):
                sink.close()


class _Sent:
    """The converter's decisions, sent in blocks. A decision is final once the next one is appended
    (the converter changes only the one it is deciding), so the latest stays until `flush`."""

    __slots__ = ("send", "held")

    def __init__(self, send) -> None:
        self.send = send
        self.held: list = []

    def append(self, decision) -> None:
        held = self.held
        if len(held) > DECISIONS:
            self.send("d", ClaimDecision._pack_block(held[:-1]))
            del held[:-1]
        held.append(decision)

    def flush(self) -> None:
        """Send the rest (the converter is done)."""
        if self.held:
            self.send("d", ClaimDecision._pack_block(self.held))
            self.held = []


def _loaded(bound):
    """A paper claim as it crosses to the writing process: its EOB's 835 model read now (a fast
    read makes it from the claim's text when first asked)."""
    bound.payments = list(bound.payments)
    return bound


def _portable(exc: BaseException) -> BaseException:
    """`exc` as it can be pickled to the writing process: an unexpected one keeps its traceback as
    a note (the CLI shows it as an internal error)."""
    from edi.errors import CobpipeError

    if not isinstance(exc, CobpipeError):
        text = "".join(traceback.format_exception(exc))
        try:
            exc.add_note(f"in the converting process:\n{text}")
        except AttributeError:
            pass
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001
        return RuntimeError(f"in the converting process: {type(exc).__name__}: {exc}")
