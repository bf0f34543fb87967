"""A line's 2430 as made now (the SVD from its tuple, tidied only when a text from the claim or the
835 ends with ":"; one or two CAS triplets without the grouping) against the way it was first
written: Segment.build for each segment, then every segment tidied."""
from __future__ import annotations

import dataclasses
import re
import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cobpipe.cob import adjudication
from cobpipe.cob.cas import Adjustment, CasDoesNotFit, cas_segments
from cobpipe.cob.tidy import tidy_segments
from edi.segment import STANDARD, Delimiters, Segment
from edi.writer import format_amount


def reference_line_adjudication(line, payer_id, adjudication_date, line_level_eaf, bundled_into=""):
    segments = [Segment.build("SVD", payer_id, format_amount(line.paid), adjudication._svd03(line), "",
                              format_amount(line.paid_units if line.paid_units is not None else Decimal(1)),
                              bundled_into)]
    if line.adjustments:
        segments += cas_segments(list(line.adjustments))  # a list's copy: the general grouping
    segments.append(adjudication.dtp573(adjudication_date))
    if line_level_eaf:
        segments.append(Segment.build("AMT", "EAF", format_amount(
            sum((a.amount for a in line.adjustments if a.group == "PR"), Decimal(0)))))
    return tidy_segments(segments)


# texts as an 835 or an original claim may give them: empty, ending with ":" (a claim written with
# another component separator), or ":" alone
_TEXT = st.sampled_from(["", "99901", "AB:", ":", "X:Y", "A::", "PI"])
_ADJ = st.builds(Adjustment, st.sampled_from(["CO", "PR", "OA", "CO:", ""]), _TEXT,
                 st.one_of(st.decimals(min_value=-500, max_value=500, places=2), st.just(Decimal(0))),
                 st.one_of(st.none(), st.decimals(min_value=0, max_value=9, places=1)))
_PROCEDURE = st.lists(st.sampled_from(["HC", "99213", "", "25", "Z:", "IV"]), max_size=4).map(tuple)


@given(payer_id=_TEXT, into=_TEXT, procedure=_PROCEDURE, adjustments=st.lists(_ADJ, max_size=8),
       units=st.one_of(st.none(), st.decimals(min_value=0, max_value=9, places=1)), eaf=st.booleans(),
       as_tuple=st.booleans())
def test_a_line_adjudication_is_the_segment_build_and_tidy_one(payer_id, into, procedure, adjustments, units, eaf,
                                                               as_tuple):
    adjudication._SVD03.clear()
    line = SimpleNamespace(paid=Decimal("12.50"), paid_units=units, procedure=procedure,
                           adjustments=tuple(adjustments) if as_tuple else adjustments,
                           match=SimpleNamespace(ordinal=1))
    when = dt.date(2026, 3, 20)
    try:
        expected = reference_line_adjudication(line, payer_id, when, eaf, into)
    except (adjudication.BuildError, CasDoesNotFit) as exc:
        with pytest.raises(type(exc)) as raised:
            adjudication.line_adjudication(line, payer_id, when, eaf, into)
        assert str(raised.value) == str(exc)
        return
    got = adjudication.line_adjudication(line, payer_id, when, eaf, into)
    assert got.id == "2430"
    assert [(s.tag, s.elements, s.delimiters) for s in got.items] == \
        [(s.tag, s.elements, s.delimiters) for s in expected]
    assert all(s.delimiters is STANDARD and type(s) is Segment for s in got.items)


@given(st.lists(_ADJ, min_size=1, max_size=2))
def test_one_or_two_triplets_are_the_grouped_ones(adjustments):
    """The short ways for a line's one or two triplets give what grouping gives (a generator takes it)."""
    assert cas_segments(adjustments) == cas_segments(a for a in adjustments)


def test_a_float_or_signalling_amount_is_refused_on_the_short_ways_too():
    with pytest.raises(TypeError):
        cas_segments([Adjustment("CO", "45", 10.0)])
    with pytest.raises(TypeError):
        cas_segments([Adjustment("CO", "45", Decimal(1)), Adjustment("PR", "2", 2.5)])
    with pytest.raises(ArithmeticError):  # a signalling NaN stops at its zero test, as grouping does
        cas_segments([Adjustment("CO", "45", Decimal("sNaN")), Adjustment("PR", "2", 2.5)])
    assert cas_segments([Adjustment("CO", "45", Decimal(0)), Adjustment("PR", "2", Decimal("0.00"))]) == []


