"""Implementation-guide (TR3) validation of X12 files: 005010X221A1 835s, 005010X222A1 837Ps, ...

Two engines give the same answers (tests/edi/test_ig_fast.py holds them to it on every corpus file):

* ``"pyx12"``: the reference, pyx12's own walker and validators (maps bundled with pyx12).
* ``"fast"``: edi.ig_fast, the same map XML compiled into tables and walked by a small state
  machine; many times faster, meant for checking what cobpipe writes.

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
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, TextIO

from .errors import EdiSyntaxError
from .findings import JUNK_LIMIT, CappedFindings, Finding, Location, Severity, TooManyFindings
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
MASK = "<masked>"
_log = logging.getLogger(__name__)


# --- the engine-neutral result -------------------------------------------------------------------


@dataclass(slots=True)
class Issue:
    """One validation error as an engine reports it, before it becomes a Finding.

    `level` is isa, gs, st, seg or ele (pyx12's error tree) or nomap, noisa, isafmt, engine;
    `position` is the 1-based segment number in the file (pyx12 counts segments the same way as
    edi.reader), `value` the offending value (never shown unless safe).
    """

    level: str
    code: str
    message: str
    position: int | None = None
    tag: str | None = None
    loop: str | None = None
    element: str | None = None
    value: str | None = None
    line: int | None = None  # only for issues found before the engine ran (no line table then)

    def key(self) -> tuple[int | None, str]:
        """(segment position, finding code): what the two engines must agree on."""
        return (self.position, finding_code(self.level, self.code))


def finding_code(level: str, code: str) -> str:
    if level in ("isa", "gs", "st", "seg", "ele"):
        return f"IG-{level.upper()}-{code}"
    return f"IG-{level.upper()}"


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

    return _validate_stream(once, name, "fast", capped)


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
    """

    __slots__ = ("_inner", "_buf", "_eof", "_offset", "_scanned", "_prev", "_newlines", "_first",
                 "_ws", "stop_line")

    def __init__(self, inner: Any, first: Any, first_line: int) -> None:
        self._inner = inner
        self._buf = ""
        self._eof = False
        self._offset = 0  # absolute offset of _buf[0]
        self._scanned = 0  # _buf is checked for a new ISA up to here
        self._prev = ""  # last non-blank character handed out
        self._newlines = first_line - 1
        self._first = first  # Delimiters of the first ISA
        self._ws = "".join(c for c in " \t\r\n\v\f\ufeff" if c != first.segment)
        self.stop_line: int | None = None  # line of the ISA the stream ends before

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
        self._offset += len(out)
        self._scanned = max(0, self._scanned - len(out))
        self._newlines += out.count("\n")
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
                        self.stop_line = self._newlines + 1 + buf.count("\n", 0, pos)
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
                     capped: bool = False) -> list[Finding]:
    from . import ig_fast

    limits = (ISSUE_LIMIT, JUNK_LIMIT) if capped else None
    try:
        issues, lines = _issues(open_stream, name, engine, limits)
    except ig_fast.TooManyIssues as exc:
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
            limits: tuple[int, int] | None = None) -> tuple[list[Issue], "SegmentLines | None"]:
    """Run `engine` on the stream; should the fast engine itself fail (a bug in it, not in the input),
    the file is validated again with pyx12, so a caller never loses a validation to it."""
    if engine not in ENGINES:
        raise ValueError(f"unknown validation engine {engine!r}; choose one of {ENGINES}")
    with open_stream() as stream:
        prepared = _prepare(stream, name)
        if isinstance(prepared, Issue):
            return [prepared], None
        head, first_line = prepared
        if engine == "fast":
            from . import ig_fast

            try:
                return _run(functools.partial(ig_fast.run, limits=limits), head, stream, first_line)
            except ig_fast.EngineBug as exc:
                _log.warning("fast IG validator failed (%s) on %s; validating with pyx12 instead",
                             exc.kind, name)
        else:
            return _run(run_pyx12, head, stream, first_line)
    with open_stream() as stream:
        prepared = _prepare(stream, name)
        assert not isinstance(prepared, Issue)
        head, first_line = prepared
        return _run(run_pyx12, head, stream, first_line)


def _run(engine: Callable[[Any, int], tuple[list[Issue], SegmentLines]], head: str, stream: TextIO,
         first_line: int) -> tuple[list[Issue], SegmentLines]:
    """One engine over the input, up to a later ISA with other delimiters (IG-ISAFMT there)."""
    parsed = parse_isa_delimiters(head)
    assert parsed is not None  # _prepare checked it
    source = _UntilNewDelimiters(_Chained(head, stream), parsed[0], first_line)
    issues, lines = engine(source, first_line)
    if source.stop_line is not None:
        issues.append(Issue("isafmt", "", "this interchange uses other delimiters than the first one in the "
                            "file; the implementation guide validator stops here (validate it as a file "
                            "of its own)", len(lines) + 1, "ISA", line=source.stop_line))
    return issues, lines


