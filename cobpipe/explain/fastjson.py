"""`explain --format json` in one pass over the 835, for the files fastscan vouches for.

The plain path (stream.survey_file + iter_claims + jsonout.JsonWriter) reads the file twice:
once for the verdicts the top of the document states, once to write the claims. Here the file
is read once: each claim is checked (the balancing rules of cobpipe.era.balance, with the same
words) and its JSON written straight from the segment text to a temporary file, while the totals
and verdicts are gathered; then the document is written with jsonout.JsonWriter's head and
section parts, each section's claims copied in from the temporary file. Only the CLP01s of each
payment (split claims and reversals get a note) are read first (fastprescan).

The bytes are those of json.dumps(..., indent=2, ensure_ascii=False) as the plain path writes
them: the claim's constant parts are precomputed text, strings go through the C encoder
json.encoder.encode_basestring, and the rare parts (findings, notes) through json.dumps itself.
tests/cobpipe/explain/test_explain_fast.py proves the output byte-identical to the plain path's.
The modules: fasttext (the text), fastseg (each segment), fastscan (the 835's structure),
fastprescan (the repeated CLP01s, the split), fastclaim (one claim checked and as JSON), fastjson
(the document, in one or two processes).

    survey = write_json(path, codebook, options, stream, findings_only=False)  # or raises Ineligible
"""
from __future__ import annotations

import tempfile
from collections import Counter
from typing import TextIO

from cobpipe.codes import CodeBook

from .build import ExplainOptions, ViewBuilder, missing_claims
from .fastclaim import ClaimWriter, _balance_finding, _is_balance_failure, _m, claim_findings
from .fasttext import Ineligible, delimiters
from .fastprescan import prescan
from .fastscan import Header, Resume, SectionEnd, scan
from .jsonout import JsonWriter
from .stream import SectionCounts, Summary, Survey
from .view import ExplainView, HeaderView, PlbView, SectionView


def _repeat_note(ident: str, repeated: dict[str, tuple[int, bool]]) -> list[str]:
    count, reversed_ = repeated.get(ident, (1, False))
    if count > 1 and reversed_:
        return [f"CLP01 {ident} appears {count} times in this payment: a reversal "
                "and its correction. Secondary billing uses the latest correction."]
    if count > 1:
        return [f"CLP01 {ident} appears {count} times in this payment: a split "
                f"claim. Secondary billing combines the {count} parts."]
    return []


def _header_view(header: Header, builder: ViewBuilder) -> HeaderView:
    """builder.header for what fastscan read of Table 1."""
    bpr, trn = header.bpr, header.trn
    payer, payee = header.payer, header.payee
    return HeaderView(
        payer=payer[0].strip(), payer_id=payer[2].strip(), payee=payee[0].strip(),
        payee_id_qualifier=builder._qualifier(payee[1]), payee_id=payee[2].strip(),
        amount=header.amount, credit_debit=header.credit_debit,
        method=bpr[3], method_text=builder._describe("payment_method", bpr[3]),
        handling=bpr[0], handling_text=builder._describe("handling", bpr[0]),
        trace_number=trn[1], trace_payer_id=trn[2],
        payment_date=header.payment_date, production_date=header.production_date,
        control_number=header.st02, version=header.version)


def _finish_section(section: SectionView, header: Header, end: SectionEnd, builder: ViewBuilder) -> None:
    """build.finish_section: PLBs, totals and the T rule (balance.transaction_balance)."""
    for plb in end.plbs:
        for reason, reference, amount in plb.pairs:
            section.plbs.append(PlbView(plb.provider, plb.fiscal_date, reason,
                                        builder._describe("plb_reason", reason), reference, amount, plb.index))
    section.paid_total = end.paid_total
    section.plb_total = end.plb_total
    stated = -header.amount if header.credit_debit == "D" else header.amount
    computed = end.paid_total - end.plb_total
    if stated != computed:
        sign = " (BPR03 D: debit)" if header.credit_debit == "D" else ""
        section.findings.append(_balance_finding(
            "ERA103", "T", f"payment does not balance: BPR02 stated {_m(stated)}{sign}, computed {_m(computed)} "
            f"(ΣCLP04 {_m(end.paid_total)} − ΣPLB {_m(end.plb_total)})", header.bpr_index, stated, computed))


class _FastWriter(JsonWriter):
    """JsonWriter whose claims arrive as JSON text."""

    def claim(self, claim: str) -> None:  # type: ignore[override]
        self.stream.write(("," if self.claims_written else "") + "\n        " + claim)
        self.claims_written += 1


#: files smaller than this are read by one process (a second one costs more than it saves)
PARALLEL_BYTES = 4 << 20