def test_a_line_ending_in_a_2440_gets_its_2430s_where_loop_add_puts_them(tmp_path):
    """The 2430s go at the line's end only when its last item orders at or before a 2430; a line
    ending with a 2440 (form data) takes them before it, as Loop.add places them."""
    from cobpipe.claim837.loops import Loop
    from test_build_shared import _claim_with, captured_builds, reference_build, shape

    from cobpipe.cob import build

    calls = captured_builds(tmp_path, 3)
    args, built, _ = next(c for c in calls if not isinstance(c[1], Exception)
                          and any(line.child("2430") for line in c[1].claim.children_of("2400")))
    original = args[0]
    items = list(original.claim.items)
    for position, item in enumerate(items):
        if isinstance(item, Loop) and item.id == "2400":
            line = Loop("2400")
            line.items = [*item.items, Loop("2440", [Segment("LQ", ("UT", "01.02"))])]
            items[position] = line
    changed = original.replace(claim=_claim_with(items))
    new_args = (changed, *args[1:])
    result = build.build_secondary(*new_args)
    assert shape(result.claim) == shape(reference_build(*new_args)[4])
    lines = [line for line in result.claim.children_of("2400") if line.child("2430") is not None]
    assert lines and all([i.id for i in line.items if isinstance(i, Loop)][-1] == "2440" for line in lines)


def test_the_next_payer_from_a_2320_is_the_keyword_made_one_and_a_subclass_keeps_its_class():
    from cobpipe.claim837.loops import Loop
    from cobpipe.cob.build import NextPayer

    loop = Loop("2320", [Segment("SBR", ("s", "", "G1", "GROUP", "c1", "", "", "", "bl")),
                         Segment("OI", ("", "", "Y"))],
                [Loop("2330A", [Segment("NM1", ("IL", "1", "DOE")), Segment("REF", ("SY", "1")),
                                Segment("REF", ("XX", "2"))]),
                 Loop("2330B", [Segment("NM1", ("PR", "2", "PLAN", "", "", "", "", "PI", "P9")),
                                Segment("REF", ("2U", "A")), Segment("REF", ("F8", "B"))])])
    expected = NextPayer(level="S", relationship="18", group_number="G1", group_name="GROUP", insurance_type="C1",
                         filing_indicator="BL", subscriber=[loop.items[2].items[0], loop.items[2].items[1]],
                         payer=[loop.items[3].items[0], loop.items[3].items[1]], replaces=loop)
    made = NextPayer.from_2320(loop)
    assert type(made) is NextPayer and made == expected and repr(made) == repr(expected)

    class Marked(NextPayer):
        __slots__ = ()

    assert type(Marked.from_2320(loop)) is Marked and Marked.from_2320(loop).payer_id == "P9"


def test_an_indexed_tidy_original_builds_what_the_looked_at_one_builds(tmp_path):
    """With OriginalClaim.indexed_tidy the 2300's own items are carried over without the tidy look:
    the same claim as the same original without the flag (replace() leaves it False)."""
    from test_build_shared import captured_builds, shape

    from cobpipe.cob import build

    calls = captured_builds(tmp_path, 5, patient_fraction=0.5)
    flagged = [args for args, built, _ in calls if not isinstance(built, Exception) and args[0].indexed_tidy]
    assert len(flagged) > 20
    untidy_clp07 = 0
    for args in flagged:
        plain = args[0].replace()
        assert plain.indexed_tidy is False
        with_flag, without = build.build_secondary(*args), build.build_secondary(plain, *args[1:])
        assert [shape(loop) for loop in with_flag.loops()] == [shape(loop) for loop in without.loops()]
        # what the 835 gives is still tidied with the flag: a CLP07 ending with ':' (REF*F8 in 2330B)
        remit = dataclasses.replace(args[1], payer_claim_number=args[1].payer_claim_number + ":")
        with_flag = build.build_secondary(args[0], remit, *args[2:])
        without = build.build_secondary(plain, remit, *args[2:])
        assert [shape(loop) for loop in with_flag.loops()] == [shape(loop) for loop in without.loops()]
        untidy_clp07 += ":" not in with_flag.claim.child("2320").to_x12()
    assert untidy_clp07 == len(flagged)


def reference_whole_cents(remit):
    """_whole_cents as first written: the amounts listed, then one sum() in the exact context."""
    from decimal import localcontext

    amounts = [remit.paid, remit.patient_responsibility, *(a.amount for a in remit.adjustments)]
    for line in remit.lines:
        amounts += [line.paid, *(a.amount for a in line.adjustments)]
    try:
        with localcontext(adjudication._EXACT):
            total = sum(amounts, Decimal(0))
    except (ArithmeticError, TypeError):
        return False
    exponent = total.as_tuple().exponent
    return isinstance(exponent, int) and exponent >= -2


