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
