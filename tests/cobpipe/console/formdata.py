"""Read a page's form the way a browser would submit it (inputs, checked radios, selected options)."""
from __future__ import annotations

from html.parser import HTMLParser


class _Forms(HTMLParser):
    def __init__(self, form_id: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self.select: str | None = None
        self.select_first: str | None = None
        self.select_chosen = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = self.form_id is None or a.get("id") == self.form_id
            return
        if not self.inside:
            return
        if tag == "input":
            kind = a.get("type", "text")
            if kind in ("submit", "button") or not a.get("name"):
                return
            if kind in ("radio", "checkbox") and "checked" not in a:
                return
            self.fields.append((a["name"], a.get("value", "") or ""))
        elif tag == "select":
            self.select, self.select_first, self.select_chosen = a.get("name"), None, False
        elif tag == "option" and self.select:
            value = a.get("value", "")
            if self.select_first is None:
                self.select_first = value
            if "selected" in a and not self.select_chosen:
                self.fields.append((self.select, value))
                self.select_chosen = True

    def handle_endtag(self, tag):
        if tag == "select" and self.select:
            if not self.select_chosen and self.select_first is not None:
                self.fields.append((self.select, self.select_first))
            self.select = None
        elif tag == "form":
            self.inside = False


def form_fields(html: str, form_id: str | None = None) -> dict[str, str]:
    parser = _Forms(form_id)
    parser.feed(html)
    return dict(parser.fields)
