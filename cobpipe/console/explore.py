"""The remittance explorer: one 835 read with the `explain` model, one page of claims at a time.

The file is streamed (cobpipe.era.read_remittances) and only the claims of the page asked for are
turned into views and sent to the browser; the rest are counted. Names and member ids are masked
unless the user revealed that claim (explain's own masking, with `show_phi` per claim).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from ..codes import CodeBook
from ..explain.build import ExplainOptions, ViewBuilder, resolve_statuses
from ..explain.view import ClaimView, SectionView

PER_PAGE = 25


@dataclass(slots=True)
class Filters:
    findings_only: bool = False
    statuses: frozenset[str] = frozenset()  # CLP02 codes
    carc: str = ""
    claim_id: str = ""


@dataclass(slots=True)
class Page:
    sections: list[SectionView] = field(default_factory=list)  # headers and payment check (claims not kept)
    claims: list[tuple[int, ClaimView]] = field(default_factory=list)  # (section number, claim) of this page
    matching: int = 0
    total: int = 0
    page: int = 1
    pages: int = 1
    envelope_findings: list = field(default_factory=list)


def parse_filters(args, codebook: CodeBook) -> Filters:
    statuses: frozenset[str] = frozenset()
    raw = (args.get("status") or "").strip()
    if raw:
        try:
            statuses = resolve_statuses([raw], codebook)
        except ValueError:
            statuses = frozenset({"-"})  # nothing matches an unknown status
    return Filters(findings_only=bool(args.get("findings")), statuses=statuses,
                   carc=(args.get("carc") or "").strip().upper()[:5], claim_id=(args.get("claim") or "").strip()[:38])


def _wanted(claim, view: ClaimView | None, filters: Filters, builder: ViewBuilder) -> bool:
    if filters.claim_id and claim.claim_id != filters.claim_id:
        return False
    if filters.statuses and claim.status not in filters.statuses:
        return False
    if filters.carc:
        reasons = {a.reason for a in claim.adjustments}
        for line in claim.lines:
            reasons |= {a.reason for a in line.adjustments}
        if filters.carc not in reasons:
            return False
    if filters.findings_only:
        view = view or builder.claim(claim)
        if not view.errors:
            return False
    return True


def explore(path: Path, codebook: CodeBook, filters: Filters, *, page: int = 1, per_page: int = PER_PAGE,
            revealed: frozenset[str] = frozenset()) -> Page:
    from ..era import read_remittances

    masked = ViewBuilder(codebook, ExplainOptions(show_phi=False))
    shown = ViewBuilder(codebook, ExplainOptions(show_phi=True))
    result = Page(page=max(1, page))
    first = (result.page - 1) * per_page
    reader = read_remittances(path)
    for remit in reader:
        section = SectionView(remit.number, masked.header(remit.header))
        for claim in remit.claims():
            section.claims_total += 1
            result.total += 1
            if not _wanted(claim, None, filters, masked):
                continue
            if first <= result.matching < first + per_page:
                builder = shown if claim.claim_id in revealed else masked
                result.claims.append((remit.number, builder.claim(claim)))
            result.matching += 1
        remit.finish()
        for plb in remit.plbs:
            section.plbs.extend(masked.plbs(plb))
        section.paid_total = remit.totals.paid_total
        section.plb_total = remit.totals.plb_total
        section.findings = [masked.finding(f) for f in remit.findings if f.location.claim is None]
        result.sections.append(section)
    result.envelope_findings = [masked.finding(f) for f in reader.findings]
    result.pages = max(1, -(-result.matching // per_page))
    return result


def payment_check(section: SectionView) -> tuple[bool, Decimal | None, Decimal | None]:
    stated, computed = section.stated_payment, section.computed_payment
    return (stated is not None and computed is not None and stated == computed), stated, computed
