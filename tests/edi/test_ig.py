"""Implementation-guide validation (edi.ig) with the pyx12 reference engine."""
from __future__ import annotations

import io
import logging
import re
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edi import ig
from edi.errors import EdiSyntaxError
from edi.findings import Severity

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"
BAD_837 = REPO / "samples" / "bad" / "837p-missing-hi-bad-pos.837"
BAD_835 = REPO / "samples" / "bad" / "835-missing-trn-bad-clp02.835"
CORPUS_FILES = sorted(p for p in CORPUS.glob("*/*") if p.name != "README.md") if CORPUS.is_dir() else []
CLEAN_835 = ("pyx12_835_mult_loops.txt", "e835_emedny_sample.txt")
FINDING_CODE = re.compile(r"IG-(SEG|ELE|ST|GS|ISA)-[A-Z0-9]+\Z|IG-(NOMAP|NOISA|ISAFMT|ENGINE)\Z")


def corpus_file(name: str) -> Path:
    matches = [p for p in CORPUS_FILES if p.name == name]
    if not matches:
        pytest.skip(f"corpus file {name} not present")
    return matches[0]


def as_a1(path: Path) -> str:
    """The LinuxForHealth 837P examples name X222A2, which pyx12 has no map for; A1 is the same shape."""
    return path.read_text(encoding="utf-8-sig").replace("005010X222A2", "005010X222A1")


def keys(findings):
    return [(f.location.segment, f.code) for f in findings]


SMALL_837 = textwrap.dedent("""\
    ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *260310*0900*^*00501*000000001*0*T*:~
    GS*HC*SUBMITTER*RECEIVER*20260310*0900*1*X*005010X222A1~
    ST*837*0001*005010X222A1~
    BHT*0019*00*SMALL1*20260310*0900*CH~
    NM1*41*2*SUBMITTER CLINIC*****46*SUB1~
    PER*IC*BILLING*TE*5555550100~
    NM1*40*2*RECEIVER INC*****46*RECV1~
    HL*1**20*1~
    NM1*85*2*SUBMITTER CLINIC*****XX*1234567893~
    N3*1 CLINIC WAY~
    N4*SPRINGFIELD*IL*627010001~
    REF*EI*371234567~
    HL*2*1*22*0~
    SBR*P*18*GRP1******CI~
    NM1*IL*1*DOE*JANE****MI*MEMBER0001~
    N3*2 HOME ROAD~
    N4*SPRINGFIELD*IL*627040001~
    DMG*D8*20050614*F~
    NM1*PR*2*ACME HEALTH PLAN*****PI*11111~
    CLM*SMALLCLM01*100***11:B:1*Y*A*Y*Y~
    HI*ABK:J029~
    LX*1~
    SV1*HC:99213*100*UN*1***1~
    DTP*472*D8*20260302~
    SE*23*0001~
    GE*1*1~
    IEA*1*000000001~
    """)


# --- the synthetic bad samples --------------------------------------------------------------------


def test_bad_837_reports_missing_segment_and_bad_code_with_positions():
    findings = ig.validate_file(BAD_837, engine="pyx12")
    assert keys(findings) == [(20, "IG-ELE-7"), (21, "IG-SEG-3")]
    bad_code, missing = findings
    assert bad_code.location.tag == "CLM" and bad_code.location.element == "CLM05-1"
    assert bad_code.location.loop == "2300" and bad_code.location.line == 20
    assert "(1A) is not a valid code" in bad_code.message  # a code value is shown: it is not PHI
    assert missing.location.tag == "HI" and missing.location.loop == "2300"
    assert "Health Care Diagnosis Code" in missing.message
    assert all(f.severity is Severity.ERROR for f in findings)
    assert str(bad_code).startswith(f"{BAD_837} seg 20 (CLM) line 20 loop 2300 CLM05-1: IG-ELE-7 ")


def test_bad_835_reports_missing_trn_and_bad_claim_status():
    findings = ig.validate_file(BAD_835, engine="pyx12")
    assert keys(findings) == [(5, "IG-SEG-3"), (12, "IG-ELE-7")]
    assert findings[1].location.element == "CLP02" and findings[1].location.loop == "2100"


