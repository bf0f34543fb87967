"""What build_secondary now remembers or answers on a short way, held to the way it replaces:
the tidied CAS of a line's one or two triplets remembered by (group, reason, amount text) and by the
Adjustment object, AMT*EAF
remembered by its amount's text, and the 2300 walked without a table of remitted lines when the
835's lines came back in the billed order."""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cobpipe.cob import adjudication, build, cas
from cobpipe.cob.cas import Adjustment, tidy_cas_segments
from cobpipe.cob.match import LineMatch
from cobpipe.cob.tidy import tidy_segments

# amounts the remembered ways must tell apart or hand back: exponents (1.5 / 1.50 / 1.500), zeros
# of any sign and exponent, numbers str() writes with an exponent, NaN, sNaN, infinities, a float
_AMOUNTS = st.one_of(
    st.decimals(min_value=-500, max_value=500, places=2),
    st.sampled_from([Decimal("0"), Decimal("-0.00"), Decimal("0E+2"), Decimal("1.5"), Decimal("1.50"),
                     Decimal("1.500"), Decimal("1E+1"), Decimal("1E-7"), Decimal("-2.50"), Decimal("NaN"),
                     Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity"), 7, 2.5]))
_ADJ = st.builds(Adjustment, st.sampled_from(["CO", "PR", "OA", "CO:", ""]),
                 st.sampled_from(["45", "2", "", "A:", ":"]), _AMOUNTS,
                 st.one_of(st.none(), st.none(), st.decimals(min_value=0, max_value=9, places=1)))


def _outcome(make):
    try:
        return [(s.tag, s.elements, s.delimiters) for s in make()]
    except Exception as exc:  # noqa: BLE001 - the same exception, type and text, is the requirement
        return type(exc), str(exc)


@given(st.lists(_ADJ, max_size=4), st.booleans(), st.booleans())
def test_tidy_cas_segments_are_the_tidied_grouped_ones_remembered_or_not(adjustments, as_tuple, clear):
    """Asked twice (the second answer remembered), they are tidy_segments(cas_segments(...)), or
    refused alike. Fails if the zero test, the group or reason in the key, or the tidying is dropped."""
    if clear:
        cas._TIDY_TRIPLETS.clear()
        cas._BY_OBJECT.clear()
    given_as = tuple(adjustments) if as_tuple else adjustments
    expected = _outcome(lambda: tidy_segments(cas.cas_segments(list(adjustments))))
    assert _outcome(lambda: tidy_cas_segments(given_as)) == expected
    assert _outcome(lambda: tidy_cas_segments(given_as)) == expected


_MANY = st.builds(Adjustment, st.sampled_from(["CO", "PR", "OA", "PI", "CR", "CO:"]),
                  st.sampled_from(["45", "2", "1", "A:"]), st.sampled_from([Decimal("1.50"), Decimal("2"), Decimal("0")]))


@settings(max_examples=300)
@given(st.lists(_MANY, min_size=3, max_size=14))
def test_grouped_triplets_are_the_reference_ones(adjustments):
    """Three triplets or more (a line's CO-45, PR-1, PR-2), joined from the remembered one-triplet
    CAS: the reference's segments, or refused alike past 5 segments; a group of more than 6 triplets
    the reference way. Fails when a group's triplets are not joined in order, the last quantity is
    kept, or 6 groups are written (checked)."""
    expected = _outcome(lambda: tidy_segments(cas.cas_segments(list(adjustments))))
    assert _outcome(lambda: tidy_cas_segments(adjustments)) == expected
    assert _outcome(lambda: tidy_cas_segments(adjustments)) == expected


def test_six_groups_do_not_fit_and_seven_triplets_take_two_segments():
    six = [Adjustment(group, "45", Decimal("1")) for group in ("CO", "PR", "OA", "PI", "CR", "CO:")]
    with pytest.raises(cas.CasDoesNotFit):
        tidy_cas_segments(six)
    seven = [Adjustment("PR", str(n), Decimal(n)) for n in range(1, 8)]
    assert [s.elements for s in tidy_cas_segments(seven)] == [
        ("PR", "1", "1", "", "2", "2", "", "3", "3", "", "4", "4", "", "5", "5", "", "6", "6"), ("PR", "7", "7")]
    assert [s.elements for s in tidy_cas_segments(seven[:3])] == [("PR", "1", "1", "", "2", "2", "", "3", "3")]


def test_a_remembered_triplet_is_told_apart_by_every_part_of_its_key():
    cas._TIDY_TRIPLETS.clear()
    one = tidy_cas_segments([Adjustment("CO", "45", Decimal("1.50"))])
    assert one[0].elements == ("CO", "45", "1.5")
    assert tidy_cas_segments([Adjustment("PR", "45", Decimal("1.50"))])[0].elements == ("PR", "45", "1.5")
    assert tidy_cas_segments([Adjustment("CO", "2", Decimal("1.50"))])[0].elements == ("CO", "2", "1.5")
    assert tidy_cas_segments([Adjustment("CO", "45", Decimal("1.05"))])[0].elements == ("CO", "45", "1.05")
    assert tidy_cas_segments([Adjustment("CO", "45", Decimal("0.00"))]) == []
    assert tidy_cas_segments([Adjustment("CO", "A:", Decimal("2"))])[0].elements == ("CO", "A", "2")


@given(st.lists(_ADJ, min_size=1, max_size=2))
def test_a_triplet_remembered_by_its_object_is_that_objects_own(adjustments):
    """The fast 835 read shares one Adjustment per CAS text: asked again for the very same objects,
    the remembered answer is the one tidy_cas_segments gives any equal fresh ones (or refused alike);
    an entry is used only for the object it holds (an id once another object's: here planted) and
    a subclass, which may not be immutable, is never remembered. Fails without the object test or
    with subclasses remembered (checked)."""
    first = _outcome(lambda: tidy_cas_segments(adjustments))
    assert _outcome(lambda: tidy_cas_segments(adjustments)) == first  # the same objects, remembered
    fresh = [Adjustment(a.group, a.reason, a.amount, a.quantity) for a in adjustments]
    assert _outcome(lambda: tidy_cas_segments(fresh)) == first
    other, second = Adjustment("OA", "23", Decimal("9.99")), Adjustment("PR", "2", Decimal("1.25"))
    for adj in adjustments:  # each object's entry handed to other objects, alone and as a pair
        cas._BY_OBJECT[id(other)] = cas._BY_OBJECT[id(second)] = cas._BY_OBJECT.get(id(adj), (adj, None))
        assert tidy_cas_segments([other])[0].elements == ("OA", "23", "9.99")
        cas._BY_OBJECT[id(other)] = cas._BY_OBJECT[id(second)] = cas._BY_OBJECT.get(id(adj), (adj, None))
        assert [s.elements for s in tidy_cas_segments((other, second))] == [("OA", "23", "9.99"), ("PR", "2", "1.25")]

    class Odd(Adjustment):
        __slots__ = ()

    odd = Odd("CO", "45", Decimal("4.50"))
    assert tidy_cas_segments([odd])[0].elements == ("CO", "45", "4.5")
    assert id(odd) not in cas._BY_OBJECT


@given(_AMOUNTS)
def test_a_remembered_eaf_is_the_made_one_or_refused_alike(amount):
    expected = _outcome(lambda: [adjudication._amt("EAF", amount)])
    assert _outcome(lambda: [adjudication._eaf(amount)]) == expected
    assert _outcome(lambda: [adjudication._eaf(amount)]) == expected


def test_eaf_remembered_by_the_exact_text_not_the_value():
    assert adjudication._eaf(Decimal("1.50")).elements == ("EAF", "1.5")
    assert adjudication._eaf(Decimal("15E-1")).elements == ("EAF", "1.5")
    assert adjudication._eaf(Decimal("1E+1")).elements == ("EAF", "10")
    assert adjudication._eaf(Decimal("-0")).elements == ("EAF", "0")


@pytest.fixture(scope="module")
def built_calls(tmp_path_factory):
    from test_build_shared import captured_builds

    calls = captured_builds(tmp_path_factory.mktemp("remembered"), 5)
    return [args for args, result, _ in calls if not isinstance(result, Exception) and len(args[1].lines) >= 2]


def test_any_matching_builds_what_the_reference_builds(built_calls):
    """In the 835's order (the short way), as a tuple (the table's way), permuted, with lines left
    unmatched or two remitted lines on one billed line: the copy-edit-tidy reference's claim. Fails
    if the short way pairs remitted line i with another billed line than i (checked)."""
    from test_build_shared import reference_build, shape

    assert len(built_calls) > 5
    rng = random.Random(17)
    for original, remit, next_payer, lines, when in built_calls:
        count = len(remit.lines)
        billed = len(original.lines)
        shuffled = list(range(count))
        rng.shuffle(shuffled)
        for matches in (list(range(count)), tuple(range(count)), shuffled,
                        [None] + list(range(1, count)), [0] * count,
                        [rng.choice([None, *range(billed + 1)]) for _ in range(count)]):
            match = LineMatch(matches)
            expected = reference_build(original, remit, next_payer, match, when)
            got = build.build_secondary(original, remit, next_payer, match, when)
            assert shape(got.claim) == shape(expected[4])


def test_a_flagged_original_tidies_what_the_next_payer_and_the_835_bring(tmp_path):
    """With OriginalClaim.indexed_tidy only what does not come from the original is looked at: a
    next payer's values (as a coverage row may give them) and the 835's MOA and claim CAS ending
    with ":" or an empty element come out as tidy_loop makes them without the flag. Fails if the
    2000B's SBR, the next payer's NM1s, the 2000C's PAT, the MOA or the claim CAS goes untidied (checked)."""
    import dataclasses

    from test_build_shared import captured_builds, shape

    from edi.segment import Segment

    calls = captured_builds(tmp_path, 9, patient_fraction=0.5)
    flagged = [args for args, built, _ in calls if not isinstance(built, Exception) and args[0].indexed_tidy]
    assert len(flagged) > 10
    for original, remit, next_payer, lines, when in flagged[:15]:
        plain = original.replace()
        for relationship in ("18", "01:"):
            payer = dataclasses.replace(
                next_payer, relationship=relationship, group_number="G7:", filing_indicator="",
                subscriber=[Segment("NM1", ("IL", "1", "DOE:", "")), *next_payer.subscriber[1:]],
                payer=[Segment("NM1", ("PR", "2", "NAME", "", "", "", "", "PI", "99:")), *next_payer.payer[1:]])
            odd = dataclasses.replace(remit, moa=Segment("MOA", ("", "", "MA01:")),
                                      adjustments=[Adjustment("OA:", "23", Decimal("1.00"))])
            with_flag = build.build_secondary(original, odd, payer, lines, when)
            without = build.build_secondary(plain, odd, payer, lines, when)
            assert [shape(loop) for loop in with_flag.loops()] == [shape(loop) for loop in without.loops()]
            assert ":" not in with_flag.subscriber.to_x12().replace("HC:", "")


def test_a_flagged_original_with_a_code_ending_in_a_separator_once_trimmed(tmp_path):
    """A tidy original may still hold a code like "CI: " (no ':*' in its text): trimmed for the new
    2320's SBR it ends with ':', which the flagged way tidies as well. Fails without that (checked)."""
    from test_build_shared import captured_builds, shape

    from cobpipe.claim837.claim import OriginalClaim
    from cobpipe.claim837.loops import Loop
    from edi.segment import Segment

    calls = captured_builds(tmp_path, 11)
    flagged = [args for args, built, _ in calls if not isinstance(built, Exception) and args[0].indexed_tidy]
    for original, *rest in flagged[:10]:
        subscriber = Loop(original.subscriber.id)
        subscriber.items = [Segment("SBR", (*i.elements[:8], "CI: ")) if isinstance(i, Segment) and i.tag == "SBR"
                            else i for i in original.subscriber.items]
        parts = (original.envelope, original.header, original.billing_provider, subscriber, original.patient,
                 original.claim)
        with_flag = build.build_secondary(OriginalClaim(*parts, indexed_tidy=True), *rest)
        without = build.build_secondary(OriginalClaim(*parts), *rest)
        assert [shape(loop) for loop in with_flag.loops()] == [shape(loop) for loop in without.loops()]
        assert with_flag.claim.child("2320").first.elements[-1] == "CI"


def test_svd05_remembered_for_the_same_object_only():
    """SVD05's text is reused only for the very amount object formatted last: other amounts, equal
    ones of another type (a float is refused) and any order give what format_amount gives. Fails if
    the text is reused by equality or for another object (checked)."""
    from types import SimpleNamespace

    from edi.writer import format_amount

    when = dt.date(2026, 3, 20)
    two, half, float_two = Decimal("2"), Decimal("2.50"), 2.0
    for units in (two, two, half, two, Decimal("2.0"), 3, 3, half, None, half, two, float_two, two):
        line = SimpleNamespace(paid=Decimal("12.50"), paid_units=units, procedure=("HC", "99213"), adjustments=[],
                               match=SimpleNamespace(ordinal=1))
        if isinstance(units, float):
            with pytest.raises(TypeError):
                adjudication.line_adjudication(line, "P1", when, False)
            continue
        svd = adjudication.line_adjudication(line, "P1", when, False).items[0]
        assert svd.elements[4] == (format_amount(units) if units is not None else "1")


def test_svd02_remembered_for_the_same_amount_object_only():
    """SVD02's text comes remembered only for the very amount object it was made of: equal amounts
    of other exponents, ints, refused amounts (a float, NaN) and an entry planted under another
    object's id give what format_amount gives. Fails without the object test (checked)."""
    from types import SimpleNamespace

    from edi.writer import format_amount

    when = dt.date(2026, 3, 20)
    ten, tens = Decimal("10.50"), Decimal("10.5")
    for paid in (ten, ten, tens, Decimal("1E+1"), ten, 7, 7, 2.5, Decimal("NaN"), tens, Decimal("-0.00")):
        line = SimpleNamespace(paid=paid, paid_units=None, procedure=("HC", "99213"), adjustments=[],
                               match=SimpleNamespace(ordinal=1))
        assert _text_or_error(lambda: adjudication.line_adjudication(line, "P1", when, False).items[0].elements[1]) \
            == _text_or_error(lambda: format_amount(paid))
    other = Decimal("3.25")
    adjudication._PAID_TEXTS[id(other)] = adjudication._PAID_TEXTS[id(ten)]
    line = SimpleNamespace(paid=other, paid_units=None, procedure=("HC", "99213"), adjustments=[],
                           match=SimpleNamespace(ordinal=1))
    assert adjudication.line_adjudication(line, "P1", when, False).items[0].elements[1] == "3.25"


def _text_or_error(make):
    try:
        return make()
    except Exception as exc:  # noqa: BLE001 - the same exception, type and text, is the requirement
        return type(exc), str(exc)
