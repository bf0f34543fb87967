"""`cobpipe explain`: the 835 as an explanation of benefits, in text, JSON or one HTML page.

build.py turns the 835 model (cobpipe.era) into the plain view of view.py; text.py, jsonout.py and
htmlout.py render that view and nothing else.
"""
from __future__ import annotations

from .build import ExplainOptions, explain_file
from .htmlout import render_html
from .jsonout import render_json, to_dict
from .text import render_text
from .view import ExplainView

FORMATS = ("text", "json", "html")
_RENDERERS = {"text": render_text, "json": render_json, "html": render_html}


def render(view: ExplainView, output_format: str) -> str:
    """The view in one of FORMATS."""
    return _RENDERERS[output_format](view)


__all__ = ["FORMATS", "ExplainOptions", "ExplainView", "explain_file", "render", "render_html", "render_json",
           "render_text", "to_dict"]
