"""convert's shortcuts for the usual claim (ClaimConverter.quick, in cob/convert.py and cob/answered.py:
one part, one candidate billed to the 835's payer, each candidate's billed payer read once, the
gate's proof over the built loop) write what the general way writes: the same .837 bytes, report
and decisions, on the golden cases, the samples, generated files with many knobs, claims matched
ignoring case or held in several files, a payer list that sends some payers to paper, a ledger
that already billed the claims, and the 835 again with the claims it billed onward.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from cobpipe.batch import run_batch
from cobpipe.cob import answered, convert, identity
from cobpipe.cob.convert import ClaimConverter, _billed_reason
from cobpipe.cob.decision import ConvertOptions
from cobpipe.cob.identity import RememberedPayers, billed_payer, place, shared_ref
from cobpipe.payers import PayerList, PayerRef
from cobpipe.synth import generate_set
from edi.errors import EdiError

REPO = Path(__file__).parents[3]
GOLDEN = REPO / "tests" / "golden"
SAMPLES = REPO / "samples" / "cob"
OPTIONS = ConvertOptions(today=dt.date(2026, 4, 1), now=dt.datetime(2026, 4, 1, 9, 30), usage="T")


def outputs(out: Path, eras, claims, coverage, options, db: Path | None):
    try:
        results = run_batch(eras, claims, out, options=options, coverage_path=coverage,
                            db_path=db, numbers_path=None if db else out.with_suffix(".numbers"))
    except EdiError as exc:
        return [type(exc).__name__, str(exc)]
    files = sorted(p for p in out.iterdir() if p.suffix in (".837", ".json"))
    # the decisions field for field too: some fields (the 835 payer's id) go only to a ledger
    return [(p.name, p.read_bytes()) for p in files], [(r.exit_code, r.counts, list(r.decisions)) for r in results]


def assert_same(tmp_path: Path, eras, claims, coverage=None, options=OPTIONS, runs: int = 1):
    """The quick and the general way alike; `runs` > 1: again with the same ledger (billed already)."""
    found = {}
    for quick in (True, False):
        ClaimConverter.quick = quick
        try:
            db = tmp_path / f"ledger-{quick}.sqlite" if runs > 1 else None
            found[quick] = [outputs(tmp_path / f"{quick}-{run}", eras, claims, coverage, options, db)
                            for run in range(runs)]
        finally:
            ClaimConverter.quick = True
    assert found[True] == found[False]
    return found[True]


@pytest.mark.parametrize("case", sorted(p.name for p in GOLDEN.iterdir() if (p / "era.835").exists()))
def test_golden_cases(case, tmp_path):
    folder = GOLDEN / case
    coverage = folder / "coverage.csv"
    assert_same(tmp_path, [folder / "era.835"], [folder / "claims.837"], coverage if coverage.exists() else None)


def test_samples_twice_with_a_ledger(tmp_path):
    claims = [SAMPLES / "claims.837", SAMPLES / "seed-claims.837"]
    for era in ("era.835", "problems/era.835", "seed-era.835"):
        assert_same(tmp_path / era.replace("/", "-"), [SAMPLES / era], claims, SAMPLES / "coverage.csv", runs=2)


KNOBS = [
    (1, {}),
    (2, dict(reversal_fraction=0.4, crossover_fraction=0.2, denial_fraction=0.3, claims_per_835=40)),
    (3, dict(unbalanced_fraction=0.2, secondary_absent_fraction=0.6, patient_fraction=0.7)),
    (4, dict(claim_cas_fraction=0.6, oa23_fraction=0.3, bundled_fraction=0.3, max_lines=3)),
]


@pytest.mark.parametrize("seed,knobs", KNOBS, ids=[f"seed{seed}" for seed, _ in KNOBS])
def test_generated_twice_with_a_ledger(seed, knobs, tmp_path):
    made = generate_set(150, tmp_path / "in", seed=seed, **knobs)
    first, again = assert_same(tmp_path, [made.era], [made.claims], made.coverage, runs=2)
    assert first[1][0][1]["converted"] > 20  # the quick way was taken,
    assert again[1][0][1]["converted"] < first[1][0][1]["converted"]  # and what it billed is billed already


def test_the_835_again_with_the_claims_billed_onward(tmp_path):
    """The primary's 835 converted again with the secondary claims it made given as claims too: each
    CLP01 has two candidates, one billed to the 835's payer, one already billed to the next payer."""
    made = generate_set(120, tmp_path / "in", seed=11, reversal_fraction=0.2, patient_fraction=0.4)
    ((files, results),) = assert_same(tmp_path / "first", [made.era], [made.claims], made.coverage)
    onward = tmp_path / "onward.837"
    onward.write_bytes(dict(files)["era.837"])
    ((files, results),) = assert_same(tmp_path / "again", [made.era], [made.claims, onward], made.coverage)
    report = dict(files)["era.report.json"].decode()
    assert report.count("already billed to payer") > 20


