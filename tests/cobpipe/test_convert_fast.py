"""The fast one-shot convert (claim837.index: claims as text spans, no ledger round trip) writes the
same bytes as the plain path (every segment through the reader, a throwaway ledger, each claim
parsed back): the .837 and the report JSON, on the golden cases, the samples, the public corpus,
generated files with several seeds and knobs, and, for the index itself, on mutated files
(hypothesis): it reads a file exactly as the plain reader does, or leaves it to the plain path.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cobpipe.claim837.claim import Envelope, OriginalClaim
from cobpipe.claim837.index import ClaimIndex, sqlite_upper
from cobpipe.claim837.loops import Loop
from cobpipe.claim837.rows import ClaimRows
from cobpipe.pipeline import ConvertOptions, _refuse_truncated, run_batch
from cobpipe.synth import generate_set
from edi.errors import EdiError
from edi.segment import STANDARD, Delimiters, Segment
from edi.writer import _same_delimiters_text, serialize
from mutate import apply_edits

REPO = Path(__file__).parents[2]
GOLDEN = REPO / "tests" / "golden"
SAMPLES = REPO / "samples" / "cob"
CORPUS = REPO.parent / "shared" / "corpus"
OPTIONS = ConvertOptions(today=dt.date(2026, 4, 1), now=dt.datetime(2026, 4, 1, 9, 30), usage="T")


def outputs(out: Path, results) -> list:
    files = sorted(p for p in out.iterdir() if p.suffix in (".837", ".json"))
    return ([(p.name, p.read_bytes()) for p in files],
            [(r.exit_code, r.counts, r.control_numbers, r.transactions) for r in results])


def both(tmp_path: Path, eras: list[Path], claims: list[Path], coverage: Path | None = None, *,
         options: ConvertOptions = OPTIONS, numbers: bool = True, workers: int = 1):
    """(plain outputs, fast outputs), each run with a control-number ledger of its own."""
    found = []
    for plain in (True, False):
        name = "plain" if plain else "fast"
        out = tmp_path / name
        try:
            results = run_batch(eras, claims, out, options=dataclasses.replace(options, plain=plain),
                                coverage_path=coverage if coverage is not None and coverage.exists() else None,
                                workers=workers,
                                numbers_path=tmp_path / f"{name}-numbers.sqlite" if numbers else None)
        except EdiError as exc:  # unusable input: the same refusal, in the same words
            found.append(([], [type(exc).__name__, str(exc)]))
        else:
            found.append(outputs(out, results))
    return found


def without_control_numbers(found):
    """Outputs with the envelope's control numbers blanked: ERAs converted side by side take their
    numbers from one ledger in whatever order the workers get there, in either path."""
    files, results = found
    masked = []
    for name, data in files:
        if name.endswith(".837"):
            lines = []
            for line in data.decode().split("~"):
                parts = line.split("*")
                if parts[0].strip() in ("ISA", "IEA", "GS", "GE", "ST", "SE", "BHT"):
                    parts = [parts[0]] + ["#" if p.isdigit() else p for p in parts[1:]]
                lines.append("*".join(parts))
            data = "~".join(lines).encode()
        else:
            report = json.loads(data)
            report.pop("control_numbers", None)
            data = json.dumps(report).encode()
        masked.append((name, data))
    return masked, [(code, counts) for code, counts, *_ in results]


def assert_same(tmp_path, *args, unordered_numbers: bool = False, **kwargs) -> None:
    plain, fast = both(tmp_path, *args, **kwargs)
    if unordered_numbers:
        plain, fast = without_control_numbers(plain), without_control_numbers(fast)
    assert [name for name, _ in fast[0]] == [name for name, _ in plain[0]]
    for (name, expected), (_, got) in zip(plain[0], fast[0]):
        assert got == expected, name
    assert fast[1] == plain[1]


def indexed(*paths: Path) -> bool:
    index = ClaimIndex.build(list(paths))
    return index is not None and bool(index.by_id)


# --- the repository's own cases ---------------------------------------------------------------

GOLDEN_CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "era.835").exists())


@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_golden_cases(case, tmp_path):
    case_dir = GOLDEN / case
    assert indexed(case_dir / "claims.837")  # the fast path is the one tested
    assert_same(tmp_path, [case_dir / "era.835"], [case_dir / "claims.837"], case_dir / "coverage.csv")


def test_golden_cases_in_one_batch(tmp_path):
    """Every golden 837P at once (several files, claims sharing CLM01s across files are possible) against
    every golden 835 (one folder of ERAs): the ledger's last-file-wins and its ordering hold."""
    eras, claims = [], []
    for case in GOLDEN_CASES:
        era = tmp_path / "eras" / f"{case}.835"
        era.parent.mkdir(exist_ok=True)
        era.write_bytes((GOLDEN / case / "era.835").read_bytes())
        eras.append(era)
        claims.append(GOLDEN / case / "claims.837")
    assert_same(tmp_path, eras, claims, GOLDEN / "11-coverage-file" / "coverage.csv")
    assert_same(tmp_path / "reversed", eras, claims[::-1], GOLDEN / "11-coverage-file" / "coverage.csv")


