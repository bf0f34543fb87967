"""Implementation-guide (TR3) validation of X12 files: 005010X221A1 835s, 005010X222A1 837Ps, ...

Two engines give the same answers (tests/edi/test_ig_fast.py holds them to it on every corpus file):

* ``"pyx12"``: the reference, pyx12's own walker and validators (maps bundled with pyx12).
* ``"fast"``: edi.ig_fast, the same map XML compiled into tables and walked by a small state
  machine; many times faster, meant for checking what cobpipe writes.

This module is the facade: it prepares the input and turns issues into findings; the engines have
one interface (edi.ig_engine.Engine) and never import this module.

Both return :class:`edi.findings.Finding` values with stable codes (see ``CODES``); a file that is
not X12 at all (empty, binary, no ISA or ST, truncated ISA) raises :class:`EdiSyntaxError`.

Finding codes: ``IG-<level>-<pyx12 code>``, the level saying which 999 field the code belongs to:

=================  ===========================================================================
``IG-SEG-n``       segment error, n as 999 IK304: 1 unrecognized segment (or not expected
                   here, or a leading space), 2 segment/loop marked not used, 3 required
                   segment or loop missing (reported at the segment where it was due),
                   4 loop occurs too often, 5 segment occurs too often, 8 segment has data
                   element errors that belong to no single element (too many elements,
                   syntax rules P/R/C/L/E, required composite missing, composite not used);
                   pyx12 extras: ``HL1`` HL01 out of sequence, ``HL2`` HL02 names no earlier
                   HL, ``LX`` LX01 out of sequence, ``SEG1`` trailing element separators
``IG-ELE-n``       element error, n as 999 IK403: 1 required element missing, 4 too short,
                   5 too long, 6 invalid character / simple element given as a composite /
                   trailing spaces / control character, 7 invalid code value (or regex),
                   8 invalid date, 9 invalid time, 10 element present but not used
``IG-ST-n``        transaction set error, as 999 IK502 (2 SE missing, 3 ST02/SE02 mismatch,
                   4 SE01 count wrong, 23 ST02 not unique)
``IG-GS-n``        functional group error, as 999 AK905 (3 GE missing, 4 GE02/GS06 mismatch,
                   5 GE01 count wrong, 6 GS06 not unique)
``IG-ISA-nnn``     interchange error, as TA105 (001 IEA02/ISA13 mismatch, 021 IEA01 count
                   wrong, 023 IEA missing, 024 unterminated loop, 025 ISA13 not unique)
``IG-NOMAP``       no implementation guide map for this ISA12/GS01/GS08 (e.g. 005010X222A2,
                   or ``5010``); validation stops there
``IG-NOISA``       a bare ST..SE fragment: without ISA/GS there is no guide to validate against
``IG-ISAFMT``      ISA not usable by the validator (not fixed width, unknown ISA12 version, or
                   a later interchange with other delimiters: validation stops at that ISA)
``IG-ENGINE``      pyx12 raises on this segment (e.g. a composite with more components than the
                   guide defines, a non-numeric GE01); validation stops there, findings
                   before it stand (the fast engine reports it where pyx12 would raise)
=================  ===========================================================================

Values from the file never reach a message, except the bad code of a code-list error (IG-ELE-7)
outside the name/address/demographic/reference segments (``PHI_TAGS``: NM1, N2, N3, N4, DMG, REF,
PER, PAT, INS).
pyx12's own logging (which prints element values) is silenced while validating.
"""
from __future__ import annotations

import functools
import io
import os
import re
from collections.abc import Callable, Iterable
from typing import Any, Literal, TextIO

from .errors import EdiSyntaxError
from .findings import JUNK_LIMIT, CappedFindings, Finding, Location, Severity, TooManyFindings
from .ig_issues import MASK, Issue, finding_code
from .ig_issues import mask_token as _mask_token
from .reader import ISA_MAX_CHARS, X12Reader, parse_isa_delimiters, safe_tag
from .segment import Segment
from .seglines import SegmentLines

