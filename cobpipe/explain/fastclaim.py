"""One claim of the fast `explain --format json` (fastjson): checked and written as JSON text.

claim_findings applies the 835's balancing rules as cobpipe.era.balance does (S, C, CAS amount 0,
CLP05), with the same words and the same Decimal arithmetic. ClaimWriter writes the claim as
jsonout._dumps(jsonout._claim(view), 4) writes the plain path's ClaimView: the layout is written
out in f-strings, strings go through the C encoder json.encoder.encode_basestring (what
json.dumps uses with ensure_ascii=False), our words for codes come from the ViewBuilder and are
worked out once per code, and the rare parts (findings) go through json.dumps itself. Names and
member ids are masked exactly as ViewBuilder.person masks them unless --show-phi.
"""
from __future__ import annotations

import json
import re
from json.encoder import encode_basestring as _q

from . import fmt
from .build import ROLES, ViewBuilder
from .fastseg import CAS, CHARGE, INDEX, ORDINAL, PAID, REF_6R, Claim, Line
from .fasttext import _FOREIGN_SEPARATOR, AMOUNTS_KEPT, ZERO, Ineligible, composite, number, procedure
from .jsonout import _finding
from .mask import mask_id
from .view import FindingView

BALANCE_RULES = frozenset({"S", "C", "T"})
_SEVERITY: dict[str, str] = {}  # ERA101..ERA105 -> "error"/"warning", from cobpipe.era.codes when first needed


def _m(value) -> str:
    """cobpipe.era.model.format_money, imported when a finding's message first needs it: a file
    that balances is explained without loading the 835 reader (cobpipe.era: ~13 ms of start-up)."""
    from cobpipe.era.model import format_money

    return format_money(value)


def _severity(code: str) -> str:
    found = _SEVERITY.get(code)
    if found is None:
        from cobpipe.era.codes import severity_of

        found = _SEVERITY[code] = str(severity_of(code))
    return found
I10, I12, I14, I16, I18 = (" " * n for n in (10, 12, 14, 16, 18))
NULL = "null"
EMPTY = '""'
_PARTY_ORDER = ("QC", "IL", "74", "GB")  # patient, insured, corrected insured, other subscriber


def _claim_head(ident, status_code, status, status_word, charge, paid, patient_responsibility, filing_indicator,
                filing_indicator_text, payer_claim_number, people, crossover_to, corrected_payer, service_from,
                service_to, received, adjustments, remarks) -> str:
    """A claim (ClaimView) as jsonout._dumps(jsonout._claim(view), 4) writes it, from the values' JSON,
    up to its lines (_claim_tail: from its notes on)."""
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
            f'          "lines": ')


def _claim_tail(notes, balanced, verdict, findings, segment) -> str:
    return (f',\n          "notes": {notes},\n'
            f'          "balanced": {balanced},\n'
            f'          "verdict": {verdict},\n'
            f'          "findings": {findings},\n'
            f'          "segment": {segment}\n'
            f'        }}')