@pytest.mark.parametrize("era", ["era.835", "problems/era.835", "seed-era.835"])
def test_samples(era, tmp_path):
    claims = [SAMPLES / "claims.837", SAMPLES / "seed-claims.837"]
    assert indexed(*claims)
    assert_same(tmp_path, [SAMPLES / era], claims, SAMPLES / "coverage.csv")
    assert_same(tmp_path / "no-numbers", [SAMPLES / era], claims, SAMPLES / "coverage.csv", numbers=False)


def test_options_that_change_the_output(tmp_path):
    options = dataclasses.replace(OPTIONS, bill_zero_balance=True, claims_per_transaction=3, usage=None,
                                  delimiters=dataclasses.replace(OPTIONS.delimiters, element="|",
                                                                 component=">", repetition="!"))
    assert_same(tmp_path, [SAMPLES / "era.835"], [SAMPLES / "claims.837"], SAMPLES / "coverage.csv",
                options=options)


def test_two_eras_by_two_workers(tmp_path):
    """Several ERAs with workers: the index travels to the worker processes."""
    first = generate_set(30, tmp_path / "a", seed=11, claims_per_835=12)
    second = generate_set(30, tmp_path / "b", seed=12, claim_offset=30)
    assert_same(tmp_path / "run", [first.era, second.era.rename(tmp_path / "b" / "era2.835")],
                [first.claims, second.claims], first.coverage, workers=2, unordered_numbers=True)


# --- the public corpus -------------------------------------------------------------------------

def corpus_files(kind: str) -> list[Path]:
    folder = CORPUS / kind
    if not folder.is_dir():
        pytest.skip(f"public corpus not found at {folder}")
    return sorted(p for p in folder.iterdir() if p.is_file())


def test_corpus(tmp_path):
    """Every corpus 835 against the corpus 837Ps: the ones the index reads, then all of them (a file
    it cannot read sends the run to the plain path)."""
    eras = corpus_files("835")
    claims = corpus_files("837p")
    readable = [p for p in claims if indexed(p)]
    assert readable, "the index reads none of the corpus 837Ps"
    for n, era in enumerate(eras):
        assert_same(tmp_path / f"r{n}", [era], readable)
        assert_same(tmp_path / f"a{n}", [era], claims)


def test_corpus_claims_read_alike():
    for path in corpus_files("837p"):
        check_index_against_rows(path)


# --- generated files ---------------------------------------------------------------------------

SYNTH = [
    (1, {}),
    (2, dict(denial_fraction=0.2, crossover_fraction=0.2, reversal_fraction=0.3, claim_cas_fraction=0.5,
             oa23_fraction=0.3, bundled_fraction=0.3, plb_fraction=1.0, secondary_absent_fraction=0.3,
             patient_fraction=0.5, rendering_fraction=0.5, claims_per_835=7, claims_per_837=25)),
    (3, dict(unbalanced_fraction=0.2, secondary_absent_fraction=0.6)),
    (4, dict(patient_fraction=0.8, claims_per_837=4, claims_per_835=9, max_lines=6)),
    (5, dict(reversal_fraction=0.5, denial_fraction=0.3, unbalanced_fraction=0.05)),
]


