"""The guide check's block path: the segments of a learned 2000B shape checked together, in C.

edi.ig_fast's `_Driver.step` takes one segment at a time through about seven Python calls (read, split,
walk, error tree, element check): ~10 microseconds a segment. Most of an 837P is made of blocks (a
subscriber HL and everything under it) whose shape the walk has learned (edi.ig_walk.ShapeCache):
after the first block of a shape, each of its segments needs only its element check, and the walk and
the reader's checks reduce to bookkeeping that is the same for the whole run of segments.

So the text is split per chunk with C-level `str.split`, cut into runs at the HLs and LXs (a new claim
shape then costs only its new service lines), and each run that continues a learned shape is checked by
one pass of compiled expressions over its segment texts, `all(map(re.Pattern.fullmatch, patterns,
texts))` (a text the same expression accepted before in this file is only looked up: edi.ig_known).
The expression of each position is the segment node's own (edi.ig_regex: accepts only segments the
element checks find nothing in), narrowed to what else the per-segment path would look at:

* the shape key the walk was learned on (the qualifier values edi.ig_walk.ShapeCache.key reads), so
  the learned step, its node and its count changes are the ones the per-segment path would replay
  (a simple element's value written into the node's expression, edi.ig_regex pins; others as
  look-aheads);
* the reader's checks: not an empty segment, no trailing element separator, LX01 the service line
  number the reader counts (from the CLM the run holds, or from the count the run was learned at,
  checked before it is taken); an HL (a block's first segment,
  learned from the trie node the last block ended on, or a patient HL inside a run) is read by the
  reader itself, so its numbering and parent errors are reported as the per-segment path reports them.

A run the expressions accept changes the state exactly as its segments one by one would (line table,
segment counts, HL/LX counters, walk counts, the shape trie, the error tree's cursor; the walk counts
and the cursor only once something reads them, `_Blocks.flush`, as the next block's entry forgets the
counts and sets the cursor itself). Anything else
goes through `_Driver.step`, segment by segment, unchanged: a new shape, a segment with an error (so
every finding, its wording, position and line come from the per-segment path), a chunk in another
layout than one segment per line or all on one line (CR/LF or LF after the terminator), pieces pyx12
would read differently (leading spaces, empty pieces, segments over its 8 KiB buffer). A run is learned
from one the per-segment path took on learned steps without a single issue to its end.

tests/edi/test_ig_blocks.py holds this path to the per-segment one (every issue, message, position
and line) on the samples, goldens, corpus, synthetic files and mutants.
"""
from __future__ import annotations

import re
from operator import call as _call
from typing import Any

from . import ig_recache
from .ig_fast import BUFSIZE, _Driver
from .ig_known import KnownTexts
from .ig_regex import content_required, segment_matcher, segment_pattern
from .ig_walk import _DELETED, _MISSING, _OTHER

_FAST = object()  # key, in a ShapeCache trie node, of the runs learned from that node
_ENTRY = object()  # key, in the trie node a block ends on, of the HLs learned to start the next one cleanly
_NOT_IN_RUNS = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE", "BHT"})
RUN_LIMIT = 20_000  # runs learned per file (a synthetic 100k-claim 837P learns a few thousand)
WINDOW = (BUFSIZE - 4) // 2  # see _Blocks._layout
CANDIDATES = 8  # runs kept per trie node and number of segments (each is tried until one accepts)
_PATTERN_LIMIT = 4096


class _Run:
    """What a run of segments from one trie node does when its expressions accept it."""

    __slots__ = ("patterns", "checks", "taken", "end", "sets", "dels", "node", "tag", "hl", "lx", "lx_from")

    def __init__(self, patterns: list[Any], end: dict, delta: dict[str, Any], node: Any, tag: str, hl: Any,
                 lx: int | None, lx_from: int | None = None) -> None:
        self.patterns = patterns
        # one per segment, what checks its text: its pattern's fullmatch or a lookup of the texts that
        # pattern accepted before (set by edi.ig_known.KnownTexts.attach)
        self.checks: list[Any] = []
        self.taken = 0  # times applied (ig_known counts its lookups by it)
        self.end = end  # the trie node after the run
        self.sets = {p: v for p, v in delta.items() if v is not _DELETED}  # walk counts after the run
        self.dels = tuple(p for p, v in delta.items() if v is _DELETED)  # and those it removed
        self.node = node  # the last segment's map node
        self.tag = tag
        self.hl = hl  # the map node of an HL starting the run (read by the reader: its numbers), or None
        self.lx = lx  # the reader's LX count after the run (None: the run leaves it alone)
        self.lx_from = lx_from  # the reader's LX count the run needs before it (None: any)