_LINES_OPEN, _LINE_SEPARATOR, _LINES_CLOSE = "[\n" + " " * 12, ",\n" + " " * 12, "\n" + " " * 10 + "]"


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
        """JSON of money_plain(the amount `text` reads as): an amount written with no leading zero
        and at most two decimals is padded to two as text, any other through Decimal."""
        found = self.money.get(text)
        if found is None:
            if len(self.money) > AMOUNTS_KEPT:
                self.money.clear()
            whole, dot, cents = text.partition(".")  # the usual shapes, "156" and "134.16", without the
            if (len(text) <= 18 and whole.isdigit() and whole.isascii() and whole[0] != "0"  # expression
                    and (not dot or (len(cents) == 2 and cents.isdigit() and cents.isascii()))):
                found = self.money[text] = f'"{whole}.{cents or "00"}"'
                return found
            short = _SHORT_MONEY.match(text) if len(text) <= 18 else None
            if short is not None:
                sign, whole, cents = short.groups()
                cents = "00" if cents is None else (cents + "00")[:2]
                found = f'"{"" if whole == "0" and cents == "00" else sign}{whole}.{cents}"'
            else:
                found = '"' + fmt.money_plain(number(text)) + '"'
            self.money[text] = found
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
        if len(cas_list) == 1 and len(cas_list[0].triplets) == 1:  # the common line: one CAS of one triplet
            cas = cas_list[0]
            reason, _amount, amount_text, quantity_text, _triplet = cas.triplets[0]
            if not quantity_text:
                return _ONE_ITEM[level] % (
                    (prefixes.get(cas.group + "-" + reason) or self.adjustment_head(cas.group, reason, level))
                    + (money.get(amount_text) or self.money_text(amount_text)) + close)
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

    def line_adjustments(self, cas_list) -> str:
        """adjustments(cas_list, 16) for a line's CAS: each CasInfo's items are worked out once and
        kept on it (CasInfo.json), and fastscan shares a CasInfo among the lines whose CAS has the
        same text (~60% of a 100k-claim file's line CAS repeat one of the last 8k)."""
        count = len(cas_list)
        if count == 1:
            cas = cas_list[0]
            return _LINE_ADJUSTMENTS_OPEN + (cas.json or self.line_cas_items(cas)) + _LINE_ADJUSTMENTS_CLOSE
        if count == 2:  # (written out: a comprehension would make a function and two cells a call)
            first, second = cas_list
            return (_LINE_ADJUSTMENTS_OPEN + (first.json or self.line_cas_items(first))
                    + _LINE_ADJUSTMENTS_JOIN + (second.json or self.line_cas_items(second))
                    + _LINE_ADJUSTMENTS_CLOSE)
        items = []
        for cas in cas_list:
            items.append(cas.json or self.line_cas_items(cas))
        return _LINE_ADJUSTMENTS_OPEN + _LINE_ADJUSTMENTS_JOIN.join(items) + _LINE_ADJUSTMENTS_CLOSE

    def line_cas_items(self, cas) -> str:
        """A line CAS's items as adjustments(..., 16) joins them in its list, kept on the CasInfo."""
        triplets = cas.triplets
        if len(triplets) == 1 and not triplets[0][3]:  # one triplet without a quantity: its one item
            reason, _amount, amount_text, _quantity, _triplet = triplets[0]
            found = ((self.adjustment_prefix[16].get(cas.group + "-" + reason)
                      or self.adjustment_head(cas.group, reason, 16))
                     + (self.money.get(amount_text) or self.money_text(amount_text)) + _ADJUSTMENT_CLOSE[16])
        else:
            found = self.adjustments([cas], 16)[len(_LINE_ADJUSTMENTS_OPEN):-len(_LINE_ADJUSTMENTS_CLOSE)]
        cas.json = found
        return found

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


#: an amount money_plain writes as itself padded to two decimals ("-0" and "0.0" as "0.00")
_SHORT_MONEY = re.compile(r"(-?)(0|[1-9][0-9]*)(?:\.([0-9]{0,2}))?\Z")
_ADJUSTMENT_CLOSE = {level: f',\n{" " * (level + 2)}"quantity": null\n{" " * level}}}' for level in (12, 16)}
_ONE_ITEM = {level: "[\n" + " " * level + "%s\n" + " " * (level - 2) + "]" for level in (12, 16)}
# a line's adjustments list (_Words.adjustments at level 16): its opening, between items, its end
_LINE_ADJUSTMENTS_OPEN, _LINE_ADJUSTMENTS_JOIN, _LINE_ADJUSTMENTS_CLOSE = "[\n" + I16, ",\n" + I16, "\n" + I14 + "]"


class _Adjustment:
    __slots__ = ("group", "reason", "amount", "quantity")

    def __init__(self, group, reason, amount, quantity) -> None:
        self.group, self.reason, self.amount, self.quantity = group, reason, amount, quantity


# --- the balancing rules, as cobpipe.era.balance words them ----------------------------------------

def _label(line: Line) -> str:
    ref = line[REF_6R]
    return f"line {line[ORDINAL]}" + (f" (REF*6R {ref})" if ref else "")


def _balance_finding(code: str, rule: str, message: str, segment: int | None, stated, computed) -> FindingView:
    return FindingView(code, message, _severity(code), segment, stated, computed, rule)


