"""The 837P claims of a one-shot `convert` as text spans: no ledger, no segment objects until a claim is asked for.

`cobpipe convert` without `--db` used to store every remitted claim in a throwaway SQLite ledger
(`rows.ClaimRows`: every segment read, every claim serialised) and parse each back when its 835
claim came. `ClaimIndex` finds the same claims with compiled regular expressions over the raw
bytes: the envelope segments, the HL and CLM segments and nothing else, so what it keeps is byte
offsets (the claim and its header, 2000A, 2000B and 2000C around it) in flat integer arrays. A
claim asked for is read back from the file (`os.pread`, a window at a time: `ClaimIndex._read`) as
the ledger's storage text and parsed
by the same `OriginalClaim.from_x12` the ledger uses: the claims, their order and their
duplicates are the ledger's (`Ledger.claims_for`, sql.CLAIMS_FOR / CLAIMS_FOLDED, UPSERT_CLAIM).

It takes only files it can read exactly as the plain reader does: ASCII, the standard delimiters
(`*`, `:`, `^`, `~`) with `~` or `~<LF>` between segments, one fixed-width ISA per interchange,
every envelope count and control number right, every segment inside its envelope, and the HL
tree in the usual shape (HL01 counting 1, 2, 3..., levels 20/22/23 under their parents, every CLM
under a subscriber). For anything else `ClaimIndex.build` answers None and the caller reads the
claims the plain way (`rows.ClaimRows` into a ledger), so findings, refusals and their wording
stay the plain reader's. tests/cobpipe/test_convert_fast.py holds both paths to the same bytes.
The pass over the bytes is claim837.spans; this module keeps the offsets and builds the claims.
"""
from __future__ import annotations

import json
import os
import struct
from array import array
from collections.abc import Iterable
from pathlib import Path

from edi.errors import EdiSyntaxError
from edi.segment import STANDARD, Segment, _make_segment, _set_text, _Unfrozen

from .claim import Envelope, OriginalClaim, tidy_text
from .deferred import _Deferred2300, _DeferredHL, _new_loop, _set_id, _set_items
from .loops import HL_LEVELS, Loop, loop_table
from .spans import _CONTEXT_FIELDS, NotIndexable, read_spans

_LOOPS_KEPT = 256  # context loops kept parsed: claims mostly come in file order
# claims held in memory (~0.6 KB each with their CLM01s, ~125 MB for a 100k-claim run): past this,
# the claims go through a SQLite ledger as with --db, whose memory does not grow with the file
MAX_CLAIMS = 250_000
_WINDOW_BYTES = 16384  # read at once from a claims file (see ClaimIndex._read)
PLACEMENTS_KEPT = 4096  # placement decisions remembered (memory stays flat whatever the file's size)
_PACK_CLAIM = struct.Struct("4q").pack  # a claim's fields as the bytes of ClaimIndex.claims' items


