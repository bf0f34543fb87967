"""`explain --format json` in one pass over the 835, for the files fastscan vouches for.

The plain path (stream.survey_file + iter_claims + jsonout.JsonWriter) reads the file twice:
once for the verdicts the top of the document states, once to write the claims. Here the file
is read once: each claim is checked (the balancing rules of cobpipe.era.balance, with the same
words) and its JSON written straight from the segment text to a temporary file, while the totals
and verdicts are gathered; then the document is written with jsonout.JsonWriter's head and
section parts, each section's claims copied in from the temporary file. Only the CLP01s of each
payment (split claims and reversals get a note) are read first, with one regular expression.

The bytes are those of json.dumps(..., indent=2, ensure_ascii=False) as the plain path writes
them: the claim's constant parts are precomputed text, strings go through the C encoder
json.encoder.encode_basestring, and the rare parts (findings, notes) through json.dumps itself.
tests/cobpipe/explain/test_explain_fast.py proves the output byte-identical to the plain path's.

    survey = write_json(path, codebook, options, stream, findings_only=False)  # or raises Ineligible
"""
from __future__ import annotations

import json
import re
import tempfile
from collections import Counter
from decimal import Decimal
from json.encoder import encode_basestring as _q
from typing import TextIO

from cobpipe.codes import CodeBook
from cobpipe.era.codes import severity_of
from cobpipe.era.model import format_money as _m

from . import fmt
from .build import ROLES, ExplainOptions, ViewBuilder, missing_claims
from .fastscan import (_FOREIGN_SEPARATOR, ZERO, Claim, Header, Ineligible, Line, Resume, SectionEnd, _chunks,
                       composite, delimiters, envelope_head, number, procedure, scan)
from .jsonout import JsonWriter, _finding
from .mask import mask_id
from .stream import SectionCounts, Summary, Survey
from .view import ExplainView, FindingView, HeaderView, PlbView, SectionView

BALANCE_RULES = frozenset({"S", "C", "T"})
_SEVERITY = {code: str(severity_of(code)) for code in ("ERA101", "ERA102", "ERA103", "ERA104", "ERA105")}
I10, I12, I14, I16, I18 = (" " * n for n in (10, 12, 14, 16, 18))
NULL = "null"
_PARTY_ORDER = ("QC", "IL", "74", "GB")  # patient, insured, corrected insured, other subscriber


def _line_json(number, procedure, billed_procedure, charge, paid, units, billed_units, date_from, date_to, allowed,
               ref_6r, adjustments, remarks, balanced, findings, segment) -> str:
    """A service line (LineView) as jsonout writes it inside a claim (keys at 14 spaces), from the
    values' JSON; `procedure` is the JSON of its qualifier, procedure and modifiers keys. (An
    f-string with the layout written out: about twice as fast as %-formatting a template.)"""
    return (f'{{\n              "number": {number},\n{procedure}'
            f'              "billed_procedure": {billed_procedure},\n'
            f'              "charge": {charge},\n'
            f'              "paid": {paid},\n'
            f'              "units": {units},\n'
            f'              "billed_units": {billed_units},\n'
            f'              "date_from": {date_from},\n'
            f'              "date_to": {date_to},\n'
            f'              "allowed": {allowed},\n'
            f'              "ref_6r": {ref_6r},\n'
            f'              "adjustments": {adjustments},\n'
            f'              "remarks": {remarks},\n'
            f'              "balanced": {balanced},\n'
            f'              "findings": {findings},\n'
            f'              "segment": {segment}\n'
            f'            }}')


def _claim_json(ident, status_code, status, status_word, charge, paid, patient_responsibility, filing_indicator,
                filing_indicator_text, payer_claim_number, people, crossover_to, corrected_payer, service_from,
                service_to, received, adjustments, remarks, lines, notes, balanced, verdict, findings,
                segment) -> str:
    """A claim (ClaimView) as jsonout._dumps(jsonout._claim(view), 4) writes it, from the values' JSON."""
    return (f'{{\n          "id": {ident},\n'
            f'          "status_code": {status_code},\n'
            f'          "status": {status},\n'
            f'          "status_word": {status_word},\n'
            f'          "charge": {charge},\n'
            f'          "paid": {paid},\n'
            f'          "patient_responsibility": {patient_responsibility},\n'
            f'          "filing_indicator": {filing_indicator},\n'
            f'          "filing_indicator_text": {filing_indicator_text},\n'
            f'          "payer_claim_number": {payer_claim_number},\n'
            f'          "people": {people},\n'
            f'          "crossover_to": {crossover_to},\n'
            f'          "corrected_payer": {corrected_payer},\n'
            f'          "service_from": {service_from},\n'
            f'          "service_to": {service_to},\n'
            f'          "received": {received},\n'
            f'          "adjustments": {adjustments},\n'
            f'          "remarks": {remarks},\n'
            f'          "lines": {lines},\n'
            f'          "notes": {notes},\n'
            f'          "balanced": {balanced},\n'
            f'          "verdict": {verdict},\n'
            f'          "findings": {findings},\n'
            f'          "segment": {segment}\n'
            f'        }}')


