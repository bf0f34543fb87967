"""The claim screen's form: a CMS-1500-like model of the secondary claim's payment section (the
primary's paid amounts and adjustments, by claim and by service line, and the next payer), how it
is prefilled (from the 835, or blank lines for a paper EOB) and how a posted form is read back.

Amounts are Decimal from the first parse on; nothing here trusts the browser's sums. A field the
server refuses is a FormError naming its box or line; read_form keeps what it could read, so the
screen shows the biller's input back with the problems beside it.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from ...claim837.claim import OriginalClaim
from ...cob.build import code
from ...cob.cas import GROUP_CODES_837, Adjustment
from ...cob.decide import next_level
from ...cob.from_era import billed_lines
from ...cob.match import LineMatch, match_lines
from ...cob.remit import RemitClaim

ZERO = Decimal(0)
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("99999999.99")
_REASON = re.compile(r"[A-Z0-9]{1,5}\Z")
_AMOUNT = re.compile(r"-?\d{1,8}(\.\d{1,2})?\Z")
LEVEL_STATUS = {"P": "1", "S": "2", "T": "3"}


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
                     original=to_int(data.get("original"), 0))
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
        billed_index = to_int(data.get(f"line-{n}-billed"), None)
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


def to_int(value, default):
    """A whole number typed or posted (a row index, a page), else `default`."""
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default
