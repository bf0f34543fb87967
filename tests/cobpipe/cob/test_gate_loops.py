"""The gate's quick proof over a built claim's loops (cob/gate_loops.py) against the reference: the
loop flattened, scanned (ClaimView.scan of its segments) and checked by the rules.

check_claim of `ClaimView.scan(loop)` (a LoopView) must give the rules' findings word for word on
every tree, on any day, whether the proof answers or the claim goes the reference way: claims are
generated balanced (test_gate_fast's generator), or with one flaw only one rule sees, mutated,
placed into loops as the parser places them or into odd trees (segments moved into other loops,
loops nested deeper or emptied). The usual claim (one payer that adjudicated it) must take the
proof, and so must every claim convert builds from the generated files.
"""
from __future__ import annotations

import datetime as dt
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_gate_fast import FLAWS, TODAY, balanced_claims, mutated

from cobpipe.claim837.loops import Loop
from cobpipe.cob import gate, gate_view
from cobpipe.cob.gate import ClaimView, check_claim, check_claim_rules
from cobpipe.cob.gate_loops import balanced_since
from cobpipe.pipeline import ConvertOptions, run_batch
from cobpipe.synth import generate_set
from edi.segment import Segment

DAYS = (dt.date(2025, 12, 31), dt.date(2026, 3, 20), TODAY, dt.date(2026, 4, 2))


def segments_of(texts: list[str]) -> list[Segment]:
    return [Segment(text.split("*")[0], tuple(text.split("*")[1:]), index=n, line=n)
            for n, text in enumerate(texts, start=1)]


def placed(segments: list[Segment]) -> Loop:
    """The 2300 loop as the 837P parser places these segments (SBR opens a 2320, NM1 in it a 2330x,
    LX a 2400, SVD in it a 2430, LQ a 2440, NM1 before any 2320 a 2310x)."""
    claim = Loop("2300", segments[:1])
    payer = line = inner = None
    for seg in segments[1:]:
        tag = seg.tag
        if tag == "SBR" and line is None:
            payer, inner = Loop("2320", [seg]), None
            claim.items.append(payer)
        elif tag == "LX":
            line, payer, inner = Loop("2400", [seg]), None, None
            claim.items.append(line)
        elif tag == "NM1" and payer is not None:
            inner = Loop("2330B" if seg.get(1) == "PR" else "2330A", [seg])
            payer.items.append(inner)
        elif tag == "NM1" and line is None:
            inner = Loop("2310B", [seg])
            claim.items.append(inner)
        elif tag in ("SVD", "LQ") and line is not None:
            inner = Loop("2430" if tag == "SVD" else "2440", [seg])
            line.items.append(inner)
        else:
            (inner or payer or line or claim).items.append(seg)
    return claim


@st.composite
def odd_trees(draw, claim: Loop) -> Loop:
    """The tree edited: a segment moved into a loop of its own or another loop, a loop nested in
    another, a loop emptied; the flattened order is what the reference reads either way."""
    loops = [claim]
    for item in claim.items:
        if isinstance(item, Loop):
            loops.append(item)
            loops += [child for child in item.items if isinstance(child, Loop)]
    for _ in range(draw(st.integers(1, 3))):
        loop = draw(st.sampled_from(loops))
        if not loop.items:
            continue
        at = draw(st.integers(0, len(loop.items) - 1))
        what = draw(st.sampled_from(["wrap", "nest", "empty", "move"]))
        if what == "wrap":
            loop.items[at] = Loop("2399", [loop.items[at]])
        elif what == "nest" and isinstance(loop.items[at], Loop):
            loop.items[at] = Loop("2399", [], [Loop("2398", [], [loop.items[at]])])
        elif what == "empty":
            loop.items.insert(at, Loop("2310A"))
        elif what == "move":
            item = loop.items.pop(at)
            target = draw(st.sampled_from(loops))
            if isinstance(item, Loop) and _holds(item, target):  # into itself: the loop would leave the tree
                loop.items.insert(at, item)
                continue
            target.items.insert(draw(st.integers(0, len(target.items))), item)
    return claim


def _holds(loop: Loop, other: Loop) -> bool:
    """Whether `other` is `loop` or a loop at any depth below it."""
    return loop is other or any(isinstance(item, Loop) and _holds(item, other) for item in loop.items)


