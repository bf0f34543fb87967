"""The walk learned per 2000B block shape (edi.ig_walk.ShapeCache) against the uncached walker and pyx12.

A learned step replays the node and the count changes an earlier block of the same shape walked to;
these tests hold the engine to the same issues, messages included, with and without it: on real files,
synthetic ones, and files of many claims whose later blocks (walked from a warm cache) are mutated.
"""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from edi import ig, ig_fast, ig_walk
from tests.edi.test_ig_fast import CLEAN_837, JUNK, TAGS, replicate_claims

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"
CORPUS_FILES = sorted(p for p in CORPUS.glob("*/*") if p.name != "README.md") if CORPUS.is_dir() else []
SAMPLE_FILES = sorted(p for p in (REPO / "samples").rglob("*") if p.suffix in (".835", ".837"))
GOLDEN_FILES = sorted(p for p in (REPO / "tests" / "golden").rglob("*") if p.suffix in (".835", ".837"))


def full(issues):
    return [(i.level, i.code, i.message, i.position, i.tag, i.loop, i.element, i.value) for i in issues]


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8-sig", errors="surrogateescape")


class Counting(ig_walk.ShapeCache):
    """Counts the steps taken from learned shapes (so a test sees the cache was used)."""

    hits = 0

    def walk(self, walker, node, seg_id, elems, comp_sep):
        if self.trie is not None and self.trie.get(self.key(seg_id, elems, comp_sep)) is not None:
            Counting.hits += 1
        return super().walk(walker, node, seg_id, elems, comp_sep)


def issues(text: str, monkeypatch, *, cache: bool, engine: str = "fast"):
    with monkeypatch.context() as m:
        m.setattr(ig_fast, "WALK_CACHE", cache)
        m.setattr(ig_fast, "ShapeCache", Counting)
        try:
            return full(ig.issues_for_text(text, engine=engine))
        except Exception as exc:  # noqa: BLE001 - not X12: compared by type
            return type(exc)


def same(text: str, monkeypatch) -> None:
    assert issues(text, monkeypatch, cache=True) == issues(text, monkeypatch, cache=False), text[:300]


@pytest.mark.parametrize("path", CORPUS_FILES + SAMPLE_FILES + GOLDEN_FILES,
                         ids=lambda p: str(p.relative_to(p.parents[1])))
def test_real_files_same_issues(path, monkeypatch):
    text = read(path)
    same(text, monkeypatch)
    if "005010X222A2" in text:
        same(text.replace("005010X222A2", "005010X222A1"), monkeypatch)


def test_synthetic_files_same_issues_and_the_cache_is_used(tmp_path, monkeypatch):
    from cobpipe.synth import generate

    Counting.hits = 0
    # the per-segment path, whose every learned step is a ShapeCache replay (the block path, held to it
    # by test_ig_blocks.py, takes most learned blocks without asking the cache)
    monkeypatch.setattr(ig_fast, "BLOCKS", False)
    for seed, knobs in [(4, {}), (5, {"unbalanced_fraction": 0.2, "secondary_absent_fraction": 0.3})]:
        era, claims = generate(200, tmp_path / str(seed), seed=seed, **knobs)
        same(read(Path(era)), monkeypatch)
        same(read(Path(claims)), monkeypatch)
    assert Counting.hits > 1000


def many_claims() -> list[str]:
    """A clean 837P of 40 claims (8 distinct shapes repeated), as segments."""
    text = replicate_claims(read(CLEAN_837), 40)
    return [s for s in text.split("~") if s.strip()]


