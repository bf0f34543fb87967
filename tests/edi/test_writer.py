"""Writer: amounts, serialization in any delimiters, envelopes with counts and control numbers."""
from __future__ import annotations

import datetime as dt
import io
import textwrap
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edi.errors import EdiError
from edi.reader import X12Reader
from edi.segment import STANDARD, Delimiters, Segment
from edi.writer import (
    DelimiterCollisionError,
    EnvelopeError,
    InterchangeSettings,
    InterchangeWriter,
    Party,
    SequentialControlNumbers,
    format_amount,
    isa_segment,
    serialize,
    write_segments,
)

NOW = dt.datetime(2026, 3, 21, 8, 5)
SETTINGS = InterchangeSettings(Party("ZZ", "SENDER"), Party("ZZ", "RECEIVER", "RCVAPP"), usage="T")


# --- amounts -----------------------------------------------------------------------------------

@pytest.mark.parametrize("value, text", [
    (Decimal("10"), "10"), (Decimal("10.00"), "10"), (Decimal("10.5"), "10.5"), (Decimal("10.50"), "10.5"),
    (Decimal("-2.5"), "-2.5"), (Decimal("-2.50"), "-2.5"), (Decimal("0.25"), "0.25"), (Decimal("0"), "0"),
    (Decimal("0.00"), "0"), (Decimal("-0"), "0"), (Decimal("-0.00"), "0"), (Decimal("1E+1"), "10"),
    (Decimal("1.50E+2"), "150"), (Decimal("1E-2"), "0.01"), (Decimal("1234567.89"), "1234567.89"),
    (Decimal("100"), "100"), (Decimal("0.10"), "0.1"), (7, "7"), (-30, "-30"),
])
def test_amounts_are_written_without_needless_zeros(value, text):
    assert format_amount(value) == text


def test_money_is_never_a_float():
    with pytest.raises(TypeError):
        format_amount(10.5)
    with pytest.raises(TypeError):
        format_amount("10.5")
    for value in ("NaN", "Infinity", "-Infinity", "sNaN"):
        with pytest.raises(ValueError):
            format_amount(Decimal(value))


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-10**9, max_value=10**9, places=4))
def test_an_amount_reads_back_as_the_same_number(value):
    text = format_amount(value)
    assert Decimal(text) == value
    assert "E" not in text and "e" not in text and text != "-0"
    if "." in text:
        assert not text.endswith("0") and not text.endswith(".")


# --- serialize ---------------------------------------------------------------------------------

def test_standard_delimiters_with_a_newline_after_each_segment():
    assert STANDARD == Delimiters("*", ":", "^", "~", "\n")
    seg = Segment.build("SV1", ("HC", "99213", "25"), "100", "UN", "1", None, None, ("1", "2"))
    assert serialize(seg) == "SV1*HC:99213:25*100*UN*1***1:2~\n"


def test_build_drops_trailing_empty_elements_and_components():
    assert serialize(Segment.build("NM1", "IL", "1", "", None, "")) == "NM1*IL*1~\n"
    assert serialize(Segment.build("SVC", ("HC", "99213", "", ""), "10")) == "SVC*HC:99213*10~\n"


def test_composites_and_repetitions_are_translated_into_the_output_delimiters():
    source = Delimiters("|", ">", "!", "\n", "")
    seg = Segment("HI", ("ABK>J189", "ABF>E119!ABF>I10"), 5, 5, source)
    assert serialize(seg, STANDARD) == "HI*ABK:J189*ABF:E119^ABF:I10~\n"
    pipes = Delimiters("|", ">", "!", "~", "")
    assert serialize(Segment.build("HI", ("ABK", "J189")), pipes) == "HI|ABK>J189~"
    assert serialize(Segment.build("HI", ("ABK", "J189")), Delimiters("*", ":", "^", "\n", "")) == "HI*ABK:J189\n"


def test_an_isa_takes_isa11_and_isa16_from_the_output_delimiters():
    isa = isa_segment(SETTINGS, 7, NOW)
    text = serialize(isa, Delimiters("|", ">", "!", "~", ""))
    assert text == ("ISA|00|          |00|          |ZZ|SENDER         |ZZ|RECEIVER       |260321|0805|!|00501|"
                    "000000007|0|T|>~")
    assert len(text) == 106


