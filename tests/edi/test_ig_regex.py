"""The compiled segment expressions (edi.ig_regex) against the element checks they let segments skip.

Soundness: a segment an expression accepts must be one edi.ig_checks.segment_errors finds nothing in
(and does not raise on). Checked on every segment the fast engine checks in the corpus, the samples,
the golden outputs and synthetic files, and on generated mutants of those segments; and whole files
(the same plus mutated files) give the same issues, messages included, with and without expressions.
"""
from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edi import ig, ig_fast, ig_regex
from edi.ig_issues import Crash

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"
CORPUS_FILES = sorted(p for p in CORPUS.glob("*/*") if p.name != "README.md") if CORPUS.is_dir() else []
SAMPLE_FILES = sorted(p for p in (REPO / "samples").rglob("*") if p.suffix in (".835", ".837"))
GOLDEN_FILES = sorted(p for p in (REPO / "tests" / "golden").rglob("*") if p.suffix in (".835", ".837"))


def full(issues):
    return [(i.level, i.code, i.message, i.position, i.tag, i.loop, i.element, i.value) for i in issues]


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8-sig", errors="surrogateescape")


def checked_segments(text: str, monkeypatch) -> list[tuple]:
    """(node, line, delimiters, elements, errors or Crash) for every segment the fast engine runs
    the element checks on (expressions off, so every one of them gets there)."""
    calls = []
    real = ig_fast.segment_errors

    def recording(node, seg_id, elems, comp):
        try:
            errors = real(node, seg_id, elems, comp)
        except Crash:
            calls.append((node, seg_id, list(elems), comp, Crash))
            raise
        calls.append((node, seg_id, list(elems), comp, errors))
        return errors

    with monkeypatch.context() as m:
        m.setattr(ig_fast, "segment_errors", recording)
        m.setattr(ig_fast, "SEGMENT_REGEX", False)
        ig.issues_for_text(text, engine="fast")
    return calls


def delimiters(text: str) -> tuple[str, str, str]:
    text = text.lstrip("\ufeff").lstrip()
    return text[3], text[104], text[105]


def verdicts(text: str, monkeypatch) -> tuple[int, int, list]:
    """(segments accepted, segments checked, accepted segments the checks find errors in)."""
    if not text.lstrip("\ufeff").lstrip().startswith("ISA") or len(text) < 106:
        return 0, 0, []
    ele, _comp, term = delimiters(text)
    accepted, unsound = 0, []
    calls = checked_segments(text, monkeypatch)
    for node, seg_id, elems, comp, errors in calls:
        matcher = ig_regex.segment_matcher(node, ele, comp, term) if node.is_segment else None
        line = ele.join([seg_id, *elems]) if elems else seg_id
        if matcher is not None and matcher(line) is not None:
            accepted += 1
            if errors:
                unsound.append((line, errors))
    return accepted, len(calls), unsound


def same_with_and_without(text: str, monkeypatch) -> None:
    with monkeypatch.context() as m:
        m.setattr(ig_fast, "SEGMENT_REGEX", False)
        try:
            plain = full(ig.issues_for_text(text, engine="fast"))
        except Exception as exc:  # noqa: BLE001 - not X12: the same either way
            with pytest.raises(type(exc)):
                ig.issues_for_text(text, engine="fast")
            return
    assert full(ig.issues_for_text(text, engine="fast")) == plain


# --- every segment of real files --------------------------------------------------------------------


@pytest.mark.parametrize("path", CORPUS_FILES + SAMPLE_FILES + GOLDEN_FILES,
                         ids=lambda p: str(p.relative_to(p.parents[1])))
def test_no_accepted_segment_has_an_error(path, monkeypatch):
    text = read(path)
    for variant in {text, text.replace("005010X222A2", "005010X222A1")}:
        _accepted, _checked, unsound = verdicts(variant, monkeypatch)
        assert unsound == []
        same_with_and_without(variant, monkeypatch)


def test_corpus_is_there_or_skipped():
    if not CORPUS_FILES:
        pytest.skip(f"no corpus at {CORPUS}")
    assert len(CORPUS_FILES) >= 5


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    from cobpipe.synth import generate

    texts = []
    for seed, knobs in [(1, {}), (2, {"unbalanced_fraction": 0.1, "secondary_absent_fraction": 0.3}),
                        (3, {"claims_per_835": 40})]:
        era, claims = generate(150, tmp_path_factory.mktemp(f"synth{seed}"), seed=seed, **knobs)
        texts += [read(Path(era)), read(Path(claims))]
    return texts


