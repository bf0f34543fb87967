"""The 837P claims of a one-shot `convert` as text spans: no ledger, no segment objects until a claim is asked for.

`cobpipe convert` without `--db` used to store every remitted claim in a throwaway SQLite ledger
(`rows.ClaimRows`: every segment read, every claim serialised) and parse each back when its 835
claim came. `ClaimIndex` finds the same claims with compiled regular expressions over the raw
bytes: the envelope segments, the HL and CLM segments and nothing else, so what it keeps is byte
offsets (the claim and its header, 2000A, 2000B and 2000C around it) in flat integer arrays. A
claim asked for is read back from the file (`os.pread`) as the ledger's storage text and parsed
by the same `OriginalClaim.from_x12` the ledger uses: the claims, their order and their
duplicates are the ledger's (`Ledger.claims_for`, sql.CLAIMS_FOR / CLAIMS_FOLDED, UPSERT_CLAIM).

It takes only files it can read exactly as the plain reader does: ASCII, the standard delimiters
(`*`, `:`, `^`, `~`) with `~` or `~<LF>` between segments, one fixed-width ISA per interchange,
every envelope count and control number right, every segment inside its envelope, and the HL
tree in the usual shape (HL01 counting 1, 2, 3..., levels 20/22/23 under their parents, every CLM
under a subscriber). For anything else `ClaimIndex.build` answers None and the caller reads the
claims the plain way (`rows.ClaimRows` into a ledger), so findings, refusals and their wording
stay the plain reader's. tests/cobpipe/test_convert_fast.py holds both paths to the same bytes.
"""
from __future__ import annotations

import json
import os
import re
from array import array
from operator import itemgetter
from collections.abc import Iterable
from pathlib import Path

from edi.errors import EdiSyntaxError
from edi.reader import ISA_WIDTHS, LOOP_LIMIT, parse_isa_delimiters
from edi.segment import STANDARD, _make_segment

from .claim import Envelope, OriginalClaim
from .loops import HL_LEVELS, Loop
from .parser import is_837p_version

CHUNK_BYTES = 1 << 20
"""Bytes scanned at a time (cut after a segment terminator): memory stays flat whatever the size."""
MAX_GAP_BYTES = 3 * LOOP_LIMIT
"""A reader refuses more than LOOP_LIMIT segments without an HL or CLM; a segment is at least 3 bytes
(`XY~`), so two HL/CLM segments closer than this cannot have that many between them. Farther
apart: the plain reader decides."""

