"""X12Reader with `body_tags` set counts a chunk of unwanted body segments at once (edi.reader._body_run).

A reader that yields every segment is the reference: the filtered one (what `cobpipe validate`, the
ERA pre-scan and the intake use) must give the same findings (code, message, segment, line, tag,
element) or the same error, and the same envelope and wanted segments, on real files, synthetic ones
in several layouts, chunk sizes that cut segments anywhere, a small loop limit, and mutants.
"""
from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edi import reader as reader_module
from edi.errors import EdiError
from edi.reader import X12Reader

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"
CORPUS_FILES = sorted(p for p in CORPUS.glob("*/*") if p.name != "README.md") if CORPUS.is_dir() else []
SAMPLE_FILES = sorted(p for p in (REPO / "samples").rglob("*") if p.suffix in (".835", ".837"))
GOLDEN_FILES = sorted(p for p in (REPO / "tests").glob("golden*/**/*") if p.suffix in (".835", ".837"))
ENVELOPE = {"ISA", "IEA", "GS", "GE", "ST", "SE"}


class Runs:
    taken = 0


@pytest.fixture(autouse=True)
def count_runs(monkeypatch):
    body_run = reader_module._body_run

    def counting(*args):
        found = body_run(*args)
        Runs.taken += found is not None
        return found

    monkeypatch.setattr(reader_module, "_body_run", counting)
    Runs.taken = 0


def read(text: str, wanted: frozenset[str] | None):
    reader = X12Reader.from_text(text, "f.837")
    reader.body_tags = wanted
    try:
        kept = [(s.tag, s.elements, s.index, s.line) for s in reader
                if wanted is None or s.tag in ENVELOPE or s.tag in wanted]
    except EdiError as exc:
        return ("error", type(exc).__name__, str(exc))
    return ("read", [f.to_dict() for f in reader.findings], kept)


def same(text: str, monkeypatch=None, chunk: int | None = None) -> None:
    if chunk and monkeypatch is not None:
        monkeypatch.setattr(reader_module, "CHUNK_CHARS", chunk)
    full = read(text, None)
    for wanted in (frozenset(), frozenset({"CLP"}), frozenset({"CLM", "NM1"})):
        got = read(text, wanted)
        if full[0] == "error":
            assert got == full
        else:
            assert got[1] == full[1], text[:300]
            assert got[2] == [s for s in full[2] if s[0] in ENVELOPE or s[0] in wanted]


@pytest.mark.parametrize("path", CORPUS_FILES + SAMPLE_FILES + GOLDEN_FILES,
                         ids=lambda p: str(p.relative_to(p.parents[1])))
def test_real_files(path, monkeypatch):
    text = path.read_text(encoding="utf-8", errors="surrogateescape")
    same(text)
    same(text, monkeypatch, chunk=777)


def _synthetic(tmp_path, seed: int, **knobs) -> tuple[str, str]:
    from cobpipe.synth import generate

    era, claims = generate(300, tmp_path, seed=seed, **knobs)
    return (Path(era).read_text(encoding="utf-8"), Path(claims).read_text(encoding="utf-8"))


LAYOUTS = {
    "as written": lambda t: t,
    "crlf": lambda t: t.replace("~\n", "~\r\n"),
    "one line": lambda t: t.replace("~\n", "~"),
    "blank lines": lambda t: t.replace("~\nDTP*", "~\n\nDTP*"),
    "indented": lambda t: t.replace("~\nN3*", "~\n  N3*"),
    "trailing spaces": lambda t: t.replace("~\nN4*", " ~\nN4*"),
    "wrapped": lambda t: t.replace("~\nNM1*", "~\nNM1\n*", 9),
    "lone CR": lambda t: t.replace("~\n", "~\r"),
    "tabs and form feeds": lambda t: t.replace("~\nREF*", "~\n\tREF*", 3).replace("~\nLX*", "~\f\nLX*", 3),
}


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_synthetic_files_in_layouts(tmp_path, monkeypatch, name):
    era, claims = _synthetic(tmp_path, seed=7, unbalanced_fraction=0.1)
    for text in (era, claims):
        changed = LAYOUTS[name](text)
        same(changed)
        same(changed, monkeypatch, chunk=4099)
    if name in ("as written", "crlf", "one line"):
        assert Runs.taken > 10  # the bulk path was taken


