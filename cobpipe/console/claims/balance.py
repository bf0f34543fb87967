"""What stands between the claim screen and Send: the biller's errors (each line and the claim must
balance, every billed line adjudicated, a next payer the claim can go to, never one already
billed), then the secondary claim built by the pipeline's own code (`cob.build.build_secondary`)
through its balancing gate (`cob.gate.check_claim`). The 005010X222A1 guide check runs on the
written file at send time (send.py).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from edi.errors import EdiError
from edi.findings import Severity

from ...claim837.claim import OriginalClaim
from ...cob.build import BuildError, NextPayer, Patient, build_secondary, code
from ...cob.cas import CasDoesNotFit
from ...cob.coverage import RELATIONSHIP_CODES, SBR09_CODES, Coverage
from ...cob.decide import next_level
from ...cob.from_era import billed_lines
from ...cob.gate import ClaimView, check_claim
from ...cob.match import LineMatch, RemittedLine
from ...cob.remit import RemitClaim, RemitLine
from .form import ClaimForm, FormError, money, to_int


@dataclass(slots=True)
class Check:
    """What stands between the form and Send: the biller's errors (by box or line), then the gate's
    and the guide's findings on the built claim."""

    errors: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    built: OriginalClaim | None = None
    next_payer: NextPayer | None = None
    paper: str | None = None  # why Send prints this claim on a CMS-1500 instead of sending an 837P

    @property
    def ok(self) -> bool:
        return not self.errors and not self.findings and self.built is not None


def next_payer_of(form: ClaimForm, original: OriginalClaim) -> NextPayer:
    level = code(original.sbr, 1) if original.sbr is not None else "P"
    upcoming = next_level(level)
    if upcoming is None:
        raise FormError("box 11", f"the original claim's payer level {level!r} has no next payer")
    cov = form.coverage
    if cov.choice.startswith("2320:"):
        n = to_int(cov.choice[5:], -1)
        loops = original.other_payers
        if not 0 <= n < len(loops):
            raise FormError("box 9d", "names no other payer of the claim")
        loop = loops[n]
        if loop.first is None or code(loop.first, 1) != upcoming:
            raise FormError("box 9d", f"that payer is not billed at level {upcoming}")
        try:
            return NextPayer.from_2320(loop)
        except BuildError as exc:
            raise FormError("box 9d", str(exc)) from exc
    if not cov.payer_name or not cov.payer_id:
        raise FormError("box 11c / 9d", "the secondary payer's name and payer id are required")
    if not re.fullmatch(r"[A-Z0-9]{2,80}", cov.payer_id):
        raise FormError("box 11c / 9d", "the payer id is letters and digits")
    if not cov.member_id or not re.fullmatch(r"[A-Z0-9-]{2,80}", cov.member_id):
        raise FormError("box 9a", "the member id at the secondary payer is required (letters, digits)")
    if cov.relationship not in RELATIONSHIP_CODES:
        raise FormError("box 6", f"relationship {cov.relationship!r} is not a code the 837P knows")
    if cov.relationship != "18" and not (cov.last_name and cov.first_name):
        raise FormError("box 9", "the other insured's name is required unless the patient is the insured")
    if cov.filing_indicator not in SBR09_CODES:
        raise FormError("box 11c", f"claim filing indicator {cov.filing_indicator!r} is not an SBR09 code")
    coverage = Coverage(payer_name=cov.payer_name, payer_id=cov.payer_id, member_id=cov.member_id,
                        subscriber_last_name=cov.last_name if cov.relationship != "18" else "",
                        subscriber_first_name=cov.first_name if cov.relationship != "18" else "",
                        relationship=cov.relationship, group_number=cov.group_number,
                        filing_indicator=cov.filing_indicator, payer_level=upcoming, source="console")
    return NextPayer.from_coverage(coverage, upcoming, Patient.of(original).name)


def remit_of(form: ClaimForm, original: OriginalClaim) -> tuple[RemitClaim, LineMatch]:
    lines = []
    for n, row in enumerate(form.lines):
        procedure = (row.qualifier or "HC", row.code, *row.modifiers)
        lines.append(RemitLine(
            match=RemittedLine(ordinal=n + 1, segment=None, ref_6r=row.ref_6r, qualifier=row.qualifier or "HC",
                               code=row.code, modifiers=row.modifiers, original_code=row.original_code,
                               original_modifiers=(), charge=row.charge, units=row.units,
                               service_date=row.service_date),
            paid=row.paid, paid_units=row.units, procedure=procedure,
            adjustments=[a.adjustment() for a in row.adjustments]))
    remit = RemitClaim(
        claim_id=form.claim_id, status_code=form.status_code, charge=original.charge, paid=form.paid,
        patient_responsibility=form.patient_responsibility, payer_claim_number=form.payer_claim_number,
        filing_indicator="", adjustments=[a.adjustment() for a in form.claim_adjustments], lines=lines,
        segment=None, adjudication_date=form.adjudication_date)
    return remit, LineMatch([row.billed for row in form.lines])


