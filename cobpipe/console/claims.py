"""The secondary claim screen's model: a CMS-1500-like form prefilled from the 835 (or keyed from a
paper EOB) and the original claim, validated on the server, and sent through the pipeline's own
code: `cob.build.build_secondary`, the balancing gate `cob.gate.check_claim`, the 005010X222A1
guide check (`edi.ig`), the 837P writer with the ledger's control numbers, and
`Ledger.record_issued` so a claim is never billed to the same payer twice.

Amounts are Decimal from the first parse to the X12 text; nothing here trusts the browser's sums.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import secrets
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from edi.errors import EdiError
from edi.findings import Severity

from .. import pipeline
from ..claim837.claim import OriginalClaim
from ..cob.build import BuildError, NextPayer, Patient, build_secondary, code
from ..cob.cas import GROUP_CODES_837, Adjustment, CasDoesNotFit
from ..cob.coverage import RELATIONSHIP_CODES, SBR09_CODES, Coverage
from ..cob.decide import next_level, resolve_parts
from ..cob.from_era import billed_lines, remit_claim
from ..cob.gate import ClaimView, check_claim
from ..cob.match import LineMatch, RemittedLine, match_lines
from ..cob.remit import RemitClaim, RemitLine
from ..fsutil import _fsync_dir
from ..ledger import ClaimOutcome, IssuedClaim, Ledger, OutputRecord
from ..fsutil import sha256_of as _sha256

ZERO = Decimal(0)
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("99999999.99")
_REASON = re.compile(r"[A-Z0-9]{1,5}\Z")
_AMOUNT = re.compile(r"-?\d{1,8}(\.\d{1,2})?\Z")
LEVEL_STATUS = {"P": "1", "S": "2", "T": "3"}
PENDING_SUFFIX = ".pending"


class FormError(ValueError):
    """A field the server refuses, with the CMS-1500 box or line it belongs to."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


def parse_amount(text: str | None, where: str, *, required: bool = True, signed: bool = False) -> Decimal | None:
    """Dollars and cents as typed ("10", "10.5", "$1,234.50") -> Decimal; refuses anything else."""
    raw = (text or "").strip().replace("$", "").replace(",", "")
    if not raw:
        if required:
            raise FormError(where, "an amount is required")
        return None
    if not _AMOUNT.match(raw):
        raise FormError(where, f"{text!r} is not an amount in dollars and cents")
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:  # pragma: no cover - the pattern already refuses it
        raise FormError(where, f"{text!r} is not an amount") from exc
    if value < 0 and not signed:
        raise FormError(where, "must not be negative")
    if abs(value) > MAX_AMOUNT:
        raise FormError(where, "is too large")
    return value.quantize(CENT)


def parse_date(text: str | None, where: str) -> dt.date:
    raw = (text or "").strip()
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        pass
    for fmt in ("%m/%d/%Y", "%Y%m%d"):
        with contextlib.suppress(ValueError):
            return dt.datetime.strptime(raw, fmt).date()
    raise FormError(where, f"{text!r} is not a date (YYYY-MM-DD)")


def money(value: Decimal | None) -> str:
    return "" if value is None else f"{value.quantize(CENT)}"


@dataclass(slots=True)
class AdjRow:
    group: str
    reason: str
    amount: Decimal

    def adjustment(self) -> Adjustment:
        return Adjustment(self.group, self.reason, self.amount)


@dataclass(slots=True)
class LineRow:
    """One adjudicated service line (2110 of the 835, or keyed from the paper EOB): which billed
    line (box 24 row) it adjudicates, and what the primary paid and adjusted."""

    billed: int | None  # index of the 2400 it adjudicates
    qualifier: str
    code: str
    modifiers: tuple[str, ...]
    charge: Decimal
    paid: Decimal
    units: Decimal | None = None
    allowed: Decimal | None = None
    service_date: dt.date | None = None
    ref_6r: str = ""
    original_code: str = ""
    adjustments: list[AdjRow] = field(default_factory=list)

    @property
    def adjusted(self) -> Decimal:
        return sum((a.amount for a in self.adjustments), ZERO)

    @property
    def balance(self) -> Decimal:
        """What is left of the line's charge: must be 0.00 (SVC02 = SVC03 + CAS)."""
        return self.charge - self.paid - self.adjusted