# how a segment may start (its first 4 bytes, after the line feed in a file with one segment a line):
# a 2-3 character id, then an element separator or nothing (the reader refuses other ids as junk)
_START = re.compile(rb"[A-Z0-9]{2,3}(?:\*.*)?", re.DOTALL)
_KEY_TAGS = (b"ISA", b"IEA", b"GS", b"GE", b"ST", b"SE", b"HL", b"CLM")
_KIND = {tag: kind for kind, tag in enumerate(_KEY_TAGS)}
# the envelope, HL and CLM segments: where a line starts (one segment a line), else after a terminator
_KEY_LINES = re.compile(rb"\n(ISA|IEA|GS|GE|ST|SE|HL|CLM)[*~]")
_KEY = re.compile(rb"~(ISA|IEA|GS|GE|ST|SE|HL|CLM)[*~]")
# what the reader strips before a terminator (layout, NUL / Ctrl-Z padding): a segment ending in one
# is not read as its bytes say
_STRIPPED = frozenset(b" \t\v\f\x00\x1a")
_TRAILING = b" \t\r\n\v\f\x00\x1a"
_ENVELOPE = {b"ISA", b"IEA", b"GS", b"GE", b"ST", b"SE"}
_ASCII_UPPER = bytes.maketrans(b"abcdefghijklmnopqrstuvwxyz", b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_LOOPS_KEPT = 256  # context loops kept parsed: claims mostly come in file order
_CONTEXT_FIELDS = 9  # transaction, then start and end of the header, 2000A, 2000B and 2000C (-1: none)


class NotIndexable(Exception):
    """The file needs the plain reader (a shape the index does not read, or bad input)."""


def sqlite_upper(text: str) -> str:
    """SQLite's UPPER(): ASCII letters only (the ledger's claim_id_folded)."""
    return text.encode("ascii").translate(_ASCII_UPPER).decode("ascii") if text.isascii() else text.upper()


class ClaimIndex:
    """Claims of 837P files by CLM01, as offsets; a `pipeline.ClaimSource`.

        index = ClaimIndex.build(paths, only)   # None: read these files the plain way
        index.claims_for("PCN1") -> [OriginalClaim, ...]
    """

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.stamps: list[tuple[int, int, int]] = []  # (inode, size, mtime) of each file as indexed
        self.envelopes: list[str] = []  # envelope JSON per transaction set, as the ledger stores it
        self.contexts = array("q")  # _CONTEXT_FIELDS per context (one per HL path that has claims)
        self.claims = array("q")  # per claim: file, context, start, end
        self.by_id: dict[str, int | list[int]] = {}  # CLM01 -> claim number(s), in file order
        # SQLite UPPER(CLM01) -> claim number(s), for the CLM01s not already in upper case
        self.by_folded: dict[str, int | list[int]] = {}
        self._fds: dict[int, int] = {}
        self._loops: dict[tuple, tuple] = {}  # parsed context loops (bounded)
        self._envelope_objects: dict[int, Envelope] = {}
        self._placer = None
        self._placements: dict[tuple, tuple[int, str | None]] = {}

    # --- building ---------------------------------------------------------------------------

    @classmethod
    def build(cls, paths: Iterable[Path], only: frozenset[str] | None = None) -> "ClaimIndex | None":
        index = cls()
        try:
            for path in paths:
                index._add_file(Path(path), only)
        except (NotIndexable, OSError, ValueError):
            return None
        return index

    def _add_file(self, path: Path, only: frozenset[str] | None) -> None:
        file_no = len(self.paths)
        self.paths.append(str(path))
        scanner = _Scanner(self, file_no, str(path), only)
        with open(path, "rb") as stream:
            self.stamps.append(_stamp(os.fstat(stream.fileno())))
            carry = b""
            offset = 0  # file offset of carry[0]
            while True:
                data = stream.read(CHUNK_BYTES)
                block = carry + data if carry else data
                if not data:
                    if block.strip(_TRAILING):
                        raise NotIndexable("text after the last segment terminator")
                    break
                cut = block.rfind(b"~") + 1
                if cut == 0:
                    if len(block) > 1 << 20:
                        raise NotIndexable("no segment terminator")
                    carry = block
                    continue
                scanner.scan(block, cut, offset)
                carry = block[cut:]
                offset += cut
        scanner.finish()

    def _add_claim(self, claim_id: str, file_no: int, context: int, start: int, end: int) -> None:
        number = len(self.claims) // 4
        self.claims.extend((file_no, context, start, end))
        folded = sqlite_upper(claim_id)
        for table, key in ((self.by_id, claim_id), (self.by_folded, folded)):
            if table is self.by_folded and key == claim_id:
                continue  # already upper case: found through by_id (half the memory for the usual ids)
            known = table.get(key)
            if known is None:
                table[key] = number
            elif isinstance(known, list):
                known.append(number)
            else:
                table[key] = [known, number]

    # --- the claim source -------------------------------------------------------------------

    def claims_for(self, claim_id: str, *, folded: bool = False) -> list:
        """As `Ledger.claims_for` over a ledger these files were loaded into: the claims with this
        CLM01 (`folded`: equal ignoring ASCII case), one per (CLM01, submitter, payer) as the
        ledger's upsert keeps them, ordered as its query orders them."""
        if folded:
            key = sqlite_upper(claim_id)
            # the claims whose CLM01 is `key` itself, and those that only fold to it
            numbers = [n for found in (self.by_id.get(key), self.by_folded.get(key)) if found is not None
                       for n in (found if isinstance(found, list) else [found])]
            found = sorted(numbers) if len(numbers) > 1 else (numbers[0] if numbers else None)
        else:
            found = self.by_id.get(claim_id)
        if found is None:
            return []
        if not isinstance(found, list):
            return [self.claim(found)]
        from ..ledger.core import claim_key

        rows: dict[tuple, tuple[str, object]] = {}
        for number in found:
            text = self._storage(number)[0]
            claim = self.claim(number)
            key = claim_key(claim)
            kept = rows.get(key)
            if kept is None or kept[0] != text:  # ON CONFLICT ... DO UPDATE ... WHERE raw <> excluded.raw
                rows[key] = (text, claim)
        order = sorted(rows) if folded else sorted(rows, key=lambda key: key[1:])
        return [rows[key][1] for key in order]

    def claim(self, number: int):
        """Claim `number` as `OriginalClaim.from_x12` reads its storage text (segments numbered from 1
        in the storage layout), built piece by piece: the header, 2000A, 2000B and 2000C loops are
        parsed once and shared by the claims read under them (nothing edits an original claim's
        loops: the mapper copies the 2300 it changes, as it does for claims read from a file)."""
        file_no, context, start, end = self.claims[4 * number:4 * number + 4]
        c = self.contexts[_CONTEXT_FIELDS * context:_CONTEXT_FIELDS * (context + 1)]
        transaction = c[0]
        envelope = self._envelope(transaction)
        header, after = self._context(file_no, c[1], c[2], 1, envelope)
        billing, after = self._context(file_no, c[3], c[4], after, envelope)
        subscriber, after = self._context(file_no, c[5], c[6], after, envelope)
        patient = None
        if c[7] >= 0:
            patient, after = self._context(file_no, c[7], c[8], after, envelope)
        segments = self._segments(file_no, start, end, after)
        builder = self._builder(envelope)
        claim = builder.claim = Loop("2300", segments[:1])
        builder.stack = [claim]
        self._place(builder, segments, 1)
        builder.claim = None
        return OriginalClaim(envelope, header, billing, subscriber, patient, claim)

    def _place(self, builder, segments: list, first: int) -> None:
        """`builder.place(seg)` for segments[first:], each placement decided once per (open loops, tag,
        element 01): the loop table decides it from those alone (`_TransactionBuilder.place`)."""
        stack = builder.stack
        ids = tuple(loop.id for loop in stack)
        memo = self._placements
        for index in range(first, len(segments)):
            seg = segments[index]
            elements = seg.elements
            key = (ids, seg.tag, elements[0] if elements else "")
            action = memo.get(key)
            if action is None:
                action = memo[key] = _placement(builder.table.placement, ids, seg)
            depth, child_id = action
            if depth < 0:  # not expected in any open loop: the builder keeps it where it is (and says so)
                builder.place(seg)
                continue
            del stack[depth + 1:]
            if child_id is None:
                stack[depth].items.append(seg)
                ids = ids[:depth + 1]
            else:
                child = Loop(child_id, (seg,))
                stack[depth].items.append(child)
                stack.append(child)
                ids = ids[:depth + 1] + (child_id,)

    def _context(self, file_no: int, start: int, end: int, first: int, envelope: Envelope) -> tuple[Loop, int]:
        """The header or HL loop at file[start:end], its segments numbered from `first`; and the number
        after its last segment."""
        key = (file_no, start, end, first)
        cached = self._loops.get(key)
        if cached is not None:
            return cached
        segments = self._segments(file_no, start, end, first)
        builder = self._builder(envelope)
        if segments and segments[0].tag == "HL":  # as _TransactionBuilder.open_hl opens it
            loop = Loop(HL_LEVELS[segments[0].get(3)], segments[:1])
            builder.stack = [loop]
            self._place(builder, segments, 1)
        else:  # the header: BHT stays in it (before any HL), the rest is placed (1000A, 1000B)
            loop = builder.header
            for seg in segments:
                if seg.tag == "BHT":
                    loop.items.append(seg)
                else:
                    builder.place(seg)
        if len(self._loops) >= _LOOPS_KEPT:
            self._loops.clear()
        self._loops[key] = found = (loop, first + len(segments))
        return found

    def _builder(self, envelope: Envelope):
        """A transaction builder to place segments into loops with (its findings are dropped: the
        plain path's parse of the storage form drops them too)."""
        builder = self._placer
        if builder is None:
            from .parser import _TransactionBuilder

            builder = self._placer = _TransactionBuilder(envelope, "<stored claim>", [])
        builder.findings.clear()
        builder.claim = None
        builder.header = Loop("HEADER")
        builder.stack = [builder.header]
        return builder

    def _segments(self, file_no: int, start: int, end: int, first: int) -> list:
        """The segments at file[start:end] as `parser.split_segments` makes them from storage text."""
        raw = os.pread(self._fd(file_no), end - start, start)
        bodies = raw.replace(b"\n", b"").decode("ascii").split("~")
        bodies.pop()
        make = _make_segment
        return [make(parts[0], tuple(parts[1:]), number, number, STANDARD)
                for number, parts in enumerate([body.split("*") for body in bodies], first)]

    def _envelope(self, transaction: int) -> Envelope:
        """The envelope as the ledger gives it back (from its JSON)."""
        found = self._envelope_objects.get(transaction)
        if found is None:
            found = self._envelope_objects[transaction] = Envelope.from_dict(json.loads(self.envelopes[transaction]))
        return found

    def _storage(self, number: int) -> tuple[str, str]:
        """The claim's storage text (`OriginalClaim.to_x12`: header, 2000A, 2000B, [2000C], 2300, each
        segment on a line of its own) and its envelope JSON."""
        file_no, context, start, end = self.claims[4 * number:4 * number + 4]
        c = self.contexts[_CONTEXT_FIELDS * context:_CONTEXT_FIELDS * (context + 1)]
        fd = self._fd(file_no)
        spans = [(c[1], c[2]), (c[3], c[4]), (c[5], c[6])]
        if c[7] >= 0:
            spans.append((c[7], c[8]))
        spans.append((start, end))
        raw = b"".join(os.pread(fd, stop - begin, begin) for begin, stop in spans)
        # a line feed is only ever right after a terminator, and a span starts right after the
        # terminator before it: without the line feeds and one after each terminator, this is the
        # storage layout whatever the file's
        raw = raw.replace(b"\n", b"").replace(b"~", b"~\n")
        return raw.decode("ascii"), self.envelopes[c[0]]

    def _fd(self, file_no: int) -> int:
        fd = self._fds.get(file_no)
        if fd is None:
            path = self.paths[file_no]
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError as exc:
                raise EdiSyntaxError(f"cannot read it again: {exc.strerror or exc}", path=path) from exc
            if _stamp(os.fstat(fd)) != self.stamps[file_no]:
                os.close(fd)
                raise EdiSyntaxError("the file changed while it was being converted; convert it again", path=path)
            self._fds[file_no] = fd
        return fd

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    def __getstate__(self) -> dict:  # a batch worker gets the offsets, and opens the files itself
        state = {name: getattr(self, name) for name in ("paths", "stamps", "envelopes", "contexts", "claims", "by_id",
                                                        "by_folded")}
        return state

    def __setstate__(self, state: dict) -> None:
        self.__init__()
        for name, value in state.items():
            setattr(self, name, value)

    def __enter__(self) -> "ClaimIndex":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _Scanner:
    """One file's envelope and HL state across the chunks scanned."""

    def __init__(self, index: ClaimIndex, file_no: int, name: str, only: frozenset[str] | None) -> None:
        self.index = index
        self.file_no = file_no
        self.name = name
        self.only = only
        self.segments = 0  # segments before the current position (ISA = 1)
        self.started = False
        self.lines = False  # one segment a line (`~<LF>` between segments)
        # envelope
        self.isa: list[str] | None = None
        self.gs: list[str] | None = None
        self.st: list[str] | None = None
        self.closed = False
        self.groups = self.sets = 0
        self.st_number = 0  # segment number of the open ST
        self.last_number = 0  # number of the last key segment
        self.last_tag = b""
        self.last_at = 0  # file offset of the last key segment
        # HL tree of the open transaction set
        self.transaction = -1
        self.header: tuple[int, int] | None = None
        self.billing_by_id: dict[str, tuple[int, int]] = {}
        self.billing: tuple[int, int] | None = None
        self.subscriber: tuple[int, int] | None = None
        self.subscriber_id = ""
        self.patient: tuple[int, int] | None = None
        self.last_hl = 0
        self.context = -1  # the context of the claims read since the last HL
        self.open_span: list | None = None  # [kind, start, payload]: the HL loop or claim being read

    def scan(self, block: bytes, cut: int, offset: int) -> None:
        """The whole segments block[:cut], at file offset `offset` (cut is right after a terminator).

        Everything here runs at C speed over the block (splits, counts, literal searches); Python
        code runs once per distinct segment start and once per envelope, HL and CLM segment."""
        if not block.isascii():
            raise NotIndexable("not ASCII")
        if not self.started:
            if not block.startswith(b"ISA"):
                raise NotIndexable("does not start with ISA")
            self.started = True
            self.lines = block.find(b"~\n", 0, 200) == block.find(b"~", 0, 200)  # one segment a line
            lead = b"~\n" if self.lines else b"~"
        else:
            lead = b"~"
        # a virtual terminator before the first segment: every segment is `sep` + its bytes
        text = lead + block[:cut]
        shift = offset - len(lead)  # file offset of text[i] = shift + i
        feeds = text.count(b"\n")
        terminators = text.count(b"~")
        if self.lines:  # `~<LF>` between all segments, no other line feed
            if feeds != terminators - 1 or text.count(b"~\n") != feeds:
                raise NotIndexable("line feeds other than one after each terminator")
            sep, width = b"~\n", 5
        else:
            if feeds:
                raise NotIndexable("line feeds between some segments only")
            sep, width = b"~", 4
        if b"\r" in text:
            raise NotIndexable("carriage returns")
        pieces = text.split(b"~")
        pieces.pop()  # after the last terminator: nothing
        del pieces[0]  # before the virtual terminator: nothing
        skip = len(sep) - 1
        for start in set(map(itemgetter(slice(0, width)), pieces)):
            if _START.fullmatch(start, skip) is None:
                raise NotIndexable("a segment id the reader does not take")
        if not _STRIPPED.isdisjoint(map(itemgetter(-1), pieces)):
            raise NotIndexable("a segment ending in what the reader strips")
        del pieces
        found = [match.start() << 3 | _KIND[match.group(1)]
                 for match in (_KEY_LINES if self.lines else _KEY).finditer(text)]
        counted_to = 0
        number = self.segments  # segments before text[counted_to]
        last_at = self.last_at
        hl, clm, segment = self.hl, self.clm, self.segment
        seplen = len(sep)
        for code in found:
            at, kind = code >> 3, code & 7
            begin = at + 1
            end = text.index(b"~", begin)
            at = begin - seplen  # the terminator before the segment
            # a segment's span starts right after the terminator before it (with its line feed)
            here = shift + at + 1
            if here - last_at > MAX_GAP_BYTES:
                raise NotIndexable("a long stretch without HL or CLM")
            last_at = here
            if kind == 6:
                hl(text[begin:end].decode("ascii").split("*"), here)
            elif kind == 7:
                clm(text[begin:end].decode("ascii").split("*"), here)
            else:
                number += text.count(b"~", counted_to, at) + 1
                counted_to = at + 1
                segment(_KEY_TAGS[kind], text[begin:end].decode("ascii"), number, here, shift + end + 1)
        self.last_at = last_at
        self.segments = number + text.count(b"~", counted_to) - 1

    def segment(self, tag: bytes, text: str, number: int, at: int, after: int) -> None:
        """An envelope segment: its number in the file, where its span starts and where the next one can."""
        if self.closed and tag != b"ISA":
            raise NotIndexable("data after IEA")
        elements = text.split("*")
        if tag == b"ISA":
            self.open_isa(text, elements, number)
        else:
            self.envelope(tag, elements, number, at, after)
        self.last_number, self.last_tag = number, tag

    # --- envelope -----------------------------------------------------------------------------

    def _follows(self, number: int) -> bool:
        return number == self.last_number + 1

    def open_isa(self, text: str, elements: list[str], number: int) -> None:
        if self.isa is not None or (number != 1 and not (self.closed and self._follows(number))):
            raise NotIndexable("ISA out of place")
        if [len(e) for e in elements[1:]] != list(ISA_WIDTHS):
            raise NotIndexable("ISA not fixed width")
        parsed = parse_isa_delimiters(text + "~", final=True)
        if parsed is None:
            raise NotIndexable("ISA")
        delimiters, _, fixed = parsed
        if not fixed or (delimiters.element, delimiters.component, delimiters.repetition,
                         delimiters.segment) != ("*", ":", "^", "~"):
            raise NotIndexable("not the standard delimiters")
        self.isa, self.closed, self.groups = elements, False, 0

    def envelope(self, tag: bytes, elements: list[str], number: int, at: int, after: int) -> None:
        get = _getter(elements)
        if tag == b"GS":
            if self.isa is None or self.gs is not None or not self._follows(number) \
                    or self.last_tag not in (b"ISA", b"GE"):
                raise NotIndexable("GS out of place")
            self.gs, self.sets = elements, 0
        elif tag == b"ST":
            if self.gs is None or self.st is not None or not self._follows(number) \
                    or self.last_tag not in (b"GS", b"SE"):
                raise NotIndexable("ST out of place")
            versions = [v for v in (get(3), _getter(self.gs)(8)) if v]
            if get(1) != "837" or not versions or not all(is_837p_version(v) for v in versions):
                raise NotIndexable("not an 837P")  # the plain reader says which way
            self.st, self.st_number = elements, number
            self.open_transaction(after)
        elif tag == b"SE":
            if self.st is None or get(1) != str(number - self.st_number + 1) or get(2) != _getter(self.st)(2):
                raise NotIndexable("SE")
            self.close_span(at)
            if self.header is None:
                raise NotIndexable("a transaction set without HL")
            self.st = None
            self.sets += 1
        elif tag == b"GE":
            if self.gs is None or self.st is not None or not self._follows(number) or self.last_tag != b"SE" \
                    or get(1) != str(self.sets) or get(2) != _getter(self.gs)(6):
                raise NotIndexable("GE")
            self.gs = None
            self.groups += 1
        else:  # IEA
            if self.isa is None or self.gs is not None or not self._follows(number) or self.last_tag != b"GE" \
                    or get(1) != str(self.groups) or get(2) != _getter(self.isa)(13):
                raise NotIndexable("IEA")
            self.isa, self.closed = None, True

    def finish(self) -> None:
        if not self.closed or self.isa is not None:
            raise NotIndexable("truncated")

    # --- the HL tree --------------------------------------------------------------------------

    def open_transaction(self, at: int) -> None:
        isa, gs, st = (_segment("ISA", self.isa), _segment("GS", self.gs), _segment("ST", self.st))
        from ..ledger.core import _envelope_text

        self.index.envelopes.append(_envelope_text(Envelope.of(self.name, isa, gs, st)))
        self.transaction = len(self.index.envelopes) - 1
        self.header = None
        self.billing_by_id = {}
        self.billing = self.subscriber = self.patient = None
        self.subscriber_id = ""
        self.last_hl = 0
        self.context = -1
        self.open_span = ["HEADER", at, None]  # from the segment after ST

    def close_span(self, at: int) -> None:
        """The loop or claim read since the last HL/CLM ends where the segment at `at` starts."""
        span = self.open_span
        if span is None:
            return
        kind, start, payload = span
        self.open_span = None
        if kind == "HEADER":
            self.header = (start, at)
        elif kind == "20":
            self.billing = self.billing_by_id[payload] = (start, at)
        elif kind == "22":
            self.subscriber = (start, at)
        elif kind == "23":
            self.patient = (start, at)
        else:  # a claim
            if self.context < 0:
                c = (self.transaction, *self.header, *self.billing, *self.subscriber,
                     *(self.patient if self.patient is not None else (-1, -1)))
                self.index.contexts.extend(c)
                self.context = len(self.index.contexts) // _CONTEXT_FIELDS - 1
            self.index._add_claim(payload, self.file_no, self.context, start, at)

    def hl(self, elements: list[str], at: int) -> None:
        if self.st is None:
            raise NotIndexable("HL outside a transaction set")
        self.close_span(at)
        elements += ("", "", "")
        hl_id, parent, level = elements[1], elements[2], elements[3]
        if hl_id != str(self.last_hl + 1):
            raise NotIndexable("HL01 out of sequence")
        self.last_hl += 1
        self.context = -1
        if level == "20":
            self.subscriber = self.patient = None
            self.billing = None
            self.open_span = ["20", at, hl_id]
        elif level == "22":
            billing = self.billing_by_id.get(parent)
            if billing is None:
                raise NotIndexable("subscriber HL without its billing provider HL")
            self.billing = billing
            self.patient = None
            self.subscriber_id = hl_id
            self.open_span = ["22", at, None]
        elif level == "23":
            if self.subscriber is None or parent != self.subscriber_id or not parent:
                raise NotIndexable("patient HL not under the latest subscriber HL")
            self.open_span = ["23", at, None]
        else:
            raise NotIndexable("HL03 level code")

    def clm(self, elements: list[str], at: int) -> None:
        if self.st is None:
            raise NotIndexable("CLM outside a transaction set")
        if self.header is None:
            raise NotIndexable("CLM before any HL")
        self.close_span(at)
        if self.subscriber is None or self.billing is None:
            raise NotIndexable("CLM outside a subscriber HL")
        claim_id = elements[1] if len(elements) > 1 else ""
        only = self.only
        wanted = only is None or claim_id in only or claim_id.upper() in only
        self.open_span = ["CLM", at, claim_id] if wanted else None


def _placement(placement: dict, ids: tuple[str, ...], seg) -> tuple[int, str | None]:
    """Where `_TransactionBuilder.place` puts `seg` with loops `ids` open: (depth of the loop it joins,
    None) or (depth of the loop it opens a child in, the child's id); (-1, None) when no open loop
    takes it."""
    tag = seg.tag
    for depth in range(len(ids) - 1, -1, -1):
        rule = placement.get((ids[depth], tag))
        if rule is None:
            continue
        starts, member = rule
        if starts:
            qualifier = seg.get(1)
            for qualifiers, child_id in starts:
                if qualifiers is None or qualifier in qualifiers:
                    return depth, child_id
        if member:
            return depth, None
    return -1, None


def _stamp(stat: os.stat_result) -> tuple[int, int, int]:
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def _getter(elements: list[str]):
    def get(position: int) -> str:
        return elements[position] if position < len(elements) else ""
    return get


def _segment(tag: str, elements: list[str]):
    return _make_segment(tag, tuple(elements[1:]), 0, 0, STANDARD)
