"""One conversion pipeline for every channel (CLI, drop folder, SFTP): 835 in, secondary 837P out.

read ERA (streaming) -> match each claim to its original 837P claim -> build the secondary claim ->
balancing gate -> write the outbound 837P -> implementation-guide check of what was written ->
rename into place, then the report. Nothing reaches its final name unless it is complete.
"""
from __future__ import annotations

import bisect
import contextlib
import dataclasses
import datetime as dt
import functools
import os
import sys  # noqa: F401 - the validator process runs sys.executable (edi.validate_pipe)
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from edi.errors import EdiSyntaxError, UnsupportedTransactionError
from edi.findings import Finding, Severity
from edi.reader import X12Reader, refuse_bad_counts
from edi.validate_pipe import PipedValidator as _PipedValidator, Tee as _Tee, validate_in_child as _validate_in_child
from edi.writer import ControlNumberSource, InterchangeSettings, Party

# the conversion's domain types live in cob/; re-exported here for every channel that runs it
from .cob.decision import (CONVERTED, HELD, NEEDS_A_PERSON, PAPER, REJECTED, SKIPPED, STATUSES,  # noqa: F401
                           UNMATCHED, ClaimDecision, ConvertOptions, EraScan, report_finding)
from .decision_log import DecisionLog
from .fsutil import atomic_writer, fsync_dir
from .fsutil import sha256_of as _sha256  # noqa: F401 - kept importable from here
# the report and what the end of a run makes for it (_Prepared) live in cobpipe.report; importable from here
from .report import Prepared as _Prepared
from .report import write_claim_entries, write_report, write_report_claims, write_report_tail  # noqa: F401


class ClaimSource(Protocol):
    """Where original 837P claims are found by CLM01 (a ledger, or files given on the command line)."""

    def claims_for(self, claim_id: str) -> list:  # list[cobpipe.claim837.OriginalClaim]
        ...


class IssuedRegistry(Protocol):
    """Secondary claims already sent, so a claim is never billed to the same payer twice."""

    def was_issued(self, claim_id: str, payer_id: str) -> bool:
        ...