@dataclass(slots=True)
class CoverageForm:
    """The payer the secondary claim goes to: an existing 2320 of the claim, or typed in (box 9)."""

    choice: str = ""  # "2320:<n>" or "new"
    payer_name: str = ""
    payer_id: str = ""
    member_id: str = ""
    relationship: str = "18"
    last_name: str = ""
    first_name: str = ""
    group_number: str = ""
    filing_indicator: str = "CI"


@dataclass(slots=True)
class ClaimForm:
    claim_id: str
    mode: str  # "era" (from an 835) or "paper" (keyed from a paper EOB)
    era_sha: str = ""
    original: int = 0  # which stored original claim (several may share CLM01)
    status_code: str = "1"
    payer_claim_number: str = ""
    adjudication_date: dt.date | None = None
    claim_paid: Decimal = ZERO  # used only when no line is adjudicated (claim-level 835)
    claim_adjustments: list[AdjRow] = field(default_factory=list)
    lines: list[LineRow] = field(default_factory=list)
    coverage: CoverageForm = field(default_factory=CoverageForm)

    @property
    def paid(self) -> Decimal:
        return sum((line.paid for line in self.lines), ZERO) if self.lines else self.claim_paid

    @property
    def adjusted(self) -> Decimal:
        return sum((a.amount for a in self.claim_adjustments), ZERO) + sum((l.adjusted for l in self.lines), ZERO)

    @property
    def patient_responsibility(self) -> Decimal:
        total = sum((a.amount for a in self.claim_adjustments if a.group == "PR"), ZERO)
        for line in self.lines:
            total += sum((a.amount for a in line.adjustments if a.group == "PR"), ZERO)
        return total

    def claim_balance(self, charge: Decimal) -> Decimal:
        """CLM02 - paid - every adjustment: must be 0.00."""
        return charge - self.paid - self.adjusted


# --- prefill -----------------------------------------------------------------------------------------

def _procedure_parts(line_loop) -> tuple[str, str, tuple[str, ...]]:
    sv1 = line_loop.segment("SV1")
    parts = sv1.composite(1) if sv1 is not None else []
    return (parts[0] if parts else "", parts[1] if len(parts) > 1 else "",
            tuple(m for m in parts[2:6] if m))


def form_from_remit(original: OriginalClaim, remit: RemitClaim, era_sha: str, index: int,
                    allowed: list | None = None) -> ClaimForm:
    billed = billed_lines(original)
    matched = match_lines(billed, [line.match for line in remit.lines], claim_id=remit.claim_id) \
        if remit.lines else LineMatch([])
    lines = []
    for n, line in enumerate(remit.lines):
        m = line.match
        lines.append(LineRow(
            billed=matched.matches[n] if n < len(matched.matches) else None,
            qualifier=m.qualifier or "HC", code=m.code, modifiers=tuple(m.modifiers), charge=m.charge,
            paid=line.paid, units=line.paid_units, allowed=allowed[n] if allowed else None,
            service_date=m.service_date, ref_6r=m.ref_6r,
            original_code=m.original_code,
            adjustments=[AdjRow(a.group, a.reason, a.amount) for a in line.adjustments]))
    form = ClaimForm(
        claim_id=remit.claim_id, mode="era", era_sha=era_sha, original=index, status_code=remit.status_code,
        payer_claim_number=remit.payer_claim_number, adjudication_date=remit.adjudication_date,
        claim_paid=remit.paid, claim_adjustments=[AdjRow(a.group, a.reason, a.amount) for a in remit.adjustments],
        lines=lines)
    form.coverage = default_coverage(original)
    return form


def form_for_paper(original: OriginalClaim, index: int) -> ClaimForm:
    """Every billed line ready for the primary's paid amount and adjustments, as the paper EOB gives them."""
    level = code(original.sbr, 1) if original.sbr is not None else "P"
    rows = []
    for n, line in enumerate(billed_lines(original)):
        rows.append(LineRow(billed=n, qualifier=line.qualifier or "HC", code=line.code, modifiers=line.modifiers,
                            charge=line.charge, paid=ZERO, units=line.units, service_date=line.service_date,
                            ref_6r=line.ref_6r))
    form = ClaimForm(claim_id=original.id, mode="paper", original=index, status_code=LEVEL_STATUS.get(level, "1"),
                     adjudication_date=None, lines=rows)
    form.coverage = default_coverage(original)
    return form


