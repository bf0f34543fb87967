"""Streaming 837P reader: one `OriginalClaim` at a time, in constant memory per claim.

Loops are assigned from the pyx12 loop table: a segment opens the child loop it starts (NM1*82 in
2300 -> 2310B, SVD in 2400 -> 2430), else joins the innermost open loop that holds its tag, else
(unknown to the guide there) stays in the loop it appears in. HL levels follow HL01/HL02 parent ids.
Structural problems are Findings on `ClaimFile.findings`; a transaction that is not an 837P raises
UnsupportedTransactionError.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from edi.errors import EdiError, UnsupportedTransactionError
from edi.findings import CappedFindings, Finding, Location, Severity
from edi.reader import TransactionSet, X12Reader, iter_transactions
from edi.segment import STANDARD, Delimiters, Segment, _make_segment

from .claim import Envelope, OriginalClaim, parse_amount, parse_date8
from .loops import HL_LEVELS, Loop, LoopTable, loop_table

PROFESSIONAL_PREFIX = "005010X222"  # X222A1 (HIPAA) and X222A2 (errata 2) are both 837P


def is_837p_version(version: str) -> bool:
    """Whether an ST03/GS08 value names the 837 professional guide (not 837I X223 or 837D X224)."""
    return version.startswith(PROFESSIONAL_PREFIX)


class ClaimFile:
    """Iterator over the claims of one 837P file; `findings` collects envelope and structure problems.

        with ClaimFile.open(path) as parser:
            for claim in parser:
                ...
        parser.findings
    """

    def __init__(self, reader: X12Reader) -> None:
        self.reader = reader
        self.name = reader.name
        self.structure_findings: list[Finding] = CappedFindings()  # bounded on hostile input
        self.claims_read = 0
        self.transactions_read = 0
        self._claims = self._read()

    @classmethod
    def open(cls, path: str | Path, name: str | None = None) -> "ClaimFile":
        return cls(X12Reader.open(path, name))

    @classmethod
    def from_text(cls, text: str, name: str = "<text>") -> "ClaimFile":
        return cls(X12Reader.from_text(text, name))

    @property
    def findings(self) -> list[Finding]:
        """Envelope findings of the reader, then structure findings (complete once iteration ended)."""
        return [*self.reader.findings, *self.structure_findings]

    def __iter__(self) -> "ClaimFile":
        return self

    def __next__(self) -> OriginalClaim:
        return next(self._claims)

    def read_all(self) -> list[OriginalClaim]:
        return list(self)

    def close(self) -> None:
        """Stop reading and close the file (also done when iteration ends)."""
        self._claims.close()

    def __enter__(self) -> "ClaimFile":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    def _read(self) -> Iterator[OriginalClaim]:
        for ts in iter_transactions(self.reader):
            self._check_transaction(ts)
            self.transactions_read += 1
            envelope = Envelope.of(self.name, ts.isa, ts.gs, ts.st)
            builder = _TransactionBuilder(envelope, self.name, self.structure_findings)
            for claim in builder.run(ts.segments):
                self.claims_read += 1
                yield claim

    def _check_transaction(self, ts: TransactionSet) -> None:
        if ts.code != "837":
            raise UnsupportedTransactionError(
                f"transaction set {ts.code or '(none)'} is not an 837 claim", path=self.name,
                segment=ts.st.index, line=ts.st.line)
        versions = [v for v in (ts.st.get(3), ts.gs.get(8) if ts.gs is not None else "") if v]
        if not versions:
            raise UnsupportedTransactionError(
                "837 without ST03/GS08 version: cannot tell 837P from 837I/837D", path=self.name,
                segment=ts.st.index, line=ts.st.line)
        for version in versions:
            if not is_837p_version(version):
                raise UnsupportedTransactionError(
                    f"837 version {version} is not an 837P (005010X222A1)", path=self.name,
                    segment=ts.st.index, line=ts.st.line)


def iter_claims(path: str | Path) -> ClaimFile:
    """The claims of an 837P file, streamed; the returned ClaimFile also holds the findings."""
    return ClaimFile.open(path)


def iter_claims_from_reader(reader: X12Reader) -> ClaimFile:
    return ClaimFile(reader)


def parse_claims_text(text: str, name: str = "<text>") -> list[OriginalClaim]:
    """Every claim of an 837P held in memory (tests, small files); use ClaimFile.from_text for findings."""
    return ClaimFile.from_text(text, name).read_all()


class _TransactionBuilder:
    """Assigns the segments of one ST..SE to loops and emits each claim when its 2300 ends."""

    def __init__(self, envelope: Envelope, path: str, findings: list[Finding]) -> None:
        self.table: LoopTable = loop_table()
        self.envelope = envelope
        self.path = path
        self.findings = findings
        self.header = Loop("HEADER")
        self.stack: list[Loop] = [self.header]  # open loops, outermost first
        self.billing: Loop | None = None
        self.subscriber: Loop | None = None
        self.patient: Loop | None = None
        self.billing_by_id: dict[str, Loop] = {}  # 2000A loops of this transaction (few)
        # recent 2000B loops with HL04=1 (and their 2000A): a 2000C may follow a later subscriber HL
        self.parent_subscribers: dict[str, tuple[Loop, Loop | None]] = {}
        self.last_hl_number = 0  # HL01 counts 1, 2, 3... (constant memory, unlike a set of ids)
        self.claim: Loop | None = None
        self.claim_usable = False
        self.claims_under: dict[int, int] = {}  # id(HL loop) -> claims emitted under it
        self.saw_hl = False

    # --- findings ------------------------------------------------------------------------------

    def report(self, code: str, message: str, seg: Segment | None, severity: Severity = Severity.ERROR,
               loop: str | None = None, claim: str | None = None) -> None:
        if seg is not None and seg.index:
            location = Location(self.path, seg.index, seg.line, seg.tag, loop, None, claim)
        else:
            location = Location(self.path, None, None, seg.tag if seg else None, loop, None, claim)
        self.findings.append(Finding(code, message, location, severity))

    # --- driving -------------------------------------------------------------------------------

    def run(self, segments: Iterable[Segment]) -> Iterator[OriginalClaim]:
        for seg in segments:
            tag = seg.tag
            if tag == "ST":
                continue
            if tag == "SE":
                break
            if tag == "HL":
                done = self.finish_claim()
                if done is not None:
                    yield done
                self.open_hl(seg)
            elif tag == "BHT" and not self.saw_hl and self.stack[0] is self.header:
                self.header.items.append(seg)
                if parse_date8(seg.get(4)) is None:
                    self.report("C837012", "BHT04 is not a valid CCYYMMDD date", seg, Severity.WARNING, "HEADER")
            elif tag == "CLM":
                done = self.finish_claim()
                if done is not None:
                    yield done
                self.open_claim(seg)
            else:
                self.place(seg)
        done = self.finish_claim()
        if done is not None:
            yield done
        self.check_claimless(self.patient)
        self.check_claimless(self.subscriber)
        for subscriber, _ in self.parent_subscribers.values():
            self.check_claimless(subscriber)
        for billing in self.billing_by_id.values():
            self.check_claimless(billing)
        if self.header.segment("BHT") is None:
            self.report("C837012", "no BHT beginning-of-hierarchical-transaction segment", None,
                        Severity.WARNING, loop="HEADER")

    def place(self, seg: Segment) -> None:
        """Put a non-HL, non-CLM segment into the loop tree (see module docstring)."""
        stack = self.stack
        placement = self.table.placement  # LoopTable.child_loop and is_member, looked up once
        tag = seg.tag
        for depth in range(len(stack) - 1, -1, -1):
            loop = stack[depth]
            rule = placement.get((loop.id, tag))
            if rule is None:
                continue
            starts, member = rule
            if starts:
                qualifier = seg.get(1)
                for qualifiers, child_id in starts:
                    if qualifiers is None or qualifier in qualifiers:
                        child = Loop(child_id, (seg,))
                        loop.items.append(child)
                        del stack[depth + 1:]
                        stack.append(child)
                        return
            if member:
                loop.items.append(seg)
                del stack[depth + 1:]
                return
        where = stack[-1]
        where.items.append(seg)
        claim_id = self.claim.first.get(1) if self.claim is not None and stack[0] is self.claim else None
        self.report("C837008", f"{seg.tag} is not expected in loop {where.id}; kept there", seg,
                    Severity.WARNING, where.id, claim_id)

    # --- HL hierarchy --------------------------------------------------------------------------

    def open_hl(self, seg: Segment) -> None:
        self.saw_hl = True
        hl_id, parent_id, level = seg.get(1), seg.get(2), seg.get(3)
        expected = self.last_hl_number + 1
        if hl_id != str(expected):
            self.report("C837007", f"HL01 {hl_id!r} should be {expected}: HL ids count 1, 2, 3... "
                        "(duplicate or out of sequence)", seg, Severity.WARNING)
        self.last_hl_number = int(hl_id) if hl_id.isdigit() else expected
        loop_id = HL_LEVELS.get(level)
        if loop_id is None:
            loop_id = self.infer_level(parent_id)
            self.report("C837003", f"HL03 level code {level!r} is not 20, 22 or 23; read as {loop_id} "
                        "from its parent", seg, loop=loop_id)
        loop = Loop(loop_id, (seg,))
        if loop_id == "2000A":
            if parent_id:
                self.report("C837002", f"billing provider HL {hl_id} has a parent ({parent_id})", seg,
                            Severity.WARNING, loop_id)
            self.check_claimless(self.patient)
            self.leave_subscriber()
            self.billing, self.subscriber, self.patient = loop, None, None
            self.check_claimless(self.billing_by_id.get(hl_id))  # a duplicate HL01 hides the earlier one
            self.billing_by_id[hl_id] = loop
        elif loop_id == "2000B":
            parent = self.billing_by_id.get(parent_id)
            if parent is None:
                self.report("C837002", f"subscriber HL {hl_id}: parent HL {parent_id or '(none)'} is not a "
                            "billing provider HL", seg, loop=loop_id)
            else:
                self.billing = parent
            self.check_claimless(self.patient)
            self.leave_subscriber()
            self.subscriber, self.patient = loop, None
            if seg.get(4) == "1" and hl_id:
                self.remember_subscriber(hl_id, loop)
        else:
            sub = self.subscriber
            earlier = (self.parent_subscribers.get(parent_id)
                       if parent_id and (sub is None or sub.first.get(1) != parent_id) else None)
            if earlier is not None:
                # its subscriber HL came before another subscriber HL: read under that parent
                self.report("C837002", f"patient HL {hl_id}: parent HL {parent_id} is not the latest "
                            "subscriber HL; read under it", seg, Severity.WARNING, loop_id)
                self.leave_subscriber()
                self.subscriber, self.billing = earlier
                self.claims_under.setdefault(id(earlier[0]), 0)
            elif sub is None or sub.first.get(1) != parent_id:
                self.report("C837002", f"patient HL {hl_id}: parent HL {parent_id or '(none)'} is not the "
                            "current subscriber HL", seg, loop=loop_id)
            elif sub.first.get(4) == "0":
                self.report("C837009", f"subscriber HL {parent_id} has HL04=0 but patient HL {hl_id} follows",
                            seg, Severity.WARNING, loop_id)
            self.check_claimless(self.patient)
            self.patient = loop
        self.claims_under[id(loop)] = 0
        self.stack = [loop]

    def remember_subscriber(self, hl_id: str, loop: Loop) -> None:
        subscribers = self.parent_subscribers
        subscribers.pop(hl_id, None)
        subscribers[hl_id] = (loop, self.billing)
        if len(subscribers) > 32:  # bounded memory: the oldest can no longer get patients
            oldest = next(iter(subscribers))
            self.check_claimless(subscribers.pop(oldest)[0])

    def leave_subscriber(self) -> None:
        """The subscriber HL is no longer the latest: report it unless a later patient HL may name it."""
        sub = self.subscriber
        if sub is not None:
            remembered = self.parent_subscribers.get(sub.first.get(1))
            if remembered is None or remembered[0] is not sub:
                self.check_claimless(sub)

    def infer_level(self, parent_id: str) -> str:
        if not parent_id:
            return "2000A"
        if parent_id in self.billing_by_id:
            return "2000B"
        return "2000C"

    def check_claimless(self, loop: Loop | None) -> None:
        """An HL with no claims under it: its segments are in no OriginalClaim, so say so."""
        if loop is None or self.claims_under.pop(id(loop), 1):
            return
        self.report("C837005", f"HL {loop.first.get(1)} ({loop.id}) has no claims; its segments are in no "
                    "claim", loop.first, Severity.WARNING, loop.id)

    # --- claims --------------------------------------------------------------------------------

    def open_claim(self, seg: Segment) -> None:
        claim = Loop("2300", (seg,))
        self.claim = claim
        self.stack = [claim]
        claim_id = seg.get(1)
        self.claim_usable = True
        if self.subscriber is None:
            self.report("C837001", "CLM outside any subscriber HL; claim skipped", seg, loop="2300",
                        claim=claim_id)
            self.claim_usable = False
        elif self.billing is None:
            self.report("C837004", "claim has no billing provider HL; claim skipped", seg, loop="2300",
                        claim=claim_id)
            self.claim_usable = False
        elif self.patient is None and self.subscriber.first.get(4) == "1":
            self.report("C837009", "claim directly under a subscriber HL with HL04=1 (patients follow)", seg,
                        Severity.WARNING, "2300", claim_id)
        if parse_amount(seg.get(2)) is None:
            self.report("C837006", "CLM02 is not a valid amount", seg, loop="2300", claim=claim_id)

    def finish_claim(self) -> OriginalClaim | None:
        claim = self.claim
        if claim is None:
            return None
        self.claim = None
        if not self.claim_usable:
            return None
        claim_id = claim.first.get(1)
        for line in claim.children_of("2400"):
            sv1 = line.segment("SV1")
            if sv1 is not None and parse_amount(sv1.get(2)) is None:
                self.report("C837006", "SV102 is not a valid amount", sv1, loop="2400", claim=claim_id)
        assert self.billing is not None and self.subscriber is not None
        for loop in (self.billing, self.subscriber, self.patient):
            if loop is not None:
                self.claims_under[id(loop)] = self.claims_under.get(id(loop), 0) + 1
        return OriginalClaim(self.envelope, self.header, self.billing, self.subscriber, self.patient, claim)


def split_segments(text: str, delimiters: Delimiters = STANDARD) -> list[Segment]:
    """Segments of an X12 text without envelopes (the storage form), numbered from 1."""
    lines = _one_segment_per_line(text, delimiters)
    if lines is not None:  # what `to_x12` writes: each segment on its own line, nothing around it
        element = delimiters.element
        segments = []
        for number, body in enumerate(lines, 1):
            parts = body.split(element)
            segments.append(_make_segment(parts[0], tuple(parts[1:]), number, number, delimiters))
        return segments
    segments = []
    line = 1
    for raw in text.split(delimiters.segment):
        body = raw.strip()
        if body:
            seg_line = line + raw.count("\n", 0, len(raw) - len(raw.lstrip()))
            parts = body.split(delimiters.element)
            segments.append(_make_segment(parts[0], tuple(parts[1:]), len(segments) + 1, seg_line, delimiters))
        line += raw.count("\n")
    return segments


def _one_segment_per_line(text: str, delimiters: Delimiters) -> list[str] | None:
    """The segment bodies, verbatim, when `text` is laid out as `to_x12` writes it (`SEG~<LF>SEG~<LF>`,
    no blank line, no CR, no indentation); else None. Checked with whole-text counts, far cheaper
    than stripping every piece: the reader stripped the layout around each segment before it was
    stored."""
    end = delimiters.segment + "\n"
    if not text.endswith(end) or delimiters.segment == "\n":
        return None
    bodies = text.split(end)
    bodies.pop()  # the empty text after the last terminator
    if text.count("\n") != len(bodies) or text.count(delimiters.segment) != len(bodies):
        return None  # a terminator or line break inside a piece
    if "" in bodies or "\r" in text or text[0].isspace() or "\n " in text or "\n\t" in text:
        return None
    return bodies


def parse_storage_form(text: str, delimiters: Delimiters, envelope: Envelope) -> OriginalClaim:
    """The inverse of OriginalClaim.to_x12: exactly one claim, or EdiError."""
    name = envelope.source or "<stored claim>"
    findings: list[Finding] = []
    builder = _TransactionBuilder(envelope, name, findings)
    claims = list(builder.run(split_segments(text, delimiters)))
    if len(claims) != 1:
        raise EdiError(f"stored claim text holds {len(claims)} claims, expected 1", path=name)
    return claims[0]
