"""The guide check's block path (edi.ig_blocks) against the per-segment path it stands in for.

With ig_fast.BLOCKS off every segment goes through `_Driver.step` (the reference; itself held to
pyx12 by test_ig_fast.py and test_ig_walk_cache.py). With it on, runs of learned shapes are checked
by compiled expressions in one pass. Both must give the same issues (level, code, message, position,
tag, loop, element, value) and the same line for every segment, on every input: real files, synthetic
files of many claims, mutants of their later blocks (where the runs are learned), other layouts and
delimiters, and chunk boundaries anywhere (a small READ_CHARS cuts runs and blocks apart).
"""
from __future__ import annotations

import io
import random
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edi import ig, ig_blocks, ig_fast
from tests.edi.test_ig_walk_cache import block_mutant, many_claims

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus"
CORPUS_FILES = sorted(p for p in CORPUS.glob("*/*") if p.name != "README.md") if CORPUS.is_dir() else []
SAMPLE_FILES = sorted(p for p in (REPO / "samples").rglob("*") if p.suffix in (".835", ".837"))
GOLDEN_FILES = sorted(p for p in (REPO / "tests").glob("golden*/**/*") if p.suffix in (".835", ".837"))


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8-sig", errors="surrogateescape")


class Applied:
    """Counts the runs the block path took (so a test sees it was used): each run counts its own takings
    (`_Run.taken`), whether `_Blocks.apply` or the region's loop took it."""

    made: list = []  # every run learned since the last reset
    since = 0  # their takings at the reset

    @classmethod
    def runs(cls) -> int:
        return sum(run.taken for run in cls.made) - cls.since

    @classmethod
    def reset(cls) -> None:
        cls.since = sum(run.taken for run in cls.made)


def outcome(text: str, blocks: bool, read_chars: int | None = None):
    """(issues, line of every segment) of the fast engine on `text`, or the exception type."""
    saved = ig_fast.BLOCKS, ig_fast.READ_CHARS
    ig_fast.BLOCKS = blocks
    if read_chars:
        ig_fast.READ_CHARS = read_chars
    try:
        issues, lines = ig._issues(lambda: io.StringIO(text, newline=None), "<text>", "fast")
        return ([(i.level, i.code, i.message, i.position, i.tag, i.loop, i.element, i.value, i.line)
                 for i in issues], list(lines) if lines is not None else None)
    except Exception as exc:  # noqa: BLE001 - not X12: compared by type
        return type(exc)
    finally:
        ig_fast.BLOCKS, ig_fast.READ_CHARS = saved


@pytest.fixture(autouse=True)
def count_runs(monkeypatch):
    init = ig_blocks._Run.__init__

    def registered(self, *args, **kwargs):
        init(self, *args, **kwargs)
        Applied.made.append(self)

    monkeypatch.setattr(ig_blocks._Run, "__init__", registered)
    Applied.made, Applied.since = [], 0


class Marked:
    """Counts the reader's marks checked (so a test sees they were made)."""

    count = 0


@pytest.fixture(autouse=True)
def marks_checked(monkeypatch):
    """Every mark the fast reader gives its stream (edi.ig._UntilNewDelimiters.mark: the line at an
    offset, which lets the stream leave what came before uncounted) is the line a count of the text
    handed out before that offset gives, in every test of this file (both paths, every layout)."""
    init, handed_out, mark = (ig._UntilNewDelimiters.__init__, ig._UntilNewDelimiters._handed_out,
                              ig._UntilNewDelimiters.mark)
    seen: dict[int, tuple[int, list[str]]] = {}  # id of a stream -> (its first line, its text handed out)

    def recording_init(self, inner, first, first_line, *args, **kwargs):
        init(self, inner, first, first_line, *args, **kwargs)
        seen[id(self)] = (first_line, [])

    def recording(self, out):
        seen[id(self)][1].append(out)
        return handed_out(self, out)

    def checked(self, offset, line):
        first_line, outs = seen[id(self)]
        assert line == first_line + "".join(outs)[:offset].count("\n"), (offset, line)
        Marked.count += 1
        return mark(self, offset, line)

    monkeypatch.setattr(ig._UntilNewDelimiters, "__init__", recording_init)
    monkeypatch.setattr(ig._UntilNewDelimiters, "_handed_out", recording)
    monkeypatch.setattr(ig._UntilNewDelimiters, "mark", checked)
    Marked.count = 0


