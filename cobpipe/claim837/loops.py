"""837P (005010X222A1) loops: the guide's loop table, read from the pyx12 map, and a lossless `Loop`.

The loop table (which segment and qualifier starts each loop, which segments a loop holds, guide
order) is derived from pyx12's `837.5010.X222.A1.xml`, the authoritative structure, and kept
between processes (`loop_table`).
"""
from __future__ import annotations

import contextlib
import functools
import importlib.util
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from edi.segment import STANDARD, Delimiters, Segment
from edi.writer import serialize

MAP_NAME = "837.5010.X222.A1.xml"

# HL03 hierarchical level code -> loop (2000A billing provider, 2000B subscriber, 2000C patient)
HL_LEVELS = {"20": "2000A", "22": "2000B", "23": "2000C"}


@dataclass(frozen=True, slots=True)
class LoopSpec:
    """One loop of the guide as pyx12 maps it.

    `qualifiers`: values of the start segment's element 01 that start this loop when a sibling loop
    starts with the same tag (NM1*82 -> 2310B); None when the tag alone decides (CLM, LX, SVD).
    `order`: guide order of the loop's own segments (tag -> position) and child loops (id -> position).
    """

    id: str
    name: str
    start_tag: str
    qualifiers: frozenset[str] | None
    repeat: str
    usage: str
    members: frozenset[str]  # tags of the loop's own segments after its start segment
    children: tuple[str, ...]
    order: dict[str, tuple[int, int]] = field(repr=False)


