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
    __slots__ = ("counts", "missing", "pending")

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.missing: list[Any] = []
        self.pending: list[Any] = []

    def reset_to(self, prefix: str) -> None:
        counts = self.counts
        dead = [k for k in counts if k.startswith(prefix)]
        for k in dead:
            del counts[k]

    def reset_loop(self, loop: LoopNode) -> None:
        """NodeCounter.reset_to_node(loop): forget the counts of everything inside the loop."""
        counts = self.counts
        desc = loop.desc
        if len(counts) <= len(desc):
            dead = [k for k in counts if k in desc]
        else:
            dead = [k for k in desc if k in counts]
        for k in dead:
            del counts[k]

    def force_loop_start(self, loop_path: str, child_path: str) -> None:
        self.reset_to(loop_path + "/")
        counts = self.counts
        counts[loop_path] = counts.get(loop_path, 0) + 1
        counts[child_path] = counts.get(child_path, 0) + 1

    def walk(self, node: Any, seg_id: str, elems: list[str], comp_sep: str) -> Any:
        """The segment node matching this segment, or None; errors are left in self.pending."""
        self.missing = []
        self.pending = []
        orig = frm = node
        node = node.parent
        while True:
            found = self._scan(node, frm.start, seg_id, elems, comp_sep)
            if found is not False:
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
            self.reset_loop(loop)
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
