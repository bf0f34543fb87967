"""build_secondary builds the secondary claim in one pass over the original, sharing what it carries
over unchanged instead of copying it: held to the copy-edit-tidy way it was written before (the
reference below), on generated claims, and to the originals it must never edit."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cobpipe.cob.convert as convert
from cobpipe.claim837.index import ClaimIndex
from cobpipe.claim837.loops import Loop
from cobpipe.cob import build
from cobpipe.cob import adjudication
from cobpipe.cob.adjudication import code, other_payer_loop
from cobpipe.cob.build import _level_rank
from cobpipe.cob.coverage import CoverageTable
from cobpipe.cob.decision import ConvertOptions
from cobpipe.cob.tidy import tidy_loop, tidy_segment
from cobpipe.decision_log import DecisionLog
from cobpipe.pipeline import scan_era
from cobpipe.synth import generate_set
from edi.segment import Segment


def reference_build(original, remit, next_payer, lines, adjudication_date):
    """build_secondary as written before it shared loops: copy the 2300, edit the copy, tidy it all."""
    adjudication.require_whole_cents(remit)
    prior_sbr, prior_payer = original.sbr, original.payer
    prior_subscriber = original.subscriber.child("2010BA")
    patient = build.Patient.of(original)
    prior_relationship = "18" if original.patient is None else (
        code(original.patient.segment("PAT"), 1) if original.patient.segment("PAT") else "")
    subscriber = build._subscriber_loop(original.subscriber, next_payer, patient)
    patient_loop = None if next_payer.relationship == "18" else build._patient_loop(original, next_payer, patient)
    claim = original.claim.copy()
    clm = claim.first
    claim.replace(clm, build._as_original_frequency(clm))
    for ref in claim.segments_of("REF", "F8"):
        claim.remove(ref)
    others = claim.children_of("2320")
    for loop in others:
        claim.remove(loop)
    kept = [loop for loop, source in zip(others, original.claim.children_of("2320"))
            if source is not next_payer.replaces and code(source.first, 1) != next_payer.level]
    line_level_eaf = remit.has_lines and not any(a.group == "PR" for a in remit.adjustments)
    new_2320 = other_payer_loop(original, remit, prior_sbr, prior_relationship, prior_subscriber, prior_payer,
                                 adjudication_date, original.other_payers, claim_level_eaf=not line_level_eaf)
    for loop in sorted(kept + [new_2320], key=lambda loop: _level_rank(code(loop.first, 1))):
        claim.add(loop)
    new_lines = claim.children_of("2400")
    for index, line in enumerate(new_lines):
        remitted_lines = lines.remitted_for(index)
        for remitted in remitted_lines:
            paid = remit.lines[remitted]
            into = adjudication.bundled_into(new_lines, index, paid) if len(remitted_lines) == 1 else ""
            line.add(adjudication.line_adjudication(paid, prior_payer.first.get(9), adjudication_date, line_level_eaf,
                                                    into))
    return (tidy_loop(original.header), tidy_loop(original.billing_provider), tidy_loop(subscriber),
            tidy_loop(patient_loop), tidy_loop(claim))


def shape(loop):
    """A loop's structure and every segment's content, delimiters included."""
    if loop is None:
        return None
    return loop.id, tuple(shape(i) if isinstance(i, Loop) else (i.tag, i.elements, i.delimiters) for i in loop.items)


def captured_builds(tmp_path, seed: int, **knobs):
    """Every build_secondary call a conversion of a generated pair makes: (arguments, result)."""
    made = generate_set(60, tmp_path / f"in{seed}", seed=seed, **knobs)
    calls = []

    def recording(*args):
        before = shape(args[0].claim), shape(args[0].subscriber), shape(args[0].patient)
        try:
            result = build.build_secondary(*args)
        except (adjudication.BuildError, ValueError) as exc:
            result = exc
        calls.append((args, result, before))
        if isinstance(result, Exception):
            raise result
        return result

    scan = scan_era(made.era)
    claims = ClaimIndex.build([made.claims], frozenset(scan.clp_counts))
    converter = convert.ClaimConverter(claims, options=ConvertOptions(validate_ig=False),
                                       coverage=CoverageTable.load(made.coverage), path=str(made.era))
    saved = convert.build_secondary
    convert.build_secondary = recording
    try:
        list(converter.run(scan.repeated_only(), DecisionLog()))
    finally:
        convert.build_secondary = saved
    return calls


@pytest.mark.parametrize("seed, knobs", [(1, {}), (7, {"patient_fraction": 0.6}), (13, {"claims_per_837": 5})])
def test_the_built_claim_is_the_copy_edit_tidy_one_and_leaves_the_original_alone(tmp_path, seed, knobs):
    calls = captured_builds(tmp_path, seed, **knobs)
    assert len(calls) > 20
    for args, built, before in calls:
        original = args[0]
        assert (shape(original.claim), shape(original.subscriber), shape(original.patient)) == before
        try:
            expected = reference_build(*args)
        except (adjudication.BuildError, ValueError) as exc:
            assert type(built) is type(exc) and str(built) == str(exc)
            continue
        got = (built.header, built.billing_provider, built.subscriber, built.patient, built.claim)
        assert [shape(loop) for loop in got] == [shape(loop) for loop in expected]
        # what is carried over unchanged is the original's own object
        left = {id(s) for loop in original.other_payers for s in loop.all_segments()}
        left |= {id(original.claim.first)} | {id(s) for s in original.claim.segments_of("REF", "F8")}
        carried = [s for s in original.claim.all_segments() if id(s) not in left and tidy_segment(s) is s]
        kept = {id(s) for s in built.claim.all_segments()}
        assert all(id(s) in kept for s in carried)
        for line, source in zip(built.claim.children_of("2400"), original.claim.children_of("2400")):
            if line.child("2430") is None:
                assert line is source


def _claim_with(items):
    loop = Loop("2300")
    loop.items = items
    return loop


def test_an_untidy_original_is_tidied_and_the_tidy_parts_still_shared(tmp_path):
    calls = captured_builds(tmp_path, 3)
    args, built, _ = next(c for c in calls if not isinstance(c[1], Exception))
    original = args[0]
    items = list(original.claim.items)
    lines = [i for i in items if isinstance(i, Loop) and i.id == "2400"]
    untidy = Loop("2400")
    untidy.items = [Segment(s.tag, (*s.elements, ""), s.index, s.line) if isinstance(s, Segment) and s.tag == "LX"
                    else s for s in lines[0].items]
    items[items.index(lines[0])] = untidy
    hi = next(i for i in items if isinstance(i, Segment) and i.tag == "HI")
    items.insert(items.index(hi) + 1, Segment("REF", ("F8", "OLD:")))
    changed = original.replace(claim=_claim_with(items))
    new_args = (changed, *args[1:])
    expected = reference_build(*new_args)
    result = build.build_secondary(*new_args)
    assert shape(result.claim) == shape(expected[4])
    assert "F8" not in [s.get(1) for s in result.claim.segments_of("REF")]
    assert result.claim.children_of("2400")[0].first.elements == lines[0].first.elements


_AMOUNTS = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True, places=None),
    st.decimals(min_value=-10**6, max_value=10**6, places=3),
    st.sampled_from([Decimal("1E+30"), Decimal("1.5E+27"), Decimal("-0.000"), Decimal("1E-40"), Decimal("9" * 28),
                     Decimal("9" * 27 + ".5"), 0, 7, -3]))


@given(_AMOUNTS)
def test_beyond_cents_answers_as_the_exponent_rule(value):
    """The quantize-first test (no as_tuple()) against the rule it shortens, overflow and NaN included."""
    try:
        expected = adjudication._beyond_cents_of(value)
    except InvalidOperation as exc:
        with pytest.raises(type(exc)):
            adjudication._beyond_cents(value)
        return
    assert adjudication._beyond_cents(value) is expected


def test_a_fraction_of_a_cent_is_named_and_trailing_zeros_are_not():
    assert adjudication._beyond_cents(Decimal("1.005")) and not adjudication._beyond_cents(Decimal("1.000"))
    assert adjudication.dtp573(dt.date(2026, 3, 18)).elements == ("573", "D8", "20260318")


def test_amt_amounts_are_written_as_format_amount_writes_them_and_refused_alike():
    from edi.writer import format_amount

    for value in (Decimal("12.50"), Decimal("-0.00"), Decimal("100"), 7):
        assert adjudication._amt("EAF", value) == Segment.build("AMT", "EAF", format_amount(value))
    with pytest.raises(TypeError):
        adjudication._amt("D", 12.5)
    with pytest.raises(ValueError):
        adjudication._amt("D", Decimal("NaN"))


_ITEMS = st.lists(st.one_of(st.sampled_from(["DTP", "REF", "HI", "NTE", "ZZZ", "AMT"]),
                            st.sampled_from(["2310B", "2400", "2320", "2310A"])), max_size=8)


@given(_ITEMS, st.integers(min_value=1, max_value=3))
def test_the_2320s_go_where_loop_add_puts_them(kinds, count):
    """_claim_items finds where the payers' 2320s go in one pass, where Loop.add would put each in
    turn, whatever order (even out of the guide's) the original's items come in, and the original's
    2320s as children_of finds them."""
    from cobpipe.cob.match import LineMatch

    items = [Segment("CLM", ("X1", "10", "", "", "11:B:1"))]
    for n, kind in enumerate(kinds):
        items.append(Loop(kind, [Segment("NM1", ("82", str(n)))]) if kind[0] == "2" else Segment(kind, ("A", str(n))))
    source = _claim_with(items)
    payers = [Loop("2320", [Segment("SBR", (level, "18"))]) for level in "PST"[:count]]
    built, after, others = build._claim_items(source, LineMatch([]), None, "1", dt.date(2026, 3, 1), False)
    built[after:after] = payers
    expected = Loop("2300")
    expected.items = [item for item in items if not (isinstance(item, Loop) and item.id == "2320")]
    for loop in payers:
        expected.add(loop)
    assert [id(i) for i in built[1:]] == [id(i) for i in expected.items[1:]]
    assert [id(loop) for loop in others] == [id(loop) for loop in source.children_of("2320")]
