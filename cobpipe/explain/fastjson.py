"""`explain --format json` in one pass over the 835, for the files fastscan vouches for.

The plain path (stream.survey_file + iter_claims + jsonout.JsonWriter) reads the file twice:
once for the verdicts the top of the document states, once to write the claims. Here the file
is read once: each claim is checked (the balancing rules of cobpipe.era.balance, with the same
words) and its JSON written straight from the segment text to a temporary file, while the totals
and verdicts are gathered; then the document is written with jsonout.JsonWriter's head and
section parts, each section's claims copied in from the temporary file (the first part's are
written into the output file itself where it can, and only checked there: fastplace). Only the
CLP01s of each payment (split claims and reversals get a note) are read first (fastprescan).

The bytes are those of json.dumps(..., indent=2, ensure_ascii=False) as the plain path writes
them: the claim's constant parts are precomputed text, strings go through the C encoder
json.encoder.encode_basestring, and the rare parts (findings, notes) through json.dumps itself.
tests/cobpipe/explain/test_explain_fast.py proves the output byte-identical to the plain path's.
The modules: fasttext (the text), fastseg (each segment), fastscan (the 835's structure),
fastprescan (the repeated CLP01s, the split), fastclaim (one claim checked and as JSON), fastjson
(the document, in one or two processes), fastplace (where the claims' JSON goes in the output).

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
from .fastplace import InPlace, Misplaced, Placer
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


#: files smaller than this are read by one process (a second one costs more than it saves)
PARALLEL_BYTES = 4 << 20
#: a pass's pending JSON pieces (~0.5 KB each) are written out past this many: ~256 KB joined and
#: encoded stay in the CPU's cache and in the allocator's heap, where 4096 (~2 MB texts, the
#: allocator mapping and dropping fresh pages for each) cost ~13% more CPU over a whole pass
#: (10k bench 835, min of 3x3 alternating: 0.668 -> 0.580 s; 256: 0.599, 1024: 0.594)
FLUSH_PIECES = 512


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
    """One scan's claims checked, counted and written (as JSON) to a spool file, or with `joints`
    (the first part, fastplace.InPlace as its spool) to the output itself: each section's start
    and the previous one's end between them, as _Joints guesses them."""

    def __init__(self, builder: ViewBuilder, component: str, repeats: list[dict], findings_only: bool,
                 spool, spool_number: int, joints: "_Joints | None" = None) -> None:
        self.writer = ClaimWriter(builder, component)
        self.options = builder.options
        self.repeats = repeats
        self.findings_only = findings_only
        self.spool = spool
        self.spool_number = spool_number
        self.joints = joints
        self.sections: list[_Section] = []
        self.found_ids: dict[str, set[str]] = {}
        self.shown_ids: set[str] = set()
        self.claim_errors = False

    def run(self, events) -> "_Pass":
        words = self.writer.words
        claim_status, known_status = words.claim_status, words.status
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
                _status, _word, notes, reversal = known_status.get(clp[1]) or claim_status(clp[1])
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
                # (`repeated` holds only the CLP01s seen more than once: _repeat_note adds nothing for others)
                pending += render(item, own, per_line,
                                  notes + _repeat_note(ident, repeated) if ident in repeated else notes)
                pending.append(_SEPARATOR)
                written += 1
                if len(pending) > FLUSH_PIECES:  # joined (each piece copied once), encoded and spooled
                    spool.write("".join(pending).encode("utf-8", "surrogateescape"))
                    pending.clear()
            elif kind == "section" or kind == "resume":
                if item.number > len(self.repeats):
                    raise Ineligible("the transaction sets read twice differ")
                repeated = self.repeats[item.number - 1]
                current = _Section(item)
                self.sections.append(current)
                written = 0
                if self.joints is not None:
                    self.joints.place(spool, self.sections)
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
               spool_dir: str | None = None, in_place: bool = True) -> Survey:
    """Write the explain JSON of `path` to `stream` (what write_explain writes for the plain
    survey and claims) and return the survey; raises Ineligible, having written nothing, when
    the file holds anything fastscan does not vouch for.

    A file of PARALLEL_BYTES or more is read by two processes when two cores are there: this one
    up to the first claim after the middle (or after byte `split_at`), a forked one from there;
    their claims are spooled apart and written in order. `parallel=False`: one process.
    The spools (as big as the claims' JSON) go to `spool_dir` (the output's folder: a disk, where
    the system's temporary folder may be memory), else to the system's temporary folder.
    This process's claims go straight into the output when it is a file it can read back
    (fastplace.InPlace; `in_place=False`: spooled too)."""
    import gc

    enabled = gc.isenabled()
    # the pass makes and drops millions of small objects, none in a cycle (freed as they go): the
    # collector's rounds found nothing and cost ~3% of the CPU; off while it runs (the forked part too)
    gc.disable()
    try:
        return _write_json(path, codebook, options, stream, findings_only, split_at, parallel, spool_dir, in_place)
    finally:
        if enabled:
            gc.enable()


def _write_json(path: str, codebook: CodeBook, options: ExplainOptions, stream: TextIO, findings_only: bool,
                split_at: int | None, parallel: bool, spool_dir: str | None, in_place: bool) -> Survey:
    builder = ViewBuilder(codebook, options)
    component = delimiters(path)[1]
    target = _parallel(split_at, path) if parallel else None
    repeats, split = prescan(path, codebook, target)
    view = ExplainView(str(path), filtered=options.filtered, phi_shown=options.show_phi)
    inplace = InPlace.of(stream) if in_place else None
    with tempfile.TemporaryFile("w+b", dir=spool_dir) as spool, \
            tempfile.TemporaryFile("w+b", dir=spool_dir) as spool2:
        spools = (spool, spool2)
        try:
            done, placed_end = _passes(path, builder, component, repeats, findings_only, split, spool, spool2, inplace)
            survey = _survey(done, repeats, view, builder, options, findings_only)
        except BaseException:
            if inplace is not None:
                inplace.undo()  # Ineligible: nothing written, the plain path writes the file
            raise
        try:
            _assemble(Placer(stream, spools, inplace, placed_end), done, survey)
        except Misplaced:  # the guessed head or a section's end differs: the document written as before
            inplace.move_out(placed_end, spool)
            _assemble(Placer(stream, spools), done, survey)
    return survey


