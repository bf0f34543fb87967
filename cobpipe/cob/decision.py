"""The domain of one conversion, below the pipeline that orchestrates it: what a run is asked
(ConvertOptions), what it decides per remitted claim (ClaimDecision and its statuses), and what the
cheap first pass over an ERA found (EraScan). `cobpipe.pipeline` re-exports all of it; modules of
`cob/` import it from here, so nothing below the pipeline imports the pipeline back.
"""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from itertools import repeat
from operator import attrgetter, itemgetter
from pathlib import Path

from edi.findings import FINDINGS_PER_CODE, CappedFindings, Finding
from edi.segment import STANDARD, Delimiters
from edi.writer import InterchangeSettings

CONVERTED, SKIPPED, REJECTED, UNMATCHED = "converted", "skipped", "rejected", "unmatched"
# held: a person must decide (COB order disputed, the 835 is from another payer than the one billed,
# a follow-up to send); paper: billed on a CMS-1500 because the payer takes no electronic secondary
HELD, PAPER = "held", "paper"
STATUSES = (CONVERTED, PAPER, SKIPPED, HELD, REJECTED, UNMATCHED)
NEEDS_A_PERSON = frozenset({HELD, REJECTED, UNMATCHED})  # exit 1


@dataclass(frozen=True, slots=True)
class ConvertOptions:
    bill_zero_balance: bool = False
    today: dt.date | None = None  # adjudication dates after this are rejected; default: today
    delimiters: Delimiters = STANDARD
    interchange: InterchangeSettings | None = None  # default: the original claims' submitter/receiver
    usage: str | None = None  # ISA15; None: follows the inputs (T when the 835 or the original claim is test data)
    validate_ig: bool = True
    now: dt.datetime | None = None  # envelope date/time; fixed in golden tests
    # ERAs with at least this many claims have their output checked by a validator process of its
    # own: beside the conversion, reading the output as it is written (the second core works while
    # the first converts), or, without `validate_alongside`, after it (the converter waits; either
    # way neither process holds both jobs' memory)
    pipe_validation_from: int = 2000
    validate_alongside: bool = True
    # convert only these CLP01s (the rest of the ERA is read but not decided): the jobs' retry of
    # claims an earlier 835 remitted before their 837P was stored
    only_claims: frozenset[str] | None = None
    # the payer list (cobpipe.payers.PayerList): payer identity across 835s and 837Ps, and which
    # payers take electronic secondary claims; None: mappings/payers.csv
    payers: object | None = None
    paper_layout: str = "data"  # CMS-1500: "data" for pre-printed red forms, "full" draws the form
    # claims per ST-SE of the outbound 837P; None: the writer's MAX_CLAIMS_PER_TRANSACTION (the TR3's 5000)
    claims_per_transaction: int | None = None
    # a one-shot run (no ledger) reads the 837Ps the plain way: every segment through the reader
    # into a throwaway ledger, parsed back per claim. The reference the fast path (claim837.index)
    # is tested against; the fast path hands a file to it by itself when it cannot read it exactly.
    plain: bool = False
    # processes one ERA's conversion may use: a large ERA of a clean 835 against a claim index is
    # converted by two at once (cobpipe/split.py), the output the same byte for byte
    processes: int = 1

    @property
    def as_of(self) -> dt.date:
        return self.today or dt.date.today()



def _capped() -> list:
    """A decision's findings: at most 100 per code, then a counted summary (the parsers refuse junk)."""
    return CappedFindings(junk_limit=None)


def _empty_findings() -> CappedFindings:
    """`_capped()` without CappedFindings.__init__'s calls (super().__init__, extend of nothing): one
    per decision made, and per decision the log reads back; tests hold its state to _capped()'s."""
    findings = _NEW_FINDINGS(CappedFindings)
    findings.per_code = FINDINGS_PER_CODE
    findings.junk_limit = None
    findings.counts = {}
    findings.junk = 0
    findings._summaries = {}
    return findings


