"""The explain view as plain text for a terminal (100 columns, money right-aligned in columns)."""
from __future__ import annotations

import textwrap
from functools import lru_cache

from . import fmt
from .view import AdjustmentView, ClaimView, ExplainView, FindingView, LineView, SectionView

WIDTH = 100
MONEY = 13  # width of each money column: Charge, Adjusted, Paid
#  "    #  Procedure                 Dates                  Units"  then 3 money columns
_NUM, _PROC, _DATES, _UNITS = 5, 24, 22, 8
_LEFT = _NUM + 2 + _PROC + _DATES + _UNITS  # where the money columns start
_ADJ_END = _LEFT + 2 * MONEY  # the Adjusted column's right edge


def render_text(view: ExplainView) -> str:
    out: list[str] = []
    for finding in view.findings:
        out.append(f"File: {_finding(finding)}")
    for _, why in view.missing_claims:
        _wrapped(out, "Not shown: ", why, indent=0, label_width=0)
    if view.findings or view.missing_claims:
        out.append("")
    if not view.sections:
        out.append(f"{view.path}: no 835 transaction sets")
    for section in view.sections:
        _section(out, view, section)
    return "\n".join(out).rstrip() + "\n"


def _section(out: list[str], view: ExplainView, section: SectionView) -> None:
    h = section.header
    out.append("=" * WIDTH)
    title = f"835 REMITTANCE {section.number} of {len(view.sections)}"
    where = (f"ST02 {h.control_number}" if h.control_number else "", h.version)
    out.append(" | ".join(x for x in (title, *where) if x))
    out.append("=" * WIDTH)
    _labelled(out, "File", view.path)
    rows = [
        ("Payer", _join(h.payer, f"id {h.payer_id}" if h.payer_id else "")),
        ("Payee", _join(h.payee, f"{h.payee_id_qualifier or 'id'} {h.payee_id}" if h.payee_id else "")),
        ("Payment", fmt.payment(h)),
        ("Method", fmt.coded(h.method, h.method_text)),
        ("Handling", fmt.coded(h.handling, h.handling_text)),
        ("Check/EFT trace", _join(h.trace_number, f"payer id {h.trace_payer_id}" if h.trace_payer_id else "")),
        ("Payment date", fmt.date(h.payment_date) or "not given (BPR16 empty or not a valid date)"),
        ("Production date", fmt.date(h.production_date) or "not given"),
        ("Claims", _claim_count(view, section)),
    ]
    for label, value in rows:
        _labelled(out, label, value)
    for claim in section.claims:
        out.append("")
        _claim(out, claim)
    if section.plbs:
        out.append("")
        _plbs(out, section)
    out.append("")
    out.append("-" * WIDTH)
    out.append("PAYMENT CHECK (BPR02 = sum of CLP04 - sum of PLB)")
    _total(out, section)
    out.append("")


def _claim_count(view: ExplainView, section: SectionView) -> str:
    shown = len(section.claims)
    bad = sum(1 for c in section.claims if c.errors)
    text = f"{shown} shown" + (f" of {section.claims_total}" if view.filtered else "")
    return text + (f", {bad} with findings" if bad else ", all balanced" if shown else "")


def _claim(out: list[str], claim: ClaimView) -> None:
    verdict = claim.verdict
    head = f"CLAIM {claim.id}  {fmt.status_label(claim)}"
    out.append("-" * WIDTH)
    out.append(head[: WIDTH - len(verdict) - 1].ljust(WIDTH - len(verdict)) + verdict)
    out.append("-" * WIDTH)
    facts = fmt.claim_facts(claim)
    for label, value in facts:
        _labelled(out, label, value, indent=2)
    for number, note in enumerate(claim.notes):
        _labelled(out, "Note" if number == 0 else "", note, indent=2)
    out.append("")
    if claim.lines:
        out.append(_grid("#", "Procedure", "Dates", "Units", "Charge", "Adjusted", "Paid"))
    else:
        out.append(_grid("", "No service lines (claim level only)", "", "", "Charge", "Adjusted", "Paid"))
    for line in claim.lines:
        _line(out, line)
    if claim.adjustments:
        out.append(f"{'':{_NUM}}  Claim-level adjustments")
        for adj in claim.adjustments:
            _adjustment(out, adj, indent=_NUM + 4)
    out.append(_grid("", "Claim total", "", "", fmt.money(claim.charge), fmt.money(fmt.claim_adjusted(claim)),
                     fmt.money(claim.paid)))
    if claim.patient_responsibility is not None:
        out.append(_grid("", "Patient responsibility (CLP05)", "", "", "", "",
                         fmt.money(claim.patient_responsibility)))
    for remark in claim.remarks:
        _wrapped(out, "", f"remark {remark.code} ({remark.source}): {remark.text}", indent=_NUM + 2, label_width=0)
    out.append("")
    _verdict(out, claim.balanced, [(line, f) for line, f in claim.all_findings if f.is_balance_failure],
             [(line, f) for line, f in claim.all_findings if not f.is_balance_failure])


def _verdict(out: list[str], balanced: bool, failures: list, others: list) -> None:
    """Balance: balanced, or each failed rule with its stated and computed amounts; then other findings."""
    _labelled(out, "Balance", "balanced" if balanced else "DOES NOT BALANCE", indent=2)
    prefix = " " * 20
    for line, finding in failures:
        _wrapped(out, "", fmt.line_prefix(line, finding.message) + _finding(finding), indent=len(prefix),
                 label_width=0)
    for number, (line, finding) in enumerate(others):
        label = "Findings" if number == 0 else ""
        _wrapped(out, label, fmt.line_prefix(line, finding.message) + _finding(finding), indent=2,
                 label_width=18)


