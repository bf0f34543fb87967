"""The loop walker of the fast engine (pyx12 map_walker.walk_tree): which map node a segment is,
with pyx12's counters, missing-segment/loop rules and "not used"/"exceeded" errors, quirks included.
"""
from __future__ import annotations

from bisect import bisect_left
from typing import Any

from .ig_checks import _get_value
from .ig_issues import Crash
from .ig_map import LoopNode, SegNode, relevant_children


class _Walker:
    __slots__ = ("counts", "missing", "pending", "level", "entered", "touched")

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.missing: list[Any] = []
        self.pending: list[Any] = []
        self.level: Any = None  # the loop whose children the last walk found its node among
        self.entered: Any = None  # the last loop the last walk entered (counts reset), if any
        # the paths whose counts the last walk set or removed (repeats possible): ShapeCache learns a
        # step's change to the counts from these instead of comparing all the counts
        self.touched: list[str] = []

    def reset_to(self, prefix: str) -> None:
        counts = self.counts
        dead = [k for k in counts if k.startswith(prefix)]
        for k in dead:
            del counts[k]

    def reset_loop(self, loop: LoopNode) -> frozenset[str]:
        """NodeCounter.reset_to_node(loop): forget the counts of everything inside the loop (returned)."""
        counts = self.counts
        dead = loop.desc.intersection(counts)  # (a frozenset: the intersection is taken in C)
        for k in dead:
            del counts[k]
        return dead

    def force_loop_start(self, loop_path: str, child_path: str) -> None:
        self.reset_to(loop_path + "/")
        counts = self.counts
        counts[loop_path] = counts.get(loop_path, 0) + 1
        counts[child_path] = counts.get(child_path, 0) + 1

    def walk(self, node: Any, seg_id: str, elems: list[str], comp_sep: str) -> Any:
        """The segment node matching this segment, or None; errors are left in self.pending."""
        self.missing = []
        self.pending = []
        self.entered = None
        self.touched = []
        orig = frm = node
        node = node.parent
        while True:
            found = self._scan(node, frm.start, seg_id, elems, comp_sep)
            if found is not False:
                self.level = node
                return found
            if node.is_root:
                if seg_id == "HL":
                    seg_str = _format_segment("HL", elems, comp_sep)
                else:
                    first = _get_value(elems, 1, comp_sep, False)
                    seg_str = f"{seg_id}*{first}"
                self.pending.append(("1", "Segment %s not found.  Started at %s" % (seg_str, orig.path),
                                     orig, seg_id))
                return None
            frm = node
            node = node.parent

    def _scan(self, node: LoopNode, i: int, seg_id: str, elems: list[str], comp_sep: str) -> Any:
        """Children of `node` from index i on (pyx12: positions >= the starting node's).

        Only the children that can matter are visited (see `relevant_children`): the others
        neither match this segment id nor record a missing mandatory segment or loop."""
        order = node.order
        relevant = node.relevant.get(seg_id)
        if relevant is None:
            relevant = node.relevant[seg_id] = relevant_children(node, seg_id)
        counts = self.counts
        for j in relevant[bisect_left(relevant, i):]:
            child = order[j]
            if child.is_segment:
                if child.id == seg_id and _matches(child, elems, comp_sep):
                    if node.is_loop and not node.is_root and self._is_loop_match(node, seg_id, elems, comp_sep):
                        return self._goto_seg_match(node, seg_id, elems, comp_sep)
                    path = child.path
                    counts[path] = counts.get(path, 0) + 1
                    self.touched.append(path)
                    self._check_seg_usage(child, seg_id)
                    if self.missing:
                        family = child.family
                        self.missing = [m for m in self.missing if m[0].family != family]
                        self._flush(child.pos)
                    return child
                if child.usage == "R" and counts.get(child.path, 0) < 1:
                    self.missing.append((child, "3", 'Mandatory segment "%s" (%s) missing' % (child.name, child.id)))
            else:
                if self._is_loop_match(child, seg_id, elems, comp_sep):
                    return self._goto_seg_match(child, seg_id, elems, comp_sep)
        return False

    def _is_loop_match(self, loop: LoopNode, seg_id: str, elems: list[str], comp_sep: str) -> bool:
        if loop.count <= 0:
            return False
        first = loop.first_node
        if first.is_loop:
            for child in loop.order:
                if child.is_loop and self._is_loop_match(child, seg_id, elems, comp_sep):
                    return True
            return False
        if first.id == seg_id and _matches(first, elems, comp_sep):
            return True
        if loop.usage == "R" and self.counts.get(loop.path, 0) < 1:
            self.missing.append((first, "3", 'Mandatory loop "%s" (%s) missing' % (loop.name, loop.id)))
        return False

    def _goto_seg_match(self, loop: LoopNode, seg_id: str, elems: list[str], comp_sep: str) -> Any:
        first = loop.first_seg
        if first is not None and first.id == seg_id and _matches(first, elems, comp_sep):
            self._check_loop_usage(loop, seg_id)
            counts = self.counts
            counts[first.path] = counts.get(first.path, 0) + 1
            self.touched.append(first.path)
            self._flush(None)
            return first
        for child in loop.order:
            if not child.is_loop:
                continue
            found = self._goto_seg_match(child, seg_id, elems, comp_sep)
            if found is not None:
                return found
        return None

    def _check_seg_usage(self, node: SegNode, seg_id: str) -> None:
        usage = node.usage
        if usage == "N":
            self.pending.append(("2", "Segment %s found but marked as not used" % node.id, None, None))
        elif usage == "R" or usage == "S":
            count = self.counts.get(node.path, 0)
            if count > node.max_repeat:
                self.pending.append(("5", "Segment %s exceeded max count.  Found %i, should have %i"
                                     % (seg_id, count, node.max_repeat), node, seg_id))
        else:
            raise Crash("EngineError")

    def _check_loop_usage(self, loop: LoopNode, seg_id: str) -> None:
        usage = loop.usage
        if usage == "N":
            self.pending.append(("2", "Loop %s found but marked as not used" % loop.id, None, None))
        elif usage in ("R", "S"):
            self.entered = loop
            touched = self.touched
            touched += self.reset_loop(loop)
            touched.append(loop.path)
            counts = self.counts
            count = counts[loop.path] = counts.get(loop.path, 0) + 1
            if count > loop.max_repeat:
                self.pending.append(("4", "Loop %s exceeded max count.  Found %i, should have %i"
                                     % (loop.id, count, loop.max_repeat), loop, seg_id))
        else:
            raise Crash("EngineError")

    def _flush(self, cur_pos: int | None) -> None:
        keep = []
        for m in self.missing:
            if m[0].pos != cur_pos:
                self.pending.append((m[1], m[2], m[0], m[0].id))
            else:
                keep.append(m)
        self.missing = keep




