"""Envelope checks: every ENV finding with the segment number, line, tag and element it points at."""
from __future__ import annotations

import pytest

import edi.reader as reader_module
from edi.findings import Severity
from edi.reader import X12Reader

ISA = "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *260101*1200*^*00501*000000001*0*T*:"
GOOD = [
    ISA,                                                   # 1
    "GS*HP*SENDER*RECEIVER*20260101*1200*1*X*005010X221A1",  # 2
    "ST*835*0001",                                         # 3
    "BPR*I*10*C*CHK************20260101",                  # 4
    "TRN*1*T1*1512345678",                                 # 5
    "CLP*C1*1*33*10**12*ICN1",                             # 6
    "SE*5*0001",                                           # 7
    "ST*835*0002",                                         # 8
    "BPR*I*0*H*NON************20260101",                   # 9
    "TRN*1*T2*1512345678",                                 # 10
    "SE*4*0002",                                           # 11
    "GE*2*1",                                              # 12
    "IEA*1*000000001",                                     # 13
]


def text_of(segments: list[str]) -> str:
    """One segment per line, `~` terminated: segment n is on line n."""
    return "".join(s + "~\n" for s in segments)


def check(segments: list[str] | str, chunk: int | None = None, monkeypatch=None):
    if chunk:
        monkeypatch.setattr(reader_module, "CHUNK_CHARS", chunk)
    reader = X12Reader.from_text(segments if isinstance(segments, str) else text_of(segments), "e.835")
    got = list(reader)
    return got, [(f.code, f.location.segment, f.location.line, f.location.tag, f.location.element)
                 for f in reader.findings], reader.findings


def with_(index: int, new: str | None, segments: list[str] = GOOD) -> list[str]:
    """GOOD with segment `index` (1-based) replaced, or removed when `new` is None."""
    out = list(segments)
    if new is None:
        del out[index - 1]
    else:
        out[index - 1] = new
    return out


def test_a_correct_interchange_has_no_findings():
    got, findings, _ = check(GOOD)
    assert findings == [] and len(got) == len(GOOD)


@pytest.mark.parametrize("index, new, finding", [
    (1, "ISA*00**00**ZZ*SENDER*ZZ*RECEIVER*260101*1200*^*00501*000000001*0*T*:", ("ENV001", 1, 1, "ISA", None)),
    (1, ISA.replace("*SENDER         *", "*SENDER  *"), ("ENV001", 1, 1, "ISA", None)),
    (13, "IEA*2*000000001", ("ENV002", 13, 13, "IEA", "IEA01")),
    (13, "IEA**000000001", ("ENV002", 13, 13, "IEA", "IEA01")),
    (13, "IEA*1*000000009", ("ENV003", 13, 13, "IEA", "IEA02")),
    (12, "GE*1*1", ("ENV004", 12, 12, "GE", "GE01")),
    (12, "GE*2*01", ("ENV005", 12, 12, "GE", "GE02")),
    (7, "SE*6*0001", ("ENV006", 7, 7, "SE", "SE01")),
    (11, "SE*4*0003", ("ENV007", 11, 11, "SE", "SE02")),
])
def test_envelope_counts_and_control_numbers(index, new, finding):
    got, findings, all_findings = check(with_(index, new))
    assert findings == [finding]
    assert all_findings[0].severity is Severity.ERROR
    assert len(got) == len(GOOD)  # the content stays readable


def test_the_message_says_what_was_expected():
    _, _, findings = check(with_(7, "SE*6*0001"))
    assert findings[0].message == "SE01 says 6 segments, the transaction set has 5"
    assert str(findings[0]) == "e.835 seg 7 (SE) line 7 SE01: ENV006 SE01 says 6 segments, the transaction set has 5"