# --- masking and conversion -------------------------------------------------------------------------

_CONTROL_CHAR_VALUE = re.compile(r"<[A-Z]{2,3}>\Z")
_SAFE_TOKEN = re.compile(r"[A-Z0-9]{1,3}\Z")
_NOT_FOUND = re.compile(r"Segment (.*) not found\.(?=  Started at )", re.S)
_SEG_ID = re.compile(r'Segment identifier "(.*)" is invalid', re.S)
_EMPTY_SEG = re.compile(r'Segment "(.*)" is empty', re.S)
_HL_COUNT = re.compile(r"your HL count (.*)\Z", re.S)
_LX_COUNT = re.compile(r"Service Line Number (.*) does not match", re.S)
_LEN = re.compile(r'len\(".*"\) = ', re.S)


def _mask_token(token: str) -> str:
    return token if _SAFE_TOKEN.match(token) or token.isdigit() else MASK


def safe_message(level: str, code: str, message: str, value: str | None, tag: str | None) -> str:
    """pyx12's message with values from the file masked (see the module docstring)."""
    msg = message
    if level == "seg" and code == "1":
        def repl(match: re.Match[str]) -> str:
            parts = match.group(1).split("*")
            # parts[0] is the whole segment when it is not split on `*` (other delimiters than the ISA's)
            return "Segment " + "*".join([_mask_token(p) for p in parts]) + " not found."
        msg = _NOT_FOUND.sub(repl, msg)
        msg = _SEG_ID.sub(lambda m: f'Segment identifier "{_mask_token(m.group(1))}" is invalid', msg)
    elif level == "seg" and code == "8":  # quotes the whole segment: keep only a real segment id
        msg = _EMPTY_SEG.sub(lambda m: f'Segment "{_mask_token(m.group(1).split("*")[0])}" is empty', msg)
    elif level == "seg" and code == "HL1":
        msg = _HL_COUNT.sub(lambda m: "your HL count " + _mask_token(m.group(1)), msg)
    elif level == "seg" and code == "LX":
        msg = _LX_COUNT.sub(lambda m: f"Service Line Number {_mask_token(m.group(1))} does not match", msg)
    if level == "ele" and code in ("4", "5"):
        msg = _LEN.sub("length ", msg)
    if value:
        keep = (level == "ele" and code == "7" and "is not a valid code for" in message
                and (tag or "") not in PHI_TAGS and "\n" not in value) or bool(_CONTROL_CHAR_VALUE.match(value))
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


# --- pyx12 reference engine -------------------------------------------------------------------------

_quiet_lock = threading.Lock()
_quiet_depth = 0
_saved_levels: dict[str, int] = {}


@contextmanager
def quiet_pyx12() -> Iterator[None]:
    """Silence the "pyx12" loggers (they print element values, i.e. PHI) for the duration.

    Levels are restored when the last concurrent user leaves; nothing else of logging is touched.
    """
    global _quiet_depth
    with _quiet_lock:
        if _quiet_depth == 0:
            manager = logging.Logger.manager
            names = ["pyx12"] + [n for n in list(manager.loggerDict) if n.startswith("pyx12.")]
            for lname in names:
                lg = logging.getLogger(lname)
                _saved_levels[lname] = lg.level
                lg.setLevel(logging.CRITICAL + 10)
        _quiet_depth += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0:
                for lname, level in _saved_levels.items():
                    logging.getLogger(lname).setLevel(level)
                _saved_levels.clear()


@lru_cache(maxsize=1)
def _pyx12_params() -> Any:
    import pyx12.params

    return pyx12.params.ParamsBase()  # not params(): no user config files, charset "E"


@lru_cache(maxsize=1)
def _map_index() -> Any:
    import pyx12.map_index

    with quiet_pyx12():
        return pyx12.map_index.map_index()


@lru_cache(maxsize=16)
def load_map(map_file: str) -> Any:
    """A pyx12 map, loaded once per process (pyx12 itself reloads it for every document)."""
    import pyx12.map_if

    with quiet_pyx12():
        return pyx12.map_if.load_map_file(map_file, _pyx12_params())


def map_file_for(icvn: str | None, vriic: str | None, fic: str | None, tspc: str | None = None) -> str | None:
    return _map_index().get_filename(icvn, vriic, fic, tspc)


