"""One large ERA converted by several processes at once, written by this one as one process writes it.

`convert` of a single large ERA is CPU-bound in one process (reading the 835, fetching and building
each claim, the gate); its guide check already runs in a process beside it. With the cores to
spare, the ERA's claims are cut in windows by segment number (cob.remits_fast.Share) and N forked
processes (`ConvertOptions.processes`, the CLI's --workers) convert them in turn: window k is
process k mod N's, WINDOWS_EACH windows a process. Each process reads the whole file, skips the
others' claims (their CLP04 only, for the set's totals) and converts its own, and every claim split
over several CLPs (read in every window, converted in the one holding its last part, an incomplete
one in the last). It writes, window by window, to a file of that window (a temporary file with no
name, inherited) its decisions, its built claims as text (claim837.writer_items: what the writer
would write) and its paper claims (and the findings of the file as a whole, from the last window's
process), with a notice on a pipe after each write. This process reads the windows in order as they
are written and writes their claims through the same HL tree, transaction sets and control
numbers: the .837, the report and the decisions are those of one process byte for byte
(tests/cobpipe/test_split.py). Windows rather than halves: the guide check reads the output as it
is written, so at the end it has only the last window's claims left to check, not the second half's.

Split only where that is sure to hold and to pay: a clean 835 (the fast read), the claims in a
claim index (read with pread: safe to share across a fork), no ledger of issued claims, `fork`
available, at least MIN_CLAIMS claims.
"""
from __future__ import annotations

import contextlib
import errno
import multiprocessing
import os
import pickle
import signal
import struct
import sys
import tempfile
import traceback
from collections.abc import Iterator

from .cob.decision import ConvertOptions, EraScan
from .decision_log import BLOCK, packed