Engine = Literal["fast", "pyx12"]
ENGINES: tuple[str, ...] = ("fast", "pyx12")
DEFAULT_ENGINE: Engine = "fast"

#: every finding code this module produces, with a one-line meaning (for the README)
CODES: dict[str, str] = {
    "IG-SEG-1": "segment not recognized here (unexpected segment, wrong qualifier, leading space)",
    "IG-SEG-2": "segment or loop present but marked not used",
    "IG-SEG-3": "required segment or loop missing (reported where it was due)",
    "IG-SEG-4": "loop occurs more often than the guide allows",
    "IG-SEG-5": "segment occurs more often than the guide allows",
    "IG-SEG-8": "segment-level element errors (too many elements, syntax rule, composite missing)",
    "IG-SEG-HL1": "HL01 out of sequence",
    "IG-SEG-HL2": "HL02 names no earlier HL",
    "IG-SEG-LX": "LX01 out of sequence",
    "IG-SEG-SEG1": "trailing element separators",
    "IG-ELE-1": "required element missing",
    "IG-ELE-4": "element too short",
    "IG-ELE-5": "element too long",
    "IG-ELE-6": "invalid character, simple element given as composite, trailing spaces",
    "IG-ELE-7": "invalid code value (or value not matching the guide's pattern)",
    "IG-ELE-8": "invalid date",
    "IG-ELE-9": "invalid time",
    "IG-ELE-10": "element present but marked not used",
    "IG-ST-n": "transaction set envelope error (999 IK502 code n)",
    "IG-GS-n": "functional group envelope error (999 AK905 code n)",
    "IG-ISA-nnn": "interchange envelope error (TA105 code nnn)",
    "IG-NOMAP": "no implementation guide map for GS08 (validation stops there)",
    "IG-NOISA": "no ISA/GS envelope, so no guide to validate against",
    "IG-ISAFMT": "ISA not usable by the validator (not fixed width, unknown version)",
    "IG-ENGINE": "the validator failed on a segment (validation stops there)",
}

#: segments whose values are masked even in code-list messages (names, addresses, ids)
PHI_TAGS = frozenset({"NM1", "N2", "N3", "N4", "DMG", "REF", "PER", "PAT", "INS"})
#: wrapper loops of pyx12's maps that say nothing to a reader of the report
_ENVELOPE_LOOPS = frozenset({"ISA_LOOP", "GS_LOOP", "ST_LOOP"})
_HEAD_CHARS = 1 << 16
#: the reference engine's names, re-exported from edi.ig_pyx12 when first asked for (`__getattr__`): a
#: process that validates with the fast engine (convert's validator) never imports it, nor logging
_PYX12_NAMES = frozenset({"collect_issues", "load_map", "map_file_for", "pyx12_document_issues", "quiet_pyx12",
                          "run_pyx12"})