def _loop_id(map_node: Any) -> str | None:
    node = map_node
    while node is not None:
        if node.is_loop():
            return node.id
        if node.is_map_root():
            return None
        node = node.parent
    return None


def _make_errh() -> Any:
    import pyx12.error_handler as eh

    class RecordingErrHandler(eh.err_handler):
        """pyx12's error tree, noting for each node where it was found (segment, loop, element)."""

        def __init__(self) -> None:
            super().__init__()
            self.position = 0
            self.envelope: list[Issue] = []  # isa/gs/st errors, with the segment they were found at
            self.lost: list[Issue] = []  # seg errors pyx12 drops (raised on an ISA/GS/ST node)

        def add_seg(self, map_node: Any, seg_data: Any, seg_count: int, cur_line: int, ls_id: Any) -> None:
            super().add_seg(map_node, seg_data, seg_count, cur_line, ls_id)
            node = self.cur_seg_node
            same = map_node is not None and (not map_node.is_segment() or map_node.id == seg_data.get_seg_id())
            node.loop_id = _loop_id(map_node) if same and map_node is not None else None

        def add_ele(self, map_node: Any) -> None:
            super().add_ele(map_node)
            ele = self.cur_ele_node
            seg = map_node
            while seg is not None and not seg.is_segment():
                seg = seg.parent
            ele.seg_tag = seg.id if seg is not None else None
            ele.position = self.position
            ele.loop_id = _loop_id(map_node)

        def isa_error(self, err_cde: str, err_str: str) -> None:
            super().isa_error(err_cde, err_str)
            self.envelope.append(Issue("isa", err_cde, err_str, self.position))

        def gs_error(self, err_cde: str, err_str: str) -> None:
            super().gs_error(err_cde, err_str)
            self.envelope.append(Issue("gs", err_cde, err_str, self.position))

        def st_error(self, err_cde: str, err_str: str) -> None:
            super().st_error(err_cde, err_str)
            self.envelope.append(Issue("st", err_cde, err_str, self.position))

        def seg_error(self, err_cde: str, err_str: str, err_value: Any = None, src_line: Any = None) -> None:
            node = self.cur_seg_node
            before = len(node.errors) if node is not None and node.id == "SEG" else None
            super().seg_error(err_cde, err_str, err_value, src_line)
            if node is not None and node.id in ("ISA", "GS", "ST") and before is None:
                self.lost.append(Issue("seg", err_cde, err_str, self.position, node.id, value=err_value))

    return RecordingErrHandler()


class _LineTracker:
    """Replaces pyx12's RawX12File iteration (same splitting rules) and notes each segment's line."""

    def __init__(self, raw: Any, first_line: int) -> None:
        self.raw = raw
        self.lines = SegmentLines()
        self._line = first_line

    def __iter__(self) -> Iterator[str]:
        from pyx12.rawx12file import DEFAULT_BUFSIZE

        raw = self.raw
        term = raw.seg_term
        newline_term = term == "\n"
        lines = self.lines
        while True:
            if raw.buffer.find(term) == -1:
                raw.buffer += raw.fd.read(DEFAULT_BUFSIZE)
            if raw.buffer.find(term) == -1:
                break
            piece, raw.buffer = raw.buffer.split(term, 1)
            line = piece.lstrip("\n\r")
            if line == "":
                break
            lead = len(piece) - len(piece.lstrip())
            lines.append(self._line + piece.count("\n", 0, lead))
            self._line += piece.count("\n") + newline_term
            yield line

    def get_term(self) -> Any:
        return self.raw.get_term()


def run_pyx12(stream: Any, first_line: int = 1) -> tuple[list[Issue], SegmentLines]:
    """Validate with pyx12's walker (the loop of pyx12.x12n_document, without 997/HTML/XML output).

    Returns the issues and the line of every segment (by 1-based segment number).
    """
    with quiet_pyx12():
        return _run_pyx12(stream, first_line)