_SUM_AMOUNTS = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True, places=None),
    st.decimals(min_value=-10**6, max_value=10**6, places=3),
    st.sampled_from([Decimal("1E+30"), Decimal("1E+120"), Decimal("-0.000"), Decimal("1E-40"), Decimal("9" * 99),
                     Decimal("sNaN"), 0, 7, -3, 2.5, None]))
_AMOUNT_HOLDER = st.builds(SimpleNamespace, amount=_SUM_AMOUNTS)


@given(st.builds(SimpleNamespace, paid=_SUM_AMOUNTS, patient_responsibility=_SUM_AMOUNTS,
                 adjustments=st.lists(_AMOUNT_HOLDER, max_size=3),
                 lines=st.lists(st.builds(SimpleNamespace, paid=_SUM_AMOUNTS,
                                          adjustments=st.lists(_AMOUNT_HOLDER, max_size=3)), max_size=3)))
def test_whole_cents_answers_as_the_listed_sum(remit):
    """The exact context's add, amount after amount, answers as sum() over the listed amounts did
    (floats, None, NaN, infinities, sums past 100 digits: False alike), and leaves the caller's
    decimal context current. Fails when the usual exponent's test takes a tenth of a cent (-3) and
    when the context is not given back after a refused amount (checked: both)."""
    import decimal

    before = decimal.getcontext()
    assert adjudication._whole_cents(remit) is reference_whole_cents(remit)
    assert decimal.getcontext() is before


def test_whole_cents_reads_every_amount():
    """A tenth of a cent in any one place (CLP04, CLP05, any claim or line CAS, any SVC03) is seen.
    Fails when any amount of a list is skipped (checked: a claim's second CAS, a line's SVC03)."""
    def remit(odd: int):
        amounts = iter(Decimal("0.001") if n == odd else Decimal("1.25") for n in range(13))
        holder = lambda: SimpleNamespace(amount=next(amounts))  # noqa: E731
        claim = SimpleNamespace(paid=next(amounts), patient_responsibility=next(amounts),
                                adjustments=[holder(), holder(), holder()], lines=[])
        for _ in range(2):
            claim.lines.append(SimpleNamespace(paid=next(amounts), adjustments=[holder(), holder(), holder()]))
        return claim

    assert adjudication._whole_cents(remit(-1))
    for odd in range(13):
        assert not adjudication._whole_cents(remit(odd)), odd


_WRITTEN_TEXT = st.sampled_from(["", "99901", "AB:", ":", "X:Y", "PI", "A*B", "A~B", "A\nB"])


@given(payer_id=_WRITTEN_TEXT, into=_WRITTEN_TEXT, procedure=_PROCEDURE, adjustments=st.lists(_ADJ, max_size=4),
       units=st.one_of(st.none(), st.decimals(min_value=0, max_value=9, places=1)), eaf=st.booleans(),
       reasons=st.lists(st.sampled_from(["45", "2", "A*", "B~"]), max_size=4))
def test_a_line_adjudication_carries_the_text_the_writer_writes_for_it(payer_id, into, procedure, adjustments,
                                                                       units, eaf, reasons):
    """A 2430's `written` text is the text body_text writes for its segments in standard delimiters
    (without the last terminator), with their element separators and count; and the walk of a
    tree holding it writes what the reference writes, or refuses alike, when a value holds a
    delimiter. Fails when the text drops a CAS, the DTP, the AMT*EAF or SVD06 (checked: SVD06)."""
    from edi.writer import DelimiterCollisionError, body_text, tree_text

    from cobpipe.claim837.loops import Loop

    adjustments = [dataclasses.replace(a, reason=r) for a, r in zip(adjustments, reasons + ["45"] * 4)]
    line = SimpleNamespace(paid=Decimal("12.50"), paid_units=units, procedure=procedure, adjustments=adjustments,
                           match=SimpleNamespace(ordinal=1))
    try:
        loop = adjudication.line_adjudication(line, payer_id, dt.date(2026, 3, 20), eaf, into)
    except (adjudication.BuildError, CasDoesNotFit):
        return
    holder = Loop("2400", [Segment.build("LX", "1")])
    holder.items.append(loop)
    try:
        expected = body_text(holder.all_segments(), STANDARD), len(holder.all_segments())
    except DelimiterCollisionError as exc:
        with pytest.raises(DelimiterCollisionError, match=re.escape(str(exc))):
            tree_text(holder)
        return
    assert tree_text(holder) == expected
    if loop.written is not None and "*" not in payer_id + into + "".join(reasons) + "".join(procedure):
        text, separators, count = loop.written
        assert text + "~\n" == body_text(loop.items, STANDARD)
        assert (separators, count) == (sum(len(s.elements) for s in loop.items), len(loop.items))


