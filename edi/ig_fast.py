"""Fast implementation-guide validation: pyx12's map XML compiled into tables, one pass per file.

pyx12 (edi.ig's "pyx12" engine) is the reference and stays the source of truth: the map XML files
bundled with pyx12 (``837.5010.X222.A1.xml``, ``835.5010.X221.A1.xml``, the control maps,
``dataele.xml``, ``codes.xml``, ``maps.xml``) are compiled with lxml, once per process, into
slotted node objects (loops in position order, segment usage/repeat, element usage/type/length,
code sets as frozensets). A small state machine then walks the segments.

The walk reproduces pyx12's observable behaviour, quirks included, so that both engines report the
same (segment position, code) pairs on any input (tests/edi/test_ig_fast.py checks the corpus,
our samples and mutated files):

* segment matching by id plus the qualifier element pyx12 picks (first ID element with codes...);
* loop entry by first segment, counters per map path (reset when a loop repeats), missing
  mandatory segments/loops reported at the segment where they were noticed, "not used" errors
  attached to the previous segment's error node;
* element checks in pyx12's order (invalid composite, empty/required, not used, length, control
  characters, trailing spaces, code list, data type, DTP/DTM type lists, regex) and syntax rules;
* the reader checks (leading spaces, trailing separators, HL/LX sequence, control numbers, counts)
  and where pyx12 attaches them, including errors pyx12 drops and inputs on which pyx12 raises
  (reported as IG-ENGINE at the same segment).

What makes it fast: maps compiled once; per segment only a list of element strings; each segment
node's element rules compiled into one regular expression (edi.ig_regex) that accepts a segment the
element checks would find nothing in, so a clean segment costs one match and only the others are
checked element by element; the walk of each 2000B block shape learned once per file
(edi.ig_walk.ShapeCache: a step that reported nothing inside the block replays the node and count
changes an earlier block of that shape walked to); each other walk visits only the children that can
match the segment id or record a missing mandatory segment/loop; clean segment texts remembered
within a file and clean code and number values across files (never names, ids or dates, so no PHI
outlives a validation); no logging, no error-tree objects unless there is an error. On top of that, edi.ig_blocks takes the
runs of segments of learned 2000B shapes together: one pass of compiled expressions over their texts
(split per chunk in C) and the state changes of the whole run at once; everything else, errors
included, goes through `_Driver.step` one segment at a time.
``SEGMENT_REGEX``, ``WALK_CACHE`` and ``BLOCKS`` (module flags, True by default) turn the learned
paths off (BLOCKS needs the other two). Between processes (convert starts one validator per output),
the compiled maps (edi.ig_mapcache) and the expressions' texts and compiled code (edi.ig_recache) are
kept in the user's cache folder.

The engine is split by what each part does: edi.ig_map (map compilation), edi.ig_checks (element and
segment checks), edi.ig_regex (each segment node's rules compiled into one regular expression that
accepts only segments the checks find nothing in), edi.ig_walk (the loop walker), edi.ig_issues (what
is reported, the error tree); this module reads the text as pyx12 reads it and drives the walk.
Its names stay importable from here.
"""
from __future__ import annotations

import re
from typing import Any

from . import ig_recache
from .ig_checks import (  # noqa: F401 - re-exported
    _check_element, _composite_errors, _element_errors, _get_value, _syntax_errors, _valid_date, _valid_time,
    segment_errors, valid_data_type)
from .ig_issues import (  # noqa: F401 - re-exported
    Crash, EngineBug, Issue, TooManyIssues, _Errh, apply_segment_errors, engine_failure)
from .ig_map import (  # noqa: F401 - re-exported
    _BAD_CHILD, MAXINT, CompSpec, EleSpec, LoopNode, Map, SegNode, _node_by_path, data_elements, external_codes,
    load_map, map_file_for, map_index, no_map, relevant_children)
from .ig_regex import segment_matcher
from .ig_walk import ShapeCache, _format_segment, _matches, _Walker  # noqa: F401 - re-exported
from .seglines import SegmentLines

