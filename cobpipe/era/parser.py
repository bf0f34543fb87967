"""Streaming 835 (005010X221A1) parser: one Remittance per ST..SE, claims read one at a time.

    for remit in read_remittances(path):     # RemittanceReader; raises EdiError for unusable files
        remit.header                           # Table 1, parsed before the first claim
        for claim in remit.claims():           # ClaimPayment (2100) with its lines (2110)
            ...
        remit.plbs, remit.findings, remit.totals   # complete once claims() is exhausted

Only the claim being read is held in memory, so a 100k-claim 835 streams in constant memory
(`parse_remittances` keeps the claims, for small files and tests). Moving to the next remittance
reads whatever the caller left of the previous one, so its totals and T-rule check are always
complete. Bad content never raises: it becomes a Finding (codes in cobpipe.era.codes) and reading
goes on. Only a file that is not X12, or (with require_835) a transaction set that is not an 835,
raises an edi.errors.EdiError.

The readers of each part live beside this module: era.header (Table 1), era.claims (Table 2:
claims, lines, CAS, PLB), both over era.context (findings and value conversion); this module
holds the remittance, the reader of a file's transaction sets and the functions that open them.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from edi.errors import EdiError, EdiSyntaxError, UnsupportedTransactionError
from edi.findings import Finding, Location, Severity
from edi.reader import TransactionSet, X12Reader, iter_transactions
from edi.segment import Segment

from . import balance
from .claims import (_CLAIM_END, _FOREIGN_SEPARATOR_PLB, _LINE_TAGS, _PARTY_SLOTS, GROUP_CODES, _cas,  # noqa: F401
                     _claim_segment, _line_segment, _party, _plb, _procedure, _read_claim, _read_svc)
from .codes import severity_of
from .context import _D8, _FOREIGN_SEPARATOR, _NUMBER, _Context, _d8, _decimal, _elements, _label, _quoted  # noqa: F401
from .header import _HEADER_END, VERSION, _add_ref, _contact, _envelope, _payment, _read_header  # noqa: F401
from .model import ZERO, ClaimPayment, ProviderAdjustment, RemittanceTotals  # noqa: F401


# --- the remittance --------------------------------------------------------------------------


class Remittance:
    """One 835 transaction set (ST..SE): header now, claims streamed, PLBs and totals at the end.

    `findings` holds every finding of this transaction set (header, claims, lines, PLB, T rule);
    each claim's own findings are also on `claim.findings`.
    """

    __slots__ = ("header", "findings", "plbs", "totals", "path", "number", "_ctx", "_segments",
                 "_after_header", "_stream", "_kept", "_started", "_lx")

    def __init__(self, ts: TransactionSet, path: str, number: int, *, keep_claims: bool = False) -> None:
        self.path = path
        self.number = number  # 1-based position of the transaction set in the file
        self._ctx = _Context(path)
        self.findings = self._ctx.findings
        self.plbs: list[ProviderAdjustment] = []
        self.totals = RemittanceTotals()
        self._segments = iter(ts.segments)
        self.header, self._after_header = _read_header(self._segments, self._ctx, ts)
        self._kept: list[ClaimPayment] | None = [] if keep_claims else None
        self._started = False
        self._lx: str | None = None
        self._stream = self._read_claims()

    def __repr__(self) -> str:
        return f"<Remittance ST02={self.header.control_number!r} {self.path}>"

    @property
    def complete(self) -> bool:
        """Whether every claim has been read (totals, PLBs and the T rule are final)."""
        return self.totals.complete

    def claims(self) -> Iterator[ClaimPayment]:
        """The claims (2100) one at a time, each with its lines. A streamed remittance can be read
        once; one from `parse_remittances` any number of times."""
        if self._kept is not None and self.totals.complete:
            return iter(self._kept)
        if self._started:
            raise RuntimeError("the claims of a streamed remittance can be read once")
        self._started = True
        return self._follow()

    def _follow(self) -> Iterator[ClaimPayment]:
        for claim in self._stream:
            if self._kept is not None:
                self._kept.append(claim)
            yield claim

    def finish(self) -> None:
        """Read whatever claims are left (discarding them unless kept), so totals and PLBs are complete."""
        self._started = True
        for claim in self._stream:
            if self._kept is not None:
                self._kept.append(claim)

    def _read_claims(self) -> Iterator[ClaimPayment]:
        ctx, segments, totals = self._ctx, self._segments, self.totals
        in_orphan_line = False  # after an SVC with no CLP: its 2110 segments are covered by that error
        seg = self._after_header
        while seg is not None:
            tag = seg.tag
            if tag == "CLP":
                in_orphan_line = False
                claim, seg = _read_claim(seg, segments, ctx, self._lx)  # seg: the one after the claim
                self._check(claim)
                totals.claim_count += 1
                totals.line_count += len(claim.lines)
                if claim.charge is not None:
                    totals.charge_total += claim.charge
                if claim.paid is not None:
                    totals.paid_total += claim.paid
                if claim.patient_responsibility is not None:
                    totals.patient_responsibility_total += claim.patient_responsibility
                yield claim
                continue
            if tag == "LX":
                self._lx = seg.get(1)
            in_orphan_line = _between_claims(seg, ctx, self.plbs, totals, in_orphan_line)
            seg = next(segments, None)
        for finding in balance.transaction_balance(self.header.payment, totals, path=self.path):
            ctx.attach(finding)
        totals.complete = True

    def _check(self, claim: ClaimPayment) -> None:
        check_claim_payment(claim, self._ctx, self.path)


def check_claim_payment(claim: ClaimPayment, ctx: _Context, path: str) -> None:
    """The balancing rules of one claim and its lines, each finding attached where it belongs."""
    # each line's CAS total serves the line rule (S) and the claim rule (C): summed once
    line_cas_total = ZERO
    for line in claim.lines:
        cas_total = line.adjustment_total
        line_cas_total += cas_total
        for finding in balance.check_line(line, claim_id=claim.claim_id, path=path, cas_total=cas_total):
            ctx.attach(finding, claim, line)
    for finding in balance.check_claim_level(claim, path=path, line_cas_total=line_cas_total):
        ctx.attach(finding, claim)


def _between_claims(seg: Segment, ctx: _Context, plbs: list[ProviderAdjustment], totals: RemittanceTotals,
                    in_orphan_line: bool) -> bool:
    """A segment of Table 2 outside any claim (PLB, LX, TS3, SE, or one that does not belong there);
    answers whether the segments that follow are the rest of an SVC with no CLP before it."""
    tag = seg.tag
    if tag == "SVC":
        # an error, not a warning: the line's charge, payment and adjustments are lost, so the
        # file must not pass as clean (exit 0) while money in it was not read
        ctx.find("ERA008", "SVC outside a claim (no CLP before it): the service line and its "
                 "adjustments are not read", seg, loop="2110", severity=Severity.ERROR)
        return True
    if in_orphan_line and tag in _LINE_TAGS:
        return True
    if tag in ("LX", "TS3", "TS2", "SE"):
        pass  # TS3/TS2: provider summary information, not needed for COB; LX01: the caller keeps it
    elif tag == "PLB":
        plb = _plb(seg, ctx)
        plbs.append(plb)
        totals.plb_total += plb.total
    elif tag == "CAS":
        ctx.find("ERA008", "CAS outside a claim (no CLP before it): its adjustments are not read", seg,
                 severity=Severity.ERROR)  # money not read: an error, as for SVC
    else:
        ctx.find("ERA008", f"{tag} not expected between claims; ignored", seg)
    return False


class RemittanceReader:
    """The 835 transaction sets of one file, streamed; iterate it for `Remittance`s.

    `findings` holds the envelope findings (ISA/GS/ST/SE counts, control numbers) and file-level
    ones (ERA001 skipped sets); they are complete once iteration ends. Opening raises EdiError
    when the file cannot be read.
    """

    def __init__(self, reader: X12Reader, *, require_835: bool = True, keep_claims: bool = False) -> None:
        self._reader = reader
        self.path = reader.name
        self.require_835 = require_835
        self.keep_claims = keep_claims
        self._own: list[Finding] = []
        self._consumed = False

    @classmethod
    def open(cls, path: str | Path, *, require_835: bool = True, keep_claims: bool = False) -> "RemittanceReader":
        name = str(path)
        try:
            reader = X12Reader.open(path, name)
        except OSError as exc:
            raise EdiError(f"cannot open: {exc.strerror or exc}", path=name) from exc
        return cls(reader, require_835=require_835, keep_claims=keep_claims)

    @classmethod
    def from_text(cls, text: str, name: str = "<text>", *, require_835: bool = True,
                  keep_claims: bool = False) -> "RemittanceReader":
        return cls(X12Reader.from_text(text, name), require_835=require_835, keep_claims=keep_claims)

    @property
    def findings(self) -> list[Finding]:
        return self._reader.findings + self._own

    @property
    def delimiters(self):
        return self._reader.delimiters

    def __iter__(self) -> Iterator[Remittance]:
        if self._consumed:
            raise RuntimeError("a RemittanceReader can be iterated once")
        self._consumed = True
        count = seen = 0
        # a reader that knows where its sets end (era.clean) hands them over itself
        transactions = getattr(self._reader, "transactions", None)
        for ts in (transactions() if transactions is not None else iter_transactions(self._reader)):
            seen += 1
            if ts.code != "835":
                if self.require_835:
                    raise UnsupportedTransactionError(
                        f"transaction set {ts.code or '(no ST01)'} (ST02 {ts.st.get(2)!r}) is not an 835 "
                        "remittance advice", path=self.path, segment=ts.st.index, line=ts.st.line)
                self._own.append(Finding("ERA001", f"transaction set {ts.code or '(no ST01)'} is not an 835; "
                                         "skipped", Location(self.path, ts.st.index, ts.st.line, "ST", None, "ST01"),
                                         severity_of("ERA001")))
                continue
            count += 1
            remit = Remittance(ts, self.path, count, keep_claims=self.keep_claims)
            yield remit
            # before iter_transactions drains the set: what the caller left still counts (totals, T rule)
            remit.finish()
        if seen == 0:
            raise EdiSyntaxError("no transaction set (ST..SE) in the file", path=self.path)


def read_remittances(path: str | Path, *, require_835: bool = True, keep_claims: bool = False) -> RemittanceReader:
    """Stream the 835s of a file, one Remittance per ST..SE, in constant memory (unless
    `keep_claims`, which lets each remittance's claims() be read again once read through).

    Raises EdiError when the file cannot be opened or is not X12 (EdiSyntaxError, possibly on the
    first iteration), and UnsupportedTransactionError at the first non-835 transaction set when
    `require_835` (the default); with require_835=False such sets are skipped with finding ERA001.
    """
    return RemittanceReader.open(path, require_835=require_835, keep_claims=keep_claims)


def parse_remittances(path: str | Path, *, require_835: bool = True) -> list[Remittance]:
    """Every remittance of a file with its claims kept in memory (small files, tests, explain)."""
    reader = RemittanceReader.open(path, require_835=require_835, keep_claims=True)
    return _all(reader)


def parse_remittance_text(text: str, name: str = "<text>", *, require_835: bool = True) -> list[Remittance]:
    """Like parse_remittances, from X12 text (tests); a bare ST..SE fragment is accepted."""
    return _all(RemittanceReader.from_text(text, name, require_835=require_835, keep_claims=True))


def _all(reader: RemittanceReader) -> list[Remittance]:
    remittances = list(reader)
    for remit in remittances:
        remit.finish()
    return remittances