def _dumps(value, level: int) -> str:
    """json.dumps(indent=2) nested at `level` (as jsonout._dumps)."""
    return json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n" + "  " * level)


def _list(items: list[str], indent: str, close: str) -> str:
    """A JSON list of already-encoded items, one per line at `indent`, `]` at `close`."""
    if not items:
        return "[]"
    return "[\n" + indent + (",\n" + indent).join(items) + "\n" + close + "]"


def _bound(cache: dict, limit: int = 4096) -> None:
    """Codes come from the file: a cache of their words is emptied when it grows (memory stays flat)."""
    if len(cache) >= limit:
        cache.clear()


class _Words:
    """Our words for codes, and amounts as JSON, each worked out once per run."""

    def __init__(self, builder: ViewBuilder) -> None:
        self.builder = builder
        self.money: dict[str, str] = {}
        self.status: dict[str, tuple] = {}
        self.filing: dict[str, str] = {}
        self.qualifier: dict[str, str] = {}
        self.remark: dict[tuple[str, str, int], str] = {}
        self.adjustment_prefix: dict[int, dict[str, str]] = {12: {}, 16: {}}  # level -> "CO-45" -> JSON
        self.numbers: dict[str, str] = {}
        self.procedures: dict[str, str] = {}

    def money_text(self, text: str) -> str:
        """JSON of money_plain(the amount `text` reads as)."""
        found = self.money.get(text)
        if found is None:
            if len(self.money) > 32768:
                self.money.clear()
            found = self.money[text] = '"' + fmt.money_plain(number(text)) + '"'
        return found

    def claim_status(self, code: str) -> tuple:
        """(status JSON, status_word JSON, notes, reversal) of a CLP02."""
        found = self.status.get(code)
        if found is None:
            _bound(self.status)
            status = self.builder.codebook.claim_status(code)
            found = self.status[code] = (
                _q(status.description if status else f"unknown code {code}"),
                _q(status.word if status else ""),
                [status.notes] if status and status.notes else [],
                bool(status and status.reversal))
        return found

    def filing_text(self, code: str) -> str:
        found = self.filing.get(code)
        if found is None:
            _bound(self.filing)
            found = self.filing[code] = _q(self.builder._describe("claim_filing_indicator", code) if code else "")
        return found

    def id_qualifier(self, code: str) -> str:
        found = self.qualifier.get(code)
        if found is None:
            _bound(self.qualifier)
            found = self.qualifier[code] = _q(self.builder._qualifier(code))
        return found

    def remarks(self, codes, source: str, indent: str, keys: str) -> list[str]:
        items = []
        for code in codes:
            key = (code, source, len(indent))
            found = self.remark.get(key)
            if found is None:
                _bound(self.remark)
                view = self.builder.remark(code, source)
                found = self.remark[key] = (
                    f'{{\n{keys}"code": {_q(view.code)},\n{keys}"text": {_q(view.text)},\n'
                    f'{keys}"source": {_q(view.source)}\n{indent}}}')
            items.append(found)
        return items

    def adjustments(self, cas_list, level: int) -> str:
        """The adjustments of CAS segments as a JSON list whose items are at `level` (12: claim, 16: line)."""
        prefixes, money = self.adjustment_prefix[level], self.money
        close = _ADJUSTMENT_CLOSE[level]
        items = []
        for cas in cas_list:
            group = cas.group
            for reason, _amount, amount_text, quantity_text, _triplet in cas.triplets:
                prefix = prefixes.get(group + "-" + reason) or self.adjustment_head(group, reason, level)
                amount = money.get(amount_text) or self.money_text(amount_text)
                if quantity_text:
                    indent = " " * level
                    items.append(f'{prefix}{amount},\n{indent}  "quantity": {self.number_text(quantity_text)}\n'
                                 f'{indent}}}')
                else:
                    items.append(prefix + amount + close)
        if len(items) == 1:
            return _ONE_ITEM[level] % items[0]
        indent = " " * level
        return "[\n" + indent + (",\n" + indent).join(items) + "\n" + indent[:-2] + "]"

    def adjustment_head(self, group: str, reason: str, level: int) -> str:
        """An adjustment's JSON up to its amount: group and reason with our words for them."""
        prefixes = self.adjustment_prefix[level]
        _bound(prefixes)
        view = self.builder.adjustment(_Adjustment(group, reason, ZERO, None))
        keys = " " * (level + 2)
        found = prefixes[group + "-" + reason] = (
            f'{{\n{keys}"group": {_q(view.group)},\n{keys}"group_text": {_q(view.group_text)},\n'
            f'{keys}"reason": {_q(view.reason)},\n{keys}"reason_text": {_q(view.reason_text)},\n'
            f'{keys}"amount": ')
        return found

    def number_text(self, text: str) -> str:
        """JSON of fmt.number(the quantity `text` reads as)."""
        found = self.numbers.get(text)
        if found is None:
            _bound(self.numbers)
            found = self.numbers[text] = '"' + fmt.number(number(text)) + '"'
        return found

    def procedure_text(self, text: str, component: str) -> str:
        """The JSON of a line's qualifier, procedure and modifiers (SVC01)."""
        found = self.procedures.get(text)
        if found is None:
            _bound(self.procedures)
            qualifier, code, modifiers, _description = procedure(composite(text, component, _FOREIGN_SEPARATOR))
            found = self.procedures[text] = (
                f'{I14}"qualifier": {_q(qualifier)},\n{I14}"procedure": {_q(code)},\n'
                f'{I14}"modifiers": {_list([_q(m) for m in modifiers], I16, I14)},\n')
        return found


