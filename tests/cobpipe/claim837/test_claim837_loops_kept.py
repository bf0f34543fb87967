"""The 837P loop table kept between processes (`loops.loop_table`): what is read back is the table
parsed from pyx12's map, a damaged or foreign file is parsed again and rewritten, and the file's
name changes with what the table is made from."""
from __future__ import annotations

import pickle

import pytest

from cobpipe.claim837 import loops
from cobpipe.claim837.loops import LoopTable, kept_table_path, loop_table, parse_loop_table


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("COBPIPE_IG_CACHE", raising=False)
    loop_table.cache_clear()
    yield tmp_path
    loop_table.cache_clear()  # the next user parses or reads it afresh, under its own folder


def test_the_kept_table_is_the_parsed_one(cache_home):
    path = kept_table_path()
    assert path is not None and str(path).startswith(str(cache_home)) and not path.exists()
    made = loop_table()  # parsed, then kept
    assert path.exists()
    loop_table.cache_clear()
    read = loop_table()  # read back
    assert read is not made
    reference = parse_loop_table()
    assert isinstance(read, LoopTable) and read == reference
    assert read.placement == reference.placement  # (not compared by ==: made after init)
    assert {loop_id: spec.order for loop_id, spec in read.specs.items()} == \
        {loop_id: spec.order for loop_id, spec in reference.specs.items()}


@pytest.mark.parametrize("content", [b"", b"not a pickle", pickle.dumps((0, "old format")), pickle.dumps("x")])
def test_a_damaged_or_foreign_file_is_parsed_again(cache_home, content):
    path = kept_table_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    assert loop_table() == parse_loop_table()
    assert path.read_bytes() != content  # rewritten
    loop_table.cache_clear()
    assert loop_table() == parse_loop_table()


def test_older_tables_are_dropped_when_one_is_written(cache_home):
    path = kept_table_path()
    path.parent.mkdir(parents=True)
    stale = path.with_name("loop-table-0000000000000000.pickle")
    stale.write_bytes(b"old")
    loop_table()
    assert path.exists() and not stale.exists()


def test_the_name_follows_the_map(cache_home, monkeypatch):
    path = kept_table_path()
    monkeypatch.setattr(loops, "MAP_NAME", "835.5010.X221.A1.xml")  # another map of pyx12's
    other = kept_table_path()
    assert other is not None and other != path and other.parent == path.parent


def test_turned_off_with_the_guide_cache(cache_home, monkeypatch):
    monkeypatch.setenv("COBPIPE_IG_CACHE", "0")
    assert kept_table_path() is None
    assert loop_table() == parse_loop_table()
    assert not any(cache_home.rglob("*.pickle"))
