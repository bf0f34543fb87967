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


def _block_by_split(text: bytes, lines: bool):
    """What era.clean's block checks said of text as they were written before its searches over the
    whole block (the reference): the line feeds counted three ways, each segment split out, its
    first bytes matched and its last byte looked at, then the loop starts found: a problem, or the
    (segment start, tag) of each loop start."""
    import re
    from operator import itemgetter

    tags = b"ISA|IEA|GS|GE|ST|SE|CLP|CLM|LX|HL|AK2|IK3"
    feeds = text.count(b"\n")
    if lines:
        if feeds != text.count(b"~") - 1 or text.count(b"~\n") != feeds:
            return "line feeds"
    elif feeds:
        return "line feeds"
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
    # "(?=[*~])": the pattern as written before, "[*~]", took a flat file's terminator after a segment
    # without elements ("LX~"), so a loop start right after one ("LX~CLP*...") went uncounted
    key = re.compile((rb"\n(" if lines else rb"~(") + tags + rb")(?=[*~])")
    return [(m.start() + 1, m.group(1)) for m in key.finditer(text)]


def _block(text: bytes, lines: bool):
    """The same answers from era.clean's block checks as they are: the counts and searches of
    _segment_problem, and the one search for loop starts and for segments that do not start with an
    id (or, one segment a line, terminators without their line feed)."""
    from cobpipe.era.clean import _KEY_OR_BAD_START, _segment_problem

    problem = _segment_problem(text, lines, text.count(b"~") - 1)
    if problem == "line feeds":
        return problem
    found = list(_KEY_OR_BAD_START[lines].finditer(text))
    if any(match[1] is None for match in found):
        if lines and text.count(b"~\n") != text.count(b"~") - 1:
            return "line feeds"  # a terminator without its line feed: found by the same search
        return "segment id"
    return problem or [(match.start(1), match[1]) for match in found]


_SEGMENT_BYTES = st.sampled_from([b"A", b"Z", b"0", b"9", b"*", b" ", b"\t", b"\v", b"\f", b"\x00", b"\x1a", b"a",
                                  b":", b"\n", b"-", b"CLP", b"NM1", b"SE", b"ISA", b"GS", b"LX", b"HL"])
_SEGMENT = st.lists(_SEGMENT_BYTES, min_size=1, max_size=7).map(b"".join) | st.tuples(
    st.sampled_from([b"NM1", b"SE", b"CAS", b"AB", b"CLP", b"ST", b"GSX", b"LX", b"IK3", b"CL"]),
    st.sampled_from([b"", b"*"]), st.lists(_SEGMENT_BYTES, max_size=4).map(b"".join)).map(b"".join)


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.tuples(_SEGMENT, st.integers(0, 9)), min_size=1, max_size=6), st.booleans())
def test_block_checks_find_what_a_split_finds(segments, lines):
    """The block checks (_segment_problem and the loop starts' search over the block) answer as the
    split into segments does, for segments of ids, separators, blanks and line feeds in any order,
    a line feed after a terminator sometimes left out: the same problem, or the same loop starts."""
    gap = b"~\n" if lines else b"~"
    text = gap + b"".join(segment + (b"~" if lines and drop == 0 else gap) for segment, drop in segments)
    text = text.removesuffix(b"\n")  # a block ends with its last terminator
    assert _block(text, lines) == _block_by_split(text, lines)


def test_block_checks_find_each_problem():
    for lines, gap in ((False, b"~"), (True, b"~\n")):
        def text(*segments):
            return gap + gap.join(segments) + b"~"
        whole = text(b"ISA*1", b"AB", b"ABC*", b"AB*C D", b"LX", b"CLP*1", b"SE")
        assert _block(whole, lines) == [(whole.index(tag, 1), tag) for tag in (b"ISA", b"LX", b"CLP", b"SE")]
        for bad in (b"A", b"ABCD", b"AB C", b"ab*1", b"A*B", b"CLPX*1"):
            assert _block(text(b"ISA*1", bad, b"SE*1"), lines) == "segment id", bad
        for blank in b" \t\v\f\x00\x1a":
            assert _block(text(b"ISA*1", b"NM1*X" + bytes((blank,)), b"SE*1"), lines) \
                == "stripped before a terminator"
    assert _block(b"~\nISA*1~SE*1~", True) == "line feeds"
    assert _block(b"~\nISA*1~NM1*A\nB~\nSE*1~", True) == "line feeds"  # a line feed moved into a segment


def test_a_loop_start_after_a_segment_without_elements_is_counted(tmp_path):
    """A flat file's "LX~CLP*..." : the CLP after an element-less segment is counted, as the reader counts it."""
    made = generate_set(6, tmp_path, seed=2, claims_per_835=3)
    flat = tmp_path / "flat.835"
    data = made.era.read_bytes().replace(b"~\n", b"~")
    assert data.count(b"~LX*1~CLP*") >= 2
    flat.write_bytes(data.replace(b"~LX*1~CLP*", b"~LX~CLP*"))
    assert check(flat)