def test_small_clean_837_in_memory_is_clean():
    assert ig.validate_text(SMALL_837, engine="pyx12") == []


def test_text_and_file_give_the_same_findings(tmp_path):
    text = BAD_837.read_text()
    path = tmp_path / "x.837"
    path.write_text(text)
    from_text = ig.validate_text(text, name=str(path), engine="pyx12")
    assert from_text == ig.validate_file(path, engine="pyx12")
    assert ig.validate(path, engine="pyx12") == from_text
    assert ig.validate(text, name=str(path), engine="pyx12") == from_text
    assert ig.validate(text.encode(), name=str(path), engine="pyx12") == from_text


def test_segments_built_in_memory():
    from edi.reader import read_segments

    segments, _ = read_segments(BAD_837)
    findings = ig.validate_segments(segments, name="built.837")
    assert keys(findings) == [(20, "IG-ELE-7"), (21, "IG-SEG-3")]
    assert findings[0].location.path == "built.837"


def test_utf8_bom_crlf_and_leading_blank_lines_keep_line_numbers(tmp_path):
    text = BAD_837.read_text()
    path = tmp_path / "bom.837"
    path.write_bytes(b"\xef\xbb\xbf\r\n\r\n" + text.replace("\n", "\r\n").encode())
    findings = ig.validate_file(path, engine="pyx12")
    assert keys(findings) == [(20, "IG-ELE-7"), (21, "IG-SEG-3")]
    assert [f.location.line for f in findings] == [22, 23]
    assert keys(ig.validate_text("\ufeff" + text, engine="pyx12")) == keys(findings)


def test_one_line_file_reports_line_1_and_true_segment_numbers():
    findings = ig.validate_text(BAD_837.read_text().replace("\n", ""), engine="pyx12")
    assert keys(findings) == [(20, "IG-ELE-7"), (21, "IG-SEG-3")]
    assert {f.location.line for f in findings} == {1}


def test_newline_as_segment_terminator():
    text = SMALL_837.replace("~\n", "\n").replace("*:\n", "*:\n", 1)
    assert text.count("~") == 0
    assert ig.validate_text(text, engine="pyx12") == []


# --- envelopes and guides pyx12 cannot take -----------------------------------------------------------


def test_unknown_gs08_gives_one_clear_finding():
    text = SMALL_837.replace("005010X222A1", "005010X222A2")
    findings = ig.validate_text(text, name="a2.837", engine="pyx12")
    assert keys(findings) == [(2, "IG-NOMAP")]
    msg = findings[0].message
    assert "'005010X222A2'" in msg and "005010X222A1" in msg and findings[0].location.element == "GS08"


def test_bare_st_fragment_is_one_finding():
    body = SMALL_837.split("\n", 2)[2]  # drop ISA and GS
    findings = ig.validate_text(body, engine="pyx12")
    assert keys(findings) == [(1, "IG-NOISA")]


def test_isa_not_fixed_width_is_one_finding():
    text = SMALL_837.replace("*ZZ*SUBMITTER      *", "*ZZ*SUBMITTER*", 1)
    findings = ig.validate_text(text, engine="pyx12")
    assert keys(findings) == [(1, "IG-ISAFMT")]


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("   \n\n", "empty"),
    ("hello, this is not an EDI file\n", "not X12"),
    ("ISA*00*          *00*   ", "truncated ISA"),
    ("\x00\x01\x02binary" * 50, "binary"),
])
def test_input_that_is_not_x12_raises_edi_syntax_error(text, message):
    with pytest.raises(EdiSyntaxError, match=message):
        ig.validate_text(text, name="junk.txt", engine="pyx12")


def test_missing_file_raises_edi_error(tmp_path):
    with pytest.raises(EdiSyntaxError, match="cannot read"):
        ig.validate_file(tmp_path / "absent.837", engine="pyx12")


def test_unknown_engine_is_a_value_error():
    with pytest.raises(ValueError, match="engine"):
        ig.validate_text(SMALL_837, engine="turbo")  # type: ignore[arg-type]