def _matches(node: SegNode, elems: list[str], comp_sep: str) -> bool:
    key = node.key
    if key is None:
        return True
    idx, sub, codes = key
    if idx > len(elems):
        return False
    raw = elems[idx - 1]
    if sub is None:
        return raw.rstrip(comp_sep) in codes
    parts = raw.split(comp_sep)
    return sub <= len(parts) and parts[sub - 1] in codes


def _format_segment(seg_id: str, elems: list[str], comp_sep: str) -> str:
    """pyx12 Segment.format("", "*", ":") as used in its 'not found' message for HL."""
    comps = [e.split(comp_sep) for e in elems]
    last = 0
    for i in range(len(comps) - 1, -1, -1):
        last = i
        if any(p != "" for p in comps[i]):
            break
    return "%s*%s" % (seg_id, "*".join(":".join(_trim(c)) for c in comps[:last + 1]))


def _trim(parts: list[str]) -> list[str]:
    i = 0
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] != "":
            break
    return parts[:i + 1]


# --- the walk learned per block shape ----------------------------------------------------------------

#: loops whose blocks are learned: an 837's subscriber HL (2000B) with everything under it
BLOCK_LOOPS = frozenset({"2000B"})
_MISSING = object()
_OTHER = object()
_DELETED = object()
#: key, in a trie node, of the counts inside the block at that node (the state it stands for, as a
#: frozenset of (path, count)); trie nodes are otherwise keyed by shape keys (tuples)
_STATE = object()