def _line(out: list[str], line: LineView) -> None:
    units = fmt.number(line.units) if line.units is not None else "1"
    procedure = fmt.procedure(line)
    out.append(_grid(str(line.number), procedure, fmt.date_range(line.date_from, line.date_to), units,
                     fmt.money(line.charge), fmt.money(fmt.line_adjusted(line)), fmt.money(line.paid)))
    for adj in line.adjustments:
        _adjustment(out, adj, indent=_NUM + 4)
    notes = fmt.line_notes(line)
    if notes:
        _wrapped(out, "", "; ".join(notes), indent=_NUM + 4, label_width=0)
    for remark in line.remarks:
        _wrapped(out, "", f"remark {remark.code}: {remark.text}", indent=_NUM + 4, label_width=0)
    if not line.balanced:
        out.append(f"{'':{_NUM + 4}}line does not balance (see below)")
    elif line.errors:
        out.append(f"{'':{_NUM + 4}}see the findings below")


def _adjustment(out: list[str], adj: AdjustmentView, indent: int) -> None:
    """`CO-45  words ...` with the amount in the Adjusted column, words wrapped before it."""
    label = fmt.adjustment_label(adj).ljust(7)
    room = _LEFT + MONEY - indent - len(label) - 1
    lines = _wrap(fmt.adjustment_text(adj), room) or [""]
    first = f"{'':{indent}}{label}{lines[0]}"
    out.append(first.ljust(_LEFT + MONEY) + fmt.money(adj.amount).rjust(MONEY))
    for rest in lines[1:]:
        out.append(f"{'':{indent + len(label)}}{rest}")


def _grid(num: str, proc: str, dates: str, units: str, charge: str, adjusted: str, paid: str) -> str:
    left = f"{num:>{_NUM}}  {proc[:_PROC - 1]:<{_PROC}}{dates:<{_DATES}}{units:>{_UNITS - 1}} "
    if len(proc) >= _PROC:  # a long label (totals) may run into the empty dates column
        left = f"{num:>{_NUM}}  {proc:<{_PROC + _DATES}}"[: _LEFT - _UNITS] + f"{units:>{_UNITS - 1}} "
    return (left + charge.rjust(MONEY) + adjusted.rjust(MONEY) + paid.rjust(MONEY)).rstrip()


def _plbs(out: list[str], section: SectionView) -> None:
    out.append("Provider-level adjustments (PLB; a positive amount reduces the payment)")
    for plb in section.plbs:
        words = f"{plb.reason_text}"
        extra = [f"ref {plb.reference}" if plb.reference else "", f"provider {plb.provider}" if plb.provider else "",
                 f"period {fmt.date(plb.fiscal_date)}" if plb.fiscal_date else ""]
        text = f"{words} ({', '.join(x for x in extra if x)})" if any(extra) else words
        label = plb.reason.ljust(4)
        room = WIDTH - MONEY - 4 - len(label) - 1
        lines = _wrap(text, room) or [""]
        out.append(f"  {label}{lines[0]}".ljust(WIDTH - MONEY) + fmt.money(plb.amount).rjust(MONEY))
        for rest in lines[1:]:
            out.append(f"  {'':{len(label)}}{rest}")


def _total(out: list[str], section: SectionView) -> None:
    h = section.header
    computed = section.computed_payment
    rows: list[tuple[str, str]] = []
    if computed is not None:
        rows.append(("Claims paid (sum of CLP04, all claims in the transaction)", fmt.money(section.paid_total)))
        if section.plb_total:
            rows.append(("Less provider-level adjustments (sum of PLB)", fmt.money(section.plb_total)))
        rows.append(("Payment as the claims add up", fmt.money(computed)))
    if section.stated_payment is not None:
        rows.append((fmt.stated_label(h), fmt.money(section.stated_payment)))
    for label, amount in rows:
        out.append(f"  {label:<{WIDTH - MONEY - 2}}{amount:>{MONEY}}")
    out.append("")
    _verdict(out, section.balanced, [(None, f) for f in section.findings if f.is_balance_failure],
             [(None, f) for f in section.findings if not f.is_balance_failure])


def _finding(finding: FindingView) -> str:
    where = f" (segment {finding.segment})" if finding.segment is not None else ""
    severity = "" if finding.severity == "error" else f"{finding.severity}: "
    text = f"{finding.code} {severity}{finding.message}{where}"
    if finding.stated is not None and finding.computed is not None and "stated" not in finding.message:
        text += f"; stated {fmt.money(finding.stated)}, computed {fmt.money(finding.computed)}"
    return text


def _labelled(out: list[str], label: str, value: str, indent: int = 0, width: int = 18) -> None:
    _wrapped(out, label, value, indent=indent, label_width=width)


def _wrapped(out: list[str], label: str, value: str, indent: int, label_width: int) -> None:
    prefix = " " * indent + label.ljust(label_width)
    lines = _wrap(value, WIDTH - len(prefix)) or [""]
    out.append((prefix + lines[0]).rstrip())
    for rest in lines[1:]:
        out.append(" " * len(prefix) + rest)


def _join(*parts: str) -> str:
    first, *rest = [p for p in parts if p] or [""]
    return f"{first} ({', '.join(rest)})" if rest else first


@lru_cache(maxsize=4096)
def _wrap(text: str, width: int) -> list[str]:
    """textwrap.wrap, cached (the same reason texts repeat on every claim) with a fast path."""
    if len(text) <= width and "\n" not in text:
        return [text] if text.strip() else []
    return textwrap.wrap(text, width)