def test_a_pyx12_crash_becomes_an_engine_finding(monkeypatch):
    import pyx12.map_if._segment as seg_module

    real = seg_module.apply_segment_errors

    def explode(node, seg, errh):
        if seg.get_seg_id() == "CLM":
            raise KeyError("boom")
        return real(node, seg, errh)

    monkeypatch.setattr(seg_module, "apply_segment_errors", explode)
    findings = ig.validate_text(SMALL_837, name="crash.837", engine="pyx12")
    assert keys(findings) == [(20, "IG-ENGINE")]
    assert "KeyError" in findings[0].message and "boom" not in findings[0].message


# --- PHI: values stay out of messages and logs --------------------------------------------------------


def test_values_are_masked_outside_code_lists():
    text = (SMALL_837.replace("DMG*D8*20050614*F", "DMG*D8*20051399*F")       # bad birth date
            .replace("N4*SPRINGFIELD*IL*627040001", "N4*SPRINGFIELD*QQ*627040001")  # bad state code
            .replace("NM1*IL*1*DOE*JANE****MI*MEMBER0001", "NM1*IL*1*DOE*JANE****MI*" + "M" * 81))
    findings = ig.validate_text(text, engine="pyx12")
    codes = {(f.location.element, f.code) for f in findings}
    assert {("DMG02", "IG-ELE-8"), ("N402", "IG-ELE-7"), ("NM109", "IG-ELE-5")} <= codes
    report = "\n".join(map(str, findings))
    for secret in ("20051399", "QQ", "M" * 81):
        assert secret not in report
    assert ig.MASK in report


@pytest.mark.parametrize("level, code, message, value, tag, expected", [
    ("ele", "7", "(1A) is not a valid code for Place of Service Code (CLM05-01)", "1A", "CLM",
     "(1A) is not a valid code for Place of Service Code (CLM05-01)"),
    ("ele", "7", "(XX) is not a valid code for State Code (N402)", "XX", "N4",
     "(<masked>) is not a valid code for State Code (N402)"),
    ("ele", "4", 'Data element "Name" (NM103) is too short: len("A") = 1 < 2 (min_len)', "A", "NM1",
     'Data element "Name" (NM103) is too short: length 1 < 2 (min_len)'),
    ("ele", "8", 'Data element "Date" (DMG02) contains an invalid date (19991399)', "19991399", "DMG",
     'Data element "Date" (DMG02) contains an invalid date (<masked>)'),
    ("ele", "7", 'Data element "Zip" with a value of (ABCDE) failed to match the regular expression "x"',
     "ABCDE", "N4", 'Data element "Zip" with a value of (<masked>) failed to match the regular expression "x"'),
    ("ele", "6", 'Data element "Name" (NM103), contains an invalid control character(<HT>)', "<HT>", "NM1",
     'Data element "Name" (NM103), contains an invalid control character(<HT>)'),
    ("seg", "1", "Segment NM1*QC not found.  Started at /ISA_LOOP/X", None, "NM1",
     "Segment NM1*QC not found. Started at /ISA_LOOP/X"),
    ("seg", "1", "Segment N3*12 ELM STREET not found.  Started at /ISA_LOOP/X", None, "N3",
     "Segment N3*<masked> not found. Started at /ISA_LOOP/X"),
    ("seg", "1", 'Segment identifier "JOHN SMITH" is invalid', None, None,
     'Segment identifier "<masked>" is invalid'),
    # values over lines: the expressions' `.` takes line breaks too (re.S)
    ("seg", "1", "Segment N3*12 ELM\nSTREET not found.  Started at /ISA_LOOP/X", None, "N3",
     "Segment N3*<masked> not found. Started at /ISA_LOOP/X"),
    ("seg", "8", 'Segment "N3*A\nB" is empty', None, "N3", 'Segment "N3" is empty'),
    ("seg", "HL1", "your HL count 1\n2", None, "HL", "your HL count <masked>"),
    ("ele", "4", 'x len("A\nB") = 3 < 2', "A\nB", "NM1", "x length 3 < 2"),
])
def test_safe_message(level, code, message, value, tag, expected):
    assert ig.safe_message(level, code, message, value, tag) == expected