_ADJUSTMENT_CLOSE = {level: f',\n{" " * (level + 2)}"quantity": null\n{" " * level}}}' for level in (12, 16)}
_ONE_ITEM = {level: "[\n" + " " * level + "%s\n" + " " * (level - 2) + "]" for level in (12, 16)}


class _Adjustment:
    __slots__ = ("group", "reason", "amount", "quantity")

    def __init__(self, group, reason, amount, quantity) -> None:
        self.group, self.reason, self.amount, self.quantity = group, reason, amount, quantity


# --- the balancing rules, as cobpipe.era.balance words them ----------------------------------------

def _label(line: Line) -> str:
    ref = line.ref_6r
    return f"line {line.ordinal}" + (f" (REF*6R {ref})" if ref else "")


def _balance_finding(code: str, rule: str, message: str, segment: int | None, stated, computed) -> FindingView:
    return FindingView(code, message, _SEVERITY[code], segment, stated, computed, rule)


def claim_findings(claim: Claim) -> tuple[list[FindingView], list[list[FindingView]]]:
    """(claim-level findings, each line's findings) in the order the plain parser attaches them."""
    per_line: list[list[FindingView]] = []
    line_cas_total = ZERO
    for line in claim.lines:
        info = line
        found: list[FindingView] = []
        cas_total = ZERO
        zero = False
        for cas in line.cas:
            cas_total += cas.total
            zero = zero or cas.zero
        line_cas_total += cas_total
        computed = info.charge - cas_total
        if computed != info.paid:
            found.append(_balance_finding(
                "ERA101", "S", f"{_label(line)} does not balance: SVC03 stated {_m(info.paid)}, computed "
                f"{_m(computed)} (SVC02 {_m(info.charge)} − CAS {_m(cas_total)})", line.index, info.paid, computed))
        if zero:
            found += _zero_amounts(line.cas, f"{_label(line)}: ")
        per_line.append(found)
    own: list[FindingView] = []
    if claim.cas:
        own += _zero_amounts(claim.cas, "")
    cas_total = ZERO
    for cas in claim.cas:
        cas_total += cas.total
    cas_total += line_cas_total
    computed = claim.charge - cas_total
    if computed != claim.paid:
        own.append(_balance_finding(
            "ERA102", "C", f"claim does not balance: CLP04 stated {_m(claim.paid)}, computed {_m(computed)} "
            f"(CLP03 {_m(claim.charge)} − CAS {_m(cas_total)})", claim.index, claim.paid, computed))
    if claim.clp[1] != "22":
        pr = ZERO
        for cas in claim.cas:
            if cas.pr_total is not None:
                pr += cas.pr_total
        for line in claim.lines:
            for cas in line.cas:
                if cas.pr_total is not None:
                    pr += cas.pr_total
        stated = claim.patient_responsibility
        if (stated if stated is not None else ZERO) != pr:
            own.append(_balance_finding(
                "ERA105", "CLP05", f"patient responsibility: CLP05 stated {_m(stated)}, computed {_m(pr)} (ΣPR CAS)",
                claim.index, stated, pr))
    if len(own) > 50 or any(len(found) > 50 for found in per_line):
        raise Ineligible("more findings in one claim than the plain parser keeps of one code")
    return own, per_line


