"""Streaming X12 reader: delimiters from each ISA, segments with their file position, envelope checks.

The reader holds one chunk of text at a time, so a 1 GB interchange is read in constant memory.
Envelope problems (counts, control numbers, truncation, junk) become Findings and reading goes
on; only a file that is not X12 at all raises EdiSyntaxError (never another exception type).

What it accepts, as users receive files:
* delimiters from each ISA: element (ISA04 position), component (ISA16), repetition (ISA11 from
  00402 on) and a segment terminator that may be `~`, a line break, or `~` followed by CR/LF;
* several interchanges in one file, each with its own delimiters; several GS and ST;
* a UTF-8 BOM (also in front of a later interchange), indentation, blank lines, CRLF, segments
  wrapped over fixed-length lines, NUL or Ctrl-Z padding at the end;
* a bare ST..SE fragment without ISA/GS, with delimiters inferred (finding ENV011).

Positions: `Segment.index` counts segments in the file (ISA = 1, across interchanges) and
`Segment.line` is the 1-based line where the segment's first character is.
"""
from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TextIO

from .errors import EdiSyntaxError
from .findings import CappedFindings, Finding, Location, Severity, TooManyFindings
from .segment import _SEGMENT_FACTORY, Delimiters, Segment, _make_segment

CHUNK_CHARS = 1 << 18
"""Characters read at a time; memory use is about this plus the longest segment."""
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
ISA_MAX_CHARS = 1024
"""An ISA whose 16 element separators are not all within this many characters is unusable."""
SNIFF_CHARS = 1 << 16
MAX_SEGMENT_CHARS = 1 << 20
"""The longest segment read (X12 elements are at most a few hundred characters): a file with more
text than this and no segment terminator is refused instead of being joined into one string."""
LOOP_LIMIT = 30_000
"""Segments in one claim or loop (none of LOOP_STARTS between them) before a file is refused: a
claim with millions of segments would be held in memory whole by every parser (the guides allow
999 service lines of an 835 claim, 50 of an 837P claim)."""
LOOP_STARTS = frozenset({"CLP", "CLM", "LX", "HL", "AK2", "IK3"})  # 835, 837, 277CA, 999 loops
"""How much of a bare ST..SE fragment is looked at to guess its component separator."""

_TAG = re.compile(r"[A-Z0-9]{2,3}\Z")
_ENVELOPE_TAGS = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})
_COMPOSITE_HINT = re.compile(r"(?:HC|AD|ER|IV|NU|WK|N4|ZZ|BE|DX|ABK|ABF|BK|BF)([^\w \t\r\n])")
# stripped around every segment: layout, BOMs of concatenated files, NUL / Ctrl-Z end padding
_WHITESPACE = " \t\r\n\v\f\ufeff\x00\x1a"
# allowed before the first segment (a NUL there means a binary file)
_LEADING_WHITESPACE = " \t\r\n\v\f\ufeff"
_NOT_A_SEPARATOR = " \r\n"


def parse_isa_delimiters(text: str, final: bool = False) -> tuple[Delimiters, int, bool] | None:
    """Delimiters of the ISA that starts `text`, where its terminator ends, and whether the ISA keeps
    its fixed width; None when `text` ends before the ISA does. Raises ValueError for an ISA that
    cannot give usable delimiters.

    Counting the 16 element separators instead of trusting offset 105 reads ISAs whose sender
    forgot to pad their fields; the fixed-width check reports them. `final` says no more text
    follows, so a CR right after ISA16 is the terminator itself rather than the start of CRLF.
    """
    if len(text) < 4:
        return None
    element = text[3]
    if element.isalnum() or element in _NOT_A_SEPARATOR:
        raise ValueError(f"the ISA element separator {element!r} is a letter, digit, space or line break")
    limit = min(len(text), ISA_MAX_CHARS)
    pos = 3
    for _ in range(15):  # text[3] is the first of the 16 separators
        pos = text.find(element, pos + 1, limit)
        if pos < 0:
            if len(text) >= ISA_MAX_CHARS:
                raise ValueError(f"the ISA does not have 16 elements separated by {element!r}")
            return None
    if len(text) < pos + 3:
        return None
    component, terminator = text[pos + 1], text[pos + 2]
    end = pos + 3
    if terminator == "\r":
        if len(text) > end:
            if text[end] == "\n":  # CRLF: split on LF, the CR is stripped as layout
                terminator = "\n"
                end += 1
        elif not final:
            return None
    if component.isalnum() or component in _NOT_A_SEPARATOR:
        raise ValueError(f"the ISA16 component separator {component!r} is a letter, digit, space or line break")
    if terminator.isalnum() or terminator == " ":
        raise ValueError(f"the segment terminator after ISA16 ({terminator!r}) is a letter, digit or space")
    body = text[4:pos]
    if terminator not in "\r\n" and ("\n" in body or "\r" in body):  # wrapped over fixed-length lines
        body = body.replace("\r", "").replace("\n", "")
    fields = body.split(element)
    fixed = [len(f) for f in fields] == list(ISA_WIDTHS[:-1])
    version, isa11 = fields[11], fields[10]
    repetition: str | None = None
    if (version >= "00402" and len(isa11) == 1 and not isa11.isalnum() and isa11 not in _NOT_A_SEPARATOR
            and isa11 not in (element, component, terminator)):
        repetition = isa11
    return Delimiters(element, component, repetition, terminator, ""), end, fixed