def same(text: str, read_chars: int | None = None):
    plain = outcome(text, False, read_chars)
    assert outcome(text, True, read_chars) == plain, text[:400]
    return plain


@pytest.mark.parametrize("path", CORPUS_FILES + SAMPLE_FILES + GOLDEN_FILES,
                         ids=lambda p: str(p.relative_to(p.parents[1])))
def test_real_files(path):
    text = read(path)
    same(text)
    same(text, read_chars=997)
    if "005010X222A2" in text:
        same(text.replace("005010X222A2", "005010X222A1"), read_chars=1500)


@pytest.mark.parametrize("seed, knobs", [
    (1, {}),
    (2, {"unbalanced_fraction": 0.2, "secondary_absent_fraction": 0.3}),
    (3, {"patient_fraction": 0.8, "max_lines": 12, "rendering_fraction": 0.9}),
    (4, {"patient_fraction": 0.0, "max_lines": 1, "denial_fraction": 0.3, "crossover_fraction": 0.2}),
    (6, {"claims_per_837": 70}),  # several transaction sets: runs learned in one are taken in the next
])
def test_synthetic_files_take_the_block_path_and_agree(tmp_path, seed, knobs):
    from cobpipe.synth import generate

    _era, claims = generate(400, tmp_path, seed=seed, **knobs)
    text = read(Path(claims))
    same(text)
    assert Applied.runs() > 200  # most blocks went through the block path
    Applied.reset()
    same(text, read_chars=4093)  # chunk boundaries cut through blocks and runs
    assert Applied.runs() > 100
    assert Marked.count > 20  # (see marks_checked)


def _synthetic(tmp_path, seed=5) -> str:
    from cobpipe.synth import generate

    _era, claims = generate(150, tmp_path, seed=seed)
    return read(Path(claims))


