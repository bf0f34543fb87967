"""The explain view as one self-contained HTML page: inline CSS, no scripts, no external assets.

Meant to be mailed to billing staff and printed, so every value is escaped with html.escape and the
verdicts are words as well as colours (they survive black-and-white printing).
"""
from __future__ import annotations

from html import escape

from . import fmt
from .view import NOT_CHECKED, AdjustmentView, ClaimView, ExplainView, FindingView, LineView, SectionView

CSS = """
:root { --ink: #1d2330; --muted: #5b6475; --line: #d9dde5; --head: #f3f5f8; --ok: #1f7a3a; --ok-bg: #e7f4eb;
  --bad: #a8261b; --bad-bg: #fbe9e7; --accent: #24527a; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 48px; color: var(--ink); background: #fff;
  font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 22px; margin: 0 0 2px; }
h2 { font-size: 18px; margin: 0; color: var(--accent); }
h3 { font-size: 16px; margin: 0; }
.sub { color: var(--muted); margin: 0 0 20px; }
.remit { border-top: 4px solid var(--accent); padding-top: 14px; margin-bottom: 36px; }
.facts { display: grid; grid-template-columns: max-content 1fr max-content 1fr; gap: 4px 18px; margin: 12px 0 16px; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; }
.money, td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.claim { border: 1px solid var(--line); border-radius: 6px; margin: 14px 0; padding: 12px 14px;
  page-break-inside: avoid; break-inside: avoid; }
.claim.bad { border-color: var(--bad); }
.claim-head { display: flex; align-items: baseline; gap: 14px; flex-wrap: wrap; }
.claim-head .status { color: var(--muted); }
.badge { margin-left: auto; font-weight: 600; font-size: 12px; padding: 2px 10px; border-radius: 10px;
  border: 1px solid currentColor; }
.badge.ok { color: var(--ok); background: var(--ok-bg); }
.badge.bad { color: var(--bad); background: var(--bad-bg); }
.people { display: flex; flex-wrap: wrap; gap: 2px 24px; margin: 6px 0 10px; color: var(--muted); }
.people b { color: var(--ink); font-weight: 600; }
table { border-collapse: collapse; width: 100%; }
table.lines { table-layout: fixed; }
col.n { width: 36px; } col.proc { width: 150px; } col.units { width: 64px; } col.amt { width: 112px; }
th, td { padding: 4px 8px; vertical-align: top; }
thead th { background: var(--head); text-align: left; font-weight: 600; border-bottom: 1px solid var(--line); }
tr.line td { border-top: 1px solid var(--line); font-weight: 600; }
tr.adj td, tr.note td { font-size: 13px; padding-top: 1px; padding-bottom: 1px; }
tr.note td { color: var(--muted); }
tr.section td { padding-top: 8px; font-weight: 600; border-top: 1px solid var(--line); }
td.off { color: var(--bad); background: var(--bad-bg); }
tr.note.off td { color: var(--bad); }
.code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; white-space: nowrap; }
tfoot th, tfoot td { border-top: 2px solid var(--ink); font-weight: 600; text-align: left; }
tfoot td.num { text-align: right; }
tfoot tr + tr th, tfoot tr + tr td { border-top: none; font-weight: 400; }
.verdict { margin-top: 10px; padding: 6px 10px; border-radius: 4px; }
.verdict.ok { background: var(--ok-bg); color: var(--ok); }
.verdict.bad { background: var(--bad-bg); color: var(--bad); }
.verdict.warn { background: #fff6df; color: #7a5200; }
.verdict ul { margin: 4px 0 0 18px; padding: 0; color: var(--ink); }
.remarks { margin: 8px 0 0; padding-left: 18px; font-size: 13px; }
.total { margin-top: 18px; max-width: 620px; margin-left: auto; }
.total td:first-child { color: var(--muted); }
.plb { margin-top: 18px; }
.plb h3, .total h3 { margin-bottom: 6px; }
.hint { color: var(--muted); font-size: 12px; }
p.note { margin: 0 0 8px; padding: 4px 10px; border-left: 3px solid var(--accent); background: #f1f5fa; }
@media (max-width: 760px) {
  body { padding: 12px; }
  .facts { grid-template-columns: max-content 1fr; }
  col.proc { width: 110px; } col.amt { width: 84px; } col.units { width: 44px; }
}
@media print {
  body { padding: 0; font-size: 11pt; }
  .remit { page-break-before: auto; }
  .badge, .verdict, td.off { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  thead { display: table-header-group; } tfoot { display: table-row-group; }
  tr, .verdict, .total, .facts, dl, p.note { break-inside: avoid; page-break-inside: avoid; }
  tbody { break-inside: avoid; page-break-inside: avoid; }
  h2, h3, .claim-head { break-after: avoid; page-break-after: avoid; }
}
"""