@dataclass(slots=True)
class ConvertResult:
    era: Path
    decisions: DecisionLog  # reads like a list of ClaimDecision
    report: Path
    output: Path | None = None
    control_numbers: list[tuple[str, int]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # about the ERA as a whole
    transactions: list[tuple[int, int]] = field(default_factory=list)  # output (ST02, claims), in order

    paper: Path | None = None  # the CMS-1500 PDF of the claims billed on paper
    era_sha256: str | None = None  # the ERA's SHA-256 when taken already (while its output was checked)
    # the report's claim entries already encoded (write_claim_entries) for the decisions as they
    # are final: made while the guide check finished, dropped if a decision changed after
    claim_entries: object | None = field(default=None, repr=False, compare=False)
    # the billed decisions (converted or paper) as (claim id, payer id, level, frequency, status),
    # in order, when read already with the entries (record.issued_runs)
    billed: list | None = field(default=None, repr=False, compare=False)
    # decisions per status, counted once: the decisions are final when the result is made (the
    # guide and paper rejections revise them before), and reading a long log back costs
    _counts: dict[str, int] | None = field(default=None, repr=False, compare=False)

    @property
    def exit_code(self) -> int:
        counts = self.counts
        return 1 if any(counts[status] for status in NEEDS_A_PERSON) else 0

    @property
    def counts(self) -> dict[str, int]:
        if self._counts is None:
            counter = Counter(d.status for d in self.decisions)
            self._counts = {status: counter.get(status, 0) for status in STATUSES}
        return dict(self._counts)

    def summary(self) -> dict:
        return {"era": str(self.era), "output": str(self.output) if self.output else None,
                "paper": str(self.paper) if self.paper else None,
                "report": str(self.report), "counts": self.counts, "exit_code": self.exit_code}


def scan_era(path: Path, plain: bool = False) -> EraScan:
    """Refuses (EdiError) what cannot be converted at all: not X12, truncated, not an 835.
    `plain`: with the general reader even when the file is clean (the reference, in tests)."""
    from .era.clean import scan as clean_scan

    # C-speed checks: None unless the reader would find nothing to say
    clean = None if plain else clean_scan(Path(path))
    if clean is not None and clean.codes == {"835"}:
        return EraScan(Path(path), clean.clp_counts, [], sum(clean.clp_counts.values()), clean.usage, clean)
    reader = X12Reader.open(path)
    reader.body_tags = frozenset({"CLP"})  # and the envelope: the rest is read when converting
    counts: Counter = Counter()
    codes: set[str] = set()
    usage = ""
    for seg in reader:
        if seg.tag == "CLP":
            counts[seg.get(1).strip()] += 1  # CLP01 padded by the payer is the same claim
        elif seg.tag == "ST":
            codes.add(seg.get(1))
        elif seg.tag == "ISA" and not usage:
            usage = seg.get(15).strip().upper()
    _refuse_truncated(path, reader.findings)
    if not codes:
        raise EdiSyntaxError("no transaction set (ST) in the file", path=str(path))
    if codes != {"835"}:
        raise UnsupportedTransactionError(
            f"not an 835 remittance (transaction set {', '.join(sorted(codes))})", path=str(path))
    return EraScan(Path(path), counts, list(reader.findings), sum(counts.values()), usage)


def _refuse_truncated(path: Path, findings: Iterable[Finding]) -> None:
    for finding in findings:
        if finding.code == "ENV008" and "truncated" in finding.message:
            raise EdiSyntaxError(f"truncated file: {finding.message.removeprefix('truncated: ')}",
                                 path=str(path), segment=finding.location.segment)
    refuse_bad_counts(path, list(findings))  # SE01 wrong: a set with segments lost or added (issue 15)


def load_claim_files(ledger, paths: Iterable[Path], only: frozenset[str] | None = None) -> int:
    """Store the claims of the given 837P files in the ledger (those whose CLM01 is in `only`, when
    given); refuses unusable files (EdiError)."""
    from .claim837.rows import ClaimRows

    total = 0
    for path in paths:
        rows = ClaimRows.open(path, only=only)  # key and storage text, without a tree per claim
        total += ledger.add_claim_rows(rows)
        _refuse_truncated(path, rows.findings)
    return total


def convert_era(era: Path, claims: ClaimSource, out_dir: Path, *, options: ConvertOptions = ConvertOptions(),
                numbers: ControlNumberSource, issued: IssuedRegistry | None = None,
                coverage=None, scan: EraScan | None = None, on_progress=None) -> ConvertResult:
    """Convert one ERA: writes out_dir/<era stem>.837 (when any claim converted) and
    out_dir/<era stem>.report.json, both atomically. Raises edi.errors.EdiError (nothing written)
    when the ERA is unusable. `on_progress(era, claims decided, CLP count)` is called as claims
    are converted (for a progress bar)."""
    return stage_era(era, claims, out_dir, options=options, numbers=numbers, issued=issued, coverage=coverage,
                     scan=scan, on_progress=on_progress).finish()


@dataclass(slots=True)
class StagedEra:
    """An ERA converted, its 837P complete but not yet in place: at `staged` (a hidden name beside
    the output) numbered by a `renumber.ProvisionalNumbers` whose requests are `calls`, or already
    at its name (`staged` None). `finish` puts it in place and writes the report."""

    result: ConvertResult
    delimiters: object = None  # the output's (edi.segment.Delimiters)
    staged: Path | None = None
    calls: list = field(default_factory=list)
    # the report up to its control numbers (write_report_claims), written where the claims were
    # decided; `finish` copies it and adds the rest (the batch's one process never encodes them)
    report_claims: Path | None = None

    def finish(self, numbers: ControlNumberSource | None = None) -> ConvertResult:
        """The output in place with the control numbers `numbers` gives for `calls` (asked in the
        order the writer asked), then the report naming them."""
        result = self.result
        if self.calls:  # taken also when no claim was left to write, as the writer took them
            from .renumber import renumber, take_numbers

            mapping = take_numbers(self.calls, numbers)
            self.calls = []
            if self.staged is not None:
                renumber(self.staged, result.output, mapping, self.delimiters)
                self.staged.unlink()
                self.staged = None
            result.control_numbers = [(kind, mapping[(kind, number)]) for kind, number in result.control_numbers]
            result.transactions = [(mapping[("ST", st)], claims) for st, claims in result.transactions]
        if self.report_claims is None:
            with atomic_writer(result.report) as stream:
                write_report(result, stream)
            result.claim_entries = None
            return result
        with atomic_writer(result.report) as stream, open(self.report_claims, encoding="ascii", newline="") as done:
            while block := done.read(1 << 20):
                stream.write(block)
            write_report_tail(result, stream)
        self.report_claims.unlink()
        self.report_claims = None
        return result


def stage_era(era: Path, claims: ClaimSource, out_dir: Path, *, options: ConvertOptions = ConvertOptions(),
              numbers: ControlNumberSource, issued: IssuedRegistry | None = None, coverage=None,
              scan: EraScan | None = None, on_progress=None, staged: Path | None = None) -> StagedEra:
    """`convert_era` up to its report: the 837P written to `staged` when given (numbered by
    `numbers`, a renumber.ProvisionalNumbers, for `StagedEra.finish` to number for good), else into place."""
    from .cob.convert import ClaimConverter

    era = Path(era)
    scan = (scan or scan_era(era)).repeated_only()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    decisions = DecisionLog()
    output = out_dir / f"{era.stem}.837"
    report = out_dir / f"{era.stem}.report.json"
    separate = options.validate_ig and scan.claims >= options.pipe_validation_from
    if options.usage is None:
        options = dataclasses.replace(options, usage="T" if scan.usage == "T" else None)
    split = None
    if options.processes > 1:
        from .split import split_for

        split = split_for(scan, claims, issued, options, coverage, str(era))
    ready = _Prepared(era, decisions)
    if split is not None:  # converted by several processes, written here as one process writes it
        converter = split
        built = split.items(decisions, idle=ready.catch_up)  # the report's entries made while it waits
    else:
        converter = ClaimConverter(claims, options=options, issued=issued, coverage=coverage, path=str(era))
        built = converter.run(scan, decisions)
        decisions.on_block = ready.block_written  # each block's entries encoded as the log writes it out
    if on_progress is not None:
        built = _reporting(built, decisions, era, scan.claims, on_progress)
    written = _write_837(built, output, options, numbers, decisions, separate_validator=separate, staged=staged,
                         split=split, ready=ready)
    decisions.on_block = None  # (every decision appended)
    paper = _write_paper(converter.paper, out_dir / f"{era.stem}.paper.pdf", options, decisions, ready)
    if ready.stale:  # a decision changed since: made again, from the first
        ready = _Prepared(era, decisions)
    if ready.entries is None:
        # not made while a validator process checked the output: made now, when the decisions are
        # final, in the one read of them the end of the run makes (after what was made while waiting)
        ready.prepare(sha256=False)
    result = ConvertResult(era, decisions, report, output if written else None,
                           written.control_numbers if written else [], scan.findings + converter.era_findings,
                           written.transactions if written else [], paper, era_sha256=ready.sha256)
    ready.give(result)
    if staged is None:
        return StagedEra(result, options.delimiters)
    report_claims = staged.with_name(f".{report.name}.staged")
    with open(report_claims, "w", encoding="ascii", newline="") as stream:
        write_report_claims(result, stream)
    result.claim_entries = result.billed = None  # (for this process: the result may go to another)
    return StagedEra(result, options.delimiters, staged if written else None, list(numbers.calls), report_claims)


def _reporting(built: Iterator, decisions: DecisionLog, era: Path, total: int, on_progress) -> Iterator:
    """`built`, calling on_progress(era, decided, total) as each built claim passes, and at the end."""
    for claim in built:
        on_progress(era, len(decisions), total)
        yield claim
    on_progress(era, max(total, len(decisions)), total)


def _write_paper(claims: list, path: Path, options: ConvertOptions, decisions: DecisionLog,
                 ready: _Prepared | None = None) -> Path | None:
    """The CMS-1500 PDF of the claims decided `paper` (with each one's primary EOB page)."""
    if not claims:
        return None
    from .paper import PaperClaim, write_paper_pdf

    failed: dict[str, str] = {}

    def not_printed(item, exc: Exception) -> None:  # that claim only: the rest of the PDF is written
        failed[item.claim.id] = str(exc)

    written = write_paper_pdf((PaperClaim(c.claim, c.payments, c.header, c.reason) for c in claims), path,
                              layout=options.paper_layout, today=options.as_of, on_error=not_printed)
    if failed:
        def unbilled(decision: ClaimDecision) -> bool:
            if decision.status != PAPER or decision.claim_id not in failed:
                return False
            decision.status = REJECTED
            decision.reasons.append(f"the paper claim could not be printed: {failed[decision.claim_id]}")
            return True

        changed = decisions.revise(unbilled)
        if ready is not None:
            ready.revised(changed)
    if not written:
        path.unlink(missing_ok=True)
        return None
    return path


@dataclass(slots=True)
class _Written:
    control_numbers: list[tuple[str, int]]
    transactions: list[tuple[int, int]]


def _write_837(built: Iterator, output: Path, options: ConvertOptions, numbers: ControlNumberSource,
               decisions: DecisionLog, *, separate_validator: bool = False,
               staged: Path | None = None, split=None, ready: _Prepared | None = None) -> _Written | None:
    """Write converted claims to a temp file, check it against the guide (`separate_validator`: in
    a validator process, fed as the file is written with `options.validate_alongside`, else started
    once it is written; without one, or when it fails, in this process), drop claims with guide
    errors (recorded as rejected), and rename the result into place (to `staged` instead when
    given: a staged file renumbered into place later, so neither fsynced nor final)."""
    from .claim837.parser import ClaimFile
    from .claim837.writer import write_claims_837

    first = next(built, None)
    if first is None:
        return None
    write = write_claims_837
    if split is not None:  # `built` are claims made into text (claim837.writer_items)
        from .claim837.writer_items import write_items_837

        write = functools.partial(write_items_837, head=split.head)
    settings = options.interchange or interchange_for(first if split is None else split.head, options.usage)
    now = options.now or dt.datetime.now()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    tmp = Path(tmp_name)
    validator = _PipedValidator(output.name) if separate_validator and options.validate_alongside else None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
            target = _Tee(stream, validator) if validator else stream
            summary = write(_chain(first, built), target, settings, numbers,
                            delimiters=options.delimiters, now=now,
                            claims_per_transaction=options.claims_per_transaction)
            if validator:
                target.flush_block()
        numbers_used = list(summary.control_numbers)
        if validator:
            _end_of_input(validator)
        if validator and ready is not None:
            ready.prepare()  # while the validator process finishes its part
        findings = validator.finish() if validator else None
        if findings is None and separate_validator and not options.validate_alongside:
            findings = _validate_in_child(tmp)
        if findings is None and options.validate_ig:
            findings = [f for f in _validate_written(tmp) if f.severity is Severity.ERROR]
        bad = _ig_rejections(tmp, findings, decisions) if findings else set()
        if ready is not None:
            ready.revised(len(bad))
        if bad:
            kept = (c for c in ClaimFile.open(tmp) if c.id not in bad)
            first_kept = next(kept, None)
            if first_kept is None:
                return None
            kept_to = atomic_writer(output) if staged is None else open(staged, "w", encoding="utf-8", newline="")
            with kept_to as stream:
                summary = write_claims_837(_chain(first_kept, kept), stream, settings, _Replay(numbers_used),
                                           delimiters=options.delimiters, now=now,
                                           claims_per_transaction=options.claims_per_transaction)
            # fewer claims may need fewer transaction sets: the numbers left over are not used
            numbers_used = list(summary.control_numbers)
        elif staged is not None:
            os.replace(tmp, staged)
        else:
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, output)
            fsync_dir(output.parent)  # the rename lasts before any ledger commit names the output
        return _Written(numbers_used, list(summary.transactions))
    finally:
        if validator:
            validator.kill()
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _end_of_input(validator: _PipedValidator) -> None:
    """The validator process told its input ended (its pipe closed) once the whole file is written,
    not when its answer is asked for: it checks the rest it holds (the last block, the envelope's
    end) while this process prepares the report, instead of after (finish closes it again: nothing)."""
    try:
        validator.stdin.close()
    except (BrokenPipeError, OSError, ValueError):  # it is gone: finish says "not validated"
        validator.alive = False