def default_coverage(original: OriginalClaim) -> CoverageForm:
    """The claim's own 2320 for the next payer level when it has one, else a blank one to fill in."""
    level = code(original.sbr, 1) if original.sbr is not None else "P"
    upcoming = next_level(level) or ""
    for n, loop in enumerate(original.other_payers):
        if loop.first is not None and code(loop.first, 1) == upcoming and loop.child("2330B") is not None:
            return CoverageForm(choice=f"2320:{n}")
    return CoverageForm(choice="new")


def coverage_options(original: OriginalClaim) -> list[dict]:
    """The claim's 2320 payers (box 9d / 11), for the coverage choice; names are organisations."""
    out = []
    for n, loop in enumerate(original.other_payers):
        sbr, payer = loop.first, loop.child("2330B")
        if sbr is None or payer is None or payer.first is None:
            continue
        out.append({"value": f"2320:{n}", "level": code(sbr, 1), "payer_name": payer.first.get(3),
                    "payer_id": payer.first.get(9), "group": sbr.get(3), "filing": code(sbr, 9)})
    return out


# --- the posted form -------------------------------------------------------------------------------

def _indexes(form: dict, prefix: str) -> list[int]:
    found = set()
    pattern = re.compile(re.escape(prefix) + r"(\d{1,3})-")
    for key in form:
        m = pattern.match(key)
        if m:
            found.add(int(m.group(1)))
    return sorted(found)


def _adjustments(form: dict, prefix: str, where: str, errors: list[FormError]) -> list[AdjRow]:
    rows = []
    for k in _indexes(form, prefix):
        group = (form.get(f"{prefix}{k}-group") or "").strip().upper()
        reason = (form.get(f"{prefix}{k}-reason") or "").strip().upper()
        amount_text = form.get(f"{prefix}{k}-amount")
        if not group and not reason and not (amount_text or "").strip():
            continue  # an empty row is no adjustment
        label = f"{where}, adjustment {len(rows) + 1}"
        try:
            if group not in GROUP_CODES_837:
                raise FormError(label, f"group {group or '(empty)'} is not one of {', '.join(GROUP_CODES_837)}")
            if not _REASON.match(reason):
                raise FormError(label, f"reason {reason or '(empty)'} is not a claim adjustment reason code")
            amount = parse_amount(amount_text, label, signed=True)
            if amount == 0:
                raise FormError(label, "an adjustment of 0.00 carries no money: remove it")
            rows.append(AdjRow(group, reason, amount))
        except FormError as exc:
            errors.append(exc)
    return rows