def render_html(view: ExplainView) -> str:
    from .stream import render_view

    return render_view(view, "html")


class HtmlWriter:
    """The page written piece by piece (stream.write_explain): the verdict of every payment at the
    top, then each payment with its claims one at a time."""

    def __init__(self, stream, survey) -> None:
        self.stream = stream
        self.survey = survey
        self.view = survey.view

    def start(self) -> None:
        view, e = self.view, escape
        body: list[str] = []
        masked = "names and member ids masked" if not view.phi_shown else "names and member ids SHOWN (contains PHI)"
        title = f"835 remittance - {view.path}"
        body.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                    f"<title>{e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>")
        body.append("<h1>835 remittance explained</h1>")
        body.append(f'<p class="sub">{e(view.path)} &middot; {len(view.sections)} payment'
                    f'{"s" if len(view.sections) != 1 else ""} &middot; {e(masked)}'
                    f'{" &middot; filtered" if view.filtered else ""}'
                    f'{" &middot; claims with findings only" if self.survey.findings_only else ""}</p>')
        body.append(_overview(self.survey))
        if view.findings:
            body.append('<div class="verdict bad"><strong>File problems</strong><ul>')
            body.extend(f"<li>{_finding(f)}</li>" for f in view.findings)
            body.append("</ul></div>")
        if view.missing_claims:
            body.append('<div class="verdict bad"><strong>Claims asked for but not shown</strong><ul>')
            body.extend(f"<li>{e(why)}</li>" for _, why in view.missing_claims)
            body.append("</ul></div>")
        if not view.sections:
            body.append("<p>No 835 transaction sets in this file.</p>")
        self.stream.write("\n".join(body) + "\n")

    def section_start(self, section: SectionView, counts) -> None:
        self.stream.write(_section_head(self.view, section, counts, self.survey.findings_only) + "\n")

    def claim(self, claim: ClaimView) -> None:
        self.stream.write(_claim(claim) + "\n")

    def section_end(self, section: SectionView, counts) -> None:
        out = []
        if section.plbs:
            out.append(_plbs(section))
        out.append(_total(section))
        out.append("</section>")
        self.stream.write("\n".join(out) + "\n")

    def summary(self) -> None:
        self.stream.write(_summary(self.survey) + "\n")

    def end(self) -> None:
        self.stream.write("</body>\n</html>\n")


def _overview(survey) -> str:
    """The verdict of the file first: every payment that does not balance, in the findings' words."""
    from .text import _claims_verdict, payment_verdict

    view = survey.view
    if not view.sections:
        return ""
    bad = [s for s in view.sections if not s.balanced]
    claims = escape(_claims_verdict(survey.summary))
    if not bad:
        n = len(view.sections)
        return (f'<div class="verdict ok" id="verdict"><strong>Every payment balances</strong> '
                f"({n} payment{'s' * (n != 1)}); {claims}</div>")
    items = "".join(f"<li>Payment {s.number}: {escape(payment_verdict(s))}</li>" for s in bad)
    return (f'<div class="verdict bad" id="verdict"><strong>{len(bad)} payment{"s" * (len(bad) != 1)} '
            f'do{"es" * (len(bad) == 1)} not balance</strong>; {claims}<ul>{items}</ul></div>')


