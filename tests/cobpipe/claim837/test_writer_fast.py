"""The 837 writer's plain-text path (`_PlainText`: a claim's loops joined as text, HL levels compared
as texts, segments' own `text` copied) held to its reference: the same writer with that path off,
which serializes every segment (`body_text`) and compares levels segment by segment
(`_same_content`). Same bytes, same summary, or the same error, for any loops and delimiters."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edi.segment import STANDARD, Delimiters, Segment, _make_segment, _Unfrozen
from edi.writer import InterchangeSettings, Party, SequentialControlNumbers

import cobpipe.claim837.writer as writer
from cobpipe.claim837 import Loop, OriginalClaim, parse_claims_text, write_claims_837
from cobpipe.claim837.claim import Envelope

from claim837_support import DATA, corpus_files

SETTINGS = InterchangeSettings(Party("ZZ", "SUBMITTER"), Party("ZZ", "RECEIVER"), usage="T")
NOW = dt.datetime(2026, 4, 2, 8, 15)
OUTPUTS = [STANDARD, Delimiters(suffix=""), Delimiters(suffix="\r\n"), Delimiters(element="|"),
           Delimiters(element="|", component=">", repetition="!"), Delimiters(repetition=None), Delimiters(repetition="!"),
           Delimiters(component="^", repetition=":"), Delimiters(segment="\n", suffix=""),
           Delimiters(suffix="1"), Delimiters(suffix="~"), Delimiters(element="0")]  # HL*1**20: a collision


def write(claims, delimiters: Delimiters, plain: bool, **options):
    """(output, summary fields) or (error type, message) of write_claims_837; `plain` False turns
    the plain-text path off (the reference)."""
    with pytest.MonkeyPatch.context() as patch:
        if not plain:
            original = writer._PlainText.__init__

            def reference(self, delimiters):
                original(self, delimiters)
                self.plain = self.copy = False

            patch.setattr(writer._PlainText, "__init__", reference)
        out = io.StringIO()
        try:
            summary = write_claims_837(claims, out, SETTINGS, SequentialControlNumbers(start=3), delimiters,
                                       now=NOW, **options)
        except Exception as error:  # noqa: BLE001 - the same error either way is the point
            return type(error), str(error), out.getvalue()
        return out.getvalue(), summary.claims, summary.billing_providers, summary.subscribers, summary.patients, \
            summary.segments, summary.transactions


def assert_same(claims, delimiters, **options):
    fast = write(claims, delimiters, True, **options)
    assert fast == write(claims, delimiters, False, **options)
    return fast


# --- generated loops ------------------------------------------------------------------------

OTHER = Delimiters(element="|", component=">", repetition="^", segment="~")
SAME_SEPARATORS = Delimiters(element="|", component=":", repetition="^", segment="~")
EQUAL_TO_STANDARD = Delimiters()  # equal to STANDARD, not it: the reference path takes it


class _Tagged(Segment):
    __slots__ = ()


def _unslotted(tag: str, elements: tuple[str, ...], delimiters: Delimiters) -> Segment:
    """A segment made as the reader makes them: `text` never set."""
    seg = object.__new__(_Unfrozen)
    seg.tag, seg.elements, seg.index, seg.line, seg.delimiters = tag, elements, 0, 0, delimiters
    seg.__class__ = Segment
    return seg


def _segment(tag: str, elements: list[str], delimiters: Delimiters, made: str) -> Segment:
    values = tuple(elements)
    if made == "text":  # split from text: its own join kept
        return _make_segment(tag, values, 0, 0, delimiters, delimiters.element.join((tag, *values)))
    if made == "unset":
        return _unslotted(tag, values, delimiters)
    if made == "subclass":
        return _Tagged(tag, values, 0, 0, delimiters)
    return _make_segment(tag, values, 0, 0, delimiters)


value = st.one_of(st.sampled_from(["", "A", "B", "HC:1", "X^Y", "20"]), st.text(st.sampled_from(list("AB1:*^~|>!\n\r")),
                                                                            max_size=3))
segments = st.builds(_segment, st.sampled_from(["NM1", "SBR", "N3", "REF", "CAS", "HL", "SE", "ST"]),
                     st.lists(value, max_size=4),
                     st.sampled_from([STANDARD] * 6 + [OTHER, SAME_SEPARATORS, EQUAL_TO_STANDARD]),
                     st.sampled_from(["text"] * 3 + ["none"] * 3 + ["unset", "subclass"]))
plain_segments = st.builds(lambda tag, elements, made: _segment(tag, elements, STANDARD, made),
                           st.sampled_from(["NM1", "SBR", "N3", "REF", "DMG", "PAT"]),
                           st.lists(st.sampled_from(["", "A", "B", "HC:1", "20"]), max_size=4),
                           st.sampled_from(["text", "none"]))


def _loop(loop_id: str, head: str, items: list) -> Loop:
    loop = Loop(loop_id)
    if head == "HL":
        loop.append(Segment("HL", ("9", "8", "22", "0")))
    elif head == "loop":  # a child loop first: its segments are all written, an HL among them too
        loop.append(Loop("2010BA", [Segment("HL", ("7", "", "20", "1"))]))
    for item in items:
        loop.append(Loop("2010BA", item) if isinstance(item, list) else item)
    return loop


def loops(segment_strategy, loop_id: str):
    return st.builds(_loop, st.just(loop_id), st.sampled_from(["HL"] * 6 + ["none", "loop"]),
                     st.lists(st.one_of(segment_strategy, st.lists(segment_strategy, min_size=1, max_size=3)),
                              max_size=4))


def claims(segment_strategy):
    def made(billing, subscriber, patient, clm):
        claim = Loop("2300", [Segment("CLM", ("C1", "10"))], clm)
        return OriginalClaim(Envelope(), Loop("HEADER"), billing, subscriber, patient, claim)

    return st.builds(made, loops(segment_strategy, "2000A"), loops(segment_strategy, "2000B"),
                     st.one_of(st.none(), loops(segment_strategy, "2000C")),
                     st.lists(loops(segment_strategy, "2400"), max_size=3))


def sequences(segment_strategy):
    """Claims in a row, some sharing a loop object with (or holding a copy of) the claim before,
    as claims read under one HL do (the writer then merges their HLs)."""
    def share(claims, picks):
        for (before, after), pick in zip(zip(claims, claims[1:]), picks):
            if pick & 1:
                after.billing_provider = before.billing_provider if pick & 2 else before.billing_provider.copy()
            if pick & 4:
                after.subscriber = before.subscriber if pick & 8 else before.subscriber.copy()
            if pick & 16 and before.patient is not None:
                after.patient = before.patient if pick & 8 else before.patient.copy()
        return claims

    return st.builds(share, st.lists(claims(segment_strategy), min_size=1, max_size=5),
                     st.lists(st.integers(0, 31), max_size=4))


SUBMITTER = Loop("1000A", [Segment("NM1", ("41", "2", "SUBMITTER"))])
RECEIVER = Loop("1000B", [Segment("NM1", ("40", "2", "RECEIVER"))])


@settings(max_examples=200, deadline=None)
@given(sequences(segments), st.sampled_from(OUTPUTS), st.sampled_from([None, 1, 2]))
def test_any_loops_write_as_the_reference_writes_them(sequence, delimiters, per_set):
    """Values holding delimiters, envelope tags, other delimiter sets, segments with and without
    their `text` (or without the slot), subclasses, loops starting with a child loop: the same
    output, summary or error as with the plain-text path off."""
    assert_same(sequence, delimiters, submitter=SUBMITTER, receiver=RECEIVER,
                claims_per_transaction=per_set)


@settings(max_examples=150, deadline=None)
@given(sequences(plain_segments), st.sampled_from(OUTPUTS[:-1]))
def test_plain_loops_write_as_the_reference_writes_them(sequence, delimiters):
    """Claims as convert makes them (STANDARD segments, many with their text, merged HLs): what the
    plain-text path is for, so it is taken, and it writes what the reference writes."""
    result = assert_same(sequence, delimiters, submitter=SUBMITTER, receiver=RECEIVER)
    assert isinstance(result[0], str)


# --- samples, goldens, corpus ---------------------------------------------------------------

def _sample_claims() -> list[tuple[str, list[OriginalClaim]]]:
    paths = [DATA / "grouping.837", *corpus_files("lfh_")]
    return [(path.name, claims) for path in paths if path.exists()
            for claims in [parse_claims_text(path.read_text(), path.name)] if claims]


SAMPLES = _sample_claims()


@pytest.mark.parametrize("delimiters", OUTPUTS, ids=repr)
def test_sample_and_corpus_claims_write_as_the_reference_writes_them(delimiters):
    """The plain parser's claims (reader-made segments: no `text`), whole files; in STANDARD
    delimiters every one is written (elsewhere a value may hold an output delimiter: the same error)."""
    for name, claims in SAMPLES:
        result = assert_same(claims, delimiters)
        assert isinstance(result[0], str) or delimiters is not STANDARD, (name, result)


def test_segment_text_is_copied_only_where_it_is_the_output():
    """A segment's `text` is its join in its own (STANDARD) delimiters: copied for output with the
    STANDARD element separator, joined afresh for another one (a text that lied would show)."""
    liar = _make_segment("REF", ("F8", "A"), 0, 0, STANDARD, "REF*F8*B")
    claim = OriginalClaim(Envelope(), Loop("HEADER"), Loop("2000A", [Segment("HL", ("1", "", "20", "1"))]),
                          Loop("2000B", [Segment("HL", ("2", "1", "22", "0"))]), None,
                          Loop("2300", [Segment("CLM", ("C1", "10")), liar]))
    text = write([claim], STANDARD, True, submitter=SUBMITTER, receiver=RECEIVER)[0]
    assert "REF*F8*B~" in text  # copied: the writer trusts the maker's text (no join)
    text = write([claim], Delimiters(element="|"), True, submitter=SUBMITTER, receiver=RECEIVER)[0]
    assert "REF|F8|A~" in text


@pytest.mark.parametrize("delimiters", OUTPUTS, ids=repr)
@pytest.mark.parametrize("held", ["~", "*", "|", "\n", "\r\n", ">", "!", "1", ":", "^"])
@pytest.mark.parametrize("made", ["text", "none"])
def test_a_value_holding_an_output_delimiter_fails_as_the_reference_fails(delimiters, held, made):
    """Every check on the joined text matters: a value holding a terminator, element separator or
    suffix, beside segments whose text is copied, writes (or fails) as the reference does."""
    loops = [_segment("N3", ["A"], STANDARD, made), _segment("REF", ["X" + held + "Y"], STANDARD, "none")]
    claim = OriginalClaim(Envelope(), Loop("HEADER"), Loop("2000A", [Segment("HL", ("1", "", "20", "1"))]),
                          Loop("2000B", [Segment("HL", ("2", "1", "22", "0")), *loops]), None,
                          Loop("2300", [Segment("CLM", ("C1", "10")), *loops]))
    assert_same([claim], delimiters, submitter=SUBMITTER, receiver=RECEIVER)


@given(st.integers(1, 10**6), st.one_of(st.none(), st.integers(1, 10**6)), st.sampled_from(["20", "22", "23"]),
       st.booleans(), st.sampled_from([*OUTPUTS, Delimiters(element="2"), Delimiters(segment="1", suffix=""),
                                       Delimiters(element="3", segment="0")]))
def test_an_hl_is_written_as_serialize_writes_it(hl_id, parent, level, has_children, delimiters):
    """The HL text made from its numbers (digits only, so no envelope can test it: ISA holds digits)
    is serialize's text of the HL segment, or left to it (which then names the collision)."""
    from edi.writer import DelimiterCollisionError, serialize

    level_state = writer._Level(writer._PlainText(delimiters))
    assert not level_state.matches(Loop("2000A", [Segment("HL", ("5", "", level, "1"))]))
    parts: list = []
    assert level_state.open(parts, hl_id, level, parent, has_children) == 1
    hl = Segment.build("HL", str(hl_id), str(parent) if parent else "", level, "1" if has_children else "0")
    try:
        expected = serialize(hl, delimiters)
    except DelimiterCollisionError:
        assert parts[0] == [hl]
    else:
        assert parts[0] in (expected, [hl])