def test_claims_in_two_files_matched_ignoring_case_and_some_on_paper(tmp_path):
    made = generate_set(80, tmp_path / "in", seed=9, patient_fraction=0.5, claims_per_837=30)
    text = made.claims.read_text()
    lower = tmp_path / "lower.837"
    lower.write_text(text.replace("CLM*SYN0000001", "CLM*syn0000001"))
    changed = tmp_path / "changed.837"
    changed.write_text(text.replace("*11:B:1*", "*12:B:1*", 5))
    payers = tmp_path / "payers.csv"
    payers.write_text("payer_id,name,accepts_electronic_secondary,eaf_level,notes,aliases\n"
                      "99903,ZZ TEST BENEFIT PLAN,no,line,,\n99901,ZZ PRIMARY HEALTH PLAN,yes,line,,\n")
    options = dataclasses.replace(OPTIONS, payers=PayerList.load(payers))
    ((files, results),) = assert_same(tmp_path, [made.era], [lower, made.claims, changed], made.coverage, options)
    assert results[0][1]["paper"] > 0 and results[0][1]["converted"] > 0


def test_placing_with_the_billed_payer_read_before_is_placing():
    payers = RememberedPayers(PayerList.load())
    claims = []
    for case in sorted(GOLDEN.iterdir()):
        if (case / "claims.837").exists():
            from cobpipe.claim837.index import ClaimIndex

            index = ClaimIndex.build([case / "claims.837"], None)
            claims += [index.claim(n) for n in range(len(index.claims) // 4)]
    assert len(claims) > 10
    senders = [PayerRef(("99901",), "ZZ PRIMARY HEALTH PLAN"), PayerRef(("12345",), "Other"), PayerRef()]
    senders += [billed_payer(c) for c in claims[:5]]
    for sender in senders:
        for claim in claims:
            assert place(payers, sender, claim, billed_payer(claim)) == place(payers, sender, claim)


def test_a_shared_ref_is_the_ref():
    made = shared_ref(("A1", "B2"), "PLAN")
    assert made == PayerRef(("A1", "B2"), "PLAN")
    assert shared_ref(("A1", "B2"), "PLAN") is made
    assert identity._shared(PayerRef(("A1", "B2"), "PLAN")) is made


def test_payers_taking_paper_are_remembered_by_their_shared_ref(tmp_path):
    payers = tmp_path / "payers.csv"
    payers.write_text("payer_id,name,accepts_electronic_secondary,eaf_level,notes,aliases\n"
                      "111,PAPER PLAN,no,line,,P9\n222,E PLAN,yes,line,,\n")
    plain = PayerList.load(payers)
    remembered = RememberedPayers(plain)
    refs = [PayerRef(("111",), ""), PayerRef(("P9",), "X"), PayerRef(("222",), ""), PayerRef((), "PAPER PLAN"),
            PayerRef(("333",), "")]
    for ref in refs + [PayerRef(r.ids, r.name) for r in refs] + [shared_ref(r.ids, r.name) for r in refs]:
        assert remembered.accepts_electronic_secondary(ref) is plain.accepts_electronic_secondary(ref)
    assert len(remembered._listed_by_id) == len(refs)


def test_the_billed_reason_is_the_sentence():
    assert _billed_reason("99903", "claim 2320", "S") == "billed to payer 99903 (claim 2320) as SBR01 S"
    assert _billed_reason("99903", "claim 2320", "S") is _billed_reason("99903", "claim 2320", "S")
    assert _billed_reason("1", "coverage.csv row 2", "T") == "billed to payer 1 (coverage.csv row 2) as SBR01 T"
    for n in range(convert._BILLED_REASONS_LIMIT + 5):
        assert _billed_reason(str(n), "s", "S") == f"billed to payer {n} (s) as SBR01 S"
    assert len(convert._BILLED_REASONS) <= convert._BILLED_REASONS_LIMIT


def test_a_claims_charge_is_read_as_claim_charge():
    from cobpipe.claim837.claim import Envelope, OriginalClaim
    from cobpipe.claim837.loops import Loop
    from edi.segment import Segment

    for text in ["100", "100.00", "1E+2", "", "abc", "NaN", "-5", " 7", "100", "1E+2", "abc"]:
        claim = OriginalClaim(Envelope(), Loop("HEADER"), Loop("2000A"), Loop("2000B"), None,
                              Loop("2300", [Segment("CLM", ("C1", text) if text != "" else ("C1",))]))
        try:
            expected = claim.charge
        except EdiError:
            expected = None
        got = answered._charge(claim)
        assert got == expected and str(got) == str(expected), text


@pytest.mark.parametrize("payer", [["NM1*PR*2*BLUE STAR*****PI*22222"], ["NM1*PR*2*X"], ["NM1*PR"],
                                   ["NM1*PR*2*****PI*"], ["NM1*PR*2*BLUE STAR*****PI*22222", "REF*2U*BSI01"],
                                   ["NM1*PR*2*GREEN*****PI*3", "N3*1 ROAD", "REF*FY*7"]])
def test_the_next_payer_named_by_its_nm1_alone_is_read_as_any_other(payer):
    """loop_payer_of's shortcut for a 2330B of one NM1 gives the general reading's shared ref."""
    from cobpipe.cob.build import NextPayer
    from edi.segment import Segment

    segments = [Segment(text.split("*")[0], tuple(text.split("*")[1:])) for text in payer]
    next_payer = NextPayer("S", "18", "", "", "", "CI", [], segments)
    ids = [next_payer.payer_id] + [s.get(2) for s in segments[1:] if s.tag == "REF"]
    assert convert.loop_payer_of(next_payer) is shared_ref(tuple(i for i in ids if i), segments[0].get(3))
