"""A clean 835 read straight into the mapper's RemitClaims: each claim's segment text, amounts parsed once.

The general path (era.clean segments -> era.parser's ClaimPayment -> from_era.remit_claim) makes an
object per segment, a model per claim and line, then the mapper's values from the model. For a
file era.clean vouched for (standard delimiters, every envelope count right, nothing the reader
would report), this reads the text in chunks cut before a CLP (so no claim straddles two chunks),
splits each claim's segments once, dispatches on the tag and makes the mapper's values (RemitClaim,
RemitLine, RemittedLine, Adjustment) directly; segments that repeat (CAS, DTM, AMT, SVC01) are
read once per distinct text (remits_text).

It vouches only for what it can prove reads the same: a claim with any segment, element or value
the parser would report, or that a balancing rule would (S, C, CAS amount 0, CLP05), is handed as
Segment objects to the parser's own claim reader and checks (`_slow`), so findings and their
wording never differ. Table 1 and whatever sits between claims go through the parser's functions
too (a few segments a transaction set). A fast claim's `payments` (the 835 model, read only for a
paper EOB or to combine a split claim) is made from its text by the parser when first read.
tests/cobpipe/cob/test_remits_fast.py holds this to the general reader.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from edi.errors import EdiSyntaxError
from edi.findings import Finding
from edi.reader import TransactionSet
from edi.segment import Delimiters, _make_segment

from ..era import balance
from ..era.claims import _CLAIM_END, _read_claim
from ..era.clean import CleanScan, reopen_unchanged
from ..era.context import _Context
from ..era.header import _HEADER_END, _read_header
from ..era.model import ONE, ZERO, Moa, Party, RemittanceTotals
from ..era.parser import _between_claims, check_claim_payment
from ..era.status import CLAIM_STATUS
from .from_era import _moa_segment, adjudication_date, remit_claim
from .remit import RemitClaim, RemitLine
from .remits_share import Share, _Ends, other_end, others_paid
from .remits_text import _amount, _amount_ok, _cas, _composite, _dtm, _procedure

# _claim makes a RemitClaim with its fields in this order
_REMIT_FIELDS = ("claim_id", "status_code", "charge", "paid", "patient_responsibility", "payer_claim_number",
                 "filing_indicator", "adjustments", "lines", "segment", "adjudication_date", "moa", "crossover_carrier",
                 "remarks", "corrected_priority_payer", "parts", "reversed", "findings", "payments", "member_ids",
                 "whole_cents")
if tuple(f.name for f in dataclasses.fields(RemitClaim)) != _REMIT_FIELDS:
    raise ImportError("cob.remit.RemitClaim's fields changed: update remits_fast._claim and _REMIT_FIELDS")


def _plain_maker(cls: type, names: tuple[str, ...], direct: dict | None = None):
    """A function taking every field of `cls` (a slotted dataclass, not frozen) positionally that makes
    what `cls(...)` makes: object.__new__ and one plain store a field, no __init__ (and no twin whose
    __class__ is then assigned, from_era._unfrozen_maker's way for frozen classes: ~600 instructions
    an object more). `direct` names a field stored through another function than its class attribute
    (the slot itself, under a Python descriptor)."""
    if cls.__dataclass_params__.frozen or cls.__dict__.get("__slots__") != names:
        raise TypeError(f"{cls.__name__}: a slotted dataclass, not frozen, its fields in slot order, is needed")
    direct = direct or {}
    namespace = {"new": object.__new__, "cls": cls, **{f"_set_{name}": store for name, store in direct.items()}}
    stores = "\n".join(f"    _set_{name}(obj, {name})" if name in direct else f"    obj.{name} = {name}"
                       for name in names)
    exec(f"def make({', '.join(names)}):\n    obj = new(cls)\n{stores}\n    return obj\n", namespace)  # noqa: S102
    return namespace["make"]  # (field names only)


# RemitClaim(...) without its __init__, which sets `payments` through remit._PaymentsSlot (a Python
# __set__): its slot is stored directly (tests/cobpipe/cob/test_remits_fast.py holds it to the class)
_remit_claim = _plain_maker(RemitClaim, _REMIT_FIELDS, {"payments": RemitClaim.payments.slot.__set__})
# RemitLine(...) positionally, without its __init__ (which copies a RemittedLine's fields)
_REMIT_LINE_FIELDS = ("ordinal", "segment", "ref_6r", "qualifier", "code", "modifiers", "original_code",
                      "original_modifiers", "charge", "units", "service_date", "paid", "paid_units", "procedure",
                      "adjustments", "adjudication_date")
if tuple(f.name for f in dataclasses.fields(RemitLine)) != _REMIT_LINE_FIELDS:
    raise ImportError("cob.remit.RemitLine's fields changed: update remits_fast._claim and _REMIT_LINE_FIELDS")
_remit_line = _plain_maker(RemitLine, _REMIT_LINE_FIELDS)
READ_BYTES = 1 << 15  # about 60 claims a chunk; larger lists of strings cost the cyclic GC more than they save
# the first 3 characters of the segments that end a claim (era.claims._CLAIM_END: CLP, LX, TS3, TS2, PLB, SE)
# the first 3 characters of a segment that ends a claim (a 2-character tag with its "*", or alone)
_END_HEADS = frozenset(head for tag in _CLAIM_END for head in ((tag,) if len(tag) == 3 else (tag + "*", tag)))
_NOT_OURS = None  # what the claim reader answers for a claim it leaves to the parser
BATCH = 64  # claims read in a row before the converter gets them (FastRemits.__iter__)


class FastRemits:
    """Iterate for (header, RemitClaim) as RemitStream's general path gives them; the claim-less
    findings of each transaction set are added to `findings` once its claims are read. `fast` and
    `slow` count the claims read each way."""

    def __init__(self, path, found: CleanScan, as_of, only: frozenset[str] | None, findings: list[Finding],
                 share: Share | None = None) -> None:
        self.path = path
        self.name = str(path)
        self.found = found
        self.as_of = as_of
        self.only = only
        self.findings = findings
        self.share = share
        self.fast = self.slow = 0
        self.skipped = 0  # other processes' claims skipped by searches of a chunk's text (remits_share.others_paid)
        self.terminators = 0

    def _chunks(self, counted: bool = True) -> Iterator[str]:
        """The file's text, whole claims a chunk, cut before a CLP; `terminators` counts its "~"s
        (_pairs, which numbers the segments, checks them against the scan's count at the end) when
        `counted`."""
        lines = self.found.lines
        mark = b"~\nCLP*" if lines else b"~CLP*"
        skip = len(mark) - 4
        self.terminators = 0
        with reopen_unchanged(self.path, self.name, self.found.stamp) as stream:
            carry = b""
            while True:
                data = stream.read(READ_BYTES)
                if data:
                    block = carry + data if carry else data
                    cut = block.rfind(mark, max(len(carry) - len(mark), 0))
                    if cut < 0:
                        carry = block
                        continue
                    cut += skip
                else:
                    block = carry
                    cut = block.rfind(b"~") + 1
                text = block[:cut].decode("ascii")
                carry = block[cut:]
                if lines and not data:  # the file's last terminator: as if a line feed followed it
                    text += "\n"
                if text:
                    yield text
                if counted:  # any the line feeds do not follow: a file changed since
                    self.terminators += text.count("~")
                if not data:
                    break

    def __iter__(self) -> Iterator[tuple[object, RemitClaim]]:
        """_pairs' claims handed on BATCH at a time, any error after the claims read before it.

        Read one at a time between the converter's other stages, a claim cost about 1.7x its CPU
        read alone (bench: the same read with 3,000 objects touched between claims, 0.29 -> 0.51 s
        at 10k, no collection in it): those stages evict the read's caches (its lru tables, the
        chunk, the interpreter's own). Reading a batch in a row gets part of it back (-> 0.43 s)."""
        batch: list = []
        pairs = self._pairs()
        while True:
            try:
                for pair in pairs:
                    batch.append(pair)
                    if len(batch) == BATCH:
                        break
                else:
                    yield from batch
                    return
            except Exception:
                yield from batch
                raise
            yield from batch
            batch = []

    def _pairs(self) -> Iterator[tuple[object, RemitClaim]]:
        path, only, as_of = self.name, self.only, self.as_of
        delimiters: Delimiters = self.found.delimiters
        lines = self.found.lines
        isa = gs = st = None
        table1: list | None = None  # Table 1's segments while it is read
        in_set = False
        ctx = header = totals = plbs = adjudicated = lx = None
        orphan = False
        source = (lines, delimiters, path)  # what a fast claim's payments are read with

        def segment(body: str, number: int):
            parts = body.split("*")
            return _make_segment(parts[0], tuple(parts[1:]), number, number if lines else 1, delimiters)

        share = self.share
        # a claim whose CLP is before `theirs_until` is another process's (then `mine_until` is the
        # end of the window after it); `stop`: the first segment after this process's last window
        keep = share.keep if share is not None else frozenset()
        theirs_until, mine_until = share.next_change(0) if share is not None else (0, None)
        stop = share.stop if share is not None else None
        # era.clean vouched for a line feed after every terminator but the file's last, none elsewhere
        separator = "~\n" if lines else "~"
        mark = separator + "CLP*"
        base = 0  # the segments before the text
        # the rest of a chunk, read after the claim before it (see below), and its other_end when known
        rests: list[tuple[str, int | None]] = []
        # the terminators are checked by the process that reads to the file's end, the last window's:
        # one that stops after its last window is not meant to (a share with `stop`), and counts none
        # (a count of all the 10k ERA's text: ~25M instructions in one of two converting processes)
        counted = stop is None
        for text, ends_at in _then(self._chunks(counted), rests):
            if base < theirs_until - 1 and in_set and table1 is None:
                # the chunk starts with another process's claims: their CLP04s found by searches of
                # the text up to the first one it cannot skip so (if any: read below, segment by segment)
                until = theirs_until if stop is None else min(theirs_until, stop)
                if ends_at is None and text.startswith("CLP*"):  # (others_paid reads no other chunk)
                    ends_at = other_end(text, separator)
                paid, resume, skipped = others_paid(text, separator, keep, base + 1, until, ends_at)
                if paid:
                    for amount in paid:  # one at a time, in file order, as the read below adds them
                        totals.paid_total += amount
                    orphan = False
                    self.skipped += len(paid)
                    base += skipped
                    if resume == len(text):
                        continue
                    text = text[resume:]
                    ends_at -= resume
                if base + 1 < until and text.startswith("CLP*"):
                    # another window's claim the searches do not skip (a repeated CLP01, an odd CLP04):
                    # read alone below, and the rest of the chunk searched again after it
                    after = text.find(mark, 4)
                    if after >= 0:
                        cut = after + len(separator)
                        # the rest's first other end is the chunk's, unless that was in the claim cut off
                        rests.append((text[cut:], ends_at - cut if ends_at >= cut else None))
                        text = text[:after + len(separator)]
            bodies = text.split(separator)
            bodies.pop()
            count = len(bodies)
            ends = None  # the chunk's _Ends, found when another process's claim is first skipped in it
            i = 0
            while i < count:
                body = bodies[i]
                tag = body.partition("*")[0]
                number = base + i + 1
                if table1 is not None:
                    if tag not in _HEADER_END:
                        table1.append(segment(body, number))
                        i += 1
                        continue
                    ctx = _Context(path)
                    header, _ = _read_header(iter(table1), ctx, TransactionSet(st, isa, gs, iter(())))
                    table1, in_set, orphan, lx = None, True, False, None
                    totals, plbs = RemittanceTotals(), []
                    adjudicated = adjudication_date(header, as_of)
                if in_set:
                    if tag == "CLP":
                        theirs = False  # another process's claim: read for the set's totals only
                        if mine_until is not None and number >= mine_until:
                            theirs_until, mine_until = share.next_change(number)
                        if number < theirs_until:
                            if stop is not None and number >= stop:
                                return  # the rest is later windows' (whose process reads the totals)
                            clp = body.split("*")
                            # a repeated CLP01's parts are read and kept in every window
                            theirs = (clp[1].strip() if len(clp) > 1 else "") not in keep
                            paid = _amount(clp[4]) if theirs and len(clp) > 4 else None
                            if paid is not None:  # what the read below would add (else it finds why not)
                                totals.paid_total += paid
                                orphan = False
                                if ends is None:
                                    ends = _Ends(text, count)
                                i = ends.after(i)
                                continue
                        try:
                            end, remit = _claim(bodies, i, count, number, adjudicated, source, lx)
                        except (IndexError, ValueError, ArithmeticError):  # a value no rule below foresaw
                            end, remit = _end(bodies, i + 1, count), _NOT_OURS
                        if remit is _NOT_OURS:
                            remit = self._slow([segment(bodies[k], base + k + 1) for k in range(i, end)],
                                               ctx, lx, header, totals)
                        else:
                            self.fast += 1
                            totals.paid_total += remit.paid
                        orphan = False
                        i = end
                        if (only is None or remit.claim_id in only) and not theirs:
                            yield header, remit
                        continue
                    seg = segment(body, number)
                    if tag == "LX":
                        lx = seg.get(1)
                    orphan = _between_claims(seg, ctx, plbs, totals, orphan)
                    if tag == "SE":
                        for finding in balance.transaction_balance(header.payment, totals, path=path):
                            ctx.attach(finding)
                        self.findings += [f for f in ctx.findings if f.location.claim is None]
                        in_set = False
                elif tag == "ST":
                    st = segment(body, number)
                    table1 = [st]
                elif tag == "ISA":
                    isa, gs = segment(body, number), None
                elif tag == "GS":
                    gs = segment(body, number)
                elif tag == "GE":
                    gs = None
                elif tag == "IEA":
                    isa = gs = None
                i += 1
            base += count
        if base != self.found.segments or (counted and self.terminators != base):
            raise EdiSyntaxError("the file changed while it was being converted; convert it again", path=self.name)

    def _slow(self, segments: list, ctx: _Context, lx, header, totals: RemittanceTotals) -> RemitClaim:
        """A claim the fast read does not vouch for, read as era.parser reads it."""
        self.slow += 1
        payment, _ = _read_claim(segments[0], iter(segments[1:]), ctx, lx)
        check_claim_payment(payment, ctx, self.name)
        if payment.paid is not None:
            totals.paid_total += payment.paid
        return remit_claim(payment, header, self.as_of)


def _claim_payments(bodies: list[str], number: int, source: tuple, lx) -> list:
    """The 835 model of a claim the fast read took (a paper EOB's source), made from the claim's
    segment texts as the parser reads them when its RemitClaim's `payments` is first read (the claim
    gives it deferred, as (this function, its arguments): remit._PaymentsSlot): the claim had no
    finding, so a context of its own gives the same ClaimPayment. `bodies`: the claim's segment
    texts; `number`: its CLP's segment number; `source`: (lines, delimiters, path); `lx`: LX01."""
    lines, delimiters, path = source
    segments = []
    for body in bodies:
        parts = body.split("*")
        segments.append(_make_segment(parts[0], tuple(parts[1:]), number, number if lines else 1, delimiters))
        number += 1
    payment, _ = _read_claim(segments[0], iter(segments[1:]), _Context(path), lx)
    return [payment]


def _then(chunks: Iterator[str], rests: list[tuple[str, int | None]]) -> Iterator[tuple[str, int | None]]:
    """Each chunk (with None), then what its reader put in `rests` while reading it (and so on), in order."""
    for chunk in chunks:
        yield chunk, None
        while rests:
            yield rests.pop()


def _whole_cents_text(text: str) -> bool | None:
    """True when a Decimal's text shows an exponent of -2 or more (a digit or two after the point, or
    none, and no exponent written), else None: its text costs ~1/5 of as_tuple's named tuple."""
    return True if "E" not in text and ("." not in text or "." in text[-3:]) else None


def _end(bodies: list[str], j: int, count: int) -> int:
    while j < count and bodies[j][:3] not in _END_HEADS:
        j += 1
    return j


def _claim(bodies: list[str], start: int, count: int, number: int, adjudicated, source: tuple, lx):
    """(index after the claim, RemitClaim) for the claim whose CLP is bodies[start]; the RemitClaim is
    _NOT_OURS when the parser would report anything about it. One function, locals only: it runs
    for every claim, and each rule below mirrors one of era.claims / era.balance (see there).
    The usual segments (CAS, DTM, SVC, AMT/QTY, NM1, REF) are told apart by their first character, which
    makes no object (a shared one-character string; a 3-character slice cost ~600 instructions), and
    their tag is checked where they are read (_cas, _dtm, _amount_ok answer None/False for another
    tag; a REF*6R by one 7-character slice), and tested in the order of how often they come (CAS,
    DTM, REF, SVC, AMT, NM1 at 10k: 57k, 46k, 36k, 36k, 33k, 16k; each test a segment fails costs
    ~80 instructions); the rest by their first 3 characters (a tag is 2 or 3 long: "LX*", "CAS")."""
    clp = bodies[start].split("*")
    size = len(clp)
    if size < 5:
        return _end(bodies, start + 1, count), _NOT_OURS
    claim_id, status = clp[1], clp[2]
    charge, paid = _amount(clp[3]), _amount(clp[4])
    if not claim_id or not status or status not in CLAIM_STATUS or charge is None or paid is None:
        return _end(bodies, start + 1, count), _NOT_OURS
    patient = None
    filing = payer_number = ""
    if size > 5:
        if clp[5]:
            patient = _amount(clp[5])
            if patient is None:
                return _end(bodies, start + 1, count), _NOT_OURS
        if size > 6:
            filing = clp[6]
            if size > 7:
                payer_number = clp[7]
            if size > 12 and ((clp[12] and _amount(clp[12]) is None)
                              or (size > 13 and clp[13] and _amount(clp[13]) is None)):
                return _end(bodies, start + 1, count), _NOT_OURS

    adjustments: list = []  # claim-level (2100) CAS
    remit_lines: list = []  # each made when the next SVC or the claim's end closes it
    remarks: set[str] = set()
    moa = moa_remarks = mia_remarks = None
    carrier = None
    # the parser keeps the first NM1 of each NM101; of those read here, whether QC's, IL's and TT's were
    # seen (flags: a set made for every claim cost ~1k instructions; PR's NM1 only sets a flag)
    seen_qc = seen_il = seen_tt = False
    member_ids: list[str] = []
    corrected = False
    first_day = last_day = None
    paid_total = None  # the lines' SVC03s (for whole_cents, below)
    has_last = has_first = False
    # every CAS total (a line's added when it closes); every PR amount; each sum None until its first
    # term, which it then is (a sum started at ZERO cost an addition more: only their values are compared)
    cas_total = pr_total = None
    in_line = False
    # the line being read
    l_number = l_parts = l_charge = l_paid = l_units = l_billed_units = l_ref = l_472 = l_150 = None
    l_has472 = l_has150 = l_has151 = False
    l_code = l_mods = l_ocode = l_omods = l_adjustments = None
    l_cas = None
    dtm_text = dtm = ""  # the last DTM read, and what _dtm read of it
    j = start
    for j in range(start + 1, count):
        body = bodies[j]
        first = body[0]  # (see above: the tag is checked where the segment is read)
        if first == "C" and body[1] == "A":  # CAS
            cas = _cas(body)
            if cas is None:
                return _end(bodies, j, count), _NOT_OURS
            group, made, total = cas
            if in_line:
                l_adjustments += made
                l_cas = total if l_cas is None else l_cas + total
            else:
                adjustments += made
                cas_total = total if cas_total is None else cas_total + total
            if group == "PR":
                pr_total = total if pr_total is None else pr_total + total
        elif first == "D":  # DTM
            if body != dtm_text:  # a claim's lines mostly repeat one date: not looked up again (-17M at 10k)
                dtm = _dtm(body)
                if dtm is None:
                    return _end(bodies, j, count), _NOT_OURS
                dtm_text = body
            qualifier, day = dtm
            if in_line:  # the first of each of 472, 150, 151 (a dict per line cost more)
                if qualifier == "472":
                    if not l_has472:
                        l_472, l_has472 = day, True
                elif qualifier == "150":
                    if not l_has150:
                        l_150, l_has150 = day, True
                elif qualifier == "151":
                    l_has151 = True
            elif qualifier == "232" and not has_first:
                first_day, has_first = day, True
            elif qualifier == "233" and not has_last:
                last_day, has_last = day, True
        elif first == "R":  # REF: a line's REF*6R is read, any other REF passed over
            if body[:7] == "REF*6R*":  # (the tag and qualifier in one slice)
                if in_line and l_ref is None:
                    ref = body[7:]
                    l_ref = ref.partition("*")[0] if "*" in ref else ref
            elif body[:3] != "REF":  # ERA008
                return _end(bodies, j, count), _NOT_OURS
            elif in_line and l_ref is None and body == "REF*6R":
                l_ref = ""
        elif first == "S" and body[1] == "V":  # SVC
            parts = body.split("*")
            if parts[0] != "SVC":  # ERA008
                return _end(bodies, j, count), _NOT_OURS
            if in_line:
                if (l_charge if l_cas is None else l_charge - l_cas) != l_paid:  # S
                    return _end(bodies, j, count), _NOT_OURS
                if l_cas is not None:
                    cas_total = l_cas if cas_total is None else cas_total + l_cas
                remit_lines.append(_remit_line(  # RemitLine's fields in order
                    len(remit_lines) + 1, l_number, l_ref or "", l_parts[0], l_code, l_mods, l_ocode, l_omods,
                    l_charge, l_billed_units,
                    ((l_472 if l_has472 else None) or (l_150 if l_has150 else None))
                    if l_has472 or l_has150 or l_has151 else claim_day,
                    l_paid, l_units, l_parts, l_adjustments, None))
                paid_total = l_paid if paid_total is None else paid_total + l_paid
            else:
                # a line's claim dates (ServiceLine.service_date): the statement period, when one
                # day; the 2100 DTMs come before the first line
                claim_day = first_day if (not has_last or last_day is None or last_day == first_day) else None
            size = len(parts)
            if size < 4 or size > 8 or not parts[1]:
                return _end(bodies, j + 1, count), _NOT_OURS
            procedure = _procedure(parts[1])
            l_charge, l_paid = _amount(parts[2]), _amount(parts[3])
            if procedure is None or l_charge is None or l_paid is None:
                return _end(bodies, j + 1, count), _NOT_OURS
            l_parts, l_code, l_mods = procedure
            l_units = l_original_units = None
            l_ocode, l_omods = "", ()
            if size > 4:
                if parts[4] and not parts[4].isdigit():  # ERA007: SVC04 is not a revenue code
                    return _end(bodies, j + 1, count), _NOT_OURS
                if size > 5 and parts[5]:
                    # one unit, nearly every line: Decimal(1) is what _amount("1") reads (~700 instructions)
                    l_units = ONE if parts[5] == "1" else _amount(parts[5])
                    if l_units is None:
                        return _end(bodies, j + 1, count), _NOT_OURS
                if size > 6 and parts[6]:
                    original = _composite(parts[6])
                    if original is None:
                        return _end(bodies, j + 1, count), _NOT_OURS
                    if len(original) > 1 and original[1]:
                        l_ocode = original[1]
                        l_omods = tuple(m for m in original[2:6] if m)
                    elif original[0]:  # a qualifier without a code (ERA007)
                        return _end(bodies, j + 1, count), _NOT_OURS
                if size > 7 and parts[7]:
                    l_original_units = _amount(parts[7])
                    if l_original_units is None:
                        return _end(bodies, j + 1, count), _NOT_OURS
            l_billed_units = l_original_units if l_original_units is not None else (
                l_units if l_units is not None else ONE)
            l_number = number + j - start
            l_ref = None
            l_has472 = l_has150 = l_has151 = False
            l_adjustments, l_cas = [], None
            in_line = True
        elif first == "A" or first == "Q":  # AMT, QTY
            if not _amount_ok(body):  # ERA003 (or another tag: ERA008)
                return _end(bodies, j, count), _NOT_OURS
        elif first == "N":  # NM1
            parts = body.split("*")
            if in_line or parts[0] != "NM1":  # ERA008 (an NM1 in a line: read as claim-level)
                return _end(bodies, j, count), _NOT_OURS
            size = len(parts)
            entity = parts[1] if size > 1 else ""
            if entity == "QC":
                if not seen_qc and size > 9 and parts[9]:
                    member_ids.append(parts[9])
                seen_qc = True
            elif entity == "IL":
                if not seen_il and size > 9 and parts[9]:
                    member_ids.append(parts[9])
                seen_il = True
            elif entity == "TT":
                if not seen_tt:
                    fields = parts[1:10] + [""] * (10 - size)
                    party = Party(fields[0], fields[1], fields[2], fields[3], fields[4], fields[6], fields[7],
                                  fields[8])
                    carrier = f"{party.name} ({party.id})" if party.id else party.name
                seen_tt = True
            elif entity == "PR":
                corrected = True
        elif (head := body[:3]) in _END_HEADS:
            break
        elif head == "LQ*" or head == "LQ":
            if not in_line:  # ERA008
                return _end(bodies, j, count), _NOT_OURS
            parts = body.split("*")
            if len(parts) > 2 and parts[2]:
                remarks.add(parts[2])
        elif head == "MOA" or head == "MIA":
            if in_line:
                return _end(bodies, j, count), _NOT_OURS
            parts = body.split("*")
            fields = parts[1:24] + [""] * (24 - len(parts))
            values = []
            for k in ((0, 1, 7, 8) if head == "MOA" else (0, 1, 2, 3)):
                value = _amount(fields[k]) if fields[k] else None
                if value is None and fields[k]:  # ERA003
                    return _end(bodies, j, count), _NOT_OURS
                values.append(value)
            if head == "MOA":  # the last MOA is the claim's
                moa_remarks = tuple(c for c in fields[2:7] if c)
                moa = _moa_segment(Moa(values[0], values[1], moa_remarks, values[2], values[3]))
            else:
                mia_remarks = tuple(c for c in (fields[4], *fields[19:23]) if c)
        elif head == "PER":
            if in_line:
                return _end(bodies, j, count), _NOT_OURS
        else:  # ERA008
            return _end(bodies, j, count), _NOT_OURS
    else:  # the chunk ends with the claim (the next one starts with a CLP)
        j = count
    if in_line:  # the last line, as closed at an SVC above
        if (l_charge if l_cas is None else l_charge - l_cas) != l_paid:  # S
            return j, _NOT_OURS
        if l_cas is not None:
            cas_total = l_cas if cas_total is None else cas_total + l_cas
        remit_lines.append(_remit_line(  # RemitLine's fields in order
            len(remit_lines) + 1, l_number, l_ref or "", l_parts[0], l_code, l_mods, l_ocode, l_omods,
            l_charge, l_billed_units,
            ((l_472 if l_has472 else None) or (l_150 if l_has150 else None))
            if l_has472 or l_has150 or l_has151 else claim_day,
            l_paid, l_units, l_parts, l_adjustments, None))
        paid_total = l_paid if paid_total is None else paid_total + l_paid
    if (charge if cas_total is None else charge - cas_total) != paid:  # C
        return j, _NOT_OURS
    if status != balance.REVERSAL and (patient or ZERO) != (pr_total or ZERO):  # CLP05
        return j, _NOT_OURS
    if moa_remarks:
        remarks.update(moa_remarks)
    if mia_remarks:
        remarks.update(mia_remarks)
    # whole cents as adjudication._whole_cents tells them, here for ~1/10 of its cost: an exact sum's
    # exponent is its terms' smallest (the amounts read here are exact, their sums within 28 digits)
    cents = paid if patient is None else paid + patient
    if cas_total is not None:
        cents += cas_total
    if paid_total is not None:
        cents += paid_total
    return j, _remit_claim(  # RemitClaim's fields in order (_REMIT_FIELDS)
        claim_id.strip(), status, charge, paid, patient or ZERO, payer_number, filing, adjustments, remit_lines,
        number, adjudicated, moa, carrier, remarks, corrected, 1, False, [],
        (_claim_payments, bodies[start:j], number, source, lx), frozenset(member_ids),
        _whole_cents_text(str(cents)))
