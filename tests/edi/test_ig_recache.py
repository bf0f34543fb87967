"""edi.ig_recache: an expression built from its kept code is the one re.compile builds."""
from __future__ import annotations

import functools
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edi import ig_recache
from edi.ig_map import load_map
from edi.ig_regex import segment_pattern

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not ig_recache._USABLE, reason="needs CPython's re internals")


@pytest.fixture
def fresh_store(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("COBPIPE_IG_CACHE", raising=False)
    monkeypatch.setattr(ig_recache, "_store", ig_recache._Store())
    return tmp_path


@functools.cache
def node_patterns() -> list[str]:
    mp = load_map("837.5010.X222.A1.xml")
    found = [segment_pattern(node, "*", ":", "~") for node in mp.by_path.values() if node.is_segment]
    return [p for p in found if p is not None][:60]


def test_kept_code_is_what_re_compiles(fresh_store):
    patterns = node_patterns() + [r"(?P<a>x)(?=y)\Z", "(?!)", "[^*]*"]
    for pattern in patterns:
        entry = ig_recache.code_of(pattern, re.S)
        expected = re._compiler.compile(re._parser.parse(pattern, re.S), re.S)
        assert entry[0] == expected.flags and entry[2] == expected.groups
        assert entry[1] == [int(c) for c in re._compiler._code(re._parser.parse(pattern, re.S), re.S)]
    for pattern in patterns:
        ig_recache.compile(pattern, re.S)
    ig_recache.save()
    assert ig_recache.store_path().is_file()
    # a new process's store, read from the file
    ig_recache._store = ig_recache._Store()
    for pattern in patterns:
        kept = ig_recache.compile(pattern, re.S)
        plain = re.compile(pattern, re.S)
        assert kept == plain  # (CPython compares the code too)
        assert (kept.groups, kept.groupindex) == (plain.groups, plain.groupindex)
    assert ig_recache._store.added == 0  # every one came from the file


@functools.cache
def built_both_ways() -> list[tuple[re.Pattern, re.Pattern]]:
    return [(ig_recache._sre.compile(p, *ig_recache.code_of(p, re.S)), re.compile(p, re.S))
            for p in node_patterns()[:25]]


@settings(max_examples=150, deadline=None)
@given(text=st.text(alphabet="NM1*IL:~ 0123456789ABZ", max_size=40))
def test_kept_expressions_match_as_re_does(text):
    for kept, plain in built_both_ways():
        assert kept == plain and bool(kept.fullmatch(text)) == bool(plain.fullmatch(text))


def test_a_bad_entry_is_compiled_again(fresh_store):
    ig_recache.compile("NM1\\*", re.S)
    ig_recache._store.known[("NM1\\*", re.S)] = (0, [999999], 0, {}, ())  # refused by the C engine
    assert ig_recache.compile("NM1\\*", re.S).fullmatch("NM1*")


def test_unreadable_file_and_turned_off(fresh_store, monkeypatch):
    path = ig_recache.store_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x80garbage")
    assert ig_recache.compile("AB", 0).fullmatch("AB")
    monkeypatch.setattr(ig_recache, "_store", ig_recache._Store())
    monkeypatch.setenv("COBPIPE_IG_CACHE", "0")
    assert ig_recache.compile("AB", 0).fullmatch("AB")
    assert ig_recache._store.path is None


def test_validation_the_same_with_and_without_the_kept_expressions(tmp_path):
    """Two processes (the second from the kept file) and one without: the same findings."""
    from cobpipe.synth import generate

    _era, claims = generate(120, tmp_path / "in", seed=3, unbalanced_fraction=0.2)
    text = Path(claims).read_text()
    bad = text.replace("*HC:", "*XX:", 3).replace("D8*20", "D8*19", 2)  # a few errors in learned blocks
    path = tmp_path / "bad.837"
    path.write_text(bad)
    script = ("import sys, json; from edi import ig; "
              "print(json.dumps([f.to_dict() for f in ig.validate_file(sys.argv[1], capped=False)]))")
    env = {"PATH": "/usr/bin:/bin", "XDG_CACHE_HOME": str(tmp_path / "cache"), "HOME": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, cwd=REPO,
                           env=env | extra, check=True).stdout
            for extra in ({}, {}, {"COBPIPE_IG_CACHE": "0"})]
    assert runs[0] == runs[1] == runs[2]
    assert '"IG-' in runs[0]
    assert list((tmp_path / "cache" / "cobpipe" / "ig-maps").glob("expressions-*.pickle"))