class _Section:
    """What one pass read of one transaction set."""

    __slots__ = ("header", "counts", "claims_total", "seen", "reversed", "end", "parts")

    def __init__(self, header: Header) -> None:
        self.header = header
        self.counts = SectionCounts()
        self.claims_total = 0
        self.seen: Counter[str] = Counter()
        self.reversed: set[str] = set()
        self.end: SectionEnd | None = None
        self.parts: list[tuple[int, int, int, int]] = []  # (spool number, first byte, end byte, claims)


class _Pass:
    """One scan's claims checked, counted and written (as JSON) to a spool file."""

    def __init__(self, builder: ViewBuilder, component: str, repeats: list[dict], findings_only: bool,
                 spool, spool_number: int) -> None:
        self.writer = ClaimWriter(builder, component)
        self.options = builder.options
        self.repeats = repeats
        self.findings_only = findings_only
        self.spool = spool
        self.spool_number = spool_number
        self.sections: list[_Section] = []
        self.found_ids: dict[str, set[str]] = {}
        self.shown_ids: set[str] = set()
        self.claim_errors = False

    def run(self, events) -> "_Pass":
        words = self.writer.words
        claim_status = words.claim_status
        render = self.writer.claim_parts
        claim_ids, statuses = self.options.claim_ids, self.options.statuses
        findings_only = self.findings_only
        spool = self.spool
        pending: list[str] = []
        start = written = 0
        current: _Section | None = None
        repeated: dict[str, tuple[int, bool]] = {}
        for kind, item in events:
            if kind == "claim":
                clp = item.clp
                ident = clp[0]
                current.claims_total += 1
                seen = current.seen  # (a Counter: get, not its Python __missing__, for a new CLP01)
                seen[ident] = seen.get(ident, 0) + 1
                _status, _word, notes, reversal = claim_status(clp[1])
                if reversal:
                    current.reversed.add(ident)
                if ident in claim_ids:
                    self.found_ids.setdefault(ident, set()).add(clp[1])
                if (claim_ids and ident not in claim_ids) or (statuses and clp[1] not in statuses):
                    continue
                own, per_line = claim_findings(item)
                if claim_ids:  # (only the --claim ids asked for are looked up: missing_claims)
                    self.shown_ids.add(ident)
                counts = current.counts
                counts.shown += 1
                if own or any(per_line):
                    every = own + [f for found in per_line for f in found]
                    if any(f.severity == "error" for f in every):
                        counts.with_findings += 1
                        self.claim_errors = True
                    if any(_is_balance_failure(f) for f in every):
                        counts.not_balanced += 1
                elif findings_only:
                    continue
                counts.listed += 1
                pending += render(item, own, per_line, notes + _repeat_note(ident, repeated) if repeated else notes)
                pending.append(_SEPARATOR)
                written += 1
                if len(pending) > 4096:  # ~1 MB of JSON: joined (each piece copied once) and spooled
                    spool.write("".join(pending).encode("utf-8", "surrogateescape"))
                    pending.clear()
            elif kind == "section" or kind == "resume":
                if item.number > len(self.repeats):
                    raise Ineligible("the transaction sets read twice differ")
                repeated = self.repeats[item.number - 1]
                current = _Section(item)
                self.sections.append(current)
                written = 0
                start = spool.tell()
            else:  # "end", "partial"
                if pending:
                    spool.write("".join(pending).encode("utf-8", "surrogateescape"))
                    pending.clear()
                if written:
                    current.parts.append((self.spool_number, start, spool.tell(), written))
                current.end = item
        return self


def _merge(first: _Pass, second: _Pass) -> _Pass:
    """The two passes of one file as one: the transaction set both read part of becomes one."""
    joined, rest = first.sections[-1], second.sections[0]
    counts, more = joined.counts, rest.counts
    for name in ("shown", "listed", "with_findings", "not_balanced", "not_checked"):
        setattr(counts, name, getattr(counts, name) + getattr(more, name))
    joined.claims_total += rest.claims_total
    joined.seen.update(rest.seen)
    joined.reversed |= rest.reversed
    joined.parts += rest.parts
    a, b = joined.end, rest.end
    joined.end = SectionEnd(a.plbs + b.plbs, a.paid_total + b.paid_total, a.plb_total + b.plb_total)
    first.sections += second.sections[1:]
    for ident, found in second.found_ids.items():
        first.found_ids.setdefault(ident, set()).update(found)
    first.shown_ids |= second.shown_ids
    first.claim_errors = first.claim_errors or second.claim_errors
    return first


