"""The explain view as JSON: money as exact strings ("10.50"), dates as ISO strings, one object per 835."""
from __future__ import annotations

import json
from typing import Any

from . import fmt
from .view import (AdjustmentView, ClaimView, ExplainView, FindingView, HeaderView, LineView, PersonView, PlbView,
                   RemarkView, SectionView)

SCHEMA_VERSION = 1


def to_dict(view: ExplainView) -> dict[str, Any]:
    """The JSON document of a view in memory (what render_json writes)."""
    return json.loads(render_json(view))


def render_json(view: ExplainView) -> str:
    from .stream import render_view

    return render_view(view, "json")


def _dumps(value: Any, level: int) -> str:
    """JSON of `value` indented by 2 per level, as json.dumps(indent=2) nests it at that depth."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return text.replace("\n", "\n" + "  " * level)


class JsonWriter:
    """The JSON document written piece by piece (stream.write_explain): the same shape as to_dict,
    each claim serialized and written on its own, so no claim list is ever held."""

    def __init__(self, stream, survey) -> None:
        self.stream = stream
        self.survey = survey
        self.view = survey.view
        self.sections_written = 0
        self.claims_written = 0

    def _head(self) -> dict[str, Any]:
        view = self.view
        return {
            "schema": SCHEMA_VERSION,
            "file": view.path,
            "phi_masked": not view.phi_shown,
            "filtered": view.filtered,
            "findings_only": self.survey.findings_only,
            "balanced": not self.survey.has_findings,
            "missing_claims": [{"id": ident, "reason": why} for ident, why in view.missing_claims],
            "findings": [_finding(f) for f in view.findings],
        }

    def start(self) -> None:
        head = json.dumps(self._head(), indent=2, ensure_ascii=False)
        self.stream.write(head[:-2] + ",\n")  # without the closing "\n}"

    def section_start(self, section: SectionView, counts) -> None:
        if self.sections_written == 0:
            self.stream.write('  "transactions": [\n')
        else:
            self.stream.write(",\n")
        self.sections_written += 1
        self.claims_written = 0
        self.stream.write("    {\n" f'      "number": {section.number},\n'
                          f'      "header": {_dumps(_header(section.header), 3)},\n'
                          f'      "verdict": {json.dumps(_payment_verdict(section))},\n'
                          '      "claims": [')

    def claim(self, claim: ClaimView) -> None:
        self.stream.write(("," if self.claims_written else "") + "\n        " + _dumps(_claim(claim), 4))
        self.claims_written += 1

    def section_end(self, section: SectionView, counts) -> None:
        rest = _section_rest(section, counts)
        self.stream.write(("\n      " if self.claims_written else "") + "],\n      "
                          + _dumps(rest, 2)[1:-1].strip() + "\n    }")

    def summary(self) -> None:
        self.stream.write(f'  "summary": {_dumps(summary_dict(self.survey), 1)}')
        self.sections_written = -1

    def end(self) -> None:
        if self.sections_written > 0:
            self.stream.write("\n  ]\n}\n")
        elif self.sections_written == 0:
            self.stream.write('  "transactions": []\n}\n')
        else:
            self.stream.write("\n}\n")


def _payment_verdict(section: SectionView) -> str:
    return "balanced" if section.balanced else "does not balance"


def _section_rest(section: SectionView, counts) -> dict[str, Any]:
    return {
        "claims_in_transaction": section.claims_total,
        "claims_shown": counts.shown,
        "claims_with_findings": counts.with_findings,
        "plbs": [_plb(p) for p in section.plbs],
        "total": {
            "stated": fmt.money_plain(section.stated_payment),  # signed like "computed" (BPR03 D: negative)
            "claims_paid": fmt.money_plain(section.paid_total),
            "plb": fmt.money_plain(section.plb_total),
            "computed": fmt.money_plain(section.computed_payment),
            "balanced": section.balanced,
        },
        "findings": [_finding(f) for f in section.findings],
    }


def summary_dict(survey) -> dict[str, Any]:
    """--summary as JSON: every payment's verdict and totals, claims by status and by adjustment,
    and the claims with findings."""
    view, summary = survey.view, survey.summary
    return {
        "payments": [{
            "number": s.number, "payer": s.header.payer, "trace_number": s.header.trace_number,
            "control_number": s.header.control_number,
            "stated": fmt.money_plain(s.stated_payment), "computed": fmt.money_plain(s.computed_payment),
            "balanced": s.balanced, "verdict": _payment_verdict(s),
            "claims_in_transaction": s.claims_total, "claims_shown": c.shown, "claims_with_findings": c.with_findings,
            "findings": [_finding(f) for f in s.findings],
        } for s, c in zip(view.sections, survey.counts)],
        "claims": {"in_file": summary.claims_in_file, "shown": summary.claims_shown,
                   "with_findings": len(summary.with_findings), "not_balanced": summary.claims_not_balanced,
                   "not_checked": summary.claims_not_checked},
        "totals": {"charge": fmt.money_plain(summary.charge), "paid": fmt.money_plain(summary.paid),
                   "patient_responsibility": fmt.money_plain(summary.patient_responsibility)},
        "by_status": [{"status_code": code, "status": words, "claims": n, "charge": fmt.money_plain(charge),
                       "paid": fmt.money_plain(paid)}
                      for code, (words, n, charge, paid) in sorted(summary.by_status.items(),
                                                                   key=lambda kv: _order(kv[0]))],
        "by_adjustment": [{"group": key.split("-", 1)[0], "reason": key.split("-", 1)[1], "group_text": group,
                           "reason_text": words, "times": n, "amount": fmt.money_plain(amount)}
                          for key, (group, words, n, amount) in sorted(summary.by_carc.items(),
                                                                       key=lambda kv: -abs(kv[1][3]))],
        "claims_with_findings": [{
            "payment": number, "id": ident, "status_code": status, "verdict": verdict,
            "findings": [{"code": code, "severity": severity, "message": message, "segment": segment}
                         for code, severity, message, segment in findings],
        } for number, ident, status, verdict, findings in summary.with_findings],
    }


def _order(code: str) -> tuple[int, str]:
    return (int(code), code) if code.isdigit() else (10**6, code)


def _section(section: SectionView) -> dict[str, Any]:
    return {
        "number": section.number,
        "header": _header(section.header),
        "claims": [_claim(c) for c in section.claims],
        "claims_in_transaction": section.claims_total,
        "plbs": [_plb(p) for p in section.plbs],
        "total": {
            "stated": fmt.money_plain(section.stated_payment),  # signed like "computed" (BPR03 D: negative)
            "claims_paid": fmt.money_plain(section.paid_total),
            "plb": fmt.money_plain(section.plb_total),
            "computed": fmt.money_plain(section.computed_payment),
            "balanced": section.balanced,
        },
        "findings": [_finding(f) for f in section.findings],
    }


def _header(h: HeaderView) -> dict[str, Any]:
    return {
        "payer": h.payer,
        "payer_id": h.payer_id,
        "payee": h.payee,
        "payee_id_qualifier": h.payee_id_qualifier,
        "payee_id": h.payee_id,
        "payment_amount": fmt.money_plain(h.amount),
        "credit_debit": h.credit_debit,
        "payment_method": h.method,
        "payment_method_text": h.method_text,
        "handling": h.handling,
        "handling_text": h.handling_text,
        "trace_number": h.trace_number,
        "trace_payer_id": h.trace_payer_id,
        "payment_date": fmt.date_iso(h.payment_date),
        "production_date": fmt.date_iso(h.production_date),
        "control_number": h.control_number,
        "version": h.version,
    }


def _claim(c: ClaimView) -> dict[str, Any]:
    return {
        "id": c.id,
        "status_code": c.status_code,
        "status": c.status,
        "status_word": c.status_word,
        "charge": fmt.money_plain(c.charge),
        "paid": fmt.money_plain(c.paid),
        "patient_responsibility": fmt.money_plain(c.patient_responsibility),
        "filing_indicator": c.filing_indicator,
        "filing_indicator_text": c.filing_indicator_text,
        "payer_claim_number": c.payer_claim_number,
        "people": [_person(p) for p in c.people],
        "crossover_to": c.crossover_to,
        "corrected_payer": c.corrected_payer,
        "service_from": fmt.date_iso(c.service_from),
        "service_to": fmt.date_iso(c.service_to),
        "received": fmt.date_iso(c.received),
        "adjustments": [_adjustment(a) for a in c.adjustments],
        "remarks": [_remark(r) for r in c.remarks],
        "lines": [_line(line) for line in c.lines],
        "notes": list(c.notes),
        "balanced": c.balanced if c.amounts_given or not c.balanced else None,  # null: not checked
        "verdict": c.verdict.lower(),
        "findings": [_finding(f, line.number if line else None) for line, f in c.all_findings],
        "segment": c.segment,
    }


def _line(line: LineView) -> dict[str, Any]:
    return {
        "number": line.number,
        "qualifier": line.qualifier,
        "procedure": line.procedure,
        "modifiers": list(line.modifiers),
        "billed_procedure": line.billed_procedure,
        "charge": fmt.money_plain(line.charge),
        "paid": fmt.money_plain(line.paid),
        "units": fmt.number(line.units) if line.units is not None else None,
        "billed_units": fmt.number(line.billed_units) if line.billed_units is not None else None,
        "date_from": fmt.date_iso(line.date_from),
        "date_to": fmt.date_iso(line.date_to),
        "allowed": fmt.money_plain(line.allowed),
        "ref_6r": line.ref_6r,
        "adjustments": [_adjustment(a) for a in line.adjustments],
        "remarks": [_remark(r) for r in line.remarks],
        "balanced": line.balanced,
        "findings": [_finding(f) for f in line.findings],
        "segment": line.segment,
    }


def _adjustment(a: AdjustmentView) -> dict[str, Any]:
    return {
        "group": a.group,
        "group_text": a.group_text,
        "reason": a.reason,
        "reason_text": a.reason_text,
        "amount": fmt.money_plain(a.amount),
        "quantity": fmt.number(a.quantity) if a.quantity is not None else None,
    }


def _remark(r: RemarkView) -> dict[str, Any]:
    return {"code": r.code, "text": r.text, "source": r.source}


def _person(p: PersonView) -> dict[str, Any]:
    return {"role": p.role, "name": p.name, "id_qualifier": p.id_qualifier, "id": p.id}


def _plb(p: PlbView) -> dict[str, Any]:
    return {
        "provider": p.provider,
        "fiscal_date": fmt.date_iso(p.fiscal_date),
        "reason": p.reason,
        "reason_text": p.reason_text,
        "reference": p.reference,
        "amount": fmt.money_plain(p.amount),
        "segment": p.segment,
    }


def _finding(f: FindingView, line: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"code": f.code, "severity": f.severity, "message": f.message, "segment": f.segment}
    if line is not None:
        data["line"] = line
    if f.rule:
        data["rule"] = f.rule
    if f.stated is not None:
        data["stated"] = fmt.money_plain(f.stated)
    if f.computed is not None:
        data["computed"] = fmt.money_plain(f.computed)
    return data