LAYOUTS = {
    "crlf": lambda t: t.replace("~\n", "~\r\n"),
    "one line": lambda t: t.replace("~\n", "~"),
    "blank lines": lambda t: t.replace("~\nLX*", "~\n\nLX*"),
    "leading spaces": lambda t: t.replace("~\nDTP*", "~\n DTP*"),
    "wrapped segment": lambda t: t.replace("~\nN3*", "~\nN3*\n", 7),
    "other delimiters": lambda t: t.replace("*", "|").replace(":", "^").replace("~", "!"),
    "lone CR": lambda t: t.replace("~\n", "~\r"),
    # longer than pyx12's 8 KiB buffer: it stops reading there
    "long segment": lambda t: t[:len(t) // 2] + t[len(t) // 2:].replace("~\nN3*", "~\nN3*" + "A" * 20000, 1),
    # longer than a 3001-character read, within the buffer: pyx12 reads it (so must we, across reads)
    "segment longer than a read": lambda t: t[:len(t) // 2] + t[len(t) // 2:].replace("~\nN3*", "~\nN3*" + "C" * 8100, 1),
    "long segment on one line": lambda t: (t[:len(t) // 2] + t[len(t) // 2:].replace(
        "~\nN3*", "~\nN3*" + "B" * 8185, 1)).replace("~\n", "~"),
}


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_layouts(tmp_path, name):
    text = _synthetic(tmp_path)
    changed = LAYOUTS[name](text)
    # a long segment spanning reads: the read stops once its terminator is sure to lie beyond
    # pyx12's buffer (memory stays flat), with the outcome of reading on until the terminator
    stopping = same(changed, read_chars=3001)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ig_fast._Reader, "beyond_buffer", lambda self, carry: self.ended)
        assert outcome(changed, False, 3001) == stopping
    same(changed)
    # the layout changing in the middle of the file (one chunk regular, the next not)
    half = len(text) // 2
    cut = text.index("~\n", half) + 2
    same(text[:cut] + LAYOUTS[name](text[cut:]), read_chars=5000)


def _renumber(text: str, rnd: random.Random) -> str:
    """A wrong count or number somewhere in the later half: HL01, HL02, LX01, SE01."""
    segs = text.split("~")
    half = len(segs) // 2
    for _ in range(rnd.randint(1, 2)):
        i = rnd.randrange(half, len(segs) - 1)
        parts = segs[i].split("*")
        tag = parts[0].strip()
        if tag in ("HL", "LX", "SE") and len(parts) > 1:
            k = 2 if tag == "HL" and rnd.random() < 0.5 else 1
            parts[k] = rnd.choice(["1", "2", "3", "99", "", "0" + parts[k], str(int(parts[k] or 0) + 1)])
            segs[i] = "*".join(parts)
    return "~".join(segs)


@pytest.mark.parametrize("seed", range(4))
def test_mutated_later_blocks(seed):
    segs = many_claims()
    rnd = random.Random(seed)
    with_errors = 0
    for _ in range(30):
        text = block_mutant(segs, rnd)
        if rnd.random() < 0.3:
            text = _renumber(text, rnd)
        found = same(text)
        same(text, read_chars=rnd.choice([1200, 2048, 5555]))
        with_errors += bool(found[0]) if isinstance(found, tuple) else 0
    assert with_errors > 10


@pytest.mark.parametrize("seed", range(3))
def test_wrong_numbers_in_learned_blocks(tmp_path, seed):
    text = _synthetic(tmp_path, seed=seed + 20)
    rnd = random.Random(seed)
    for _ in range(12):
        same(_renumber(text, rnd), read_chars=rnd.choice([None, 3000]))


@st.composite
def edits(draw):
    """A few random edits of a clean 837P's later blocks: another value, element or segment
    dropped, doubled or moved, a separator or line break added where a segment ends."""
    segs = many_claims()
    n = len(segs)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(n // 3, n - 4))
        op = draw(st.sampled_from(["value", "drop", "dup", "swap", "trail", "newline", "date", "code"]))
        parts = segs[i].split("*")
        if op == "value" and len(parts) > 1:
            k = draw(st.integers(1, len(parts) - 1))
            parts[k] = draw(st.sampled_from(["", "X", "1", "20261301", "ZZ", "99", "A" * 90, "01", "IL", "22"]))
            segs[i] = "*".join(parts)
        elif op == "drop":
            del segs[i]
        elif op == "dup":
            segs.insert(i, segs[i])
        elif op == "swap":
            segs[i], segs[i + 1] = segs[i + 1], segs[i]
        elif op == "trail":
            segs[i] += draw(st.sampled_from(["*", "*:", " ", ":"]))
        elif op == "newline":
            segs[i] = draw(st.sampled_from(["\n", "\n\n", "\r\n", " ", ""])) + segs[i].lstrip("\n")
        elif op == "date":
            segs[i] = segs[i].replace("D8*2", draw(st.sampled_from(["D8*2", "D8*1", "RD8*2", "D8*X"])), 1)
        else:
            segs[i] = segs[i].replace("HC:", draw(st.sampled_from(["HC:", "XX:", ":"])), 1)
    return "~".join(segs) + "~"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=edits(), read_chars=st.sampled_from([None, 1500, 4444]))
def test_random_edits_of_valid_claims(text, read_chars):
    same(text, read_chars)


def test_several_interchanges_in_one_file(tmp_path):
    """Interchanges one after the other (the walk is forced at each ISA/GS): the same as per segment."""
    from cobpipe.synth import generate

    texts = []
    for seed in (11, 12):
        _era, claims = generate(200, tmp_path / str(seed), seed=seed)
        texts.append(read(Path(claims)))
    joined = texts[0] + texts[1] + texts[0].replace("000000001", "000000003")
    same(joined)
    assert Applied.runs() > 200
    same(joined, read_chars=7000)


@pytest.mark.parametrize("map_file", ["837.5010.X222.A1.xml", "835.5010.X221.A1.xml"])
def test_nodes_said_to_need_content_accept_no_empty_segment(map_file):
    """Where ig_regex.content_required says so, the block path leaves out its own "not empty"
    look-ahead: the node's expression must then refuse every segment X12Reader calls empty."""
    from edi.ig_map import load_map
    from edi.ig_regex import content_required, segment_matcher

    required = 0
    for node in load_map(map_file).by_path.values():
        if not getattr(node, "is_segment", False) or not content_required(node, "*", ":", "~"):
            continue
        required += 1
        matcher = segment_matcher(node, "*", ":", "~")
        width = len(node.by_idx) + 1
        empties = [node.id + "".join("*" + ":" * ((k * j) % 3) for k in range(n)) for n in range(width + 1)
                   for j in range(3)]
        assert not any(matcher(text) for text in empties), node.path
        assert not matcher(node.id)
    assert required > 30


def test_a_key_value_keeps_content():
    """A qualifier value with a character other than the separators makes a segment non-empty."""
    keeps = ig_blocks._keeps_content
    assert keeps(("SV1", "HC"), "*", ":") and keeps(("HI", "ABK", "ABF"), "*", ":")
    assert keeps(("NM1", ig_blocks._OTHER, "IL"), "*", ":")
    assert not keeps(("OI",), "*", ":")
    assert not keeps(("X1", ig_blocks._OTHER, ig_blocks._MISSING), "*", ":")
    assert not keeps(("X1", ":"), "*", ":") and not keeps(("X1", "*:"), "*", ":")


def test_run_expressions_without_their_own_look_ahead_accept_no_empty_segment(tmp_path, monkeypatch):
    """Where a run's expression leaves out the "not empty" look-ahead because its key requires a value
    (`_keeps_content`), the expression must refuse every segment X12Reader calls empty, and it must
    still accept the segments it was learned from (the block path agrees with the per-segment one)."""
    from edi.ig_regex import content_required

    made = []
    pattern = ig_blocks._Blocks.pattern

    def recording(self, node, key, lx01):
        found = pattern(self, node, key, lx01)
        if found is not None and not content_required(node, self.ele, self.comp, self.term):
            made.append((node, key, found))
        return found

    monkeypatch.setattr(ig_blocks._Blocks, "pattern", recording)
    same(_synthetic(tmp_path, seed=9))
    trimmed = [(node, key, found) for node, key, found in made if ig_blocks._keeps_content(key, "*", ":")]
    assert {node.id for node, _key, _found in trimmed} >= {"SV1", "HI"}
    for node, key, found in trimmed:
        assert "[*:]*[^*:]" not in found.pattern.replace("\\", "")
        width = len(node.by_idx) + 1
        empties = [node.id + "".join("*" + ":" * ((k * j) % 3) for k in range(n)) for n in range(width + 1)
                   for j in range(3)]
        assert not any(found.fullmatch(text) for text in empties), (node.path, key)


def test_the_walk_counts_end_as_segment_by_segment(tmp_path, monkeypatch):
    """Runs leave their count changes, the error tree's current segment and the walk's node to
    _Blocks.flush, and a block's entry drops them: at the end (and so wherever the per-segment path
    takes over) the walk's counts and node and the error tree's current segment are the per-segment
    path's."""
    drivers = []
    init = ig_fast._Driver.__init__

    def keeping(self, *args, **kwargs):
        init(self, *args, **kwargs)
        drivers.append(self)

    monkeypatch.setattr(ig_fast._Driver, "__init__", keeping)
    text = _synthetic(tmp_path, seed=9)
    cut = text.rindex("~\nHL*") + 2
    # the whole file; its last block cut short; the file cut off after the last block's runs (no SE)
    for changed in (text, text[:text.index("~\nLX*", cut) + 2] + text[text.index("~\nSE*", cut) + 2:],
                    text[:text.index("~\nSE*", cut) + 2]):
        counts = []
        for blocks in (True, False):
            drivers.clear()
            outcome(changed, blocks)
            errh = drivers[-1].errh
            counts.append((dict(drivers[-1].walker.counts), drivers[-1].node, errh.position, errh.lazy))
        assert counts[0] == counts[1]
    assert Applied.runs() > 100


@settings(max_examples=500, deadline=None)
@given(parts=st.lists(st.sampled_from(["a", "B*1", "~", "\n", "\r", "~\n", "~\r\n", "\n\n", "~~"]), max_size=12),
       layout=st.sampled_from(["\n", "\r\n", ""]))
def test_an_empty_piece_is_found_as_the_texts_show_it(parts, layout):
    region = layout + "".join(parts) + "~"
    texts = region[len(layout):-1].split("~" + layout)
    assert ig_blocks.empty_piece(region, layout, "~") == ("" in texts)


def _layout_reference(region: str, term: str, line: int):
    """`_Blocks._layout` as it was written first (three counts of the region): the reference."""
    first = region[0]
    if first == "\n" or first == "\r":
        nl = "\r\n" if first == "\r" else "\n"
        if not region.startswith(nl):
            return None
        texts = region[len(nl):-1].split(term + nl)
        n = len(texts)
        if (region.count(term) != n or region.count("\n") != n
                or (region.count("\r") != n if first == "\r" else "\r" in region)):
            return None
        line0, step = line + 1, 1
    else:
        if "\n" in region or "\r" in region:
            return None
        texts = region[:-1].split(term)
        line0, step, nl = line, 0, ""
    if ig_blocks.empty_piece(region, nl, term):
        return None
    return texts, line0, step, nl


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(st.text("AB*~\n\r", min_size=1, max_size=6), min_size=1, max_size=8),
       lead=st.sampled_from(["\n", "\r\n", "", "\r"]))