def infer_fragment_delimiters(text: str) -> Delimiters:
    """Delimiters for a bare ST..SE fragment with no ISA: guessed from the ST and from composites.

    The terminator is the first character after ST that is not a letter, digit, space or element
    separator; the component separator is the one after a typical composite qualifier (`HC`, `AD`,
    `ZZ`, ...) in the first SNIFF_CHARS characters, else `:`.
    """
    if len(text) < 3:
        raise ValueError("too short to hold an ST segment")
    element = text[2]
    if element.isalnum() or element in _NOT_A_SEPARATOR:
        raise ValueError(f"the element separator after ST ({element!r}) is a letter, digit, space or line break")
    end = min(len(text), 200)
    pos = next((i for i in range(3, end) if not text[i].isalnum() and text[i] not in (element, " ")), None)
    if pos is None:
        raise ValueError("cannot find the segment terminator after ST")
    terminator = text[pos]
    if terminator == "\r" and text[pos + 1:pos + 2] in ("\n", ""):
        terminator = "\n" if text[pos + 1:pos + 2] == "\n" else "\r"
    component = ":"
    for match in _COMPOSITE_HINT.finditer(text, 0, SNIFF_CHARS):
        start = match.start()
        if start and text[start - 1] == element and match.group(1) not in (element, terminator):
            component = match.group(1)
            break
    if component == terminator or component == element:
        component = next(c for c in ":>!|" if c not in (element, terminator))
    repetition = "^" if "^" not in (element, terminator, component) else None
    return Delimiters(element, component, repetition, terminator, "")


def _strip_set(delims: Delimiters) -> str:
    """The layout characters stripped around segments, minus any used as a delimiter."""
    used = (delims.element, delims.component, delims.repetition, delims.segment)
    return "".join(c for c in _WHITESPACE if c not in used)


class _Envelope:
    """Open ISA/GS/ST state for the envelope checks. (A plain class: as a dataclass its making cost
    ~4M instructions at every import of this module, in every process that reads or validates X12.)"""

    __slots__ = ("isa", "gs", "st", "groups", "sets", "seg_count", "loop_start", "closed_interchange",
                 "junk_reported", "outside_reported")

    def __init__(self) -> None:
        self.isa: Segment | None = None
        self.gs: Segment | None = None
        self.st: Segment | None = None
        self.groups = 0
        self.sets = 0
        self.seg_count = 0
        self.loop_start = 0  # seg_count at the last LOOP_STARTS segment of this transaction set
        self.closed_interchange = False
        self.junk_reported = False
        self.outside_reported = False