def test_synthetic_files_every_segment(synthetic, monkeypatch):
    for text in synthetic:
        accepted, checked, unsound = verdicts(text, monkeypatch)
        assert unsound == []
        # the expressions are used: clean output skips the element checks almost everywhere
        assert accepted >= 0.95 * checked, (accepted, checked)
        same_with_and_without(text, monkeypatch)


def test_the_engine_uses_the_expressions(synthetic, monkeypatch):
    """With expressions on, a clean synthetic 837P reaches the element checks only for its ISA."""
    claims = next(t for t in synthetic if "005010X222A1" in t)
    reached = []
    real = ig_fast.segment_errors

    def counting(node, seg_id, elems, comp):
        reached.append(seg_id)
        return real(node, seg_id, elems, comp)

    monkeypatch.setattr(ig_fast, "segment_errors", counting)
    assert ig.issues_for_text(claims, engine="fast") == []
    assert reached == ["ISA"]


# --- mutants ----------------------------------------------------------------------------------------

VALUES = ["", " ", "A", "a", "AB ", " AB", "ZZ", "Q9", "1", "0", "00", "-1", "1.", ".5", "-.5", "1.2.3", "--1",
          "12345678901234567890", "1" * 9, "1" * 10, "X" * 60, "X" * 61, "20260101", "20260229", "20240229",
          "20000229", "19000229", "18000101", "17991231", "20261301", "20260431", "20260100", "2026010",
          "202601011", "20260101-20260102", "20260101-", "20260101-2026010A", "2026-01-01", "260101",
          "0930", "2400", "2360", "235959", "2359599", "23595999", "235960", "12345", "D8", "RD8", "DT",
          "TM", "D6", "HC", "HC:99213", "ABK:J20", "1:2", ":", "::", "A:", ":A", "1:2:3:4:5:6:7:8", "^",
          "A^B", "\t", "A\nB", "A\rB", "\x07", "\u00c4", "\u00e9", "~", "*", "AB\x1dCD", "11", "12", "18",
          "P", "S", "T", "Y", "N", "W", "IL", "QC", "85", "87", "PR", "XX", "MI", "II", "1A", "2", "3",
          "472", "434", "435", "EA", "UN", "MJ", "ZIP", "NY", "XX1", "US", "CA", "ON", "CAD", "USD"]
CHARS = list("AZaz09 .-:*^~!\"&'()+,/;?=%@[]_{}\\|<>#$`") + ["\t", "\n", "\x00", "\x1d", "\u00c4"]


def mutate_segment(line: str, ele: str, comp: str, rnd: random.Random) -> str:
    parts = line.split(ele)
    for _ in range(rnd.randint(1, 3)):
        op = rnd.randrange(10)
        i = rnd.randrange(1, len(parts)) if len(parts) > 1 else 0
        if op == 0 and len(parts) > 1:  # a value from the pool
            parts[i] = rnd.choice(VALUES).replace("*", ele).replace(":", comp)
        elif op == 1 and parts[i]:  # flip one character
            j = rnd.randrange(len(parts[i]))
            parts[i] = parts[i][:j] + rnd.choice(CHARS) + parts[i][j + 1:]
        elif op == 2 and len(parts) > 1:  # longer or shorter
            parts[i] = parts[i] + parts[i][-1:] * rnd.randint(1, 40) if rnd.random() < 0.5 else parts[i][:-1]
        elif op == 3 and len(parts) > 1:  # empty
            parts[i] = ""
        elif op == 4:  # an extra element
            parts.append(rnd.choice(VALUES))
        elif op == 5 and len(parts) > 1:  # a component more or less
            parts[i] = parts[i] + comp + rnd.choice(VALUES) if rnd.random() < 0.7 else parts[i].rsplit(comp, 1)[0]
        elif op == 6 and len(parts) > 1:  # an element less
            del parts[i]
        elif op == 7 and len(parts) > 1:  # a repetition separator or another delimiter inside
            j = rnd.randrange(len(parts[i]) + 1)
            parts[i] = parts[i][:j] + rnd.choice(["^", comp, " ", "."]) + parts[i][j:]
        elif op == 8 and len(parts) > 1:  # a value of another segment in the same place
            parts[i] = rnd.choice(VALUES)
        elif op == 9 and len(parts) > 2:  # two values swapped
            j = rnd.randrange(1, len(parts))
            parts[i], parts[j] = parts[j], parts[i]
    return ele.join(parts)