def read_form(data: dict, original: OriginalClaim, mode: str) -> tuple[ClaimForm, list[FormError]]:
    """The posted screen as a ClaimForm; every refused field is in the returned errors (the form keeps
    what could be read, so the screen shows the biller's input back)."""
    errors: list[FormError] = []
    billed = billed_lines(original)
    form = ClaimForm(claim_id=original.id, mode=mode, era_sha=(data.get("era") or "").strip()[:64],
                     original=_int(data.get("original"), 0))
    form.status_code = (data.get("status_code") or "1").strip()[:2] or "1"
    form.payer_claim_number = (data.get("payer_claim_number") or "").strip()[:50]
    try:
        form.adjudication_date = parse_date(data.get("adjudication_date"), "payment date")
    except FormError as exc:
        errors.append(exc)
    try:
        form.claim_paid = parse_amount(data.get("claim_paid"), "claim paid", required=False, signed=True) or ZERO
    except FormError as exc:
        errors.append(exc)
    form.claim_adjustments = _adjustments(data, "cadj-", "claim", errors)
    for n in _indexes(data, "line-"):
        if data.get(f"line-{n}-removed"):
            continue
        where = f"line {len(form.lines) + 1}"
        billed_index = _int(data.get(f"line-{n}-billed"), None)
        if billed_index is not None and not 0 <= billed_index < len(billed):
            errors.append(FormError(where, "names no billed line"))
            billed_index = None
        source = billed[billed_index] if billed_index is not None else None
        row = LineRow(billed=billed_index,
                      qualifier=(data.get(f"line-{n}-qualifier") or (source.qualifier if source else "") or "HC")[:2],
                      code=(data.get(f"line-{n}-code") or (source.code if source else "")).strip().upper()[:48],
                      modifiers=tuple(m for m in (data.get(f"line-{n}-modifiers") or "").upper().split(":") if m)[:4]
                      or (source.modifiers if source else ()),
                      charge=ZERO, paid=ZERO, ref_6r=(data.get(f"line-{n}-ref") or "")[:50],
                      original_code=(data.get(f"line-{n}-original_code") or "")[:48])
        try:
            row.charge = parse_amount(data.get(f"line-{n}-charge"), f"{where} charge")
        except FormError as exc:
            errors.append(exc)
        try:
            row.paid = parse_amount(data.get(f"line-{n}-paid"), f"{where} paid", signed=True)
        except FormError as exc:
            errors.append(exc)
        try:
            row.allowed = parse_amount(data.get(f"line-{n}-allowed"), f"{where} allowed", required=False)
        except FormError as exc:
            errors.append(exc)
        units_text = (data.get(f"line-{n}-units") or "").strip()
        if units_text:
            try:
                row.units = Decimal(units_text)
                if not row.units.is_finite() or row.units <= 0 or row.units > 9999:
                    raise InvalidOperation
            except InvalidOperation:
                errors.append(FormError(f"{where} units", f"{units_text!r} is not a number of units"))
                row.units = None
        date_text = (data.get(f"line-{n}-date") or "").strip()
        if date_text:
            try:
                row.service_date = parse_date(date_text, f"{where} date of service")
            except FormError as exc:
                errors.append(exc)
        elif source is not None:
            row.service_date = source.service_date
        row.adjustments = _adjustments(data, f"line-{n}-adj-", where, errors)
        form.lines.append(row)
    cov = form.coverage
    cov.choice = (data.get("coverage") or "new").strip()
    cov.payer_name = (data.get("cov_payer_name") or "").strip().upper()[:60]
    cov.payer_id = (data.get("cov_payer_id") or "").strip().upper()[:80]
    cov.member_id = (data.get("cov_member_id") or "").strip().upper()[:80]
    cov.relationship = (data.get("cov_relationship") or "18").strip()
    cov.last_name = (data.get("cov_last_name") or "").strip().upper()[:60]
    cov.first_name = (data.get("cov_first_name") or "").strip().upper()[:35]
    cov.group_number = (data.get("cov_group_number") or "").strip().upper()[:50]
    cov.filing_indicator = (data.get("cov_filing_indicator") or "CI").strip().upper()
    return form, errors


def _int(value, default):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


# --- checks, then the pipeline's own code ------------------------------------------------------------

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
        n = _int(cov.choice[5:], -1)
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
    from ..cob.convert import MEDICARE_FILING, loop_payer_of

    if payers is not None and not payers.accepts_electronic_secondary(loop_payer_of(next_payer)):
        return "the payer list says this payer takes no electronic secondary claims"
    priors = len(built.other_payers)
    if next_payer.filing_indicator.upper() in MEDICARE_FILING and priors > 1:
        return f"Medicare as a later payer with {priors} payers primary to it takes such claims on paper"
    return None


