"""The guide check's compiled expressions kept between processes (the user's cache folder).

The fast engine compiles one regular expression per segment node it meets (edi.ig_regex) and one per
learned run position (edi.ig_blocks): long alternations of code values whose compilation, done by the
`re` module in Python, costs ~0.2 s CPU in every validator process (convert starts one per output).
The result of that work is a list of integers (the pattern's code) that the C engine takes as it is;
`compile` keeps those lists in a pickle next to edi.ig_mapcache's maps and hands them straight to the
C engine the next time, skipping the parse. `text` keeps the expressions' texts too (writing them
runs the element checks on every code of a list), under the token of the kept map they come from.

That is CPython's own private step (re._compiler.compile's last call), so it is taken only where it is
known to be the same: the file is named by the interpreter's exact version and the C engine's MAGIC,
every entry was made in this process's way, and anything unexpected (another implementation, a
missing private name, a refused entry) falls back to re.compile. tests/edi/test_ig_recache.py holds
the kept code to what re compiles. What is kept are the expressions' texts: map codes and element
rules, the qualifier codes and service line numbers of learned runs; never a value read from a file
that is not a code of the guide, so nothing private.
"""
from __future__ import annotations

import re
import sys
import zlib
from pathlib import Path
from collections.abc import Callable
from typing import Any

from .ig_mapcache import cache_folder, read_kept, write_kept

# entries (expressions and texts) kept in the file. One version of the maps needs ~1,100 (every
# segment node of the 837P and 835); a 10k-claim convert output ~150 expressions. Past it the file
# starts afresh from what the saving process used: entries of older maps and compilers (each upgrade
# makes new keys) do not pile up, and a full file never stops new expressions from being kept
# (unpickling a 3.4 MB file of stale entries cost every validating process ~50M instructions).
LIMIT = 2048
_HELD = 4 * LIMIT  # of each kind held by a process (a long-lived one's memory stays bounded)

try:  # the private names this needs; without them, plain re.compile
    import _sre
    from re import _compiler, _parser

    _USABLE = sys.implementation.name == "cpython" and hasattr(_sre, "MAGIC") and hasattr(_compiler, "_code")
except ImportError:  # pragma: no cover - another implementation
    _USABLE = False


class _Store:
    __slots__ = ("known", "texts", "used", "added", "loaded", "path")

    def __init__(self) -> None:
        self.known: dict[tuple[str, int], tuple] = {}
        self.texts: dict[tuple, str | None] = {}  # edi.ig_regex's expression texts, by node token and path
        self.used: set = set()  # the keys of both this process looked up or added (what a fresh file keeps)
        self.added = 0
        self.loaded = False
        self.path: Path | None = None


_store = _Store()


def store_path() -> Path | None:
    folder = cache_folder()
    if folder is None or not _USABLE:
        return None
    tag = f"{sys.implementation.cache_tag}-{_sre.MAGIC}-{zlib.crc32(sys.version.encode()):x}"
    return folder / f"expressions-{tag}.pickle"


def _load() -> None:
    _store.loaded = True
    _store.path = path = store_path()
    if path is None:
        return
    found = read_kept(path)
    if (isinstance(found, tuple) and len(found) == 3 and found[0] == sys.version and isinstance(found[1], dict)
            and isinstance(found[2], dict)):
        _store.known, _store.texts = found[1], found[2]


def text(key: tuple, build: Callable[[], str | None]) -> str | None:
    """build(), kept under `key` (edi.ig_regex: a node's expression text, ~0.04 s CPU of element checks
    a process for the nodes of convert's output)."""
    return kept(key, build)


def kept(key: tuple, build: Callable[[], Any]) -> Any:
    """build(), kept under `key` with the expression texts: a small value made from the map alone
    (an expression's text, edi.ig_regex.content_required's answer), never from an input."""
    if not _store.loaded:
        _load()
    if _store.path is None:
        return build()
    texts = _store.texts
    _store.used.add(key)
    if key in texts:
        return texts[key]
    found = build()
    if len(texts) < _HELD:
        texts[key] = found
        _store.added += 1
    return found


def compile(pattern: str, flags: int = 0) -> re.Pattern[str]:  # noqa: A001 - as re.compile
    """re.compile(pattern, flags), from the kept code when this pattern was compiled before."""
    if not _store.loaded:
        _load()
    if _store.path is None:
        return re.compile(pattern, flags)
    key = (pattern, flags)
    _store.used.add(key)
    entry = _store.known.get(key)
    if entry is not None:
        try:
            return _sre.compile(pattern, *entry)  # type: ignore[no-any-return]
        except Exception:  # noqa: BLE001 - refused: compiled as re does, and kept again
            pass
    entry = code_of(pattern, flags)
    if len(_store.known) < _HELD:
        _store.known[key] = entry
        _store.added += 1
    return _sre.compile(pattern, *entry)  # type: ignore[no-any-return]


def code_of(pattern: str, flags: int) -> tuple[Any, ...]:
    """What re._compiler.compile hands the C engine for `pattern`, after the pattern itself."""
    parsed = _parser.parse(pattern, flags)
    code = _compiler._code(parsed, flags)
    groupindex = parsed.state.groupdict
    indexgroup: list[str | None] = [None] * parsed.state.groups
    for name, index in groupindex.items():
        indexgroup[index] = name
    # (as plain ints: the code's named constants do not pickle)
    return (int(flags | parsed.state.flags), [int(c) for c in code], parsed.state.groups - 1, dict(groupindex),
            tuple(indexgroup))


def save() -> None:
    """Write the kept expressions when this process compiled new ones (temporary name, renamed)."""
    path = _store.path
    if path is None or not _store.added:
        return
    _store.added = 0
    known, texts = _store.known, _store.texts
    if len(known) + len(texts) > LIMIT:  # afresh: only what this process used (see LIMIT)
        used = _store.used
        known = _store.known = _latest({key: entry for key, entry in known.items() if key in used}, LIMIT // 4)
        texts = _store.texts = _latest({key: text for key, text in texts.items() if key in used},
                                       LIMIT - len(known))
    write_kept(path, (sys.version, known, texts))


def _latest(entries: dict, count: int) -> dict:
    """The last `count` entries of `entries` (insertion order: the file's, then this process's new ones)."""
    return entries if len(entries) <= count else dict(list(entries.items())[len(entries) - count:])
