"""The parts of build_secondary read or made on a short way, held to the plain ways they replace: the
2000B's SBR, 2010BA, 2010BB and PAT found in one read (Loop.segment / Loop.child), CLM05-3 read
without Segment.composite, and the 2330B REF*F8, the new 2000B's SBR and the new 2000C's PAT made
without Segment.build and tidy_segment."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from cobpipe.claim837.loops import Loop, start_segment
from cobpipe.cob import adjudication, build
from cobpipe.cob.tidy import tidy_segment
from edi.segment import STANDARD, Delimiters, Segment

_TAGS = st.sampled_from(["HL", "SBR", "PAT", "SBR", "PAT", "REF"])
_IDS = st.sampled_from(["2010BA", "2010BB", "2010BA", "2010BB", "2010BC"])


def _item(draw_tag, draw_id, number):
    if draw_id is not None:
        loop = Loop(draw_id)
        loop.items = [Segment("NM1", (str(number),))]
        return loop
    return Segment(draw_tag, (str(number),))


@given(st.lists(st.one_of(_TAGS.map(lambda t: (t, None)), _IDS.map(lambda i: (None, i))), max_size=9))
def test_subscriber_parts_are_the_first_of_each_as_segment_and_child_find_them(drawn):
    """Fails if a later SBR, PAT, 2010BA or 2010BB replaces the first, or one is taken for another (checked)."""
    loop = Loop("2000B")
    loop.items = [_item(tag, loop_id, number) for number, (tag, loop_id) in enumerate(drawn)]
    found = build._subscriber_parts(loop)
    expected = (loop.segment("SBR"), loop.child("2010BA"), loop.child("2010BB"), loop.segment("PAT"))
    assert all(got is want for got, want in zip(found, expected, strict=True))


def _plain_frequency(clm: Segment) -> Segment:
    """_as_original_frequency as written with Segment.composite."""
    parts = clm.composite(5)
    if len(parts) >= 3 and parts[2] != "1":
        parts[2] = "1"
        return clm.replace_element(5, clm.delimiters.component.join(parts))
    return clm


_CLM05 = st.one_of(st.sampled_from(["", "11", "11:B", "11:B:1", "11:B:7", "11:B:8:X", "::", "::1", "11::7",
                                    "11>B>7", "11:B:"]),
                   st.text(alphabet="1B7:>", max_size=7))


@given(_CLM05, st.integers(min_value=3, max_value=9), st.sampled_from([STANDARD, Delimiters(component=">")]))
def test_clm05_3_read_as_the_composite_reads_it(clm05, size, delimiters):
    """Fails if CLM05 is read from another element, split on another separator or a short CLM05 is
    rewritten (checked)."""
    elements = ("C1", "100", "", "", clm05, "Y", "A", "Y", "Y")[:size]
    clm = Segment("CLM", elements, delimiters=delimiters)
    got, want = build._as_original_frequency(clm), _plain_frequency(clm)
    assert (got.tag, got.elements, got.delimiters) == (want.tag, want.elements, want.delimiters)
    if want is clm:
        assert got is clm


def _payer_ref(number, tidied: bool) -> Segment:
    from types import SimpleNamespace

    payer = Loop("2010BB")
    payer.items = [Segment("NM1", ("PR", "2", "PLAN", "", "", "", "", "PI", "99901"))]
    subscriber = Loop("2010BA")
    subscriber.items = [Segment("NM1", ("IL", "1", "DOE"))]
    clm = Segment("CLM", ("C1", "100", "", "", "11:B:1", "Y", "A", "Y", "Y"))
    claim = Loop("2300")
    claim.items = [clm]
    original = SimpleNamespace(clm=clm, claim=claim)
    remit = SimpleNamespace(adjustments=[], paid=Decimal("10"), patient_responsibility=Decimal("0"), moa=None,
                            has_lines=True, payer_claim_number=number)
    loop = adjudication.other_payer_loop(original, remit, Segment("SBR", ("P", "18", "G1")), "18", subscriber,
                                         payer, dt.date(2026, 3, 20), [], claim_level_eaf=False, tidied=tidied)
    refs = [s for s in loop.child("2330B").items if s.tag == "REF" and s.get(1) == "F8"]
    return refs[0] if refs else None


@given(st.one_of(st.sampled_from(["", "ZZ1", "ZZ1:", "ZZ1::", ":", "A:B", "A:B:"]), st.text(alphabet="AZ1: ", max_size=5),
                 st.just(("A", "B", ""))), st.booleans())
def test_payer_claim_number_ref_is_the_built_one_tidied_as_before(number, tidied):
    """REF*F8 is Segment.build's, tidied when the original is known tidy (whatever CLP07 holds: a
    text ending with ':', a composite tuple). Fails if a CLP07 ending with ':' goes untidied or a
    tuple is made into an element as it is (checked)."""
    got = _payer_ref(number, tidied)
    if not number:
        assert got is None
        return
    want = Segment.build("REF", "F8", number)
    if tidied:
        want = tidy_segment(want)
    assert (got.tag, got.elements, got.delimiters) == (want.tag, want.elements, want.delimiters)


def test_a_next_payer_read_from_the_tidy_original_is_built_as_tidied(tmp_path):
    """NextPayer.from_2320 names the 2320 it read (read_from); replace() drops it. A flagged original
    builds its 2000B from a next payer read from one of its own 2320s without the tidy look, and from
    one read from another claim's 2320 (an NM1 ending with ':') tidied: both as without the flag. Fails
    when read_from is trusted whatever 2320 it names (checked)."""
    import dataclasses

    from test_build_shared import captured_builds, shape

    calls = captured_builds(tmp_path, 9, patient_fraction=0.5)
    flagged = [args for args, built, _ in calls if not isinstance(built, Exception) and args[0].indexed_tidy
               and args[2].replaces is not None]
    assert len(flagged) > 10
    for original, remit, next_payer, lines, when in flagged[:15]:
        loop = next_payer.replaces
        read = build.NextPayer.from_2320(loop)
        assert read.read_from is loop and dataclasses.replace(read).read_from is None
        subscriber, payer = Loop("2330A"), Loop("2330B")
        subscriber.items = [Segment("NM1", ("IL", "1", "DOE:"))]
        payer.items = [Segment("NM1", ("PR", "2", "PLAN", "", "", "", "", "PI", "99:"))]
        other = Loop("2320")
        other.items = [loop.first, subscriber, payer]
        plain = original.replace()
        for next_one in (read, build.NextPayer.from_2320(other)):
            with_flag = build.build_secondary(original, remit, next_one, lines, when)
            without = build.build_secondary(plain, remit, next_one, lines, when)
            assert [shape(part) for part in with_flag.loops()] == [shape(part) for part in without.loops()]
            assert ":" not in with_flag.subscriber.to_x12().replace("HC:", "")


@given(st.lists(st.one_of(_TAGS.map(lambda t: (t, None)), _IDS.map(lambda i: (None, i))), max_size=4))
def test_first_is_the_loops_first(drawn):
    """claim837.loops.start_segment (build's way to Loop.first) and Loop.first answer the start
    segment, None for an empty loop or one that starts with a loop. Fails when a loop's first item
    is taken whatever it is (checked)."""
    loop = Loop("2300")
    loop.items = [_item(tag, loop_id, number) for number, (tag, loop_id) in enumerate(drawn)]
    expected = loop.items[0] if loop.items and isinstance(loop.items[0], Segment) else None
    assert start_segment(loop) is expected and loop.first is expected


_2330_SEGMENTS = st.tuples(st.sampled_from(["NM1", "N3", "N4", "REF", "REF", "PER", "DTP"]),
                           st.sampled_from(["SY", "2U", "EI", "FY", "NF", "F8", "XX", "IL", "PR", ""]))


def _2330(loop_id: str, drawn: list) -> Loop:
    """A 2330x of these (tag, element 01) pairs; a pair whose element 01 is "" starts a child loop
    (iter_segments reads into it, as the reference does)."""
    loop = Loop(loop_id)
    for number, (tag, first) in enumerate(drawn):
        segment = Segment(tag, (first, str(number)) if first else (str(number),))
        if first:
            loop.items.append(segment)
        else:
            loop.items.append(Loop("2399", [segment]))
    return loop


@given(st.lists(_2330_SEGMENTS, max_size=8), st.lists(_2330_SEGMENTS, max_size=8))
def test_the_next_payers_segments_read_from_a_2320_are_the_filtered_ones(subscriber, payer):
    """NextPayer.from_2320 keeps what a filter over iter_segments keeps: NM1, N3, N4 and REF*SY of
    the 2330A, NM1, N3, N4 and the payer's secondary-id REFs of the 2330B, in document order."""
    loop = Loop("2320", [Segment("SBR", ("S", "18", "G1"))], [_2330("2330A", subscriber), _2330("2330B", payer)])
    made = build.NextPayer.from_2320(loop)
    assert made.subscriber == [s for s in loop.items[1].iter_segments() if s.tag in ("NM1", "N3", "N4")
                               or (s.tag == "REF" and s.get(1) == "SY")]
    assert made.payer == [s for s in loop.items[2].iter_segments() if s.tag in ("NM1", "N3", "N4")
                          or (s.tag == "REF" and s.get(1) in adjudication.PAYER_SECONDARY_ID_QUALIFIERS)]


_SBR_TEXT = st.one_of(st.sampled_from(["", "S", "ZZH6176", "GROUP:", "A:B:", ":", "CI", "MB"]),
                      st.text(alphabet="AZ1: ", max_size=4))
_SBR_VALUE = st.one_of(_SBR_TEXT, st.just(None), st.just(("ZZ", "1", "")))


@given(st.tuples(_SBR_TEXT, st.sampled_from(["18", "01", "", "18:"]), _SBR_VALUE, _SBR_VALUE, _SBR_VALUE, _SBR_VALUE),
       st.booleans(), st.booleans())
def test_the_new_2000b_sbr_is_the_built_one_tidied_as_before(values, tidied, read_tidy):
    """The new 2000B's SBR is Segment.build's of the next payer's values (SBR02 18 or empty), tidied
    when the original is known tidy: texts ending with ':', empty values in the middle and at the
    end (SBR09), None and a composite tuple. Fails if the segment is made directly whatever SBR09
    is (a trailing empty element kept), if a value ending with ':' goes untidied, or if a None or a
    tuple is put in as it is (each checked)."""
    level, relationship, group_number, group_name, insurance_type, filing = values
    next_payer = build.NextPayer(level, relationship, group_number, group_name, insurance_type, filing,
                                 [Segment("NM1", ("IL", "1", "DOE"))], [Segment("NM1", ("PR", "2", "PLAN"))])
    original = Loop("2000B")
    original.items = [Segment("HL", ("2", "1", "22", "0"))]
    patient = build.Patient(Segment("NM1", ("IL", "1", "DOE")), [], None)
    got = build._subscriber_loop(original, next_payer, patient, tidied=tidied, read_tidy=read_tidy).items[1]
    want = Segment.build("SBR", level, "18" if relationship == "18" else "", group_number, group_name, insurance_type,
                         "", "", "", filing)
    if tidied:
        want = tidy_segment(want)
    assert (got.tag, got.elements, got.delimiters) == (want.tag, want.elements, want.delimiters)


_PAT_TAIL = st.lists(st.sampled_from(["", "D8", "20240101", "01:", ":", "Y"]), max_size=5).map(tuple)


@given(st.one_of(st.sampled_from(["01", "19", "", ":", "01:", "G8::"]), st.text(alphabet="019: ", max_size=4), st.just(None)),
       st.one_of(st.none(), _PAT_TAIL), st.booleans())
def test_the_new_2000c_pat_is_the_built_one_tidied_as_before(relationship, tail, tidied):
    """The new 2000C's PAT is Segment.build's of the next payer's relationship and the original PAT's
    PAT05 on, tidied when the original is known tidy: PAT01 empty, None or ending with ':', with and
    without an original PAT or its PAT05-09. Fails if PAT01 alone is made directly when empty or
    None, if a PAT01 ending with ':' goes untidied, or if the original's PAT05 on are dropped (each
    checked)."""
    from types import SimpleNamespace

    pat = None if tail is None else Segment("PAT", ("01", "", "", "", *tail))
    next_payer = build.NextPayer("S", relationship, "G1", "", "", "CI", [Segment("NM1", ("IL", "1", "DOE"))],
                                 [Segment("NM1", ("PR", "2", "PLAN"))])
    patient = build.Patient(Segment("NM1", ("QC", "1", "DOE")), [], None, [], pat)
    made = build._patient_loop(SimpleNamespace(patient=None), next_payer, patient, tidied=tidied)
    got = made.items[1]
    want = Segment.build("PAT", relationship, "", "", "", *(() if pat is None else pat.elements[4:]))
    if tidied:
        want = tidy_segment(want)
    assert (got.tag, got.elements, got.delimiters) == (want.tag, want.elements, want.delimiters)


_NAME_TEXT = st.one_of(st.sampled_from(["", "DOE", "JANE", "Q", "JR", "MI", "ZZ1"]), st.text(alphabet="AZ ", max_size=3))


@given(st.sampled_from(["IL", "QC", "il", ""]), st.lists(_NAME_TEXT, max_size=10))
def test_the_new_2010ca_name_is_the_patients_nm1_made_qc(qualifier, rest):
    """The new 2010CA NM1 is the patient's own NM1 when it is an NM1*QC, else Segment.build's NM1*QC
    of its NM103, NM104, NM105 and NM107 as get() reads them (absent elements as empty): names of
    0-11 elements, short and long, ending with empty ones. Fails if NM101 is not the one tested,
    or if any of the four is read one element off (each checked)."""
    from types import SimpleNamespace

    name = Segment("NM1", (qualifier, *rest)) if qualifier or rest else Segment("NM1", ())
    next_payer = build.NextPayer("S", "01", "G1", "", "", "CI", [Segment("NM1", ("IL", "1", "DOE"))],
                                 [Segment("NM1", ("PR", "2", "PLAN"))])
    patient = build.Patient(name, [], None, [], None)
    made = build._patient_loop(SimpleNamespace(patient=None), next_payer, patient)
    got = made.items[2].items[0]
    if name.get(1) == "QC":
        assert got is name
    else:
        assert got == Segment.build("NM1", "QC", "1", name.get(3), name.get(4), name.get(5), "", name.get(7))
