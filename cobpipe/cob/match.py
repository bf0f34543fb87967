"""Line matching: each 835 service line (2110) to the 837P service line (2400) it adjudicates.

Order of evidence (cob-spec §2.5): REF*6R echoed by the payer; else the billed procedure (SVC06
when the payer changed the code, else SVC01) with modifiers, service date, charge and units.
ERAs may drop modifiers, so a unique match on code + date + charge is accepted with a warning.
Ambiguous or missing matches are findings, never guesses — except that billed lines identical in
every compared field are paired in order, since either pairing says the same thing.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from operator import attrgetter

from edi.findings import Finding, Location, Severity


@dataclass(frozen=True, slots=True)
class BilledLine:
    """What matching needs of a 2400 loop."""

    number: str  # LX01
    ref_6r: str
    qualifier: str
    code: str
    modifiers: tuple[str, ...]
    charge: Decimal
    units: Decimal | None
    service_date: dt.date | None


@dataclass(frozen=True, slots=True)
class RemittedLine:
    """What matching needs of a 2110 loop."""

    ordinal: int  # 1-based position of the SVC within its claim
    segment: int | None  # file segment number of SVC, for findings
    ref_6r: str
    qualifier: str
    code: str
    modifiers: tuple[str, ...]
    original_code: str  # SVC06-2, when the payer adjudicated another code than billed
    original_modifiers: tuple[str, ...]
    charge: Decimal
    units: Decimal | None
    service_date: dt.date | None

    @property
    def billed_code(self) -> str:
        return self.original_code or self.code

    @property
    def billed_modifiers(self) -> tuple[str, ...]:
        return self.original_modifiers if self.original_code else self.modifiers


@dataclass(slots=True)
class LineMatch:
    """remitted[i] adjudicates billed[matches[i]]; unmatched entries are None."""

    matches: list[int | None]
    findings: list[Finding] = field(default_factory=list)

    def remitted_for(self, billed_index: int) -> list[int]:
        return [i for i, b in enumerate(self.matches) if b == billed_index]


def match_lines(billed: Sequence[BilledLine], remitted: Sequence[RemittedLine], *, claim_id: str,
                path: str | None = None) -> LineMatch:
    """Each remitted line's billed line, by the evidence above; findings for what does not match.

    The usual claim is answered at once: every line echoed back in the billed order with its own
    REF*6R (each one naming exactly one billed line, every billed line named): remitted line i is
    billed line i, nothing to report. Anything else is weighed line by line (`_match_by_evidence`)."""
    matched = match_by_refs(list(map(_REF_6R, billed)), remitted, [line.code for line in billed])
    if matched is not None:
        return matched
    return _match_by_evidence(billed, remitted, claim_id=claim_id, path=path)


def match_by_refs(billed_refs: list[str], remitted: Sequence[RemittedLine],
                  billed_codes: list[str] | None = None) -> LineMatch | None:
    """match_lines' answer for the usual claim, from the billed lines' REF*6R (convert's fast path:
    from_era.billed_line_refs) and, when given (match_lines), their procedure codes: every remitted
    line names its own billed line, in the billed order, each once (on the procedure billed). None
    for any other claim (match_lines weighs it line by line)."""
    refs = list(map(_REF_6R, remitted))
    if refs and all(refs) and refs == billed_refs and len(set(refs)) == len(refs) and (
            billed_codes is None or list(map(_BILLED_CODE, remitted)) == billed_codes):
        return LineMatch(list(range(len(refs))), [])
    return None


_REF_6R = attrgetter("ref_6r")
_BILLED_CODE = attrgetter("billed_code")


def _match_by_evidence(billed: Sequence[BilledLine], remitted: Sequence[RemittedLine], *, claim_id: str,
                       path: str | None = None) -> LineMatch:
    matches: list[int | None] = [None] * len(remitted)
    findings: list[Finding] = []
    taken: set[int] = set()  # billed lines claimed by a one-to-one (procedure) match
    explicit: set[int] = set()  # billed lines referenced by REF*6R or SVC06 (may take several)

    def where(line: RemittedLine) -> Location:
        return Location(path, line.segment, None, "SVC", "2110", claim=claim_id)

    by_6r: dict[str, list[int]] = {}
    for i, line in enumerate(billed):
        if line.ref_6r:
            by_6r.setdefault(line.ref_6r, []).append(i)
    for r, line in enumerate(remitted):
        if not line.ref_6r:
            continue
        hits = by_6r.get(line.ref_6r, [])
        if len(hits) == 1 and billed[hits[0]].code != line.billed_code and any(
                b.code == line.billed_code for b in billed):
            # the payer echoed a line's REF*6R on another billed line's procedure (a re-coded line
            # names its billed code in SVC06, and a code billed on no line is a re-coding all the
            # same): trusting it would report one line's adjudication on another
            findings.append(Finding("MATCH007", f"REF*6R {line.ref_6r!r} names billed line {billed[hits[0]].number} "
                                    f"({billed[hits[0]].code}), but the payer adjudicated {line.billed_code} on it; "
                                    "matching by procedure instead", where(line), Severity.WARNING))
        elif len(hits) == 1:
            matches[r] = hits[0]
            explicit.add(hits[0])
        elif len(hits) > 1:
            findings.append(Finding("MATCH002", f"REF*6R {line.ref_6r!r} names {len(hits)} billed lines; "
                                    "matching by procedure instead", where(line), Severity.WARNING))
        else:
            findings.append(Finding("MATCH003", f"REF*6R {line.ref_6r!r} names no billed line; matching by "
                                    "procedure instead", where(line), Severity.WARNING))

    def candidates(line: RemittedLine, *, modifiers: bool, date: bool, units: bool) -> list[int]:
        out = []
        for i, b in enumerate(billed):
            if i in taken or i in explicit:
                continue
            if b.code != line.billed_code or (line.qualifier and b.qualifier and b.qualifier != line.qualifier
                                              and not line.original_code):
                continue
            if b.charge != line.charge and not line.original_code:
                continue
            if modifiers and tuple(sorted(b.modifiers)) != tuple(sorted(line.billed_modifiers)):
                continue
            if date and line.service_date and b.service_date and b.service_date != line.service_date:
                continue
            if units and line.units is not None and b.units is not None and b.units != line.units:
                continue
            out.append(i)
        return out

    for r, line in enumerate(remitted):
        if matches[r] is not None:
            continue
        if line.original_code:
            # SVC06 names the billed code: unbundled lines may share one billed line
            hits = [i for i, b in enumerate(billed) if b.code == line.original_code
                    and (not line.service_date or not b.service_date or b.service_date == line.service_date)
                    and i not in taken]
            if len(hits) == 1:
                matches[r] = hits[0]
                explicit.add(hits[0])
                continue
        chosen: int | None = None
        for strict in (True, False):
            hits = candidates(line, modifiers=strict, date=True, units=strict)
            if len(hits) == 1:
                chosen = hits[0]
            elif len(hits) > 1 and _identical([billed[i] for i in hits]):
                chosen = hits[0]
            elif len(hits) > 1:
                findings.append(Finding("MATCH004", f"service line {line.ordinal} ({line.billed_code}) matches "
                                        f"{len(hits)} billed lines equally well", where(line)))
                break
            if chosen is not None:
                if not strict:
                    findings.append(Finding("MATCH005", f"service line {line.ordinal} matched billed line "
                                            f"{billed[chosen].number} on code, date and charge only (modifiers or "
                                            "units differ)", where(line), Severity.WARNING))
                break
        if chosen is None:
            if not any(f.code == "MATCH004" and f.location.segment == line.segment for f in findings):
                findings.append(Finding("MATCH001", f"service line {line.ordinal} ({line.billed_code} "
                                        f"{line.charge}) matches no billed line", where(line)))
            continue
        matches[r] = chosen
        taken.add(chosen)
    for i, line in enumerate(billed):
        if i not in taken and i not in explicit:
            findings.append(Finding("MATCH006", f"billed line {line.number} ({line.code} {line.charge}) has no "
                                    "adjudication in the 835", Location(path, None, None, "LX", "2400",
                                                                        claim=claim_id)))
    return LineMatch(matches, findings)


def _identical(lines: list[BilledLine]) -> bool:
    first = lines[0]
    return all((b.code, tuple(sorted(b.modifiers)), b.charge, b.units, b.service_date) ==
               (first.code, tuple(sorted(first.modifiers)), first.charge, first.units, first.service_date)
               for b in lines[1:])
