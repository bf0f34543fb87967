"""Number, date and label formatting shared by the explain renderers."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from .view import AdjustmentView, ClaimView, HeaderView, LineView

CENT = Decimal("0.01")


def money_plain(value: Decimal | None) -> str | None:
    """Exact money text for JSON: two decimals ("10.50"), more only when the file had more."""
    if value is None:
        return None
    if value.as_tuple().exponent >= -2:  # type: ignore[operator]
        value = value.quantize(CENT)
    text = format(value, "f")
    return "0.00" if text in ("-0.00", "-0") else text


def money(value: Decimal | None) -> str:
    """Money for people: thousands separated, two decimals unless the file had more ("1,680.15")."""
    if value is None:
        return ""
    if value.as_tuple().exponent >= -2:  # type: ignore[operator]
        text = format(value, ",.2f")
        return "0.00" if text == "-0.00" else text
    return format(value, ",f")


def number(value: Decimal | None) -> str:
    """Units and quantities: no needless zeros ("1", "2.5")."""
    if value is None:
        return ""
    text = format(value.normalize(), "f") if value != 0 else "0"
    return text


def date(value: dt.date | None) -> str:
    """Dates the way US billing staff read them: 03/20/2026."""
    return value.strftime("%m/%d/%Y") if value else ""


def date_iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def date_range(start: dt.date | None, end: dt.date | None) -> str:
    if start and end and end != start:
        return f"{date(start)}-{date(end)}"
    return date(start or end)


def procedure(line: LineView) -> str:
    """HC 99213-25-59: qualifier, adjudicated code and modifiers."""
    code = "-".join((line.procedure, *line.modifiers))
    return f"{line.qualifier} {code}".strip()


def adjustment_label(adj: AdjustmentView) -> str:
    return f"{adj.group}-{adj.reason}"


def adjustment_text(adj: AdjustmentView) -> str:
    text = adj.reason_text
    if adj.quantity is not None:
        text += f" (quantity {number(adj.quantity)})"
    return text


def claim_adjusted(claim: ClaimView) -> Decimal:
    """Sum of every CAS amount on the claim, claim level and line level."""
    return sum((a.amount for a in claim.adjustments), Decimal(0)) + sum(
        (line_adjusted(line) for line in claim.lines), Decimal(0))


def line_adjusted(line: LineView) -> Decimal:
    return sum((a.amount for a in line.adjustments), Decimal(0))


def person(p) -> str:
    ident = f", {p.id_qualifier or 'id'} {p.id}" if p.id else ""
    return f"{p.name}{ident}" if p.name else ident.lstrip(", ")


def status_label(claim: ClaimView) -> str:
    return f"{claim.status} (CLP02 {claim.status_code})"


def filing(claim: ClaimView) -> str:
    text = claim.filing_indicator
    return f"{text}: {claim.filing_indicator_text}" if claim.filing_indicator_text else text


def payment(h: HeaderView) -> str:
    """BPR02 with its direction: "1,680.15 credit to the payee"."""
    if h.amount is None:
        return "not given (no BPR02)"
    direction = {"C": "credit to the payee", "D": "debit from the payee"}.get(h.credit_debit, h.credit_debit)
    return f"{money(h.amount)} {direction}".strip()


def stated_label(h: HeaderView) -> str:
    """The label of the signed BPR02 in the payment check: a debit is shown negative, and says so."""
    return "Payment stated (BPR02, BPR03 D: debit)" if h.credit_debit == "D" else "Payment stated (BPR02)"


def coded(code: str, text: str) -> str:
    """A code with our words for it: "ACH: ACH (automated clearing house) transfer"."""
    if not code:
        return "not given"
    return f"{code}: {text}" if text else code


def claim_facts(claim: ClaimView, service_label: str = "Service dates") -> list[tuple[str, str]]:
    """The labelled facts shown under a claim's heading, in every format: its people (masked as the
    view says), payer claim number, filing indicator, dates, crossover and corrected payer."""
    facts: list[tuple[str, str]] = [(p.role.capitalize(), person(p)) for p in claim.people]
    if claim.payer_claim_number:
        facts.append(("Payer claim no.", claim.payer_claim_number))
    if claim.filing_indicator:
        facts.append(("Filing indicator", filing(claim)))
    if claim.service_from or claim.service_to:
        facts.append((service_label, date_range(claim.service_from, claim.service_to)))
    if claim.received:
        facts.append(("Received", date(claim.received)))
    if claim.crossover_to:
        facts.append(("Forwarded to", claim.crossover_to))
    if claim.corrected_payer:
        facts.append(("Corrected payer", f"{claim.corrected_payer} (COB order was wrong)"))
    return facts


def line_notes(line: LineView) -> list[str]:
    """What a service line says besides its amounts: the billed code and units when the payer
    changed them, the allowed amount, the line control number."""
    notes = []
    if line.billed_procedure:
        notes.append(f"billed as {line.billed_procedure}")
    if line.billed_units is not None:
        notes.append(f"billed units {number(line.billed_units)}")
    if line.allowed is not None:
        notes.append(f"allowed {money(line.allowed)}")
    if line.ref_6r:
        notes.append(f"line control no. {line.ref_6r}")
    return notes


def line_prefix(line, message: str) -> str:
    """"line 2: " before a line's finding, unless the message already starts by naming that line."""
    if line is None:
        return ""
    own = f"line {line.number}"
    if message.startswith(own) and message[len(own):len(own) + 1] in (" ", ":", ""):
        return ""
    return own + ": "