def test_pyx12_logging_is_silenced_and_restored(caplog):
    pyx12_logger = logging.getLogger("pyx12")
    pyx12_logger.setLevel(logging.DEBUG)
    try:
        with caplog.at_level(logging.DEBUG):
            findings = ig.validate_file(BAD_837, engine="pyx12")
        assert findings
        assert not [r for r in caplog.records if r.name.startswith("pyx12")]
        assert pyx12_logger.level == logging.DEBUG  # restored
    finally:
        pyx12_logger.setLevel(logging.NOTSET)


def test_maps_are_loaded_once():
    assert ig.load_map("837.5010.X222.A1.xml") is ig.load_map("837.5010.X222.A1.xml")


# --- the public corpus ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CLEAN_835)
def test_clean_corpus_835_has_no_findings(name):
    assert ig.validate_file(corpus_file(name), engine="pyx12") == []


@pytest.mark.parametrize("name", ["lfh_837p_demo.cob.example3.B.837", "lfh_837p_demo.cob.example3.C.837",
                                  "lfh_837p_demo.example1.837"])
def test_corpus_837p_rewritten_to_a1_is_clean(name):
    assert ig.validate_text(as_a1(corpus_file(name)), name=name, engine="pyx12") == []


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_every_corpus_file_validates_without_crashing(path):
    findings = ig.validate_file(path, engine="pyx12", capped=False)
    assert all(FINDING_CODE.match(f.code) for f in findings)
    assert all(f.location.path == str(path) and f.location.segment for f in findings)
    assert "IG-ENGINE" not in {f.code for f in findings}
    issues = ig.issues_for_text(path.read_text(encoding="utf-8-sig"), engine="pyx12")
    for issue, finding in zip(issues, findings, strict=True):
        if issue.value and len(issue.value) > 3 and (issue.tag in ig.PHI_TAGS or issue.code != "7"):
            assert issue.value not in finding.message, finding


@pytest.mark.parametrize("path", [p for p in CORPUS_FILES if p.stat().st_size < 50_000], ids=lambda p: p.name)
def test_agrees_with_pyx12_x12n_document(path):
    """Our driver around pyx12's walker reports what pyx12.x12n_document's JSON report says, plus the
    segment errors x12n_document drops because they land on an ISA/GS/ST node (leading spaces)."""
    text = as_a1(path)
    ok, pairs = ig.pyx12_document_issues(text)
    findings = ig.validate_text(text, engine="pyx12", capped=False)  # every issue, as pyx12 reports them
    if pairs is None:  # x12n_document raised (no map for GS08): we give one IG-NOMAP instead
        assert [f.code for f in findings] == ["IG-NOMAP"]
        return
    ours = [(f.location.segment, f.code) for f in findings
            if f.code.startswith(("IG-SEG", "IG-ELE")) and f.location.tag not in ("ISA", "GS", "ST")]
    assert sorted(ours) == sorted(pairs)
    assert ok == (not findings)


_ISA1 = ("ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *230101*1200*^*00501*"
         "000000001*0*P*:~")
_BODY = ("GS*HP*SENDER*RECEIVER*20230101*1200*1*X*005010X221A1~ST*835*0001~BPR*I*10*C~NM1*QC*1*DOE*JOHN~"
         "SE*4*0001~GE*1*1~IEA*1*000000001~")


@pytest.mark.parametrize("engine", ig.ENGINES)
@pytest.mark.parametrize("terminator", ["~", "\n"])
def test_a_later_interchange_in_other_delimiters_stops_validation_there(engine, terminator):
    second = (_ISA1 + _BODY).replace("000000001", "000000002").replace("*", "|").replace(":~", ">~")
    text = _ISA1 + _BODY + second.replace("~", terminator)
    findings = ig.validate_text(text, name="two.835", engine=engine)
    alone = ig.validate_text(_ISA1 + _BODY, name="two.835", engine=engine)
    # the first interchange as on its own, then one finding at the second ISA (segment 9)
    assert keys(findings) == keys(alone) + [(9, "IG-ISAFMT")]
    assert findings[-1].location.tag == "ISA" and findings[-1].location.line == 1
    shown = " ".join(str(f) for f in findings)
    assert "DOE" not in shown and "JOHN" not in shown