def assert_same(claim: Loop, sbr: Segment) -> list:
    """check_claim of the LoopView gives the rules' findings over the flattened loop, every day;
    returns TODAY's."""
    found = {}
    for today in DAYS:
        expected = check_claim_rules(ClaimView.scan(list(claim.iter_segments()), sbr), today=today, path="c.837")
        assert check_claim(ClaimView.scan(claim, sbr), today=today, path="c.837") == expected
        latest = balanced_since(claim, sbr)
        if latest is not None and not latest > today:
            assert expected == [], [s.tag for s in claim.iter_segments()]
        found[today] = expected
    return found[TODAY]


def usual(texts: list[str]) -> bool:
    """One payer in the claim, that adjudicated it (what the proof answers for)."""
    return sum(1 for text in texts[1:] if text.startswith("SBR*")) == 1 and not any(
        text.startswith("AMT*A8") for text in texts)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(balanced_claims())
def test_the_usual_balanced_claim_is_proven(texts):
    segments = segments_of(texts)
    claim = placed(segments[1:])
    assert assert_same(claim, segments[0]) == []
    if usual(texts):
        assert balanced_since(claim, segments[0]) is not None, texts


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FLAWS).flatmap(balanced_claims))
def test_a_flaw_is_never_proven(texts):
    segments = segments_of(texts)
    claim = placed(segments[1:])
    assert assert_same(claim, segments[0])


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_mutated_claim_gets_the_rules_findings(data):
    texts = data.draw(balanced_claims(data.draw(st.sampled_from([None, None, *FLAWS]))))
    segments = segments_of(data.draw(mutated(texts)))
    assert_same(placed(segments[1:]), segments[0])


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_an_odd_tree_gets_the_rules_findings(data):
    texts = data.draw(balanced_claims(data.draw(st.sampled_from([None, None, None, *FLAWS]))))
    if data.draw(st.booleans()):
        texts = data.draw(mutated(texts))
    segments = segments_of(texts)
    assert_same(data.draw(odd_trees(placed(segments[1:]))), segments[0])


def shared(claim: Loop) -> Loop:
    """The tree with every segment whose text an earlier one has replaced by that earlier object, as
    the builder shares its segments (a claim's one DTP*573 in every 2430, remembered CAS and AMT*EAF)."""
    first: dict[tuple, Segment] = {}
    loops = [claim]
    for loop in loops:
        for at, item in enumerate(loop.items):
            if isinstance(item, Loop):
                loops.append(item)
            else:
                loop.items[at] = first.setdefault((item.tag, item.elements), item)
    return claim


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(balanced_claims())
def test_the_usual_balanced_claim_with_shared_segments_is_proven(texts):
    """The proof reads a DTP*573 object once a claim (a later 2430 holding the same object is dated by
    it): with segments shared as the builder shares them, the usual balanced claim is still proven
    and the findings are the rules'. Fails when a shared DTP*573 no longer dates its 2430 (checked)."""
    segments = segments_of(texts)
    claim = shared(placed(segments[1:]))
    assert assert_same(claim, segments[0]) == []
    if usual(texts):
        assert balanced_since(claim, segments[0]) is not None, texts


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_shared_segments_get_the_rules_findings(data):
    """Flawed, mutated or in odd trees, a claim whose segments are shared gets the rules' findings."""
    texts = data.draw(balanced_claims(data.draw(st.sampled_from([None, *FLAWS]))))
    if data.draw(st.booleans()):
        texts = data.draw(mutated(texts))
    segments = segments_of(texts)
    claim = placed(segments[1:])
    if data.draw(st.booleans()):
        claim = data.draw(odd_trees(claim))
    assert_same(shared(claim), segments[0])


USUAL = ["SBR*S*18*GRP9******CI", "CLM*C1*100***11:B:1*Y*A*Y*Y", "HI*ABK:R51", "NM1*82*1*DOC", "PRV*PE*PXC*1",
         "SBR*P*18*GRP1******CI", "CAS*PR*1*5", "AMT*D*55", "OI***Y*P**Y", "NM1*IL*1*SAMPLE", "N3*1 ROAD",
         "NM1*PR*2*PLAN*****PI*PAYP", "REF*F8*1", "LX*1", "SV1*HC:99213*40*UN*1", "DTP*472*D8*20260301",
         "SVD*PAYP*20*HC:99213**1", "CAS*CO*45*15", "CAS*PR*2*5", "DTP*573*D8*20260320", "AMT*EAF*5",
         "LX*2", "SV1*HC:99214*60*UN*1", "REF*6R*2", "SVD*PAYP*40*HC:99214**1", "CAS*CO*45*20",
         "DTP*573*D8*20260320", "LQ*HE*N1", "FRM*1*Y"]
