"""Build the explain view from the 835 model (cobpipe.era): words for every code, PHI masked, filters applied."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from cobpipe.codes import CodeBook
from edi.findings import Finding

from .mask import mask_id, mask_name
from .view import (AdjustmentView, ClaimView, ExplainView, FindingView, HeaderView, LineView, PersonView, PlbView,
                   RemarkView, SectionView)

ROLES = {"QC": "patient", "IL": "subscriber", "74": "corrected insured", "GB": "other subscriber"}
#: --status words that are not the `word` column of claim_status.csv
STATUS_ALIASES = {"denial": "denied", "reversed": "reversal", "forwarded": "crossover", "predetermined": "predetermination"}


@dataclass(frozen=True, slots=True)
class ExplainOptions:
    """What to show: claim ids (CLP01) and statuses (CLP02 codes or words) to keep, and whether PHI shows."""

    claim_ids: frozenset[str] = frozenset()
    statuses: frozenset[str] = frozenset()  # CLP02 codes, already resolved from words
    show_phi: bool = False

    @property
    def filtered(self) -> bool:
        return bool(self.claim_ids or self.statuses)


def resolve_statuses(values: Iterable[str], codebook: CodeBook) -> frozenset[str]:
    """--status values (codes like 4, 22 or words like denied, crossover) as CLP02 codes.

    Raises ValueError naming the value no code or word matches.
    """
    codes: set[str] = set()
    statuses = codebook.claim_statuses
    for raw in values:
        for value in (v.strip() for v in raw.split(",")):
            if not value:
                continue
            if value in statuses:
                codes.add(value)
                continue
            word = STATUS_ALIASES.get(value.lower(), value.lower())
            found = {code for code, status in statuses.items() if status.word == word}
            if not found:
                words = sorted({s.word for s in statuses.values()} | set(STATUS_ALIASES))
                raise ValueError(f"{value!r} is not a CLP02 code ({', '.join(statuses)}) or a status word "
                                 f"({', '.join(words)})")
            codes |= found
    return frozenset(codes)


@dataclass(slots=True)
class ViewBuilder:
    """Turns era model objects into view objects; one per explain run."""

    codebook: CodeBook
    options: ExplainOptions = field(default_factory=ExplainOptions)

    # -- codes in words ----------------------------------------------------------------------
    def _describe(self, name: str, code: str) -> str:
        return self.codebook.describe(name, code) if code else ""

    def adjustment(self, adj) -> AdjustmentView:
        group = self.codebook.group.get(adj.group)
        group_text = group.extra.get("name", group.description) if group else f"unknown code {adj.group}"
        return AdjustmentView(adj.group, group_text, adj.reason,
                              self._describe("carc", adj.reason), adj.amount, adj.quantity)

    def remark(self, code: str, source: str) -> RemarkView:
        return RemarkView(code, self._describe("rarc", code), source.split("*")[0])

    def finding(self, finding: Finding) -> FindingView:
        return FindingView(finding.code, finding.message, str(finding.severity), finding.location.segment,
                           getattr(finding, "stated", None), getattr(finding, "computed", None),
                           getattr(finding, "rule", ""))

    def person(self, party) -> PersonView:
        role = ROLES.get(party.entity, party.entity)
        if self.options.show_phi:
            name, ident = " ".join(party.name.split()), party.id.strip()
        else:
            name = mask_name(" ".join(p for p in (party.first_name, party.last_name) if p))
            ident = mask_id(party.id)
        return PersonView(role, name, self._qualifier(party.id_qualifier), ident)

    def _qualifier(self, code: str) -> str:
        """NM108/N103 in words ("NPI", "member id"), or the code itself when we have no words for it."""
        found = self.codebook.list("id_qualifier").get(code) if code else None
        return found.description if found else code

    # -- the model ---------------------------------------------------------------------------
    def header(self, header) -> HeaderView:
        payment, trace = header.payment, header.trace
        payee = header.payee
        return HeaderView(
            payer=header.payer.name.strip(), payer_id=header.payer.id.strip(),
            payee=payee.name.strip(),
            payee_id_qualifier=self._qualifier(payee.id_qualifier),
            payee_id=payee.id.strip(),
            amount=payment.amount, credit_debit=payment.credit_debit,
            method=payment.method, method_text=self._describe("payment_method", payment.method),
            handling=payment.handling, handling_text=self._describe("handling", payment.handling),
            trace_number=trace.number, trace_payer_id=trace.payer_id,
            payment_date=payment.date, production_date=header.production_date,
            control_number=header.envelope.control_number, version=header.envelope.version,
        )

    def wanted(self, claim) -> bool:
        opts = self.options
        if opts.claim_ids and claim.claim_id not in opts.claim_ids:
            return False
        return not opts.statuses or claim.status in opts.statuses

    def claim(self, claim) -> ClaimView:
        status = self.codebook.claim_status(claim.status)
        people = [self.person(p) for p in (claim.patient, claim.insured, claim.corrected_insured,
                                           claim.other_subscriber) if p is not None]
        line_findings = {id(f) for line in claim.lines for f in line.findings}
        line_keys = {_key(f) for line in claim.lines for f in line.findings}
        own = [f for f in claim.findings if id(f) not in line_findings and _key(f) not in line_keys]
        remarks: list[RemarkView] = []
        if claim.moa:
            remarks += [self.remark(code, "MOA") for code in claim.moa.remarks]
        if claim.mia:
            remarks += [self.remark(code, "MIA") for code in claim.mia.remarks]
        return ClaimView(
            id=claim.claim_id,
            status_code=claim.status,
            status=status.description if status else f"unknown code {claim.status}",
            status_word=status.word if status else "",
            charge=claim.charge if claim.charge is not None else Decimal(0),
            paid=claim.paid if claim.paid is not None else Decimal(0),
            patient_responsibility=claim.patient_responsibility,
            filing_indicator=claim.filing_indicator,
            filing_indicator_text=(self._describe("claim_filing_indicator", claim.filing_indicator)
                                   if claim.filing_indicator else ""),
            payer_claim_number=claim.payer_claim_number,
            people=people,
            crossover_to=_org(claim.crossover_carrier),
            corrected_payer=_org(claim.corrected_payer),
            service_from=claim.statement_from,
            service_to=claim.statement_to,
            received=claim.received,
            adjustments=[self.adjustment(a) for a in claim.adjustments],
            remarks=remarks,
            lines=[self.line(line) for line in claim.lines],
            findings=[self.finding(f) for f in own],
            notes=[status.notes] if status and status.notes else [],
            segment=claim.segment or None,
            amounts_given=claim.charge is not None and claim.paid is not None,
        )

    def line(self, line) -> LineView:
        original = line.original_procedure
        return LineView(
            number=line.ordinal,
            procedure=line.procedure.code,
            qualifier=line.procedure.qualifier,
            modifiers=tuple(line.procedure.modifiers),
            billed_procedure=str(original) if original else "",
            charge=line.charge if line.charge is not None else Decimal(0),
            paid=line.paid if line.paid is not None else Decimal(0),
            units=line.units,
            billed_units=line.original_units,
            # the line's own dates, else the claim's statement period, which applies to it
            date_from=line.period[0],
            date_to=line.period[1],
            allowed=line.allowed,
            ref_6r=line.ref_6r,
            adjustments=[self.adjustment(a) for a in line.adjustments],
            remarks=[self.remark(r.code, r.source) for r in line.remarks],
            findings=[self.finding(f) for f in line.findings],
            segment=line.segment or None,
        )

    def plbs(self, plb) -> list[PlbView]:
        return [PlbView(plb.provider_id, plb.fiscal_period_date, adj.reason,
                        self._describe("plb_reason", adj.reason), adj.reference, adj.amount, plb.segment or None)
                for adj in plb.adjustments]


def _key(finding: Finding) -> tuple:
    return (finding.code, finding.message, finding.location.segment)


def _org(party) -> str:
    """An organisation in 2100 (NM1*TT crossover carrier, NM1*PR corrected payer): not PHI."""
    if party is None:
        return ""
    ident = f" ({party.id.strip()})" if party.id.strip() else ""
    return f"{' '.join(party.name.split()) or 'unnamed'}{ident}"


def empty_view(path: str, options: ExplainOptions) -> ExplainView:
    return ExplainView(path, filtered=options.filtered, phi_shown=options.show_phi)


def section_view(number: int, header: HeaderView) -> SectionView:
    return SectionView(number, header)


def explain_file(path: str, codebook: CodeBook, options: ExplainOptions = ExplainOptions()) -> ExplainView:
    """Read an 835 file (streaming) into the explain view, keeping only the claims the options ask for.

    Raises edi.errors.EdiError when the file is not a usable 835.
    """
    from cobpipe.era.parser import read_remittances

    builder = ViewBuilder(codebook, options)
    view = ExplainView(str(path), filtered=options.filtered, phi_shown=options.show_phi)
    reader = read_remittances(path)
    found_ids: dict[str, set[str]] = {}  # --claim id -> the CLP02 codes it has in the file
    for remit in reader:
        section = SectionView(remit.number, builder.header(remit.header))
        seen: Counter[str] = Counter()
        reversed_ids: set[str] = set()
        for claim in remit.claims():
            section.claims_total += 1
            seen[claim.claim_id] += 1
            if claim.claim_id in options.claim_ids:
                found_ids.setdefault(claim.claim_id, set()).add(claim.status)
            status = codebook.claim_status(claim.status)
            if status and status.reversal:
                reversed_ids.add(claim.claim_id)
            if builder.wanted(claim):
                section.claims.append(builder.claim(claim))
        remit.finish()
        for view_claim in section.claims:
            count = seen[view_claim.id]
            if count > 1 and view_claim.id in reversed_ids:
                view_claim.notes.append(f"CLP01 {view_claim.id} appears {count} times in this payment: a reversal "
                                        "and its correction. Secondary billing uses the latest correction.")
            elif count > 1:
                view_claim.notes.append(f"CLP01 {view_claim.id} appears {count} times in this payment: a split "
                                        f"claim. Secondary billing combines the {count} parts.")
        finish_section(section, remit, builder)
        view.sections.append(section)
    view.findings = [builder.finding(f) for f in reader.findings]
    view.missing_claims = missing_claims(options.claim_ids, {claim.id for claim in view.claims}, found_ids)
    return view


def finish_section(section, remit, builder: ViewBuilder) -> None:
    """What a payment section shows once its claims are read: PLBs, totals, and the findings that
    belong to no claim (header, PLB, T rule; claim and line findings are shown with their claim)."""
    for plb in remit.plbs:
        section.plbs.extend(builder.plbs(plb))
    section.paid_total = remit.totals.paid_total
    section.plb_total = remit.totals.plb_total
    section.findings = [builder.finding(f) for f in remit.findings if f.location.claim is None]


def missing_claims(asked: set[str], shown: set[str], found: dict[str, set[str]]) -> list[tuple[str, str]]:
    """(CLP01, why) for each --claim asked for and not shown: not in the file, or left out by --status."""
    missing = []
    for ident in sorted(asked - shown):
        codes = found.get(ident)
        if codes:
            why = (f"claim {ident} is in this file (CLP02 {', '.join(sorted(codes, key=_code_order))}) but not "
                   "with the status asked for (--status)")
        else:
            why = f"no claim {ident} (CLP01) in this file"
        missing.append((ident, why))
    return missing


def _code_order(code: str) -> tuple[int, str]:
    return (int(code), code) if code.isdigit() else (10**6, code)
