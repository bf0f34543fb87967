"""The gate's fast path (`balances`) against the rule-by-rule gate (`check_claim_rules`).

`check_claim` runs the rules only when `balances` says something may not balance, so two things
must hold on every claim: `balances` is True exactly when the rules find nothing (never True on a
claim the rules reject, and not False on a clean claim, where the fast path would silently stop
paying), and `check_claim` returns the rules' findings word for word. Claims are generated
balanced, or balanced but for one flaw only one rule sees, then mutated (amounts, ids, codes,
dates, segments dropped, repeated, moved or inserted) so they stop balancing in every way the
rules know.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cobpipe.cob import gate
from cobpipe.cob.gate import ClaimView, balances, check_claim, check_claim_rules
from cobpipe.pipeline import ConvertOptions, run_batch
from edi.segment import Segment

TODAY = dt.date(2026, 4, 1)
CENT = Decimal("0.01")
GOLDEN = Path(__file__).parents[2] / "golden"


def amount(cents: int, style: int = 0) -> str:
    """The same amount as an 837P may write it: 12.5, 12.50, 1250E-2, or with 30 decimals (past
    Decimal's 28 digits, where the order of a sum decides its rounding)."""
    value = Decimal(cents) * CENT
    if style == 1:
        return f"{value:.2f}"
    if style == 2:
        return f"{cents}E-2"
    if style == 3:
        return f"{value:.30f}"
    return str(value.normalize()) if cents % 100 else str(cents // 100)


@st.composite
def splits(draw, total: int, parts: int) -> list[int]:
    """`total` cents in `parts` pieces (the last one takes the rest)."""
    out = []
    for _ in range(parts - 1):
        piece = draw(st.integers(1, max(1, total // 2)))
        out.append(piece)
        total -= piece
    return out + [total]


# a flaw a claim may be built with: a finding of one rule while every sum still balances
FLAWS = ["negative_paid", "zero_triplet", "reason_without_amount", "six_cas", "seven_triplets", "future_date",
         "bad_date", "no_line_date", "eaf_both", "primary_sbr05", "no_sbr02", "unknown_svd", "unreported_line",
         "mb_both", "sbr05_not_medicare", "medicare_without_sbr05", "missing_level", "no_payer_nm1", "no_paid_amount",
         "lines_offset"]
LINE_FLAWS = ("negative_paid", "unknown_svd", "unreported_line", "no_line_date", "seven_triplets", "eaf_both",
              "no_payer_nm1", "lines_offset")


def cas(triplets: list[int], style: int, group: str = "CO") -> str:
    return f"CAS*{group}*" + "**".join(f"45*{amount(a, style)}" for a in triplets)


@st.composite
def balanced_claims(draw, flaw: str | None = None) -> list[str]:
    """A secondary claim's 2000B SBR and 2300 segments (as text) on which the rules find nothing,
    or, given a flaw, on which a rule finds it though every amount balances."""
    style = draw(st.integers(0, 3))
    destination = "T" if flaw == "missing_level" else draw(st.sampled_from(["S", "T"]))
    levels = ["P"] if destination == "S" or flaw == "missing_level" else ["P", "S"]
    medicare = draw(st.booleans()) or flaw == "mb_both" or flaw == "medicare_without_sbr05"
    sbr9 = "MB" if medicare else "CI"
    sbr5 = draw(st.sampled_from(["12", "43"])) if medicare else ""  # Medicare not primary: its MSP type
    if flaw == "sbr05_not_medicare":
        sbr5, sbr9 = "12", "CI"
    elif flaw == "medicare_without_sbr05":
        sbr5 = ""
    out = [f"SBR*{destination}*18*GRP9**{sbr5}****{sbr9}"]
    charges = draw(st.lists(st.integers(1, 200_000), min_size=2 if flaw == "lines_offset" else
                            1 if flaw in LINE_FLAWS else 0, max_size=4))
    claim_charge = sum(charges) if charges else draw(st.integers(1, 200_000))
    out.append(f"CLM*GATE01*{amount(claim_charge, style)}***11:B:1*Y*A*Y*Y")
    date = draw(st.sampled_from(["20260320", "20260401", "20251231"]))
    payers = []  # (payer id, reports lines, eaf at line level)
    for n, level in enumerate(levels):
        payer_id = f"PAY{level}"
        kinds = ["lines", "claim", "a8"] if charges else ["claim", "a8"]
        if flaw in LINE_FLAWS and n == 0:
            kinds = ["lines"]
        elif flaw in ("no_paid_amount", "six_cas") and n == 0:
            kinds = ["claim"]
        elif flaw in ("future_date", "bad_date"):  # on a payer that adjudicated (an A8 one's is not read)
            kinds = [k for k in kinds if k != "a8"]
        kind = draw(st.sampled_from(kinds))
        line_eaf = draw(st.booleans())
        payers.append((payer_id, kind == "lines", line_eaf))
        sbr2 = "" if flaw == "no_sbr02" and n == 0 else "18"
        sbr5 = "12" if flaw == "primary_sbr05" and level == "P" else ""
        sbr9 = "MB" if flaw == "mb_both" and n == 0 else ("CI" if level == "P" or not medicare else "MA")
        out.append(f"SBR*{level}*{sbr2}*GRP{level}**{sbr5}****{sbr9}")
        if kind == "a8":
            out.append(f"AMT*A8*{amount(claim_charge, style)}")
        elif kind == "claim":
            adjustment = draw(st.integers(0, claim_charge))
            if adjustment:
                out.append(cas([adjustment], style, "PR"))
            if flaw == "six_cas" and n == 0:
                out += [cas([1], style, "OA"), cas([-1], style, "OA")] * 3
            if not (flaw == "no_paid_amount" and n == 0):
                out.append(f"AMT*D*{amount(claim_charge - adjustment, style)}")
            if not line_eaf:
                out.append(f"AMT*EAF*{amount(adjustment or 1, style)}")
        else:
            out.append("AMT*D*0")  # replaced below, once the lines' amounts are known
            if flaw == "eaf_both" and n == 0:
                out.append("AMT*EAF*1")
        out.append("OI***Y*P**Y")
        out.append("NM1*IL*1*SAMPLE*ALEX****MI*M0001")
        if not (flaw == "no_payer_nm1" and n == 0):
            out.append(f"NM1*PR*2*PLAN {level}*****PI*{payer_id}")
        if kind != "lines":
            out.append(f"DTP*573*D8*{date}")
    if destination == "S" and draw(st.booleans()):  # the tertiary, listed: it has nothing to report yet
        out += ["SBR*T*18*GRPT******CI", "NM1*PR*2*PLAN T*****PI*PAYT"]
    paid_total = {payer_id: 0 for payer_id, _, _ in payers}
    for number, charge in enumerate(charges, start=1):
        out.append(f"LX*{number}")
        out.append(f"SV1*HC:99213*{amount(charge, style)}*UN*1***1")
        for n, (payer_id, reports_lines, line_eaf) in enumerate(payers):
            if not reports_lines:
                continue
            paid, *adjustments = draw(splits(charge, draw(st.integers(1, 4))))
            if flaw == "negative_paid" and number == 1 and n == 0:
                paid, adjustments = -1, [charge + 1]
            paid_total[payer_id] += paid
            svd01 = "" if flaw == "no_payer_nm1" and n == 0 else payer_id  # as the payer's NM109 reads
            out.append(f"SVD*{svd01}*{amount(paid, style)}*HC:99213**1")
            triplets = [a for a in adjustments if a]
            if flaw == "lines_offset" and number <= 2 and n == 0:  # a cent moved between two lines
                triplets.append(1 if number == 1 else -1)
            if flaw == "seven_triplets" and number == 1 and n == 0:
                triplets += [1, -1] * 3 + [1]
                paid_total[payer_id] -= 1
                out[-1] = f"SVD*{svd01}*{amount(paid - 1, style)}*HC:99213**1"
            if triplets:
                out.append(cas(triplets, style))
            if not (flaw == "no_line_date" and number == 1 and n == 0):
                out.append(f"DTP*573*D8*{date}")
            if line_eaf or (flaw == "eaf_both" and n == 0):
                out.append(f"AMT*EAF*{amount(sum(triplets) or 1, style)}")
        if flaw == "unknown_svd" and number == 1:
            out.append("SVD*PAYX*0*HC:99213**1")
    if flaw == "unreported_line":
        out += [f"LX*{len(charges) + 1}", "SV1*HC:99213*0*UN*1***1"]
    for payer_id, reports_lines, _ in payers:
        if reports_lines:
            at = next(n for n, text in enumerate(out) if n > 0 and text.startswith(f"SBR*{payer_id[-1]}*"))
            at = out.index("AMT*D*0", at)
            out[at] = f"AMT*D*{amount(paid_total[payer_id], style)}"
    return _with_flaw(out, flaw, draw)


def _with_flaw(out: list[str], flaw: str | None, draw) -> list[str]:
    """The flaws made by editing the built claim's text."""
    if flaw in ("future_date", "bad_date"):
        dates = [n for n, text in enumerate(out) if text.startswith("DTP*573*")]
        if dates:
            out[draw(st.sampled_from(dates))] = "DTP*573*D8*" + ("20260402" if flaw == "future_date" else "20260231")
    elif flaw in ("zero_triplet", "reason_without_amount"):
        found = [n for n, text in enumerate(out) if text.startswith("CAS*")]
        if found and draw(st.booleans()):  # a triplet more on a CAS
            out[draw(st.sampled_from(found))] += "**45*0" if flaw == "zero_triplet" else "**45"
        else:  # a CAS of its own, after another one (same loop) or first in the first 2320
            at = draw(st.sampled_from(found)) + 1 if found else 3
            out.insert(at, "CAS*OA*23*0" if flaw == "zero_triplet" else "CAS*OA*23")
    return out


AMOUNTS = ["0", "0.00", "-0", "-5", "", "abc", "1E+2", "12.345", "9" * 30, "1" + "0" * 40, "NaN", "1",
           "0.01", "-0.01", "33", "10"]
ELEMENTS = AMOUNTS + ["P", "S", "T", "A", "MB", "MA", "CI", "12", "18", "PAYP", "PAYS", "PAYT", "PR", "CO", "45",
                      "573", "EAF", "D", "A8", "D8", "20260402", "20260231", "2026032", "20260101", "X"]
INSERTS = ["AMT*EAF*5", "CAS*PR*1*0", "DTP*573*D8*20260402", "SVD*PAYP*-1*HC:99213**1", "CAS*OA*23*1**23*-1",
           "AMT*D*5", "AMT*A8*5", "NM1*PR*2*X*****PI*PAYP", "NM1*PR*2*X*****PI*PAYS", "SBR*P*18*G", "SBR*S*18",
           "LX*9", "SV1*HC:1*5", "SV1*HC:1*0", "SVD*PAYS*0*HC:1", "DTP*573*D8*20260101", "LQ*HE*1", "FRM*1*Y",
           "CAS*CO*45*1**45*-1", "SBR*T*18", "SBR*P*18*****12", "AMT*EAF*1", "NM1*IL*1*X"]


@st.composite
def mutated(draw, segments: list[str]) -> list[str]:
    """One to three edits of a claim's segments (the 2000B SBR and the CLM stay first: the scan needs them)."""
    out = list(segments)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(out) - 1))
        what = draw(st.sampled_from(["element", "element", "element", "drop", "repeat", "move", "extend", "insert"]))
        if what == "element":
            parts = out[at].split("*")
            position = draw(st.integers(1, max(1, len(parts) - 1)))
            while len(parts) <= position:
                parts.append("")
            parts[position] = draw(st.sampled_from(ELEMENTS))
            out[at] = "*".join(parts)
        elif what == "drop" and at > 1:
            del out[at]
        elif what == "repeat" and at > 1:
            out.insert(at, out[at])
        elif what == "move" and at > 1:
            out.insert(draw(st.integers(2, len(out) - 1)), out.pop(at))
        elif what == "extend":
            out[at] += "*" + "*".join(draw(st.lists(st.sampled_from(ELEMENTS), min_size=1, max_size=20)))
        elif what == "insert":
            out.insert(max(at, 2), draw(st.sampled_from(INSERTS)))
    return out


def view_of(texts: list[str]) -> ClaimView:
    segments = [Segment(text.split("*")[0], tuple(text.split("*")[1:]), index=n, line=n)
                for n, text in enumerate(texts, start=1)]
    return ClaimView.scan(segments[1:], segments[0])


def assert_same(texts: list[str]) -> list:
    view = view_of(texts)
    expected = check_claim_rules(view, today=TODAY, path="claim.837")
    assert balances(view, TODAY) == (expected == []), "\n".join(texts)
    assert check_claim(view, today=TODAY, path="claim.837") == expected
    return expected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(balanced_claims())
def test_a_balanced_claim_takes_the_fast_path(texts):
    before = gate.COUNTS.fast
    assert assert_same(texts) == []
    assert gate.COUNTS.fast == before + 1


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FLAWS).flatmap(balanced_claims))
def test_a_flaw_only_one_rule_sees_sends_the_claim_to_the_rules(texts):
    assert assert_same(texts)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_mutated_claim_gets_the_rules_findings(data):
    texts = data.draw(balanced_claims(data.draw(st.sampled_from([None, None, *FLAWS]))))
    assert_same(data.draw(mutated(texts)))


def test_each_rule_sends_the_claim_to_the_rules():
    """One hand-made mutant per finding code: the fast path gives way and the finding is the rules'."""
    seed = ["SBR*S*18*GRP2******CI", "CLM*C1*33***11:B:1*Y*A*Y*Y", "SBR*P*18*GRP1******CI", "AMT*D*10",
            "NM1*PR*2*PLAN*****PI*P1", "LX*1", "SV1*HC:99213*33*UN*1***1", "SVD*P1*10*HC:99213**1",
            "CAS*CO*45*13", "CAS*PR*1*10", "DTP*573*D8*20260320", "AMT*EAF*10"]
    assert assert_same(seed) == []
    mutants = {
        "COB001": {1: "CLM*C1*34***11:B:1*Y*A*Y*Y"},
        "COB002": {8: "CAS*CO*45*12"},
        "COB004": {None: ["LX*2", "SV1*HC:99213*0*UN*1***1"]},
        "COB005": {7: "SVD*P1*-10*HC:99213**1"},
        "COB006": {8: "CAS*CO*45*1**45*1**45*1**45*1**45*1**45*1**45*7"},
        "COB007": {9: "CAS*PR*1*10**2"},
        "COB008": {7: "SVD*P9*10*HC:99213**1"},
        "COB009": {10: "DTP*472*D8*20260320"},
        "COB010": {10: "DTP*573*D8*20260402"},
        "COB011": {3: "AMT*D*10~AMT*EAF*10"},
        "COB012": {3: "AMT*B6*10"},
        "COB013": {2: "SBR*T*18*GRP1******CI"},
        "COB014": {0: "SBR*S*18*GRP2**12****CI"},
        "COB014 ": {0: "SBR*S*18*GRP2******MB"},  # Medicare, not primary, without SBR05
        "COB015": {2: "SBR*P**GRP1******CI"},
    }
    for code, edits in mutants.items():
        texts = list(seed)
        for at, text in edits.items():
            if at is None:
                texts += text
            else:
                texts[at:at + 1] = text.split("~")
        rules = gate.COUNTS.rules
        assert code.strip() in {f.code for f in assert_same(texts)}, code
        assert gate.COUNTS.rules == rules + 1


def test_an_amount_past_decimal_range_is_left_to_the_rules():
    texts = ["SBR*S*18*GRP2******CI", "CLM*C1*9E+999999***11:B:1*Y*A*Y*Y", "LX*1", "SV1*HC:99213*9E+999999*UN*1",
             "LX*2", "SV1*HC:99213*9E+999999*UN*1"]
    assert balances(view_of(texts), TODAY) is False


def test_convert_decides_every_clean_claim_on_the_fast_path(tmp_path):
    """Convert's clean claims never reach the rules: were the fast path to stop answering (a rule
    added to the rules only, a view it cannot read), this fails instead of going slow unseen."""
    options = ConvertOptions(today=TODAY, now=dt.datetime(2026, 4, 1, 9, 30), usage="T", validate_ig=False)
    fast, rules, converted = gate.COUNTS.fast, gate.COUNTS.rules, 0
    for case in sorted(p for p in GOLDEN.iterdir() if (p / "era.835").exists()):
        coverage = case / "coverage.csv"
        [result] = run_batch([case / "era.835"], [case / "claims.837"], tmp_path / case.name, options=options,
                             coverage_path=coverage if coverage.exists() else None)
        report = json.loads(result.report.read_text())
        converted += sum(1 for d in report["claims"] if d["status"] in ("converted", "paper"))
    assert converted >= 5
    assert gate.COUNTS.rules == rules
    assert gate.COUNTS.fast - fast >= converted


def test_a_line_date_read_before_is_judged_as_when_first_read():
    """The inline DTP*573 test of a 2430 (a date read before): future and bad dates still go to the
    rules, whether the date is new to the run or was read already."""
    def claim(date: str) -> list[str]:
        return ["SBR*S*18*GRP2******CI", "CLM*C1*100***11:B:1*Y*A*Y*Y", "SBR*P*18*GRP1******CI", "AMT*D*80",
                "NM1*PR*2*PAYER*****PI*P1", "LX*1", "SV1*HC:99213*100*UN*1", "SVD*P1*80*HC:99213**1",
                "CAS*CO*45*20", f"DTP*573*D8*{date}"]
    for date in ("20991231", "20260230", "2026013", "20260301"):
        first = assert_same(claim(date))
        assert assert_same(claim(date)) == first  # the second time from the remembered dates
        assert (first == []) is (date == "20260301")