def check(form: ClaimForm, original: OriginalClaim, form_errors: list[FormError], *,
          today: dt.date, issued=None, payers=None, sender=None) -> Check:
    """Everything the biller must fix before Send, then the built claim through the pipeline's gate.

    The guide check runs on the written file at send time (`send`)."""
    result = Check(errors=[str(e) for e in form_errors])
    wrong_payer = sender_problem(payers, sender, original) if form.mode == "era" else None
    if wrong_payer:
        result.errors.append(wrong_payer)
    try:
        charge = original.charge
        billed = billed_lines(original)
    except EdiError as exc:  # a CLM02 or SV102 that is not an amount: nothing can balance against it
        result.errors.append(f"the original claim cannot be billed onward: {exc.message}")
        return result
    if form.adjudication_date is not None and form.adjudication_date > today:
        result.errors.append("payment date: is in the future")
    if form.adjudication_date is None and not form_errors:
        result.errors.append("payment date: required")
    for n, row in enumerate(form.lines, 1):
        if row.billed is None:
            result.errors.append(f"line {n}: choose the billed line (box 24) it adjudicates")
        if row.balance != 0:
            result.errors.append(f"line {n}: does not balance: charge {money(row.charge)} - paid {money(row.paid)} "
                                 f"- adjustments {money(row.adjusted)} = {money(row.balance)}, must be 0.00")
    if form.lines:
        covered = {row.billed for row in form.lines}
        for n, line in enumerate(billed):
            if n not in covered:
                result.errors.append(f"box 24 line {line.number or n + 1}: no adjudication keyed for it")
    balance = form.claim_balance(charge)
    if balance != 0:
        result.errors.append(f"claim: does not balance: charge {money(charge)} - paid {money(form.paid)} - "
                             f"adjustments {money(form.adjusted)} = {money(balance)}, must be 0.00")
    try:
        next_payer = next_payer_of(form, original)
        result.next_payer = next_payer
    except FormError as exc:
        result.errors.append(str(exc))
        return result
    if issued is not None and issued.was_issued(form.claim_id, next_payer.payer_id):
        result.errors.append(f"already billed: claim {form.claim_id} was sent to payer {next_payer.payer_id} before")
    if result.errors:
        return result
    remit, lines = remit_of(form, original)
    try:
        built = build_secondary(original, remit, next_payer, lines, form.adjudication_date)
    except CasDoesNotFit as exc:
        result.findings.append(f"adjustments do not fit the 837P: {exc}")
        return result
    except (BuildError, EdiError) as exc:
        result.findings.append(str(exc))
        return result
    gate = check_claim(ClaimView.scan(built.claim.iter_segments(), built.sbr), today=today)
    result.findings += [f"{f.code} {f.message}" for f in gate if f.severity is Severity.ERROR]
    result.paper = paper_reason(next_payer, built, payers)  # Send prints it (send_paper), as the pipeline does
    result.built = built
    return result


def paper_reason(next_payer: NextPayer, built: OriginalClaim, payers=None) -> str | None:
    """Why the pipeline would print this claim on paper instead of sending an 837P (its own rule)."""
    from ...cob.convert import MEDICARE_FILING, loop_payer_of

    if payers is not None and not payers.accepts_electronic_secondary(loop_payer_of(next_payer)):
        return "the payer list says this payer takes no electronic secondary claims"
    priors = len(built.other_payers)
    if next_payer.filing_indicator.upper() in MEDICARE_FILING and priors > 1:
        return f"Medicare as a later payer with {priors} payers primary to it takes such claims on paper"
    return None


def sender_problem(payers, sender, original: OriginalClaim) -> str | None:
    """Why the claim screen must not bill this original from that 835: the 835 comes from a payer
    the claim names at another level (the pipeline holds such a claim), so it was not the payer the
    claim was billed to. None when it is, or when the ids and names cannot tell (the pipeline then
    goes by CLP02's level, as the screen does)."""
    from ...cob.identity import billed_level, billed_payer, level_word, place

    if sender is None or payers is None:
        return None
    placement = place(payers, sender, original)
    if placement.billed is not False and not (placement.billed is None and placement.other_level):
        return None
    where = f" (the claim's {level_word(placement.other_level)} payer)" if placement.other_level else ""
    return (f"this 835 is from {sender.describe()}{where}, but this claim was billed to "
            f"{billed_payer(original).describe()} ({level_word(billed_level(original))}): it cannot be billed "
            "onward as if that payer had adjudicated it; open the claim billed to the 835's payer, or key "
            "the right payer's EOB (paper EOB)")