def test_a_4010_isa_keeps_u_in_isa11():
    settings = InterchangeSettings(SETTINGS.sender, SETTINGS.receiver, version="00401")
    isa = isa_segment(settings, 1, NOW)
    assert isa.get(11) == "U"
    assert serialize(isa, Delimiters("|", ">", "!", "~", "")).split("|")[11] == "U"
    # a read 4010 ISA, re-delimited: ISA11 is a standards id, not a separator
    read = Segment("ISA", isa.elements, 1, 1, Delimiters("*", ":", None, "~", ""))
    assert serialize(read, STANDARD).split("*")[11] == "U"


@pytest.mark.parametrize("segment, delims, where", [
    (Segment.build("NTE", "ADD", "PAID*PARTIAL"), STANDARD, "NTE02 contains the element separator '*'"),
    (Segment.build("NTE", "ADD", "A~B"), STANDARD, "NTE02 contains the segment terminator '~'"),
    (Segment.build("REF", "EA", "X|Y"), Delimiters("|", ">", "!", "~", ""), "REF02 contains the element separator"),
    (Segment("REF", ("EA", "a>b"), 0, 0, STANDARD), Delimiters("*", ">", "^", "~", ""),
     "REF02 contains the component separator '>'"),
    (Segment("REF", ("EA", "a!b"), 0, 0, STANDARD), Delimiters("*", ":", "!", "~", ""),
     "REF02 contains the repetition separator '!'"),
    (Segment.build("NM1", "IL", "1", "DOE\nJOHN"), Delimiters("*", ":", "^", "\n", ""), "NM103"),
])
def test_a_value_holding_an_output_delimiter_is_an_error_not_corrupt_x12(segment, delims, where):
    with pytest.raises(DelimiterCollisionError) as info:
        serialize(segment, delims)
    assert where in str(info.value)
    assert "PARTIAL" not in str(info.value) and "JOHN" not in str(info.value)  # never the value (PHI)
    assert isinstance(info.value, EdiError) and isinstance(info.value, ValueError)


def test_write_segments_counts_what_it_wrote():
    out = io.StringIO()
    assert write_segments([Segment.build("LX", "1"), Segment.build("LX", "2")], out) == 2
    assert out.getvalue() == "LX*1~\nLX*2~\n"


# --- envelopes ---------------------------------------------------------------------------------

GOLDEN = textwrap.dedent("""\
    ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *260321*0805*^*00501*000000001*0*T*:~
    GS*HC*SENDER*RCVAPP*20260321*0805*1*X*005010X222A1~
    ST*837*0001*005010X222A1~
    BHT*0019*00*REF1*20260321*0805*CH~
    SE*3*0001~
    ST*837*0002*005010X222A1~
    BHT*0019*00*REF2*20260321*0805*CH~
    HL*1**20*1~
    SE*4*0002~
    GE*2*1~
    GS*HP*SENDER*RCVAPP*20260321*0805*2*X*005010X221A1~
    ST*835*0003~
    BPR*I*10*C*CHK************20260321~
    SE*3*0003~
    GE*1*2~
    IEA*2*000000001~
""")


def write_golden(delimiters: Delimiters = STANDARD, numbers=None) -> tuple[str, InterchangeWriter]:
    out = io.StringIO()
    with InterchangeWriter(out, SETTINGS, numbers or SequentialControlNumbers(), delimiters, NOW) as ix:
        with ix.group("HC", "005010X222A1") as group:
            with group.transaction("837") as ts:
                ts.write(Segment.build("BHT", "0019", "00", "REF1", "20260321", "0805", "CH"))
            with group.transaction("837") as ts:
                ts.write_all([Segment.build("BHT", "0019", "00", "REF2", "20260321", "0805", "CH"),
                              Segment.build("HL", "1", "", "20", "1")])
        with ix.group("HP", "005010X221A1") as group:
            with group.transaction("835", "") as ts:  # 835: ST03 not used
                ts.write(Segment.build("BPR", "I", "10", "C", "CHK", *[""] * 11, "20260321"))
    return out.getvalue(), ix


def test_interchange_golden_output():
    text, ix = write_golden()
    assert text == GOLDEN
    assert ix.control_numbers == [("ISA", 1), ("GS", 1), ("ST", 1), ("ST", 2), ("GS", 2), ("ST", 3)]
    assert ix.groups == 2 and ix.transactions_written == 3
    assert len(text.splitlines()[0]) == 106


