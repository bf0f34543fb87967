"""Trailing empty elements and components of carried-over segments, dropped before writing.

An original 837P may end a segment with separators (`CLM*...*Y*~`, `SV1*HC:99213:*...`). X12
forbids them (pyx12 IG-SEG-SEG1), and a secondary claim copies most of the original verbatim, so
without this one stray separator would get the whole secondary claim refused. Dropping them loses
nothing: an empty trailing element means "not used" either way.
"""
from __future__ import annotations

from edi.segment import STANDARD, Segment, _make_segment

from ..claim837.loops import Loop


def tidy_segment(segment: Segment) -> Segment:
    """The segment without trailing empty elements or empty trailing components; itself if clean."""
    if segment.tag in ("ISA", "IEA", "GS", "GE", "ST", "SE"):
        return segment
    delimiters = segment.delimiters
    component, element = delimiters.component, delimiters.element
    elements = segment.elements
    if (not elements or elements[-1] != "") and component + element not in element.join(elements) + element:
        return segment  # the usual case: no element ends with a component separator (one C-level scan)
    values = [_tidy_composite(value, component) for value in elements]
    while values and values[-1] == "":
        values.pop()
    if tuple(values) == segment.elements:
        return segment
    return Segment(segment.tag, tuple(values), segment.index, segment.line, segment.delimiters)


def made_tidy(tag: str, elements: tuple[str, ...], tidied: bool) -> Segment:
    """`Segment.build(tag, *elements)`, through `tidy_segment` when `tidied`, for texts whose last is
    not empty (nothing trails for build to drop): the segment made directly, and tidied only where an
    element ends with ":", the one thing tidy_segment changes in a built segment. For the SBR and PAT
    a built claim makes (build's variable arguments and type tests and tidy_segment's call skipped:
    ~4k to ~10k instructions each)."""
    segment = _make_segment(tag, elements, 0, 0, STANDARD)
    if tidied and ":*" in "*".join(elements) + "*":
        return tidy_segment(segment)
    return segment


def tidy_loop(loop: Loop | None) -> Loop | None:
    """The loop with every segment tidied; the same object when nothing changed (the 837 writer
    merges claims sharing a context loop by identity first)."""
    if loop is None:
        return None
    items = loop.items
    # a read, no list built, until the first item that changes (usually none: the loop itself)
    for position, item in enumerate(items):
        if isinstance(item, Segment):
            elements = item.elements
            # tidy_segment's usual case inlined (a segment in standard delimiters whose last element
            # is not empty and no element ends with ":"): the segment itself, without a call
            if item.delimiters is STANDARD and elements and elements[-1] != "" \
                    and ":*" not in "*".join(elements) + "*":
                continue
            tidied = tidy_segment(item)
        else:
            tidied = tidy_loop(item)
        if tidied is not item:
            break
    else:
        return loop
    clone = Loop(loop.id)
    clone.items = [*items[:position], tidied,
                   *(tidy_segment(i) if isinstance(i, Segment) else tidy_loop(i) for i in items[position + 1:])]
    return clone


def tidy_segments(segments: list[Segment]) -> list[Segment]:
    """`tidy_segment` of each (the segments the mapper builds: an element taken from the 835 may
    still end with a separator); the same list when every segment is already tidy."""
    for position, segment in enumerate(segments):
        elements = segment.elements
        if segment.delimiters is STANDARD and elements and elements[-1] != "" \
                and ":*" not in "*".join(elements) + "*":
            continue  # tidy_loop's usual case
        tidied = tidy_segment(segment)
        if tidied is not segment:
            segments = segments[:position] + [tidied] + [tidy_segment(s) for s in segments[position + 1:]]
            break
    return segments


def _tidy_composite(value: str, component: str) -> str:
    if component not in value:
        return value
    parts = value.split(component)
    while parts and parts[-1] == "":
        parts.pop()
    return component.join(parts)
