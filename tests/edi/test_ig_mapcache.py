"""edi.ig_mapcache: the compiled maps kept in the user's cache folder are the compiled maps."""
from __future__ import annotations

import re

import pytest

from edi import ig_map, ig_mapcache

MAPS = ("837.5010.X222.A1.xml", "835.5010.X221.A1.xml", "x12.control.00501.xml")


def same(a, b, seen=None, where="map") -> None:
    """a and b hold the same values in the same shape (slotted objects, containers, patterns)."""
    seen = set() if seen is None else seen
    if (id(a), id(b)) in seen:
        return
    seen.add((id(a), id(b)))
    assert type(a) is type(b), where
    if isinstance(a, (ig_map.Map, ig_map.LoopNode, ig_map.SegNode, ig_map.EleSpec, ig_map.CompSpec)):
        for slot in type(a).__slots__:
            assert hasattr(a, slot) == hasattr(b, slot), f"{where}.{slot}"
            if hasattr(a, slot):
                same(getattr(a, slot), getattr(b, slot), seen, f"{where}.{slot}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, seen, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            same(a[k], b[k], seen, f"{where}[{k!r}]")
    elif isinstance(a, re.Pattern):
        assert (a.pattern, a.flags) == (b.pattern, b.flags), where
    elif a is ig_map._BAD_CHILD:
        assert b is ig_map._BAD_CHILD, where
    else:
        assert a == b, where


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("COBPIPE_IG_CACHE", raising=False)
    return tmp_path


@pytest.mark.parametrize("map_file", MAPS)
def test_cached_map_is_the_compiled_map(cache_home, map_file):
    path = ig_mapcache.cache_path(map_file)
    assert path is not None and str(path).startswith(str(cache_home))
    compiled = ig_map.compile_map(map_file)
    ig_mapcache.store(path, compiled, ig_map.external_codes(), ig_map.map_index())
    loaded = ig_mapcache.load(path, ig_map.Map)
    assert loaded is not None
    same(compiled, loaded[0])
    assert loaded[1] == ig_map.external_codes() and loaded[2] == ig_map.map_index()
    # the check itself sees a difference
    loaded[0].by_path["/ISA_LOOP/ISA"].children[0].max_len += 1
    with pytest.raises(AssertionError):
        same(compiled, loaded[0])


def test_each_map_its_own_file(cache_home):
    paths = {ig_mapcache.cache_path(m) for m in MAPS}
    assert len(paths) == len(MAPS)


def test_unusable_file_is_compiled_again(cache_home):
    path = ig_mapcache.cache_path(MAPS[2])
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a pickle")
    assert ig_mapcache.load(path, ig_map.Map) is None
    ig_mapcache.store(path, ig_map.compile_map(MAPS[2]), {}, [])
    assert ig_mapcache.load(path, ig_map.Map) is not None
    path.write_bytes(path.read_bytes()[:100])  # cut short
    assert ig_mapcache.load(path, ig_map.Map) is None


def test_turned_off(cache_home, monkeypatch):
    monkeypatch.setenv("COBPIPE_IG_CACHE", "0")
    assert ig_mapcache.cache_path(MAPS[0]) is None
    ig_mapcache.store(None, object(), {}, [])  # nothing to do, no error
    assert not any(cache_home.iterdir())


def test_unwritable_folder_means_no_cache(cache_home):
    (cache_home / "cobpipe").write_text("a file where the folder would be")
    path = ig_mapcache.cache_path(MAPS[2])
    ig_mapcache.store(path, ig_map.compile_map(MAPS[2]), {}, [])  # no error
    assert ig_mapcache.load(path, ig_map.Map) is None


def test_older_keys_of_a_map_are_removed(cache_home):
    path = ig_mapcache.cache_path(MAPS[2])
    path.parent.mkdir(parents=True)
    stale = path.with_name(path.name.rsplit("-", 1)[0] + "-0000000000000000.pickle")
    other = path.with_name("835.5010.X221.A1-0000000000000000.pickle")
    stale.write_bytes(b"old")
    other.write_bytes(b"another map's")
    ig_mapcache.store(path, ig_map.compile_map(MAPS[2]), {}, [])
    assert path.is_file() and not stale.exists() and other.exists()


def _still_pickled(node) -> bool:
    try:
        ig_map.SegNode._elements.__get__(node)
    except AttributeError:
        return False
    return True


def test_element_specs_are_unpickled_when_first_read(cache_home):
    """A kept map's segment nodes keep their element specs pickled until `children` or `by_idx` is
    read; then they are the compiled ones (the unusable-child marker included), and pickle again."""
    map_file = "837.5010.X222.A1.xml"
    path = ig_mapcache.cache_path(map_file)
    compiled = ig_map.compile_map(map_file)
    node = compiled.by_path["/ISA_LOOP/GS_LOOP/ST_LOOP/DETAIL/2000A/2000B/2300/CLM"]
    node.by_idx[1] = ig_map._BAD_CHILD  # (no map has one: the marker must still come back as itself)
    ig_mapcache.store(path, compiled, ig_map.external_codes(), ig_map.map_index())
    loaded = ig_mapcache.load(path, ig_map.Map)[0]
    segments = [n for n in loaded.by_path.values() if n.is_segment]
    assert segments and all(_still_pickled(n) for n in segments)
    clm = loaded.by_path[node.path]
    assert clm.by_idx[1] is ig_map._BAD_CHILD and not _still_pickled(clm)
    other = loaded.by_path["/ISA_LOOP/GS_LOOP/ST_LOOP/DETAIL/2000A/2000B/2300/HI[ABK]"]
    assert _still_pickled(other) and hasattr(other, "children") and not _still_pickled(other)
    same(node, clm)  # (and everything it reaches: the whole map, read)
    assert not any(_still_pickled(n) for n in segments)
    import pickle
    again = pickle.loads(pickle.dumps(clm))  # a node read since it was loaded pickles as it was compiled
    same(node, again, where="again")


def test_threads_reading_specs_at_once_all_get_them(cache_home):
    """Threads validating at once share a map: each one reading a node's specs while another is
    unpickling them gets them (never an AttributeError), and all get the same objects."""
    import threading

    map_file = "837.5010.X222.A1.xml"
    path = ig_mapcache.cache_path(map_file)
    ig_mapcache.store(path, ig_map.compile_map(map_file), ig_map.external_codes(), ig_map.map_index())
    for _round in range(5):
        loaded = ig_mapcache.load(path, ig_map.Map)[0]
        nodes = [n for n in loaded.by_path.values() if n.is_segment]
        start = threading.Barrier(8)
        seen: list[tuple] = []
        failed: list[BaseException] = []

        def read(which: int) -> None:
            start.wait()
            try:
                for node in nodes[which % 2::2] + nodes:
                    seen.append((id(node), id(node.by_idx) if which % 2 else id(node.children)))
            except BaseException as exc:  # noqa: BLE001 - reported below
                failed.append(exc)

        threads = [threading.Thread(target=read, args=(k,)) for k in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failed
        assert not any(_still_pickled(n) for n in nodes)
        final = {id(n): {id(n.by_idx), id(n.children)} for n in nodes}
        assert all(lists in final[node] for node, lists in seen)
