"""X12Reader: delimiters, layouts, positions, streaming and unusable input."""
from __future__ import annotations

import io
import os
import textwrap
import time
import tracemalloc
from pathlib import Path
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import edi.reader as reader_module
from edi.errors import EdiError, EdiSyntaxError
from edi.reader import TransactionSet, X12Reader, iter_transactions, parse_isa_delimiters, read_segments
from edi.segment import Delimiters

ISA = "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *260101*1200*^*00501*000000001*0*T*:"


def interchange(control: int = 1, claims: int = 1, sets: int = 1) -> list[str]:
    """Segments (no terminators) of a valid 835 interchange written in `* : ^`."""
    segments = [ISA.replace("000000001", f"{control:09d}"),
                f"GS*HP*SENDER*RECEIVER*20260101*1200*{control}*X*005010X221A1"]
    for number in range(1, sets + 1):
        body = [f"ST*835*{number:04d}", "BPR*I*10*C*ACH*CCP*01*011000015*DA*123456789*1512345678**01*021000021"
                "*DA*987654321*20260101", "TRN*1*T1*1512345678", "N1*PR*PAYER", "N1*PE*CLINIC*XX*1234567893"]
        for claim in range(claims):
            body += [f"LX*{claim + 1}", f"CLP*C{claim}*1*33*10**12*ICN{claim}", "SVC*HC:99213:25*33*10**1",
                     "CAS*CO*45*13", "REF*6R*L1"]
        body.append(f"SE*{len(body) + 1}*{number:04d}")
        segments += body
    return segments + [f"GE*{sets}*{control}", f"IEA*1*{control:09d}"]


def render(segments: list[str], *, element: str = "*", component: str = ":", repetition: str = "^",
           terminator: str = "~", after: str = "\n", indent: str = "", lead: str = "") -> tuple[str, list[int]]:
    """The segments as a file in the given delimiters and layout, and the line each one starts on."""
    table = str.maketrans({"*": element, ":": component, "^": repetition})
    parts = [lead]
    line = 1 + lead.count("\n")
    lines = []
    for seg in segments:
        piece = indent + seg.translate(table) + terminator + after
        lines.append(line + indent.count("\n"))
        parts.append(piece)
        line += piece.count("\r") if terminator == "\r" else piece.count("\n")
    return "".join(parts), lines


def expected(segments: list[str]) -> list[tuple[str, tuple[str, ...]]]:
    return [(s.split("*")[0], tuple(s.split("*")[1:])) for s in segments]


def read(text: str, name: str = "t.x12") -> tuple[list, list]:
    reader = X12Reader.from_text(text, name)
    segments = list(reader)
    return segments, reader.findings


def normalized(segments) -> list[tuple[str, tuple[str, ...]]]:
    """(tag, elements) in standard `:` composites and `^` repetitions, whatever the file used."""
    out = []
    for seg in segments:
        d = seg.delimiters
        table = {ord(d.component): ":"}
        if d.repetition:
            table[ord(d.repetition)] = "^"
        elements = seg.elements if seg.tag == "ISA" else tuple(e.translate(table) for e in seg.elements)
        if seg.tag == "ISA":
            elements = elements[:10] + ("^" if d.repetition else elements[10],) + elements[11:15] + (":",)
        out.append((seg.tag, elements))
    return out


def snapshot(segments) -> list[tuple]:
    return [(s.tag, s.elements, s.index, s.line, s.delimiters) for s in segments]


LAYOUTS = {
    "tilde, one line": dict(after=""),
    "tilde + LF": dict(),
    "tilde + CRLF": dict(after="\r\n"),
    "LF terminator": dict(terminator="\n", after=""),
    "CRLF terminator": dict(terminator="\r\n", after=""),
    "CR terminator": dict(terminator="\r", after=""),
    "indented, blank lines": dict(after="\n\n", indent="    "),
    "leading blank lines": dict(lead="\n \r\n\t\n"),
    "LF terminator, blank lines, indent": dict(terminator="\n", after="\n", indent="  ", lead="\n"),
    "tilde + CRLF, indented, BOM": dict(after="\r\n", indent="\t", lead="\ufeff"),
}


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
@pytest.mark.parametrize("chunk", [None, 1, 7, 64])
def test_each_layout_reads_the_same_segments_with_their_numbers_and_lines(layout, chunk, monkeypatch):
    if chunk:
        monkeypatch.setattr(reader_module, "CHUNK_CHARS", chunk)
    segments = interchange(claims=2)
    text, lines = render(segments, **layout)
    got, findings = read(text)
    assert findings == []
    assert [(s.tag, s.elements) for s in got] == expected(segments)
    assert [s.index for s in got] == list(range(1, len(segments) + 1))
    assert [s.line for s in got] == lines