def __getattr__(name: str) -> Any:
    if name in _PYX12_NAMES:
        from . import ig_pyx12

        return getattr(ig_pyx12, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")



# --- public API -----------------------------------------------------------------------------------


def validate_file(path: str | os.PathLike[str], *, name: str | None = None,
                  engine: Engine = DEFAULT_ENGINE, capped: bool = True) -> list[Finding]:
    """Validate one X12 file against its implementation guide (chosen by ISA12/GS01/GS08).

    Raises EdiSyntaxError when the file cannot be read or is not X12 at all. `capped` (the default,
    for files from outside): at most FINDINGS_PER_CODE findings per code, then a counted summary,
    and a file with more than ISSUE_LIMIT issues or JUNK_LIMIT unrecognized segments is refused
    (TooManyFindings); capped=False keeps every finding (cobpipe's own output, whose findings
    decide which claims are rejected).
    """
    label = name or str(path)

    def reopen() -> TextIO:
        return open(path, encoding="utf-8-sig", errors="surrogateescape")

    try:
        return _validate_stream(reopen, label, engine, capped)
    except OSError as exc:
        raise EdiSyntaxError(f"cannot read file: {exc.strerror or exc}", path=label) from exc


class StreamNotValidated(Exception):
    """The fast engine failed on a stream that can be read only once; validate the file instead."""


def validate_stream(stream: TextIO, *, name: str = "<stream>", capped: bool = True) -> list[Finding]:
    """Fast-engine validation of a stream read once, start to end (a pipe from a writer).

    Raises StreamNotValidated when the fast engine itself fails: its pyx12 fallback needs to
    read the input again, which only the caller can do (it still has the file).
    """
    opened = False

    def once() -> TextIO:
        nonlocal opened
        if opened:
            raise StreamNotValidated(name)
        opened = True
        return stream

    return _validate_stream(once, name, "fast", capped, reopens=False)


def validate_text(text: str, *, name: str = "<text>", engine: Engine = DEFAULT_ENGINE,
                  capped: bool = True) -> list[Finding]:
    """Validate X12 held in memory (e.g. the 837P the COB mapper just built, before writing it)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return _validate_stream(lambda: io.StringIO(text, newline=None), name, engine, capped)


def validate(source: str | bytes | os.PathLike[str], *, name: str | None = None,
             engine: Engine = DEFAULT_ENGINE) -> list[Finding]:
    """A path (``pathlib.Path`` / ``os.PathLike``) is read as a file; ``str`` / ``bytes`` are X12 text.

    (A ``str`` is never taken for a file name: use ``Path(name)`` or :func:`validate_file`.)
    """
    if isinstance(source, os.PathLike):
        return validate_file(source, name=name, engine=engine)
    if isinstance(source, bytes):
        source = source.decode("utf-8", errors="surrogateescape")
    return validate_text(source, name=name or "<text>", engine=engine)


def validate_segments(segments: Iterable[Segment], *, name: str = "<segments>",
                      engine: Engine = DEFAULT_ENGINE) -> list[Finding]:
    """Validate segments built in memory (ISA..IEA), serialized in standard delimiters first;
    finding positions count the segments as given (ISA = 1)."""
    from .segment import Delimiters
    from .writer import serialize

    delimiters = Delimiters(suffix="\n")
    return validate_text("".join(serialize(seg, delimiters) for seg in segments), name=name, engine=engine)


def issues_for_text(text: str, *, engine: Engine = DEFAULT_ENGINE) -> list[Issue]:
    """The raw engine issues (before masking and Finding conversion); for tests and comparisons."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return _issues(lambda: io.StringIO(text, newline=None), "<text>", engine)[0]


# --- input preparation ----------------------------------------------------------------------------


class _Chained:
    """A read()-only stream: `head` (already read and trimmed) and then the rest of `stream`."""

    __slots__ = ("_head", "_stream")

    def __init__(self, head: str, stream: TextIO) -> None:
        self._head = head
        self._stream = stream

    def read(self, size: int = -1) -> str:
        if self._head:
            if size is None or size < 0:
                out, self._head = self._head + self._stream.read(), ""
                return out
            out, self._head = self._head[:size], self._head[size:]
            if len(out) < size:
                out += self._stream.read(size - len(out))
            return out
        return self._stream.read(size)

    @property
    def closed(self) -> bool:  # pyx12's X12Reader asks this to tell a stream from a path
        return False


class _UntilNewDelimiters:
    """A read()-only stream that ends before a later ISA bringing other delimiters than the first.

    Both engines take their delimiters from the first ISA only: a second interchange in other
    delimiters would be read as junk (one IG error per segment). A BOM in front of a later ISA
    (files concatenated) is dropped, as edi.reader drops it. Reads return exactly the size
    asked for until the (possibly cut) end, as the engines tell the end of the file by a short read.

    `count_lines` False: the lines handed out are not counted (a count of every character read, ~5
    instructions a character); at a stop, `stopped` is True and `stop_line` None, for a caller that
    can read the input again to find that line (`_stop_line`: this class again, counting).
    `count_lines` True counts only what it must: the last chunks handed out are kept uncounted, and a
    reader that knows its line at an offset says so (`mark`), so those before it are dropped
    uncounted (edi.ig_fast's reader marks at each read: a piped 837P's lines are never counted
    here, -39M instructions at 10k claims); a chunk pushed out of the kept ones unmarked is counted.

    A read holds back ISA_MAX_CHARS to read a later ISA whole (the general path, `_read_ahead`: two
    copies of every chunk). `_read_exact` (`fast`) hands out a chunk read just to the size asked for
    as it is when it holds no later "ISA" and ends in no part of one; any other goes the general way.
    """

    __slots__ = ("_inner", "_buf", "_eof", "_offset", "_scanned", "_prev", "_newlines", "_first",
                 "_ws", "_count_lines", "_fast", "_kept", "_kept_from", "_counted_to", "stop_line", "stopped")

    #: chunks handed out kept uncounted (for `mark`): a reader marks before each read, so its chunk and
    #: the one before are enough
    KEPT = 2

    def __init__(self, inner: Any, first: Any, first_line: int, count_lines: bool = True,
                 fast: bool = True) -> None:
        self._inner = inner
        self._buf = ""
        self._eof = False
        self._offset = 0  # absolute offset of _buf[0]
        self._scanned = 0  # _buf is checked for a new ISA up to here
        self._prev = ""  # last non-blank character handed out
        self._newlines = first_line - 1  # line breaks before offset _counted_to (when counting)
        self._counted_to = 0
        self._kept: list[str] = []  # the chunks handed out last, uncounted, contiguous up to _offset
        self._kept_from = 0  # offset of _kept[0]
        self._first = first  # Delimiters of the first ISA
        self._ws = "".join(c for c in " \t\r\n\v\f\ufeff" if c != first.segment)
        self._count_lines = count_lines
        self._fast = fast
        self.stop_line: int | None = None  # line of the ISA the stream ends before (when counting)
        self.stopped = False  # the stream ends before a later ISA in other delimiters

    @property
    def closed(self) -> bool:
        return False

    def read(self, size: int = -1) -> str:
        if size is None or size < 0:
            parts = []
            while True:
                out = self.read(1 << 16)
                if not out:
                    return "".join(parts)
                parts.append(out)
        if self._fast and not self._eof and len(self._buf) < size:
            return self._read_exact(size)
        return self._read_ahead(size)

    #: a chunk ending in one of these may end in the start of an "ISA" (or a BOM in front of one)
    _PART_OF_ISA = ("I", "IS", "\ufeff")

    def _read_exact(self, size: int) -> str:
        buf = self._buf
        more = self._inner.read(size - len(buf))
        out = buf + more if buf else more
        if len(out) == size and out.find("ISA", 0 if self._offset else 1) < 0 \
                and not out.endswith(self._PART_OF_ISA):
            self._buf = ""
            self._scanned = 0
            return self._handed_out(out)
        # an ISA to look at (or the end): the general way, the text read so far in its buffer
        self._buf = out
        return self._read_ahead(size)

    def _read_ahead(self, size: int) -> str:
        need = size + ISA_MAX_CHARS
        while True:
            while not self._eof and len(self._buf) < need:
                more = self._inner.read(max(need - len(self._buf), 1 << 13))
                if more:
                    self._buf += more
                else:
                    self._eof = True
            if "\ufeffISA" not in self._buf:
                break
            # a BOM of a concatenated file in front of a later ISA (edi.reader skips it too)
            self._buf = self._buf.replace("\ufeffISA", "ISA")
        self._scan()
        out, self._buf = self._buf[:size], self._buf[size:]
        self._scanned = max(0, self._scanned - len(out))
        return self._handed_out(out)

    def mark(self, offset: int, line: int) -> None:
        """The reader's word that the text handed out before `offset` ends on line `line` (`line` - 1
        is the number of line breaks before it, counting from the first_line given): the kept
        chunks before it need no count."""
        if not self._count_lines or offset < self._counted_to or offset > self._offset:
            return
        self._newlines, self._counted_to = line - 1, offset
        kept = self._kept
        while kept and self._kept_from + len(kept[0]) <= offset:
            self._kept_from += len(kept.pop(0))

    def _lines_before(self, end: str, pos: int) -> int:
        """Line breaks before `end`[pos] (`end`: the text after all handed out), counting the kept
        chunks from the last mark or count."""
        kept = "".join(self._kept)
        return self._newlines + kept.count("\n", self._counted_to - self._kept_from) + end.count("\n", 0, pos)

    def _handed_out(self, out: str) -> str:
        """`out`, after noting what the next reads need of it (its length, lines, last character)."""
        if self._count_lines:
            kept = self._kept
            kept.append(out)
            if len(kept) > self.KEPT:  # the oldest chunk counted from where the count stands
                oldest = kept.pop(0)
                start = self._kept_from
                self._kept_from = start + len(oldest)
                if self._kept_from > self._counted_to:
                    self._newlines += oldest.count("\n", max(0, self._counted_to - start))
                    self._counted_to = self._kept_from
        self._offset += len(out)
        back = len(out) - 1
        while back >= 0 and out[back] in self._ws:
            back -= 1
        if back >= 0:
            self._prev = out[back]
        return out

    def _scan(self) -> None:
        buf, first = self._buf, self._first
        pos = buf.find("ISA", self._scanned)
        while pos >= 0:
            if pos + ISA_MAX_CHARS > len(buf) and not self._eof:
                self._scanned = pos  # look again when more text is there
                return
            back = pos - 1
            while back >= 0 and buf[back] in self._ws:
                back -= 1
            prev = buf[back] if back >= 0 else self._prev
            if self._offset + pos > 0 and prev == first.segment:
                try:
                    parsed = parse_isa_delimiters(buf[pos:pos + ISA_MAX_CHARS], final=True)
                except ValueError:
                    parsed = None
                if parsed is not None:
                    found = parsed[0]
                    if (found.element, found.component, found.segment) != (
                            first.element, first.component, first.segment):
                        self.stopped = True
                        if self._count_lines:
                            self.stop_line = self._lines_before(buf, pos) + 1
                        self._buf = buf[:pos]
                        self._eof = True
                        self._scanned = pos
                        return
            pos = buf.find("ISA", pos + 1)
        self._scanned = max(0, len(buf) - 2)


def _prepare(stream: TextIO, name: str) -> tuple[str, int] | Issue:
    """Check the start of the input; returns (head trimmed to start at ISA, line of the ISA), or one
    Issue when the file is X12 the validator cannot take; raises EdiSyntaxError when it is not X12."""
    head = stream.read(_HEAD_CHARS)
    if head.startswith("\ufeff"):
        head = head[1:]
    # the reader's rules decide what is "not X12 at all": empty, binary, no ISA/ST, truncated ISA
    probe = X12Reader.from_text(head, name)
    for _ in probe:
        break
    lead = len(head) - len(head.lstrip())
    first_line = 1 + head.count("\n", 0, lead)
    head = head[lead:]
    if probe.fragment:
        return Issue("noisa", "", "no ISA/GS envelope (a bare ST..SE fragment): the implementation "
                     "guide is named by GS08, so the file cannot be validated against it", 1, "ST",
                     line=first_line)
    try:
        parsed = parse_isa_delimiters(head)
    except (ValueError, IndexError):
        parsed = None
    if parsed is None or not parsed[2]:
        return Issue("isafmt", "", "the ISA is not fixed width (106 characters, every field padded); "
                     "the implementation guide validator needs it", 1, "ISA", line=first_line)
    version = head[84:89]
    if version not in ("00401", "00501"):
        return Issue("isafmt", "", "ISA12 is not a known interchange version (00401 or 00501)",
                     1, "ISA", element="ISA12", line=first_line)
    return head, first_line


#: issues of any kind in one file before a capped validation refuses it (memory stays bounded)
ISSUE_LIMIT = 100_000


def _validate_stream(open_stream: Callable[[], TextIO], name: str, engine: Engine,
                     capped: bool = False, reopens: bool = True) -> list[Finding]:
    from .ig_issues import TooManyIssues

    limits = (ISSUE_LIMIT, JUNK_LIMIT) if capped else None
    try:
        issues, lines = _issues(open_stream, name, engine, limits, reopens)
    except TooManyIssues as exc:
        what = (f"more than {ISSUE_LIMIT:,} implementation guide errors" if exc.total else
                f"more than {JUNK_LIMIT:,} segments not recognized here (IG-SEG-1)")
        raise TooManyFindings(f"refused: {what}; the file is not usable", path=name,
                              segment=exc.position or None) from None
    if not capped:
        return [to_finding(issue, name, lines) for issue in issues]
    findings = CappedFindings(junk_limit=None)
    for issue in issues:
        findings.append(to_finding(issue, name, lines))
    return findings


def _issues(open_stream: Callable[[], TextIO], name: str, engine: str,
            limits: tuple[int, int] | None = None,
            reopens: bool = True) -> tuple[list[Issue], "SegmentLines | None"]:
    """Run `engine` on the stream; should the fast engine itself fail (a bug in it, not in the input),
    the file is validated again with pyx12, so a caller never loses a validation to it. `reopens`:
    open_stream can be called again (not a stream read once), so lines are counted only at a stop."""
    if engine not in ENGINES:
        raise ValueError(f"unknown validation engine {engine!r}; choose one of {ENGINES}")
    from .ig_engine import REFERENCE, engine as engine_run
    from .ig_issues import EngineBug

    with open_stream() as stream:
        prepared = _prepare(stream, name)
        if isinstance(prepared, Issue):
            return [prepared], None
        head, first_line = prepared
        try:
            return _run(functools.partial(engine_run(engine), limits=limits), head, stream, first_line,
                        open_stream if reopens else None)
        except EngineBug as exc:
            if engine == REFERENCE:
                raise
            import logging  # (here: only this rare line logs)

            logging.getLogger(__name__).warning("%s IG validator failed (%s) on %s; validating with %s instead",
                                                engine, exc.kind, name, REFERENCE)
    with open_stream() as stream:
        prepared = _prepare(stream, name)
        assert not isinstance(prepared, Issue)
        head, first_line = prepared
        return _run(engine_run(REFERENCE), head, stream, first_line)


def _run(engine: Callable[[Any, int], tuple[list[Issue], SegmentLines]], head: str, stream: TextIO,
         first_line: int, reopen: Callable[[], TextIO] | None = None) -> tuple[list[Issue], SegmentLines]:
    """One engine over the input, up to a later ISA with other delimiters (IG-ISAFMT there). With
    `reopen`, that ISA's line is found by reading the input again when there is one (rare), instead
    of counting the lines of every input as it is read."""
    parsed = parse_isa_delimiters(head)
    assert parsed is not None  # _prepare checked it
    source = _UntilNewDelimiters(_Chained(head, stream), parsed[0], first_line, count_lines=reopen is None)
    issues, lines = engine(source, first_line)
    if source.stopped:
        line = source.stop_line if reopen is None else _stop_line(reopen)
        issues.append(Issue("isafmt", "", "this interchange uses other delimiters than the first one in the "
                            "file; the implementation guide validator stops here (validate it as a file "
                            "of its own)", len(lines) + 1, "ISA", line=line))
    return issues, lines


def _stop_line(open_stream: Callable[[], TextIO]) -> int | None:
    """The line of the later ISA in other delimiters that the input is cut before: the input read
    again as `_run` reads it, its lines counted (the reference `_run` uses for a stream read once)."""
    with open_stream() as stream:
        prepared = _prepare(stream, "")
        assert not isinstance(prepared, Issue)  # as on the first reading
        head, first_line = prepared
        parsed = parse_isa_delimiters(head)
        assert parsed is not None
        source = _UntilNewDelimiters(_Chained(head, stream), parsed[0], first_line)
        while source.read(1 << 20):
            pass
        return source.stop_line


# --- masking and conversion -------------------------------------------------------------------------

# the expressions as text, compiled (by re's cache) at the first finding: a validator process of a file
# without findings (convert's, usually) does not pay their ~2.6M instructions
_CONTROL_CHAR_VALUE = r"<[A-Z]{2,3}>\Z"
_NOT_FOUND = r"(?s)Segment (.*) not found\.(?=  Started at )"
_SEG_ID = r'(?s)Segment identifier "(.*)" is invalid'
_EMPTY_SEG = r'(?s)Segment "(.*)" is empty'
_HL_COUNT = r"(?s)your HL count (.*)\Z"
_LX_COUNT = r"(?s)Service Line Number (.*) does not match"
_LEN = r'(?s)len\(".*"\) = '


def safe_message(level: str, code: str, message: str, value: str | None, tag: str | None) -> str:
    """pyx12's message with values from the file masked (see the module docstring)."""
    msg = message
    if level == "seg" and code == "1":
        def repl(match: re.Match[str]) -> str:
            parts = match.group(1).split("*")
            # parts[0] is the whole segment when it is not split on `*` (other delimiters than the ISA's)
            return "Segment " + "*".join([_mask_token(p) for p in parts]) + " not found."
        msg = re.sub(_NOT_FOUND, repl, msg)
        msg = re.sub(_SEG_ID, lambda m: f'Segment identifier "{_mask_token(m.group(1))}" is invalid', msg)
    elif level == "seg" and code == "8":  # quotes the whole segment: keep only a real segment id
        msg = re.sub(_EMPTY_SEG, lambda m: f'Segment "{_mask_token(m.group(1).split("*")[0])}" is empty', msg)
    elif level == "seg" and code == "HL1":
        msg = re.sub(_HL_COUNT, lambda m: "your HL count " + _mask_token(m.group(1)), msg)
    elif level == "seg" and code == "LX":
        msg = re.sub(_LX_COUNT, lambda m: f"Service Line Number {_mask_token(m.group(1))} does not match", msg)
    if level == "ele" and code in ("4", "5"):
        msg = re.sub(_LEN, "length ", msg)
    if value:
        keep = (level == "ele" and code == "7" and "is not a valid code for" in message
                and (tag or "") not in PHI_TAGS and "\n" not in value) or bool(re.match(_CONTROL_CHAR_VALUE, value))
        if not keep:
            for quoted in (f'("{value}")', f"({value})", f'"{value}"'):
                msg = msg.replace(quoted, quoted.replace(value, MASK))
            if len(value) >= 4 and value in msg:  # safety net: templates quote or bracket their values
                msg = re.sub(r"(?<![A-Za-z0-9])" + re.escape(value) + r"(?![A-Za-z0-9])", MASK, msg)
    return " ".join(msg.split())


def to_finding(issue: Issue, name: str, lines: "SegmentLines | None") -> Finding:
    line = issue.line
    if lines is not None and issue.position and issue.position <= len(lines):
        line = lines[issue.position - 1] or None
    loop = issue.loop if issue.loop not in _ENVELOPE_LOOPS else None
    message = safe_message(issue.level, issue.code, issue.message, issue.value, issue.tag)
    # a "tag" that is not a segment id is a whole line of text (junk, other delimiters): maybe PHI
    return Finding(finding_code(issue.level, issue.code), message,
                   Location(name, issue.position, line, safe_tag(issue.tag), loop, issue.element),
                   Severity.ERROR)


__all__ = [
    "CODES", "DEFAULT_ENGINE", "ENGINES", "Issue", "PHI_TAGS", "collect_issues", "finding_code",
    "issues_for_text", "load_map", "map_file_for", "pyx12_document_issues", "quiet_pyx12", "run_pyx12",
    "safe_message", "to_finding", "validate", "validate_file", "validate_segments", "validate_stream",
    "validate_text", "StreamNotValidated",
]
