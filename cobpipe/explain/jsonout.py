"""The explain view as JSON: money as exact strings ("10.50"), dates as ISO strings, one object per 835."""
from __future__ import annotations

import json
from typing import Any

from . import fmt
from .view import (AdjustmentView, ClaimView, ExplainView, FindingView, HeaderView, LineView, PersonView, PlbView,
                   RemarkView, SectionView)

SCHEMA_VERSION = 1


def to_dict(view: ExplainView) -> dict[str, Any]:
    return {
        "schema": SCHEMA_VERSION,
        "file": view.path,
        "phi_masked": not view.phi_shown,
        "filtered": view.filtered,
        "balanced": not view.has_findings,
        "missing_claims": [{"id": ident, "reason": why} for ident, why in view.missing_claims],
        "findings": [_finding(f) for f in view.findings],
        "transactions": [_section(s) for s in view.sections],
    }


def render_json(view: ExplainView) -> str:
    return json.dumps(to_dict(view), indent=2, ensure_ascii=False) + "\n"


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
        "balanced": c.balanced,
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