class Ledger:
    """A control number source like the ledger's: remembers who asked for what."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    def next_number(self, kind: str, sender: str, receiver: str) -> int:
        self.calls.append((kind, sender, receiver))
        return {"ISA": 987654321, "GS": 4200, "ST": 17}[kind] + len(self.calls)


def test_control_numbers_come_from_the_pluggable_source():
    ledger = Ledger()
    text, _ = write_golden(numbers=ledger)
    assert ledger.calls[0] == ("ISA", "ZZ:SENDER", "ZZ:RECEIVER")
    assert [kind for kind, _, _ in ledger.calls] == ["ISA", "GS", "ST", "ST", "GS", "ST"]
    lines = text.splitlines()
    assert lines[0].split("*")[13] == "987654322" and lines[-1] == "IEA*2*987654322~"
    assert lines[1].split("*")[6] == "4202" and lines[9] == "GE*2*4202~"
    assert lines[2] == "ST*837*0020*005010X222A1~" and lines[4] == "SE*3*0020~"


def test_sequential_numbers_count_per_kind_and_partner():
    numbers = SequentialControlNumbers(start=100)
    assert [numbers.next_number("ST", "a", "b") for _ in range(3)] == [100, 101, 102]
    assert numbers.next_number("ST", "a", "c") == 100 and numbers.next_number("GS", "a", "b") == 100


DELIMITER_CHOICES = [
    STANDARD,
    Delimiters("*", ":", "^", "~", ""),
    Delimiters("*", ":", "^", "~", "\r\n"),
    Delimiters("|", ">", "!", "\n", ""),
    Delimiters("!", ">", "{", "'", "\n"),
    Delimiters("\x1d", "\x1f", "\x1e", "\x1c", ""),
]


@pytest.mark.parametrize("delimiters", DELIMITER_CHOICES, ids=repr)
def test_our_reader_accepts_the_output_with_zero_findings(delimiters):
    text, _ = write_golden(delimiters)
    reader = X12Reader.from_text(text, "out.x12")
    segments = list(reader)
    assert reader.findings == []
    assert reader.delimiters == Delimiters(delimiters.element, delimiters.component, delimiters.repetition,
                                           delimiters.segment, "")
    standard = list(X12Reader.from_text(GOLDEN))
    assert [(s.tag, s.composite(1) if s.tag == "HI" else s.elements[:10] if s.tag == "ISA" else s.elements)
            for s in segments] == [(s.tag, s.elements[:10] if s.tag == "ISA" else s.elements) for s in standard]
    assert len(text.split(delimiters.segment)[0]) == 105  # fixed-width ISA before its terminator


def test_envelope_values_that_do_not_fit_are_errors():
    with pytest.raises(EnvelopeError, match="ISA06 sender id is 16 characters"):
        isa_segment(InterchangeSettings(Party("ZZ", "X" * 16), SETTINGS.receiver), 1, NOW)
    with pytest.raises(EnvelopeError, match="ISA13"):
        isa_segment(SETTINGS, 1_000_000_000, NOW)
    with pytest.raises(EnvelopeError):
        write_golden(numbers=type("Big", (), {"next_number": lambda self, kind, s, r: 10**10})())
    assert issubclass(EnvelopeError, EdiError)


def test_envelope_segments_are_the_writers_job():
    out = io.StringIO()
    with InterchangeWriter(out, SETTINGS, SequentialControlNumbers(), now=NOW) as ix:
        with ix.group("HC", "005010X222A1") as group:
            with group.transaction("837") as ts:
                for tag in ("ST", "SE", "GS", "GE", "ISA", "IEA"):
                    with pytest.raises(ValueError):
                        ts.write(Segment.build(tag, "1"))
    reader = X12Reader.from_text(out.getvalue())
    assert [s.tag for s in reader] == ["ISA", "GS", "ST", "SE", "GE", "IEA"] and reader.findings == []


def test_an_exception_leaves_the_envelope_open_for_the_reader_to_notice():
    out = io.StringIO()
    with pytest.raises(RuntimeError):
        with InterchangeWriter(out, SETTINGS, SequentialControlNumbers(), now=NOW) as ix:
            with ix.group("HC", "005010X222A1") as group:
                with group.transaction("837"):
                    raise RuntimeError("mapping failed")
    reader = X12Reader.from_text(out.getvalue())
    list(reader)
    assert [f.code for f in reader.findings] == ["ENV008", "ENV008", "ENV008"]


def test_swapping_component_and_repetition_separators_is_not_a_collision():
    seg = Segment("HI", ("ABK:J189^ABF:E119",), 0, 0, STANDARD)
    swapped = Delimiters("*", "^", ":", "~", "")
    assert serialize(seg, swapped) == "HI*ABK^J189:ABF^E119~"
    back = list(X12Reader.from_text(serialize(isa_segment(SETTINGS, 1, NOW), swapped) + serialize(seg, swapped)))
    assert back[1].delimiters.component == "^" and back[1].repeats(1) == ["ABK^J189", "ABF^E119"]


def test_a_repetition_separator_new_to_a_4010_style_source_must_not_be_in_its_data():
    seg = Segment("NTE", ("ADD", "A^B"), 0, 0, Delimiters("*", ":", None, "~", ""))
    with pytest.raises(DelimiterCollisionError, match="NTE02 contains the repetition separator"):
        serialize(seg, STANDARD)
    assert serialize(seg, Delimiters("*", ":", None, "~", "")) == "NTE*ADD*A^B~"


# --- the one-join path (_same_delimiters_text) against serialize ---------------------------------

_JOIN_CHARS = st.sampled_from(list("AB1 *:^~|>!\n"))
_JOIN_DELIMITERS = [Delimiters("*", ":", "^", "~", "\n"), Delimiters("*", ":", "^", "~", ""),
                    Delimiters("|", ">", "!", "~", "\n"), Delimiters("*", ":", "^", "\n", ""), STANDARD]


@given(st.lists(st.tuples(st.sampled_from(["NM1", "SV1", "REF", "SE"]),
                          st.lists(st.text(_JOIN_CHARS, max_size=3), max_size=3),
                          st.sampled_from(_JOIN_DELIMITERS)), max_size=5),
       st.sampled_from(_JOIN_DELIMITERS))
def test_one_join_writes_what_serialize_writes(raw, output):
    """Segments with no element, values holding a terminator, suffix or separator, other delimiter
    sets, envelope tags: the joined text is serialize's, or None (the caller serializes one by one)."""
    from edi.writer import _same_delimiters_text, body_text

    segments = [Segment(tag, tuple(elements), delimiters=source) for tag, elements, source in raw]
    joined = _same_delimiters_text(segments, output)
    if joined is not None:
        assert joined == "".join(serialize(s, output) for s in segments)
    try:
        expected = "".join(serialize(s, output) for s in segments)
    except DelimiterCollisionError:
        return
    if "SE" not in [s.tag for s in segments]:
        assert body_text(segments, output) == expected


