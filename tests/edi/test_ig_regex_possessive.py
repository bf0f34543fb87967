"""The possessive value repeats of the segment expressions (edi.ig_regex.POSSESSIVE) accept exactly what
the backtracking forms accept.

A value's characters and digits are taken whole (`{lo,hi}+`, the last character then looked at behind),
never given back one at a time; that is exact only because what follows a value is always a separator,
the end or a zero-width assertion. Held here: for every segment node the test files reach and in other
delimiters, both forms of the node's expression (and with the pins edi.ig_blocks writes into it) give the
same verdict on the real segments, their mutants and generated values; test_ig_regex holds the
expressions (the possessive ones, as the engine uses them) to the element checks themselves. Likewise a
simple element's presence mark looks at its first character only, as no accepted segment holds a
component separator in a simple element (held here on mutants that put one there).
"""
from __future__ import annotations

import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edi import ig_regex
from tests.edi.test_ig_regex import CHARS, VALUES, mutate_segment, segment_pool, synthetic  # noqa: F401 - fixtures

_built: dict[tuple, tuple] = {}


def both(node, ele: str, comp: str, term: str, pins: dict[int, str] | None = None) -> tuple:
    """(possessive, backtracking) expressions of the node, each built afresh (None: not compiled)."""
    key = (id(node), ele, comp, term, tuple(sorted((pins or {}).items())))
    found = _built.get(key)
    if found is None:
        found = []
        saved = ig_regex.POSSESSIVE
        try:
            for possessive in (True, False):
                ig_regex.POSSESSIVE = possessive
                ig_regex._elements.clear()  # (a node's element expressions are kept per process)
                text = ig_regex._segment_text(node, ele, comp, term, pins)
                found.append(re.compile(text, re.S) if text is not None else None)
        finally:
            ig_regex.POSSESSIVE = saved
            ig_regex._elements.clear()
        found = _built[key] = tuple(found)
    return found


def same_verdict(node, line: str, ele: str, comp: str, term: str, pins=None) -> bool | None:
    """The verdict both forms give `line` (None: the node has no expression)."""
    possessive, backtracking = both(node, ele, comp, term, pins)
    assert (possessive is None) == (backtracking is None)
    if possessive is None:
        return None
    verdict = possessive.fullmatch(line) is not None
    assert verdict == (backtracking.fullmatch(line) is not None), (line, node.path)
    return verdict


def test_the_forms_differ_where_values_are(segment_pool):
    forms = [both(node, ele, comp, term) for node, _line, ele, comp, term in segment_pool]
    changed = [p.pattern for p, b in forms if p is not None and p.pattern != b.pattern]
    assert len(changed) > 20  # (AN, ID, R and N values everywhere in the 837P and the 835)
    assert any("}+(?<! )" in p for p in changed) and any("}+(?![0-9.])" in p for p in changed)


def test_real_segments_same_verdict(segment_pool):
    verdicts = [same_verdict(node, line, ele, comp, term) for node, line, ele, comp, term in segment_pool]
    assert verdicts.count(True) > len(segment_pool) // 2


@pytest.mark.parametrize("seed", range(3))
def test_mutated_segments_same_verdict(segment_pool, seed):
    rnd = random.Random(seed)
    seen = set()
    for _ in range(15_000):
        node, line, ele, comp, term = rnd.choice(segment_pool)
        seen.add(same_verdict(node, mutate_segment(line, ele, comp, rnd), ele, comp, term))
    assert {True, False} <= seen  # both verdicts reached


#: values at and around the edges the possessive repeats decide: trailing and inner spaces, lengths,
#: amounts with and without cents, a second point, signs
EDGES = ["A ", " A", "A B", "AB  ", "1.", ".1", "1.2", "1.2.", "1..2", "-1.5", "1.50", "-", "-.", "12.3 ",
         "1" * 18, "1" * 19, "1" * 17 + ".5", "1" * 18 + ".5", "." + "1" * 18, "0" * 15, "0" * 16, "9" * 35,
         "X" * 35, "X" * 34 + " ", "X" * 36, "X" * 80, "X" * 79 + " "]


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_values_same_verdict(segment_pool, data):
    node, line, ele, comp, term = data.draw(st.sampled_from(segment_pool))
    parts = line.split(ele)
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(1, len(parts)))
        value = data.draw(st.one_of(st.sampled_from(EDGES + VALUES),
                                    st.text(st.sampled_from(CHARS + [comp, "1", "5", "."]), max_size=40)))
        if i == len(parts):
            parts.append(value)
        else:
            parts[i] = value
    same_verdict(node, ele.join(parts), ele, comp, term)


def test_other_delimiters_and_pins_same_verdict(segment_pool):
    rnd = random.Random(7)
    pinned = []
    for node, line, ele, comp, term in segment_pool[:400]:
        moved = line.translate(str.maketrans({ele: "|", comp: ">"}))
        for _ in range(5):
            same_verdict(node, mutate_segment(moved, "|", ">", rnd), "|", ">", "~")
        parts = line.split(ele)
        if len(parts) > 1 and node.kinds and node.kinds[0] == 0 and parts[1]:
            pins = {0: parts[1]}  # the first element written in as edi.ig_blocks pins a qualifier
            if both(node, ele, comp, term, pins)[0] is not None:
                pinned.append(same_verdict(node, line, ele, comp, term, pins))
                for _ in range(5):
                    same_verdict(node, mutate_segment(line, ele, comp, rnd), ele, comp, term, pins)
    assert pinned.count(True) > 100


def test_no_accepted_segment_has_a_component_separator_in_a_simple_element(segment_pool):
    """What lets a simple element's presence mark look at its first character only (ig_regex
    `elements`): in a segment the expression accepts, a simple element holds no component separator."""
    rnd = random.Random(11)
    accepted = 0
    for _ in range(20_000):
        node, line, ele, comp, term = rnd.choice(segment_pool)
        parts = line.split(ele)
        simple = [i for i in range(1, len(parts)) if i <= len(node.kinds) and node.kinds[i - 1] == 0]
        if simple:
            i = rnd.choice(simple)
            where = rnd.randrange(len(parts[i]) + 1)
            parts[i] = parts[i][:where] + comp * rnd.randint(1, 2) + parts[i][where:]
        text = ele.join(parts)
        possessive, backtracking = both(node, ele, comp, term)
        if possessive is None or possessive.fullmatch(text) is None:
            continue
        accepted += 1
        assert (backtracking.fullmatch(text) is not None)
        assert not any(comp in parts[i] for i in simple), (text, node.path)
    assert accepted > 100  # (segments without simple elements, or that stayed whole, are accepted)