def test_the_layout_is_read_as_the_counts_read_it(parts, lead):
    from types import SimpleNamespace

    region = "".join(lead + p + "~" for p in parts)
    blocks = SimpleNamespace(term="~", reader=SimpleNamespace(line=5))
    assert ig_blocks._Blocks._layout(blocks, region) == _layout_reference(region, "~", 5)


def test_learned_lengths_are_kept_shortest_first(tmp_path):
    """`region` takes the first learned length that reaches the next HL or LX; the lengths of each trie
    node's runs stay in order however they were learned."""
    seen = []
    learn = ig_blocks._Blocks.learn

    def checking(self, trie, length, steps, lx_start):
        learn(self, trie, length, steps, lx_start)
        fast = trie.get(ig_blocks._FAST)
        if fast:
            seen.append(list(fast))

    from cobpipe.synth import generate

    _era, claims = generate(300, tmp_path, seed=3, patient_fraction=0.8, max_lines=12)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(ig_blocks._Blocks, "learn", checking)
        same(read(Path(claims)))
    assert seen and all(lengths == sorted(lengths) for lengths in seen)
    assert any(len(lengths) > 1 for lengths in seen)


def test_a_unit_is_told_an_hl_by_its_first_letter_and_a_region_by_its_first_text(tmp_path, monkeypatch):
    """A unit after a region's first starts where the last one ended, at an HL or an LX, so `region` tells
    an HL there by its first letter; the region's first text may be any segment (chunks are cut
    anywhere) and is looked at whole. Only HLs are offered to the learned block entries, blocks are
    entered at the start of regions and after runs, and the issues and lines stay the per-segment
    path's, over chunk cuts that start regions at HLs, LXs and other segments."""
    offered, firsts = [], []
    layout, enter = ig_blocks._Blocks._layout, ig_blocks._Blocks.enter

    def recording_layout(self, region):
        found = layout(self, region)
        if found is not None:
            firsts.append(found[0][0])
        return found

    def recording_enter(self, entries, text):
        taken = enter(self, entries, text)
        by_region = sys._getframe(1).f_code.co_name == "region"  # (not the per-segment path's `unit`)
        offered.append((text, taken, by_region and bool(firsts) and text is firsts[-1]))
        return taken

    monkeypatch.setattr(ig_blocks._Blocks, "_layout", recording_layout)
    monkeypatch.setattr(ig_blocks._Blocks, "enter", recording_enter)
    text = _synthetic(tmp_path)
    for read_chars in range(3001, 4100, 61):
        same(text, read_chars)
    assert offered and all(t.startswith("HL*") for t, _taken, _first in offered)
    assert any(taken and first for _t, taken, first in offered)  # by `region`, at a region's start
    assert any(taken and not first for _t, taken, first in offered)
    assert {t[:3] for t in firsts} >= {"HL*", "LX*"} and any(t[:3] not in ("HL*", "LX*") for t in firsts)