def _zero_amounts(cas_list, prefix: str) -> list[FindingView]:
    found = []
    for cas in cas_list:
        index = cas.index
        for reason, amount, _text, _quantity, triplet in cas.triplets:
            if amount == 0:
                found.append(_balance_finding(
                    "ERA104", "CAS03", f"{prefix}CAS {cas.group}-{reason} amount is 0 (CAS{3 * triplet:02d})",
                    index, amount, None))
    return found


def _is_balance_failure(finding: FindingView) -> bool:
    return finding.severity == "error" and finding.rule in BALANCE_RULES


# --- one claim as JSON ---------------------------------------------------------------------------

class ClaimWriter:
    """The JSON of a claim as jsonout._dumps(jsonout._claim(view), 4) writes it."""

    def __init__(self, builder: ViewBuilder, component: str) -> None:
        self.words = _Words(builder)
        self.show_phi = builder.options.show_phi
        self.component = component

    def people(self, claim: Claim) -> str:
        parties = claim.parties
        items = []
        for entity in _PARTY_ORDER:
            nm1 = parties.get(entity)
            if nm1 is None:
                continue
            _entity, entity_type, last, first, middle, _prefix, suffix, qualifier, ident = nm1
            if self.show_phi:
                if entity_type == "2" or not first:
                    name = last
                else:
                    rest = " ".join(p for p in (first, middle, suffix) if p)
                    name = f"{last}, {rest}" if last else rest
                name, ident = " ".join(name.split()), ident.strip()
            else:  # mask.mask_name of "FIRST LAST", mask.mask_id
                name = " ".join([word[0] + "***" for word in (first + " " + last).split()])
                ident = mask_id(ident)
            items.append(f'{{\n{I14}"role": {_q(ROLES.get(entity, entity))},\n{I14}"name": {_q(name)},\n'
                         f'{I14}"id_qualifier": {self.words.id_qualifier(qualifier)},\n{I14}"id": {_q(ident)}\n'
                         f'{I12}}}')
        return _list(items, I12, I10)

    @staticmethod
    def org(nm1: list[str] | None) -> str:
        """build._org: an organisation in 2100 (NM1*TT, NM1*PR), not PHI."""
        if nm1 is None:
            return '""'
        _entity, entity_type, last, first, middle, _prefix, suffix, _qualifier, ident = nm1
        if entity_type == "2" or not first:
            name = last
        else:
            rest = " ".join(p for p in (first, middle, suffix) if p)
            name = f"{last}, {rest}" if last else rest
        shown = f" ({ident.strip()})" if ident.strip() else ""
        return _q(f"{' '.join(name.split()) or 'unnamed'}{shown}")

    def line(self, line: Line, findings: list[FindingView], period) -> str:
        words = self.words
        dates = line.dates
        if "472" in dates or "150" in dates or "151" in dates:
            start = dates.get("472") or dates.get("150")
            end = dates.get("151") or dates.get("472")
        else:
            start, end = period
        money = words.money
        procedure_json = words.procedures.get(line.procedure_text) or words.procedure_text(line.procedure_text,
                                                                                            self.component)
        if findings:
            balanced = "false" if any(_is_balance_failure(f) for f in findings) else "true"
            found = _dumps([_finding(f) for f in findings], 7)
        else:
            balanced, found = "true", "[]"
        return _line_json(
            line.ordinal, procedure_json, _q(line.billed) if line.billed else '""',
            money.get(line.charge_text) or words.money_text(line.charge_text),
            money.get(line.paid_text) or words.money_text(line.paid_text),
            (words.numbers.get(line.units_text) or words.number_text(line.units_text)) if line.units_text else NULL,
            words.number_text(line.billed_units_text) if line.billed_units_text else NULL,
            start or NULL, end or NULL,
            (money.get(line.allowed) or words.money_text(line.allowed)) if line.allowed else NULL,
            _q(line.ref_6r) if line.ref_6r else '""',
            words.adjustments(line.cas, 16) if line.cas else "[]",
            _list(words.remarks(line.remarks, "LQ", I16, I18), I16, I14) if line.remarks else "[]",
            balanced, found, line.index)

    def claim(self, claim: Claim, own: list[FindingView], per_line: list[list[FindingView]],
              notes: list[str]) -> str:
        words = self.words
        clp = claim.clp
        status, status_word, _notes, _reversal = words.claim_status(clp[1])
        dates = claim.dates
        start = dates.get("232")
        end = dates.get("233")
        period = (start, end if end is not None or "233" in dates else start)
        lines = [self.line(line, found, period) for line, found in zip(claim.lines, per_line)]
        adjustments = words.adjustments(claim.cas, 12) if claim.cas else "[]"
        remarks = []
        if claim.moa_remarks:
            remarks += words.remarks(claim.moa_remarks, "MOA", I12, I14)
        if claim.mia_remarks:
            remarks += words.remarks(claim.mia_remarks, "MIA", I12, I14)
        if own or any(per_line):
            all_findings = [(None, f) for f in own] + [(line, f) for line, found in zip(claim.lines, per_line)
                                                        for f in found]
            balanced = not any(_is_balance_failure(f) for _, f in all_findings)
            errors = any(f.severity == "error" for _, f in all_findings)
            verdict = '"does not balance"' if not balanced else ('"balanced, findings"' if errors else '"balanced"')
            findings = _dumps([_finding(f, line.ordinal if line else None) for line, f in all_findings], 5)
        else:
            balanced, verdict, findings = True, '"balanced"', "[]"
        money = words.money
        return _claim_json(
            _q(clp[0]), _q(clp[1]), status, status_word, money.get(clp[2]) or words.money_text(clp[2]),
            money.get(clp[3]) or words.money_text(clp[3]),
            (money.get(clp[4]) or words.money_text(clp[4])) if claim.patient_responsibility is not None else NULL,
            _q(clp[5]), words.filing_text(clp[5]), _q(clp[6]), self.people(claim),
            self.org(claim.parties.get("TT")), self.org(claim.parties.get("PR")), start or NULL, end or NULL,
            dates.get("050") or NULL, adjustments, _list(remarks, I12, I10), _list(lines, I12, I10),
            _list([_q(n) for n in notes], I12, I10) if notes else "[]", "true" if balanced else "false", verdict,
            findings, claim.index)