def _two_interchanges(lead, suffix, gap, bom):
    """An interchange, then one in other delimiters: segments ended by `suffix` after the terminator,
    `gap` (and a BOM when `bom`) before the second ISA, `lead` before the first."""
    first = (_ISA1 + _BODY).replace("~", "~" + suffix)
    second = (_ISA1 + _BODY).replace("000000001", "000000002").replace("*", "|").replace(":~", ">~")
    return lead + first + gap + ("\ufeff" if bom else "") + second.replace("~", "~" + suffix)


@settings(max_examples=40, deadline=None)
@given(lead=st.sampled_from(["", "\n", "\n \r\n\t"]), suffix=st.sampled_from(["", "\n", "\r\n", "\r"]),
       gap=st.sampled_from(["", "\n", "\r\n\n  \n"]), bom=st.booleans())
def test_a_later_interchange_line_found_by_reading_again_as_by_counting(lead, suffix, gap, bom):
    # validate_text reads its text again to find the stop's line; validate_stream (read once)
    # counts every line as it reads: both give the line of the second ISA as a reader counts it
    text = _two_interchanges(lead, suffix, gap, bom)
    flat = text.replace("\r\n", "\n").replace("\r", "\n")  # the streams' universal newlines
    want = flat[:flat.index("ISA", flat.index("ISA") + 1)].count("\n") + 1
    again = ig.validate_text(text, name="two.835")
    counted = ig.validate_stream(io.StringIO(text, newline=None), name="two.835")
    assert keys(again) == keys(counted)
    assert [f.location.line for f in again] == [f.location.line for f in counted]
    assert again[-1].code == "IG-ISAFMT" and again[-1].location.line == want


def test_a_later_interchange_line_in_a_file_read_again(tmp_path):
    text = _two_interchanges("\n\n", "\r\n", "\n\n", True)
    path = tmp_path / "two.835"
    path.write_bytes(text.encode())
    found = ig.validate_file(path)
    assert found[-1].code == "IG-ISAFMT" and found[-1].location.line == 13  # 2 blank lines, 8 segments, 2 more


def test_the_stop_line_counted_alike_in_any_read_size():
    text = _two_interchanges("\n", "\n", "\n", False) * 3
    head, first_line = ig._prepare(io.StringIO(text), "x")
    want = ig._stop_line(lambda: io.StringIO(text))
    assert want == 11  # a blank line, 8 segments, a blank line
    for size in (1, 7, 106, 107, 300, 1 << 20):
        stream = io.StringIO(text)
        ig._prepare(stream, "x")
        source = ig._UntilNewDelimiters(ig._Chained(head, stream), ig.parse_isa_delimiters(head)[0], first_line)
        while source.read(size):
            pass
        assert source.stopped and source.stop_line == want, size


@pytest.mark.parametrize("engine", ig.ENGINES)
@pytest.mark.parametrize("suffix, gap", [("\n", "\n"), ("\r\n", "\r\n\n  \n"), ("", ""), ("\n", "")])
def test_a_later_interchange_line_in_a_stream_read_once_and_marked(monkeypatch, engine, suffix, gap):
    # a stream read once (the pipe's) is not read again: its lines are those the fast reader marks
    # at each read plus a count of what came after, or (pyx12, which does not mark) a count of the
    # chunks as they are pushed out; both the line a count of the whole text gives
    from edi import ig_fast

    monkeypatch.setattr(ig_fast, "READ_CHARS", 500)  # many reads (and marks) before the stop
    marks = []
    mark = ig._UntilNewDelimiters.mark
    monkeypatch.setattr(ig._UntilNewDelimiters, "mark", lambda self, *a: (marks.append(a), mark(self, *a)))
    one = _two_interchanges("\n", suffix, gap, False)
    cut = one.index("ISA", one.index("ISA") + 1)
    text = one[:cut] * 40 + one  # the first interchange 41 times (~14k characters), then the other delimiters
    want = text[:len(text) - len(one) + cut].count("\n") + 1
    stream = io.StringIO(text, newline="")  # (as the pipe's: line breaks as written)
    piped = ig._validate_stream(lambda: stream, "two.835", engine, reopens=False)
    assert piped[-1].code == "IG-ISAFMT" and piped[-1].location.line == want
    assert (len(marks) > 2) == (engine == "fast")
    assert [(f.code, f.location.line) for f in piped] == [
        (f.code, f.location.line) for f in ig._validate_stream(lambda: io.StringIO(text, newline=""), "two.835",
                                                               engine)]  # (read again for the stop's line)