def test_segment_numbers_and_lines_run_on_across_interchanges():
    first, first_lines = render(interchange(1))
    second, _ = render(interchange(2), after="")
    got, findings = read(first + second)
    assert findings == []
    n = len(interchange(1))
    assert [s.index for s in got] == list(range(1, 2 * n + 1))
    assert [s.line for s in got] == first_lines + [n + 1] * n  # the second interchange is on one line
    assert got[n].tag == "ISA" and got[n].get(13) == "000000002"


DELIMITER_SETS = {
    "standard": dict(),
    "pipe, gt, bang, LF": dict(element="|", component=">", repetition="!", terminator="\n", after=""),
    "caret element": dict(element="^", component="\\", repetition="{", terminator="'", after="\r\n"),
    "control characters": dict(element="\x1d", component="\x1f", repetition="\x1e", terminator="\x1c", after=""),
    "tab element": dict(element="\t", component=">", repetition="!", terminator="~"),
}


@pytest.mark.parametrize("delims", DELIMITER_SETS.values(), ids=DELIMITER_SETS.keys())
def test_delimiters_come_from_the_isa(delims):
    segments = interchange()
    text, lines = render(segments, **delims)
    reader = X12Reader.from_text(text)
    got = list(reader)
    assert reader.findings == []
    terminator = {"\r\n": "\n"}.get(delims.get("terminator", "~"), delims.get("terminator", "~"))
    assert reader.delimiters == Delimiters(delims.get("element", "*"), delims.get("component", ":"),
                                           delims.get("repetition", "^"), terminator, "")
    assert normalized(got) == expected(segments)
    assert [s.line for s in got] == lines
    svc = next(s for s in got if s.tag == "SVC")
    assert svc.composite(1) == ["HC", "99213", "25"] and svc.component(1, 2) == "99213"


def test_control_character_delimiters_are_not_taken_for_binary_or_stripped():
    # \x1c-\x1f count as whitespace for str.strip(); stripping them would eat separators
    segments = interchange()
    segments[1] = segments[1] + "*:"  # an empty composite at the end of GS: ends with the component separator
    text, _ = render(segments, element="\x1d", component="\x1f", repetition="\x1e", terminator="\x1c", after="")
    got, _ = read(text)
    assert got[0].get(16) == "\x1f"
    assert got[1].elements[-1] == "\x1f"


def test_version_4010_has_no_repetition_separator():
    segments = interchange()
    segments[0] = segments[0].replace("*^*00501*", "*U*00401*")
    reader = X12Reader.from_text(render(segments)[0])
    got = list(reader)
    assert reader.delimiters.repetition is None and got[0].get(11) == "U"
    assert got[2].delimiters.repetition is None


def test_unpadded_isa_is_read_and_reported():
    segments = interchange()
    segments[0] = "ISA*00**00**ZZ*SENDER*ZZ*RECEIVER*260101*1200*^*00501*000000001*0*T*:"
    got, findings = read(render(segments)[0])
    assert [(f.code, f.location.segment, f.location.line) for f in findings] == [("ENV001", 1, 1)]
    assert expected(segments) == [(s.tag, s.elements) for s in got]


def test_bom_in_front_of_a_later_interchange_is_layout():
    # `cat a.835 b.835` of two files saved with a BOM
    one, _ = render(interchange(1), after="\r\n")
    two, _ = render(interchange(2), after="\r\n")
    got, findings = read("\ufeff" + one + "\ufeff" + two)
    assert findings == []
    assert [s.tag for s in got].count("ISA") == 2
    assert expected(interchange(1) + interchange(2)) == [(s.tag, s.elements) for s in got]