@pytest.mark.parametrize("cut, expected", [
    (12, [("ENV008", 12, 12, "GE", None)]),                              # no IEA
    (11, [("ENV008", 11, 11, "SE", None)] * 2),                         # no GE, no IEA
    (10, [("ENV008", 10, 10, "TRN", None)] * 3),                        # no SE, GE, IEA
    (3, [("ENV008", 3, 3, "ST", None)] * 3),
    (2, [("ENV008", 2, 2, "GS", None)] * 2),
    (1, [("ENV008", 1, 1, "ISA", None)]),
])
def test_a_truncated_file_is_reported_where_it_ends(cut, expected):
    got, findings, all_findings = check(GOOD[:cut])
    assert findings == expected
    assert all("truncated" in f.message for f in all_findings)
    assert [s.tag for s in got] == [s.split("*")[0] for s in GOOD[:cut]]


def test_a_file_cut_inside_a_segment():
    text = text_of(GOOD)
    cut = text.index("TRN*1*T2") + 7
    got, findings, _ = check(text[:cut])
    assert findings == [("ENV012", 10, 10, "TRN", None)] + [("ENV008", 10, 10, "TRN", None)] * 3
    assert got[-1].elements == ("1", "T")


@pytest.mark.parametrize("chunk", [None, 7])
def test_missing_final_terminator_points_at_the_last_segment(chunk, monkeypatch):
    text = "\n\n" + text_of(GOOD).rstrip("~\n")
    got, findings, all_findings = check(text, chunk, monkeypatch)
    assert findings == [("ENV012", 13, 15, "IEA", None)]
    assert all_findings[0].severity is Severity.WARNING
    assert got[-1].elements == ("1", "000000001")


def test_line_break_terminators_need_no_final_line_break():
    reader = X12Reader.from_text("\n".join(GOOD))  # ISA16 then LF: the terminator is a line break
    assert len(list(reader)) == len(GOOD) and reader.findings == []
    assert reader.delimiters.segment == "\n"


def test_missing_se_ge_and_iea_inside_the_file():
    segments = GOOD[:5] + GOOD[7:10] + ["GS*HP*SENDER*RECEIVER*20260101*1200*2*X*005010X221A1"] + \
        ["ST*835*0003", "SE*2*0003", "GE*1*2"] + GOOD
    got, findings, all_findings = check(segments)
    assert [(f[:4], m.message.split(":")[0]) for f, m in zip(findings, all_findings)] == [
        (("ENV008", 6, 6, "ST"), "SE missing"),   # the second ST while the first is open
        (("ENV008", 9, 9, "GS"), "SE missing"),   # a GS inside that transaction set
        (("ENV008", 9, 9, "GS"), "GE missing"),   # ... and inside the first group
        (("ENV008", 13, 13, "ISA"), "IEA missing"),
    ]
    assert len(got) == len(segments)


def test_iea_closes_an_open_transaction_and_group():
    segments = GOOD[:5] + ["IEA*1*000000001"] + GOOD
    _, findings, _ = check(segments)
    assert findings == [("ENV008", 6, 6, "IEA", None), ("ENV008", 6, 6, "IEA", None)]


def test_junk_after_iea_is_reported_once_and_not_passed_on():
    text = text_of(GOOD) + "this is not x12~\nNM1*QC*1*X~\n"
    got, findings, _ = check(text)
    assert findings == [("ENV009", 14, 14, None, None)]  # junk is no segment id: not shown as a tag
    assert [s.tag for s in got][-1] == "IEA" and len(got) == len(GOOD)


def test_after_junk_a_new_interchange_is_read():
    text = text_of(GOOD) + "garbage~\n" + text_of(GOOD)
    got, findings, _ = check(text)
    assert [f[0] for f in findings] == ["ENV009"]
    assert len(got) == 2 * len(GOOD) and got[-1].index == 2 * len(GOOD) + 1