def drive(driver: _Driver) -> bool:
    """Read the whole input into `driver`, taking learned runs together; False when it stopped early."""
    reader = driver.reader
    term, ele, comp = reader.seg_term, reader.ele_term, reader.comp_sep
    if term in "\r\n" or len({term, ele, comp, "\n", "\r", " "}) != 6:
        return driver.feed(reader.segments())
    blocks = _Blocks(driver)
    try:
        return blocks.chunks()
    finally:
        blocks.flush()  # the walk's counts as the segments left them


def empty_piece(region: str, nl: str, term: str) -> bool:
    """Whether `region[len(nl):-1].split(term + nl)` (the texts of `_Blocks._layout`) holds an empty
    text, found by C-level searches instead of comparing each text with "" (~1% of the check): a
    separator (the terminator and line break, which cannot overlap itself: no proper prefix of it is a
    suffix) at the start or end of that text, two in a row, or no text at all."""
    sep = term + nl
    start, end = len(nl), len(region) - 1
    return (end <= start or region.startswith(sep, start, end) or region.endswith(sep, start, end)
            or region.find(sep + sep, start, end) >= 0)


def _keeps_content(key: tuple, ele: str, comp: str) -> bool:
    """Whether the segments an expression of this shape key accepts are never empty to the reader:
    `pattern` requires each qualifier value of the key where it was read, so one with a character that
    is no separator is enough."""
    return any(isinstance(value, str) and value.strip(ele + comp) for value in key[1:])


