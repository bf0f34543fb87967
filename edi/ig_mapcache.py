"""The fast engine's compiled maps kept between processes: a pickle in the user's cache folder.

Compiling pyx12's 837P map XML into edi.ig_map's tables costs ~0.1 s CPU, in every process that
validates (the validator process convert starts for each output is a fresh interpreter); unpickling
the same tables costs ~0.02 s. The file is named by a hash of everything the tables are made from:
the map XML and the dataele/codes/maps XML it reads (by content), pyx12's version, Python's version and
the source of edi.ig_map itself (the classes pickled). So a changed map, pyx12 or compiler never
reads an old file; the cached tables are the compiled ones (tests/edi/test_ig_mapcache.py).

Only a cache: a file that is missing, unreadable or not a pickle of the expected tables is compiled
again (and rewritten); a folder that cannot be written just means no cache. COBPIPE_IG_CACHE=0
turns it off. Maps hold no data from any input file, so there is nothing private in the folder.
"""
from __future__ import annotations

import contextlib
import os
import pickle
import sys
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

FORMAT = 3  # bumped when what is pickled changes shape
_SOURCES = ("dataele.xml", "codes.xml", "maps.xml")  # what every compiled map also reads (and the index)


def cache_folder() -> Path | None:
    """$XDG_CACHE_HOME/cobpipe/ig-maps, else ~/.cache/cobpipe/ig-maps; None when turned off."""
    if os.environ.get("COBPIPE_IG_CACHE", "").strip() == "0":
        return None
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    try:
        root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    except RuntimeError:  # no home folder
        return None
    return root / "cobpipe" / "ig-maps"


def cache_path(map_file: str) -> Path | None:
    """Where the compiled `map_file` is kept (None: no cache folder, or a source cannot be read)."""
    folder = cache_folder()
    if folder is None:
        return None
    try:
        import pyx12

        maps = Path(pyx12.__file__).parent / "map"  # (importlib.resources' files(): ~10 ms of imports)
        key = "\0".join((str(FORMAT), sys.version, getattr(pyx12, "__version__", "?"), map_file))
        digest = content_digest(key, [Path(__file__).with_name("ig_map.py").read_bytes(),
                                      *((maps / name).read_bytes() for name in (map_file, *_SOURCES))])
    except (OSError, ImportError, TypeError):
        return None
    return folder / f"{Path(map_file).stem}-{digest}.pickle"


def content_digest(key: str, parts: Iterable[bytes]) -> str:
    """A kept file's name part for what it is made from: CRC-32 and Adler-32 of `key` and each part,
    each part's length first (no hashlib to import, and nothing to resist here but chance)."""
    data = key.encode()
    crc, adler = zlib.crc32(data), zlib.adler32(data)
    for data in parts:
        size = len(data).to_bytes(8, "little")
        crc, adler = zlib.crc32(data, zlib.crc32(size, crc)), zlib.adler32(data, zlib.adler32(size, adler))
    return f"{crc:08x}{adler:08x}"


def node_token(path: Path | None) -> str | None:
    """What the expression texts of the map kept at `path` are kept under (edi.ig_recache): the map's
    key and the sources that write them (edi.ig_regex, the checks it runs); None: not kept."""
    if path is None:
        return None
    try:
        here = Path(__file__).parent
        crc = 0
        for name in ("ig_regex.py", "ig_checks.py", "ig_issues.py"):
            crc = zlib.crc32((here / name).read_bytes(), crc)
    except OSError:
        return None
    return f"{path.stem}-{crc:08x}"


def read_kept(path: Path | None) -> Any:
    """What is pickled at `path` (a file of this cache folder), or None when there is none readable."""
    if path is None:
        return None
    try:
        with open(path, "rb") as source:
            return pickle.load(source)
    except Exception:  # noqa: BLE001 - missing, truncated, foreign: made again
        return None


def write_kept(path: Path, value: Any) -> bool:
    """Pickle `value` to `path` under a temporary name, then rename it, so a reader never sees half a
    file; False (nothing written) when the folder cannot be written or `value` cannot be pickled."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        import tempfile  # (here: ~9 ms of imports a process that only reads does without)

        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pickle")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
    except (OSError, pickle.PicklingError, RecursionError):
        return False
    return True


def load(path: Path | None, kind: type) -> tuple[Any, dict, list] | None:
    """(compiled map, external code sets, map index) from `path`, or None when there is none usable."""
    found = read_kept(path)
    if (not isinstance(found, tuple) or len(found) != 4 or found[0] != FORMAT or not isinstance(found[1], kind)
            or not isinstance(found[2], dict) or not isinstance(found[3], list)):
        return None
    return found[1], found[2], found[3]


def store(path: Path | None, compiled: Any, codes: dict, index: list) -> None:
    """Keep `compiled` (just compiled, before any validation filled its per-process memos) at `path`,
    and drop the files of this map's older keys."""
    if path is None or not write_kept(path, (FORMAT, compiled, codes, index)):
        return
    for stale in path.parent.glob(path.name.rsplit("-", 1)[0] + "-*.pickle"):
        if stale != path:
            with contextlib.suppress(OSError):
                stale.unlink()

