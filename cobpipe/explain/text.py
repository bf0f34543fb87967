"""The explain view as plain text for a terminal (100 columns, money right-aligned in columns)."""
from __future__ import annotations

import textwrap
from functools import lru_cache

from . import fmt
from .view import NOT_CHECKED, AdjustmentView, ClaimView, ExplainView, FindingView, LineView, SectionView

WIDTH = 100
MONEY = 13  # width of each money column: Charge, Adjusted, Paid
#  "    #  Procedure                 Dates                  Units"  then 3 money columns
_NUM, _PROC, _DATES, _UNITS = 5, 24, 22, 8
_LEFT = _NUM + 2 + _PROC + _DATES + _UNITS  # where the money columns start
_ADJ_END = _LEFT + 2 * MONEY  # the Adjusted column's right edge


def render_text(view: ExplainView) -> str:
    from .stream import render_view

    return render_view(view, "text")


class TextWriter:
    """The text view written piece by piece (see stream.write_explain): the file's problems and
    every payment's verdict first, then each payment: its header and verdict, its claims one at a
    time, its provider-level adjustments and the payment check."""

    def __init__(self, stream, survey) -> None:
        self.stream = stream
        self.survey = survey
        self.view = survey.view
        self.started = False

    def _write(self, out: list[str]) -> None:
        if out:
            self.stream.write("\n".join(out) + "\n")

    def start(self) -> None:
        view, out = self.view, []
        for finding in view.findings:
            out.append(f"File: {_finding(finding)}")
        for _, why in view.missing_claims:
            _wrapped(out, "Not shown: ", why, indent=0, label_width=0)
        _overview(out, self.survey)
        if not view.sections:
            out.append(f"{view.path}: no 835 transaction sets")
        self._write(out)
        self.started = bool(out)

    def section_start(self, section: SectionView, counts) -> None:
        out = [""] if self.started else []
        _section_head(out, self.view, section, counts, self.survey.findings_only)
        self._write(out)
        self.started = True

    def claim(self, claim: ClaimView) -> None:
        out = [""]
        _claim(out, claim)
        self._write(out)

    def section_end(self, section: SectionView, counts) -> None:
        out: list[str] = []
        if section.plbs:
            out.append("")
            _plbs(out, section)
        out.append("")
        out.append("-" * WIDTH)
        out.append("PAYMENT CHECK (BPR02 = sum of CLP04 - sum of PLB)")
        _total(out, section)
        self._write(out)

    def summary(self) -> None:
        out: list[str] = [""] if self.started else []
        _summary(out, self.survey)
        self._write(out)

    def end(self) -> None:
        pass


def _overview(out: list[str], survey) -> None:
    """The verdict of the whole file, first: each payment that does not balance, and the claims."""
    view, summary = survey.view, survey.summary
    if not view.sections:
        return
    bad = [s for s in view.sections if not s.balanced]
    payments = len(view.sections)
    verdict = (f"{payments} payment{'s' * (payments != 1)}, "
               + ("all balanced" if not bad else f"{len(bad)} DOES NOT BALANCE" if len(bad) == 1
                  else f"{len(bad)} DO NOT BALANCE"))
    _labelled(out, "Verdict", verdict + "; " + _claims_verdict(summary))
    for section in bad:
        prefix = f"payment {section.number}: " if payments > 1 else ""
        _labelled(out, "", prefix + payment_verdict(section))


def _claims_verdict(summary) -> str:
    shown = summary.claims_shown
    text = f"{shown} claim{'s' * (shown != 1)}"
    parts = []
    if summary.claims_not_balanced:
        parts.append(f"{summary.claims_not_balanced} do{'es' * (summary.claims_not_balanced == 1)} not balance")
    if summary.claims_not_checked:
        parts.append(f"{summary.claims_not_checked} not checked (no CLP03/CLP04)")
    with_findings = len(summary.with_findings)
    if with_findings:
        parts.append(f"{with_findings} with findings")
    return text + (": " + ", ".join(parts) if parts else ", all balanced")


def payment_verdict(section: SectionView) -> str:
    """"balanced", or the T rule's finding in its own words ("payment does not balance: BPR02
    stated ..."), the words `convert` reports too."""
    if section.balanced:
        return "balanced"
    messages = [f.message for f in section.findings if f.is_balance_failure]
    return "; ".join(messages) or "payment does not balance"