class ShapeCache:
    """The walk of a block (a loop of BLOCK_LOOPS and its segments until the loop starts again), learned
    per shape: the sequence of segment ids and the qualifier values the walk can read.

    Why it is sound: entering the block's loop resets the counts of everything inside it, and a walk
    that finds its node without leaving the loop reads only those counts (and the loop's own, which is
    at least 1 inside it), the current node and the qualifiers. So from the block's first segment on,
    each step is a function of the shape so far: a trie keyed by each segment's shape holds the node
    the walk found and the change it made to the counts. Only steps that reported nothing and stayed
    inside the loop are learned; any other step is walked and ends the learned path until the next
    block. tests/edi/test_ig_walk_cache.py holds it to the uncached walker and to pyx12.

    More exactly, each step is a function of the state the walk is in: the node it stands on and the
    counts inside the loop. So two shapes that lead to the same state (a claim's service lines end the
    same way whatever came before them in the line) lead to one trie node, and what is learned after
    it (steps, edi.ig_blocks' runs) serves both: ~6x fewer steps to learn in convert's output. Each
    trie node keeps its state (`_STATE`), so a step learned from it finds the next one from the counts
    its walk touched (`_Walker.touched`), not from all of them.
    """

    __slots__ = ("roots", "trie", "block", "keys", "places", "size", "limit", "states", "taken")

    def __init__(self, limit: int = 20_000) -> None:
        # `limit` learned steps per file (~0.5 KB each): a hostile file of endless new shapes stops the
        # learning, never the validation (a synthetic 100k-claim 837P learns ~350)
        self.roots: dict[Any, dict] = {}  # block loop -> trie of its shapes
        self.trie: dict | None = None  # where the current block's shape has got to (None: not learning)
        self.block: Any = None
        self.keys: dict[Any, dict[str, tuple]] = {}  # block -> segment id -> qualifier places to read
        self.places: dict[str, tuple] = {}  # those of the current block
        self.size = 0
        self.limit = limit
        # (block, node, counts inside the block) -> the trie node of that state: shapes that reach the
        # same state share what follows it (see the class docstring)
        self.states: dict[tuple, dict] = {}
        # (key, learned step) of the last walk when it replayed or learned one, else None (several keys
        # may lead from one trie node to the same next one: edi.ig_blocks learns runs from the key taken)
        self.taken: tuple | None = None

    def key(self, seg_id: str, elems: list[str], comp_sep: str) -> tuple:
        """The segment as the walk inside the block can tell it apart: its id and, for every map node
        of that id in the block, the qualifier value if it is one of the node's codes."""
        places = self.places.get(seg_id)
        if places is None:
            found: dict[tuple[int, int | None], set] = {}
            for path in self.block.desc:
                node = self.block.map_nodes.get(path)
                if node is not None and node.is_segment and node.id == seg_id and node.key is not None:
                    idx, sub, codes = node.key
                    found.setdefault((idx, sub), set()).update(codes)
            places = self.places[seg_id] = tuple((i, s, frozenset(c)) for (i, s), c in found.items())
        out: list[Any] = [seg_id]
        n = len(elems)
        for idx, sub, codes in places:
            if idx > n:
                out.append(_MISSING)
                continue
            raw = elems[idx - 1]
            if sub is None:
                value: Any = raw.rstrip(comp_sep)
            else:
                parts = raw.split(comp_sep)
                value = parts[sub - 1] if sub <= len(parts) else _MISSING
            out.append(value if value in codes else _OTHER)
        return tuple(out)

    def walk(self, walker: _Walker, node: Any, seg_id: str, elems: list[str], comp_sep: str) -> Any:
        """walker.walk(...), from the learned shapes where the block has been seen this far."""
        trie = self.trie
        self.taken = None
        if trie is None:
            found = walker.walk(node, seg_id, elems, comp_sep)
            self._maybe_start(walker, found)
            return found
        key = self.key(seg_id, elems, comp_sep)
        step = trie.get(key)
        if step is not None:
            self.taken = key, step
            found, delta, self.trie = step
            counts = walker.counts
            for path, value in delta:
                if value is _DELETED:
                    del counts[path]
                else:
                    counts[path] = value
            walker.pending = []
            return found
        before = dict(walker.counts)
        found = walker.walk(node, seg_id, elems, comp_sep)
        block = self.block
        level = walker.level
        if (found is not None and not walker.pending and walker.entered is not block
                and (level is block or level.path in block.desc) and self.size < self.limit):
            # the step's change to the counts, from the paths the walk set or removed (the others kept
            # their counts): comparing all ~57 counts of convert's output cost ~57k instructions a step
            # learned, ~1.2k steps at 10k claims
            after = walker.counts
            delta = []
            for p in dict.fromkeys(walker.touched):
                v = after.get(p, _DELETED)
                if v is _DELETED:
                    if p in before:
                        delta.append((p, _DELETED))
                elif before.get(p, _MISSING) != v:
                    delta.append((p, v))
            desc = block.desc
            if not all(p in desc for p, _v in delta):  # never: the walk stayed inside the loop
                self.trie = None
                return found
            # the counts inside the block after the step: those before it (the state of the trie node it
            # is learned from, kept there) with the step's change (~46k instructions a step when filtered
            # from all the counts)
            inside = trie.get(_STATE)
            if inside is None:  # (a block's root, once)
                inside = trie[_STATE] = frozenset([(p, v) for p, v in before.items() if p in desc])
            inside = inside.difference([(p, before[p]) for p, _v in delta if p in before]).union(
                [(p, v) for p, v in delta if v is not _DELETED])
            state = (block, found, inside)
            child = self.states.get(state)
            if child is None:
                child = self.states[state] = {_STATE: inside}
            step = trie[key] = (found, tuple(delta), child)
            self.taken = key, step
            self.size += 1
            self.trie = child
            return found
        self.trie = None
        self._maybe_start(walker, found)
        return found

    def _maybe_start(self, walker: _Walker, found: Any) -> None:
        loop = walker.entered
        if found is not None and loop is not None and loop.id in BLOCK_LOOPS and found is loop.first_seg \
                and getattr(loop, "map_nodes", None) is not None:
            self.block = loop
            self.places = self.keys.setdefault(loop, {})
            self.trie = self.roots.setdefault(loop, {})
        else:
            self.trie = None


def forget_block(cache: ShapeCache) -> None:
    """Stop learning the current block (after ISA/GS, which move the walk by force)."""
    cache.trie = None