_NEW_FINDINGS = CappedFindings.__new__


@dataclass(slots=True)
class ClaimDecision:
    """What happened to one remitted claim (CLP01), for the report."""

    claim_id: str
    status: str
    reasons: list[str] = field(default_factory=list)
    payer_id: str | None = None  # the payer the secondary claim was billed to
    era_segment: int | None = None
    findings: list[Finding] = field(default_factory=_empty_findings)  # at most 100 per code, then a count
    # the claim's life (issue 14): who sent the 835 and at which level, its claim number (CLP07),
    # the level and frequency (CLM05-3) billed now, the claim's state after this decision
    era_payer: str | None = None
    era_payer_id: str | None = None  # the id of that payer as the claim knows it (2010BB/2330B NM109)
    era_level: str | None = None
    clp02: str | None = None
    payer_claim_number: str | None = None
    level: str | None = None
    frequency: str = "1"
    state: str | None = None  # "" keeps the claim's state as it was
    crossover_to: str | None = None  # the payer forwarded the claim to ...
    crossover_answered: bool = False  # the forwarded-to payer's own 835 arrived

    def __reduce__(self) -> tuple:
        # the decision log pickles every decision once and reads it back once per report pass: the
        # values as one tuple cost a third of the default slots state (a dict per decision), and the
        # findings most decisions have (none, fresh) are rebuilt rather than pickled
        findings = self.findings
        if not findings and _fresh(findings):
            findings = None
        return (_restore_decision, (
            self.claim_id, self.status, self.reasons, self.payer_id, self.era_segment, findings, self.era_payer,
            self.era_payer_id, self.era_level, self.clp02, self.payer_claim_number, self.level, self.frequency,
            self.state, self.crossover_to, self.crossover_answered))

    @classmethod
    def _pack_block(cls, decisions: list["ClaimDecision"]) -> tuple:
        """Many decisions as plain values for the decision log's one pickle a block: the fields as
        tuples made by one C getter (no __reduce__ call per decision), and only the findings lists
        that are not fresh and empty (nearly all are), by position."""
        rows = list(map(_ROW, decisions))
        findings_lists = list(map(_FINDINGS, decisions))
        if _all_fresh(findings_lists):  # the usual block
            return rows, []
        kept = [(position, findings) for position, findings in enumerate(findings_lists)
                if findings or type(findings) is not CappedFindings or _STATE(findings) != _FRESH_STATE]
        return rows, kept

    @classmethod
    def _unpack_block(cls, packed: tuple) -> list["ClaimDecision"]:
        rows, kept = packed
        if not kept:  # the usual block
            return [cls(*row[:5], _empty_findings(), *row[5:]) for row in rows]
        findings_at = dict(kept)
        return [cls(*row[:5], findings_at[position] if position in findings_at else _empty_findings(), *row[5:])
                for position, row in enumerate(rows)]

    @classmethod
    def _block_rows(cls, packed: tuple) -> list[tuple]:
        """`[d.report_row() for d in cls._unpack_block(packed)]` without making the decisions: the
        report reads a long log once, and needs only their values."""
        rows, kept = packed
        if not kept:  # the usual block
            return list(zip(rows, repeat(())))
        findings_at = dict(kept)
        return [(row, findings_at.get(position) or ()) for position, row in enumerate(rows)]

    def report_row(self) -> tuple:
        """What the end of a conversion reads of the decision: its fields as a tuple in `_ROW`'s
        order and its findings (an empty tuple for none), as `_block_rows` reads them from a block."""
        return _ROW(self), self.findings or ()

    def to_dict(self) -> dict:
        """The decision's report entry (its JSON text: report_json, from its report_row)."""
        data = {"id": self.claim_id, "status": self.status, "reasons": list(self.reasons)}
        if self.payer_id:
            data["payer_id"] = self.payer_id
        if self.level and self.status in (CONVERTED, PAPER):
            data["level"] = self.level
        if self.frequency != "1" and self.status in (CONVERTED, PAPER):
            data["frequency"] = self.frequency
        if self.era_payer:
            data["era_payer"] = self.era_payer
        if self.state:
            data["state"] = self.state
        if self.era_segment is not None:
            data["segment"] = self.era_segment
        if self.findings:
            data["findings"] = [report_finding(f) for f in self.findings]
        return data