@pytest.mark.parametrize("seed,knobs", SYNTH, ids=[f"seed{seed}" for seed, _ in SYNTH])
def test_generated(seed, knobs, tmp_path):
    made = generate_set(120, tmp_path / "in", seed=seed, **knobs)
    assert indexed(made.claims)
    assert_same(tmp_path, [made.era], [made.claims], made.coverage)


def test_generated_without_line_feeds_and_in_two_files(tmp_path):
    """`~` alone between segments, and the claims split over two files where the second repeats
    some of the first's claims, one of them changed (the later file's claim wins, as in the ledger)."""
    made = generate_set(60, tmp_path / "in", seed=21, patient_fraction=0.5, claims_per_837=9)
    text = made.claims.read_text()
    flat = tmp_path / "flat.837"
    flat.write_text(text.replace("~\n", "~"))
    changed = tmp_path / "changed.837"
    changed.write_text(text.replace("*11:B:1*", "*12:B:1*", 3))
    assert indexed(flat, changed)
    assert_same(tmp_path / "one", [made.era], [flat], made.coverage)
    assert_same(tmp_path / "two", [made.era], [flat, changed], made.coverage)
    assert_same(tmp_path / "same-twice", [made.era], [made.claims, flat], made.coverage)


def test_case_folded_claim_ids(tmp_path):
    """A payer that upper-cases CLP01: matched ignoring case, by both paths alike."""
    made = generate_set(20, tmp_path / "in", seed=31)
    claims = tmp_path / "lower.837"
    text = made.claims.read_text()
    claims.write_text(text.replace("CLM*SYN", "CLM*syn"))
    assert indexed(claims)
    assert_same(tmp_path, [made.era], [claims, made.claims], made.coverage)
    assert sqlite_upper("abcÿ") == "ABCŸ" and sqlite_upper("pcn-1a") == "PCN-1A"


# --- the index reads what the plain reader reads, or nothing ----------------------------------