def test_kept_texts_are_the_written_ones(fresh_store):
    from edi import ig_regex

    nodes = [n for n in load_map("837.5010.X222.A1.xml").by_path.values() if n.is_segment][:120]
    assert all(n.token for n in nodes)  # (the map is kept: its nodes' texts may be)
    written = [ig_regex._segment_text(n, "*", ":", "~", None) for n in nodes]
    pinned = [ig_regex._segment_text(n, "*", ":", "~", {0: "IL"}) for n in nodes]
    assert [segment_pattern(n, "*", ":", "~") for n in nodes] == written
    assert [segment_pattern(n, "*", ":", "~", {0: "IL"}) for n in nodes] == pinned
    ig_recache.save()
    ig_recache._store = ig_recache._Store()  # a new process's store, read from the file
    assert [segment_pattern(n, "*", ":", "~", {0: "IL"}) for n in nodes] == pinned
    assert [segment_pattern(n, "*", ":", "~") for n in nodes] == written
    assert [segment_pattern(n, "|", "^", "!") for n in nodes[:5]] == [
        ig_regex._segment_text(n, "|", "^", "!", None) for n in nodes[:5]]
    assert ig_recache._store.added == 5  # all but the new delimiters' came from the file


def test_a_file_of_stale_entries_starts_afresh_and_still_keeps_new_ones(fresh_store):
    """Entries of older maps and compilers (keys no process asks for any more) do not pile up: past
    LIMIT the file is written afresh with what the saving process used, its new entries included
    (before, a full file refused every new expression for good)."""
    patterns = node_patterns()[:3]
    stale_known = {(f"stale{n}", 0): ig_recache.code_of("a", 0) for n in range(ig_recache.LIMIT // 2)}
    stale_texts = {("837.old-map-token", f"/path/{n}", "*", ":", "~", ()): "x" for n in range(ig_recache.LIMIT)}
    ig_recache._store.loaded = True
    ig_recache._store.path = ig_recache.store_path()
    ig_recache._store.known, ig_recache._store.texts = dict(stale_known), dict(stale_texts)
    ig_recache.compile(patterns[0])  # a new expression, with the store over LIMIT
    ig_recache.text(("837.new-map-token", "/p", "*", ":", "~", ()), lambda: "y")
    assert ig_recache.compile("stale-never-asked") is not None  # (added, then used: kept too)
    ig_recache.save()

    ig_recache._store = ig_recache._Store()  # a new process's store, read from the file
    ig_recache._load()
    kept = ig_recache._store
    assert set(kept.known) == {(patterns[0], 0), ("stale-never-asked", 0)}
    assert set(kept.texts) == {("837.new-map-token", "/p", "*", ":", "~", ())}
    assert ig_recache.compile(patterns[0]).pattern == patterns[0]
    assert kept.added == 0  # (from the file)
    ig_recache.compile(patterns[1])
    assert kept.added == 1  # under LIMIT again: new ones are kept as ever


def test_the_file_never_holds_more_than_limit(fresh_store, monkeypatch):
    monkeypatch.setattr(ig_recache, "LIMIT", 8)
    for pattern in node_patterns()[:20]:
        ig_recache.compile(pattern)
    for n in range(20):
        ig_recache.text(("tok", f"/p{n}", "*", ":", "~", ()), lambda n=n: str(n))
    ig_recache.save()
    ig_recache._store = ig_recache._Store()
    ig_recache._load()
    assert len(ig_recache._store.known) + len(ig_recache._store.texts) <= 8
    assert ("tok", "/p19", "*", ":", "~", ()) in ig_recache._store.texts  # the latest are the ones kept


def test_content_required_is_kept_so_a_new_process_leaves_the_element_specs_pickled(fresh_store):
    """edi.ig_regex.content_required reads a node's element specs, which a node of a kept map unpickles
    the first time they are read (edi.ig_map.SegNode); its answer is kept with the expression texts, so
    a new process answers from the file, the same, with every node's specs left pickled."""
    from edi import ig_regex

    def first_nodes():  # (the map as this process reads it: not load_map's memo)
        return [n for n in load_map.__wrapped__("837.5010.X222.A1.xml").by_path.values() if n.is_segment][:150]

    answers = [ig_regex.content_required(n, "*", ":", "~") for n in first_nodes()]
    assert True in answers and False in answers
    ig_recache.save()
    ig_recache._store = ig_recache._Store()  # a new process's store and map, read from the files
    nodes = first_nodes()
    assert all(hasattr(n, "_elements") for n in nodes)  # (kept map: specs not unpickled yet)
    assert [ig_regex.content_required(n, "*", ":", "~") for n in nodes] == answers
    assert all(hasattr(n, "_elements") for n in nodes)
    assert [ig_regex.content_required(n, "|", "^", "!") for n in nodes[:5]] == [
        ig_regex._content_required(n, "|", "^", "!") for n in nodes[:5]]  # other delimiters: made, the same