def remitted_decision(claim_id: str, status: str, era_segment: int | None, era_payer: str | None,
                      era_level: str | None, clp02: str | None, payer_claim_number: str | None) -> ClaimDecision:
    """`ClaimDecision(claim_id, status, era_segment=..., era_payer=..., era_level=..., clp02=...,
    payer_claim_number=...)`, the decision a remitted claim starts from (one a claim), made with its
    fields given in order: no keyword matching, no default factory asked (tests hold it equal)."""
    return ClaimDecision(claim_id, status, [], None, era_segment, _empty_findings(), era_payer, None, era_level,
                         clp02, payer_claim_number)


def report_json(row: tuple, findings) -> str:
    """`json.dumps(decision.to_dict())` of the decision whose `report_row()` this is. The usual entry
    (no findings) is its id, then a middle remembered by the values it shows (status, reasons, payer,
    level, frequency, 835 payer, state: the claims of an ERA share a few dozen such middles), then
    its segment; `_report_json` makes the text directly for the rest, by to_dict for anything else."""
    era_segment = row[4]
    if findings or not (era_segment is None or type(era_segment) is int):  # noqa: E721 - bool is not
        return _json_of_row(row, findings)
    claim_id, status, reasons = row[:3]
    try:
        middle = _MIDDLES.get((status, row[3], row[5], row[12], row[10], row[11], *reasons))
    except TypeError:  # a value that cannot be a key (not hashable, not iterable): the long way words it
        return _report_json(row, findings)
    if middle is None or type(claim_id) is not str:
        return _report_json(row, findings)
    # one f-string: the entry's text made at once, not a new string at each '+' (an exact int formats
    # as its repr)
    if era_segment is None:
        return f'{{"id": {_string(claim_id)}{middle}}}'
    return f'{{"id": {_string(claim_id)}{middle}, "segment": {era_segment}}}'


def _report_json(row: tuple, findings) -> str:
    """report_json's text made value by value (string values, no findings: one C string encoder a
    value, no dict and no encoder object a claim); the middle kept for report_json when made so."""
    claim_id, status, reasons, payer_id, era_segment, era_payer = row[:6]
    if findings or not (era_segment is None or type(era_segment) is int):  # noqa: E721 - bool is not
        return _json_of_row(row, findings)
    try:
        parts = ['{"id": ', _string(claim_id), ', "status": ', _string(status), ', "reasons": [',
                 ", ".join(map(_string, reasons)), "]"]
        if payer_id:
            parts += (', "payer_id": ', _string(payer_id))
        if status == CONVERTED or status == PAPER:
            level, frequency = row[10], row[11]
            if level:
                parts += (', "level": ', _string(level))
            if frequency != "1":
                parts += (', "frequency": ', _string(frequency))
        if era_payer:
            parts += (', "era_payer": ', _string(era_payer))
        state = row[12]
        if state:
            parts += (', "state": ', _string(state))
    except TypeError:  # a value that is not a string (a test's, or a mistake): as json.dumps words it
        return _json_of_row(row, findings)
    _remember_middle(row, "".join(parts[2:]))
    if era_segment is not None:
        parts += (', "segment": ', int.__repr__(era_segment))
    parts.append("}")
    return "".join(parts)


def _remember_middle(row: tuple, middle: str) -> None:
    """Keeps an entry's middle (from its status to its state) by the values it shows; the key holds
    only hashable values (else nothing is kept), the table is cleared when full."""
    try:
        key = (row[1], row[3], row[5], row[12], row[10], row[11], *row[2])
        hash(key)
    except TypeError:
        return
    if len(_MIDDLES) >= _MIDDLES_LIMIT:
        _MIDDLES.clear()
    _MIDDLES[key] = middle