@pytest.mark.parametrize("segments, expected", [
    # no GS: both STs and the GE are outside their envelope, and IEA01 counts no group
    (GOOD[:1] + GOOD[2:], [("ENV010", 2, 2, "ST", None), ("ENV010", 7, 7, "ST", None),
                           ("ENV010", 11, 11, "GE", None), ("ENV002", 12, 12, "IEA", "IEA01")]),
    # stray segments between transaction sets: reported once per run
    (GOOD[:7] + ["REF*EV*X", "REF*EV*Y"] + GOOD[7:], [("ENV010", 8, 8, "REF", None)]),
    # an early SE leaves the body outside, and the real SE has no ST
    (GOOD[:3] + ["SE*2*0001"] + GOOD[3:], [("ENV010", 5, 5, "BPR", None), ("ENV010", 8, 8, "SE", None)]),
])
def test_segments_outside_their_envelope(segments, expected):
    _, findings, _ = check(segments)
    assert findings == expected


def test_segments_that_are_not_segments():
    segments = GOOD[:4] + ["bad segment*1", "TOOLONG*1", "*1*2"] + GOOD[4:]
    got, findings, _ = check(segments)
    assert [f[:3] for f in findings] == [("ENV013", 5, 5), ("ENV013", 6, 6), ("ENV013", 7, 7)]
    assert [s.tag for s in got] == [s.split("*")[0] for s in GOOD]
    assert [s.index for s in got][4] == 8  # segment numbers still count them


def test_a_bare_fragment_warns_and_still_checks_counts():
    got, findings, all_findings = check(GOOD[2:7] + ["ST*835*0002", "SE*3*0002"])
    assert findings == [("ENV011", 1, 1, "ST", None), ("ENV006", 7, 7, "SE", "SE01")]
    assert all_findings[0].severity is Severity.WARNING
    assert len(got) == 7


def test_an_unusable_later_isa_is_reported_and_reading_goes_on():
    broken = ISA[:50]  # cut short: not 16 elements
    _, findings, _ = check(GOOD + [broken] + GOOD[1:])
    assert findings[0] == ("ENV014", 14, 14, "ISA", None)
    # what follows is read with the delimiters before it; the broken ISA still opens an interchange
    assert [f[0] for f in findings][1:] == ["ENV003"]


def test_findings_are_the_same_whatever_the_chunk_size(monkeypatch):
    segments = with_(7, "SE*9*0001", GOOD[:10] + ["junk here", "GE*3*7"] + [ISA] + GOOD[1:5])
    _, reference, _ = check(segments)
    for chunk in (1, 3, 7, 64):
        assert check(segments, chunk, monkeypatch)[1] == reference
    assert {f[0] for f in reference} == {"ENV006", "ENV013", "ENV008", "ENV004", "ENV005"}


def test_lines_that_are_not_segments_never_reach_a_finding_as_their_tag():
    # a line that is no segment (or a segment after IEA) may be a name and a member id
    segments = GOOD[:4] + ["john doe W123456789 19800101"] + GOOD[4:] + ["Jane Roe W987654321"]
    _, findings, all_findings = check("".join(s + "~\n" for s in segments).rstrip("~\n"))
    assert [f[:4] for f in findings] == [("ENV013", 5, 5, None), ("ENV009", 15, 15, None),
                                         ("ENV012", 15, 15, None)]
    shown = " ".join(str(f) + repr(f.to_dict()) for f in all_findings)
    assert "doe" not in shown.lower() and "W123456789" not in shown and "W987654321" not in shown


@pytest.mark.parametrize("chunk", [None, 1, 2, 109])
@pytest.mark.parametrize("layout", ["~\r", "~\r\r", "\r"])
def test_cr_only_line_ends_number_the_lines(layout, chunk, monkeypatch):
    # old Mac line ends: each CR starts a line (the IG findings count lines the same way)
    text = "".join(s + layout for s in GOOD).replace("SE*5*0001" + layout, "SE*6*0001" + layout)
    got, findings, _ = check(text, chunk, monkeypatch)
    step = 2 if layout == "~\r\r" else 1
    assert [s.line for s in got] == [1 + step * i for i in range(len(GOOD))]
    assert findings == [("ENV006", 7, 1 + step * 6, "SE", "SE01")]