class X12Reader:
    """Iterates the segments of one X12 text stream; `findings` collects envelope problems.

    Create it with `X12Reader.open(path)`, `X12Reader.from_text(text, name)` or
    `X12Reader.from_binary(stream, name)`. Iterate it once; the stream is closed when iteration
    ends (or use it as a context manager, or call `close()`). `delimiters` holds the delimiters of
    the interchange read last; each segment carries its own.
    """

    def __init__(self, stream: TextIO, name: str) -> None:
        self.name = name
        # at most FINDINGS_PER_CODE of a code, then a counted summary; more than JUNK_LIMIT
        # non-segments refuse the file (TooManyFindings, an EdiSyntaxError) in bounded memory
        self.findings: list[Finding] = CappedFindings()
        self.delimiters: Delimiters | None = None
        self.fragment = False
        self._stream = stream
        self._env = _Envelope()
        self._consumed = False
        self._valid_tags: set[str] = set()
        # when set, the only segments inside an ST..SE that are yielded (envelope segments always
        # are); the others are still counted and checked: a pass that needs a few tags (the ERA
        # pre-scan: CLP) skips building a segment object for each of the rest
        self.body_tags: frozenset[str] | None = None

    @classmethod
    def open(cls, path: str | Path, name: str | None = None) -> "X12Reader":
        """A reader over the file at `path`; EdiSyntaxError naming the file when it cannot be opened."""
        label = name or str(path)
        try:
            raw = open(path, "rb")  # noqa: SIM115 - closed when iteration ends
        except IsADirectoryError as exc:
            raise EdiSyntaxError("cannot read: it is a directory, not an X12 file", path=label) from exc
        except FileNotFoundError as exc:
            raise EdiSyntaxError("cannot read: no such file", path=label) from exc
        except OSError as exc:  # permission, bad path, device errors
            raise EdiSyntaxError(f"cannot read: {exc.strerror or exc}", path=label) from exc
        except ValueError as exc:  # e.g. a NUL character in the path
            raise EdiSyntaxError(f"cannot read: invalid file name ({exc})", path=label) from exc
        return cls.from_binary(raw, label)

    @classmethod
    def from_binary(cls, raw: BinaryIO, name: str) -> "X12Reader":
        # surrogateescape keeps any non-UTF-8 byte so a round trip writes the same bytes back
        text = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="")
        return cls(text, name)

    @classmethod
    def from_text(cls, text: str, name: str = "<text>") -> "X12Reader":
        return cls(io.StringIO(text, newline=""), name)

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> "X12Reader":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- reading -------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Segment]:
        if self._consumed:
            raise RuntimeError("an X12Reader can be iterated once")
        self._consumed = True
        try:
            yield from self._segments()
        finally:
            self._stream.close()

    def _read(self) -> str:
        try:
            return self._stream.read(CHUNK_CHARS)
        except OSError as exc:
            raise self._error(f"cannot read: {exc.strerror or exc}") from exc
        except UnicodeDecodeError as exc:  # only for streams opened by the caller with strict decoding
            raise self._error("not a text file in UTF-8 or ASCII") from exc
        except ValueError as exc:  # read from a closed stream
            raise self._error(f"cannot read: {exc}") from exc

    def _loop_too_long(self, index: int, line: int) -> TooManyFindings:
        return TooManyFindings(f"refused: more than {LOOP_LIMIT:,} segments in one claim or loop (no CLP, CLM, "
                               "LX or HL between them); the file is not usable", path=self.name,
                               segment=index, line=line)

    def _error(self, message: str, segment: int | None = None, line: int | None = None) -> EdiSyntaxError:
        return EdiSyntaxError(message, path=self.name, segment=segment, line=line)

    def _first_text(self) -> tuple[str, int]:
        """The text from the first non-blank character on (at least 4 characters unless the file is
        shorter), and the line it is on."""
        buf = self._fill(self._read(), 4)
        if buf.startswith("\ufeff"):
            buf = buf[1:]
        if buf.startswith(("\udcff\udcfe", "\udcfe\udcff")):
            raise self._error("UTF-16 text: X12 files are ASCII or UTF-8 (save the file as UTF-8)")
        line = 1
        while True:
            stripped = buf.lstrip(_LEADING_WHITESPACE)
            if len(stripped) >= 4:
                break
            more = self._read()
            if not more:
                break
            line += buf.count("\n", 0, len(buf) - len(stripped))
            buf = stripped + more
        line += buf.count("\n", 0, len(buf) - len(stripped))
        if not stripped:
            raise self._error("empty file: no X12 segments" if not buf else
                              "empty file: only blank space, no X12 segments")
        return stripped, line

    def _fill(self, buf: str, size: int) -> str:
        """`buf` plus what follows in the stream, up to at least `size` characters or the end."""
        parts = [buf]
        have = len(buf)
        while have < size:
            more = self._read()
            if not more:
                break
            parts.append(more)
            have += len(more)
        return "".join(parts)

    def _segments(self) -> Iterator[Segment]:
        """Checks the start of the stream, then hands over to `_split` (holding no text itself)."""
        buf, line = self._first_text()
        if buf.startswith("ISA"):
            buf, delims = self._detect_isa(buf, line)
        elif buf.startswith("ST") and len(buf) > 2 and not buf[2].isalnum() and buf[2] not in _NOT_A_SEPARATOR:
            buf = self._fill(buf, SNIFF_CHARS)
            try:
                delims = infer_fragment_delimiters(buf)
            except ValueError as exc:
                raise self._error(f"not X12: {exc}", line=line) from exc
            self.fragment = True
            self.findings.append(Finding(
                "ENV011", "no ISA/GS envelope: a bare ST..SE fragment; delimiters inferred",
                Location(self.name, 1, line, "ST"), Severity.WARNING))
        else:
            sample = self._fill(buf, 4096)[:4096]
            if "\x00" in sample or _mostly_binary(sample):
                raise self._error("binary data, not an X12 text file")
            raise self._error("not X12: the file does not start with an ISA segment", line=line)
        self.delimiters = delims
        return self._split(buf, delims, line)

    def _split(self, buf: str, delims: Delimiters, line: int) -> Iterator[Segment]:
        """Split the stream into segments; re-splits from a later ISA that brings other delimiters."""
        env = self._env
        valid_tags = self._valid_tags
        body_tags: set[str] = set()  # valid tags that are not envelope segments: the fast path
        index = 0
        eof = False
        seg: Segment | None = None
        restarted = False  # the first piece is an ISA whose delimiters were just applied
        wanted = self.body_tags
        loop_starts = LOOP_STARTS
        new_segment, set_tag, set_elements, set_index, set_line, set_delimiters, set_text = _SEGMENT_FACTORY
        skipped: tuple[str, int, int] | None = None  # the last segment read but not yielded (`body_tags`)
        # lines are counted by LF (also CRLF), or by CR in files with old Mac line ends: decided by
        # the first line break of the file, whatever the chunk size
        nl_found: str | None = None
        nl = "\n"
        while True:
            if nl_found is None:
                nl_found = _line_break(buf, eof)
                nl = nl_found or "\n"  # undecided: this text has no line break to count yet
            term = delims.segment
            sep = delims.element
            ws = _strip_set(delims)
            term_is_newline = term in "\r\n"
            pieces = buf.split(term)
            buf = ""  # the pieces hold the text now: keep one chunk in memory, not two
            carry = pieces.pop()
            unterminated = False
            if eof:
                if carry.strip(ws):
                    pieces.append(carry)
                    unterminated = True
                carry = ""
            restart: tuple[str, Delimiters] | None = None
            # body segments none of which is wanted are counted a run at a time (what the hot path below
            # does for each of them), from the chunk's start and again after each segment that ended a run
            layout = (_run_layout(pieces, term, nl) if wanted is not None and pieces and not unterminated
                      and not term_is_newline else None)
            i = 0  # the next piece
            at = 0  # where it starts in layout's text
            first_run = 0  # the first piece a run may start at
            if layout is not None and layout[4]:  # the first piece (the file's first, an ISA) is left out
                first_run = 1
                at = -len(pieces[0]) - len(term)
            npieces = len(pieces)
            while i < npieces:
                if layout is not None and env.st is not None and i >= first_run:
                    run = _body_run(layout, i, at, pieces, sep, body_tags, wanted,
                                    LOOP_LIMIT - (env.seg_count - env.loop_start))
                    if run is not None:
                        count, last_tag, step, last_start, at = run
                        if last_start is not None:
                            env.loop_start = env.seg_count + last_start + 1
                        env.seg_count += count
                        index += count
                        line += count * step
                        seg, skipped = None, (last_tag, index, line)
                        i += count
                        if i >= npieces:
                            break
                raw = pieces[i]
                i += 1
                if layout is not None:
                    at += len(raw) + len(term)
                text = raw.strip(ws)
                if not text:
                    line += raw.count(nl) + term_is_newline
                    continue
                has_lf = "\n" in text  # a segment wrapped over lines (looked for once)
                if len(raw) == len(text) + 1 and raw[0] == nl:  # "~<LF>SEG": the usual layout, counted at once
                    seg_line = line = line + 1
                    if has_lf if nl == "\n" else nl in text:
                        line += text.count(nl)
                    line += term_is_newline
                else:
                    seg_line = line if raw[0] == text[0] else line + raw.count(nl, 0, raw.index(text[0]))
                    line += raw.count(nl) + term_is_newline
                if has_lf and not term_is_newline:  # a segment wrapped over fixed-length lines
                    elements = text.replace("\r", "").replace("\n", "").split(sep)
                else:
                    elements = text.split(sep)
                tag = elements[0]
                index += 1
                if tag in body_tags and env.st is not None:  # the hot path: a segment inside ST..SE
                    env.seg_count += 1
                    if tag in loop_starts:
                        env.loop_start = env.seg_count
                    elif env.seg_count - env.loop_start > LOOP_LIMIT:
                        raise self._loop_too_long(index, seg_line)
                    if wanted is not None and tag not in wanted:
                        seg, skipped = None, (tag, index, seg_line)
                        continue
                    # _make_segment inlined: this runs once for every segment of every file read
                    seg = new_segment(Segment)
                    set_tag(seg, tag)
                    set_elements(seg, tuple(elements[1:]))
                    set_index(seg, index)
                    set_line(seg, seg_line)
                    set_delimiters(seg, delims)
                    set_text(seg, None)
                    yield seg
                    continue
                if tag == "ISA" or (tag not in valid_tags and text.startswith("ISA") and len(text) > 3
                                    and not text[3].isalnum()):
                    parsed = self._parse_isa(text, term, index, seg_line, report=not restarted)
                    if parsed is not None:
                        found, fixed = parsed
                        if not restarted and (found.element != sep or found.segment != term):
                            # a following interchange with other delimiters: re-split from this ISA
                            index -= 1
                            rest = term.join(pieces[i - 1:]) + ("" if eof else term + carry)
                            restart = rest[raw.index(text[0]):], found
                            line = seg_line
                            break
                        if not fixed:
                            self.findings.append(Finding(
                                "ENV001", "ISA is not fixed width (106 characters with every field padded)",
                                Location(self.name, index, seg_line, "ISA")))
                        if found.component != delims.component or found.repetition != delims.repetition:
                            delims = Delimiters(sep, found.component, found.repetition, term, "")
                            ws = _strip_set(delims)
                    self.delimiters = delims
                restarted = False
                valid = tag in valid_tags
                if not valid and _TAG.match(tag):
                    valid_tags.add(tag)
                    valid = True
                    if tag not in _ENVELOPE_TAGS:
                        body_tags.add(tag)
                seg = _make_segment(tag, tuple(elements[1:]), index, seg_line, delims)
                if self._check(seg, valid) and (wanted is None or tag in wanted or tag in _ENVELOPE_TAGS
                                                or env.st is None):
                    yield seg
            if seg is None and skipped is not None:  # the findings below name the last segment read
                seg = _make_segment(skipped[0], (), skipped[1], skipped[2], delims)
            if restart is not None:
                buf, delims = restart
                restarted = True
                continue
            if unterminated and seg is not None and not term_is_newline:
                self.findings.append(Finding(
                    "ENV012", f"the last segment has no segment terminator {term!r}",
                    Location(self.name, seg.index, seg.line, safe_tag(seg.tag)), Severity.WARNING))
            if eof:
                break
            pieces = raw = text = elements = []  # type: ignore[assignment]  # free the chunk before reading on
            buf, eof = self._more(carry, term, index + 1)
        self._close_envelope(seg)

    def _more(self, carry: str, term: str, segment: int | None = None) -> tuple[str, bool]:
        """`carry` plus the next chunk; reads on while no terminator arrives, so one very long
        segment is joined once (linear time) instead of being re-split at every chunk."""
        parts = [carry]
        size = len(carry)
        while True:
            more = self._read()
            if not more:
                return "".join(parts), True
            parts.append(more)
            if term in more:
                return "".join(parts), False
            size += len(more)
            if size > MAX_SEGMENT_CHARS:  # never hold a gigabyte "segment" in memory
                raise self._error(f"refused: no segment terminator {term!r} in {MAX_SEGMENT_CHARS:,} characters "
                                  "(a segment that long is not X12); the file is not usable",
                                  segment)

    def _detect_isa(self, buf: str, line: int) -> tuple[str, Delimiters]:
        """Read enough of the stream to parse the first ISA, at the start of `buf`."""
        eof = False
        while True:
            try:
                parsed = parse_isa_delimiters(buf, final=eof)
            except ValueError as exc:
                raise self._error(f"unusable ISA segment: {exc}", 1, line) from exc
            if parsed is not None:
                return buf, parsed[0]
            if eof:
                raise self._error("truncated ISA segment: the file ends inside the interchange header",
                                  1, line)
            more = self._read()
            if more:
                buf += more
            else:
                eof = True

    def _parse_isa(self, text: str, term: str, index: int, line: int,
                   report: bool = True) -> tuple[Delimiters, bool] | None:
        """Delimiters and fixed-width flag of an ISA met in the segment stream; None (and ENV014)
        when it cannot give delimiters. `text` is the segment up to the current terminator, so a
        terminator found inside it is a new one."""
        try:
            parsed = parse_isa_delimiters(text + term, final=True)
            if parsed is None:
                raise ValueError("the ISA does not have 16 elements")
        except ValueError as exc:
            if report:
                self.findings.append(Finding(
                    "ENV014", f"unusable ISA: {exc}; what follows is read with the delimiters before it",
                    Location(self.name, index, line, "ISA")))
            return None
        return parsed[0], parsed[2]

    # --- envelope checks ---------------------------------------------------------------------

    def _find(self, code: str, message: str, seg: Segment, element: str | None = None,
              severity: Severity = Severity.ERROR) -> None:
        self.findings.append(Finding(code, message, Location(self.name, seg.index, seg.line, safe_tag(seg.tag),
                                                             element=element), severity))

    def _check(self, seg: Segment, valid: bool = True) -> bool:
        """Track the envelope; returns False for junk that must not reach the models."""
        env = self._env
        tag = seg.tag
        if env.closed_interchange and tag != "ISA":
            if not env.junk_reported:
                self._find("ENV009", "data after IEA: junk after the end of the interchange", seg)
                env.junk_reported = True
            return False
        if not valid:
            self._find("ENV013", "not a segment: the segment id is not 2-3 capital letters or digits", seg)
            return False
        if env.st is not None and tag not in ("ST", "GS", "GE", "ISA", "IEA"):
            env.seg_count += 1
            if tag in LOOP_STARTS:
                env.loop_start = env.seg_count
            elif env.seg_count - env.loop_start > LOOP_LIMIT:
                raise self._loop_too_long(seg.index, seg.line)
        if tag == "ISA":
            if env.isa is not None and not env.closed_interchange:
                self._find("ENV008", "IEA missing: a new ISA starts before the previous interchange ended",
                           seg)
            env.st = env.gs = None
            env.isa, env.groups, env.closed_interchange, env.junk_reported = seg, 0, False, False
            env.outside_reported = False
        elif tag == "GS":
            if env.st is not None:
                self._find("ENV008", "SE missing: a new GS starts inside a transaction set", seg)
                env.st = None
            if env.gs is not None:
                self._find("ENV008", "GE missing: a new GS starts before the previous group ended", seg)
                env.groups += 1
            if env.isa is None and not self.fragment:
                self._find("ENV010", "GS outside an interchange (no ISA before it)", seg)
            env.gs, env.sets = seg, 0
            env.outside_reported = False
        elif tag == "ST":
            if env.st is not None:
                self._find("ENV008", "SE missing: a new ST starts before the previous transaction set ended",
                           seg)
                env.sets += 1
            if env.gs is None and not self.fragment:
                self._find("ENV010", "ST outside a functional group (no GS before it)", seg)
            env.st, env.seg_count, env.loop_start = seg, 1, 0
            env.outside_reported = False
        elif tag == "SE":
            if env.st is None:
                self._find("ENV010", "SE without a matching ST", seg)
            else:
                if seg.get(1) != str(env.seg_count):
                    self._find("ENV006", f"SE01 says {seg.get(1) or 'nothing'} segments, the transaction set "
                               f"has {env.seg_count}", seg, "SE01")
                if seg.get(2) != env.st.get(2):
                    self._find("ENV007", f"SE02 {seg.get(2)!r} does not match ST02 {env.st.get(2)!r}", seg,
                               "SE02")
                env.sets += 1
            env.st = None
        elif tag == "GE":
            if env.gs is None:
                self._find("ENV010", "GE without a matching GS", seg)
                env.st = None
            else:
                if env.st is not None:
                    self._find("ENV008", "SE missing before GE", seg)
                    env.st = None
                    env.sets += 1
                if seg.get(1) != str(env.sets):
                    self._find("ENV004", f"GE01 says {seg.get(1) or 'nothing'} transaction sets, the group has "
                               f"{env.sets}", seg, "GE01")
                if seg.get(2) != env.gs.get(6):
                    self._find("ENV005", f"GE02 {seg.get(2)!r} does not match GS06 {env.gs.get(6)!r}", seg, "GE02")
                env.groups += 1
            env.gs = None
        elif tag == "IEA":
            if env.isa is None:
                self._find("ENV010", "IEA without a matching ISA", seg)
            else:
                if env.st is not None:
                    self._find("ENV008", "SE missing before IEA", seg)
                if env.gs is not None:
                    self._find("ENV008", "GE missing before IEA", seg)
                    env.groups += 1
                if seg.get(1) != str(env.groups):
                    self._find("ENV002", f"IEA01 says {seg.get(1) or 'nothing'} functional groups, the "
                               f"interchange has {env.groups}", seg, "IEA01")
                if seg.get(2) != env.isa.get(13):
                    self._find("ENV003", f"IEA02 {seg.get(2)!r} does not match ISA13 {env.isa.get(13)!r}", seg,
                               "IEA02")
            env.st = env.gs = env.isa = None
            env.closed_interchange = True
        elif env.st is None and not self.fragment and not (seg.tag == "TA1" and env.isa is not None and env.gs is None):
            # (a TA1 interchange acknowledgment sits between ISA and the first GS, or alone in its interchange)
            if not env.outside_reported:  # once per run of stray segments
                self._find("ENV010", "segment outside a transaction set (no ST before it)", seg)
                env.outside_reported = True
        return True

    def _close_envelope(self, last: Segment | None) -> None:
        env = self._env
        if env.st is None and env.gs is None and env.isa is None:
            return
        where = (Location(self.name, last.index, last.line, safe_tag(last.tag)) if last is not None
                 else Location(self.name))
        if env.st is not None:
            self.findings.keep(Finding("ENV008", "truncated: the file ends inside a transaction set (no SE)",
                                         where))
        if env.gs is not None:
            self.findings.keep(Finding("ENV008", "truncated: the file ends inside a functional group (no GE)",
                                         where))
        if env.isa is not None:
            self.findings.keep(Finding("ENV008", "truncated: the file ends inside an interchange (no IEA)",
                                         where))


