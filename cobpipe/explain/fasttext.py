"""The 835 as text for the fast `explain` (fastscan): chunks cut after a segment terminator,
segments split with str.split, amounts and dates read as the plain reader reads them.

Everything here refuses (raises `Ineligible`) what the plain reader (edi.reader, cobpipe.era)
would read otherwise or report: a layout other than the terminator followed by nothing, LF or
CRLF, control characters, blanks around segments, empty segments, non-ASCII text, an ISA that is
not fixed width, an amount that is not a plain number, an invalid date, a composite written with
another separator. The caller then runs the plain path for the whole file.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal

from edi.reader import ISA_MAX_CHARS, parse_isa_delimiters

CHUNK_BYTES = 1 << 20
ENVELOPE_BYTES = 4096  # the chunks envelope_head reads (an ISA and a GS fit, a longer GS reads on)
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)\Z")
_D8 = re.compile(r"\d{8}\Z")
_FOREIGN_SEPARATOR = re.compile(r"(?:[A-Z]{2}|N[1-6])([^A-Za-z0-9 ])")
_FOREIGN_SEPARATOR_PLB = re.compile(r"[A-Z0-9]{2}([^A-Za-z0-9 ])")
ZERO = Decimal(0)


class Ineligible(Exception):
    """The fast path cannot vouch for output identical to the plain path's: the plain path runs.
    The message says why (for tests and --debug); it never holds element values."""


# --- values ------------------------------------------------------------------------------------

#: how many amount texts are remembered (as Decimals here, as JSON in fastclaim._Words) before the
#: memory is emptied: a 100k-claim bench 835 holds ~48k distinct amounts, which 32,768 made read
#: ~108k times (emptied every ~33k); ~10 MB each at this size
AMOUNTS_KEPT = 65536
_decimals: dict[str, Decimal] = {}
_dates: dict[str, dt.date] = {}


def number(text: str) -> Decimal:
    """An amount as the plain reader reads it; Ineligible for anything but a plain number."""
    value = _decimals.get(text)
    if value is None:
        if not _NUMBER.match(text) or len(text) > 18:
            raise Ineligible("an amount that is not a plain number (or too long for exact sums)")
        if len(_decimals) > AMOUNTS_KEPT:
            _decimals.clear()
        value = _decimals[text] = Decimal(text)
    return value


def optional_number(text: str) -> Decimal | None:
    return number(text) if text else None


def date(text: str) -> dt.date | None:
    """A D8 date (None when empty); Ineligible when the plain reader would report it."""
    if not text:
        return None
    value = _dates.get(text)
    if value is None:
        if not _D8.match(text):
            raise Ineligible("a date that is not CCYYMMDD")
        try:
            value = dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            raise Ineligible("an invalid date") from None
        if len(_dates) > 4096:
            _dates.clear()
        _dates[text] = value
    return value


def composite(value: str, component: str, hint: re.Pattern[str]) -> list[str]:
    """Components of a composite; Ineligible when the plain reader would report another separator (ERA006)."""
    if not value:
        return []
    if component in value:
        return value.split(component)
    if len(value) > 3 and hint.match(value):
        raise Ineligible("a composite with another component separator")
    return [value]


def pad(els: list[str], count: int) -> list[str]:
    """Elements 01..count (els[1:] padded with "")."""
    missing = count + 1 - len(els)
    return els[1:] + [""] * missing if missing > 0 else els[1:count + 1]


def procedure(parts: list[str]) -> tuple[str, str, tuple[str, ...], str]:
    """(qualifier, code, modifiers, description) as cobpipe.era.parser._procedure reads a composite."""
    if not parts:
        return ("", "", (), "")
    count = len(parts)
    if count <= 2:
        return (parts[0], parts[1] if count > 1 else "", (), "")
    return (parts[0], parts[1], tuple(m for m in parts[2:6] if m), parts[6] if count > 6 else "")


class _Cache(dict):
    """Segment text -> what it reads as; emptied when it grows past `limit` (memory stays flat)."""

    __slots__ = ("limit",)

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def put(self, key, value):
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value


# --- the text ----------------------------------------------------------------------------------

BOM = b"\xef\xbb\xbf"


def text_start(path: str) -> int:
    """Where the X12 text starts: after a UTF-8 byte order mark (which the plain reader drops)."""
    with open(path, "rb") as stream:
        return len(BOM) if stream.read(len(BOM)) == BOM else 0


def _chunks(path: str, start: int = 0, end: int | None = None, size: int | None = None) -> Iterator[str]:
    """The file's bytes start..end (to the end when None) as text, a chunk (of `size` bytes,
    CHUNK_BYTES when None) at a time; from the start of the file, a byte order mark is left out."""
    block = size or CHUNK_BYTES
    with open(path, "rb") as stream:
        if start == 0 and stream.read(len(BOM)) == BOM:
            start = len(BOM)
        stream.seek(start)
        remaining = end - start if end is not None else None
        while True:
            data = stream.read(block if remaining is None else min(remaining, block))
            if not data:
                return
            if remaining is not None:
                remaining -= len(data)
            if not data.isascii():
                raise Ineligible("text that is not ASCII")
            if data.translate(None, _PRINTABLE_OR_LINE_BREAK):  # a control character: the plain reader
                raise Ineligible("layout characters around segments, or an empty segment")  # would differ
            yield data.decode("ascii")


#: what a segment's text may hold: printable ASCII, and line breaks (which bodies checks are layout);
#: bytes.translate deletes them in C (~0.3 ms a MB) where str.isprintable on the body took ~2.4 ms
_PRINTABLE_OR_LINE_BREAK = bytes(range(32, 127)) + b"\n\r"


def delimiters(path: str) -> tuple[str, str, str]:
    """(element, component, terminator) of the file's ISA; Ineligible unless a fixed-width ISA starts it."""
    with open(path, "rb") as stream:
        head = stream.read(ISA_MAX_CHARS + len(BOM))
    head = head[len(BOM):] if head.startswith(BOM) else head[:ISA_MAX_CHARS]
    if not head.startswith(b"ISA") or not head.isascii():
        raise Ineligible("the file does not start with ISA")
    try:
        parsed = parse_isa_delimiters(head.decode("ascii"), final=True)
    except ValueError:
        raise Ineligible("an unusable ISA") from None
    if parsed is None or not parsed[2]:
        raise Ineligible("an ISA that is not fixed width")
    delims = parsed[0]
    sep, component, term = delims.element, delims.component, delims.segment
    if any(c in "\r\n " for c in (sep, component, term)):
        raise Ineligible("line breaks or blanks as delimiters")
    return sep, component, term


