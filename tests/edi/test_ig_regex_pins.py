"""edi.ig_regex pins: a node's expression with a simple element written in as one value accepts what
the node's own expression accepts with a look-ahead for that value (what edi.ig_blocks used before)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edi.ig_map import load_map
from edi.ig_regex import segment_matcher, segment_pattern
from edi.validate_pipe import _WARM_837P

REPO = Path(__file__).resolve().parents[2]
MAP = "837.5010.X222.A1.xml"


def keyed_nodes():
    """(node, element index from 0, codes) of the 837P map's segment nodes keyed on a simple element,
    and LX (pinned on LX01)."""
    out = []
    for node in load_map(MAP).by_path.values():
        if not getattr(node, "is_segment", False) or segment_matcher(node, "*", ":", "~") is None:
            continue
        if node.key is not None and node.key[1] is None and node.kinds[node.key[0] - 1] == 0:
            out.append((node, node.key[0] - 1, sorted(c for c in node.key[2] if c)))
        elif node.id == "LX":
            out.append((node, 0, ["1", "2", "3", "12"]))
        # and an element that may be left out (the pin then makes it required)
        for index, spec in enumerate(node.by_idx):
            if node.kinds[index] == 0 and getattr(spec, "usage", None) == "S" and spec.codes_list:
                out.append((node, index, sorted(c for c in spec.codes_list if c)[:20]))
                break
    return out


NODES = keyed_nodes()
SEGMENTS = [s.strip() for s in _WARM_837P.split("~") if s.strip()]


def with_look_ahead(node, index: int, value: str) -> re.Pattern:
    """The expression edi.ig_blocks built before pins: a look-ahead for the value, then the node's."""
    start = re.escape(node.id) + r"(?:\*[^\*]*){%d}\*" % index
    return re.compile(f"(?={start}{re.escape(value)}:*(?:\\*|\\Z))(?:{segment_matcher(node, '*', ':', '~').__self__.pattern})",
                      re.S)


def pinned(node, index: int, value: str) -> re.Pattern | None:
    text = segment_pattern(node, "*", ":", "~", {index: value})
    return re.compile(text, re.S) if text is not None else None


def texts_for(node) -> list[str]:
    return [s for s in SEGMENTS if s.split("*")[0] == node.id]


def test_there_are_nodes_and_segments():
    assert len(NODES) > 50
    assert sum(bool(texts_for(node)) for node, _i, _c in NODES) > 10


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_pinned_expression_is_the_look_ahead_one(data):
    node, index, codes = data.draw(st.sampled_from(NODES))
    value = data.draw(st.sampled_from(codes + ["ZZZ", "1", ""]).filter(bool))
    own = texts_for(node) or [node.id + "*" + codes[0]]
    parts = data.draw(st.sampled_from(own)).split("*")
    # the pinned element: the value, another code, with separators or spaces added, or missing
    while len(parts) <= index + 1:
        parts.append("")
    parts[index + 1] = data.draw(st.sampled_from([value, value, data.draw(st.sampled_from(codes)), value + ":",
                                                  value + ":" + value, " " + value, "", value + " "]))
    edit = data.draw(st.sampled_from(["none", "cut", "extra", "empty-other"]))
    if edit == "cut":
        parts = parts[:data.draw(st.integers(1, len(parts)))]
    elif edit == "extra":
        parts.append(data.draw(st.sampled_from(["", "X", "1"])))
    elif edit == "empty-other" and len(parts) > 2:
        parts[data.draw(st.integers(1, len(parts) - 1))] = ""
    text = "*".join(parts)
    pin = pinned(node, index, value)
    expected = with_look_ahead(node, index, value).fullmatch(text) is not None
    assert (pin is not None and pin.fullmatch(text) is not None) == expected, (node.path, value, text)


@pytest.mark.parametrize("node, index, codes", NODES[:40], ids=lambda v: getattr(v, "path", None))
def test_the_real_segments_as_before(node, index, codes):
    for text in texts_for(node):
        for value in codes[:30] + [text.split("*")[index + 1] if len(text.split("*")) > index + 1 else "X"]:
            if not value:
                continue
            pin = pinned(node, index, value)
            expected = with_look_ahead(node, index, value).fullmatch(text) is not None
            assert (pin is not None and pin.fullmatch(text) is not None) == expected, (node.path, value, text)