def _section_head(out: list[str], view: ExplainView, section: SectionView, counts, findings_only: bool) -> None:
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
        ("Payment check", payment_verdict(section)),
        ("Method", fmt.coded(h.method, h.method_text)),
        ("Handling", fmt.coded(h.handling, h.handling_text)),
        ("Check/EFT trace", _join(h.trace_number, f"payer id {h.trace_payer_id}" if h.trace_payer_id else "")),
        ("Payment date", fmt.date(h.payment_date) or "not given (BPR16 empty or not a valid date)"),
        ("Production date", fmt.date(h.production_date) or "not given"),
        ("Claims", claim_count(view, section, counts, findings_only)),
    ]
    for label, value in rows:
        _labelled(out, label, value)


def claim_count(view: ExplainView, section: SectionView, counts, findings_only: bool = False) -> str:
    shown, bad = counts.shown, counts.with_findings
    text = f"{shown} shown" + (f" of {section.claims_total}" if view.filtered else "")
    text += f", {bad} with findings" if bad else ", all balanced" if shown and not counts.not_checked else ""
    if counts.not_checked:
        text += f", {counts.not_checked} not checked (no CLP03/CLP04)"
    if findings_only:
        text += f"; {counts.listed} listed (--findings-only)"
    return text


def _summary(out: list[str], survey) -> None:
    """--summary: totals, every payment's verdict, counts by status and adjustment reason, and
    the claims with findings."""
    view, summary = survey.view, survey.summary
    out.append("=" * WIDTH)
    out.append(f"SUMMARY  {view.path}")
    out.append("=" * WIDTH)
    for section in view.sections:
        h = section.header
        label = f"Payment {section.number}"
        trace = f", trace {h.trace_number}" if h.trace_number else ""
        _labelled(out, label, f"{_join(h.payer)}{trace}: {fmt.payment(h)}; {payment_verdict(section)}")
    _labelled(out, "Claims", f"{summary.claims_shown} shown of {summary.claims_in_file}; "
                             + _claims_verdict(summary))
    _labelled(out, "Charged", fmt.money(summary.charge))
    _labelled(out, "Paid", fmt.money(summary.paid))
    _labelled(out, "Patient resp.", fmt.money(summary.patient_responsibility))
    if summary.by_status:
        out.append("")
        out.append(f"{'By status (CLP02)':<{WIDTH - 3 * MONEY}}{'Claims':>{MONEY}}{'Charge':>{MONEY}}{'Paid':>{MONEY}}")
        for code in sorted(summary.by_status, key=_status_order):
            words, n, charge, paid = summary.by_status[code]
            label = f"  {code:<4}{words}"[: WIDTH - 3 * MONEY - 1]
            out.append(f"{label:<{WIDTH - 3 * MONEY}}{n:>{MONEY}}"
                       f"{fmt.money(charge):>{MONEY}}{fmt.money(paid):>{MONEY}}")
    if summary.by_carc:
        out.append("")
        out.append(f"{'By adjustment (group-CARC)':<{WIDTH - 2 * MONEY}}{'Times':>{MONEY}}{'Amount':>{MONEY}}")
        for key in sorted(summary.by_carc, key=lambda k: -abs(summary.by_carc[k][3])):
            _group, words, n, amount = summary.by_carc[key]
            label = f"  {key:<7}{words}"[: WIDTH - 2 * MONEY - 1]
            out.append(f"{label:<{WIDTH - 2 * MONEY}}{n:>{MONEY}}{fmt.money(amount):>{MONEY}}")
    if summary.with_findings:
        out.append("")
        out.append("Claims with findings")
        for _number, ident, status, verdict, findings in summary.with_findings:
            _labelled(out, f"  {ident}", f"CLP02 {status}, {verdict}", width=20)
            if verdict == "not checked":
                _wrapped(out, "", NOT_CHECKED, indent=20, label_width=0)
            for code, severity, message, segment in findings:
                where = f" (segment {segment})" if segment is not None else ""
                sev = "" if severity == "error" else f"{severity}: "
                _wrapped(out, "", f"{code} {sev}{message}{where}", indent=20, label_width=0)


def _status_order(code: str) -> tuple[int, str]:
    return (int(code), code) if code.isdigit() else (10**6, code)


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
             [(line, f) for line, f in claim.all_findings if not f.is_balance_failure],
             checked=claim.amounts_given)


def _verdict(out: list[str], balanced: bool, failures: list, others: list, checked: bool = True) -> None:
    """Balance: balanced, or each failed rule with its stated and computed amounts; then other findings."""
    _labelled(out, "Balance", "balanced" if balanced and checked else NOT_CHECKED if balanced else
              "DOES NOT BALANCE", indent=2)
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