# --- the document ------------------------------------------------------------------------------

def _repeat_note(ident: str, repeated: dict[str, tuple[int, bool]]) -> list[str]:
    count, reversed_ = repeated.get(ident, (1, False))
    if count > 1 and reversed_:
        return [f"CLP01 {ident} appears {count} times in this payment: a reversal "
                "and its correction. Secondary billing uses the latest correction."]
    if count > 1:
        return [f"CLP01 {ident} appears {count} times in this payment: a split "
                f"claim. Secondary billing combines the {count} parts."]
    return []


def _header_view(header: Header, builder: ViewBuilder) -> HeaderView:
    """builder.header for what fastscan read of Table 1."""
    bpr, trn = header.bpr, header.trn
    payer, payee = header.payer, header.payee
    return HeaderView(
        payer=payer[0].strip(), payer_id=payer[2].strip(), payee=payee[0].strip(),
        payee_id_qualifier=builder._qualifier(payee[1]), payee_id=payee[2].strip(),
        amount=header.amount, credit_debit=header.credit_debit,
        method=bpr[3], method_text=builder._describe("payment_method", bpr[3]),
        handling=bpr[0], handling_text=builder._describe("handling", bpr[0]),
        trace_number=trn[1], trace_payer_id=trn[2],
        payment_date=header.payment_date, production_date=header.production_date,
        control_number=header.st02, version=header.version)


def _finish_section(section: SectionView, header: Header, end: SectionEnd, builder: ViewBuilder) -> None:
    """build.finish_section: PLBs, totals and the T rule (balance.transaction_balance)."""
    for plb in end.plbs:
        for reason, reference, amount in plb.pairs:
            section.plbs.append(PlbView(plb.provider, plb.fiscal_date, reason,
                                        builder._describe("plb_reason", reason), reference, amount, plb.index))
    section.paid_total = end.paid_total
    section.plb_total = end.plb_total
    stated = -header.amount if header.credit_debit == "D" else header.amount
    computed = end.paid_total - end.plb_total
    if stated != computed:
        sign = " (BPR03 D: debit)" if header.credit_debit == "D" else ""
        section.findings.append(_balance_finding(
            "ERA103", "T", f"payment does not balance: BPR02 stated {_m(stated)}{sign}, computed {_m(computed)} "
            f"(ΣCLP04 {_m(end.paid_total)} − ΣPLB {_m(end.plb_total)})", header.bpr_index, stated, computed))


class _FastWriter(JsonWriter):
    """JsonWriter whose claims arrive as JSON text."""

    def claim(self, claim: str) -> None:  # type: ignore[override]
        self.stream.write(("," if self.claims_written else "") + "\n        " + claim)
        self.claims_written += 1