@given(st.lists(st.tuples(st.sampled_from(["NM1", "SV1", "REF", "DTP"]),
                          st.lists(st.text(st.sampled_from(list("AB1 :.-")), max_size=4), min_size=1, max_size=4)),
                max_size=6))
def test_one_join_takes_the_usual_claim(raw):
    """Standard delimiters, every segment with elements and no delimiter in a value: joined at once
    (fails when the one-join path declines the usual case, which would cost time, never bytes)."""
    from edi.writer import _same_delimiters_text

    segments = [Segment.build(tag, *elements) if elements[-1] else Segment(tag, tuple(elements))
                for tag, elements in raw]
    segments = [s for s in segments if s.elements]
    assert _same_delimiters_text(segments, STANDARD) == "".join(serialize(s) for s in segments)


def test_delimiters_equal_to_the_standard_set_are_held_as_it():
    """A parsed '*:^~' (convert's --delimiters default) or a pickled copy equals STANDARD without
    being it; the writer holds STANDARD itself so its fast paths (`is STANDARD`) are taken, and the
    text is the same either way."""
    import pickle

    from edi.segment import output_delimiters

    for equal in (output_delimiters("*:^~"), pickle.loads(pickle.dumps(STANDARD))):
        assert equal == STANDARD and equal is not STANDARD
        text, ix = write_golden(equal)
        assert ix.delimiters is STANDARD and text == write_golden()[0]
    other = output_delimiters("|>!~")
    text, ix = write_golden(other)
    assert ix.delimiters is other and "ISA|" in text