class SendRefused(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Sent:
    output: str
    sha256: str
    payer_id: str
    control_numbers: tuple[tuple[str, int], ...]


def send(ledger: Ledger, outbound: Path, built: OriginalClaim, original: OriginalClaim, payer_id: str, *,
         level: str = "", usage: str = "P", on_commit=None, detail: str = "",
         now: dt.datetime | None = None) -> Sent:
    """Write the built claim as its own outbound 837P, the way the jobs publish theirs.

    In one ledger transaction: take ISA13/GS06/ST02, write the interchange to a hidden name in
    outbound/, check it against the 005010X222A1 guide, record output, issued claim and a
    `converted` decision (and `on_commit(sha, name)`, the audit row). A guide error, an issued
    claim already recorded or any failure rolls everything back: the numbers are not used, nothing
    is published. Like the jobs, the claim sent is also stored as a claim (the next payer's 835
    continues from it) and its state set (billed_secondary, ...). After COMMIT the file is renamed
    to its final name (`recover_pending` finishes that rename if the process died in between)."""
    from edi import ig

    from ..claim837.rows import ClaimRows
    from ..claim837.writer import write_claims_837

    outbound.mkdir(parents=True, exist_ok=True)
    now = now or dt.datetime.now()
    stamp = now.strftime("%Y%m%d%H%M%S")
    tmp = outbound / f".console-{stamp}.{secrets.token_hex(6)}.tmp"
    pending: Path | None = None
    try:
        with ledger.transaction():
            if ledger.was_issued(built.id, payer_id):
                raise SendRefused([f"claim {built.id} was already sent to payer {payer_id}"])
            with open(tmp, "w", encoding="utf-8", newline="") as stream:
                summary = write_claims_837([built], stream, pipeline.interchange_for(original, usage), ledger,
                                           now=now)
                stream.flush()
                os.fsync(stream.fileno())
            errors = [f for f in ig.validate_file(tmp, name="secondary claim") if f.severity is Severity.ERROR]
            if errors:
                raise SendRefused([f"005010X222A1 {f.code} {f.location.tag or ''}{f.location.element or ''}: "
                                   f"{f.message}" for f in errors[:8]])
            digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
            name = f"console-{stamp}.{digest[:12]}.837"
            pending = outbound / f".{name}{PENDING_SUFFIX}"
            os.replace(tmp, pending)
            numbers = tuple((str(k), int(n)) for k, n in summary.control_numbers)
            ledger.record_outputs(digest, [OutputRecord(name, "837P", numbers)])
            _record_sent(ledger, digest, IssuedClaim(built.id, payer_id, name, summary.isa13, summary.gs06,
                                                     summary.st02, payer_level=level),
                         "converted", ("console",), detail, on_commit)
            ledger.add_claim_rows(ClaimRows.open(pending), source_hash=digest, issued=True)
    except BaseException:
        _discard(tmp, pending)
        raise
    _publish(pending, outbound / name)
    return Sent(name, digest, payer_id, numbers)


def recover_pending(ledger: Ledger, outbound: Path) -> list[str]:
    """At start: a claim file (837P, or a paper claim's PDF in outbound/paper/) whose transaction
    committed but which was never renamed into place is published; one whose transaction did not
    commit is removed."""
    published = []
    for folder in (outbound, outbound / PAPER_FOLDER):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob(f".console-*{PENDING_SUFFIX}")):
            name = path.name[1:-len(PENDING_SUFFIX)]
            committed = ledger.query("SELECT 1 FROM outputs WHERE name = ?", (name,))
            if committed:
                os.replace(path, folder / name)
                published.append(name)
            else:
                path.unlink(missing_ok=True)
        for path in folder.glob(".console-*.tmp"):
            path.unlink(missing_ok=True)
        if published:
            _fsync_dir(folder)
    return published


PAPER_FOLDER = "paper"  # outbound/paper/, where the drop folder puts its paper claims too


def send_paper(ledger: Ledger, outbound: Path, built: OriginalClaim, payer_id: str, reason: str, *,
               era_path: Path | None = None, level: str = "", on_commit=None, detail: str = "",
               now: dt.datetime | None = None, today: dt.date | None = None) -> Sent:
    """Print the built claim on a CMS-1500 (cobpipe.paper, the pipeline's own renderer) into
    outbound/paper/console-<time>.<sha12>.paper.pdf, followed by the primary's EOB page for this
    claim when it came from an 835 (keyed from a paper EOB: attach that paper EOB). In one ledger
    transaction: record the output, the claim as billed on paper (never billed twice, on paper or
    electronically), the claim itself (the next payer's 835 continues from it), its state and a
    `paper` decision; the PDF is renamed into place after COMMIT, as `send` does with an 837P."""
    from ..era.model import RemittanceHeader
    from ..paper import PaperClaim, write_paper_pdf

    folder = outbound / PAPER_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    now = now or dt.datetime.now()
    stamp = now.strftime("%Y%m%d%H%M%S")
    payments, header = [], RemittanceHeader()
    if era_path is not None:
        from ..era import read_remittances

        for remittance in read_remittances(era_path):
            found = [p for p in remittance.claims() if p.claim_id.strip().upper() == built.id.upper()]
            if found:
                payments, header = found, remittance.header
                break
    tmp = folder / f".console-{stamp}.{secrets.token_hex(6)}.tmp"
    pending: Path | None = None
    try:
        with ledger.transaction():
            if ledger.was_issued(built.id, payer_id):
                raise SendRefused([f"claim {built.id} was already sent to payer {payer_id}"])
            write_paper_pdf([PaperClaim(built, payments, header, reason)], tmp, today=today)
            digest = _sha256(tmp)
            name = f"console-{stamp}.{digest[:12]}.paper.pdf"
            pending = folder / f".{name}{PENDING_SUFFIX}"
            os.replace(tmp, pending)
            ledger.record_outputs(digest, [OutputRecord(name, "paper")])
            _record_sent(ledger, digest, IssuedClaim(built.id, payer_id, name, payer_level=level, channel="paper"),
                         "paper", ("console", reason), detail, on_commit)
            ledger.add_claims([built], source_hash=digest, issued=True)
    except BaseException:
        _discard(tmp, pending)
        raise
    _publish(pending, folder / name)
    return Sent(name, digest, payer_id, ())


