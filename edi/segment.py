"""The X12 segment as read or built, and the delimiters that frame it."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The four X12 separators, plus what follows each segment terminator when writing.

    `suffix` is layout only (a newline after `~` keeps files readable); readers ignore it.
    `repetition` is None for 4010 interchanges, where ISA11 is a standards id, not a separator.
    """

    element: str = "*"
    component: str = ":"
    repetition: str | None = "^"
    segment: str = "~"
    suffix: str = "\n"

    def __post_init__(self) -> None:
        seps = [self.element, self.component, self.segment] + ([self.repetition] if self.repetition else [])
        if any(len(s) != 1 for s in seps):
            raise ValueError("each X12 delimiter is exactly one character")
        if len(set(seps)) != len(seps):
            raise ValueError(f"X12 delimiters must differ from each other: {seps!r}")


STANDARD = Delimiters()


def output_delimiters(text: str) -> Delimiters:
    """Delimiters for writing, from four characters: element, component, repetition, segment
    terminator (e.g. '*:^~'). A line feed follows each terminator to keep the file readable, except
    a terminator that is itself a line break (another would make an empty segment between every two).
    ValueError for anything else than four distinct characters."""
    if len(text) != 4:
        raise ValueError("give four characters: element, component, repetition, terminator")
    return Delimiters(text[0], text[1], text[2], text[3], "" if text[3] in "\r\n" else "\n")


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment. `elements[0]` is element 01; composites stay joined by `delimiters.component`.

    `index` is the 1-based segment number in its file (ISA = 1) and `line` the 1-based line where
    the segment starts; built segments have neither (0).
    """

    tag: str
    elements: tuple[str, ...]
    index: int = 0
    line: int = 0
    delimiters: Delimiters = STANDARD
    # `str(self)` when its maker had that text in hand (the claim index splits each segment it makes
    # from it), else None: the writer takes it as the segment's body instead of joining the elements
    # again. Not part of the value (not compared, not hashed, not an argument); every maker sets it.
    text: str | None = field(default=None, init=False, compare=False, repr=False)

    @classmethod
    def build(cls, tag: str, *elements: str | tuple[str, ...] | list[str] | None) -> "Segment":
        """A new segment in standard delimiters; tuples become composites, None an empty element,
        and trailing empty elements are dropped as X12 requires."""
        if cls is Segment and _only_text(elements):
            # the usual call (texts only): nothing to convert, the trailing empty elements cut off
            # by one slice (no list made and popped); the frozen __init__ skipped
            end = len(elements)
            if end and elements[-1] == "":
                end -= 1
                while end and elements[end - 1] == "":
                    end -= 1
                elements = elements[:end]
            return _make_segment(tag, elements, 0, 0, STANDARD)  # type: ignore[arg-type]
        values: list[str] = []
        for value in elements:
            if value is None:
                values.append("")
            elif isinstance(value, (tuple, list)):
                values.append(_join_composite(value, STANDARD.component))
            else:
                values.append(value)
        while values and values[-1] == "":
            values.pop()
        if cls is Segment:  # the mapper builds ~20 segments a claim: skip the frozen __init__
            return _make_segment(tag, tuple(values), 0, 0, STANDARD)
        return cls(tag, tuple(values))

    def get(self, position: int, default: str = "") -> str:
        """Element by its X12 position (1 = CLP01); missing elements read as `default`."""
        if position > 0:
            try:
                return self.elements[position - 1]
            except IndexError:
                pass
        return default

    def component(self, position: int, sub: int, default: str = "") -> str:
        """Component `sub` (1-based) of composite element `position`, e.g. SVC01-2 procedure code."""
        parts = self.composite(position)
        if 0 < sub <= len(parts):
            return parts[sub - 1]
        return default

    def composite(self, position: int) -> list[str]:
        value = self.get(position)
        return value.split(self.delimiters.component) if value else []

    def repeats(self, position: int) -> list[str]:
        """The repetitions of element `position` (ISA11 separator); one item when not repeated."""
        value = self.get(position)
        rep = self.delimiters.repetition
        return value.split(rep) if value and rep else ([value] if value else [])

    def id(self, qualifier_position: int = 1) -> str:
        """Tag plus its qualifier, e.g. NM1*PR -> 'NM1*PR', handy for dispatch tables."""
        return f"{self.tag}*{self.get(qualifier_position)}"

    def with_elements(self, *elements: str | tuple[str, ...] | None) -> "Segment":
        """A copy with new elements, keeping position; composites join with this segment's separator."""
        values = []
        for value in elements:
            if value is None:
                values.append("")
            elif isinstance(value, (tuple, list)):
                values.append(_join_composite(value, self.delimiters.component))
            else:
                values.append(value)
        while values and values[-1] == "":
            values.pop()
        return Segment(self.tag, tuple(values), self.index, self.line, self.delimiters)

    def replace_element(self, position: int, value: str) -> "Segment":
        values = list(self.elements)
        while len(values) < position:
            values.append("")
        values[position - 1] = value
        while values and values[-1] == "":
            values.pop()
        return Segment(self.tag, tuple(values), self.index, self.line, self.delimiters)

    def __str__(self) -> str:
        sep = self.delimiters.element
        return sep.join((self.tag, *self.elements))


_new_object = object.__new__


def _only_text(values: tuple) -> bool:
    """Whether every value is a str: what Segment.build keeps as it is (a str subclass too), so a
    caller may make the segment of these values directly. Told by one C-level join, which refuses
    anything else (None, a composite tuple or list, a number): ~0.6k instructions for an NM1's
    eight values, where frozenset((str,)).issuperset(map(type, values)) called `type` a value (~2k)."""
    try:
        "".join(values)
    except TypeError:
        return False
    return True


_set_tag, _set_elements, _set_index, _set_line, _set_delimiters, _set_text = (
    Segment.__dict__[name].__set__ for name in ("tag", "elements", "index", "line", "delimiters", "text"))


# what _make_segment does, for a loop that inlines it (the reader's): object.__new__, then each field
_SEGMENT_FACTORY = (_new_object, _set_tag, _set_elements, _set_index, _set_line, _set_delimiters, _set_text)


class _Unfrozen:
    """Segment's slots, in Segment's order, without its frozen `__setattr__`: `_make_segment` fills
    one with plain attribute stores and then makes it a Segment (`__class__` assignment: the same
    layout), twice as fast as five slot-descriptor calls (the 835 reader, the claim index and
    Segment.build make ~50 segments a claim)."""

    __slots__ = ("tag", "elements", "index", "line", "delimiters", "text")


if _Unfrozen.__slots__ != Segment.__slots__:  # a field added to Segment must be added above too
    raise TypeError("edi.segment._Unfrozen must have Segment's slots, in order")


def _make_segment(tag: str, elements: tuple[str, ...], index: int, line: int,
                  delimiters: Delimiters) -> Segment:
    """`Segment(...)` without the frozen-dataclass `__init__` overhead; the reader's hot path."""
    seg = _new_object(_Unfrozen)
    seg.tag = tag
    seg.elements = elements
    seg.index = index
    seg.line = line
    seg.delimiters = delimiters
    seg.text = None
    seg.__class__ = Segment  # type: ignore[assignment]
    return seg  # type: ignore[return-value]


def _join_composite(parts: tuple[str, ...] | list[str], sep: str) -> str:
    values = list(parts)
    while values and values[-1] == "":
        values.pop()
    return sep.join(values)