def _run_pyx12(stream: Any, first_line: int) -> tuple[list[Issue], SegmentLines]:
    import pyx12.errors
    import pyx12.map_if
    import pyx12.x12file
    from pyx12.map_if._segment import apply_segment_errors
    from pyx12.map_walker import apply_walk_errors, walk_tree

    errh = _make_errh()
    stopped: list[Issue] = []
    try:
        src = pyx12.x12file.X12Reader(stream)
    except pyx12.errors.X12Error:
        return [Issue("isafmt", "", "the ISA is not usable by the implementation guide validator", 1, "ISA")], SegmentLines()
    tracker = _LineTracker(src.raw, first_line)
    src.raw = tracker
    map_file = "x12.control.00501.xml" if src.icvn == "00501" else "x12.control.00401.xml"
    control_map = load_map(map_file)
    node = control_map.getnodebypath("/ISA_LOOP/ISA")
    walker = walk_tree()
    icvn = fic = vriic = None
    cur_map = None
    seg_id = None
    try:
        for seg in src:
            errh.position = position = src.get_cur_line()
            seg_id = seg.get_seg_id()
            orig_node = node
            try:
                if seg_id == "ISA":
                    node = control_map.getnodebypath("/ISA_LOOP/ISA")
                    walker.forceWalkCounterToLoopStart("/ISA_LOOP", "/ISA_LOOP/ISA")
                elif seg_id == "GS":
                    node = control_map.getnodebypath("/ISA_LOOP/GS_LOOP/GS")
                    walker.forceWalkCounterToLoopStart("/ISA_LOOP/GS_LOOP", "/ISA_LOOP/GS_LOOP/GS")
                else:
                    node, _pop, _push, walk_errors = walker.walk_errors(
                        node, seg, src.get_seg_count(), position, src.get_ls_id())
                    apply_walk_errors(errh, walk_errors)
                if node is None:
                    node = orig_node
                    continue
                if seg_id == "ISA":
                    errh.add_isa_loop(seg, src)
                    icvn = seg.get_value("ISA12")
                    errh.handle_errors(src.pop_errors())
                elif seg_id == "IEA":
                    errh.handle_errors(src.pop_errors())
                    errh.close_isa_loop(node, seg, src)
                elif seg_id == "GS":
                    fic = seg.get_value("GS01")
                    vriic = seg.get_value("GS08")
                    map_file_new = map_file_for(icvn, vriic, fic)
                    if map_file != map_file_new:
                        if map_file_new is None:
                            stopped.append(_no_map(icvn, vriic, fic, position))
                            break
                        map_file = map_file_new
                        cur_map = load_map(map_file)
                        src.check_837_lx = cur_map.id == "837"
                    node = cur_map.getnodebypath("/ISA_LOOP/GS_LOOP/GS")
                    errh.add_gs_loop(seg, src)
                    errh.handle_errors(src.pop_errors())
                elif seg_id == "BHT":
                    if vriic in ("004010X094", "004010X094A1"):  # 4010 278: the map depends on BHT02
                        tspc = seg.get_value("BHT02")
                        map_file_new = map_file_for(icvn, vriic, fic, tspc)
                        if map_file != map_file_new:
                            if map_file_new is None:
                                stopped.append(_no_map(icvn, vriic, fic, position))
                                break
                            map_file = map_file_new
                            cur_map = load_map(map_file)
                            src.check_837_lx = cur_map.id == "837"
                            node = cur_map.getnodebypath("/ISA_LOOP/GS_LOOP/ST_LOOP/HEADER/BHT")
                    errh.add_seg(node, seg, src.get_seg_count(), position, src.get_ls_id())
                    errh.handle_errors(src.pop_errors())
                elif seg_id == "GE":
                    errh.handle_errors(src.pop_errors())
                    errh.close_gs_loop(node, seg, src)
                elif seg_id == "ST":
                    errh.add_st_loop(seg, src)
                    errh.handle_errors(src.pop_errors())
                elif seg_id == "SE":
                    errh.handle_errors(src.pop_errors())
                    errh.close_st_loop(node, seg, src)
                else:
                    errh.add_seg(node, seg, src.get_seg_count(), position, src.get_ls_id())
                    errh.handle_errors(src.pop_errors())
                apply_segment_errors(node, seg, errh)
            except Exception as exc:  # noqa: BLE001 - a validator bug must not become a traceback
                stopped.append(_engine_failure(exc, position, seg_id))
                break
        else:
            try:
                src.cleanup()
                errh.position = src.get_cur_line()
                errh.handle_errors(src.pop_errors())
            except Exception as exc:  # noqa: BLE001
                stopped.append(_engine_failure(exc, src.get_cur_line(), None))
    except Exception as exc:  # noqa: BLE001 - raised while reading the next segment
        stopped.append(_engine_failure(exc, src.get_cur_line() + 1, None))
    issues = collect_issues(errh) + stopped
    issues.sort(key=lambda i: i.position or 0)  # stable: keeps pyx12's order within a segment
    return issues, tracker.lines


