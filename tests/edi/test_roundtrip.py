"""Round trips: read every corpus and sample file, write it, read it again: the same segments.

Whatever the file's delimiters, BOM, CRLF or indentation: written in standard delimiters, in the
file's own delimiters, and re-delimited into others and back.
"""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from edi.reader import X12Reader
from edi.segment import STANDARD, Delimiters, Segment
from edi.writer import DelimiterCollisionError, serialize

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"
SAMPLES = REPO / "samples"
CORPUS_FILES = sorted(str(p.relative_to(CORPUS)) for p in CORPUS.glob("*/*") if p.is_file()) \
    if CORPUS.is_dir() else []
SAMPLE_FILES = sorted({str(p.relative_to(SAMPLES)) for ext in ("*.835", "*.837") for p in SAMPLES.rglob(ext)})

TARGETS = {
    "standard": STANDARD,
    "pipe gt bang, LF terminator": Delimiters("|", ">", "!", "\n", ""),
    "bang backslash brace, quote + CRLF": Delimiters("!", "\\", "{", "'", "\r\n"),
    "control characters": Delimiters("\x1d", "\x1f", "\x1e", "\x1c", ""),
    "tilde, no line breaks": Delimiters("*", ":", "^", "~", ""),
}


def canonical(seg: Segment) -> tuple:
    """Tag and elements with composites and repetitions split, so any delimiters compare equal;
    ISA11 (when a separator) and ISA16 are the delimiters themselves."""
    d = seg.delimiters
    if seg.tag == "ISA":
        elements = list(seg.elements)
        if d.repetition is not None and len(elements) > 10:
            elements[10] = "<repetition>"
        if len(elements) > 15:
            elements[15] = "<component>"
        return ("ISA", tuple(elements))
    return (seg.tag, tuple(
        tuple(tuple(r.split(d.component)) for r in (e.split(d.repetition) if d.repetition else [e]))
        for e in seg.elements))


def read(source: str | Path, name: str = "x") -> tuple[list[Segment], list]:
    reader = X12Reader.open(source) if isinstance(source, Path) else X12Reader.from_text(source, name)
    segments = list(reader)
    return segments, reader.findings


def write(segments: list[Segment], delimiters: Delimiters | None = None) -> str:
    """The segments as text, each in `delimiters` or (None) in the delimiters it was read with."""
    out = io.StringIO()
    for seg in segments:
        out.write(serialize(seg, delimiters or Delimiters(*_four(seg.delimiters), suffix="\n")))
    return out.getvalue()


def _four(d: Delimiters) -> tuple:
    return d.element, d.component, d.repetition, d.segment


def raw(segments: list[Segment]) -> list[tuple[str, tuple[str, ...]]]:
    return [(s.tag, s.elements) for s in segments]


def where(findings: list) -> list[tuple]:
    """Findings by code and position; a round trip may only drop the missing-terminator warning."""
    return [(f.code, f.location.segment, f.location.element) for f in findings if f.code != "ENV012"]


def holds_any(segments: list[Segment], target: Delimiters) -> bool:
    """Whether some value holds a target delimiter that is not a separator of its own file."""
    for seg in segments:
        own = set(_four(seg.delimiters))
        chars = {c for c in _four(target) if c and c not in own}
        if seg.tag != "ISA" and any(c in e for e in seg.elements for c in chars):
            return True
    return False


def source_files() -> list:
    return [pytest.param(("corpus", name), id=f"corpus/{name}") for name in CORPUS_FILES] + \
        [pytest.param(("samples", name), id=f"samples/{name}") for name in SAMPLE_FILES]


@pytest.fixture
def source(request, corpus_dir, samples_dir) -> Path:
    kind, name = request.param
    return (corpus_dir if kind == "corpus" else samples_dir) / name


def test_the_files_are_found(corpus_dir, samples_dir):
    assert len(CORPUS_FILES) >= 20
    assert "835/oop_835_Example1.txt" in CORPUS_FILES  # BOM, CRLF and indentation
    assert any(name.endswith(".837") for name in SAMPLE_FILES)


@pytest.mark.parametrize("source", source_files(), indirect=True)
def test_written_in_standard_delimiters_reads_back_the_same(source):
    original, findings = read(source)
    text = write(original, STANDARD)
    again, again_findings = read(text)
    assert [canonical(s) for s in again] == [canonical(s) for s in original]
    assert [(s.index, s.tag) for s in again] == [(s.index, s.tag) for s in original]
    assert where(again_findings) == where(findings)