def sqlite_upper(text: str) -> str:
    """SQLite's UPPER() (the ledger's claim_id_folded): of ASCII text, str.upper() changes exactly the
    letters a-z, as UPPER() does; other text (never in an indexed file) as str.upper() folds it."""
    return text.upper()


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
        self._window: tuple[int, int, int, bytes] | None = None  # file, start, end, file[start:end]
        self._loops: dict[tuple, tuple] = {}  # parsed context loops (bounded)
        self._shared: tuple | None = None  # the last claim's header and 2000A (ClaimIndex._shared_context)
        self._envelope_objects: dict[int, Envelope] = {}
        self._placer = None
        # placement states by open loop ids: tag, or (tag, element 01) where a loop on the way tells
        # children apart by it -> (depth, child, next state, loops kept open)
        self._placements: dict[tuple, dict] = {}
        self._placed = 0  # states and decisions remembered, at most PLACEMENTS_KEPT
        self._table = loop_table()

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
        contexts = len(self.contexts)
        self.stamps.append(_stamp(read_spans(self, path, only)))
        found = self.contexts[contexts:]
        # each context's header (start, end), once: the header's fields of every context, zipped at C speed
        headers = set(zip(found[1::_CONTEXT_FIELDS], found[2::_CONTEXT_FIELDS]))
        with open(path, "rb") as stream:  # (not through _read: the file is opened for claims, and checked, when asked)
            for start, end in sorted(headers):
                stream.seek(start)
                if not _in_storage_order(stream.read(end - start)):
                    raise NotIndexable("a BHT after another header segment")

    def _add_claim(self, claim_id: str, file_no: int, context: int, start: int, end: int) -> None:
        number = len(self.claims) // 4
        if number >= MAX_CLAIMS:  # the ledger keeps them on disk instead (flat memory, slower)
            raise NotIndexable("more claims than the index keeps in memory")
        self.claims.frombytes(_PACK_CLAIM(file_no, context, start, end))  # (see spans._PACK_CONTEXT)
        _file_under(self.by_id, claim_id, number)
        folded = sqlite_upper(claim_id)
        if folded != claim_id:  # else already upper case: found through by_id (half the memory for the usual ids)
            _file_under(self.by_folded, folded, number)

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
        loops: the mapper copies the 2300 it changes, as it does for claims read from a file). The
        2300 is read now and made when first used (`_Deferred2300`): its CLM at once; so are the
        2000B (`_DeferredHL`: whom the claim was billed to is read off its texts) and the 2000C.
        The header and 2000A are kept for the next claim (`_shared_context`), which mostly has them too."""
        file_no, context, start, end = self.claims[4 * number:4 * number + 4]
        c = self.contexts[_CONTEXT_FIELDS * context:_CONTEXT_FIELDS * (context + 1)]
        shared = self._shared  # the last claim's envelope, header and 2000A: the next claim's too, mostly
        if shared is None or shared[0] != c[3] or shared[1] != file_no:
            shared = self._shared = self._shared_context(file_no, c)
        _, _, envelope, header, billing, after, tidy = shared
        subscriber, after, tidy_subscriber = self._context(file_no, c[5], c[6], after, envelope, deferred=True)
        tidy = tidy and tidy_subscriber
        patient = None
        if c[7] >= 0:
            patient, after, tidy_patient = self._context(file_no, c[7], c[8], after, envelope, deferred=True)
            tidy = tidy and tidy_patient
        text = self._read(file_no, start, end).replace(b"\n", b"").decode("ascii")
        cut = text.find("~")
        if cut < 0:  # never from read_spans (a claim's span ends with its terminator): no segment
            return OriginalClaim(envelope, header, billing, subscriber, patient, Loop("2300"))
        clm = _make_one(text[:cut], after)
        claim = _new_loop(_Deferred2300)  # not Loop.__init__: its `items =` would place at once
        _set_id(claim, "2300")
        _set_items(claim, (self, envelope, clm, text[cut + 1:], after))
        found = OriginalClaim(envelope, header, billing, subscriber, patient, claim)
        # the 2300's text checked when indexed_tidy is first asked (`claim.tidy_text`)
        found._tidy = text if tidy else False
        return found

    def _shared_context(self, file_no: int, c: array) -> tuple:
        """The envelope, header and 2000A of context fields `c`, as `claim` keeps them for the next
        claim: (2000A start, file, envelope, header, 2000A, the number after its last segment, whether
        both are tidy). The 2000A's start names it, its transaction and so its header in the file."""
        envelope = self._envelope(c[0])
        header, after, tidy = self._context(file_no, c[1], c[2], 1, envelope)
        billing, after, tidy_billing = self._context(file_no, c[3], c[4], after, envelope)
        return c[3], file_no, envelope, header, billing, after, tidy and tidy_billing

    def _placed_2300(self, envelope: Envelope, clm, rest: str, first: int) -> list:
        """The items of a claim's 2300 loop: `clm` (segment `first`) and the segments of `rest`
        (storage text after it, numbered on from `first`) placed as `claim` placed them eagerly."""
        items = [clm]
        if rest:
            bodies = rest.split("~")
            bodies.pop()
            self._make_placed([items], ("2300",), bodies, first + 1)
        return items

    def _make_placed(self, lists: list, ids: tuple[str, ...], bodies: list[str], number: int) -> None:
        """`_TransactionBuilder.place` for the segments of `bodies` (texts without terminators, made
        as `_make_all` makes them, numbered from `number`) with loops `ids` open, whose item lists
        are `lists` (outermost first; the list is changed). The loop table decides a placement from
        the open loops, the tag and, where a loop on the way tells children apart by it, element 01:
        each decision is made once and kept in a state per tuple of open loop ids (`_placements`),
        which also holds the state the decision leads to, so a segment costs its making, one dict
        look-up by tag and an append to the open loops' item lists. A decision that depends on element
        01 is kept under (tag, element 01): its tag alone finds nothing, and the pair is looked up;
        so what the tag finds is always a decision, taken without a test of what it is."""
        trans = self._placements.get(ids)
        if trans is None:
            trans = self._state(ids)
        new_loop = _new_loop
        unfrozen, segment, standard = _Unfrozen, Segment, STANDARD
        for body in bodies:
            elements = body.split("*")  # _make_all's segment
            tag = elements[0]
            del elements[0]
            seg = unfrozen()
            seg.tag = tag
            seg.elements = elements = tuple(elements)
            seg.index = number
            seg.line = number
            seg.delimiters = standard
            seg.text = body  # the writer writes it as is (Segment.text)
            seg.__class__ = segment
            number += 1
            action = trans.get(tag)
            if action is None:  # not decided yet, or decided by element 01 too: kept under (tag, element 01)
                action = trans.get((tag, elements[0] if elements else ""))
                if action is None:
                    action = self._decide(trans, seg)
            depth, child_id, trans, cut = action
            if cut:  # the loops inside the one it goes to are closed
                del lists[cut:]
            if child_id is None:  # depth -1: expected in no open loop, kept in the innermost (as the builder)
                lists[depth].append(seg)
            else:
                child = new_loop(Loop)  # Loop(child_id, (seg,)) without its __init__
                child.id = child_id
                child.items = items = [seg]
                lists[depth].append(child)
                lists.append(items)

    def _state(self, ids: tuple[str, ...]) -> dict:
        """The placement state for open loops `ids` (its own ids under the key None)."""
        self._remember()
        state = self._placements[ids] = {None: ids}
        return state

    def _decide(self, trans: dict, seg) -> tuple:
        """The placement of `seg` in state `trans` (depth, child loop id or None, the next state, how
        many open loops stay open when fewer than now, else 0),
        worked out by `_placement` and remembered in `trans`."""
        ids = trans[None]
        placement = self._table.placement
        tag = seg.tag
        depth, child_id = _placement(placement, ids, seg)
        if depth < 0:
            after = trans
        else:
            next_ids = ids[:depth + 1] if child_id is None else ids[:depth + 1] + (child_id,)
            after = self._placements.get(next_ids)
            if after is None:
                after = self._state(next_ids)
        action = (depth, child_id, after, depth + 1 if 0 <= depth < len(ids) - 1 else 0)
        self._remember()
        if any(rule is not None and any(qualifiers is not None for qualifiers, _ in rule[0])
               for rule in (placement.get((loop_id, tag)) for loop_id in ids)):
            elements = seg.elements  # a loop on the way tells children apart by element 01
            trans[(tag, elements[0] if elements else "")] = action
        else:
            trans[tag] = action
        return action

    def _remember(self) -> None:
        """Count one more remembered state or decision; past PLACEMENTS_KEPT start afresh (element 01
        is often unique, N301, so the states keyed by it would grow with the file). A state
        forgotten while in use still decides rightly: it holds only its own loops' decisions."""
        self._placed += 1
        if self._placed > PLACEMENTS_KEPT:
            self._placements.clear()
            self._placed = 1

    def _context(self, file_no: int, start: int, end: int, first: int, envelope: Envelope,
                 deferred: bool = False) -> tuple[Loop, int, bool]:
        """The header or HL loop at file[start:end], its segments numbered from `first`; the number
        after its last segment; whether its text is tidy (`claim.tidy_text`). `deferred`: an HL
        loop's segments made when first used (`_DeferredHL`)."""
        key = (file_no, start, end, first)
        cached = self._loops.get(key)
        if cached is not None:
            return cached
        bodies, tidy, text = self._bodies(file_no, start, end)
        if deferred and bodies and bodies[0].startswith("HL*"):
            loop = _DeferredHL.of(self, bodies, first, text)
        elif bodies and bodies[0].partition("*")[0] == "HL":
            hl = _make_one(bodies[0], first)  # the loop opened as _TransactionBuilder.open_hl opens it
            loop = _new_loop(Loop)  # Loop(HL_LEVELS[HL03], (hl,)) without its __init__
            loop.id = HL_LEVELS[hl.get(3)]
            loop.items = [hl]
            self._make_placed([loop.items], (loop.id,), bodies[1:], first + 1)
        else:  # the header: BHT stays in it (before any HL), the rest is placed (1000A, 1000B)
            segments = _make_all(bodies, first)
            builder = self._builder(envelope)
            loop = builder.header
            for seg in segments:
                if seg.tag == "BHT":
                    loop.items.append(seg)
                else:
                    builder.place(seg)
        if len(self._loops) >= _LOOPS_KEPT:
            self._loops.clear()
        self._loops[key] = found = (loop, first + len(bodies), tidy)
        return found

    def _placed_hl(self, loop_id: str, bodies: list[str], first: int) -> list:
        """The items of HL loop `loop_id`: its segment texts `bodies` (numbered from `first`) made
        and placed as `_context` places them eagerly."""
        items = [_make_one(bodies[0], first)]
        self._make_placed([items], (loop_id,), bodies[1:], first + 1)
        return items

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

    def _bodies(self, file_no: int, start: int, end: int) -> tuple[list[str], bool, str]:
        """The segment texts at file[start:end] (without terminators and line feeds), as
        `parser.split_segments` splits the storage text, and whether that text is tidy (`claim.tidy_text`)."""
        text = self._read(file_no, start, end).replace(b"\n", b"").decode("ascii")
        bodies = text.split("~")
        bodies.pop()
        return bodies, tidy_text(text), text

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
        spans = [(c[1], c[2]), (c[3], c[4]), (c[5], c[6])]
        if c[7] >= 0:
            spans.append((c[7], c[8]))
        spans.append((start, end))
        raw = b"".join(self._read(file_no, begin, stop) for begin, stop in spans)
        # a line feed is only ever right after a terminator, and a span starts right after the
        # terminator before it: without the line feeds and one after each terminator, this is the
        # storage layout whatever the file's
        raw = raw.replace(b"\n", b"").replace(b"~", b"~\n")
        return raw.decode("ascii"), self.envelopes[c[0]]

    def _read(self, file_no: int, start: int, end: int) -> bytes:
        """file[start:end] (`os.pread`), through a window read ahead: claims are mostly asked for in
        file order, each with its 2000B just before it, so one read of _WINDOW_BYTES serves a run of
        them instead of a system call for every span (~2 us each, two or three a claim); a span
        outside the window is read from its start with the next window after it."""
        window = self._window
        if window is not None and window[0] == file_no and window[1] <= start and end <= window[2]:
            base = window[1]
            return window[3][start - base:end - base]
        data = os.pread(self._fd(file_no), max(end - start, _WINDOW_BYTES), start)
        self._window = (file_no, start, start + len(data), data)
        return data[:end - start]

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
        self._window = None  # a file opened again is checked again (_fd), not read from memory
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