INSERTED = ["CLM*X*100", "LX*9", "SBR*P*18*G", "SBR*T*18*G", "SV1*HC:1*0", "SV1*HC:1*40", "SVD*PAYP*0*HC:1",
            "SVD*PAYX*0*HC:1", "CAS*CO*45*0", "CAS*CO*45*5", "DTP*573*D8*20260402", "DTP*573*D8*20260101",
            "DTP*573*D8*2026", "AMT*EAF*5", "AMT*D*5", "AMT*A8*5", "NM1*PR*2*X*****PI*PAYP", "NM1*PR*2*X*****PI*PAYX", "NM1*IL*1*X",
            "LQ*HE*1", "FRM*1*Y", "REF*X*1"]


def test_any_segment_anywhere_in_the_usual_claim_gets_the_rules_findings():
    """Every segment the scan reads, put at every place of the usual claim's tree, as a segment of
    that loop or a loop of its own."""
    segments = segments_of(USUAL)
    assert balanced_since(placed(segments[1:]), segments[0]) is not None
    count = 0
    for text in INSERTED:
        extra = segments_of([text])[0]
        for wrapped in (False, True):
            tree = placed(segments[1:])
            loops = [tree]
            for loop in loops:
                loops += [item for item in loop.items if isinstance(item, Loop)]
            for number, loop in enumerate(loops):
                for at in range(len(loop.items) + 1):
                    tree = placed(segments[1:])
                    target = [tree]
                    for each in target:
                        target += [item for item in each.items if isinstance(item, Loop)]
                    target[number].items.insert(at, Loop("2399", [extra]) if wrapped else extra)
                    assert_same(tree, segments[0])
                    count += 1
    assert count > 1000


def test_a_loop_view_reads_its_parts_when_asked():
    texts = ["SBR*S*18*G", "CLM*C1*10", "SBR*P*18*G1", "AMT*D*10", "NM1*PR*2*P*****PI*P1", "DTP*573*D8*20260301"]
    segments = segments_of(texts)
    claim = placed(segments[1:])
    view = ClaimView.scan(claim, segments[0])
    reference = ClaimView.scan(list(claim.iter_segments()), segments[0])
    assert (view.clm, view.subscriber_sbr, view.other_payers, view.lines) == (
        reference.clm, reference.subscriber_sbr, reference.other_payers, reference.lines)
    try:
        ClaimView.scan(Loop("2300", segments[2:3]), None).lines
    except ValueError:
        pass
    else:
        raise AssertionError("a loop with no CLM read as a claim")


def test_money_is_the_same_across_generations(monkeypatch):
    """money() keeps two generations of read amounts: a text read in either, or in neither, reads alike."""
    monkeypatch.setattr(gate_view, "MONEY_LIMIT", 4)
    monkeypatch.setattr(gate_view, "_MONEY", {})
    monkeypatch.setattr(gate_view, "_MONEY_BEFORE", {})
    texts = ["1", "2.50", "abc", "", "NaN", "1E+2", "2.50", "3", "4", "5", "1", "6", "7", "2.50", "8", "1E+2"]
    for text in texts * 3:
        value = gate_view.money(Segment("AMT", ("D", text)), 2)
        expected = gate_view.parse_amount(text)
        assert value == (expected if expected is not None else 0) and str(value) == str(expected or 0)
        assert len(gate_view._MONEY) <= 4 and len(gate_view._MONEY_BEFORE) <= 4


def test_convert_proves_every_usual_claim_it_builds(tmp_path):
    """Every claim convert builds from generated files, and each golden case's, with one payer that
    adjudicated it, is decided by the proof: were it to stop answering, this fails instead of the gate
    going slow unseen."""
    made = generate_set(300, tmp_path / "in", seed=5)
    options = ConvertOptions(today=TODAY, now=dt.datetime(2026, 4, 1, 9, 30), usage="T", validate_ig=False)
    before, rules = gate.COUNTS.loops, gate.COUNTS.rules
    [result] = run_batch([made.era], [made.claims], tmp_path / "out", options=options, coverage_path=made.coverage)
    report = json.loads(result.report.read_text())
    converted = sum(1 for d in report["claims"] if d["status"] in ("converted", "paper"))
    assert converted > 100
    assert gate.COUNTS.loops - before == converted
    assert gate.COUNTS.rules == rules