def _run_layout(pieces: list[str], term: str, nl: str) -> tuple[str, str, int, str, bool] | None:
    """(the pieces joined, the line break before each, line step, terminator, whether the first piece is
    left out) when every piece is one segment after one line break (LF or CR LF, when the file counts
    lines by LF) or all are on one line; else None (the pieces are read one by one). A first piece with
    no line break before it, in or around it (the file's first segment) is left out of the text: runs
    start after it."""
    skip = (len(pieces) > 1 and pieces[1][:1] in ("\n", "\r") and pieces[0][:1] not in ("\n", "\r", "")
            and "\n" not in pieces[0] and "\r" not in pieces[0])
    if skip:
        pieces = pieces[1:]
    count = len(pieces)
    text = term.join(pieces)
    lead = text[:1]
    if lead == "\n" or lead == "\r":
        lead = "\r\n" if lead == "\r" else "\n"
        if (nl != "\n" or not text.startswith(lead) or text.count("\n") != count
                or (text.count("\r") != count if lead == "\r\n" else "\r" in text)
                or text.count(term + lead) != count - 1):
            return None
        return text, lead, 1, term, skip
    if skip or "\n" in text or "\r" in text:
        return None
    return text, "", 0, term, False


_run_patterns: dict[tuple, tuple[re.Pattern[str], re.Pattern[str]]] = {}