def claim_findings(claim: Claim) -> tuple[list[FindingView], list[list[FindingView]]]:
    """(claim-level findings, each line's findings) in the order the plain parser attaches them."""
    per_line: list = []  # a line without findings gets _NO_FINDINGS (no list made for it)
    line_cas_total = line_pr = ZERO
    for line in claim.lines:
        cas_list = line[CAS]
        if len(cas_list) == 1:  # the usual line: its CAS's total is the line's (a CasInfo's total is
            cas = cas_list[0]  # already ZERO + its amounts: adding it to ZERO again gives the same Decimal)
            cas_total, zero = cas.total, cas.zero
            if cas.pr_total is not None:
                line_pr += cas.pr_total
        else:
            cas_total = ZERO
            zero = False
            for cas in cas_list:
                cas_total += cas.total
                zero = zero or cas.zero
                if cas.pr_total is not None:  # (summed for CLP05 below, in the order it always was)
                    line_pr += cas.pr_total
        line_cas_total += cas_total
        charge, paid = line[CHARGE], line[PAID]
        computed = charge - cas_total
        if computed == paid and not zero:
            per_line.append(_NO_FINDINGS)
            continue
        found: list[FindingView] = []
        if computed != paid:
            found.append(_balance_finding(
                "ERA101", "S", f"{_label(line)} does not balance: SVC03 stated {_m(paid)}, computed "
                f"{_m(computed)} (SVC02 {_m(charge)} − CAS {_m(cas_total)})", line[INDEX], paid, computed))
        if zero:
            found += _zero_amounts(cas_list, f"{_label(line)}: ")
            if len(found) > 50:
                raise Ineligible("more findings in one claim than the plain parser keeps of one code")
        per_line.append(found)
    own: list[FindingView] = []
    # the sums start at ZERO, as the plain parser's do; with no claim CAS they are the lines' sums
    # (which started at ZERO themselves: adding them to ZERO again gives the same Decimals)
    cas_total = line_cas_total
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
        pr = line_pr
        if claim.cas:
            pr = ZERO
            for cas in claim.cas:
                if cas.pr_total is not None:
                    pr += cas.pr_total
            pr += line_pr  # (exact sums: the same value and exponent as adding each line's in turn)
        stated = claim.patient_responsibility
        if (stated if stated is not None else ZERO) != pr:
            own.append(_balance_finding(
                "ERA105", "CLP05", f"patient responsibility: CLP05 stated {_m(stated)}, computed {_m(pr)} (ΣPR CAS)",
                claim.index, stated, pr))
    if len(own) > 50:  # (a line's findings are counted where they are made)
        raise Ineligible("more findings in one claim than the plain parser keeps of one code")
    return own, per_line


