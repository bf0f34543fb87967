"""The one interface of a guide-check engine, and the table of engines edi.ig chooses from.

An engine reads X12 text from a read()-only stream positioned at the first ISA (edi.ig has checked
the ISA and cut the input before a later interchange in other delimiters) and returns every error as
an edi.ig_issues.Issue, sorted by segment position, with the line of each segment. It raises
TooManyIssues past `limits` (issues of any kind, unrecognized segments) when it applies them, and
EngineBug when it failed on its own account (edi.ig then runs the reference engine instead).

Import direction: edi.ig (the facade) -> edi.ig_engine -> the engines (edi.ig_fast, edi.ig_pyx12) ->
their parts (edi.ig_map, edi.ig_checks, edi.ig_regex, edi.ig_walk) -> edi.ig_issues. Nothing imports
edi.ig back.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any, Protocol

from .ig_issues import Issue
from .seglines import SegmentLines


class Engine(Protocol):
    def __call__(self, stream: Any, first_line: int = 1,
                 limits: tuple[int, int] | None = None) -> tuple[list[Issue], SegmentLines]: ...


#: engine name -> module whose `run` is the engine (imported when first used: pyx12 is slow to import)
MODULES: dict[str, str] = {"fast": "edi.ig_fast", "pyx12": "edi.ig_pyx12"}
#: the engine every other one is held to, and the one that takes over when another fails
REFERENCE = "pyx12"


def engine(name: str) -> Engine:
    """The `run` function of engine `name` (KeyError for an unknown name)."""
    return import_module(MODULES[name]).run  # type: ignore[no-any-return]