def test_wrapped_fixed_length_lines_are_joined():
    segments = interchange(claims=3)
    flat, _ = render(segments, after="")
    wrapped = "\n".join(flat[i:i + 80] for i in range(0, len(flat), 80)) + "\n"
    got, findings = read(wrapped)
    assert findings == []
    assert [(s.tag, s.elements) for s in got] == expected(segments)
    # each segment's line is the one its first character is on
    starts = [0]
    for seg in segments[:-1]:
        starts.append(starts[-1] + len(seg) + 1)
    assert [s.line for s in got] == [start // 80 + 1 for start in starts]


def test_nul_and_ctrl_z_padding_at_the_end_is_layout():
    text, _ = render(interchange())
    got, findings = read(text + "\x1a")
    assert findings == [] and got[-1].tag == "IEA"
    got, findings = read(text + "\x00" * 600)
    assert findings == [] and got[-1].tag == "IEA"


# --- several interchanges with different delimiters --------------------------------------------

STYLES = [
    dict(),
    dict(element="|", component=">", repetition="!", terminator="\n", after=""),
    dict(after="\r\n", indent="  "),
    dict(element="*", component=">", repetition="!", terminator="\n", after=""),  # same element, other terminator
    dict(element="!", component="<", repetition="{", terminator="~", after=""),  # other element, same terminator
    dict(terminator="\r\n", after="", lead="\ufeff"),
]


@pytest.mark.parametrize("chunk", [None, 1, 7, 64])
def test_interchanges_with_different_delimiters_in_one_file(chunk, monkeypatch):
    if chunk:
        monkeypatch.setattr(reader_module, "CHUNK_CHARS", chunk)
    text, all_segments, all_lines, offset = "", [], [], 0
    for n, style in enumerate(STYLES, 1):
        segments = interchange(n)
        part, lines = render(segments, **style)
        text += part
        all_segments += segments
        all_lines += [line + offset for line in lines]
        offset += part.count("\n")
    reader = X12Reader.from_text(text)
    got = list(reader)
    assert reader.findings == []
    assert normalized(got) == expected(all_segments)
    assert [s.index for s in got] == list(range(1, len(all_segments) + 1))
    assert [s.line for s in got] == all_lines
    isas = [s for s in got if s.tag == "ISA"]
    assert [s.delimiters.element for s in isas] == ["*", "|", "*", "*", "!", "*"]
    assert [s.delimiters.segment for s in isas] == ["~", "\n", "~", "\n", "~", "\n"]
    assert reader.delimiters == isas[-1].delimiters


def test_new_delimiters_without_an_iea_before_them():
    first = interchange(1)[:-1]  # no IEA
    text = render(first)[0] + render(interchange(2), element="|", component=">", terminator="\n", after="")[0]
    got, findings = read(text)
    assert normalized(got) == expected(first + interchange(2))
    assert [(f.code, f.location.segment) for f in findings] == [("ENV008", len(first) + 1)]


def test_last_interchange_with_other_delimiters_and_no_final_terminator_is_reported_once(monkeypatch):
    monkeypatch.setattr(reader_module, "CHUNK_CHARS", 7)
    second, lines = render(interchange(2), element="|", component=">", terminator="!", after="\n")
    text = render(interchange(1))[0] + second.rstrip("!\n")
    got, findings = read(text)
    n = len(interchange(1))
    assert [(f.code, f.location.segment, f.location.line, f.location.tag) for f in findings] == [
        ("ENV012", 2 * n, n + lines[-1], "IEA")]
    assert normalized(got) == expected(interchange(1) + interchange(2))


# --- streaming -------------------------------------------------------------------------------


def big_file(path: Path, megabytes: float) -> int:
    """A file of interchanges in varied delimiters and layouts; returns its segment count."""
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        n = 0
        while out.tell() < megabytes * 1_000_000:
            n += 1
            segments = interchange(n, claims=40, sets=2)
            out.write(render(segments, **STYLES[n % len(STYLES)])[0])
            count += len(segments)
    return count


@pytest.mark.parametrize("chunk", [7, 64])
def test_small_chunks_read_a_multi_megabyte_file_exactly_like_one_big_read(tmp_path, chunk, monkeypatch):
    path = tmp_path / "big.x12"
    count = big_file(path, 2)
    monkeypatch.setattr(reader_module, "CHUNK_CHARS", 1 << 30)
    whole = X12Reader.open(path)
    at_once = snapshot(whole)
    monkeypatch.setattr(reader_module, "CHUNK_CHARS", chunk)
    streamed = X12Reader.open(path)
    assert snapshot(streamed) == at_once
    assert len(at_once) == count
    assert streamed.findings == whole.findings == []


def test_memory_stays_constant_while_streaming(tmp_path, monkeypatch):
    path = tmp_path / "big.x12"
    big_file(path, 1.5)
    monkeypatch.setattr(reader_module, "CHUNK_CHARS", 1 << 14)
    tracemalloc.start()
    try:
        count = sum(1 for _ in X12Reader.open(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count > 40_000
    # about 16 x CHUNK_CHARS (the chunk, its pieces, the decoder's buffer), whatever the file size
    assert peak < path.stat().st_size / 4, f"peak {peak} bytes reading a {path.stat().st_size} byte file"


def test_the_hot_path_does_no_per_segment_checks_or_regexes(monkeypatch):
    # body segments inside ST..SE take the fast path: no _check call, no regex, once their tag is known
    calls = {"check": 0, "regex": 0}
    real_check, real_tag = X12Reader._check, reader_module._TAG

    def counting_check(self, seg, valid=True):
        calls["check"] += 1
        return real_check(self, seg, valid)

    class CountingTag:
        def match(self, text):
            calls["regex"] += 1
            return real_tag.match(text)

    monkeypatch.setattr(X12Reader, "_check", counting_check)
    monkeypatch.setattr(reader_module, "_TAG", CountingTag())
    segments = interchange(1, claims=500, sets=2) + interchange(2, claims=500)
    got, findings = read(render(segments)[0])
    assert len(got) == len(segments) > 7000 and findings == []
    distinct = len({s.split("*")[0] for s in segments})
    assert calls["regex"] <= distinct
    assert calls["check"] <= 2 * 6 + 2 * distinct  # envelope segments and each tag's first sighting


def test_a_long_unterminated_tail_is_read_in_linear_time(monkeypatch):
    # re-splitting the growing carry at every chunk would take minutes here
    monkeypatch.setattr(reader_module, "CHUNK_CHARS", 64)
    monkeypatch.setattr(reader_module, "MAX_SEGMENT_CHARS", 4_000_000)  # below it: read to the end
    text = render(interchange())[0] + "NTE*" + "A" * 2_000_000
    start = time.perf_counter()
    got, findings = read(text)
    assert time.perf_counter() - start < 10
    assert got[-1].tag == "IEA"
    assert [f.code for f in findings] == ["ENV009", "ENV012"]


def test_a_segment_longer_than_the_limit_is_refused_naming_it(monkeypatch):
    monkeypatch.setattr(reader_module, "CHUNK_CHARS", 4096)
    monkeypatch.setattr(reader_module, "MAX_SEGMENT_CHARS", 100_000)
    head = render(interchange())[0]
    text = head[:head.index("IEA")] + "NTE*" + "A" * 200_000 + "~IEA*1*000000001~"
    with pytest.raises(EdiSyntaxError, match="no segment terminator") as caught:
        read(text)
    assert caught.value.segment is not None


def test_the_first_chunk_may_end_inside_the_leading_blank_lines_or_the_isa(monkeypatch):
    # regression: "  \n IS" + "A*00..." was "not X12", and "ISA" alone an IndexError
    monkeypatch.setattr(reader_module, "CHUNK_CHARS", 3)
    segments = interchange()
    got, findings = read(render(segments, lead="  \n ")[0])
    assert findings == [] and [(s.tag, s.elements) for s in got] == expected(segments)
    assert got[0].line == 2


# --- bare ST..SE fragments --------------------------------------------------------------------

FRAGMENT = textwrap.dedent("""\
    ST*835*1234~
    BPR*I*10*C*CHK************20110108~
    TRN*1*12345*1512345678~
    N1*PR*PAYER~
    CLP*C1*1*33*10**12*ICN1~
    SVC*HC>99213>25*33*10**1~
    CAS*CO*45*13~
    SE*8*1234~
""")


@pytest.mark.parametrize("chunk", [None, 2, 7])
def test_a_bare_fragment_is_read_with_inferred_delimiters(chunk, monkeypatch):
    # regression: with a small first chunk the terminator was not found ("not X12")
    if chunk:
        monkeypatch.setattr(reader_module, "CHUNK_CHARS", chunk)
    reader = X12Reader.from_text(FRAGMENT, "frag.835")
    got = list(reader)
    assert reader.fragment
    assert reader.delimiters == Delimiters("*", ">", "^", "~", "")
    assert [(f.code, f.severity.value, f.location.segment, f.location.line) for f in reader.findings] == [
        ("ENV011", "warning", 1, 1)]
    assert [s.tag for s in got] == ["ST", "BPR", "TRN", "N1", "CLP", "SVC", "CAS", "SE"]
    assert [s.line for s in got] == list(range(1, 9))
    assert got[5].composite(1) == ["HC", "99213", "25"]
    (ts,) = list(iter_transactions(X12Reader.from_text(FRAGMENT)))
    assert ts.isa is None and ts.gs is None and ts.code == "835"


def test_a_fragment_with_line_break_terminators():
    text = FRAGMENT.replace("~\n", "\r\n")
    reader = X12Reader.from_text(text)
    got = list(reader)
    assert reader.delimiters.segment == "\n"
    assert [s.tag for s in got][-1] == "SE" and [f.code for f in reader.findings] == ["ENV011"]


def test_a_fragment_in_control_character_delimiters():
    # regression: the composite hint skipped \x1f (a regex \s character), so SVC01 stayed whole
    text = FRAGMENT.replace("*", "\x1d").replace(">", "\x1f").replace("~\n", "\x1c")
    reader = X12Reader.from_text(text)
    got = list(reader)
    assert reader.delimiters == Delimiters("\x1d", "\x1f", "^", "\x1c", "")
    assert got[5].composite(1) == ["HC", "99213", "25"]


def test_corpus_fragment_without_envelope(corpus_dir):
    reader = X12Reader.open(corpus_dir / "835" / "e835_blue_cross_nc_sample.txt")
    got = list(reader)
    assert reader.fragment and got[0].tag == "ST" and got[-1].tag == "SE" and len(got) == 32
    assert {f.code for f in reader.findings} <= {"ENV011", "ENV006"}
    assert all(s.index == n for n, s in enumerate(got, 1))


# --- transactions ------------------------------------------------------------------------------


def test_iter_transactions_groups_several_gs_and_st_lazily():
    one = interchange(1, sets=2)
    two = interchange(2, sets=1)
    # a second group in the first interchange
    text = render(one[:-1] + ["GS*HC*SENDER*RECEIVER*20260101*1200*7*X*005010X222A1", "ST*837*0009*005010X222A1",
                              "BHT*0019*00*X*20260101*1200*CH", "SE*3*0009", "GE*1*7", "IEA*2*000000001"])[0]
    text += render(two)[0]
    reader = X12Reader.from_text(text)
    sets = []
    for ts in iter_transactions(reader):
        assert isinstance(ts, TransactionSet)
        first = next(ts.segments)  # read only the ST; the rest is drained for us
        sets.append((ts.code, ts.version, ts.st.get(2), ts.gs.get(6), ts.isa.get(13), first.tag))
    assert sets == [
        ("835", "005010X221A1", "0001", "1", "000000001", "ST"),
        ("835", "005010X221A1", "0002", "1", "000000001", "ST"),
        ("837", "005010X222A1", "0009", "7", "000000001", "ST"),
        ("835", "005010X221A1", "0001", "2", "000000002", "ST"),
    ]
    assert reader.findings == []


def test_transaction_segments_run_from_st_to_se():
    segments = interchange(claims=2)
    (ts,) = list(iter_transactions(X12Reader.from_text(render(segments)[0])))
    # segments of an already-yielded set were drained; read a fresh one
    ts = next(iter_transactions(X12Reader.from_text(render(segments)[0])))
    tags = [s.tag for s in ts.segments]
    assert tags[0] == "ST" and tags[-1] == "SE" and len(tags) == len(segments) - 4


def test_stray_st_after_ge_has_no_group():
    segments = interchange()
    segments.insert(-1, "ST*835*0002")
    segments.insert(-1, "SE*2*0002")
    sets = [(ts.st.get(2), ts.gs) for ts in iter_transactions(X12Reader.from_text(render(segments)[0]))]
    assert sets[0][1] is not None and sets[1] == ("0002", None)


# --- API ---------------------------------------------------------------------------------------


def test_open_from_text_and_from_binary_agree(tmp_path):
    text, _ = render(interchange(), after="\r\n", lead="\ufeff")
    path = tmp_path / "a.835"
    path.write_bytes(text.encode())
    by_path = snapshot(X12Reader.open(path))
    assert by_path == snapshot(X12Reader.from_text(text))
    assert by_path == snapshot(X12Reader.from_binary(io.BytesIO(text.encode()), "a.835"))
    segments, findings = read_segments(path)
    assert snapshot(segments) == by_path and findings == []


def test_non_utf8_bytes_survive_for_a_byte_exact_round_trip(tmp_path):
    text, _ = render(interchange())
    raw = text.encode().replace(b"N1*PR*PAYER", b"N1*PR*PAY\xe9R")  # Latin-1 e-acute
    path = tmp_path / "latin1.835"
    path.write_bytes(raw)
    got = list(X12Reader.open(path))
    n1 = next(s for s in got if s.tag == "N1")
    assert n1.get(2).encode("utf-8", "surrogateescape") == b"PAY\xe9R"


def test_a_reader_iterates_once_and_closes_its_file(tmp_path):
    path = tmp_path / "a.835"
    path.write_text(render(interchange())[0])
    reader = X12Reader.open(path)
    list(reader)
    assert reader._stream.closed
    with pytest.raises(RuntimeError):
        list(reader)
    with X12Reader.open(path) as unread:
        pass
    assert unread._stream.closed


def test_parse_isa_delimiters_needs_the_whole_isa():
    text = render(interchange())[0]
    assert parse_isa_delimiters(text[:50]) is None
    assert parse_isa_delimiters(text[:105]) is None  # the terminator is not there yet
    delims, end, fixed = parse_isa_delimiters(text)
    assert (delims, end, fixed) == (Delimiters("*", ":", "^", "~", ""), 106, True)
    assert parse_isa_delimiters(text.replace("~\n", "~\r\n", 1))[1] == 106  # CRLF after ~ is layout
    crlf_terminator = text.replace("~\n", "\r\n", 1)
    assert parse_isa_delimiters(crlf_terminator)[:2] == (Delimiters("*", ":", "^", "\n", ""), 107)
    cr_only = text[:105] + "\r"
    assert parse_isa_delimiters(cr_only) is None
    assert parse_isa_delimiters(cr_only, final=True)[0].segment == "\r"
    with pytest.raises(ValueError):
        parse_isa_delimiters("ISA*00" + " " * 2000)  # no 16 separators within ISA_MAX_CHARS


# --- unusable input ----------------------------------------------------------------------------

UNUSABLE = {
    "empty": (b"", "empty file"),
    "whitespace only": (b"  \r\n\t\n   \n", "empty file"),
    "BOM only": (b"\xef\xbb\xbf\n", "empty file"),
    "binary": (bytes(range(256)) * 8, "binary"),
    "PNG": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "binary"),
    "UTF-16": ("\ufeffISA*00*".encode("utf-16-le"), "UTF-16"),
    "CSV": (b"claim,charge\nC1,33\n", "not X12"),
    "truncated ISA": (b"ISA*00*          *00*          *ZZ*SENDER", "truncated ISA"),
    "ISA only 3 characters": (b"ISA", "truncated ISA"),
    "ISA without terminator": (render(["ISA" + ISA[3:]], terminator="", after="")[0].encode(), "truncated ISA"),
    "letter as separator": (b"ISAX00X" + b"X" * 200, "unusable ISA"),
    "space as separator": (b"ISA 00 " + b" " * 200, "unusable ISA"),
    "component equals element": (ISA[:-1].encode() + b"*~GS*HP~", "unusable ISA"),
    "terminator is a letter": (ISA.encode() + b"GS*HP*X~", "unusable ISA"),
    "no 16 separators": (b"ISA*00*" + b"A" * 3000, "unusable ISA"),
    "fragment without terminator": (b"ST*835", "not X12"),
}


@pytest.mark.parametrize("content, message", UNUSABLE.values(), ids=UNUSABLE.keys())
def test_unusable_files_raise_one_clear_syntax_error_naming_the_file(tmp_path, content, message):
    path = tmp_path / "input.835"
    path.write_bytes(content)
    with pytest.raises(EdiSyntaxError) as info:
        list(X12Reader.open(path))
    assert message in str(info.value)
    assert str(path) in str(info.value) and info.value.path == str(path)


def test_a_directory_is_unusable(tmp_path):
    with pytest.raises(EdiSyntaxError, match="directory") as info:
        list(X12Reader.open(tmp_path))
    assert str(tmp_path) in str(info.value)
    with pytest.raises(EdiSyntaxError, match="no such file"):
        X12Reader.open(tmp_path / "missing.835")
    with pytest.raises(EdiSyntaxError):
        read_segments(tmp_path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_unusable(tmp_path):
    path = tmp_path / "locked.835"
    path.write_text(render(interchange())[0])
    path.chmod(0)
    with pytest.raises(EdiSyntaxError, match="cannot read") as info:
        list(X12Reader.open(path))
    assert str(path) in str(info.value)


class _FailingRaw(io.RawIOBase):
    def __init__(self, good: bytes, fail_after: int) -> None:
        self._data = io.BytesIO(good)
        self._left = fail_after

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._left <= 0:
            raise OSError(5, "Input/output error")
        n = self._data.readinto(memoryview(buffer)[: min(len(buffer), self._left)])
        self._left -= n
        return n


@pytest.mark.parametrize("fail_after", [0, 200])
def test_a_read_error_is_a_syntax_error_naming_the_file(fail_after, monkeypatch):
    monkeypatch.setattr(reader_module, "CHUNK_CHARS", 64)
    raw = io.BufferedReader(_FailingRaw(render(interchange())[0].encode(), fail_after), buffer_size=16)
    with pytest.raises(EdiSyntaxError, match="Input/output error") as info:
        list(X12Reader.from_binary(raw, "mounted/era.835"))
    assert "mounted/era.835" in str(info.value)


def test_syntax_errors_are_edi_errors():
    assert issubclass(EdiSyntaxError, EdiError)
    with pytest.raises(EdiError):
        list(X12Reader.from_text("hello"))


# --- crashers and fuzzing: bad input raises EdiError or reads, never anything else ---------------

CRASHERS = sorted((Path(__file__).parent / "crashers").glob("*.x12"))


def outcome(read_it) -> tuple:
    """What reading gives: the segments and findings, or the EdiError message. Any other
    exception propagates and fails the test."""
    try:
        reader = read_it()
        segments = snapshot(reader)
    except EdiError as exc:
        return ("error", type(exc).__name__, str(exc))
    indices = [s[2] for s in segments]
    assert indices == sorted(set(indices)) and all(i >= 1 for i in indices)
    lines = [s[3] for s in segments]
    assert lines == sorted(lines) and all(line >= 1 for line in lines)
    for finding in reader.findings:
        assert finding.code.startswith("ENV") and len(finding.code) == 6 and str(finding)
    return ("read", segments, [f.to_dict() for f in reader.findings])


ENVELOPE_TAGS = {"ISA", "IEA", "GS", "GE", "ST", "SE"}


def assert_a_body_tag_filter_only_drops_segments(read_it, wanted=frozenset({"CLP"})) -> None:
    """A reader with `body_tags` set (the ERA pre-scan) gives the same findings or error, every
    envelope and wanted segment, and nothing that a full read does not give."""
    full = outcome(read_it)

    def filtered():
        reader = read_it()
        reader.body_tags = wanted
        return reader

    part = outcome(filtered)
    if full[0] == "error":
        assert part == full
        return
    assert part[2] == full[2]
    kept = ENVELOPE_TAGS | wanted
    assert [s for s in part[1] if s[0] in kept] == [s for s in full[1] if s[0] in kept]
    assert set(part[1]) <= set(full[1])


def test_the_crashers_folder_is_there():
    assert len(CRASHERS) >= 50


@pytest.mark.parametrize("path", CRASHERS, ids=lambda p: p.name)
def test_crashers_read_or_raise_an_edi_error_the_same_way_at_any_chunk_size(path, monkeypatch):
    reference = outcome(lambda: X12Reader.open(path))
    if reference[0] == "error":
        assert reference[1] == "EdiSyntaxError" and str(path) in reference[2]
    for chunk in (1, 7, 64):
        monkeypatch.setattr(reader_module, "CHUNK_CHARS", chunk)
        assert outcome(lambda: X12Reader.open(path)) == reference
        assert_a_body_tag_filter_only_drops_segments(lambda: X12Reader.open(path))


FUZZ_BASES = [
    render(interchange(1, claims=2, sets=2))[0],
    render(interchange(1), after="\r\n", indent="  ", lead="\ufeff")[0],
    render(interchange(1), element="|", component=">", repetition="!", terminator="\n", after="")[0],
    render(interchange(1), after="")[0] + render(interchange(2), element="!", component="<", terminator="\n",
                                                 after="")[0],
    FRAGMENT,
]
FUZZ_ALPHABET = list("*:^~|>!\n\r \t ISAGESTIEA019") + ["\ufeff", "\x00", "\x1a", "\x1c", "\x1d", "\udcff", "ISA*"]


@given(data=st.data())
@settings(max_examples=int(os.environ.get("EDI_FUZZ_EXAMPLES", "400")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
def test_mutated_and_truncated_interchanges_read_or_raise_edi_error_only(data):
    text = data.draw(st.sampled_from(FUZZ_BASES), label="base")
    edits = data.draw(st.lists(st.tuples(st.sampled_from("idr"), st.integers(0, 1 << 16),
                                         st.sampled_from(FUZZ_ALPHABET)), max_size=6), label="edits")
    for op, pos, char in edits:
        pos %= len(text) + 1
        if op == "i":
            text = text[:pos] + char + text[pos:]
        elif op == "d":
            text = text[:pos] + text[pos + 1:]
        else:
            text = text[:pos] + char + text[pos + 1:]
    if data.draw(st.booleans(), label="truncate"):
        text = text[:data.draw(st.integers(0, len(text)), label="cut")]
    reference = outcome(lambda: X12Reader.from_text(text, "fuzz.x12"))
    chunk = data.draw(st.sampled_from([1, 2, 3, 7, 64]), label="chunk")
    with patch.object(reader_module, "CHUNK_CHARS", chunk):
        assert outcome(lambda: X12Reader.from_text(text, "fuzz.x12")) == reference
        assert_a_body_tag_filter_only_drops_segments(lambda: X12Reader.from_text(text, "fuzz.x12"))


FUZZ_TOKENS = [ISA + "~", ISA.replace("*", "|") + "\n", ISA[:40], ISA + "\r\n", "ISA", "ISA*", "GS*HP*S*R*1*1*1*X*V",
               "ST*835*0001", "ST*", "SE*2*0001", "GE*1*1", "IEA*1*000000001", "CLP*C1*1*33*10", "SVC*HC:1*2",
               "*", "|", ":", ">", "^", "~", "\n", "\r", "\r\n", " ", "\ufeff", "\x00", "\x1a", "junk", "\udcff"]


@given(tokens=st.lists(st.sampled_from(FUZZ_TOKENS), max_size=30), chunk=st.sampled_from([1, 2, 5, 64]))
@settings(max_examples=int(os.environ.get("EDI_FUZZ_EXAMPLES", "400")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
def test_any_sequence_of_x12_shaped_tokens_reads_or_raises_edi_error_only(tokens, chunk):
    text = "".join(tokens)
    reference = outcome(lambda: X12Reader.from_text(text, "fuzz.x12"))
    with patch.object(reader_module, "CHUNK_CHARS", chunk):
        assert outcome(lambda: X12Reader.from_text(text, "fuzz.x12")) == reference


def test_a_body_tag_filter_on_real_remittances(corpus_dir, samples_dir):
    paths = sorted((corpus_dir / "835").glob("*")) + sorted((samples_dir / "era").glob("*.835"))
    paths += [samples_dir / "cob" / "era.835"]
    for path in paths:
        assert_a_body_tag_filter_only_drops_segments(lambda: X12Reader.open(path))
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        cut = text[: len(text) * 3 // 5]  # a truncated file names its last segment in ENV008
        assert_a_body_tag_filter_only_drops_segments(lambda: X12Reader.from_text(cut, "cut.835"))


def test_a_fresh_envelope_is_closed_with_nothing_counted():
    # _Envelope is a plain class (a dataclass costs every process importing the reader ~4M to make):
    # every slot starts set, as the dataclass's defaults set them
    from edi.reader import _Envelope

    env = _Envelope()
    assert {name: getattr(env, name) for name in _Envelope.__slots__} == {
        "isa": None, "gs": None, "st": None, "groups": 0, "sets": 0, "seg_count": 0, "loop_start": 0,
        "closed_interchange": False, "junk_reported": False, "outside_reported": False}
