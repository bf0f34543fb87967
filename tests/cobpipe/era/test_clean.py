"""era.clean reads an 835 exactly as edi.reader.X12Reader does (the same segments, numbers, lines and
delimiters, no finding), or leaves it to the reader: samples, golden cases, the corpus, generated
files, and mutated files (hypothesis)."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cobpipe.era import RemittanceReader, parse_remittances
from cobpipe.era.clean import CleanReader, scan
from cobpipe.pipeline import scan_era
from cobpipe.synth import generate_set
from edi.errors import EdiError
from edi.reader import X12Reader, iter_transactions
from mutate import apply_edits

REPO = Path(__file__).parents[3]
CORPUS = REPO.parent / "shared" / "corpus" / "835"


def fields(segment) -> tuple:
    return segment.tag, segment.elements, segment.index, segment.line, segment.delimiters


def check(path: Path) -> bool:
    """Whether era.clean took the file; when it did, that it reads as the reader reads it."""
    found = scan(path)
    if found is None:
        return False
    try:
        reader = X12Reader.open(path)
        expected = [fields(s) for s in reader]
    except EdiError as exc:
        raise AssertionError(f"era.clean took {path.name}, which the reader refuses: {exc}") from exc
    assert list(reader.findings) == [], "era.clean took a file the reader has findings for"
    assert [fields(s) for s in CleanReader(path, found)] == expected
    # transaction sets as iter_transactions groups the reader's segments
    expected_sets = [(fields(ts.st), ts.isa and fields(ts.isa), ts.gs and fields(ts.gs),
                      [fields(s) for s in ts.segments]) for ts in iter_transactions(X12Reader.open(path))]
    assert [(fields(ts.st), ts.isa and fields(ts.isa), ts.gs and fields(ts.gs), [fields(s) for s in ts.segments])
            for ts in CleanReader(path, found).transactions()] == expected_sets
    plain, fast = scan_outcome(path, plain=True), scan_outcome(path)
    assert fast == plain
    return True


def scan_outcome(path: Path, plain: bool = False) -> tuple:
    """What pipeline.scan_era gives: the counts, findings and ISA15, or the refusal in words."""
    try:
        found = scan_era(path, plain=plain)
    except EdiError as exc:
        return type(exc).__name__, str(exc)
    return found.clp_counts, found.findings, found.claims, found.usage


def test_samples_and_golden_cases():
    files = [*sorted((REPO / "samples" / "cob").glob("**/*.835")), *sorted((REPO / "tests" / "golden").glob("*/era.835"))]
    taken = [f.name for f in files if check(f)]
    assert len(taken) >= len(files) - 2  # nearly all of them are clean


def test_corpus():
    if not CORPUS.is_dir():
        pytest.skip(f"public corpus not found at {CORPUS}")
    for path in sorted(CORPUS.iterdir()):
        check(path)


@pytest.mark.parametrize("seed,knobs", [(1, {}), (2, dict(claims_per_835=5, plb_fraction=1.0, reversal_fraction=0.3)),
                                        (3, dict(unbalanced_fraction=0.3, denial_fraction=0.3))])
def test_generated(seed, knobs, tmp_path):
    made = generate_set(40, tmp_path, seed=seed, **knobs)
    assert check(made.era)
    flat = tmp_path / "flat.835"
    flat.write_bytes(made.era.read_bytes().replace(b"~\n", b"~"))
    assert check(flat)
    # the remittances read through either reader are the same
    plain = parse_remittances(made.era)
    fast = list(RemittanceReader(CleanReader(made.era, scan(made.era)), keep_claims=True))
    for remit in fast:
        remit.finish()
    assert [(r.header, list(r.claims()), r.findings, r.totals, r.plbs) for r in fast] == [
        (r.header, list(r.claims()), r.findings, r.totals, r.plbs) for r in plain]


_BASE: dict[str, bytes] = {}

PIECES = [b"~", b"*", b"\n", b"\r", b" ", b":", b"^", b"CLP*", b"SE*", b"ST*", b"GE*", b"IEA*", b"ISA*", b"~LX*1~",
          b"~CLP*X*1*10*5*5*12*ICN~", b"~SVC*HC:99213*10*5~", b"~TA1*1~", b"1", b"\xc3\xa9", b"~~", b"a", b"\x00"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.floats(0, 1), st.sampled_from(PIECES), st.integers(0, 3)), min_size=1, max_size=4),
       st.booleans())
def test_mutated_files(tmp_path_factory, edits, flat):
    if "text" not in _BASE:
        _BASE["text"] = generate_set(5, tmp_path_factory.mktemp("base"), seed=7, claims_per_835=2).era.read_bytes()
    text = _BASE["text"]
    text = apply_edits(text, edits, flat)
    path = tmp_path_factory.mktemp("mutated") / "era.835"
    path.write_bytes(text)
    check(path)


def test_a_file_changed_after_the_scan_is_refused_in_one_line(tmp_path):
    made = generate_set(5, tmp_path, seed=3)
    found = scan(made.era)
    with made.era.open("ab") as stream:
        stream.write(b"\n")
    with pytest.raises(EdiError, match="changed while it was being converted"):
        list(CleanReader(made.era, found))


def _segment_problem_by_split(text: bytes, lines: bool) -> str:
    """era.clean's segment checks as they were written before its whole-text search: each segment
    split out, its first bytes matched and its last byte looked at (the reference)."""
    import re
    from operator import itemgetter

    start_pattern = re.compile(rb"[A-Z0-9]{2,3}(?:\*.*)?", re.DOTALL)
    width = 5 if lines else 4
    pieces = text.split(b"~")
    pieces.pop()
    del pieces[0]
    for start in set(map(itemgetter(slice(0, width)), pieces)):
        if start_pattern.fullmatch(start, width - 4) is None:
            return "segment id"
    if not frozenset(b" \t\v\f\x00\x1a").isdisjoint(map(itemgetter(-1), pieces)):
        return "stripped before a terminator"
    return ""


_SEGMENT_BYTES = st.sampled_from([b"A", b"Z", b"0", b"9", b"*", b" ", b"\t", b"\v", b"\f", b"\x00", b"\x1a", b"a",
                                  b":", b"\n", b"-", b"CLP", b"NM1", b"SE", b"ISA"])


_SEGMENT = st.lists(_SEGMENT_BYTES, min_size=1, max_size=7).map(b"".join) | st.tuples(
    st.sampled_from([b"NM1", b"SE", b"CAS", b"AB"]), st.sampled_from([b"", b"*"]),
    st.lists(_SEGMENT_BYTES, max_size=4).map(b"".join)).map(b"".join)  # mostly well-formed ids


@settings(max_examples=1500, deadline=None)
@given(st.lists(_SEGMENT, min_size=1, max_size=6), st.booleans())
def test_segment_checks_find_what_a_split_finds(segments, lines):
    """_segment_problem (a search over the block) answers as the split into segments does, for
    segments of ids, separators, blanks and line feeds in any order (a line feed in a segment
    never reaches it with `lines`: the scan refuses such a block first)."""
    from cobpipe.era.clean import _segment_problem

    if lines:
        segments = [s.replace(b"\n", b"") for s in segments]
    gap = b"~\n" if lines else b"~"
    text = gap + gap.join(segments) + b"~"
    assert _segment_problem(text, lines) == _segment_problem_by_split(text, lines)


def test_segment_checks_find_each_problem():
    from cobpipe.era.clean import _segment_problem

    for lines, gap in ((False, b"~"), (True, b"~\n")):
        def text(*segments):
            return gap + gap.join(segments) + b"~"
        assert _segment_problem(text(b"ISA*1", b"AB", b"ABC*", b"AB*C D"), lines) == ""
        for bad in (b"A", b"ABCD", b"AB C", b"ab*1", b"A*B"):
            assert _segment_problem(text(b"ISA*1", bad, b"SE*1"), lines) == "segment id", bad
        for blank in b" \t\v\f\x00\x1a":
            assert _segment_problem(text(b"ISA*1", b"NM1*X" + bytes((blank,)), b"SE*1"), lines) \
                == "stripped before a terminator"