#: files smaller than this are read by one process (a second one costs more than it saves)
PARALLEL_BYTES = 4 << 20


def prescan(path: str, codebook: CodeBook, split_at: int | None = None) -> tuple[list[dict], Resume | None]:
    """For each transaction set, CLP01 -> (times, one of them is a reversal) for the CLP01s seen
    more than once (stream._repeat_notes), found with one regular expression over the raw text;
    and, when `split_at` is given, where a second process can start: the first CLP at or after
    byte `split_at` (None when there is none). write_json checks what the scans read against
    this, so a layout the scans refuse is never used."""
    sep, _component, term = delimiters(path)
    s, t = re.escape(sep), re.escape(term)
    pattern = re.compile(rf"{t}\r?\n?(ST|CLP){s}([^{s}{t}]*)(?:{s}([^{s}{t}]*))?")
    sections: list[dict[str, tuple[int, bool]]] = []
    seen: Counter[str] | None = None
    reversed_ids: set[str] = set()
    reversal: dict[str, bool] = {}
    split: Resume | None = None
    st_index, st02 = 0, ""

    def close() -> None:
        if seen is not None:
            sections.append({ident: (n, ident in reversed_ids) for ident, n in seen.items() if n > 1})

    carry = ""
    base = counted = 0  # the file offset of chunk[0]; terminators before it
    for data in _chunks(path):
        chunk = carry + data
        cut = chunk.rfind(term)  # the next chunk starts at the last terminator: a match is never cut
        if cut < 0:
            if len(chunk) > 1 << 20:
                raise Ineligible("a segment longer than a chunk")
            carry = chunk
            continue
        carry = chunk[cut:]
        for match in pattern.finditer(chunk, 0, cut):
            tag, first, second = match.groups()
            if tag == "ST":
                close()
                seen, reversed_ids = Counter(), set()
                st_index = counted + chunk.count(term, 0, match.start() + 1) + 1
                st02 = first if second is None else second
                continue
            if seen is None:
                continue
            if split is None and split_at is not None and base + match.start() >= split_at:
                isa, gs = envelope_head(path)
                split = Resume(base + match.start(1), counted + chunk.count(term, 0, match.start() + 1) + 1,
                               len(sections) + 1, st_index, st02, isa, gs)
            seen[first] += 1
            flag = reversal.get(second)
            if flag is None:
                _bound(reversal)
                status = codebook.claim_status(second or "")
                flag = reversal[second] = bool(status and status.reversal)
            if flag:
                reversed_ids.add(first)
        counted += chunk.count(term, 0, cut)
        base += cut
    close()  # (the carry is the last terminator and what follows it: IEA's, no ST or CLP)
    return sections, split


class _Section:
    """What one pass read of one transaction set."""

    __slots__ = ("header", "counts", "claims_total", "seen", "reversed", "end", "parts")

    def __init__(self, header: Header) -> None:
        self.header = header
        self.counts = SectionCounts()
        self.claims_total = 0
        self.seen: Counter[str] = Counter()
        self.reversed: set[str] = set()
        self.end: SectionEnd | None = None
        self.parts: list[tuple[int, int, int, int]] = []  # (spool number, first byte, end byte, claims)


