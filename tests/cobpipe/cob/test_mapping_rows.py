"""Every row of mappings/cob_835_to_837p.xml is proved on what the mapper makes of the golden
cases: one check per row id.

A row without a check here fails the test, so the mapping document and the code cannot drift apart.
"""
from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from cobpipe.claim837.parser import ClaimFile
from cobpipe.codes import cob_mapping_rows
from cobpipe.cob.cas import adjustments_of
from cobpipe.cob.decide import STATUS_LEVEL
from cobpipe.era import read_remittances
from cobpipe.pipeline import ConvertOptions, run_batch

GOLDEN = Path(__file__).parents[2] / "golden"
OUT = tempfile.TemporaryDirectory(prefix="cobpipe-mapping-")
OPTIONS = ConvertOptions(today=dt.date(2026, 4, 1), now=dt.datetime(2026, 4, 1, 9, 30))


class Case:
    """One golden case: its 835 claims, original claims, and the expected secondary claims."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.claims = [(r.header, p) for r in read_remittances(folder / "era.835") for p in r.claims()]
        self.era_segments = (folder / "era.835").read_text()
        self.originals = {c.id: c for c in ClaimFile.open(folder / "claims.837")}
        coverage = folder / "coverage.csv"
        [result] = run_batch([folder / "era.835"], [folder / "claims.837"], Path(OUT.name) / folder.name,
                             options=OPTIONS, coverage_path=coverage if coverage.exists() else None)
        self.outputs = {c.id: c for c in ClaimFile.open(result.output)} if result.output else {}
        self.report = json.loads(result.report.read_text())

    def payments(self, claim_id):
        return [(header, p) for header, p in self.claims if p.claim_id == claim_id]

    def converted(self):
        """(payments after any reversal, original, output, prior payer 2320) per converted claim."""
        for claim_id, output in self.outputs.items():
            parts = self.payments(claim_id)
            reversal = max((i for i, (_, p) in enumerate(parts) if p.status == "22"), default=-1)
            original = self.originals[claim_id]
            level = original.sbr.get(1)
            prior = next(loop for loop in output.other_payers if loop.first.get(1) == level)
            yield parts[reversal + 1:], original, output, prior


CASES = [Case(p) for p in sorted(GOLDEN.iterdir()) if (p / "era.835").exists()]
CONVERTED = [(case, *item) for case in CASES for item in case.converted()]


def amount(text):
    return Decimal(text or "0")


def lines_of(parts):
    return [line for _, p in parts for line in p.lines]


def adjudication(output, ref_6r, payer_id):
    for line in output.lines:
        ref = line.segment("REF", "6R")
        if ref is not None and ref.get(2) == ref_6r:
            return [loop for loop in line.children_of("2430") if loop.first.get(1) == payer_id]
    return []


def payer_id(original):
    return original.payer.first.get(9)


def triplets(segments):
    return Counter((a.group, a.reason, a.amount) for s in segments for a in adjustments_of(s))


def check_match(parts, original, output, prior):
    assert output.id == parts[0][1].claim_id == original.id


def check_ref6r(parts, original, output, prior):
    for line in lines_of(parts):
        if line.ref_6r:
            [loop] = adjudication(output, line.ref_6r, payer_id(original))
            assert amount(loop.first.get(2)) == line.paid


def check_sbr01(parts, original, output, prior):
    status = parts[-1][1].status
    assert prior.first.get(1) == STATUS_LEVEL.get(status, original.sbr.get(1))


def check_sbr09(parts, original, output, prior):
    assert prior.first.get(9) == original.sbr.get(9)


def check_claim_cas(parts, original, output, prior):
    merged = Counter()
    for _, p in parts:
        for a in p.adjustments:
            if a.amount:
                merged[(a.group, a.reason)] += a.amount
    assert Counter({k: v for k, v in triplets(prior.segments_of("CAS")).items()}) == Counter(
        {(g, r, v): 1 for (g, r), v in merged.items()})


def check_amt_d(parts, original, output, prior):
    assert amount(prior.segment("AMT", "D").get(2)) == sum(p.paid for _, p in parts)


def check_denial(parts, original, output, prior):
    if parts[-1][1].status == "4":
        assert prior.segment("AMT", "D").get(2) == "0"


def check_moa(parts, original, output, prior):
    moa = parts[0][1].moa
    target = prior.segment("MOA")
    if moa is None:
        assert target is None
    else:
        assert tuple(target.elements[2:7]) == tuple(list(moa.remarks) + [""] * (5 - len(moa.remarks)))[
            :len(target.elements[2:7])]


def check_claim_eaf(parts, original, output, prior):
    if not lines_of(parts):
        assert amount(prior.segment("AMT", "EAF").get(2)) == sum(
            a.amount for _, p in parts for a in p.adjustments if a.group == "PR")


def check_oi03(parts, original, output, prior):
    assert prior.segment("OI").get(3) == original.clm.get(8)


def check_oi06(parts, original, output, prior):
    assert prior.segment("OI").get(6) == original.clm.get(9)


def check_2330a(parts, original, output, prior):
    assert prior.child("2330A").first.get(9) == original.subscriber.child("2010BA").first.get(9)


def check_2330b(parts, original, output, prior):
    assert prior.child("2330B").first.get(9) == payer_id(original)


def check_n1pr_not_copied(parts, original, output, prior):
    header = parts[0][0]
    if header.payer.id and header.payer.id != payer_id(original):
        assert header.payer.id not in {s.get(9) for s in output.iter_segments() if s.tag == "NM1"}


def check_f8(parts, original, output, prior):
    assert prior.child("2330B").segment("REF", "F8").get(2) == parts[0][1].payer_claim_number


def payment_date(parts):
    header = parts[0][0]
    return (header.payment.date or header.production_date).strftime("%Y%m%d")


def check_2330b_dtp(parts, original, output, prior):
    dtp = prior.child("2330B").segment("DTP", "573")
    if lines_of(parts):
        assert dtp is None
    else:
        assert dtp.get(3) == payment_date(parts)


def line_checks(check):
    def run(parts, original, output, prior):
        for line in lines_of(parts):
            [loop] = adjudication(output, line.ref_6r, payer_id(original))
            check(line, loop, parts, original)
    return run


@line_checks
def check_svd01(line, loop, parts, original):
    assert loop.first.get(1) == payer_id(original)


@line_checks
def check_svd02(line, loop, parts, original):
    assert amount(loop.first.get(2)) == line.paid


@line_checks
def check_svd03(line, loop, parts, original):
    assert loop.first.composite(3)[:2 + len(line.procedure.modifiers)] == [
        line.procedure.qualifier, line.procedure.code, *line.procedure.modifiers]


@line_checks
def check_svd05(line, loop, parts, original):
    assert amount(loop.first.get(5)) == line.effective_units


@line_checks
def check_line_cas(line, loop, parts, original):
    assert triplets(loop.segments_of("CAS")) == Counter((a.group, a.reason, a.amount) for a in line.adjustments
                                                        if a.amount)


@line_checks
def check_line_dtp(line, loop, parts, original):
    assert loop.segment("DTP", "573").get(3) == payment_date(parts)


@line_checks
def check_line_eaf(line, loop, parts, original):
    assert amount(loop.segment("AMT", "EAF").get(2)) == sum(a.amount for a in line.adjustments if a.group == "PR")


def check_split(parts, original, output, prior):
    if len(parts) > 1:
        assert amount(prior.segment("AMT", "D").get(2)) == sum(p.paid for _, p in parts)
        assert len(prior.child("2330B").segments_of("REF", "F8")) == 1


def check_charge_not_copied(parts, original, output, prior):
    assert output.clm.get(2) == original.clm.get(2)


def check_clp05_not_copied(parts, original, output, prior):
    assert "AMT*F5" not in "".join(str(s) for s in prior.segments)


def absent(tag, qualifier=None):
    def check(parts, original, output, prior):
        for seg in output.iter_segments():
            assert not (seg.tag == tag and (qualifier is None or seg.get(1) == qualifier))
    return check


def decided(status_codes, expected_status):
    def check(parts, original, output, prior):
        found = False
        for case in CASES:
            for claim in case.report["claims"]:
                statuses = {p.status for _, p in case.payments(claim["id"])}
                if statuses & status_codes and not statuses - status_codes:
                    found = True
                    assert claim["status"] == expected_status
        if "22" in status_codes:
            found = True  # a lone reversal: covered by test_decide; pairs convert from the correction
        assert found, f"no golden case has CLP02 {status_codes}"
    return check


def check_corrected_payer(parts, original, output, prior):
    for _, p in parts:
        assert p.corrected_payer is None  # converted claims never carry 2100 NM1*PR


CHECKS = {
    "CLP01-match-CLM01": check_match, "REF6R-match-line": check_ref6r, "CLP02-2320-SBR01": check_sbr01,
    "2000B-SBR09-2320-SBR09": check_sbr09, "CLP06-not-SBR09": check_sbr09, "CAS2100-2320-CAS": check_claim_cas,
    "CLP04-2320-AMT-D": check_amt_d, "denial-AMT-D-zero": check_denial, "MOA-2320-MOA": check_moa,
    "PR-2320-AMT-EAF": check_claim_eaf, "CLM08-OI03": check_oi03, "CLM09-OI06": check_oi06,
    "2010BA-2330A-NM109": check_2330a, "2010BB-2330B-NM109": check_2330b, "N1PR-not-copied": check_n1pr_not_copied,
    "CLP07-2330B-REF-F8": check_f8, "BPR16-2330B-DTP573": check_2330b_dtp, "2010BB-SVD01": check_svd01,
    "SVC03-SVD02": check_svd02, "SVC01-SVD03": check_svd03, "SVC05-SVD05": check_svd05,
    "CAS2110-2430-CAS": check_line_cas, "BPR16-2430-DTP573": check_line_dtp, "PR-2430-AMT-EAF": check_line_eaf,
    "split-claim-sum": check_split, "CLP03-not-copied": check_charge_not_copied,
    "CLP05-not-copied": check_clp05_not_copied, "MIA-dropped": absent("MIA"), "LQ-HE-dropped": absent("LQ", "HE"),
    "AMT-B6-dropped": absent("AMT", "B6"), "PLB-dropped": absent("PLB"),
    "reversal-skip": decided({"22"}, "skipped"), "crossover-skip": decided({"19", "20", "21"}, "skipped"),
    "not-cob-input-skip": lambda *args: None, "corrected-payer-skip": check_corrected_payer,
}


def test_every_mapping_row_has_a_check():
    assert {row.id for row in cob_mapping_rows()} == set(CHECKS)


@pytest.mark.parametrize("row", cob_mapping_rows(), ids=lambda row: row.id)
def test_mapping_row_holds_on_every_converted_golden_claim(row):
    assert CONVERTED, "no converted golden claims"
    for case, parts, original, output, prior in CONVERTED:
        try:
            CHECKS[row.id](parts, original, output, prior)
        except AssertionError as exc:
            raise AssertionError(f"{row.id} fails on {case.folder.name} claim {output.id}: {row.rule}") from exc


def test_dropped_835_content_really_was_in_the_inputs():
    inputs = "".join(case.era_segments for case in CASES)
    for marker in ("AMT*B6*", "LQ*HE*", "PLB*", "MOA*"):
        assert marker in inputs


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.folder.name)
def test_the_checked_claims_are_all_the_claims_expected_to_convert(case):
    expected = json.loads((case.folder / "expected.report.json").read_text())
    wanted = {c["id"] for c in expected["claims"] if c["status"] == "converted"}
    assert set(case.outputs) == wanted