def pieces(path: str, term: str, start: int = 0, end: int | None = None,
           size: int | None = None) -> Iterator[list[str]]:
    """The segments of the file (bytes start..end) as text, a chunk's worth at a time (see bodies)."""
    term_lf, term_crlf = term + "\n", term + "\r\n"
    for body in _raw_bodies(path, term, start, end, size):
        found = _plain_pieces(body, term, term_crlf if "\r" in body else term_lf)
        if found is None:
            found = _normalized(body, term).split(term)
            found.pop()  # after the last terminator: ""
        yield found


def _plain_pieces(body: str, term: str, line_end: str) -> list[str] | None:
    """The segments of a body in one of the usual layouts, every terminator followed by
    `line_end` (term + LF, or term + CRLF) and every line break after a terminator, or no line
    break at all: split at `line_end` (or at the terminator), checked as _normalized checks (no
    empty segment, no blank next to a terminator; control characters and non-ASCII were refused
    by _chunks). None for any other layout (_normalized then reads it). The same list as
    _normalized(body).split(term) without its last "", without the copy that replacing every
    terminator + line break made and the four searches of the whole body (~10 ms a MB in all)."""
    if "\n" in body or "\r" in body:
        if not body.endswith(line_end):
            return None
        joint = line_end
        found = body.split(line_end)
        count = len(found) - 1
        if body.count(term) != count or body.count("\n") != count:
            return None
        if (body.count("\r") != count) if len(line_end) == 3 else ("\r" in body):
            return None
    else:
        if not body.endswith(term):
            return None
        joint = term
        found = body.split(term)
    found.pop()  # after the last terminator: ""
    if "" in found:
        raise Ineligible("layout characters around segments, or an empty segment")
    at = body.find(" ")  # the few blanks looked at one by one (find: memchr), many by searching
    seen = 0
    back = len(joint)
    while at >= 0:
        seen += 1
        if seen > 256:
            if " " + term in body or joint + " " in body:
                raise Ineligible("layout characters around segments, or an empty segment")
            break
        if at == 0 or body.startswith(term, at + 1) or (at >= back and body.startswith(joint, at - back)):
            raise Ineligible("layout characters around segments, or an empty segment")
        at = body.find(" ", at + 1)
    return found