@dataclass(frozen=True, slots=True)
class LoopTable:
    """The 837P loop table: specs by id and, per loop, the child loops each start tag can open."""

    specs: dict[str, LoopSpec]
    starts: dict[str, dict[str, tuple[tuple[frozenset[str] | None, str], ...]]]
    # (loop id, tag) -> (the child loops that tag may start there, whether the loop holds the tag):
    # child_loop and is_member in one look-up, for the parser's hot path; absent = neither
    placement: dict[tuple[str, str], tuple[tuple[tuple[frozenset[str] | None, str], ...], bool]] = field(
        init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        placement = {}
        for loop_id, spec in self.specs.items():
            starts = self.starts.get(loop_id, {})
            for tag in set(starts) | spec.members:
                placement[(loop_id, tag)] = (starts.get(tag, ()), tag in spec.members)
        object.__setattr__(self, "placement", placement)

    def child_loop(self, parent: str, segment: Segment) -> str | None:
        """The child loop of `parent` that `segment` starts, or None."""
        candidates = self.starts.get(parent, {}).get(segment.tag)
        if not candidates:
            return None
        qualifier = segment.get(1)
        for qualifiers, loop_id in candidates:
            if qualifiers is None or qualifier in qualifiers:
                return loop_id
        return None

    def is_member(self, loop_id: str, tag: str) -> bool:
        spec = self.specs.get(loop_id)
        return spec is not None and tag in spec.members


@functools.cache
def loop_table() -> LoopTable:
    """The 837P loop table: read from the cache folder when kept there (`kept_table_path`), else
    parsed from pyx12's map (`parse_loop_table`) and kept. Parsing it costs every process that places
    837P segments ~50 ms of CPU (lxml and the map); unpickling it ~1 ms."""
    from edi.ig_mapcache import read_kept, write_kept

    path = kept_table_path()
    found = read_kept(path)
    if isinstance(found, tuple) and len(found) == 2 and found[0] == _KEPT_FORMAT and isinstance(found[1], LoopTable):
        return found[1]
    table = parse_loop_table()
    if path is not None and write_kept(path, (_KEPT_FORMAT, table)):
        for stale in path.parent.glob("loop-table-*.pickle"):  # made from another map or parser
            if stale != path:
                with contextlib.suppress(OSError):
                    stale.unlink()
    return table


_KEPT_FORMAT = 1  # bumped when what is pickled changes shape


def kept_table_path() -> Path | None:
    """Where the loop table is kept between processes (edi.ig_mapcache's folder: COBPIPE_IG_CACHE=0
    turns it off): a file named by a hash of what the table is made from, pyx12's map (by content),
    Python's version and this module's source (the parser and the classes pickled), so a changed
    map or parser never reads an old table. None when there is no cache folder or no map to read."""
    from edi.ig_mapcache import cache_folder, content_digest

    folder = cache_folder()
    if folder is None:
        return None
    try:  # (found, not imported: pyx12's own imports are for parsing the map)
        spec = importlib.util.find_spec("pyx12")
        map_path = Path(spec.submodule_search_locations[0]) / "map" / MAP_NAME
        digest = content_digest("\0".join((str(_KEPT_FORMAT), sys.version, MAP_NAME)),
                                [Path(__file__).read_bytes(), map_path.read_bytes()])
    except (OSError, ImportError, TypeError, AttributeError, IndexError, ValueError):
        return None
    return folder / f"loop-table-{digest}.pickle"


def parse_loop_table() -> LoopTable:
    """The 837P loop table parsed from pyx12's map (the reference a kept table is held to)."""
    from lxml import etree

    path = resources.files("pyx12") / "map" / MAP_NAME
    with resources.as_file(path) as real:
        root = etree.parse(str(real)).getroot()
    specs: dict[str, LoopSpec] = {}
    starts: dict[str, dict[str, tuple[tuple[frozenset[str] | None, str], ...]]] = {}

    def first_segment(loop) -> tuple[str, list[str]]:
        seg = next(c for c in loop if c.tag == "segment")
        codes: list[str] = []
        element = seg.find("element")
        if element is not None:
            codes = [c.text for c in element.findall("valid_codes/code")]
        return seg.get("xid"), codes

    def visit(loop) -> None:
        loop_id = loop.get("xid")
        kids = [c for c in loop if c.tag in ("segment", "loop")]
        segments = [c for c in kids if c.tag == "segment"]
        child_loops = [c for c in kids if c.tag == "loop"]
        order: dict[str, tuple[int, int]] = {}
        for rank, item in enumerate(kids):
            order.setdefault(item.get("xid"), (int(item.findtext("pos") or 0), rank))
        start_tag = segments[0].get("xid") if segments else ""
        child_starts = [(c.get("xid"), *first_segment(c)) for c in child_loops]
        tag_count: dict[str, int] = {}
        for _, tag, _ in child_starts:
            tag_count[tag] = tag_count.get(tag, 0) + 1
        table: dict[str, list[tuple[frozenset[str] | None, str]]] = {}
        for child_id, tag, codes in child_starts:
            qualifiers = frozenset(codes) if tag_count[tag] > 1 and codes else None
            table.setdefault(tag, []).append((qualifiers, child_id))
        if loop_id not in specs:
            spec = LoopSpec(
                id=loop_id, name=loop.findtext("name") or "", start_tag=start_tag, qualifiers=None,
                repeat=loop.findtext("repeat") or "", usage=loop.findtext("usage") or "",
                members=frozenset(s.get("xid") for s in segments[1:]),
                children=tuple(c.get("xid") for c in child_loops), order=order,
            )
            specs[loop_id] = spec
            starts[loop_id] = {tag: tuple(entries) for tag, entries in table.items()}
        for child in child_loops:
            visit(child)

    for loop in root.iter("loop"):
        if loop.get("xid") == "HEADER":
            visit(loop)
        elif loop.get("xid") == "DETAIL":
            for child in loop:
                if child.tag == "loop":
                    visit(child)
    # record each loop's own qualifiers (the start codes its parent discriminates on)
    for parent_id, table in starts.items():
        for entries in table.values():
            for qualifiers, child_id in entries:
                spec = specs[child_id]
                if spec.qualifiers is None and qualifiers is not None:
                    specs[child_id] = LoopSpec(spec.id, spec.name, spec.start_tag, qualifiers, spec.repeat,
                                               spec.usage, spec.members, spec.children, spec.order)
    return LoopTable(specs, starts)


def segment_key(segment: Segment) -> str:
    """A segment's content in standard delimiters, position-free: equal keys = same segment."""
    return serialize(segment, STANDARD)


def start_segment(loop: "Loop") -> Segment | None:
    """A loop's start segment (e.g. NM1 of 2010BB, CLM of 2300): its first item when that is a
    segment, else None. `Loop.first` reads it; a hot path calls it directly (a property is reached
    through a C call into Python, ~320 instructions more a read)."""
    items = loop.items
    return items[0] if items and isinstance(items[0], Segment) else None


class Loop:
    """One loop instance: its segments and child loops in original order (nothing dropped or moved).

    `items` interleaves Segments and child Loops exactly as they appeared; `segments` and
    `children` are views. The first item is normally the loop's start segment (HL, NM1, CLM, LX...).
    """

    __slots__ = ("id", "items")

    def __init__(self, id: str, segments: Iterable[Segment] = (), children: Iterable["Loop"] = ()) -> None:
        self.id = id
        self.items: list[Segment | Loop] = [*segments, *children]

    # --- reading ---------------------------------------------------------------------------

    @property
    def segments(self) -> list[Segment]:
        """The loop's own segments (not those of child loops), in order."""
        return [i for i in self.items if isinstance(i, Segment)]

    @property
    def children(self) -> list["Loop"]:
        """The direct child loops, in order."""
        return [i for i in self.items if isinstance(i, Loop)]

    first = property(start_segment, doc="The start segment (e.g. NM1 of 2010BB, CLM of 2300), or None.")

    def segment(self, tag: str, qualifier: str | None = None) -> Segment | None:
        """The first own segment with `tag` and, when given, element 01 = `qualifier` (REF*F8)."""
        for item in self.items:
            if isinstance(item, Segment) and item.tag == tag and (qualifier is None or item.get(1) == qualifier):
                return item
        return None

    def segments_of(self, tag: str, qualifier: str | None = None) -> list[Segment]:
        """Every own segment with `tag` (and element 01 = `qualifier` when given)."""
        return [i for i in self.items if isinstance(i, Segment) and i.tag == tag
                and (qualifier is None or i.get(1) == qualifier)]

    def child(self, loop_id: str) -> "Loop | None":
        """The first direct child loop with this id."""
        for item in self.items:
            if isinstance(item, Loop) and item.id == loop_id:
                return item
        return None

    def children_of(self, loop_id: str) -> list["Loop"]:
        """Direct child loops with this id (e.g. every 2400 of a 2300). A plain loop, not a list
        comprehension: that is a function made and called each time, with `loop_id` in a closure
        cell, for a few items and fewer found (asked ~3 times a claim: its 2320s, its 2400s)."""
        found = []
        for item in self.items:
            if isinstance(item, Loop) and item.id == loop_id:
                found.append(item)
        return found

    def find(self, loop_id: str) -> "Loop | None":
        """The first loop with this id at any depth below (depth-first, document order)."""
        for item in self.items:
            if isinstance(item, Loop):
                if item.id == loop_id:
                    return item
                found = item.find(loop_id)
                if found is not None:
                    return found
        return None

    def find_all(self, loop_id: str) -> list["Loop"]:
        """Every loop with this id at any depth below, in document order."""
        found: list[Loop] = []
        for item in self.items:
            if isinstance(item, Loop):
                if item.id == loop_id:
                    found.append(item)
                found.extend(item.find_all(loop_id))
        return found

    def iter_segments(self) -> Iterator[Segment]:
        """Every segment of the loop and its children, in document order."""
        return iter(self.all_segments())

    def all_segments(self) -> list[Segment]:
        """`iter_segments` as a list: collected in one recursion, not passed up through a nested
        generator per loop level (the writer and the gate walk every claim this way)."""
        found: list[Segment] = []
        self._collect(found)
        return found

    def _collect(self, found: list[Segment]) -> None:
        for item in self.items:
            if isinstance(item, Segment):
                found.append(item)
            else:
                item._collect(found)

    def segment_count(self) -> int:
        return sum(1 if isinstance(i, Segment) else i.segment_count() for i in self.items)

    def to_x12(self, delimiters: Delimiters = STANDARD) -> str:
        return "".join(serialize(s, delimiters) for s in self.iter_segments())

    def content_key(self) -> tuple[str, ...]:
        """All segments as delimiter-independent text: equal keys = same content."""
        return tuple(segment_key(s) for s in self.iter_segments())

    def same_content(self, other: "Loop") -> bool:
        return self.id == other.id and self.content_key() == other.content_key()

    # --- building --------------------------------------------------------------------------

    def append(self, item: "Segment | Loop") -> None:
        """Add at the end, as a reader does."""
        self.items.append(item)

    def add(self, item: "Segment | Loop") -> None:
        """Insert in guide order (a new 2320 goes after the 2310x loops and before the first 2400)."""
        spec = loop_table().specs.get(self.id)
        key = _order_key(spec, item) if spec else None
        if key is None:
            self.items.append(item)
            return
        for i in range(len(self.items) - 1, -1, -1):
            existing = _order_key(spec, self.items[i])
            if existing is not None and existing <= key:
                self.items.insert(i + 1, item)
                return
        self.items.insert(1 if self.items and isinstance(self.items[0], Segment) else 0, item)

    def remove(self, item: "Segment | Loop") -> None:
        """Remove this exact item (identity, not equality)."""
        for i, existing in enumerate(self.items):
            if existing is item:
                del self.items[i]
                return
        raise ValueError(f"item not in loop {self.id}")

    def replace(self, old: "Segment | Loop", new: "Segment | Loop") -> None:
        """Put `new` where `old` (this exact item) was."""
        for i, existing in enumerate(self.items):
            if existing is old:
                self.items[i] = new
                return
        raise ValueError(f"item not in loop {self.id}")

    def copy(self) -> "Loop":
        """A deep copy of the loop structure (segments are immutable and shared)."""
        clone = Loop(self.id)
        clone.items = [i.copy() if isinstance(i, Loop) else i for i in self.items]
        return clone

    def __repr__(self) -> str:
        first = self.first
        head = str(first) if first is not None else ""
        return f"Loop({self.id!r}, {head[:30]!r}, items={len(self.items)})"


def _order_key(spec: LoopSpec, item: "Segment | Loop") -> tuple[int, int] | None:
    if isinstance(item, Loop):
        return spec.order.get(item.id)
    return spec.order.get(item.tag)