def _make_all(bodies: list[str], first: int) -> list:
    """`Segment`s of segment texts without their terminators, numbered from `first` (index and line,
    as `parser.split_segments` numbers the storage form): `_make_segment` inlined, ~30 segments a
    claim. Each keeps its text (`Segment.text`): a copied segment is written as it was read, not
    joined again (one store here, ~1.2k instructions fewer a segment written)."""
    segments = []
    append = segments.append
    number = first
    unfrozen, segment, standard = _Unfrozen, Segment, STANDARD
    for body in bodies:
        # one split and the tag taken off its list: ~300 instructions a segment fewer than a
        # partition and a split of the rest (one string less)
        elements = body.split("*")
        tag = elements[0]
        del elements[0]
        seg = unfrozen()  # the class called: ~250 instructions fewer than object.__new__(_Unfrozen)
        seg.tag = tag
        seg.elements = tuple(elements)
        seg.index = number
        seg.line = number
        seg.delimiters = standard
        seg.text = body
        seg.__class__ = segment
        append(seg)
        number += 1
    return segments


def _make_one(body: str, number: int):
    """`_make_all([body], number)[0]`, without the lists: the CLM and HL segments a claim's loops open
    with (once a claim: `_make_segment` itself, where `_make_all` inlines it for every segment)."""
    tag, star, rest = body.partition("*")
    made = _make_segment(tag, tuple(rest.split("*")) if star else (), number, number, STANDARD)
    _set_text(made, body)
    return made


def _in_storage_order(header: bytes) -> bool:
    """Whether a transaction header's segments (its bytes between ST and the first HL) are in the
    order the plain reader stores them: it puts a BHT first among the header's items however late
    it comes (`_TransactionBuilder.run`), so a BHT after another segment (NM1*41...) moves in the
    storage form, and its segment numbers with it. Such a file is read the plain way."""
    tags = [segment.partition(b"*")[0] for segment in header.replace(b"\n", b"").split(b"~")[:-1]]
    leading = 0  # the BHTs before any other segment stay where they are
    while leading < len(tags) and tags[leading] == b"BHT":
        leading += 1
    return b"BHT" not in tags[leading:]


def _file_under(table: dict[str, int | list[int]], key: str, number: int) -> None:
    """Claim `number` under `key` in ClaimIndex.by_id or by_folded: a number, or a list of several."""
    known = table.get(key)
    if known is None:
        table[key] = number
    elif isinstance(known, list):
        known.append(number)
    else:
        table[key] = [known, number]


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