def _second_part(path: str, builder: ViewBuilder, component: str, repeats: list[dict], findings_only: bool,
                 split: Resume, spool) -> tuple[int, object]:
    """Fork a process that runs the pass from `split` to the end; (pid, read end of its pipe)."""
    import os
    import pickle

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its pass, pickled into the pipe, then gone without the parent's cleanup
        code = 0
        try:
            os.close(read)
            done = _Pass(builder, component, repeats, findings_only, spool, 1).run(scan(path, resume=split))
            spool.flush()
            for read in done.sections[1:]:  # only the first set may go on in the other part: the others'
                read.seen = Counter({i: n for i, n in read.seen.items() if n > 1})  # repeats suffice,
                read.reversed = {i for i in read.reversed if i in read.seen}  # and the pickle stays small
            result = ("ok", done.sections, done.found_ids, done.shown_ids, done.claim_errors)
        except Ineligible as exc:
            result = ("ineligible", str(exc))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
            result = ("error", type(exc).__name__)  # its name only: a message might quote the file (PHI)
            code = 1
        try:
            with os.fdopen(write, "wb") as pipe:
                pickle.dump(result, pipe, protocol=pickle.HIGHEST_PROTOCOL)
        finally:
            os._exit(code)
    os.close(write)
    return pid, os.fdopen(read, "rb")


def _parallel(split_at: int | None, path: str) -> int | None:
    import os

    if split_at is not None:
        return split_at
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    size = os.path.getsize(path)
    return size // 2 if cores > 1 and size >= PARALLEL_BYTES else None


def write_json(path: str, codebook: CodeBook, options: ExplainOptions, stream: TextIO, *,
               findings_only: bool = False, split_at: int | None = None, parallel: bool = True,
               spool_dir: str | None = None) -> Survey:
    """Write the explain JSON of `path` to `stream` (what write_explain writes for the plain
    survey and claims) and return the survey; raises Ineligible, having written nothing, when
    the file holds anything fastscan does not vouch for.

    A file of PARALLEL_BYTES or more is read by two processes when two cores are there: this one
    up to the first claim after the middle (or after byte `split_at`), a forked one from there;
    their claims are spooled apart and written in order. `parallel=False`: one process.
    The spools (as big as the claims' JSON) go to `spool_dir` (the output's folder: a disk, where
    the system's temporary folder may be memory), else to the system's temporary folder."""
    import gc

    enabled = gc.isenabled()
    # the pass makes and drops millions of small objects, none in a cycle (freed as they go): the
    # collector's rounds found nothing and cost ~3% of the CPU; off while it runs (the forked part too)
    gc.disable()
    try:
        return _write_json(path, codebook, options, stream, findings_only, split_at, parallel, spool_dir)
    finally:
        if enabled:
            gc.enable()


def _write_json(path: str, codebook: CodeBook, options: ExplainOptions, stream: TextIO, findings_only: bool,
                split_at: int | None, parallel: bool, spool_dir: str | None) -> Survey:
    import os
    import pickle
    import signal

    builder = ViewBuilder(codebook, options)
    component = delimiters(path)[1]
    target = _parallel(split_at, path) if parallel else None
    repeats, split = prescan(path, codebook, target)
    view = ExplainView(str(path), filtered=options.filtered, phi_shown=options.show_phi)
    with tempfile.TemporaryFile("w+b", dir=spool_dir) as spool, \
            tempfile.TemporaryFile("w+b", dir=spool_dir) as spool2:
        spools = (spool, spool2)
        if split is not None:
            try:
                pid, pipe = _second_part(path, builder, component, repeats, findings_only, split, spool2)
            except OSError:  # no second process to be had: this one reads the whole file
                split = None
        if split is None:
            done = _Pass(builder, component, repeats, findings_only, spool, 0).run(scan(path))
        else:
            result = None
            try:
                done = _Pass(builder, component, repeats, findings_only, spool, 0).run(
                    scan(path, end=split.offset))
                with pipe:
                    result = pickle.load(pipe)
            finally:
                if result is None:  # this part failed or was interrupted: the other one's work is moot
                    os.kill(pid, signal.SIGKILL)
                    pipe.close()
                os.waitpid(pid, 0)
            if result[0] == "ineligible":
                raise Ineligible(result[1])
            if result[0] != "ok":
                raise RuntimeError(f"explain: the second process failed: {result[1]}")
            second = _Pass(builder, component, repeats, findings_only, spool2, 1)
            second.sections, second.found_ids, second.shown_ids, second.claim_errors = result[1:]
            done = _merge(done, second)
        if len(repeats) != len(done.sections):
            raise Ineligible("the transaction sets read twice differ")
        all_counts = []
        for number, read in enumerate(done.sections, start=1):
            if read.header.number != number or read.end is None:
                raise Ineligible("the transaction sets read twice differ")
            repeated = {i: (n, i in read.reversed) for i, n in read.seen.items() if n > 1}
            if repeated != repeats[number - 1]:
                raise Ineligible("the CLP01s read twice differ")
            read.counts.repeated = repeated
            section = SectionView(number, _header_view(read.header, builder))
            section.claims_total = read.claims_total
            _finish_section(section, read.header, read.end, builder)
            view.sections.append(section)
            all_counts.append(read.counts)
        view.missing_claims = missing_claims(options.claim_ids, done.shown_ids, done.found_ids)
        errors = done.claim_errors or (not view.filtered and any(s.errors for s in view.sections))
        survey = Survey(view, all_counts, Summary(), bool(view.missing_claims) or errors, findings_only, errors)
        # the document: JsonWriter's head and section parts, each section's claims from the spools
        out = _FastWriter(stream, survey)
        out.start()
        for read, section, counts in zip(done.sections, view.sections, all_counts):
            out.section_start(section, counts)
            count = 0
            for spool_number, first, end, claims in read.parts:
                stream.write(_SEPARATOR if count else "\n        ")
                _copy(spools[spool_number], stream, first, end - len(_SEPARATOR))
                count += claims
            out.claims_written = count
            out.section_end(section, counts)
        out.end()
    return survey