class _Pass:
    """One scan's claims checked, counted and written (as JSON) to a spool file."""

    def __init__(self, builder: ViewBuilder, component: str, repeats: list[dict], findings_only: bool,
                 spool, spool_number: int) -> None:
        self.writer = ClaimWriter(builder, component)
        self.options = builder.options
        self.repeats = repeats
        self.findings_only = findings_only
        self.spool = spool
        self.spool_number = spool_number
        self.sections: list[_Section] = []
        self.found_ids: dict[str, set[str]] = {}
        self.shown_ids: set[str] = set()
        self.claim_errors = False

    def run(self, events) -> "_Pass":
        words = self.writer.words
        claim_status = words.claim_status
        render = self.writer.claim
        claim_ids, statuses = self.options.claim_ids, self.options.statuses
        findings_only = self.findings_only
        spool = self.spool
        pending: list[str] = []
        size = start = written = 0
        current: _Section | None = None
        repeated: dict[str, tuple[int, bool]] = {}
        for kind, item in events:
            if kind == "claim":
                clp = item.clp
                ident = clp[0]
                current.claims_total += 1
                current.seen[ident] += 1
                _status, _word, notes, reversal = claim_status(clp[1])
                if reversal:
                    current.reversed.add(ident)
                if ident in claim_ids:
                    self.found_ids.setdefault(ident, set()).add(clp[1])
                if (claim_ids and ident not in claim_ids) or (statuses and clp[1] not in statuses):
                    continue
                own, per_line = claim_findings(item)
                self.shown_ids.add(ident)
                counts = current.counts
                counts.shown += 1
                if own or any(per_line):
                    every = own + [f for found in per_line for f in found]
                    if any(f.severity == "error" for f in every):
                        counts.with_findings += 1
                        self.claim_errors = True
                    if any(_is_balance_failure(f) for f in every):
                        counts.not_balanced += 1
                elif findings_only:
                    continue
                counts.listed += 1
                text = render(item, own, per_line, notes + _repeat_note(ident, repeated) if repeated else notes)
                pending.append(text)
                written += 1
                size += len(text)
                if size > 1 << 20:
                    spool.write((_SEPARATOR.join(pending) + _SEPARATOR).encode("utf-8", "surrogateescape"))
                    pending.clear()
                    size = 0
            elif kind == "section" or kind == "resume":
                if item.number > len(self.repeats):
                    raise Ineligible("the transaction sets read twice differ")
                repeated = self.repeats[item.number - 1]
                current = _Section(item)
                self.sections.append(current)
                written = 0
                start = spool.tell()
            else:  # "end", "partial"
                if pending:
                    spool.write((_SEPARATOR.join(pending) + _SEPARATOR).encode("utf-8", "surrogateescape"))
                    pending.clear()
                    size = 0
                if written:
                    current.parts.append((self.spool_number, start, spool.tell(), written))
                current.end = item
        return self


def _merge(first: _Pass, second: _Pass) -> _Pass:
    """The two passes of one file as one: the transaction set both read part of becomes one."""
    joined, rest = first.sections[-1], second.sections[0]
    counts, more = joined.counts, rest.counts
    for name in ("shown", "listed", "with_findings", "not_balanced", "not_checked"):
        setattr(counts, name, getattr(counts, name) + getattr(more, name))
    joined.claims_total += rest.claims_total
    joined.seen.update(rest.seen)
    joined.reversed |= rest.reversed
    joined.parts += rest.parts
    a, b = joined.end, rest.end
    joined.end = SectionEnd(a.plbs + b.plbs, a.paid_total + b.paid_total, a.plb_total + b.plb_total)
    first.sections += second.sections[1:]
    for ident, found in second.found_ids.items():
        first.found_ids.setdefault(ident, set()).update(found)
    first.shown_ids |= second.shown_ids
    first.claim_errors = first.claim_errors or second.claim_errors
    return first


def _second_part(path: str, builder: ViewBuilder, component: str, repeats: list[dict], findings_only: bool,
                 split: Resume, spool) -> tuple[int, object]:
    """Fork a process that runs the pass from `split` to the end; (pid, read end of its pipe)."""
    import os
    import pickle

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its pass, pickled into the pipe, then gone without the parent's cleanup
        code = 0
        try:
            os.close(read)
            done = _Pass(builder, component, repeats, findings_only, spool, 1).run(scan(path, resume=split))
            spool.flush()
            result = ("ok", done.sections, done.found_ids, done.shown_ids, done.claim_errors)
        except Ineligible as exc:
            result = ("ineligible", str(exc))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
            result = ("error", f"{type(exc).__name__}: {exc}")
            code = 1
        try:
            with os.fdopen(write, "wb") as pipe:
                pickle.dump(result, pipe, protocol=pickle.HIGHEST_PROTOCOL)
        finally:
            os._exit(code)
    os.close(write)
    return pid, os.fdopen(read, "rb")


def _parallel(split_at: int | None, path: str) -> int | None:
    import os

    if split_at is not None:
        return split_at
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    size = os.path.getsize(path)
    return size // 2 if cores > 1 and size >= PARALLEL_BYTES else None