def check_index_against_rows(path: Path, only: frozenset[str] | None = None) -> None:
    """When the index takes the file, the plain reader refuses nothing in it and stores the same rows
    (storage text and envelope) in the same order; when it does not, nothing is claimed."""
    index = ClaimIndex.build([path], only)
    if index is None:
        return
    try:
        reader = ClaimRows.open(path, only=only)
        rows = list(reader)
        _refuse_truncated(path, reader.findings)
    except EdiError as exc:
        raise AssertionError(f"the index took {path.name}, which the plain reader refuses: {exc}") from exc
    with index:
        numbers = range(len(index.claims) // 4)
        got = [index._storage(number) for number in numbers]
        assert got == [(row[3], row[4]) for row in rows]
        assert sorted(index.by_id) == sorted({row[0] for row in rows})
        for number, (text, envelope) in zip(numbers, got):  # the claim built piece by piece = the ledger's
            stored = OriginalClaim.from_x12(text, envelope=Envelope.from_dict(json.loads(envelope)))
            assert tree(index.claim(number)) == tree(stored)


def tree(claim: OriginalClaim) -> tuple:
    """Everything of a parsed claim: the envelope, each loop's id and items, each segment's fields."""
    def walk(loop):
        if loop is None:
            return None
        return loop.id, tuple(walk(i) if isinstance(i, Loop) else (i.tag, i.elements, i.index, i.line, i.delimiters)
                              for i in loop.items)
    return (claim.envelope, *map(walk, claim.loops()), walk(claim.patient))


def test_index_reads_every_generated_shape(tmp_path):
    for seed, knobs in SYNTH:
        made = generate_set(25, tmp_path / str(seed), seed=seed, **knobs)
        assert indexed(made.claims)
        check_index_against_rows(made.claims)
        check_index_against_rows(made.claims, only=frozenset({"SYN00000003", "syn00000004".upper()}))


def test_a_claims_2300_is_made_when_first_used(tmp_path):
    """The index makes a claim's CLM at once and the rest of its 2300 when something reads the loop;
    then it is a plain Loop, the same tree as made eagerly (check_index_against_rows), and pickle,
    copy and deepcopy see that tree too."""
    import copy
    import pickle

    from cobpipe.claim837.index import _Deferred2300

    made = generate_set(12, tmp_path, seed=7, patient_fraction=0.5)
    with ClaimIndex.build([made.claims]) as index:
        numbers = range(len(index.claims) // 4)
        eager = [tree(index.claim(number)) for number in numbers]
        for number in numbers:
            claim = index.claim(number)
            assert type(claim.claim) is _Deferred2300
            clm = claim.clm
            assert (claim.id, clm.tag) == (clm.get(1), "CLM")
            claim.charge  # noqa: B018 - CLM02 only
            assert type(claim.claim) is _Deferred2300
            for use in (tree, lambda c: tree(pickle.loads(pickle.dumps(c))), lambda c: tree(copy.deepcopy(c))):
                fresh = index.claim(number)
                assert use(fresh) == eager[number]
                assert type(fresh.claim) is Loop and fresh.claim.first is fresh.clm
            shallow = index.claim(number)
            assert tree(OriginalClaim(shallow.envelope, shallow.header, shallow.billing_provider, shallow.subscriber,
                                      shallow.patient, copy.copy(shallow.claim))) == eager[number]
        replaced = index.claim(0)
        replaced.claim.items = [replaced.clm]
        assert type(replaced.claim) is Loop and replaced.claim.items == [replaced.clm]


_BASE: dict[str, bytes] = {}


def base_837(tmp_path_factory) -> bytes:
    if "text" not in _BASE:
        made = generate_set(6, tmp_path_factory.mktemp("base"), seed=41, patient_fraction=0.5, claims_per_837=3)
        _BASE["text"] = made.claims.read_bytes()
    return _BASE["text"]


PIECES = [b"~", b"*", b"\n", b"\r", b" ", b":", b"^", b"HL*", b"CLM*", b"SE*", b"ST*", b"GE*", b"IEA*", b"~HL*9*1*22*0~",
          b"~HL*4*2*23*0~", b"~CLM*X1*10***11:B:1*Y*A*Y*Y~", b"~NM1*IL*1*X~", b"1", b"23", b"\xc3\xa9", b"~~", b"a"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.floats(0, 1), st.sampled_from(PIECES), st.integers(0, 3)), min_size=1, max_size=4),
       st.booleans())
def test_index_on_mutated_files(tmp_path_factory, edits, flat):
    """Bytes inserted, replaced or deleted anywhere: the index reads the file as the plain reader does
    (same rows, nothing the plain reader refuses) or declines it."""
    text = base_837(tmp_path_factory)
    text = apply_edits(text, edits, flat)
    path = tmp_path_factory.mktemp("mutated") / "claims.837"
    path.write_bytes(text)
    check_index_against_rows(path)


def test_a_claims_file_changed_after_indexing_is_refused_in_one_line(tmp_path):
    made = generate_set(5, tmp_path, seed=3)
    index = ClaimIndex.build([made.claims])
    claim_id = next(iter(index.by_id))
    with made.claims.open("ab") as stream:
        stream.write(b"\n")
    with pytest.raises(EdiError, match="changed while it was being converted"):
        index.claims_for(claim_id)


KNOB_VALUES = st.fixed_dictionaries({}, optional={
    "unbalanced_fraction": st.sampled_from([0.0, 0.1, 0.5]),
    "secondary_absent_fraction": st.sampled_from([0.0, 0.3, 1.0]),
    "patient_fraction": st.sampled_from([0.0, 0.5, 1.0]),
    "denial_fraction": st.sampled_from([0.0, 0.3]),
    "reversal_fraction": st.sampled_from([0.0, 0.4]),
    "crossover_fraction": st.sampled_from([0.0, 0.3]),
    "claim_cas_fraction": st.sampled_from([0.0, 0.5]),
    "bundled_fraction": st.sampled_from([0.0, 0.3]),
    "claims_per_835": st.sampled_from([3, 1000]),
    "claims_per_837": st.sampled_from([2, 1000]),
    "max_lines": st.sampled_from([1, 4, 8]),
})


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, 10_000), KNOB_VALUES, st.integers(1, 25), st.booleans())
def test_generated_any_knobs(tmp_path_factory, seed, knobs, claims, flat):
    """Whatever the generator's knobs and seed: the fast path writes the plain path's bytes."""
    folder = tmp_path_factory.mktemp("synth")
    made = generate_set(claims, folder / "in", seed=seed, **knobs)
    if flat:
        made.claims.write_bytes(made.claims.read_bytes().replace(b"~\n", b"~"))
        made.era.write_bytes(made.era.read_bytes().replace(b"~\n", b"~"))
    assert indexed(made.claims)
    assert_same(folder, [made.era], [made.claims], made.coverage)


