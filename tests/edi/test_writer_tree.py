"""tree_text, the writer's one walk of a loop tree (Prewritten loops' texts taken whole), against the
reference: body_text of the tree's segments listed in document order."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from edi.segment import STANDARD, Delimiters, Segment
from edi.writer import DelimiterCollisionError, Prewritten, body_text, tree_text


class Node:
    """A loop as edi.writer reads one: `items` (segments and nodes) and `all_segments`."""

    __slots__ = ("items",)

    def __init__(self, items):
        self.items = items

    def all_segments(self):
        found = []
        for item in self.items:
            found += [item] if isinstance(item, Segment) else item.all_segments()
        return found


class WrittenNode(Node, Prewritten):
    __slots__ = ("written",)


def _written(segments):
    """What a builder gives: the bodies as written in standard delimiters, honest about separators."""
    return ("~\n".join("*".join((s.tag, *s.elements)) for s in segments), sum(len(s.elements) for s in segments),
            len(segments))


_CHARS = st.sampled_from(list("AB1 *:^~|>!\n"))
_DELIMITERS = [STANDARD, Delimiters("*", ":", "^", "~", ""), Delimiters("|", ">", "!", "~", "\n"),
               Delimiters("*", ":", "^", "\n", "")]
_SEGMENT = st.builds(lambda tag, elements, source: Segment(tag, tuple(elements), delimiters=source),
                     st.sampled_from(["NM1", "SV1", "CAS", "SE"]), st.lists(st.text(_CHARS, max_size=3), max_size=3),
                     st.sampled_from(_DELIMITERS + [STANDARD] * 4))
_TREE = st.recursive(_SEGMENT, lambda children: st.one_of(
    st.lists(children, max_size=4).map(lambda items: Node([i for i in items])),
    st.lists(_SEGMENT.filter(lambda s: s.delimiters is STANDARD and s.tag != "SE"), max_size=4).map(
        lambda segments: _with_text(segments))), max_leaves=12)


def _with_text(segments):
    node = WrittenNode(list(segments))
    node.written = _written(segments) if segments else None
    return node


def _outcome(make):
    try:
        return make()
    except (DelimiterCollisionError, ValueError) as exc:
        return type(exc), str(exc)


@settings(max_examples=400)
@given(st.lists(_TREE, max_size=5), st.sampled_from(_DELIMITERS))
def test_the_walk_writes_what_the_segments_listed_write(items, output):
    """Other delimiter sets (a prewritten text then not used), values holding a delimiter, envelope
    tags, segments with no element, empty loops: the reference's text and count, or its error.
    Fails when the walk takes a prewritten text in other delimiters, or skips the count of
    separators or terminators (checked: the terminator count)."""
    tree = Node([item if not isinstance(item, Segment) else Node([item]) for item in items])
    segments = tree.all_segments()
    expected = _outcome(lambda: (body_text(segments, output), len(segments)))
    assert _outcome(lambda: tree_text(tree, output)) == expected


def test_a_prewritten_text_is_taken_whole():
    """The walk takes a Prewritten loop's text, not its segments (here told apart on purpose)."""
    inner = WrittenNode([Segment("DTP", ("573", "D8", "20260320"))])
    inner.written = ("DTP*573*D8*20260321", 3, 1)
    tree = Node([Segment("LX", ("1",)), inner])
    assert tree_text(tree) == ("LX*1~\nDTP*573*D8*20260321~\n", 2)
    assert tree_text(tree, Delimiters("*", ":", "^", "~", "")) == ("LX*1~DTP*573*D8*20260320~", 2)