def _section_head(view: ExplainView, section: SectionView, counts, findings_only: bool) -> str:
    from .text import claim_count, payment_verdict

    e = escape
    h = section.header
    out = ['<section class="remit">']
    who = " to ".join(x for x in (h.payer, h.payee) if x) or "Remittance"
    out.append(f"<h2>Payment {section.number} of {len(view.sections)}: {e(who)}</h2>")
    facts = [
        ("Payer", _join(h.payer, f"id {h.payer_id}" if h.payer_id else "")),
        ("Payee", _join(h.payee, f"{h.payee_id_qualifier or 'id'} {h.payee_id}" if h.payee_id else "")),
        ("Payment", fmt.payment(h)),
        ("Payment check", payment_verdict(section)),
        ("Method", fmt.coded(h.method, h.method_text)),
        ("Handling", fmt.coded(h.handling, h.handling_text)),
        ("Check/EFT trace", _join(h.trace_number, f"payer id {h.trace_payer_id}" if h.trace_payer_id else "")),
        ("Payment date", fmt.date(h.payment_date) or "not given (BPR16 empty or not a valid date)"),
        ("Production date", fmt.date(h.production_date) or "not given"),
        ("Transaction", " ".join(x for x in (f"ST02 {h.control_number}" if h.control_number else "", h.version) if x)),
        ("Claims", claim_count(view, section, counts, findings_only)),
    ]
    out.append('<dl class="facts">' + "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in facts) + "</dl>")
    return "\n".join(out)


def _summary(survey) -> str:
    """--summary as a page section: payments, totals, claims by status and adjustment, claims with findings."""
    from .text import _claims_verdict, payment_verdict

    e = escape
    view, summary = survey.view, survey.summary
    out = ['<section class="remit summary"><h2>Summary</h2><table>',
           '<thead><tr><th>Payment</th><th>Payer</th><th>Trace</th><th class="num">Stated</th>'
           '<th class="num">Computed</th><th>Verdict</th></tr></thead><tbody>']
    for s in view.sections:
        out.append(f"<tr><td>{s.number}</td><td>{e(s.header.payer)}</td><td>{e(s.header.trace_number)}</td>"
                   f'<td class="num">{fmt.money(s.stated_payment)}</td>'
                   f'<td class="num">{fmt.money(s.computed_payment)}</td>'
                   f'<td class="{"" if s.balanced else "off"}">{e(payment_verdict(s))}</td></tr>')
    out.append("</tbody></table>")
    out.append(f"<p>{e(str(summary.claims_shown))} claims shown of {e(str(summary.claims_in_file))}; "
               f"{e(_claims_verdict(summary))}. Charged {fmt.money(summary.charge)}, paid {fmt.money(summary.paid)}, "
               f"patient responsibility {fmt.money(summary.patient_responsibility)}.</p>")
    if summary.by_status:
        out.append('<h3>By status (CLP02)</h3><table><thead><tr><th>Code</th><th>Status</th><th class="num">Claims'
                   '</th><th class="num">Charge</th><th class="num">Paid</th></tr></thead><tbody>')
        for code in sorted(summary.by_status, key=lambda c: (int(c), c) if c.isdigit() else (10**6, c)):
            words, n, charge, paid = summary.by_status[code]
            out.append(f'<tr><td class="code">{e(code)}</td><td>{e(words)}</td><td class="num">{n}</td>'
                       f'<td class="num">{fmt.money(charge)}</td><td class="num">{fmt.money(paid)}</td></tr>')
        out.append("</tbody></table>")
    if summary.by_carc:
        out.append('<h3>By adjustment (group-CARC)</h3><table><thead><tr><th>Code</th><th>Meaning</th>'
                   '<th class="num">Times</th><th class="num">Amount</th></tr></thead><tbody>')
        for key in sorted(summary.by_carc, key=lambda k: -abs(summary.by_carc[k][3])):
            _group, words, n, amount = summary.by_carc[key]
            out.append(f'<tr><td class="code">{e(key)}</td><td>{e(words)}</td><td class="num">{n}</td>'
                       f'<td class="num">{fmt.money(amount)}</td></tr>')
        out.append("</tbody></table>")
    if summary.with_findings:
        out.append('<h3>Claims with findings</h3><table><thead><tr><th>Claim</th><th>CLP02</th><th>Verdict</th>'
                   "<th>Findings</th></tr></thead><tbody>")
        for _number, ident, status, verdict, findings in summary.with_findings:
            items = "".join(f"<li><b>{e(code)}</b> {e(message)}</li>" for code, _sev, message, _seg in findings)
            if verdict == "not checked":
                items += f"<li>{e(NOT_CHECKED)}</li>"
            out.append(f'<tr><td class="code">{e(ident)}</td><td>{e(status)}</td><td>{e(verdict)}</td>'
                       f"<td><ul>{items}</ul></td></tr>")
        out.append("</tbody></table>")
    out.append("</section>")
    return "\n".join(out)


def _claim(claim: ClaimView) -> str:
    e = escape
    ok = claim.ok
    out = [f'<article class="claim {"ok" if ok else "bad"}" id="claim-{e(claim.id, quote=True)}">']
    out.append(f'<div class="claim-head"><h3>Claim {e(claim.id)}</h3>'
               f'<span class="status">{e(fmt.status_label(claim))}</span>'
               f'<span class="badge {"ok" if ok else "bad"}">{e(claim.verdict.capitalize())}</span></div>')
    facts = fmt.claim_facts(claim, service_label="Service")
    if facts:
        out.append('<div class="people">' + "".join(f"<span>{e(k)}: <b>{e(v)}</b></span>" for k, v in facts)
                   + "</div>")
    out.extend(f'<p class="note">{e(note)}</p>' for note in claim.notes)
    out.append('<table class="lines"><colgroup><col class="n"><col class="proc"><col><col class="units">'
               '<col class="amt"><col class="amt"><col class="amt"></colgroup>')
    if claim.lines:
        out.append('<thead><tr><th>#</th><th>Procedure</th><th>Dates</th><th class="num">Units</th>'
                   '<th class="num">Charge</th><th class="num">Adjusted</th><th class="num">Paid</th></tr></thead>')
    else:
        out.append('<thead><tr><th colspan="4">No service lines: adjudicated at claim level</th>'
                   '<th class="num">Charge</th><th class="num">Adjusted</th><th class="num">Paid</th></tr></thead>')
    for line in claim.lines:
        out.append(_line(line))
    if claim.adjustments:
        out.append('<tbody><tr class="section"><td></td><td colspan="6">Claim-level adjustments</td></tr>')
        out.extend(_adjustment(a) for a in claim.adjustments)
        out.append("</tbody>")
    claim_off = any(f.is_balance_failure for f in claim.findings)
    out.append("<tfoot>")
    out.append(f'<tr><th colspan="4">Claim total</th><td class="num">{fmt.money(claim.charge)}</td>'
               f'<td class="num">{fmt.money(fmt.claim_adjusted(claim))}</td>'
               f'<td class="{"num off" if claim_off else "num"}">{fmt.money(claim.paid)}</td></tr>')
    if claim.patient_responsibility is not None:
        out.append(f'<tr><th colspan="6">Patient responsibility (CLP05)</th>'
                   f'<td class="num">{fmt.money(claim.patient_responsibility)}</td></tr>')
    out.append("</tfoot></table>")
    if claim.remarks:
        out.append('<ul class="remarks">' + "".join(
            f'<li>Remark <span class="code">{e(r.code)}</span> {e(r.text)} <span class="hint">({e(r.source)})</span></li>'
            for r in claim.remarks) + "</ul>")
    out.append(_verdict(claim.balanced, claim.all_findings,
                        "Balanced: charge minus adjustments equals the payment, for the claim"
                        + (" and every line." if claim.lines else "."), checked=claim.amounts_given))
    out.append("</article>")
    return "\n".join(out)


def _line(line: LineView) -> str:
    e = escape
    units = fmt.number(line.units) if line.units is not None else "1"
    paid_class = "num" if line.balanced else "num off"
    rows = [f'<tbody><tr class="line"><td>{line.number}</td><td class="code">{e(fmt.procedure(line))}</td>'
            f"<td>{e(fmt.date_range(line.date_from, line.date_to))}</td><td class=\"num\">{e(units)}</td>"
            f'<td class="num">{fmt.money(line.charge)}</td><td class="num">{fmt.money(fmt.line_adjusted(line))}</td>'
            f'<td class="{paid_class}">{fmt.money(line.paid)}</td></tr>']
    rows.extend(_adjustment(a) for a in line.adjustments)
    notes = fmt.line_notes(line)
    if notes:
        rows.append(f'<tr class="note"><td></td><td colspan="6">{e(" · ".join(notes))}</td></tr>')
    for remark in line.remarks:
        rows.append(f'<tr class="note"><td></td><td colspan="6">Remark <span class="code">{e(remark.code)}</span> '
                    f"{e(remark.text)}</td></tr>")
    if not line.balanced:
        rows.append('<tr class="note off"><td></td><td colspan="6">Line does not balance (see below).</td></tr>')
    elif line.errors:
        rows.append('<tr class="note off"><td></td><td colspan="6">See the findings below.</td></tr>')
    rows.append("</tbody>")
    return "\n".join(rows)


def _adjustment(adj: AdjustmentView) -> str:
    e = escape
    return (f'<tr class="adj"><td></td><td class="code">{e(fmt.adjustment_label(adj))}</td>'
            f'<td colspan="3">{e(fmt.adjustment_text(adj))} <span class="hint">{e(adj.group_text)}'
            f'</span></td><td class="num">{fmt.money(adj.amount)}</td><td></td></tr>')


def _plbs(section: SectionView) -> str:
    e = escape
    out = ['<div class="plb"><h3>Provider-level adjustments (PLB)</h3>',
           '<p class="hint">Not part of any claim. A positive amount reduces the payment; a negative one adds '
           "to it.</p>",
           '<table><thead><tr><th>Reason</th><th>Meaning</th><th>Reference</th><th>Provider</th><th>Period</th>'
           '<th class="num">Amount</th></tr></thead><tbody>']
    for plb in section.plbs:
        out.append(f'<tr><td class="code">{e(plb.reason)}</td><td>{e(plb.reason_text)}</td>'
                   f"<td>{e(plb.reference)}</td><td>{e(plb.provider)}</td><td>{e(fmt.date(plb.fiscal_date))}</td>"
                   f'<td class="num">{fmt.money(plb.amount)}</td></tr>')
    out.append("</tbody></table></div>")
    return "\n".join(out)


def _total(section: SectionView) -> str:
    e = escape
    rows = []
    if section.computed_payment is not None:
        rows.append(("Claims paid (sum of CLP04, all claims)", fmt.money(section.paid_total)))
        if section.plb_total:
            rows.append(("Less provider-level adjustments (sum of PLB)", fmt.money(section.plb_total)))
        rows.append(("Payment as the claims add up", fmt.money(section.computed_payment)))
    if section.stated_payment is not None:
        rows.append((fmt.stated_label(section.header), fmt.money(section.stated_payment)))
    out = ['<div class="total"><h3>Payment check</h3><table>']
    out.extend(f'<tr><td>{e(k)}</td><td class="num">{e(v)}</td></tr>' for k, v in rows)
    out.append("</table>")
    out.append(_verdict(section.balanced, [(None, f) for f in section.findings],
                        "Balanced: the payment equals the claims paid less the provider-level adjustments."))
    out.append("</div>")
    return "\n".join(out)


def _verdict(balanced: bool, findings: list, ok_text: str, checked: bool = True) -> str:
    """The balance verdict box, then other findings; line findings say which line."""
    def item(line, finding: FindingView) -> str:
        return f"<li>{escape(fmt.line_prefix(line, finding.message).capitalize())}{_finding(finding)}</li>"

    failures = [item(line, f) for line, f in findings if f.is_balance_failure]
    others = [item(line, f) for line, f in findings if not f.is_balance_failure]
    if balanced and not checked:  # no CLP03/CLP04: nothing to check, never a green box
        out = f'<div class="verdict warn">{escape(NOT_CHECKED[:1].upper() + NOT_CHECKED[1:])}.</div>'
    elif balanced:
        out = f'<div class="verdict ok">{escape(ok_text)}</div>'
    else:
        out = '<div class="verdict bad"><strong>Does not balance</strong><ul>' + "".join(failures) + "</ul></div>"
    if others:
        errors = any(f.is_error for _, f in findings if not f.is_balance_failure)
        out += (f'<div class="verdict {"bad" if errors else "warn"}"><strong>Findings</strong><ul>'
                + "".join(others) + "</ul></div>")
    return out


def _finding(finding: FindingView) -> str:
    e = escape
    where = f" (segment {finding.segment})" if finding.segment is not None else ""
    severity = "" if finding.severity == "error" else f"{finding.severity}: "
    text = f"<b>{e(finding.code)}</b> {e(severity + finding.message)}{e(where)}"
    if finding.stated is not None and finding.computed is not None and "stated" not in finding.message:
        text += e(f"; stated {fmt.money(finding.stated)}, computed {fmt.money(finding.computed)}")
    return text


def _join(*parts: str) -> str:
    first, *rest = [p for p in parts if p] or [""]
    return f"{first} ({', '.join(rest)})" if rest else first