#: a segment its node's compiled expression accepts skips the element checks (edi.ig_regex; proved
#: against them by tests/edi/test_ig_regex.py). False: every segment goes through the checks.
SEGMENT_REGEX = True
#: the walk of each 2000B block shape is learned once per file (edi.ig_walk.ShapeCache; proved against
#: the uncached walker and pyx12 by tests/edi/test_ig_walk_cache.py). False: every segment is walked.
WALK_CACHE = True
#: the segments of a 2000B block whose shape was learned are checked together, in one pass of compiled
#: expressions (edi.ig_blocks; proved against this module's per-segment path by
#: tests/edi/test_ig_blocks.py). False: every segment goes through `_Driver.step`.
BLOCKS = True
_UNSET = object()
ISA_LEN = 106
BUFSIZE = 8 * 1024  # pyx12.rawx12file.DEFAULT_BUFSIZE: pyx12 gives up on a segment longer than its buffer
READ_CHARS = 1 << 20
_ENV_IDS = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})
_REC_SEG_ID = re.compile(r"^[A-Z][A-Z0-9]{1,2}$", re.S)
_GOOD_IDS: set[str] = set()  # segment ids known to pass pyx12's is_seg_id_valid
_READER_IDS = frozenset({"ISA", "GS", "ST", "HL", "CLM", "LX", "IEA", "GE", "SE"})  # ids X12Reader looks at
_DRIVER_IDS = frozenset({"ISA", "IEA", "GS", "BHT", "GE", "ST", "SE"})  # ids the driver treats apart


# --- the reader (pyx12 RawX12File + X12Reader checks) -----------------------------------------------


def _int(value: str | None) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return None