def _validate_written(path: Path) -> list[Finding]:
    from edi import ig

    return ig.validate_file(path, capped=False)  # our own output: every finding rejects its claim


def _chain(first, rest: Iterator) -> Iterator:
    yield first
    yield from rest


class _Replay:
    """Hands out the numbers already taken for a file again, so a rewrite leaves no gap."""

    def __init__(self, used: list[tuple[str, int]]) -> None:
        self.queues: dict[str, list[int]] = {}
        for kind, number in used:
            self.queues.setdefault(kind, []).append(number)

    def next_number(self, kind: str, sender: str, receiver: str) -> int:
        return self.queues[kind].pop(0)


def _ig_rejections(path: Path, findings: list[Finding], decisions: DecisionLog) -> set[str]:
    """Claims holding a guide error (`findings` on the written file) become rejected; their ids.
    The reasons word the findings as `cobpipe validate` does (never pyx12's internal phrasing)."""
    from .ig_words import reword

    owners = _segment_owners(path)
    by_claim: dict[str, list[Finding]] = {}
    for finding in findings:
        claim_id = owners(finding.location.segment)
        by_claim.setdefault(claim_id, []).append(finding)
    if "" in by_claim:
        # an envelope-level error cannot be pinned on a claim: every claim in the file is suspect
        everything = {d.claim_id for d in decisions if d.status == CONVERTED}
        for claim_id in everything:
            by_claim.setdefault(claim_id, []).extend(by_claim[""])
        del by_claim[""]

    def reject(decision: ClaimDecision) -> bool:
        if decision.status != CONVERTED or decision.claim_id not in by_claim:
            return False
        problems = by_claim[decision.claim_id]
        decision.status = REJECTED
        decision.reasons.append("the built claim breaks the 005010X222A1 guide: " + "; ".join(
            f"{f.location.tag or ''} {f.location.element or ''} {f.code} {reword(f.message)}".strip()
            for f in problems[:5]))
        decision.findings.extend(f.with_location(path=None, segment=None, line=None) for f in problems)
        return True

    decisions.revise(reject)
    return set(by_claim)