_AMOUNT_TEXTS = st.one_of(
    st.decimals(min_value=-10**6, max_value=10**6, allow_nan=False, allow_infinity=False, places=None),
    st.sampled_from(["45", "45.0", "45.10", "-0.50", "100", "1E+1", "0.0000001", "0E-5", "-0", "0.00", "7.000"])
    .map(Decimal))


@given(st.lists(st.builds(Adjustment, st.sampled_from(["CO", "PR", "OA"]), st.sampled_from(["45", "2", "A:"]),
                          _AMOUNT_TEXTS), min_size=1, max_size=3))
def test_remembered_triplets_of_any_exponent_are_the_reference_ones(adjustments):
    """A triplet first met makes its amount's text from the str() it is remembered by (no
    format_amount call): the same segments as cas_segments tidied, for amounts of any exponent
    (45, 45.0, 1E+1, 0E-5, -0). Fails when that text keeps a trailing '.' (checked)."""
    from cobpipe.cob.cas import _BY_OBJECT, _TIDY_TRIPLETS, tidy_cas_segments

    _BY_OBJECT.clear()
    _TIDY_TRIPLETS.clear()
    try:
        expected = tidy_segments(cas_segments(adjustments))
    except CasDoesNotFit:
        return
    for _ in range(2):  # made, then remembered
        got = tidy_cas_segments(adjustments)
        assert [(s.tag, s.elements, s.delimiters) for s in got] == [(s.tag, s.elements, s.delimiters)
                                                                   for s in expected]


_CODES = st.sampled_from(["", "p", "P", " s ", "S", "G1", "MB", "ci ", "A:"])
_FLAGS = st.sampled_from(["", "Y", "N", "W", "P"])


@given(sbr=st.lists(_CODES, max_size=10).map(tuple), clm=st.lists(_FLAGS, max_size=10).map(tuple),
       ois=st.lists(st.lists(_FLAGS, max_size=7).map(tuple), max_size=3), tidied=st.booleans())
def test_the_new_2320_reads_sbr_clm_and_oi_as_code_and_get_do(sbr, clm, ois, tidied):
    """The 2320's SBR and OI read the 2000B SBR, the CLM and the other 2320s' OI off their element
    tuples (padded), as code() and get() read them, for any length. Fails when OI04 is read from
    the wrong place or CLM09 is taken for CLM08 (checked: both)."""
    from cobpipe.claim837.loops import Loop
    from cobpipe.cob.tidy import tidy_segment

    prior, clm_segment = Segment("SBR", sbr), Segment("CLM", clm)
    others = []
    for elements in ois:
        other = Loop("2320")
        other.items = [Segment("SBR", ("S",)), Segment("OI", elements)]
        others.append(other)
    payer = Loop("2010BB")
    payer.items = [Segment("NM1", ("PR", "2", "PLAN", "", "", "", "", "PI", "99901"))]
    subscriber = Loop("2010BA")
    subscriber.items = [Segment("NM1", ("IL", "1", "DOE"))]
    original = SimpleNamespace(clm=clm_segment)
    remit = SimpleNamespace(adjustments=[], paid=Decimal("10"), patient_responsibility=Decimal("0"), moa=None,
                            has_lines=True, payer_claim_number="")
    loop = adjudication.other_payer_loop(original, remit, prior, "18", subscriber, payer, dt.date(2026, 3, 20),
                                         others, claim_level_eaf=False, tidied=tidied)
    level = adjudication.code(prior, 1)
    want_sbr = Segment.build("SBR", level, "18", prior.get(3), prior.get(4),
                             adjudication.code(prior, 5) if level != "P" else "", "", "", "",
                             adjudication.code(prior, 9))
    if tidied:
        want_sbr = tidy_segment(want_sbr)
    signature = next((oi.get(4) for other in others for oi in other.items if oi.tag == "OI" and oi.get(4)), "")
    want_oi = Segment.build("OI", "", "", clm_segment.get(8) or "Y", signature, "", clm_segment.get(9) or "Y")
    got_oi = next(s for s in loop.items if isinstance(s, Segment) and s.tag == "OI")
    assert (loop.items[0].tag, loop.items[0].elements) == (want_sbr.tag, want_sbr.elements)
    assert (got_oi.tag, got_oi.elements) == (want_oi.tag, want_oi.elements)