@pytest.mark.parametrize("source", source_files(), indirect=True)
def test_written_in_its_own_delimiters_reads_back_identical(source):
    original, findings = read(source)
    again, again_findings = read(write(original))
    assert raw(again) == raw(original)
    assert [s.delimiters for s in again] == [s.delimiters for s in original]
    assert where(again_findings) == where(findings)


@pytest.mark.parametrize("target", TARGETS.values(), ids=TARGETS.keys())
@pytest.mark.parametrize("source", source_files(), indirect=True)
def test_re_delimited_and_back_reads_identical(source, target):
    original, findings = read(source)
    try:
        text = write(original, target)
    except DelimiterCollisionError:
        # only when a value really holds a target delimiter (e.g. SVC01 'HC>12345' under ISA16 ':')
        assert holds_any(original, target)
        return
    assert not holds_any(original, target)
    moved, moved_findings = read(text)
    assert [canonical(s) for s in moved] == [canonical(s) for s in original]
    assert {(s.delimiters.element, s.delimiters.segment) for s in moved} == {(target.element, target.segment)}
    assert where(moved_findings) == where(findings)
    # and back into the delimiters each segment was read with
    out = io.StringIO()
    for m, o in zip(moved, original):
        out.write(serialize(m, Delimiters(*_four(o.delimiters), suffix="\r\n")))
    restored, restored_findings = read(out.getvalue())
    assert raw(restored) == raw(original)
    assert where(restored_findings) == where(findings)


def test_collisions_in_the_corpus_are_the_known_ones(corpus_dir):
    """The LFH files write SVC01/CLM05 with '>' under ISA16 ':': re-delimiting to '>' must refuse."""
    refused = []
    for name in CORPUS_FILES:
        segments, _ = read(corpus_dir / name)
        try:
            write(segments, TARGETS["pipe gt bang, LF terminator"])
        except DelimiterCollisionError as exc:
            refused.append((name, str(exc).split(" contains")[0]))
    assert refused == [
        ("835/lfh_835_cob-contractural-adjustment.835", "SVC01"),
        ("835/lfh_835_secondary-payment.835", "SVC01"),
        ("837p/lfh_837p_demo.cob.2ndary.example4.837", "CLM05"),
    ]


LAYOUT_VARIANTS = {
    "BOM + CRLF + indentation": lambda t: "\ufeff" + "".join("   " + line + "\r\n" for line in t.splitlines()),
    "one line": lambda t: t.replace("\n", ""),
    "blank lines": lambda t: t.replace("\n", "\n\n"),
}


@pytest.mark.parametrize("variant", LAYOUT_VARIANTS.values(), ids=LAYOUT_VARIANTS.keys())
@pytest.mark.parametrize("source", source_files(), indirect=True)
def test_layout_does_not_change_the_segments(source, variant):
    original, findings = read(source)
    text = write(original)  # own delimiters, one segment per line
    if any(s.delimiters.segment in "\r\n" for s in original):
        pytest.skip("line breaks are this file's terminator: layout cannot vary freely")
    again, again_findings = read(variant(text))
    assert raw(again) == raw(original)
    assert where(again_findings) == where(findings)


def test_multi_interchange_file_with_mixed_delimiters_round_trips():
    isa = "ISA*00*          *00*          *ZZ*S              *ZZ*R              *260101*1200*^*00501*00000000{n}*0*T*:"
    body = ["GS*HP*S*R*20260101*1200*{n}*X*005010X221A1", "ST*835*0001", "SVC*HC:99213*10", "SE*3*0001",
            "GE*1*{n}", "IEA*1*00000000{n}"]
    one = "".join(s.format(n=1) + "~\n" for s in [isa] + body)
    two = "".join(s.format(n=2).translate(str.maketrans("*:^", "|>!")) + "\n" for s in [isa] + body)
    original, findings = read(one + two)
    assert findings == [] and len(original) == 14
    again, again_findings = read(write(original))
    assert raw(again) == raw(original) and again_findings == []
    assert [s.delimiters.element for s in again] == ["*"] * 7 + ["|"] * 7
    standard, _ = read(write(original, STANDARD))
    assert [canonical(s) for s in standard] == [canonical(s) for s in original]
    assert standard[10].elements == ("HC:99213", "10")  # the second interchange's SVC, now with ":"
