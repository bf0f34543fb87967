"""The primary's EOB page attached behind a paper claim: that patient's claim only.

Built with the explain model (cobpipe.explain.build.ViewBuilder over the 835's ClaimPayment and
RemittanceHeader), so the words for statuses, groups and reasons are those `cobpipe explain`
shows. Other claims of the same remittance never appear: only the payments given (the CLP loops of
this claim) are turned into views, and the payment totals of the whole 835 are left out (the
payment amount and trace number are shown, as on any EOB, since they identify the payment).
"""
from __future__ import annotations

import textwrap

WIDTH = 96  # characters per line of the EOB page (Courier 8.5 pt on a letter page)
_NUM, _PROC, _DATES, _UNITS, MONEY = 4, 22, 22, 6, 14
_LEFT = _NUM + 2 + _PROC + _DATES + _UNITS


def eob_lines(item) -> list[str]:
    """The EOB page(s) of one PaperClaim as lines of text (the renderer breaks them into pages)."""
    from ..codes import default_codebook
    from ..explain import fmt
    from ..explain.build import ExplainOptions, ViewBuilder

    builder = ViewBuilder(default_codebook(), ExplainOptions(show_phi=True))
    header = builder.header(item.header)
    out = ["EXPLANATION OF BENEFITS FROM THE PRIOR PAYER",
           f"attached to claim {item.claim.id} (patient account number, box 26); this patient's claim only",
           "=" * WIDTH]
    rows = [
        ("Payer", _join(header.payer, f"id {header.payer_id}" if header.payer_id else "")),
        ("Payee", _join(header.payee, f"{header.payee_id_qualifier or 'id'} {header.payee_id}"
                        if header.payee_id else "")),
        ("Payment", _join(fmt.payment(header), fmt.coded(header.method, header.method_text)
                          if header.method else "")),
        ("Check/EFT trace", header.trace_number),
        ("Payment date", fmt.date(header.payment_date)),
        ("Remittance date", fmt.date(header.production_date)),
    ]
    for label, value in rows:
        if value:
            _labelled(out, label, value)
    for payment in item.payments:
        claim = builder.claim(payment)
        out.append("")
        out.append("-" * WIDTH)
        out.append(f"CLAIM {claim.id}  {fmt.status_label(claim)}")
        out.append("-" * WIDTH)
        for label, value in fmt.claim_facts(claim):
            _labelled(out, label, value, indent=2)
        out.append("")
        if claim.lines:
            out.append(_grid("#", "Procedure", "Dates", "Units", "Charge", "Adjusted", "Paid"))
        else:
            out.append(_grid("", "No service lines (claim level only)", "", "", "Charge", "Adjusted", "Paid"))
        for line in claim.lines:
            units = fmt.number(line.units) if line.units is not None else "1"
            out.append(_grid(str(line.number), fmt.procedure(line), fmt.date_range(line.date_from, line.date_to),
                             units, fmt.money(line.charge), fmt.money(fmt.line_adjusted(line)),
                             fmt.money(line.paid)))
            for adjustment in line.adjustments:
                _adjustment(out, adjustment, fmt)
            notes = fmt.line_notes(line)
            if notes:
                _wrapped(out, "; ".join(notes), _NUM + 4)
            for remark in line.remarks:
                _wrapped(out, f"remark {remark.code}: {remark.text}", _NUM + 4)
        if claim.adjustments:
            out.append(f"{'':{_NUM}}  Claim-level adjustments")
            for adjustment in claim.adjustments:
                _adjustment(out, adjustment, fmt)
        out.append(_grid("", "Claim total", "", "", fmt.money(claim.charge), fmt.money(fmt.claim_adjusted(claim)),
                         fmt.money(claim.paid)))
        if claim.patient_responsibility is not None:
            out.append(_grid("", "Patient responsibility", "", "", "", "", fmt.money(claim.patient_responsibility)))
        for remark in claim.remarks:
            _wrapped(out, f"remark {remark.code} ({remark.source}): {remark.text}", _NUM + 2)
        for note in claim.notes:
            _wrapped(out, note, _NUM + 2)
    return out


def _adjustment(out: list[str], adjustment, fmt) -> None:
    """`CO-45  Contractual obligations: charge over the fee schedule ...   13.00` (amount in the
    Adjusted column, the words wrapped before it)."""
    indent = _NUM + 4
    label = fmt.adjustment_label(adjustment).ljust(7)
    words = f"{adjustment.group_text}: {fmt.adjustment_text(adjustment)}"
    room = _LEFT + MONEY - indent - len(label) - 1
    lines = textwrap.wrap(words, room) or [""]
    out.append(f"{'':{indent}}{label}{lines[0]}".ljust(_LEFT + MONEY) + fmt.money(adjustment.amount).rjust(MONEY))
    for rest in lines[1:]:
        out.append(f"{'':{indent + len(label)}}{rest}")


def _grid(num: str, proc: str, dates: str, units: str, charge: str, adjusted: str, paid: str) -> str:
    if len(proc) >= _PROC:
        left = f"{num:>{_NUM}}  {proc:<{_PROC + _DATES}}"[: _LEFT - _UNITS] + f"{units:>{_UNITS - 1}} "
    else:
        left = f"{num:>{_NUM}}  {proc:<{_PROC}}{dates:<{_DATES}}{units:>{_UNITS - 1}} "
    return (left + charge.rjust(MONEY) + adjusted.rjust(MONEY) + paid.rjust(MONEY)).rstrip()


def _labelled(out: list[str], label: str, value: str, indent: int = 0, width: int = 18) -> None:
    prefix = " " * indent + label.ljust(width)
    lines = textwrap.wrap(value, WIDTH - len(prefix)) or [""]
    out.append((prefix + lines[0]).rstrip())
    out += [" " * len(prefix) + rest for rest in lines[1:]]


def _wrapped(out: list[str], text: str, indent: int) -> None:
    out += [" " * indent + part for part in textwrap.wrap(text, WIDTH - indent)]


def _join(first: str, *rest: str) -> str:
    extra = [r for r in rest if r]
    if not first:
        return ", ".join(extra)
    return f"{first} ({', '.join(extra)})" if extra else first