def test_require_whole_cents_trusts_only_a_reader_that_said_true():
    """RemitClaim.whole_cents True (the fast 835 read found the claim's amounts in whole cents) is
    taken as the answer; None, or a remit without the field, is asked amount by amount, and a tenth
    of a cent is still refused with its name. Fails when None is trusted too (checked)."""
    def remit(**known):
        line = SimpleNamespace(paid=Decimal("1.005"), adjustments=[], match=SimpleNamespace(ordinal=1))
        return SimpleNamespace(paid=Decimal("10"), patient_responsibility=Decimal("0"), adjustments=[],
                               lines=[line], **known)

    for unknown in (remit(), remit(whole_cents=None)):
        with pytest.raises(adjudication.BuildError, match="service line 1 SVC03"):
            adjudication.require_whole_cents(unknown)
    adjudication.require_whole_cents(remit(whole_cents=True))


_PARTY_TEXT = st.sampled_from(["DOE", "", "A:", "1 MAIN ST", "A*B", "A~B"])
_OTHER_DELIMITERS = st.sampled_from([None, Delimiters("|", ":", "^", "~", "\n"), Delimiters("*", ">", "^", "~", "")])


@given(names=st.lists(_PARTY_TEXT, min_size=3, max_size=3), number=st.sampled_from(["", "ZZ1", "Z:", "A*1"]),
       adjustments=st.lists(_ADJ, max_size=3), claim_level_eaf=st.booleans(), has_lines=st.booleans(),
       moa=st.booleans(), copied=_OTHER_DELIMITERS, output=_OTHER_DELIMITERS, tidied=st.booleans())
def test_the_new_2320_carries_the_text_the_writer_writes_for_it(names, number, adjustments, claim_level_eaf,
                                                                has_lines, moa, copied, output, tidied):
    """The 2320's `written` text (its own segments, then its 2330A's and 2330B's) is the text body_text
    writes for its segments in standard delimiters (without the last terminator), with their
    element separators and count; none when a segment copied from the original is in other
    delimiters; and the walk of a tree holding it writes what the reference writes, in any output
    delimiters, or refuses alike when a value holds a delimiter. Fails when the text leaves out the
    2330B's segments or the claim's CAS (checked: both)."""
    from edi.writer import DelimiterCollisionError, body_text, tree_text

    from cobpipe.claim837.loops import Loop

    copied_in = copied or STANDARD
    subscriber = Loop("2010BA")
    subscriber.items = [Segment("NM1", ("IL", "1", names[0])), Segment("N3", (names[1],)),
                        Segment("N4", ("CITY", "IN", "46201")), Segment("DMG", ("D8", "19700101")),
                        Segment("REF", ("SY", names[2]))]
    payer = Loop("2010BB")
    payer.items = [Segment("NM1", ("PR", "2", "PLAN", "", "", "", "", "PI", "99901"), delimiters=copied_in),
                   Segment("N4", ("CITY", "IN", "46201")), Segment("REF", ("2U", "X1")), Segment("REF", ("G2", "X2"))]
    remit = SimpleNamespace(adjustments=adjustments, paid=Decimal("10.50"), patient_responsibility=Decimal("2.00"),
                            moa=Segment("MOA", ("", "", "MA01")) if moa else None, has_lines=has_lines,
                            payer_claim_number=number)
    original = SimpleNamespace(clm=Segment("CLM", ("C1", "10", "", "", "11:B:1", "Y", "A", "Y", "Y")))
    try:
        loop = adjudication.other_payer_loop(original, remit, Segment("SBR", ("P", "18", "G1")), "18", subscriber,
                                             payer, dt.date(2026, 3, 20), [], claim_level_eaf=claim_level_eaf,
                                             tidied=tidied)
    except CasDoesNotFit:
        return
    assert (loop.written is None) == (copied is not None)
    holder = Loop("2300", [Segment.build("CLM", "C1", "10")])
    holder.items.append(loop)
    delimiters = output or STANDARD
    try:
        expected = body_text(holder.all_segments(), delimiters), len(holder.all_segments())
    except DelimiterCollisionError as exc:
        with pytest.raises(DelimiterCollisionError, match=re.escape(str(exc))):
            tree_text(holder, delimiters)
        return
    assert tree_text(holder, delimiters) == expected
    if loop.written is not None and "*" not in number + "".join(names) + "".join(a.reason for a in adjustments):
        text, separators, count = loop.written
        segments = loop.all_segments()
        assert text + "~\n" == body_text(segments, STANDARD)
        assert (separators, count) == (sum(len(s.elements) for s in segments), len(segments))