class _Reader:
    """Splits the text the way pyx12's RawX12File does and runs X12Reader's per-segment checks."""

    def __init__(self, stream: Any, first_line: int) -> None:
        self.stream = stream
        head = stream.read(ISA_LEN)
        self.icvn = head[84:89]
        self.seg_term = head[-1]
        self.ele_term = head[3]
        self.comp_sep = head[-2]
        self.data = head + stream.read(BUFSIZE)
        self.read_to = len(self.data)  # what pyx12 would have read so far (absolute)
        self.pos = 0  # absolute offset of the text not split yet
        self.ended = False  # pyx12 would stop reading here (an empty piece, a segment past its buffer)
        self.eof = len(self.data) < ISA_LEN + BUFSIZE
        self.lines = SegmentLines()
        self.line = first_line
        self.mark = getattr(stream, "mark", None)  # see read_more
        self.pending: list[tuple[str, str, str, str | None]] = []
        self.loops: list[tuple[str, str | None]] = []
        self.isa_ids: list[str | None] = []
        self.gs_ids: list[str | None] = []
        self.st_ids: list[str | None] = []
        self.gs_count = self.st_count = self.hl_count = self.seg_count = self.cur_line = self.lx_count = 0
        self.hl_stack: list[int] = []
        self.check_837_lx = False

    def pieces(self) -> Any:
        """The segment texts, split as pyx12's RawX12File splits them: on the terminator, newlines
        before a segment dropped, the first empty piece ends the file, and (as pyx12 reads 8 KiB at a
        time) a segment whose terminator lies more than one buffer beyond what was read ends it too."""
        term = self.seg_term
        carry = self.data
        self.data = ""
        while True:
            parts = carry.split(term)
            carry = parts.pop()
            yield from self.pieces_of(parts)
            if self.ended or self.eof:
                return
            if self.beyond_buffer(carry):
                return
            carry += self.read_more()

    def beyond_buffer(self, carry: str) -> bool:
        """Whether the unterminated `carry` already ends the file as pyx12 reads it (its terminator,
        wherever it is, lies more than a buffer beyond what was read: `pieces_of` would set `ended`).
        Deciding it now keeps memory flat on a file with no terminator for megabytes."""
        if self.pos + len(carry) >= self.read_to + BUFSIZE:
            self.ended = True
        return self.ended

    def read_more(self) -> str:
        """The next chunk of the stream (setting `eof` after a short read). Its callers have taken every
        piece before `pos` (`line` is the line there), which edi.ig's stream is told: it need not count
        the lines of what it handed out before (`mark`)."""
        if self.mark is not None:
            self.mark(self.pos, self.line)
        chunk = self.stream.read(READ_CHARS)
        if len(chunk) < READ_CHARS:
            self.eof = True
        return chunk

    def pieces_of(self, parts: list[str]) -> Any:
        """`pieces` for the terminated pieces of one chunk (`ended` set where the file ends)."""
        newline_term = self.seg_term == "\n"
        lines = self.lines
        pos = self.pos  # absolute offset of parts[0]
        read_to = self.read_to
        try:
            for piece in parts:
                end = pos + len(piece)  # where its terminator is
                if end >= read_to:
                    read_to += BUFSIZE
                    if end >= read_to:
                        self.ended = True
                        return
                pos = end + 1
                line = piece.lstrip("\n\r")
                if line == "":
                    self.ended = True
                    return
                if piece[0] == "\n" or piece[0] == "\r" or piece[0] == " ":
                    lead = len(piece) - len(piece.lstrip())
                    lines.append(self.line + piece.count("\n", 0, lead))
                    self.line += piece.count("\n") + newline_term
                else:
                    lines.append(self.line)
                    if newline_term or "\n" in piece:
                        self.line += piece.count("\n") + newline_term
                yield line
        finally:
            self.pos = pos
            self.read_to = read_to

    def segments(self) -> Any:
        """(seg_id, elements, text) per segment, after X12Reader's checks (their errors in self.pending)."""
        take = self.take
        for line in self.pieces():
            yield take(line)

    def take(self, line: str) -> tuple[str, list[str], str]:
        """One segment text as X12Reader reads it: its checks run, their errors left in self.pending."""
        ele = self.ele_term
        comp = self.comp_sep
        term = self.seg_term
        if line[0] == " ":
            self.pending.append(("seg", "1", "Segment contains a leading space", None))
            line = line.lstrip()
        if line == "":
            raise Crash("IndexError")
        if line[-1] == ele:
            self.pending.append(("seg", "SEG1", "Segment contains trailing element terminators", None))
        if line[-1] == term:
            line = line[:-1]
        parts = line.split(ele)
        seg_id = parts[0]
        elems = parts[1:]
        if seg_id in _GOOD_IDS and seg_id not in _READER_IDS and elems and elems[0].strip(comp):
            self.seg_count += 1  # what _parse does for such a segment, without the call
            self.cur_line += 1
        else:
            self._parse(seg_id, elems, comp, ele, term)
        return seg_id, elems, line

    def _value(self, elems: list[str], idx: int, is_isa: bool = False) -> str | None:
        return _get_value(elems, idx, self.comp_sep, is_isa)

    def _parse(self, seg_id: str, elems: list[str], comp: str, ele: str, term: str) -> None:
        pending = self.pending
        first = elems[0] if elems else ""
        if (not first or (seg_id != "ISA" and first.strip(comp) == "")) and _is_empty(elems, comp, seg_id == "ISA"):
            pending.append(("seg", "8", 'Segment "%s%s%s%s" is empty' % (seg_id, ele, "", term), None))
        if seg_id not in _GOOD_IDS:
            if not seg_id or len(seg_id) < 2 or len(seg_id) > 3 or not _REC_SEG_ID.search(seg_id):
                pending.append(("seg", "1", 'Segment identifier "%s" is invalid' % seg_id, None))
            elif len(_GOOD_IDS) < 4096:
                _GOOD_IDS.add(seg_id)
        if seg_id not in _READER_IDS:
            self.seg_count += 1
            self.cur_line += 1
            return
        if seg_id == "ISA":
            if len(elems) != 16:
                raise Crash("X12Error")
            icn = elems[12]
            if icn in self.isa_ids:
                pending.append(("isa", "025", "ISA Interchange Control Number " + f"{icn} not unique within file",
                                None))
            self.loops.append(("ISA", icn))
            self.isa_ids.append(icn)
            self.gs_count = 0
            self.gs_ids = []
        elif seg_id == "GS":
            gcn = self._value(elems, 6)
            if gcn in self.gs_ids:
                pending.append(("gs", "6", "GS Interchange Control Number " + f"{gcn} not unique within file", None))
            self.gs_count += 1
            self.gs_ids.append(gcn)
            self.loops.append(("GS", gcn))
            self.st_count = 0
            self.st_ids = []
        elif seg_id == "ST":
            self.hl_stack = []
            tcn = self._value(elems, 2)
            if tcn in self.st_ids:
                pending.append(("st", "23", "ST Interchange Control Number " + f"{tcn} not unique within file", None))
            self.st_count += 1
            self.st_ids.append(tcn)
            self.loops.append(("ST", tcn))
            self.seg_count = 1
            self.hl_count = 0
        elif seg_id == "HL":
            self._hl(elems)
        elif self.check_837_lx and seg_id == "CLM":
            self.lx_count = 0
        elif self.check_837_lx and seg_id == "LX":
            self.lx_count += 1
            lx01 = self._value(elems, 1)
            if lx01 != f"{self.lx_count:d}":
                pending.append(("seg", "LX", "Your 2400/LX01 Service Line Number {} does not match my count of {:d}"
                                .format(lx01, self.lx_count), None))
        if seg_id not in _ENV_IDS:
            self.seg_count += 1
        self.cur_line += 1
        # X12Reader._parse_segment (trailers)
        loops = self.loops
        try:
            if seg_id == "IEA":
                if loops[-1][0] != "ISA":
                    pending.append(("isa", "024", f"Unterminated Loop {loops[-1][0]}", None))
                    del loops[-1]
                iea02 = self._value(elems, 2)
                if loops[-1][1] != iea02:
                    pending.append(("isa", "001", "IEA id={} does not match ISA id={}".format(iea02, loops[-1][1]),
                                    None))
                if _int(self._value(elems, 1)) != self.gs_count:
                    pending.append(("isa", "021", "IEA count for IEA02={} is wrong".format(iea02), None))
                del loops[-1]
            elif seg_id == "GE":
                if loops[-1][0] != "GS":
                    pending.append(("gs", "3", f"Unterminated segment {loops[-1][1]}", None))
                    del loops[-1]
                ge02 = self._value(elems, 2)
                if loops[-1][1] != ge02:
                    pending.append(("gs", "4", "GE id={} does not match GS id={}".format(ge02, loops[-1][1]), None))
                ge01 = self._value(elems, 1)
                if _int(ge01) != self.st_count:
                    pending.append(("gs", "5", "GE count of {} for GE02={} is wrong. I count {}"
                                    .format(ge01, ge02, self.st_count), None))
                del loops[-1]
            elif seg_id == "SE":
                se02 = self._value(elems, 2)
                if loops[-1][0] != "ST" or loops[-1][1] != se02:
                    pending.append(("st", "3", f"SE id={se02} does not match ST id={loops[-1][1]}", None))
                se01 = self._value(elems, 1)
                if _int(se01) != self.seg_count + 1:
                    pending.append(("st", "4", "SE count of {} for SE02={} is wrong. I count {}"
                                    .format(se01, se02, self.seg_count + 1), None))
                del loops[-1]
        except IndexError:  # pyx12 indexes its loop stack without looking (after counting the segment)
            raise Crash("IndexError") from None

    def _hl(self, elems: list[str]) -> None:
        """X12Reader's HL checks: HL01 counts the HLs, HL02 names an open parent."""
        comp = self.comp_sep
        count = len(elems)
        self._hl_numbers(elems[0].rstrip(comp) if count > 0 else None,  # (self._value(elems, 1) and 2)
                         elems[1].rstrip(comp) if count > 1 else None)

    def _hl_numbers(self, hl01: str | None, hl02: str | None) -> None:
        """`_hl` given HL01 and HL02 as `_value` reads them."""
        pending = self.pending
        self.hl_count += 1
        # (the usual HL01, the count's own digits, needs no int(): the same answer without the call)
        if hl01 != str(self.hl_count) and self.hl_count != _int(hl01):
            pending.append(("seg", "HL1", f"My HL count {self.hl_count:d} does not match your HL count {hl01}",
                            None))
        if hl02 != "":
            parent = _int(hl02)
            if parent not in self.hl_stack:
                pending.append(("seg", "HL2", f"HL parent ({parent}) is not a valid parent", None))
            while self.hl_stack and parent != self.hl_stack[-1]:
                del self.hl_stack[-1]
        self.hl_stack.append(self.hl_count)

    def take_hl(self, line: str) -> None:
        """`take` for an HL known to have no layout, no trailing separator and an element (what
        edi.ig_blocks checks): only its numbers are read."""
        parts = line.split(self.ele_term, 3)  # (HL01 and HL02 are all it reads)
        comp = self.comp_sep
        count = len(parts)
        self._hl_numbers(parts[1].rstrip(comp) if count > 1 else None, parts[2].rstrip(comp) if count > 2 else None)
        self.seg_count += 1
        self.cur_line += 1

    def cleanup(self) -> None:
        for seg, id1 in self.loops:
            if seg == "ST":
                self.pending.append(("st", "2", 'Mandatory segment "Transaction Set Trailer" ' + f"(SE={id1}) missing",
                                     None))
            elif seg == "GS":
                self.pending.append(("gs", "3", 'Mandatory segment "Functional Group Trailer" '
                                     + f"(GE={id1}) missing", None))
            elif seg == "ISA":
                self.pending.append(("isa", "023", 'Mandatory segment "Interchange Control Trailer" '
                                     + f"(IEA={id1}) missing", None))

    def pop(self) -> list[tuple[str, str, str, str | None]]:
        out = self.pending
        self.pending = []
        return out