# (status, payer id, 835 payer, state, level, frequency, *reasons) -> the text of an entry between its
# id and its segment (report_json): equal keys show equal text (a truthy value shown is a str, and
# equal strs encode alike; falsy values show nothing whatever their type)
_MIDDLES: dict[tuple, str] = {}
_MIDDLES_LIMIT = 4096


def _json_of_row(row: tuple, findings) -> str:
    """report_json the reference way: the decision made again, to_dict, json.dumps."""
    return json.dumps(ClaimDecision(*row[:5], findings, *row[5:]).to_dict())


# json.dumps's own string encoder (ensure_ascii, the default): the C one where there is one
_string = json.encoder.encode_basestring_ascii


def _fresh(findings: list) -> bool:
    """An empty findings list exactly as `_capped()` makes it."""
    return (type(findings) is CappedFindings and findings.per_code == FINDINGS_PER_CODE
            and findings.junk_limit is None and not findings.counts and not findings.junk
            and not findings._summaries)


# the fields in __init__'s order without `findings` (the sixth), for _pack_block
_ROW = attrgetter("claim_id", "status", "reasons", "payer_id", "era_segment", "era_payer", "era_payer_id",
                  "era_level", "clp02", "payer_claim_number", "level", "frequency", "state", "crossover_to",
                  "crossover_answered")
_FINDINGS = attrgetter("findings")
# a row's (claim id, payer id, level, frequency, status): record.billed_row of the decision
BILLED_OF_ROW = itemgetter(0, 3, 10, 11, 1)
_STATE = attrgetter("per_code", "junk_limit", "counts", "junk", "_summaries")
_FRESH_STATE = (FINDINGS_PER_CODE, None, {}, 0, {})  # what _fresh() checks, as one comparison




def _all_fresh(findings_lists: list) -> bool:
    """Every list empty exactly as `_capped()` makes it (what _pack_block keeps none of), told by
    passes of C code over the lists (their truth, their types, their states) instead of a step of
    Python code a list."""
    return (not any(findings_lists) and set(map(type, findings_lists)) == {CappedFindings}
            and list(map(_STATE, findings_lists)).count(_FRESH_STATE) == len(findings_lists))


def _restore_decision(claim_id, status, reasons, payer_id, era_segment, findings, *rest) -> ClaimDecision:
    return ClaimDecision(claim_id, status, reasons, payer_id, era_segment,
                         _empty_findings() if findings is None else findings, *rest)


def report_finding(finding: Finding) -> dict:
    """A finding for a report: the file by its name only, so reports do not depend on where they ran."""
    data = finding.to_dict()
    path = data.get("location", {}).get("path")
    if path:
        data["location"]["path"] = Path(path).name
    return data


@dataclass(slots=True)
class EraScan:
    """A first, cheap pass over an ERA: is it a usable 835, and how many CLPs share each CLP01."""

    path: Path
    clp_counts: Counter  # every CLP01, or (`repeated_only`) those of claims split over several CLPs
    findings: list[Finding]
    claims: int = 0  # CLP segments
    usage: str = ""  # ISA15 of the (first) interchange: P production, T test
    # era.clean read the file (it has no finding): the conversion reads it the same way
    clean: object | None = None  # era.clean.CleanScan

    def repeated_only(self) -> "EraScan":
        """The scan as the conversion needs it: counts only for CLP01s seen more than once (their
        parts are held back until the last one is read). A claim id per remitted claim is memory
        that grows with the ERA; the conversion treats an id missing here as seen once."""
        repeated = Counter({claim_id: n for claim_id, n in self.clp_counts.items() if n > 1})
        return EraScan(self.path, repeated, self.findings, self.claims, self.usage, self.clean)