_PIECES = ["ISA", "IS", "I", "SA", "A", "\ufeff", "\n", " ", "~", "*", "X", "GS*HP*S~", _ISA1,
           (_ISA1 + _BODY).replace("*", "|").replace(":~", ">~"), _BODY, "ISA|00|short~"]


def _read_all(text, sizes, fast):
    stream = io.StringIO(text)
    head, first_line = ig._prepare(stream, "x")
    source = ig._UntilNewDelimiters(ig._Chained(head, stream), ig.parse_isa_delimiters(head)[0], first_line,
                                    fast=fast)
    outs = []
    for size in sizes * 200:
        outs.append(source.read(size))
        if len(outs[-1]) < size:
            break
    return outs, source.stopped, source.stop_line


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(st.sampled_from(_PIECES), max_size=30),
       sizes=st.lists(st.integers(1, 300), min_size=1, max_size=5))
def test_reads_of_exact_chunks_as_the_read_ahead(pieces, sizes):
    # the fast path (a chunk without a later ISA handed out as read) against the general path
    text = _ISA1 + "".join(pieces)
    assert _read_all(text, sizes, True) == _read_all(text, sizes, False)


@pytest.mark.parametrize("gap", ["", "\n", "\ufeff", "\n\ufeff"])
def test_reads_of_exact_chunks_cut_around_a_later_isa(gap):
    first = _ISA1 + _BODY + gap
    text = first + (_ISA1 + _BODY).replace("*", "|").replace(":~", ">~")
    for cut in range(len(first) - 4, len(first) + 5):
        for sizes in ([cut, 1000], [cut, 50, 1000]):
            assert _read_all(text, sizes, True) == _read_all(text, sizes, False), (cut, sizes)
    assert _read_all(text, [len(first), 50, 1000], True)[1]  # stopped there


def test_a_chunk_without_isa_is_handed_out_as_read():
    text = _ISA1 + _BODY * 50
    stream = io.StringIO(text)
    source = ig._UntilNewDelimiters(stream, ig.parse_isa_delimiters(text)[0], 1)
    first, second = source.read(500), source.read(500)
    assert first + second == text[:1000]
    assert source._buf == ""  # nothing read ahead: the second chunk went the fast way


@pytest.mark.parametrize("engine", ig.ENGINES)
def test_a_bom_in_front_of_a_later_interchange_is_skipped(engine):
    second = (_ISA1 + _BODY).replace("000000001", "000000002")
    with_bom = ig.validate_text(_ISA1 + _BODY + "\n\ufeff" + second, engine=engine)
    without = ig.validate_text(_ISA1 + _BODY + "\n" + second, engine=engine)
    assert keys(with_bom) == keys(without)
    assert not {"IG-ENGINE", "IG-GS-6"} & {f.code for f in with_bom}


@pytest.mark.parametrize("engine", ig.ENGINES)
def test_a_segment_in_the_wrong_delimiters_is_not_quoted(engine):
    # the element separator is `*`: a line in `|` is one long "segment id" holding the name
    text = _ISA1 + _BODY.replace("NM1*QC*1*DOE*JOHN", "NM1|QC|1|DOE|JOHN")
    findings = ig.validate_text(text, engine=engine)
    assert any(f.location.segment == 5 for f in findings)
    shown = " ".join(str(f) + repr(f.to_dict()) for f in findings)
    assert "DOE" not in shown and "JOHN" not in shown