def _is_empty(elems: list[str], comp: str, is_isa: bool) -> bool:
    """pyx12 Segment.is_empty: no element has a non-empty component."""
    for e in elems:
        if e != "" and (is_isa or e.strip(comp) != ""):
            return False
    return True


# --- the driver (pyx12 x12n_document's loop) ------------------------------------------------------------


def run(stream: Any, first_line: int = 1, limits: tuple[int, int] | None = None) -> tuple[list[Issue], SegmentLines]:
    """Validate the X12 text in `stream` (positioned at the ISA); issues and the line of each segment.
    `limits` (issues of any kind, unrecognized segments): past either, TooManyIssues is raised."""
    reader = _Reader(stream, first_line)
    driver = _Driver(reader, limits)
    try:
        if BLOCKS and SEGMENT_REGEX and WALK_CACHE:
            from .ig_blocks import drive  # the block path (it imports this module)
            finished = drive(driver)
        else:
            finished = driver.feed(reader.segments())
        if finished:
            try:
                reader.cleanup()
                driver.errh.position = reader.cur_line
                driver.errh.handle(reader.pop())
            except Crash as exc:
                driver.stopped.append(engine_failure(exc.kind, reader.cur_line, None))
    except Crash as exc:
        driver.stopped.append(engine_failure(exc.kind, reader.cur_line + 1, None))
    except TooManyIssues:
        raise
    except Exception as exc:  # noqa: BLE001 - a bug in this engine, not a problem of the input
        raise EngineBug(type(exc).__name__) from exc
    issues = driver.errh.issues() + driver.stopped
    issues.sort(key=lambda i: i.position or 0)
    ig_recache.save()  # the expressions this file needed first, for the next process
    return issues, reader.lines