@pytest.mark.parametrize("delimiters", OUTPUTS[:-1], ids=repr)
@pytest.mark.parametrize("source", [OTHER, Delimiters(component=">", repetition="!"), Delimiters(repetition=None)],
                         ids=repr)
def test_a_segment_read_in_other_delimiters_is_translated_as_the_reference_translates_it(delimiters, source):
    """A composite or repetition in another delimiter set than the output's is never joined as it is
    (a segment read in other delimiters, or a STANDARD one written in other delimiters)."""
    read = Segment("SV1", ("HC>99213" if source.component == ">" else "HC:99213", "10", "UN", "1",
                           "A!B" if source.repetition == "!" else "A^B"), 0, 0, source)
    claim = OriginalClaim(Envelope(), Loop("HEADER"), Loop("2000A", [Segment("HL", ("1", "", "20", "1"))]),
                          Loop("2000B", [Segment("HL", ("2", "1", "22", "0")), read]), None,
                          Loop("2300", [Segment("CLM", ("C1", "10")),
                                        Loop("2400", [Segment("LX", ("1",)), Segment("SV1", ("HC:1", "5", "A^B"))])]))
    assert_same([claim], delimiters, submitter=SUBMITTER, receiver=RECEIVER)


def test_a_write_meeting_a_segment_without_the_text_slot_still_copies_nothing_wrong():
    """The reader's segments have no `text` slot value: the first one turns copying off for the rest
    of the write (joined instead), and the output stays the reference's."""
    claims = parse_claims_text((DATA / "grouping.837").read_text(), "grouping.837")
    with_text = []
    for claim in claims:
        copy = claim.claim.copy()
        copy.items = [_make_segment(s.tag, s.elements, 0, 0, STANDARD, str(s)) if isinstance(s, Segment) else s
                      for s in copy.items]
        with_text.append(OriginalClaim(claim.envelope, claim.header, claim.billing_provider, claim.subscriber,
                                       claim.patient, copy))
    mixed = [with_text[0], claims[1], *with_text[2:]]
    assert assert_same(mixed, STANDARD) == assert_same(claims, STANDARD)