_SEPARATOR = ",\n        "  # between two claims of a section (JsonWriter.claim)


def _copy(spool, stream: TextIO, first: int, end: int) -> None:
    """Bytes first..end of the spool to `stream`, a block at a time: as bytes to a UTF-8 stream's
    buffer (the spool is UTF-8), else as text (cut after a line break, which no UTF-8 sequence holds)."""
    remaining = end - first
    raw = _utf8_buffer(stream)
    if raw is not None:
        stream.flush()
        remaining = _sendfile(spool, raw, first, remaining)
    spool.seek(end - remaining)
    carry = b""
    while remaining > 0:
        data = spool.read(min(remaining, 1 << 22))
        if not data:
            raise RuntimeError("explain: the spooled claims ended early")
        remaining -= len(data)
        if raw is not None:
            raw.write(data)
            continue
        block = carry + data if carry else data
        carry = b""
        if remaining > 0:
            cut = block.rfind(b"\n") + 1
            carry, block = block[cut:], block[:cut]
        stream.write(block.decode("utf-8", "surrogateescape"))
    if raw is not None:
        raw.flush()


def _sendfile(spool, raw, first: int, count: int) -> int:
    """Copy spool bytes first..first+count to the buffer's file descriptor in the kernel
    (os.sendfile: no copy through Python); the bytes left to copy (all of them where it cannot)."""
    import os

    try:
        spool.flush()
        raw.flush()
        out = raw.fileno()
        source = spool.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (a test's BytesIO) or closed
        return count
    offset = first
    try:
        at = os.lseek(out, 0, os.SEEK_CUR)  # where the copy lands in the output
    except OSError:
        at = None  # a pipe: nothing to start writing back
    copied = count
    while count > 0:
        try:
            sent = os.sendfile(out, source, offset, min(count, 1 << 30))
        except OSError:
            return count  # the system cannot (this kind of output): the bytes are copied as bytes
        if sent == 0:
            return count
        offset += sent
        count -= sent
    if at is not None:
        _start_writeback(out, at, copied)
    return 0


def _start_writeback(out: int, offset: int = 0, length: int = 0) -> None:
    """Have the system start writing what was copied to the output's disk now (POSIX_FADV_DONTNEED
    starts the writeback of dirty pages without waiting for it), so the fsync the output's atomic
    writer ends with waits for less of the file; nothing for a pipe or where the system cannot.
    Only the bytes just copied (offset, length; 0: to the end): advice on the whole file after
    each part walked every page written before it again (~20 parts at 10k claims, 0.6-4 ms each)."""
    import os

    if hasattr(os, "posix_fadvise"):
        try:
            os.posix_fadvise(out, offset, length, os.POSIX_FADV_DONTNEED)
        except OSError:
            pass


def _utf8_buffer(stream: TextIO):
    """The binary buffer under a UTF-8 text stream (a file from atomic_writer, stdout in a UTF-8
    locale), or None. The spooled JSON holds no lone surrogate (the 835 was ASCII; our words are
    text), so its bytes are what the stream would write with any error handler."""
    import codecs

    buffer = getattr(stream, "buffer", None)
    encoding = getattr(stream, "encoding", None)
    if buffer is None or not encoding:
        return None
    try:
        return buffer if codecs.lookup(encoding).name == "utf-8" else None
    except LookupError:
        return None