def block_mutant(segs: list[str], rnd: random.Random) -> str:
    """Mutate segments in the later half of the file, where the blocks' shapes have been learned."""
    segs = list(segs)
    hl22 = [i for i, s in enumerate(segs) if s.strip().startswith("HL*") and s.split("*")[3:4] == ["22"]]
    low = hl22[len(hl22) // 2]
    se = next(i for i, s in enumerate(segs) if s.strip().startswith("SE*"))
    for _ in range(rnd.randint(1, 3)):
        i = rnd.randrange(low, se)
        op = rnd.randrange(9)
        if op == 0:
            del segs[i]  # a required segment missing, a loop cut short
        elif op == 1:
            segs.insert(i, segs[i])  # a segment or loop too often
        elif op == 2:
            segs[i], segs[i + 1] = segs[i + 1], segs[i]  # out of order
        elif op == 3:  # another qualifier
            parts = segs[i].split("*")
            if len(parts) > 1:
                parts[1] = rnd.choice(JUNK + ["IL", "PR", "QC", "82", "77", "DN", "431", "484", "F8", "G1", "9F"])
                segs[i] = "*".join(parts)
        elif op == 4:  # another segment id
            parts = segs[i].split("*")
            parts[0] = "\n" + rnd.choice(TAGS + ["DTP", "REF", "AMT", "NTE", "PWK", "SBR", "PAT", "HI", "K3"])
            segs[i] = "*".join(parts)
        elif op == 5:  # a segment from elsewhere in the file
            segs.insert(i, rnd.choice(segs[1:se]))
        elif op == 6:  # a patient HL in a subscriber block, or a subscriber HL's child code changed
            parts = segs[i].split("*")
            if parts[0].strip() == "HL" and len(parts) > 4:
                parts[3] = rnd.choice(["22", "23", "20", "19"])
                parts[4] = rnd.choice(["0", "1", ""])
                segs[i] = "*".join(parts)
        elif op == 7:  # a qualifier emptied or the element dropped
            parts = segs[i].split("*")
            if len(parts) > 2:
                parts[rnd.randrange(1, len(parts))] = ""
                segs[i] = "*".join(parts)
        else:  # a composite qualifier changed (CTX-like keys, SV101-1, HI01-1)
            segs[i] = segs[i].replace("HC:", rnd.choice(["HC:", "ZZ:", "IV:", ":"]), 1).replace(
                "ABK:", rnd.choice(["ABK:", "ABF:", "BK:"]), 1)
    return "~".join(segs) + "~"


@pytest.mark.parametrize("seed", range(5))
def test_mutated_later_blocks_same_issues_as_the_uncached_walker(seed, monkeypatch):
    segs = many_claims()
    rnd = random.Random(seed)
    Counting.hits = 0
    with_errors = 0
    for _ in range(40):
        text = block_mutant(segs, rnd)
        cached = issues(text, monkeypatch, cache=True)
        assert cached == issues(text, monkeypatch, cache=False), text
        with_errors += bool(cached)
    assert with_errors > 10 and Counting.hits > 1000


@pytest.mark.parametrize("seed", range(3))
def test_mutated_later_blocks_same_issues_as_pyx12(seed, monkeypatch):
    segs = many_claims()
    rnd = random.Random(100 + seed)
    for _ in range(6):
        text = block_mutant(segs, rnd)
        reference = issues(text, monkeypatch, cache=False, engine="pyx12")
        assert issues(text, monkeypatch, cache=True) == reference, text


def test_mutated_small_files_same_issues(monkeypatch):
    from tests.edi.test_ig_fast import _small_texts, mutate

    texts = _small_texts()
    pool = [s.strip() for t in texts for s in t.split("~") if s.strip()]
    rnd = random.Random(1717)
    for _ in range(150):
        same(mutate(rnd.choice(texts), rnd, pool, texts), monkeypatch)


def test_an_error_in_a_learned_shape_is_still_found(monkeypatch):
    """The 31st subscriber block lacks its NM1*IL (required); the blocks before it taught the cache
    that shape with the segment in place."""
    segs = many_claims()
    hl22 = [i for i, s in enumerate(segs) if s.strip().startswith("HL*") and s.split("*")[3:4] == ["22"]]
    start, end = hl22[30], hl22[31]
    nm1 = next(i for i in range(start, end) if segs[i].strip().startswith("NM1*IL"))
    text = "~".join(segs[:nm1] + segs[nm1 + 1:]) + "~"
    found = issues(text, monkeypatch, cache=True)
    assert found == issues(text, monkeypatch, cache=False)
    assert any(code == "3" and level == "seg" for level, code, *_ in found)


def test_learning_stops_at_its_limit_and_the_issues_stay(monkeypatch):
    """A file with more shapes than the cache may learn: it stops learning, and nothing changes."""
    sizes = []

    class Small(ig_walk.ShapeCache):
        def __init__(self):
            super().__init__(limit=25)
            sizes.append(self)

    segs = many_claims()
    text = block_mutant(segs, random.Random(7))
    expected = issues(text, monkeypatch, cache=False)
    monkeypatch.setattr(ig_fast, "ShapeCache", Small)
    assert full(ig.issues_for_text(text, engine="fast")) == expected
    assert sizes and sizes[-1].size == 25


def secondary_claims(claims: int) -> str:
    """An 837P of secondary claims (2320/2430 loops with CAS), as convert writes them."""
    from edi.validate_pipe import _WARM_837P

    first_st = _WARM_837P.index("ST*")
    second_st = _WARM_837P.index("ST*", first_st + 1)
    one_set = _WARM_837P[:second_st] + "GE*1*1~\nIEA*1*000000001~\n"
    return replicate_claims(one_set, claims)


@pytest.mark.parametrize("copies", [1, 3, 4, 5])
def test_counts_decide_the_learned_state(monkeypatch, copies):
    """Shapes meet in one learned state only when the counts are equal too: a service line whose CAS
    repeat past the guide's limit late in the file, after lines with fewer were learned, is reported."""
    segs = [s for s in secondary_claims(30).split("~") if s.strip()]
    late = [i for i, s in enumerate(segs) if s.strip().startswith("CAS*PR*1*10")][-2]
    segs[late + 1:late + 1] = [segs[late]] * copies
    text = "~".join(segs) + "~"
    same(text, monkeypatch)
    found = issues(text, monkeypatch, cache=True)
    assert any(code == "5" for _l, code, *_rest in found) == (copies >= 4)


class Checked(ig_walk.ShapeCache):
    """Holds every step replayed or learned to the counts the walker has: the step's change is what
    comparing all the counts before and after it finds, and the trie node it leads to keeps the counts
    inside the block (its state) that filtering all the counts finds."""

    steps = 0

    def walk(self, walker, node, seg_id, elems, comp_sep):
        before = dict(walker.counts)
        found = super().walk(walker, node, seg_id, elems, comp_sep)
        if self.taken is not None:
            _key, (_found, delta, child) = self.taken
            after = walker.counts
            changed = {(p, v) for p, v in after.items() if before.get(p, ig_walk._MISSING) != v}
            assert set(delta) == changed | {(p, ig_walk._DELETED) for p in before if p not in after}
            assert child[ig_walk._STATE] == frozenset((p, v) for p, v in after.items() if p in self.block.desc)
            Checked.steps += 1
        return found


@pytest.mark.parametrize("blocks", [True, False])
def test_a_step_learns_its_change_and_state_from_the_counts_it_touched(monkeypatch, blocks):
    """ShapeCache learns a step's change from the paths the walk touched (edi.ig_walk._Walker.touched)
    and the state it leads to from the state of the trie node it starts at, not from all the counts:
    the same answers as comparing and filtering all of them, on clean files of many shapes, mutants
    whose errors end learned paths part way, and lines whose CAS repeat past the guide's limit."""
    monkeypatch.setattr(ig_fast, "BLOCKS", blocks)
    monkeypatch.setattr(ig_fast, "ShapeCache", Checked)
    Checked.steps = 0
    segs = many_claims()
    rnd = random.Random(29)
    texts = [secondary_claims(40), "~".join(segs) + "~"] + [block_mutant(segs, rnd) for _ in range(12)]
    cas = [s for s in secondary_claims(30).split("~") if s.strip()]
    late = [i for i, s in enumerate(cas) if s.strip().startswith("CAS*PR*1*10")][-2]
    cas[late + 1:late + 1] = [cas[late]] * 4
    texts.append("~".join(cas) + "~")
    for text in texts:
        ig.issues_for_text(text, engine="fast")
    assert Checked.steps > 500