def _literals(words: frozenset[str]) -> str:
    """An expression matching exactly one of `words` (non-empty), factored by their first characters so
    the engine tries a few branches at each segment, not one per word."""
    by_first: dict[str, list[str]] = {}
    for word in sorted(words):
        by_first.setdefault(word[0], []).append(word[1:])
    alts = []
    for first, rests in by_first.items():
        tails = [re.escape(r) for r in rests if r]
        tail = "|".join(tails) + ("|" if "" in rests else "")
        alts.append(re.escape(first) + (f"(?:{tail})" if tails else ""))
    return "(?:" + "|".join(alts) + ")" if alts else ""


def _patterns(tags: frozenset[str], sep: str, term: str, lead: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(the boundary before the first piece whose tag is not one of `tags`, the last boundary before a
    LOOP_STARTS tag) in a layout's text (a boundary: a terminator and the line break; a tag: the piece's
    text up to its first element separator, or its end)."""
    key = (tags, sep, term, lead)
    found = _run_patterns.get(key)
    if found is None:
        t, start = re.escape(term), re.escape(term + lead)
        end = f"(?:{re.escape(sep)}|{t}|\\Z)"
        known = _literals(tags) or "(?!)"
        loops = _literals(LOOP_STARTS)
        found = (re.compile(f"{start}(?!{known}{end})"), re.compile(f"(?s:.*)(?={start}(?:{loops}){end})"))
        if len(_run_patterns) >= 64:
            _run_patterns.clear()
        _run_patterns[key] = found
    return found


def _body_run(layout: tuple[str, str, int, str, bool], first: int, at: int, pieces: list[str], sep: str,
              body_tags: set[str], wanted: frozenset[str],
              room: int) -> tuple[int, str, int, int | None, int] | None:
    """(count, last tag, line step, index of the last LOOP_STARTS segment, where the piece after them
    starts in the text) of the pieces from `first` (at `at` in layout's text) that are body segments the
    reader has seen before, none wanted, up to the first other one, too few to pass the loop limit;
    else None (that piece is read by itself)."""
    text, lead, step, term, _skip = layout
    tag = pieces[first][len(lead):].partition(sep)[0]
    if tag not in body_tags or tag in wanted:
        return None
    stop, loops = _patterns(frozenset(body_tags) - wanted, sep, term, lead)
    found = stop.search(text, at)
    if found is None:  # to the chunk's end
        end, count = len(text), len(pieces) - first
    else:
        end = found.start()  # the terminator after the run's last piece
        count = text.count(term, at, end) + 1
    if count > room:
        return None
    last = first + count - 1
    last_tag = pieces[last][len(lead):].partition(sep)[0] if count > 1 else tag
    # the last boundary before a loop's first segment among pieces first+1..last (text cut after `end`'s
    # terminator: no boundary at or past it can match), else the first piece itself
    found = loops.match(text, at, end + len(term) if end < len(text) else end)
    if found is not None:
        last_start: int | None = count - 1 - text.count(term, found.end() + 1, end)  # (counted from the end)
    else:
        last_start = 0 if tag in LOOP_STARTS else None
    return count, last_tag, step, last_start, end + len(term)


def _line_break(text: str, eof: bool) -> str | None:
    """The line break of a file from its first one: LF (also CRLF) or a lone CR; None when `text`
    has none yet (or ends in a CR whose next character is still unread)."""
    cr = text.find("\r")
    lf = text.find("\n")
    if cr < 0:
        return "\n" if lf >= 0 else None
    if 0 <= lf < cr:
        return "\n"
    if cr + 1 < len(text):
        return "\n" if text[cr + 1] == "\n" else "\r"
    return "\r" if eof else None


def safe_tag(tag: str | None) -> str | None:
    """The tag for a finding's location: None when it is not a segment id, since a line that is not
    a segment (junk, a segment in other delimiters) may hold names or member ids."""
    return tag if tag is not None and _TAG.match(tag) else None


def _mostly_binary(sample: str) -> bool:
    if not sample:
        return False
    odd = sum(1 for c in sample if (ord(c) < 32 and c not in "\r\n\t\f\v") or "\udc80" <= c <= "\udcff")
    return odd > len(sample) // 10


class SegmentCountError(EdiSyntaxError):
    """A transaction set whose SE01 is not its number of segments: segments were lost or added
    (a claim cut midway, a file spliced). Raised by callers that refuse such a set (`refuse_bad_counts`)."""


def refuse_bad_counts(path: str | Path, findings: list[Finding]) -> None:
    """Raise SegmentCountError for the first ENV006 (SE01 wrong) among a reader's findings."""
    for finding in findings:
        if finding.code == "ENV006" and not finding.message.startswith("..."):
            raise SegmentCountError(f"segment count wrong: {finding.message} (segments missing or added); "
                                    "the transaction set is refused", path=str(path),
                                    segment=finding.location.segment, line=finding.location.line)


@dataclass(slots=True)
class TransactionSet:
    """One ST..SE with its envelope; `segments` streams ST through SE and must be read before the next."""

    st: Segment
    isa: Segment | None
    gs: Segment | None
    segments: Iterator[Segment] = field(repr=False)

    @property
    def code(self) -> str:
        return self.st.get(1)

    @property
    def version(self) -> str:
        """The implementation guide version, ST03 or else GS08 (e.g. 005010X221A1)."""
        return self.st.get(3) or (self.gs.get(8) if self.gs else "")


_OUTSIDE_A_SET = frozenset({"ST", "GS", "GE", "ISA", "IEA"})  # segments that end an ST..SE without SE


def iter_transactions(segments: Iterator[Segment] | X12Reader) -> Iterator[TransactionSet]:
    """Group a segment stream into transaction sets, lazily: each set's segments are read on demand."""
    stream = iter(segments)
    pending: list[Segment] = []
    isa: Segment | None = None
    gs: Segment | None = None

    def next_segment() -> Segment | None:
        if pending:
            return pending.pop()
        return next(stream, None)

    def body(st: Segment) -> Iterator[Segment]:
        yield st
        # nothing is pending here: the ST came through next_segment, which took what was
        for seg in stream:
            tag = seg.tag
            if tag in _OUTSIDE_A_SET:
                pending.append(seg)
                return
            yield seg
            if tag == "SE":
                return

    while True:
        seg = next_segment()
        if seg is None:
            return
        if seg.tag == "ISA":
            isa, gs = seg, None
        elif seg.tag == "GS":
            gs = seg
        elif seg.tag == "GE":
            gs = None
        elif seg.tag == "IEA":
            isa = gs = None
        elif seg.tag == "ST":
            segments = body(seg)
            yield TransactionSet(seg, isa, gs, segments)
            for _ in segments:  # drain what the consumer left
                pass


def read_segments(path: str | Path) -> tuple[list[Segment], list[Finding]]:
    """Every segment of a file at once, with the envelope findings; for small files and tests."""
    reader = X12Reader.open(path)
    segments = list(reader)
    return segments, reader.findings