# --- the writer's one-join path ---------------------------------------------------------------

_CHARS = st.sampled_from(list("AB1 *:^~|>!\n"))
_DELIMITER_SETS = [Delimiters("*", ":", "^", "~", "\n"), Delimiters("*", ":", "^", "~", ""),
                   Delimiters("|", ">", "!", "~", "\n"), Delimiters("*", ":", None, "~", "\n"), STANDARD]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["NM1", "CLM", "SV1", "ST", "SE", "REF"]),
                          st.lists(st.text(_CHARS, max_size=4), max_size=4), st.sampled_from(_DELIMITER_SETS)),
                max_size=6),
       st.sampled_from(_DELIMITER_SETS))
def test_writer_join_is_serialize(raw, output):
    """When the writer joins a claim's segments at once, the text is what serializing each gives (and
    it never joins what serializing would refuse or translate)."""
    segments = [Segment(tag, tuple(elements), delimiters=source) for tag, elements, source in raw]
    joined = _same_delimiters_text(segments, output)
    if joined is None:
        return
    assert not {s.tag for s in segments} & {"ISA", "IEA", "GS", "GE", "ST", "SE"}
    assert joined == "".join(serialize(s, output) for s in segments)


def test_format_amount_remembered_values_refuse_what_they_refused():
    """format_amount's remembered texts serve finite Decimals only: a float equal to one remembered is
    still refused (TypeError), NaN and infinities (signalling NaN too) still ValueError, ints still read."""
    from decimal import Decimal

    from edi.writer import format_amount

    assert format_amount(Decimal("10.50")) == "10.5" and format_amount(Decimal("10.5")) == "10.5"
    assert format_amount(Decimal("1E+1")) == "10" == format_amount(10) == format_amount(Decimal("10.00"))
    assert format_amount(Decimal("-0.00")) == "0"
    for refused, error in ((10.5, TypeError), (10.0, TypeError), ("10", TypeError), (Decimal("NaN"), ValueError),
                           (Decimal("sNaN"), ValueError), (Decimal("-Infinity"), ValueError)):
        with pytest.raises(error):
            format_amount(refused)


def test_placement_memory_is_bounded_and_forgetting_changes_nothing(tmp_path, monkeypatch):
    """Element 01 of many segments is unique (CLM01, N301): the placements remembered stay under
    their bound (100k claims grew the converter to 141 MB before), and a cleared memo places alike."""
    import cobpipe.claim837.index as index_module

    made = generate_set(120, tmp_path / "in", seed=11)
    monkeypatch.setattr(index_module, "PLACEMENTS_KEPT", 16)
    with ClaimIndex.build([made.claims]) as index:
        for claim_id in list(index.by_id):
            for claim in index.claims_for(claim_id):
                list(claim.claim.iter_segments())  # every segment placed
            assert len(index._placements) <= 16
    check_index_against_rows(made.claims)
    assert_same(tmp_path, [made.era], [made.claims], made.coverage)


def test_more_claims_than_the_index_keeps_go_through_the_ledger(tmp_path, monkeypatch):
    """Past MAX_CLAIMS the one-shot convert reads the claims into a SQLite ledger (memory flat
    whatever the size): the index declines, and the output is the plain path's."""
    import cobpipe.claim837.index as index_module

    made = generate_set(40, tmp_path / "in", seed=12)
    assert indexed(made.claims)
    monkeypatch.setattr(index_module, "MAX_CLAIMS", 39)
    assert ClaimIndex.build([made.claims]) is None
    assert_same(tmp_path, [made.era], [made.claims], made.coverage)