class _Blocks:
    __slots__ = ("d", "reader", "shapes", "errh", "term", "ele", "comp", "hl_token", "patterns", "compiled", "known",
                 "runs", "alive", "todo", "noted", "line0", "line_step")

    def __init__(self, driver: _Driver) -> None:
        self.d = driver
        self.reader = driver.reader
        self.shapes = driver.shapes
        self.errh = driver.errh
        self.term, self.ele, self.comp = self.reader.seg_term, self.reader.ele_term, self.reader.comp_sep
        self.hl_token = "HL" + self.ele
        self.patterns: dict[tuple, Any] = {}  # (node, key, LX01) -> compiled expression (this file only)
        # expression text -> compiled expression: one object per distinct text, so the runs and
        # edi.ig_known tell expressions apart by identity (never by hashing or comparing them)
        self.compiled: dict[str, Any] = {}
        self.known = KnownTexts()  # the texts each expression accepted (this file only)
        self.runs = 0
        # the walk counts inside the current block as its entry left them, while only learned steps
        # changed them (the runs' changes wait in `todo`); None: unknown (see `flush`)
        self.alive: set[str] | None = None
        # runs taken whose count changes are not written yet, the last of them while neither the error
        # tree nor the walk's node were told of its last segment (see `flush`)
        self.todo: list[_Run] = []
        # the line of the current region's texts[k] is line0 + k * line_step; those before texts[noted] are
        # in the reader's line table (see `note`)
        self.noted = self.line0 = self.line_step = 0

    def chunks(self) -> bool:
        """Read the whole input in chunks of whole segments; False when validation stopped early."""
        reader = self.reader
        term = self.term
        carry = reader.data
        reader.data = ""
        while True:
            cut = carry.rfind(term) + 1
            if cut:
                region, carry = carry[:cut], carry[cut:]
                if not self.region(region):
                    return False
                if reader.ended:
                    return True
            if reader.eof or reader.beyond_buffer(carry):
                return True
            carry += reader.read_more()

    def flush(self) -> None:
        """Write the count changes of the runs taken since the last flush into the walk's counts, and
        forget which counts are inside the block (`alive`: the per-segment path that follows changes
        them unseen).

        A run changes only counts inside the block (what the walk learned it from changed nothing
        else), and the next block's entry forgets all of those: so `apply` leaves them to this, called
        before anything reads the counts (the per-segment path, the end of the input), and `enter`
        drops them. A block taken by runs alone (most of them) never writes its counts. Likewise the
        error tree and the walk's node (`_Driver.node`) are told of the last run's last segment only
        here: a later run or block entry stands in for it, before anything reads them."""
        self.alive = None
        todo = self.todo
        if todo:
            # the error tree's current segment and the walk's node: the last run's last segment (its
            # line: nothing read since)
            last = todo[-1]
            errh = self.errh
            errh.position = self.reader.cur_line
            errh.add_seg(last.node, last.tag, errh.position)
            self.d.node = last.node
            counts = self.d.walker.counts
            for run in todo:
                counts.update(run.sets)
                for path in run.dels:
                    counts.pop(path, None)
            todo.clear()

    # --- a chunk of text ------------------------------------------------------------------------------

    def region(self, region: str) -> bool:
        """The pieces of `region` (text ending with a terminator); False when validation stopped."""
        reader = self.reader
        layout = self._layout(region)
        if layout is None:  # pieces as pyx12 reads them, each through the per-segment path
            self.flush()
            take, step = reader.take, self.d.step
            for line in reader.pieces_of(region.split(self.term)[:-1]):
                if not step(*take(line)):
                    return False
            return True
        texts, line0, step, nl = layout
        # the reader's position after the region (no piece can end the file early: see _layout)
        last_end = reader.pos + len(region) - 1
        if last_end >= reader.read_to:
            reader.read_to += BUFSIZE * ((last_end - reader.read_to) // BUFSIZE + 1)
        reader.pos += len(region)
        reader.line += len(texts) * step
        self.noted, self.line0, self.line_step = 0, line0, step
        hl = self.hl_token
        stops = (hl, "LX" + self.ele)  # a unit (one HL or LX to the next) starts at each
        n = len(texts)
        shapes = self.shapes
        enter, apply, unit = self.enter, self.apply, self.unit
        i = 0
        while i < n:  # a unit from texts[i]: the block's first HL (if learned there), then a learned run
            j = i
            taken = False
            trie = shapes.trie
            if trie is not None:
                # (a unit after the region's first starts where the last one ended, at an HL or an LX:
                # its first letter tells which)
                if texts[i][0] == "H" if i else texts[i].startswith(hl):
                    entries = trie.get(_ENTRY)
                    if entries is not None and enter(entries, texts[i]):
                        j = i + 1
                        trie = shapes.trie
                # the unit's end is where a learned length leads to the next HL or LX (or the region's
                # end); a run's expressions accept no HL or LX after its first segment, so only a run of
                # the unit's own length can be taken, and lengths are tried shortest first
                if j < n and (j == i or not texts[j].startswith(stops)):
                    runs = trie.get(_FAST)
                    if runs is not None:
                        lx_count = reader.lx_count
                        for length, found in runs.items():
                            b = j + length
                            if b > n:
                                break
                            if b < n and not texts[b].startswith(stops):
                                continue
                            seg = texts[j:b]
                            for run in found:
                                if (run.lx_from is None or run.lx_from == lx_count) and all(
                                        map(_call, run.checks, seg)):
                                    apply(run, seg)
                                    taken = True
                                    break
                            if taken:
                                break
            if taken:
                i = b
            else:
                b = i + 1  # the unit's end, found segment by segment (a new shape, an error, an HL alone)
                while b < n and not texts[b].startswith(stops):
                    b += 1
                if j < b and not unit(texts, i, b, b < n, j):
                    return False
                i = b
        self.note(n)
        return True

    def note(self, end: int) -> None:
        """The lines of the region's texts before texts[end] into the reader's line table. Runs and block
        entries leave theirs to this (one call for all those taken in a row, not one each: nothing reads
        the table before the end of the input); the per-segment path notes each segment before it
        takes it, so the table stops where validation stops."""
        done = self.noted
        if end > done:
            self.reader.lines.extend(self.line0 + done * self.line_step, self.line_step, end - done)
            self.noted = end

    def _layout(self, region: str) -> tuple[list[str], int, int, str] | None:
        """(segment texts, line of the first, line step, line break before each) when every piece of `region` is one segment
        after one line break (LF or CR LF), or all are on one line, with no piece pyx12 reads apart
        (empty, longer than its buffer); else None. (A leading space is read by _Reader.take, as the
        per-segment path reads it; no expression accepts it.)"""
        term = self.term
        first = region[0]
        if first == "\n" or first == "\r":
            nl = "\r\n" if first == "\r" else "\n"
            if not region.startswith(nl):
                return None
            # region[len(nl):-1].split(term + nl) without copying the region first (~1 instruction a
            # character): no separator can take in the leading line break or the last terminator
            # (the terminator is no line break), so only the first and last texts differ, by those
            texts = region.split(term + nl)
            texts[0] = texts[0][len(nl):]
            texts[-1] = texts[-1][:-1]
            # no other terminator or line break inside a text (looked for in the texts joined: a C-level
            # copy and three memchr searches, not three counts of the region)
            joined = "".join(texts)
            if term in joined or "\n" in joined or "\r" in joined:
                return None
            line0, step = self.reader.line + 1, 1
        else:
            if "\n" in region or "\r" in region:
                return None
            texts = region.split(term)
            texts.pop()  # (the empty text after the last terminator: region[:-1].split(term), not copied)
            line0, step = self.reader.line, 0
            nl = ""
        # no empty piece (pyx12 stops there), none past its buffer: a mark (line break, or terminator
        # on one line) in every window of WINDOW characters keeps every piece shorter than 2 windows
        if empty_piece(region, nl, term):
            return None
        find = region.find
        mark = nl[-1:] or term
        for start in range(0, len(region), WINDOW):
            if find(mark, start, start + WINDOW) < 0:
                if max(map(len, texts)) + len(nl) >= BUFSIZE:
                    return None
                break
        return texts, line0, step, nl

    # --- a run of segments from one HL to the next ----------------------------------------------------

    def unit(self, texts: list[str], i: int, b: int, whole: bool, j: int) -> bool:
        """Segments j..b-1 of the unit i..b-1 (from one HL to the next), runs where learned, else one
        by one through the per-segment path, learning the runs and block entries they show."""
        d = self.d
        shapes = self.shapes
        errh = self.errh
        reader = self.reader
        take, one, note = reader.take, d.step, self.note
        while j < b:
            trie = shapes.trie
            if trie is not None:
                runs = trie.get(_FAST)
                if runs is not None:
                    found = runs.get(b - j)
                    if found is not None:
                        seg = texts[j:b]
                        lx_count = reader.lx_count
                        for run in found:
                            if (run.lx_from is None or run.lx_from == lx_count) and all(
                                    map(_call, run.checks, seg)):
                                self.apply(run, seg)
                                return True
                if j == i and texts[j].startswith(self.hl_token):
                    entries = trie.get(_ENTRY)
                    if entries is not None and self.enter(entries, texts[j]):
                        j += 1  # the next block has started: its runs from there
                        continue
            # segment by segment; a run is learned when every step replays or learns a shape, cleanly
            self.flush()
            start = shapes.trie
            lx_start = reader.lx_count
            steps: list[Any] | None = [] if start is not None and whole else None
            k = j
            while k < b:
                before = shapes.trie
                issued = errh.issued + len(errh.envelope)
                note(k + 1)
                shapes.taken = None
                if not one(*take(texts[k])):
                    return False
                k += 1
                after = shapes.trie
                entry = shapes.taken if before is not None and after is not None else None
                if steps is not None:
                    if entry is None or issued != errh.issued + len(errh.envelope):
                        steps = None
                    else:
                        steps.append(entry)
                if after is not None and entry is None:  # a block starts
                    if k - 1 == i and before is not None and issued == errh.issued + len(errh.envelope):
                        self.learn_entry(before, texts[i])
                    if k < b:  # try its runs
                        j = k
                        break
            else:
                if steps:
                    self.learn(start, b - j, steps, lx_start)  # type: ignore[arg-type]
                return True
        return True

    def apply(self, run: _Run, seg: list[str]) -> None:
        """The state changes of the run's segments, one by one, at once: the reader's here, the walk's
        (counts, node) and the error tree's when something reads them (`flush`, or the next block's
        entry). (Its segments leave no walk errors: `_Walker.pending` is read only right after a walk,
        which sets it afresh.) Once a run taken (~34k at 10k claims): each byte code step here costs
        ~1M instructions."""
        run.taken += 1
        reader = self.reader
        count = len(seg)
        if run.hl is not None:  # the reader reads its numbers (HL1/HL2 errors are its own, the walk's the same)
            reader.take_hl(seg[0])
            count -= 1
            if reader.pending:
                errh = self.errh
                errh.position = reader.cur_line
                errh.add_seg(run.hl, "HL", reader.cur_line)
                errh.handle(reader.pop())
        reader.seg_count += count
        reader.cur_line += count
        if run.lx is not None:
            reader.lx_count = run.lx
        self.todo.append(run)  # its count changes, node and last segment: see `flush`
        self.shapes.trie = run.end

    def enter(self, entries: list[tuple[Any, ...]], text: str) -> bool:
        """The step of an HL that starts the next block, learned from the trie node the last block
        ended on (what the walk up from there reads is fixed by that node: see `learn_entry`);
        False, with nothing changed, when no entry accepts it."""
        for pattern, hl_node, loop, places, root in entries:
            if pattern.fullmatch(text):
                break
        else:
            return False
        walker = self.d.walker
        counts = walker.counts
        # (the loop's own count, outside it, is never among the runs' changes left to `flush`)
        if (0 if loop.path in loop.desc else counts.get(loop.path, 0)) + 1 > loop.max_repeat:
            return False  # the walk reports the loop repeated too often
        self.todo.clear()  # counts inside the last block, forgotten below (the error tree and node: this HL's)
        reader = self.reader
        reader.take_hl(text)  # the reader's checks (HL numbers and parents)
        position = reader.cur_line
        errh = self.errh
        errh.position = position
        # the walk's changes: _Walker._check_loop_usage and _goto_seg_match for the block's loop
        alive = self.alive
        if alive is None:
            walker.reset_loop(loop)
        else:  # the counts inside the last block, known without looking through all of them
            for path in alive:
                del counts[path]
        counts[loop.path] = counts.get(loop.path, 0) + 1
        counts[hl_node.path] = counts.get(hl_node.path, 0) + 1
        self.alive = {hl_node.path} if hl_node.path in loop.desc else set()
        walker.pending = []
        walker.missing = []
        walker.entered = loop
        walker.level = loop.parent
        # ShapeCache._maybe_start
        shapes = self.shapes
        shapes.block = loop
        shapes.places = places
        shapes.trie = root
        self.d.node = hl_node
        errh.add_seg(hl_node, "HL", position)
        if reader.pending:
            errh.handle(reader.pop())
        return True

    def learn_entry(self, trie: dict, text: str) -> None:
        """After an HL went from `trie` (where the last block ended) into a new block without an issue.

        The walk up from the last block's node (fixed by `trie`) reads only counts inside that block
        (fixed by `trie` too: they were reset when it began) until it reaches the block's loop in its
        parent, whose own count only decides the loop's max-repeat error (checked when replayed); so
        an HL of the same shape key starts the next block the same way from that trie node."""
        d = self.d
        shapes = self.shapes
        loop = shapes.block
        hl_node = d.node
        if (self.runs >= RUN_LIMIT or loop is None or d.walker.entered is not loop or hl_node is not loop.first_seg
                or hl_node.id != "HL"):
            return
        key = shapes.key("HL", text.split(self.ele)[1:], self.comp)
        pattern = self.pattern(hl_node, key, None)
        if pattern is not None:
            entries = trie.setdefault(_ENTRY, [])
            if not any(e[0] is pattern and e[2] is loop for e in entries):
                entries.append((pattern, hl_node, loop, shapes.keys.setdefault(loop, {}),
                                shapes.roots.setdefault(loop, {})))
                self.runs += 1

    # --- learning a run -------------------------------------------------------------------------------

    def learn(self, trie: dict, length: int, steps: list[tuple[tuple, tuple]], lx_start: int) -> None:
        """A run of `steps` from `trie`, the reader's LX count `lx_start` before it."""
        if self.runs >= RUN_LIMIT:
            return
        check_lx = self.reader.check_837_lx
        patterns = []
        lx: int | None = None
        lx_from: int | None = None  # an LX before any CLM: the run holds only where the reader counted this
        counted = False
        delta: dict[str, Any] = {}
        for index, (key, (found, changes, _child)) in enumerate(steps):
            seg_id = key[0]
            if seg_id in _NOT_IN_RUNS or (seg_id == "HL" and index):
                return
            lx01 = None
            if check_lx and seg_id == "CLM":
                lx, counted = 0, True
            elif check_lx and seg_id == "LX":
                if lx is None:  # the service lines of a claim the run does not start with
                    lx = lx_from = lx_start
                lx += 1
                lx01 = lx
            pattern = self.pattern(found, key, lx01)
            if pattern is None:
                return
            patterns.append(pattern)
            for path, value in changes:
                delta[path] = value
        last_key, (last_node, _changes, end) = steps[-1]
        fast = trie.get(_FAST)
        if fast is None:
            fast = trie[_FAST] = {}
        known = fast.get(length)
        if known is None:
            known = fast[length] = []
            if len(fast) > 1 and length < max(fast):  # lengths in order (see `region`)
                trie[_FAST] = dict(sorted(fast.items()))
        # (not again a run its expressions refused; a few per trie node and length, tried in turn)
        if len(known) < CANDIDATES and not any(r.patterns == patterns and r.end is end and r.lx_from == lx_from
                                               for r in known):
            run = _Run(patterns, end, delta, last_node, last_key[0], steps[0][1][0] if steps[0][0][0] == "HL" else None,
                       lx if counted or lx_from is not None else None, lx_from)
            self.known.attach(run)
            known.append(run)
            self.runs += 1

    def pattern(self, node: Any, key: tuple, lx01: int | None) -> Any:
        """The node's expression with look-aheads for the shape key (and LX01), or None."""
        cache_key = (node, key, lx01)
        found = self.patterns.get(cache_key, _MISSING)
        if found is not _MISSING:
            return found
        found = None
        ele, comp, term = self.ele, self.comp, self.term
        matcher = segment_matcher(node, ele, comp, term) if node.is_segment else None
        places = self.shapes.places.get(key[0])
        if matcher is not None and places is not None and len(places) == len(key) - 1:
            E, C = re.escape(ele), re.escape(comp)
            seg_id = re.escape(key[0])
            # not empty (the reader's check), unless the node's expression or the key already says so
            parts = [] if content_required(node, ele, comp, term) or _keeps_content(key, ele, comp) else [
                f"(?={seg_id}[{E}{C}]*[^{E}{C}])"]
            # a simple element the key (or LX01) fixes is written into the node's expression as that
            # value (edi.ig_regex pins); the others are look-aheads ahead of it
            pins: dict[int, str] = {}
            compilable = True
            for (idx, sub, _codes), value in zip(places, key[1:]):
                if value is _MISSING or value is _OTHER or not isinstance(value, str):
                    compilable = False
                    break
                if sub is None and idx <= len(node.kinds) and node.kinds[idx - 1] == 0 and idx - 1 not in pins:
                    pins[idx - 1] = value
                    continue
                start = f"{seg_id}(?:{E}[^{E}]*){{{idx - 1}}}{E}" if idx > 1 else f"{seg_id}{E}"
                if sub is None:
                    parts.append(f"(?={start}{re.escape(value)}{C}*(?:{E}|\\Z))")
                else:
                    skip = f"(?:[^{E}{C}]*{C}){{{sub - 1}}}" if sub > 1 else ""  # (the components before)
                    parts.append(f"(?={start}{skip}{re.escape(value)}(?:{C}|{E}|\\Z))")
            if compilable:
                if lx01 is not None:
                    if node.kinds and node.kinds[0] == 0 and 0 not in pins:
                        pins[0] = str(lx01)
                    else:
                        parts.append(f"(?={seg_id}{E}{lx01}(?:{E}|\\Z))")
                body = segment_pattern(node, ele, comp, term, pins) if pins else matcher.__self__.pattern
                if body is not None:
                    text = "".join(parts) + f"(?:{body})(?<!{E})"  # no trailing separator
                    found = self.compiled.get(text)
                    if found is None:
                        found = ig_recache.compile(text, re.S)
                        if len(self.compiled) < _PATTERN_LIMIT:
                            self.compiled[text] = found
        if len(self.patterns) < _PATTERN_LIMIT:
            self.patterns[cache_key] = found
        return found