def bodies(path: str, term: str, start: int = 0, end: int | None = None, size: int | None = None) -> Iterator[str]:
    """The file (bytes start..end, each at a segment's start) a chunk at a time, cut after a
    terminator, each segment followed by the terminator alone; Ineligible for any layout the plain
    reader would read differently or report. Accepted after each terminator: nothing, LF or CRLF
    (layout the plain reader strips around segments)."""
    for body in _raw_bodies(path, term, start, end, size):
        yield _normalized(body, term)


def _raw_bodies(path: str, term: str, start: int = 0, end: int | None = None,
                size: int | None = None) -> Iterator[str]:
    """The file (bytes start..end) a chunk at a time, cut after a terminator and the LF or CRLF
    after it, without the LF or CRLF the previous chunk's last terminator left at its start."""
    carry = ""
    for data in _chunks(path, start, end, size):
        chunk = carry + data if carry else data
        cut = chunk.rfind(term) + 1
        if cut:
            if chunk.startswith("\n", cut):
                cut += 1
            elif chunk.startswith("\r\n", cut):
                cut += 2
        carry = chunk[cut:]
        if not cut:
            if len(carry) > 1 << 20:
                raise Ineligible("a segment longer than a chunk")
            continue
        body = chunk[:cut] if carry else chunk
        if body[0] == "\n":
            body = body[1:]  # the line break after the terminator that ended the previous chunk
        elif body.startswith("\r\n"):
            body = body[2:]
        yield body
    if carry.strip("\n"):
        raise Ineligible("text after the last segment terminator")


def _normalized(body: str, term: str) -> str:
    """A raw body with each segment followed by the terminator alone; Ineligible for any layout
    the plain reader would read differently or report."""
    term_lf, term_crlf = term + "\n", term + "\r\n"
    if "\r" in body:
        if body.count("\r") != body.count(term_crlf):
            raise Ineligible("a carriage return other than in CRLF after a terminator")
        body = body.replace(term_crlf, term)
    if "\n" in body:
        body = body.replace(term_lf, term)
    # no line break left inside a segment, no blank line, no control character (the plain reader
    # strips some around segments), no blank the plain reader would strip, no empty segment
    if (not body.isprintable() or " " + term in body or term + " " in body or body[0] == " "
            or term + term in body or body[0] == term):
        raise Ineligible("layout characters around segments, or an empty segment")
    return body


def envelope_head(path: str) -> tuple[list[str], list[str]]:
    """The file's ISA and GS elements (GS padded to GS08), as scan reads them."""
    sep, _component, term = delimiters(path)
    head: list[str] = []
    for found in pieces(path, term, size=ENVELOPE_BYTES):  # small chunks: only the first two are needed
        head += found[:2 - len(head)]
        if len(head) == 2:
            return head[0].split(sep), ["GS", *pad(head[1].split(sep), 8)]
    raise Ineligible("no GS after the ISA")