def write_json(path: str, codebook: CodeBook, options: ExplainOptions, stream: TextIO, *,
               findings_only: bool = False, split_at: int | None = None, parallel: bool = True,
               spool_dir: str | None = None) -> Survey:
    """Write the explain JSON of `path` to `stream` (what write_explain writes for the plain
    survey and claims) and return the survey; raises Ineligible, having written nothing, when
    the file holds anything fastscan does not vouch for.

    A file of PARALLEL_BYTES or more is read by two processes when two cores are there: this one
    up to the first claim after the middle (or after byte `split_at`), a forked one from there;
    their claims are spooled apart and written in order. `parallel=False`: one process.
    The spools (as big as the claims' JSON) go to `spool_dir` (the output's folder: a disk, where
    the system's temporary folder may be memory), else to the system's temporary folder."""
    import os
    import pickle
    import signal

    builder = ViewBuilder(codebook, options)
    component = delimiters(path)[1]
    target = _parallel(split_at, path) if parallel else None
    repeats, split = prescan(path, codebook, target)
    view = ExplainView(str(path), filtered=options.filtered, phi_shown=options.show_phi)
    with tempfile.TemporaryFile("w+b", dir=spool_dir) as spool, \
            tempfile.TemporaryFile("w+b", dir=spool_dir) as spool2:
        spools = (spool, spool2)
        if split is None:
            done = _Pass(builder, component, repeats, findings_only, spool, 0).run(scan(path))
        else:
            pid, pipe = _second_part(path, builder, component, repeats, findings_only, split, spool2)
            result = None
            try:
                done = _Pass(builder, component, repeats, findings_only, spool, 0).run(
                    scan(path, end=split.offset))
                with pipe:
                    result = pickle.load(pipe)
            finally:
                if result is None:  # this part failed or was interrupted: the other one's work is moot
                    os.kill(pid, signal.SIGKILL)
                    pipe.close()
                os.waitpid(pid, 0)
            if result[0] == "ineligible":
                raise Ineligible(result[1])
            if result[0] != "ok":
                raise RuntimeError(f"explain: the second process failed: {result[1]}")
            second = _Pass(builder, component, repeats, findings_only, spool2, 1)
            second.sections, second.found_ids, second.shown_ids, second.claim_errors = result[1:]
            done = _merge(done, second)
        if len(repeats) != len(done.sections):
            raise Ineligible("the transaction sets read twice differ")
        all_counts = []
        for number, read in enumerate(done.sections, start=1):
            if read.header.number != number or read.end is None:
                raise Ineligible("the transaction sets read twice differ")
            repeated = {i: (n, i in read.reversed) for i, n in read.seen.items() if n > 1}
            if repeated != repeats[number - 1]:
                raise Ineligible("the CLP01s read twice differ")
            read.counts.repeated = repeated
            section = SectionView(number, _header_view(read.header, builder))
            section.claims_total = read.claims_total
            _finish_section(section, read.header, read.end, builder)
            view.sections.append(section)
            all_counts.append(read.counts)
        view.missing_claims = missing_claims(options.claim_ids, done.shown_ids, done.found_ids)
        errors = done.claim_errors or (not view.filtered and any(s.errors for s in view.sections))
        survey = Survey(view, all_counts, Summary(), bool(view.missing_claims) or errors, findings_only, errors)
        # the document: JsonWriter's head and section parts, each section's claims from the spools
        out = _FastWriter(stream, survey)
        out.start()
        for read, section, counts in zip(done.sections, view.sections, all_counts):
            out.section_start(section, counts)
            count = 0
            for spool_number, first, end, claims in read.parts:
                stream.write(_SEPARATOR if count else "\n        ")
                _copy(spools[spool_number], stream, first, end - len(_SEPARATOR))
                count += claims
            out.claims_written = count
            out.section_end(section, counts)
        out.end()
    return survey


_SEPARATOR = ",\n        "  # between two claims of a section (JsonWriter.claim)


def _copy(spool, stream: TextIO, first: int, end: int) -> None:
    """Bytes first..end of the spool to `stream`, a block at a time: as bytes to a UTF-8 stream's
    buffer (the spool is UTF-8), else as text (cut after a line break, which no UTF-8 sequence holds)."""
    spool.seek(first)
    remaining = end - first
    raw = _utf8_buffer(stream)
    if raw is not None:
        stream.flush()
    carry = b""
    while remaining > 0:
        data = spool.read(min(remaining, 1 << 22))
        if not data:
            raise RuntimeError("explain: the spooled claims ended early")
        remaining -= len(data)
        if raw is not None:
            raw.write(data)
            continue
        block = carry + data if carry else data
        carry = b""
        if remaining > 0:
            cut = block.rfind(b"\n") + 1
            carry, block = block[cut:], block[:cut]
        stream.write(block.decode("utf-8", "surrogateescape"))
    if raw is not None:
        raw.flush()


def _utf8_buffer(stream: TextIO):
    """The binary buffer under a UTF-8 text stream (a file from atomic_writer, stdout in a UTF-8
    locale), or None. The spooled JSON holds no lone surrogate (the 835 was ASCII; our words are
    text), so its bytes are what the stream would write with any error handler."""
    import codecs

    buffer = getattr(stream, "buffer", None)
    encoding = getattr(stream, "encoding", None)
    if buffer is None or not encoding:
        return None
    try:
        return buffer if codecs.lookup(encoding).name == "utf-8" else None
    except LookupError:
        return None