def _record_sent(ledger: Ledger, digest: str, issued: IssuedClaim, status: str, reasons: tuple[str, ...],
                 detail: str, on_commit) -> None:
    """Inside the send's transaction: the claim as issued (refused if that payer already had it),
    its state and its decision, then the caller's audit row. (The caller stores the claim's text.)"""
    from ..cob.convert import STATE_OF_LEVEL

    if ledger.record_issued(digest, [issued]) != 1:
        raise SendRefused([f"claim {issued.claim_id} was already sent to payer {issued.payer_id}"])
    ledger.set_claim_state(issued.claim_id, STATE_OF_LEVEL.get(issued.payer_level, "billed_next"), issued.payer_id,
                           detail)
    ledger.record_decisions(digest, [ClaimOutcome(issued.claim_id, status, issued.payer_id, reasons)])
    if on_commit is not None:
        on_commit(digest, issued.output)


def _discard(*paths: Path | None) -> None:
    for path in paths:
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _publish(pending: Path, target: Path) -> None:
    """After COMMIT: the hidden pending file takes its final name (recover_pending does it after a crash)."""
    os.replace(pending, target)
    _fsync_dir(target.parent)


# --- where the 835 of a claim is ------------------------------------------------------------------------

def archived_copy(root: Path, record: dict | None) -> Path | None:
    """The archived copy of a recorded input, 835 or 837P (the jobs note its archive name in the
    file's detail; else it is found by name and SHA-256)."""
    if record is None:
        return None
    archive = root / "archive"
    noted = (record.get("detail") or {}).get("archived")
    if noted:
        candidate = archive / Path(noted).name
        if candidate.is_file() and _sha256(candidate) == record["sha256"]:
            return candidate
    name = Path(record["name"]).stem
    if archive.is_dir():
        for candidate in sorted(archive.iterdir()):
            if candidate.name.startswith(name) and candidate.is_file() and _sha256(candidate) == record["sha256"]:
                return candidate
    return None


def remit_from_835(path: Path, claim_id: str, today: dt.date) -> tuple[RemitClaim | None, list]:
    """The claim's adjudication in that 835, its parts combined as the pipeline combines them, and
    each remitted line's allowed amount (AMT*B6, shown on the screen; the 837P does not carry it)."""
    from ..era import read_remittances

    parts, allowed = [], []
    for remittance in read_remittances(path):
        header = remittance.header
        for payment in remittance.claims():
            if payment.claim_id == claim_id:
                parts.append(remit_claim(payment, header, today))
                allowed.append([line.allowed for line in payment.lines])
    if not parts:
        return None, []
    remit = resolve_parts(parts).claim
    last_reversal = max((i for i, p in enumerate(parts) if p.status_code == "22"), default=-1)
    kept = [a for part in allowed[last_reversal + 1:] for a in part]
    return remit, kept if remit is not None and len(kept) == len(remit.lines) else []


def era_sender(path: Path):
    """The payer that sent an 835 (its first transaction set's 1000A and TRN03), as cob.identity reads it."""
    from ..cob.identity import era_payer
    from ..era import read_remittances

    for remittance in read_remittances(path):
        return era_payer(remittance.header)
    return None


def sender_problem(payers, sender, original: OriginalClaim) -> str | None:
    """Why the claim screen must not bill this original from that 835: the 835 comes from a payer
    the claim names at another level (the pipeline holds such a claim), so it was not the payer the
    claim was billed to. None when it is, or when the ids and names cannot tell (the pipeline then
    goes by CLP02's level, as the screen does)."""
    from ..cob.identity import billed_level, billed_payer, level_word, place

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
