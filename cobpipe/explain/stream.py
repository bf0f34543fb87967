"""`explain` claim by claim: memory stays flat whatever the size of the 835.

Two passes over the file. The first (`survey`) reads every claim but keeps only what the top of
the page needs before any claim is written: each payment's header, totals, provider-level
adjustments and verdict, how many claims are shown and how many have findings, the CLP01s that
occur more than once (split claims, reversals), and the summary (counts by status and CARC, the
claims with findings). The second pass builds one claim's view at a time and hands it to the
format's writer, which writes it to the output stream and forgets it.

    survey = survey_file(path, codebook, options)
    write_explain(survey, "json", stream, codebook, options)
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TextIO

from cobpipe.codes import CodeBook

from .build import ExplainOptions, ViewBuilder, finish_section, missing_claims
from .view import ClaimView, ExplainView, SectionView

ZERO = Decimal(0)


@dataclass(slots=True)
class SectionCounts:
    """What the head of one payment says about its claims."""

    shown: int = 0  # claims the filters keep
    listed: int = 0  # claims written (--findings-only: those with findings)
    with_findings: int = 0  # shown claims with an error
    not_balanced: int = 0
    not_checked: int = 0
    #: CLP01 -> (times in this payment, one of them is a reversal), for CLP01s seen more than once
    repeated: dict[str, tuple[int, bool]] = field(default_factory=dict)


@dataclass(slots=True)
class Summary:
    """Totals of the shown claims, for `--summary` and the top of every view."""

    claims_in_file: int = 0
    claims_shown: int = 0
    charge: Decimal = ZERO
    paid: Decimal = ZERO
    patient_responsibility: Decimal = ZERO
    #: CLP02 -> [words, claims, charge, paid]
    by_status: dict[str, list] = field(default_factory=dict)
    #: "CO-45" -> [group words, reason words, times, amount] (claim and line CAS)
    by_carc: dict[str, list] = field(default_factory=dict)
    claims_not_balanced: int = 0
    claims_not_checked: int = 0
    #: (payment number, claim id, CLP02, verdict, [(code, severity, message, segment)]) of every
    #: shown claim with a finding (errors and warnings)
    with_findings: list[tuple] = field(default_factory=list)

    def add(self, claim: ClaimView) -> None:
        self.claims_shown += 1
        self.charge += claim.charge
        self.paid += claim.paid
        self.patient_responsibility += claim.patient_responsibility or ZERO
        status = self.by_status.setdefault(claim.status_code, [claim.status, 0, ZERO, ZERO])
        status[1] += 1
        status[2] += claim.charge
        status[3] += claim.paid
        for adj in [*claim.adjustments, *(a for line in claim.lines for a in line.adjustments)]:
            key = f"{adj.group}-{adj.reason}"
            row = self.by_carc.setdefault(key, [adj.group_text, adj.reason_text, 0, ZERO])
            row[2] += 1
            row[3] += adj.amount
        if not claim.balanced:
            self.claims_not_balanced += 1
        elif not claim.amounts_given:
            self.claims_not_checked += 1


@dataclass(slots=True)
class Survey:
    """The first pass: the view without its claims, and everything the top of the page says."""

    view: ExplainView  # sections with headers, PLBs, totals and findings; no claims
    counts: list[SectionCounts]
    summary: Summary
    has_errors: bool  # the exit-code verdict, as ExplainView.has_errors says for the full view
    findings_only: bool = False
    has_findings: bool = False  # as ExplainView.has_findings: has_errors without the missing --claim ids

    def listed(self, claim: ClaimView) -> bool:
        return not self.findings_only or bool(claim.all_findings) or not claim.amounts_given


def _repeat_notes(claim: ClaimView, counts: SectionCounts) -> None:
    count, reversed_ = counts.repeated.get(claim.id, (1, False))
    if count > 1 and reversed_:
        claim.notes.append(f"CLP01 {claim.id} appears {count} times in this payment: a reversal "
                           "and its correction. Secondary billing uses the latest correction.")
    elif count > 1:
        claim.notes.append(f"CLP01 {claim.id} appears {count} times in this payment: a split "
                           f"claim. Secondary billing combines the {count} parts.")


def survey_file(path: str, codebook: CodeBook, options: ExplainOptions = ExplainOptions(),
                findings_only: bool = False) -> Survey:
    """Pass 1: read the whole 835 once, keeping no claim. Raises EdiError when it is not a usable 835."""
    from cobpipe.era.parser import read_remittances

    builder = ViewBuilder(codebook, options)
    view = ExplainView(str(path), filtered=options.filtered, phi_shown=options.show_phi)
    summary = Summary()
    all_counts: list[SectionCounts] = []
    claim_errors = False
    found_ids: dict[str, set[str]] = {}
    shown_ids: set[str] = set()
    reader = read_remittances(path)
    for remit in reader:
        section = SectionView(remit.number, builder.header(remit.header))
        counts = SectionCounts()
        seen: Counter[str] = Counter()
        reversed_ids: set[str] = set()
        for claim in remit.claims():
            section.claims_total += 1
            summary.claims_in_file += 1
            seen[claim.claim_id] += 1
            if claim.claim_id in options.claim_ids:
                found_ids.setdefault(claim.claim_id, set()).add(claim.status)
            status = codebook.claim_status(claim.status)
            if status and status.reversal:
                reversed_ids.add(claim.claim_id)
            if not builder.wanted(claim):
                continue
            shown = builder.claim(claim)
            shown_ids.add(shown.id)
            counts.shown += 1
            summary.add(shown)
            if shown.errors:
                counts.with_findings += 1
                claim_errors = True
            if not shown.balanced:
                counts.not_balanced += 1
            elif not shown.amounts_given:
                counts.not_checked += 1
            if shown.all_findings or not shown.amounts_given:
                summary.with_findings.append((
                    section.number, shown.id, shown.status_code, shown.verdict.lower(),
                    [(f.code, f.severity, f.message, f.segment) for _, f in shown.all_findings]))
            if not findings_only or shown.all_findings or not shown.amounts_given:
                counts.listed += 1
        remit.finish()
        counts.repeated = {ident: (n, ident in reversed_ids) for ident, n in seen.items() if n > 1}
        finish_section(section, remit, builder)
        view.sections.append(section)
        all_counts.append(counts)
    view.findings = [builder.finding(f) for f in reader.findings]
    view.missing_claims = missing_claims(options.claim_ids, shown_ids, found_ids)
    errors = claim_errors or (not view.filtered and (any(f.is_error for f in view.findings)
                                                     or any(s.errors for s in view.sections)))
    return Survey(view, all_counts, summary, bool(view.missing_claims) or errors, findings_only, errors)


def survey_view(view: ExplainView, findings_only: bool = False) -> Survey:
    """The survey of a view already in memory (its claims kept in place)."""
    summary = Summary()
    all_counts = []
    for section in view.sections:
        counts = SectionCounts()
        for claim in section.claims:
            counts.shown += 1
            summary.add(claim)
            counts.with_findings += bool(claim.errors)
            counts.not_balanced += not claim.balanced
            counts.not_checked += claim.balanced and not claim.amounts_given
            if claim.all_findings or not claim.amounts_given:
                summary.with_findings.append((section.number, claim.id, claim.status_code, claim.verdict.lower(),
                                              [(f.code, f.severity, f.message, f.segment)
                                               for _, f in claim.all_findings]))
            counts.listed += not findings_only or bool(claim.all_findings) or not claim.amounts_given
        summary.claims_in_file += section.claims_total
        all_counts.append(counts)
    return Survey(view, all_counts, summary, view.has_errors, findings_only, view.has_findings)


def iter_claims(path: str, codebook: CodeBook, options: ExplainOptions, survey: Survey):
    """Pass 2: (section index, claim view) for every claim to write, one at a time."""
    from cobpipe.era.parser import read_remittances

    builder = ViewBuilder(codebook, options)
    for index, remit in enumerate(read_remittances(path)):
        counts = survey.counts[index]
        for claim in remit.claims():
            if not builder.wanted(claim):
                continue
            shown = builder.claim(claim)
            if survey.listed(shown):
                _repeat_notes(shown, counts)
                yield index, shown


def write_explain(survey: Survey, output_format: str, stream: TextIO, claims, *, summary_only: bool = False) -> None:
    """Write the view: `claims` yields (section index, ClaimView) in file order (iter_claims, or
    the claims of a view in memory)."""
    from .htmlout import HtmlWriter
    from .jsonout import JsonWriter
    from .text import TextWriter

    writer = {"text": TextWriter, "json": JsonWriter, "html": HtmlWriter}[output_format](stream, survey)
    writer.start()
    if summary_only:
        writer.summary()
        writer.end()
        return
    current = -1
    sections = survey.view.sections
    for index, claim in claims:
        while current < index:
            if current >= 0:
                writer.section_end(sections[current], survey.counts[current])
            current += 1
            writer.section_start(sections[current], survey.counts[current])
        writer.claim(claim)
    while current < len(sections) - 1:
        if current >= 0:
            writer.section_end(sections[current], survey.counts[current])
        current += 1
        writer.section_start(sections[current], survey.counts[current])
    if current >= 0:
        writer.section_end(sections[current], survey.counts[current])
    writer.end()


def claims_of(view: ExplainView, survey: Survey):
    """The (section index, claim) pairs of a view in memory, as write_explain takes them."""
    for index, section in enumerate(view.sections):
        for claim in section.claims:
            if survey.listed(claim):
                yield index, claim


def render_view(view: ExplainView, output_format: str, findings_only: bool = False,
                summary_only: bool = False) -> str:
    """A view in memory rendered by the same writers as the stream."""
    import io

    survey = survey_view(view, findings_only)
    buffer = io.StringIO()
    write_explain(survey, output_format, buffer, claims_of(view, survey), summary_only=summary_only)
    return buffer.getvalue()