def _passes(path: str, builder: ViewBuilder, component: str, repeats: list[dict], findings_only: bool,
            split: Resume | None, spool, spool2, inplace: InPlace | None) -> tuple[_Pass, int]:
    """The file read by this process (its claims to `inplace` or `spool`) and from `split` on by
    a forked one (to `spool2`), merged; and where what this process wrote in place ends."""
    import os
    import pickle
    import signal

    first_sink, joints = spool, None
    if inplace is not None:
        first_sink = inplace
        joints = _Joints(builder, str(path), findings_only)
    if split is not None:
        try:
            pid, pipe = _second_part(path, builder, component, repeats, findings_only, split, spool2)
        except OSError:  # no second process to be had: this one reads the whole file
            split = None
    first = _Pass(builder, component, repeats, findings_only, first_sink, 0, joints)
    if split is None:
        done = first.run(scan(path))
    else:
        result = None
        try:
            done = first.run(scan(path, end=split.offset))
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
    placed_end = _placed_end(first, inplace)  # (before _merge adds the other part's claims)
    if split is not None:
        second = _Pass(builder, component, repeats, findings_only, spool2, 1)
        second.sections, second.found_ids, second.shown_ids, second.claim_errors = result[1:]
        done = _merge(done, second)
    return done, placed_end


def _placed_end(first: _Pass, inplace: InPlace | None) -> int:
    """Where the bytes _Pass wrote in place end: at its last claim (the separator after it and,
    after a section start with no claim of this part after it, the first claim's lead are the
    document's next bytes only by chance)."""
    if inplace is None:
        return 0
    return _claims_end(first.sections[-1], inplace.pos) if first.sections else inplace.base


def _claims_end(read: _Section, pos: int) -> int:
    """Where a section's claims written in place end: after its last claim (before the separator
    written after it), or with none, before the first claim's lead written up to `pos`."""
    return read.parts[-1][2] - len(_SEPARATOR) if read.parts else pos - len(_LEAD)


def _section_view(read: _Section, builder: ViewBuilder) -> SectionView:
    """The SectionView of a transaction set read to its end (no claims)."""
    section = SectionView(read.header.number, _header_view(read.header, builder))
    section.claims_total = read.claims_total
    _finish_section(section, read.header, read.end, builder)
    return section


def _survey(done: _Pass, repeats: list[dict], view: ExplainView, builder: ViewBuilder, options: ExplainOptions,
            findings_only: bool) -> Survey:
    """What the passes read checked against the prescan, as the plain path's survey."""
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
        view.sections.append(_section_view(read, builder))
        all_counts.append(read.counts)
    view.missing_claims = missing_claims(options.claim_ids, done.shown_ids, done.found_ids)
    errors = done.claim_errors or (not view.filtered and any(s.errors for s in view.sections))
    return Survey(view, all_counts, Summary(), bool(view.missing_claims) or errors, findings_only, errors)


def _assemble(out: Placer, done: _Pass, survey: Survey) -> None:
    """The document: JsonWriter's head and section parts, each section's claims from the spools."""
    writer = JsonWriter(out, survey)
    writer.start()
    for read, section, counts in zip(done.sections, survey.view.sections, survey.counts):
        writer.section_start(section, counts)
        count = 0
        for spool_number, first, end, claims in read.parts:
            out.write(_SEPARATOR if count else _LEAD)
            out.copy(spool_number, first, end - len(_SEPARATOR))
            count += claims
        writer.claims_written = count
        writer.section_end(section, counts)
    writer.end()
    out.finish()


class _Joints:
    """For the first part written in place: the document's bytes before each section's first
    claim (the head, or the previous section's end; the section's start; the first claim's lead),
    as _assemble will write them if the file has no finding ("balanced": true, each section's
    verdict "balanced"), written at the sink's position, back over the previous section's last
    separator or unused lead."""

    def __init__(self, builder: ViewBuilder, path: str, findings_only: bool) -> None:
        import io

        self.builder = builder
        self.text = io.StringIO()
        options = builder.options  # (a view of its own: the document's gets its sections and findings later)
        view = ExplainView(path, filtered=options.filtered, phi_shown=options.show_phi)
        self.writer = JsonWriter(self.text, Survey(view, [], Summary(), False, findings_only, False))

    def place(self, sink, sections: list[_Section]) -> None:
        writer, text = self.writer, self.text
        text.seek(0)
        text.truncate()
        if len(sections) == 1:
            writer.start()
        else:
            previous = sections[-2]
            if previous.end is None:
                raise Ineligible("a transaction set without its end")
            writer.claims_written = sum(part[3] for part in previous.parts)
            writer.section_end(_section_view(previous, self.builder), previous.counts)
            sink.pos = _claims_end(previous, sink.pos)
        header = sections[-1].header
        writer.section_start(SectionView(header.number, _header_view(header, self.builder)), None)
        text.write(_LEAD)
        sink.write(text.getvalue().encode("utf-8", "surrogateescape"))


_SEPARATOR = ",\n        "  # between two claims of a section (JsonWriter.claim)
_LEAD = "\n        "  # before a section's first claim