def test_the_loop_limit_is_still_enforced_in_bulk(tmp_path, monkeypatch):
    _era, claims = _synthetic(tmp_path, seed=8)
    half = claims.index("~\nHL*", len(claims) // 2)
    # no loop start (tags read before) for a long stretch in the second half, counted in bulk
    long_gap = claims[:half] + claims[half:half + 6000].replace("~\nLX*", "~\nDTP*").replace(
        "~\nHL*", "~\nN3*").replace("~\nCLM*", "~\nREF*") + claims[half + 6000:]
    assert read(long_gap, None)[0] == "read"
    errors = 0
    for limit in (12, 40, 90, 200, 1000):
        monkeypatch.setattr(reader_module, "LOOP_LIMIT", limit)
        same(claims)
        same(long_gap, monkeypatch, chunk=50_000)
        errors += read(long_gap, frozenset())[0] == "error"
    assert errors >= 2


def _mutate(text: str, rnd: random.Random) -> str:
    segs = text.split("~")
    for _ in range(rnd.randint(1, 4)):
        i = rnd.randrange(1, len(segs) - 1)
        op = rnd.randrange(7)
        if op == 0:
            del segs[i]
        elif op == 1:
            segs.insert(i, segs[i])
        elif op == 2:
            segs[i] = segs[i].replace("*", rnd.choice(["X*", "*", "x*", "1234*"]), 1)  # other or bad tags
        elif op == 3:
            segs.insert(i, rnd.choice(["\nSE*5*0001", "\nST*837*0002", "\nIEA*1*000000001", "\nGE*1*1", "\nNEW*1"]))
        elif op == 4:
            segs[i] = segs[i] + rnd.choice([" ", "\n", "\x00", "\ufeff"])
        elif op == 5:
            segs[i] = rnd.choice(["", " ", "\n\n"]) + segs[i]
        else:
            segs[i] = segs[i].replace("*", "|")
    return "~".join(segs)


@pytest.mark.parametrize("seed", range(3))
def test_mutants(tmp_path, monkeypatch, seed):
    era, claims = _synthetic(tmp_path, seed=seed + 30)
    rnd = random.Random(seed)
    for _ in range(15):
        text = _mutate(rnd.choice([era, claims]), rnd)
        same(text)
        same(text, monkeypatch, chunk=rnd.choice([1500, 6000]))


_BASE: dict[str, str] = {}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), chunk=st.sampled_from([None, 997, 2500, 8192]))
def test_random_mutants(tmp_path_factory, monkeypatch, seed, chunk):
    if not _BASE:
        era, claims = _synthetic(tmp_path_factory.mktemp("base"), seed=3)
        _BASE.update(era=era, claims=claims)
    rnd = random.Random(seed)
    text = _mutate(_BASE[rnd.choice(["era", "claims"])], rnd)
    with monkeypatch.context() as m:
        same(text, m, chunk=chunk)


def test_runs_start_again_after_each_segment_that_ended_one(tmp_path, monkeypatch):
    """A wanted segment, an ST/SE or a new tag ends a run; the segments after it, in the same chunk, are
    counted by the next run (not read one by one to the chunk's end), the first chunk's too (its first
    piece, the ISA with no line break before it, read by itself)."""
    _era, claims = _synthetic(tmp_path, seed=11)
    for chunk in (1 << 16, 1 << 22):  # chunks of many claims; the whole file in one
        monkeypatch.setattr(reader_module, "CHUNK_CHARS", chunk)
        same(claims)
        Runs.taken = 0
        read(claims, frozenset({"CLM"}))
        assert Runs.taken >= claims.count("~\nCLM*")  # one after each wanted CLM, one before the first


@settings(max_examples=200, deadline=None)
@given(words=st.frozensets(st.text("ABCN1234", min_size=1, max_size=4), min_size=1, max_size=12),
       probe=st.text("ABCN1234", max_size=5))
def test_the_tag_expression_matches_exactly_the_tags(words, probe):
    import re

    pattern = re.compile(reader_module._literals(words))
    for word in [*words, probe]:
        assert (pattern.fullmatch(word) is not None) == (word in words)