def _segment_owners(path: Path):
    """segment number -> CLM01 of the claim it belongs to ('' for envelope and header segments).

    A claim owns its CLM..last segment and the HL segments written just before it."""
    firsts: list[int] = []
    lasts: list[int] = []
    claim_ids: list[str] = []
    current: str | None = None
    first = hl_start = 0
    for seg in X12Reader.open(path):
        if seg.tag in ("HL", "CLM", "SE") and current is not None:
            lasts.append(seg.index - 1)
            current = None
        if seg.tag == "HL":
            hl_start = hl_start or seg.index
        elif seg.tag == "CLM":
            first, hl_start = hl_start or seg.index, 0
            current = seg.get(1)
            firsts.append(first)
            claim_ids.append(current)
    if current is not None:
        lasts.append(firsts[-1] + 10**9)  # no SE: the last claim runs to the end

    def owner(segment: int | None) -> str:
        if segment is None:
            return ""
        at = bisect.bisect_right(firsts, segment) - 1
        return claim_ids[at] if at >= 0 and segment <= lasts[at] else ""

    return owner


def interchange_for(claim, usage: str | None) -> InterchangeSettings:
    """Sender and receiver of the outbound interchange: the original 837P's, as the clearinghouse knows them.
    ISA15: `usage`, else test (T) when the original claim came in test data, else production."""
    env = claim.envelope
    usage = usage or ("T" if getattr(env, "usage", "") == "T" else "P")
    return InterchangeSettings(
        sender=Party(env.isa_sender_qualifier or "ZZ", env.isa_sender or "COBPIPE", env.gs_sender or None),
        receiver=Party(env.isa_receiver_qualifier or "ZZ", env.isa_receiver or "RECEIVER", env.gs_receiver or None),
        usage=usage,
    )


# the batch (cobpipe.batch) and the ledger records (cobpipe.record) live beside this module; their
# names stay importable from here
from .record import billed_row, claim_outcomes, issued_claims, record_conversion, record_issued  # noqa: E402,F401

_BATCH_NAMES = frozenset({"run_batch", "_index_claims", "_claims_into_ledger", "_EraJob", "_coverage_table",
                          "_load_coverage", "_load_coverage_once", "_progress"})


def __getattr__(name: str):
    """`pipeline.run_batch` and the batch's helpers, from cobpipe.batch (which imports this module)."""
    if name in _BATCH_NAMES:
        from . import batch

        return getattr(batch, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