_NO_FINDINGS: tuple = ()  # a line's findings when it has none (read only, shared)


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
        self.masked_heads: dict[tuple, str] = {}  # (NM101, first, last, NM108) -> a masked person's JSON to "id"

    def people(self, claim: Claim) -> str:
        parties = claim.parties
        heads = self.masked_heads
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
            else:  # mask.mask_name of "FIRST LAST", mask.mask_id; the item up to its id worked out once
                key = (entity, first, last, qualifier)  # per person (the same few names come back)
                head = heads.get(key)
                if head is None:
                    _bound(heads)
                    name = " ".join([word[0] + "***" for word in (first + " " + last).split()])
                    head = heads[key] = (
                        f'{{\n{I14}"role": {_q(ROLES.get(entity, entity))},\n{I14}"name": {_q(name)},\n'
                        f'{I14}"id_qualifier": {self.words.id_qualifier(qualifier)},\n{I14}"id": ')
                items.append(f'{head}{_q(mask_id(ident))}\n{I12}}}')
                continue
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
        (ordinal, index, procedure_text, _charge, _paid, billed, charge_text, paid_text, units, billed_units,
         dates, cas, ref_6r, allowed, remarks) = line
        words = self.words
        if len(dates) == 1 and "472" in dates:  # the usual line: one DTM*472, its date both ends
            start = end = dates["472"]
        elif "472" in dates or "150" in dates or "151" in dates:
            start = dates.get("472") or dates.get("150")
            end = dates.get("151") or dates.get("472")
        else:
            start, end = period
        money = words.money
        procedure_json = words.procedures.get(procedure_text) or words.procedure_text(procedure_text, self.component)
        if findings:
            balanced = "false" if any(_is_balance_failure(f) for f in findings) else "true"
            found = _dumps([_finding(f) for f in findings], 7)
        else:
            balanced, found = "true", "[]"
        units = (words.numbers.get(units) or words.number_text(units)) if units else NULL
        billed_units = words.number_text(billed_units) if billed_units else NULL
        allowed = (money.get(allowed) or words.money_text(allowed)) if allowed else NULL
        remarks = _list(words.remarks(remarks, "LQ", I16, I18), I16, I14) if remarks else "[]"
        if len(cas) == 1:  # the usual line: one CAS, its items kept on it (line_adjustments without the call)
            only = cas[0]
            adjustments = _LINE_ADJUSTMENTS_OPEN + (only.json or words.line_cas_items(only)) + _LINE_ADJUSTMENTS_CLOSE
        else:
            adjustments = words.line_adjustments(cas) if cas else "[]"
        # the layout written out (jsonout's indent=2 at 14 spaces): an f-string is about twice as
        # fast as %-formatting a template, and no call
        return (f'{{\n              "number": {ordinal},\n{procedure_json}'
                f'              "billed_procedure": {_q(billed) if billed else EMPTY},\n'
                f'              "charge": {money.get(charge_text) or words.money_text(charge_text)},\n'
                f'              "paid": {money.get(paid_text) or words.money_text(paid_text)},\n'
                f'              "units": {units},\n'
                f'              "billed_units": {billed_units},\n'
                f'              "date_from": {start or NULL},\n'
                f'              "date_to": {end or NULL},\n'
                f'              "allowed": {allowed},\n'
                f'              "ref_6r": {_q(ref_6r) if ref_6r else EMPTY},\n'
                f'              "adjustments": {adjustments},\n'
                f'              "remarks": {remarks},\n'
                f'              "balanced": {balanced},\n'
                f'              "findings": {found},\n'
                f'              "segment": {index}\n'
                f'            }}')

    def claim(self, claim: Claim, own: list[FindingView], per_line: list[list[FindingView]],
              notes: list[str]) -> str:
        return "".join(self.claim_parts(claim, own, per_line, notes))

    def claim_parts(self, claim: Claim, own: list[FindingView], per_line: list[list[FindingView]],
                    notes: list[str]) -> list[str]:
        """The claim's JSON in pieces to be joined (its lines are not copied into one text first:
        the caller joins a megabyte of claims at once, which copies each line's text once)."""
        words = self.words
        clp = claim.clp
        status, status_word, _notes, _reversal = words.status.get(clp[1]) or words.claim_status(clp[1])
        dates = claim.dates
        start = dates.get("232")
        end = dates.get("233")
        period = (start, end if end is not None or "233" in dates else start)
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
            findings = _dumps([_finding(f, line[ORDINAL] if line else None) for line, f in all_findings], 5)
        else:
            balanced, verdict, findings = True, '"balanced"', "[]"
        money = words.money
        org, crossover, corrected = self.org, claim.parties.get("TT"), claim.parties.get("PR")
        parts = [_claim_head(
            _q(clp[0]), _q(clp[1]), status, status_word, money.get(clp[2]) or words.money_text(clp[2]),
            money.get(clp[3]) or words.money_text(clp[3]),
            (money.get(clp[4]) or words.money_text(clp[4])) if claim.patient_responsibility is not None else NULL,
            _q(clp[5]), words.filing_text(clp[5]), _q(clp[6]), self.people(claim),
            org(crossover) if crossover is not None else EMPTY, org(corrected) if corrected is not None else EMPTY,
            start or NULL, end or NULL,
            dates.get("050") or NULL, adjustments, _list(remarks, I12, I10))]
        if claim.lines:  # _list(lines, I12, I10), in pieces
            line = self.line
            parts.append(_LINES_OPEN)
            for item, found in zip(claim.lines, per_line):
                parts.append(line(item, found, period))
                parts.append(_LINE_SEPARATOR)
            parts[-1] = _LINES_CLOSE
        else:
            parts.append("[]")
        parts.append(_claim_tail(_list([_q(n) for n in notes], I12, I10) if notes else "[]",
                                 "true" if balanced else "false", verdict, findings, claim.index))
        return parts