@pytest.fixture(scope="module")
def segment_pool(synthetic):
    """(node, line, delimiters) of every distinct segment the engine checks in the test files."""
    mp = pytest.MonkeyPatch()
    pool = {}
    try:
        for text in synthetic + [read(p) for p in CORPUS_FILES + SAMPLE_FILES + GOLDEN_FILES]:
            if not text.lstrip("\ufeff").lstrip().startswith("ISA"):
                continue
            text = text.replace("005010X222A2", "005010X222A1")
            ele, _comp, term = delimiters(text)
            for node, seg_id, elems, comp, _errors in checked_segments(text, mp):
                if node.is_segment and node.id == seg_id:
                    line = ele.join([seg_id, *elems]) if elems else seg_id
                    pool.setdefault((id(node), line), (node, line, ele, comp, term))
    finally:
        mp.undo()
    return list(pool.values())


def check_mutant(node, line, ele, comp, term) -> bool:
    """True when the expression accepts `line`; then the checks must find nothing (and not raise)."""
    matcher = ig_regex.segment_matcher(node, ele, comp, term)
    if matcher is None or matcher(line) is None:
        return False
    parts = line.split(ele)
    try:
        errors = ig_fast.segment_errors(node, parts[0], parts[1:], comp)
    except Crash as exc:
        raise AssertionError(f"accepted, but the checks raise {exc.kind}: {line!r}") from None
    assert errors == [], (line, node.path, errors)
    return True


@pytest.mark.parametrize("seed", range(4))
def test_mutated_segments_accepted_only_when_clean(segment_pool, seed):
    rnd = random.Random(seed)
    accepted = 0
    for _ in range(15_000):
        node, line, ele, comp, term = rnd.choice(segment_pool)
        accepted += check_mutant(node, mutate_segment(line, ele, comp, rnd), ele, comp, term)
    assert accepted > 1000  # mutants that stay valid are accepted too (the test can see both sides)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_segments_accepted_only_when_clean(segment_pool, data):
    node, line, ele, comp, term = data.draw(st.sampled_from(segment_pool))
    parts = line.split(ele)
    count = data.draw(st.integers(0, 3))
    for _ in range(count):
        i = data.draw(st.integers(0, len(parts)))
        value = data.draw(st.one_of(st.sampled_from(VALUES), st.text(st.sampled_from(CHARS + [comp]), max_size=12)))
        if i == 0:
            continue
        if i == len(parts):
            parts.append(value)
        else:
            parts[i] = value
    check_mutant(node, ele.join(parts), ele, comp, term)


def test_dates_exactly_where_the_checks_take_them():
    """Every day of four years (a leap year among them) and impossible dates: DATE8 accepts only dates
    the checks accept (February 29th goes to the checks)."""
    import datetime as dt
    import re

    from edi.ig_checks import _valid_date

    date8 = re.compile(ig_regex.DATE8)
    day = dt.date(2023, 1, 1)
    while day.year < 2027:
        text = day.strftime("%Y%m%d")
        assert (date8.fullmatch(text) is not None) == (text[4:] != "0229")
        day += dt.timedelta(days=1)
    for text in ["20261301", "20260001", "20260431", "20260230", "17991231", "00000000", "2026011", "202601011"]:
        assert date8.fullmatch(text) is None
        assert not (len(text) == 8 and text.isdigit() and _valid_date("D8", text)) or text[4:] == "0229"


def test_mutated_files_same_issues_with_and_without_expressions(monkeypatch):
    from tests.edi.test_ig_fast import _small_texts, mutate

    texts = _small_texts()
    pool = [s.strip() for t in texts for s in t.split("~") if s.strip()]
    rnd = random.Random(17)
    for _ in range(150):
        same_with_and_without(mutate(rnd.choice(texts), rnd, pool, texts), monkeypatch)


def test_other_delimiters_and_no_expression_for_odd_ones(monkeypatch):
    text = read(REPO / "samples" / "cob" / "claims.837")
    ele, comp, term = delimiters(text)
    other = text.replace(ele, "|").replace(comp, ">").replace(term, "\n")
    accepted, checked, unsound = verdicts(other, monkeypatch)
    assert unsound == [] and accepted >= checked - 1
    same_with_and_without(other, monkeypatch)
    mp = ig_fast.load_map("837.5010.X222.A1.xml")
    nm1 = mp.by_path["/ISA_LOOP/GS_LOOP/ST_LOOP/HEADER/1000A/NM1"]
    assert ig_regex.segment_pattern(nm1, "A", ":", "~") is None  # a letter as a delimiter: not compiled
    assert ig_regex.segment_pattern(mp.by_path["/ISA_LOOP/ISA"], "*", ":", "~") is None