class _Driver:
    """pyx12 x12n_document's loop, one segment at a time: the walk, the error tree, the element checks.

    `feed` runs it over every segment (the plain path); edi.ig_blocks feeds it the segments its
    block path does not take, so both paths share this state and every rule is written once."""

    __slots__ = ("reader", "errh", "walker", "stopped", "control_map", "map_file", "cur_map", "node", "icvn",
                 "fic", "vriic", "comp", "clean", "matchers", "use_regex", "shapes", "learn")

    def __init__(self, reader: _Reader, limits: tuple[int, int] | None) -> None:
        self.reader = reader
        self.errh = _Errh(limits)
        self.walker = _Walker()
        self.stopped: list[Issue] = []
        control_file = "x12.control.00501.xml" if reader.icvn == "00501" else "x12.control.00401.xml"
        self.control_map = load_map(control_file)
        self.map_file = control_file
        self.cur_map: Map | None = None
        self.node: Any = _node_by_path(self.control_map, "/ISA_LOOP/ISA")
        self.icvn = self.fic = self.vriic = None
        self.comp = reader.comp_sep
        self.clean: dict[str, Any] = {}  # segment text -> map node it validated clean against (this file only)
        self.matchers: dict[Any, Any] = {}  # map node -> its compiled segment expression (edi.ig_regex) or None
        self.use_regex = SEGMENT_REGEX
        self.shapes = ShapeCache()  # the walk of 2000B blocks, learned per shape (this file only)
        self.learn = WALK_CACHE

    def feed(self, segments: Any) -> bool:
        """`step` over each segment; False when validation stopped before the end."""
        step = self.step
        for seg_id, elems, line in segments:
            if not step(seg_id, elems, line):
                return False
        return True

    def step(self, seg_id: str, elems: list[str], line: str) -> bool:
        """One segment (as _Reader.take returns it); False: validation stops here."""
        reader = self.reader
        errh = self.errh
        walker = self.walker
        shapes = self.shapes
        comp = self.comp
        errh.position = position = reader.cur_line
        node = orig_node = self.node
        try:
            if seg_id == "ISA":
                node = _node_by_path(self.control_map, "/ISA_LOOP/ISA")
                walker.force_loop_start("/ISA_LOOP", "/ISA_LOOP/ISA")
                shapes.trie = None
            elif seg_id == "GS":
                node = _node_by_path(self.control_map, "/ISA_LOOP/GS_LOOP/GS")
                walker.force_loop_start("/ISA_LOOP/GS_LOOP", "/ISA_LOOP/GS_LOOP/GS")
                shapes.trie = None
            else:
                node = shapes.walk(walker, node, seg_id, elems, comp) if self.learn else \
                    walker.walk(node, seg_id, elems, comp)
                for code, msg, map_node, tag in walker.pending:
                    if map_node is not None:
                        errh.add_seg(map_node, tag, position)
                    errh.seg_error(code, msg, None)
            if node is None:
                self.node = orig_node
                return True
            self.node = node
            if seg_id not in _DRIVER_IDS:  # the common case first (the last branch below)
                errh.add_seg(node, seg_id, position)
                if reader.pending:
                    errh.handle(reader.pop())
            elif seg_id == "ISA":
                errh.add_isa_loop(position)
                self.icvn = _get_value(elems, 12, comp, True)
                errh.handle(reader.pop())
            elif seg_id == "IEA":
                errh.handle(reader.pop())
                errh.close("ISA")
            elif seg_id == "GS":
                self.fic = _get_value(elems, 1, comp, False)
                self.vriic = _get_value(elems, 8, comp, False)
                map_file_new = map_file_for(self.icvn, self.vriic, self.fic)
                if self.map_file != map_file_new:
                    if map_file_new is None:
                        self.stopped.append(no_map(self.icvn, self.vriic, self.fic, position))
                        return False
                    self.map_file = map_file_new
                    self.cur_map = load_map(map_file_new)
                    reader.check_837_lx = self.cur_map.id == "837"
                if self.cur_map is None:
                    raise Crash("AttributeError")
                node = self.node = _node_by_path(self.cur_map, "/ISA_LOOP/GS_LOOP/GS")
                errh.add_gs_loop(position)
                errh.handle(reader.pop())
            elif seg_id == "BHT":
                if self.vriic in ("004010X094", "004010X094A1"):
                    tspc = _get_value(elems, 2, comp, False)
                    map_file_new = map_file_for(self.icvn, self.vriic, self.fic, tspc)
                    if self.map_file != map_file_new:
                        if map_file_new is None:
                            self.stopped.append(no_map(self.icvn, self.vriic, self.fic, position))
                            return False
                        self.map_file = map_file_new
                        self.cur_map = load_map(map_file_new)
                        reader.check_837_lx = self.cur_map.id == "837"
                        node = self.node = _node_by_path(self.cur_map, "/ISA_LOOP/GS_LOOP/ST_LOOP/HEADER/BHT")
                        shapes.trie = None
                errh.add_seg(node, seg_id, position)
                errh.handle(reader.pop())
            elif seg_id == "GE":
                errh.handle(reader.pop())
                errh.close("GS")
                ge01 = _get_value(elems, 1, comp, False)
                if _int_strict(ge01) is None:  # err_gs.close does int(GE01)
                    raise Crash("TypeError" if ge01 is None else "ValueError")
            elif seg_id == "ST":
                errh.add_st_loop(position)
                errh.handle(reader.pop())
            elif seg_id == "SE":
                errh.handle(reader.pop())
                errh.close("ST")
            else:
                errh.add_seg(node, seg_id, position)
                errh.handle(reader.pop())
            clean = self.clean
            if clean.get(line) is not node:  # the same text validated clean earlier in this file
                matcher = self.matchers.get(node, _UNSET)
                if matcher is _UNSET:
                    matcher = self.matchers[node] = (segment_matcher(node, reader.ele_term, comp, reader.seg_term)
                                                     if self.use_regex and node.is_segment else None)
                if matcher is None or matcher(line) is None:  # not accepted: the element checks decide
                    errors = segment_errors(node, seg_id, elems, comp)
                    if errors:
                        apply_segment_errors(errh, errors)
                    elif len(clean) < 65536:
                        clean[line] = node
        except Crash as exc:
            self.stopped.append(engine_failure(exc.kind, position, seg_id))
            return False
        return True


def _int_strict(value: str | None) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return None


#: the engine (`run`) and the names of its parts that stay importable from here
__all__ = [
    "BUFSIZE", "CompSpec", "Crash", "EleSpec", "EngineBug", "ISA_LEN", "Issue", "LoopNode", "MAXINT", "Map",
    "READ_CHARS", "SEGMENT_REGEX", "SegNode", "ShapeCache", "TooManyIssues", "WALK_CACHE", "_BAD_CHILD",
    "_Errh", "_Walker", "_check_element", "_composite_errors", "_element_errors", "_format_segment",
    "_get_value", "_matches", "_node_by_path", "_syntax_errors", "_valid_date", "_valid_time",
    "BLOCKS", "apply_segment_errors", "data_elements", "engine_failure", "external_codes", "load_map", "map_file_for",
    "map_index", "no_map", "relevant_children", "run", "segment_errors", "segment_matcher", "valid_data_type",
]
