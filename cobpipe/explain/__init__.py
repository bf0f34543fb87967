"""`cobpipe explain`: the 835 as an explanation of benefits, in text, JSON or one HTML page.

build.py turns the 835 model (cobpipe.era) into the plain view of view.py; text.py, jsonout.py and
htmlout.py render that view and nothing else.
"""
from __future__ import annotations

from .build import ExplainOptions, explain_file
from .view import ExplainView

FORMATS = ("text", "json", "html")
# the renderers are imported when first asked for (module __getattr__): `explain --format json`
# by the fast path needs neither the HTML nor the text one (html.entities alone is ~1 ms)
_LAZY = {"render_html": "htmlout", "render_json": "jsonout", "to_dict": "jsonout", "render_text": "text"}


def render(view: ExplainView, output_format: str) -> str:
    """The view in one of FORMATS."""
    if output_format not in FORMATS:
        raise KeyError(output_format)
    return __getattr__(f"render_{output_format}")(view)


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = ["FORMATS", "ExplainOptions", "ExplainView", "explain_file", "render", "render_html", "render_json",
           "render_text", "to_dict"]