MIN_CLAIMS = 2000  # below this a second process costs more than it saves (fork, the spool, the merge)
ITEMS = 128  # claims a message
DECISIONS = BLOCK  # decisions a message (a block of the decision log)
# windows per converting process, taken in turn: this process writes them in order, each as it
# comes, so the guide check (beside it) waits at the end only for the last window's claims
WINDOWS_EACH = 4


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
    """`ClaimConverter.run` in `options.processes` processes: `items(decisions)` yields the built claims as items
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

    def cuts(self) -> tuple[int, ...]:
        """Where the windows start (segment numbers): WINDOWS_EACH a process, in rounds of one window a
        process, each round's windows smaller than the round's before (WINDOWS_EACH, ..., 2, 1 parts
        of the segments). The last round is small: when the last converting process ends, little of
        the output is left for the guide check, and the processes end close together (the last one
        skips the others' windows of the last round, which they do not skip: it ends that much later)."""
        count = self.options.processes
        parts = [WINDOWS_EACH - k // count for k in range(WINDOWS_EACH * count)]
        segments, total, cuts, done = self.scan.clean.segments, sum(parts), [], 0
        for part in parts:
            cuts.append(segments * done // total)
            done += part
        return tuple(cuts)

    def items(self, decisions, idle=None) -> Iterator[tuple]:
        """`idle()`: called when this process would wait for a converting process's next message,
        again as long as it answers True (it did something: the message may have come meanwhile)."""
        from .claim837 import writer_items  # noqa: F401 - imported once, before the fork
        from .cob.convert import ClaimConverter
        from .cob.remits_fast import Share

        cuts = self.cuts()
        keep = frozenset(self.scan.clp_counts)  # the repeated CLP01s only (EraScan.repeated_only)
        count = min(self.options.processes, len(cuts))
        shares = [Share(cuts, frozenset(range(p, len(cuts), count)), keep) for p in range(count)]
        SplitConversion.started += 1
        # made before the fork: the modules, the payer list and the converter's tables are made
        # once and inherited, not made again in each process
        self.converter = ClaimConverter(self.claims, options=self.options, coverage=self.coverage, path=self.path)
        # a file a window, with no name (PHI never left behind): written by its process through the
        # descriptor it inherits, read here through another opened on it (an offset of its own)
        files, readers, processes, notices = [], [], [], []
        try:
            try:
                for _ in cuts:
                    files.append(tempfile.TemporaryFile(prefix="cobpipe-split-"))
                    readers.append(open(f"/proc/self/fd/{files[-1].fileno()}", "rb"))
            except OSError:  # no temporary folder to share the work through: converted here alone
                yield from self._here(decisions)
                return
            context = multiprocessing.get_context("fork")
            for share in shares:
                read_end, write_end = os.pipe()
                process = context.Process(target=self._convert, args=(share, [f.fileno() for f in files], write_end),
                                          daemon=True)
                process.start()
                os.close(write_end)  # only its process holds it: EOF here once that process ends
                processes.append(process)
                notices.append(read_end)
            for writer in files:  # (theirs)
                writer.close()
            for k, stream in enumerate(readers):
                yield from self._take(stream, decisions, processes[k % count], notices[k % count], k == len(cuts) - 1,
                                      idle)
                stream.close()  # read: its disk freed now
        finally:
            for process in processes:
                if process.is_alive():
                    process.terminate()
                process.join()
            for fd in notices:
                os.close(fd)
            for stream in files + readers:
                stream.close()

    def _here(self, decisions) -> Iterator[tuple]:
        """The conversion in this process alone, its claims made into items as the others do."""
        from .claim837.writer_items import ItemHead, ItemMaker

        delimiters = self.options.delimiters
        maker = ItemMaker(delimiters)
        for claim in self.converter.run(self.scan, decisions):
            if self.head is None:
                self.head = ItemHead.of(claim, delimiters)
            yield maker.item(claim)
        self.paper, self.era_findings = self.converter.paper, self.converter.era_findings

    def _take(self, stream, decisions, process, notices: int, last: bool, idle=None) -> Iterator[tuple]:
        """One window's messages, in the order sent, read as its process writes them: at the end of
        what is written so far, `idle()` (while it answers True, looking again after each), then
        wait for its process's next notice (EOF: it ended)."""
        gone = False
        while True:
            at = stream.tell()
            head = stream.read(_FRAME.size)
            size = _FRAME.unpack(head)[0] if len(head) == _FRAME.size else -1
            data = stream.read(size) if size >= 0 else b""
            if size < 0 or len(data) < size:  # not all written yet
                stream.seek(at)
                if gone:
                    process.join()
                    raise RuntimeError(f"a converting process ended before its last claim "
                                       f"(exit code {process.exitcode})")
                if idle is not None and idle():
                    continue
                notice = os.read(notices, 1 << 16)
                gone = not notice
                if b"!" in notice:  # it could not write its windows: "!<errno>"
                    number = int(notice[notice.index(b"!") + 1:].split(b".")[0] or 0)
                    raise OSError(number, f"the converting processes could not write to the temporary "
                                          f"folder: {os.strerror(number)}", tempfile.gettempdir())
                continue
            kind, value = pickle.loads(data)
            if kind == "i":
                yield from value
            elif kind == "d":
                decisions.append_packed(*value)
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

    def _convert(self, share, windows: list[int], notices: int) -> None:
        """In a forked process: the share's claims converted, each window's messages written to its
        file, a notice on `notices` after each write."""
        from .claim837.writer_items import ItemHead, ItemMaker

        # Ctrl-C reaches the whole process group: this process leaves it to the writing one, which
        # stops it (terminate) instead of both printing an interruption
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        os.set_blocking(notices, False)  # a full pipe holds notices enough: never wait on it
        converter = self.converter
        sink = _Windows(share, windows, notices, converter)
        try:
            delimiters = self.options.delimiters
            maker = ItemMaker(delimiters)
            head_sent = False
            for claim in converter.run(self.scan, sink, share):
                if not head_sent:
                    sink.send("h", ItemHead.of(claim, delimiters))
                    head_sent = True
                sink.item(maker.item(claim))
            sink.finish(converter.era_findings)
        except BaseException as exc:  # noqa: BLE001 - every failure goes to the writing process
            try:
                sink.fail(_portable(exc))
            except (OSError, ValueError) as unwritten:  # its window's file (full?): said on the pipe
                cause = exc if isinstance(exc, OSError) and exc.errno else unwritten
                with contextlib.suppress(OSError):  # (or the writing process is gone)
                    os.write(notices, b"!%d." % (getattr(cause, "errno", None) or errno.EIO))
        finally:
            with contextlib.suppress(OSError, ValueError):
                sink.close()
            with contextlib.suppress(OSError):
                os.close(notices)


_FRAME = struct.Struct("<Q")  # each message: its size, then its pickle


class _Windows:
    """A converting process's messages, window by window: `append` (the converter's decisions),
    `item` (its claims made into items) go to the window of the claim being decided; a window is
    ended (its paper claims, "end") when the converter moves past it, every window of this process's
    that held nothing too. A decision is final once the next one is appended (the converter changes
    only the one it is deciding), so the latest is held until then."""

    def __init__(self, share, windows: list[int], notices: int, converter) -> None:
        self.share, self.windows, self.notices, self.converter = share, windows, notices, converter
        self.window = -1  # the window open (-1: none yet)
        self.stream = None
        self.decisions: list = []
        self.items: list = []
        self.paper_seen = 0  # converter.paper's entries handed on

    def append(self, decision) -> None:
        self._paper()  # the previous claim's, if it went on paper
        self._to(self.share.window_of(self.converter.at))
        held = self.decisions
        if len(held) > DECISIONS:
            self.send("d", (packed(held[:-1]), len(held) - 1))
            del held[:-1]
        held.append(decision)

    def item(self, item) -> None:
        self.items.append(item)
        if len(self.items) >= ITEMS:
            self.send("i", self.items)
            self.items = []
            self._notice()

    def finish(self, era_findings: list) -> None:
        self._paper()
        last = len(self.share.cuts) - 1
        if last in self.share.mine:
            self._to(last)
            self._flush()
            self.send("f", era_findings)
        self._to(len(self.share.cuts))  # every window of this process ended

    def fail(self, exc: BaseException) -> None:
        if self.stream is None:  # none open: the next of this process's windows says it
            later = [k for k in sorted(self.share.mine) if k > self.window]
            if not later:  # every one ended already: nothing is missing there
                return
            self._to(later[0])
        self.send("x", exc)
        self._notice()

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.stream = None

    def _paper(self) -> None:
        paper = self.converter.paper
        if len(paper) > self.paper_seen:
            self.send("p", [_loaded(bound) for bound in paper[self.paper_seen:]])
            self.paper_seen = len(paper)

    def _to(self, window: int) -> None:
        """Window `window` open for the next messages; those of this process before it ended."""
        if window == self.window:
            return
        if self.stream is not None:
            self._flush()
            self.send("end", None)
            self.close()
            self._notice()
        for k in range(self.window + 1, min(window, len(self.share.cuts))):
            if k in self.share.mine:  # a window with nothing decided in it
                with open(self.windows[k], "wb", closefd=False) as empty:
                    empty.write(_frame("end", None))
                self._notice()
        self.window = window
        if window < len(self.share.cuts):
            self.stream = open(self.windows[window], "wb", buffering=1 << 16, closefd=False)

    def _flush(self) -> None:
        if self.decisions:
            self.send("d", (packed(self.decisions), len(self.decisions)))
            self.decisions = []
        if self.items:
            self.send("i", self.items)
            self.items = []

    def send(self, kind: str, value) -> None:
        self.stream.write(_frame(kind, value))

    def _notice(self) -> None:
        if self.stream is not None:
            self.stream.flush()
        with contextlib.suppress(BlockingIOError):
            os.write(self.notices, b".")


def _frame(kind: str, value) -> bytes:
    data = pickle.dumps((kind, value), protocol=pickle.HIGHEST_PROTOCOL)
    return _FRAME.pack(len(data)) + data


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