def _no_map(icvn: str | None, vriic: str | None, fic: str | None, position: int) -> Issue:
    from .ig_fast import map_index

    known = sorted({m_vriic for m_icvn, m_vriic, m_fic, _t, _f in map_index()
                    if m_icvn == icvn and m_fic == fic and m_vriic})
    shown = vriic if re.fullmatch(r"[A-Z0-9]{1,12}", vriic or "") else MASK
    return Issue("nomap", "", f"no implementation guide map for GS08 {shown!r} (GS01 {_mask_token(fic or '')!r}, "
                 f"ISA12 {_mask_token(icvn or '')}); maps for GS01 {_mask_token(fic or '')!r}: "
                 f"{', '.join(known) or 'none'}; validation stops here", position, "GS", element="GS08")


def _engine_failure(exc: BaseException | str, position: int | None, tag: str | None) -> Issue:
    name = exc if isinstance(exc, str) else type(exc).__name__
    return Issue("engine", "", f"the implementation guide validator failed on this segment "
                 f"({name}); later segments were not checked", position, tag)


def collect_issues(errh: Any) -> list[Issue]:
    """Flatten pyx12's error tree (err_handler -> isa -> gs -> st -> seg -> ele) into Issues."""
    issues: list[Issue] = []

    def elements(owner: Any, default_pos: int | None, default_tag: str | None) -> None:
        for ele in owner.elements:
            tag = getattr(ele, "seg_tag", None) or default_tag
            pos = getattr(ele, "position", None) or default_pos
            name = f"{tag}{ele.ele_pos:02d}" + (f"-{ele.subele_pos}" if ele.subele_pos else "")
            for cde, text, val in ele.errors:
                issues.append(Issue("ele", cde, text, pos, tag, getattr(ele, "loop_id", None), name, val))

    for isa in errh.children:
        elements(isa, isa.cur_line_isa, "ISA")
        for gs in isa.children:
            elements(gs, gs.cur_line_gs, "GS")
            for st in gs.children:
                elements(st, st.cur_line_st, "ST")
                for seg in st.children:
                    loop = getattr(seg, "loop_id", None)
                    for cde, text, val in seg.errors:
                        issues.append(Issue("seg", cde, text, seg.cur_line, seg.seg_id, loop, None, val))
                    for ele in seg.elements:
                        name = f"{seg.seg_id}{ele.ele_pos:02d}" + (f"-{ele.subele_pos}" if ele.subele_pos else "")
                        for cde, text, val in ele.errors:
                            issues.append(Issue("ele", cde, text, seg.cur_line, seg.seg_id, loop, name, val))
    for env in errh.envelope:
        env.tag = _envelope_tag(env)
        issues.append(env)
    issues.extend(errh.lost)
    return issues


def _envelope_tag(issue: Issue) -> str:
    if issue.level == "isa":
        return "ISA" if issue.code == "025" else "IEA"
    if issue.level == "gs":
        return "GS" if issue.code == "6" else "GE"
    return "ST" if issue.code in ("1", "6", "7", "23") else "SE"


def pyx12_document_issues(text: str) -> tuple[bool, list[tuple[int, str]] | None]:
    """Run pyx12.x12n_document itself (the JSON error report) on `text`: its verdict and the
    (segment position, finding code) pairs of its seg/ele errors, None when it raised.
    Only for tests (slow: it reloads the maps for every document)."""
    import json

    import pyx12.x12n_document

    if text.startswith("\ufeff"):
        text = text[1:]
    out = io.StringIO()
    with quiet_pyx12():
        try:
            ok = pyx12.x12n_document.x12n_document(_pyx12_params(), io.StringIO(text, newline=None),
                                                   None, None, None, out)
        except Exception:  # noqa: BLE001 - e.g. EngineError "Map not found"
            return False, None
    pairs: list[tuple[int, str]] = []
    if out.getvalue():
        doc = json.loads(out.getvalue())
        for isa in doc["interchanges"]:
            for gs in isa["groups"]:
                for st in gs["transactions"]:
                    for seg in st["segments"]:
                        pairs += [(seg["cur_line"], f"IG-SEG-{e['err_cde']}") for e in seg["errors"]]
                        for ele in seg["elements"]:
                            pairs += [(seg["cur_line"], f"IG-ELE-{e['err_cde']}") for e in ele["errors"]]
    return ok, pairs


__all__ = [
    "CODES", "DEFAULT_ENGINE", "ENGINES", "Issue", "PHI_TAGS", "collect_issues", "finding_code",
    "issues_for_text", "load_map", "map_file_for", "pyx12_document_issues", "quiet_pyx12", "run_pyx12",
    "safe_message", "to_finding", "validate", "validate_file", "validate_segments", "validate_stream",
    "validate_text", "StreamNotValidated",
]
