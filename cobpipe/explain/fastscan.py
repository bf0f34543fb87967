"""The 835 read straight into what `explain` shows, for files that hold nothing unusual.

The plain reader (edi.reader + cobpipe.era) turns every segment into an object and checks every
envelope and element rule; it stays the reference. This scanner reads the same file as text
chunks split with str.split, and accepts only what it can prove reads the same way: one
interchange, one group, 835 transaction sets of 005010X221A1 with the common Table 1, claim and
line segments, every amount a plain number, every date a valid CCYYMMDD, every envelope count and
control number right. Whatever else it meets (a finding the plain reader would raise other than
the balancing rules S, C, T, CAS amount 0 and CLP05, an unknown segment, odd layout, non-ASCII
text) raises `Ineligible`, and the caller runs the plain path for the whole file.

    for event in scan(path):
        ("section", Header) | ("claim", Claim) | ("end", SectionEnd)

The text itself (chunks, layout, amounts, dates) is read by fasttext, each segment by fastseg.
Memory stays flat: one chunk of text and one claim at a time.
"""
from __future__ import annotations

from collections.abc import Iterator

from .fasttext import ZERO, Ineligible, _Cache, _decimals, delimiters, number, pad, pieces
# what the scan yields and the segment readers it calls (the names are this module's too)
from .fastseg import (ALLOWED, CAS, CLAIM_STATUS_CODES, DATES, GROUP_CODES, REF_6R, REMARKS, CasInfo,  # noqa: F401
                      Claim, Header, Line, Plb, Resume, SectionEnd, _cas, _claim_segment, _clp, _dtm, _header_segment,
                      _plb, _svc, cas_info)

VERSION = "005010X221A1"
LOOP_GUARD = 20_000  # segments in one claim or loop: beyond this the plain reader decides (LOOP_LIMIT)
# how many texts the scan's own caches of a line's CAS and AMT and a claim's NM1 keep before they are
# emptied (memory stays flat); they miss ~40-65% of the time, so they are filled inline, not by
# _Cache.put (a call each: ~1% of a pass)
LINE_CAS_KEPT, LINE_AMT_KEPT, NM1_KEPT = 8192, 4096, 4096
_HEADER_END = frozenset({"LX", "TS3", "TS2", "CLP", "PLB", "SE"})
_CLAIM_END = frozenset({"CLP", "LX", "TS3", "TS2", "PLB", "SE"})


def scan(path: str, *, end: int | None = None, resume: Resume | None = None) -> Iterator[tuple]:
    """("section", Header), ("claim", Claim), ("end", SectionEnd) for the whole file, in order;
    Ineligible (at any point) for anything the plain path would read otherwise or report.

    Two scans can share a file: scan(path, end=offset) reads up to a claim's CLP at `offset` and
    ends with ("partial", SectionEnd) for the transaction set it stops in; scan(path,
    resume=Resume(offset, ...)) starts with ("resume", Header) for that set (number and ST02
    only) and reads on to the end of the file."""
    sep, component, term = delimiters(path)
    cas_tag, dtm_tag, ref_tag, amt_tag, nm1_tag = (t + sep for t in ("CAS", "DTM", "REF", "AMT", "NM1"))
    ref_6r = "REF" + sep + "6R" + sep
    ref_6r_length = len(ref_6r)
    ref_6r_bare = ref_6r[:-1]
    decimals = _decimals
    dtm_cache, procedures = _Cache(8192), _Cache(8192)  # DTM text -> (qualifier, date JSON); SVC01 -> its check
    # a line's CAS text -> its CasInfo, shared by the lines with that text when no amount is 0 (~60% of a
    # file's line CAS repeat one of the last 8k): only ERA104 (an amount of 0) reads a CasInfo's segment number
    line_cas: dict[str, CasInfo] = {}
    line_amt: dict[str, str | None] = {}  # a line's AMT text -> its AMT02 when AMT01 is B6 (allowed), else None
    nm1_cache: dict[str, list[str]] = {}  # a claim's NM1 text -> NM101..NM109 (patients and providers come back)
    index = 0
    state = 0  # 0 envelope start, 1 between sets, 2 Table 1, 3 between claims, 4 in a claim, 5 after GE, 6 done
    isa = gs = None
    header: Header | None = None
    claim: Claim | None = None
    line: Line | None = None  # the line being read (a list: fastseg.Line), and its CAS list and dates
    line_cas_list: list[CasInfo] = []
    line_dates: dict[str, str | None] = {}
    number_ = sets = st_index = loop_start = 0
    plbs: list[Plb] = []
    paid_total = plb_total = ZERO
    party = None
    start = 0
    if resume is not None:
        start, index, number_, sets, st_index = resume.offset, resume.index - 1, resume.number, resume.number, \
            resume.st_index
        isa, gs = resume.isa, resume.gs
        header = Header()
        header.number, header.st02 = number_, resume.st02
        loop_start = resume.index
        state = 3
        yield "resume", header
    for found in pieces(path, term, start, end):
        for index, piece in enumerate(found, index + 1):  # index: the segment's number in the file
            if state == 4:  # in a claim: most segments
                head = piece[:4]
                if line is not None:
                    if head == cas_tag:
                        cas = line_cas.get(piece)
                        if cas is None:
                            cas = _line_cas(piece, sep, index)
                            if not cas.zero:  # (a CasInfo's segment number is read only for a 0 amount)
                                if len(line_cas) >= LINE_CAS_KEPT:
                                    line_cas.clear()
                                line_cas[piece] = cas
                        line_cas_list.append(cas)
                        continue
                    if head == dtm_tag:
                        q_value = dtm_cache.get(piece)
                        if q_value is None:
                            q_value = dtm_cache.put(piece, _dtm(piece.split(sep)))
                        if q_value[0] not in line_dates:  # (the first of each qualifier; no star-call of setdefault)
                            line_dates[q_value[0]] = q_value[1]
                        continue
                    if head == ref_tag:
                        if line[REF_6R] is None:
                            if piece.startswith(ref_6r):
                                value = piece[ref_6r_length:]
                                line[REF_6R] = value.split(sep, 1)[0] if sep in value else value
                            elif piece == ref_6r_bare:  # REF*6R without REF02: the first 6R reads as ""
                                line[REF_6R] = ""
                        continue
                    if head == amt_tag:
                        allowed = line_amt.get(piece, _UNREAD)
                        if allowed is _UNREAD:
                            if len(line_amt) >= LINE_AMT_KEPT:
                                line_amt.clear()
                            allowed = line_amt[piece] = _line_allowed(piece.split(sep))
                        if allowed is not None and line[ALLOWED] is None:
                            line[ALLOWED] = allowed
                        continue
                elif head == dtm_tag:  # a claim's DTM (before its first line)
                    q_value = dtm_cache.get(piece)
                    if q_value is None:
                        q_value = dtm_cache.put(piece, _dtm(piece.split(sep)))
                    claim.dates.setdefault(*q_value)
                    continue
                elif head == nm1_tag:  # a claim's party (its first NM1 of each NM101 kept, read only)
                    nm1 = nm1_cache.get(piece)
                    if nm1 is None:
                        if len(nm1_cache) >= NM1_KEPT:
                            nm1_cache.clear()
                        nm1 = nm1_cache[piece] = pad(piece.split(sep), 9)
                    claim.parties.setdefault(nm1[0], nm1)
                    continue
                els = piece.split(sep)
                tag = els[0]
                if line is not None:
                    if tag == "QTY":
                        if len(els) > 2 and els[2]:
                            number(els[2])
                        continue
                    if tag == "LQ":
                        if len(els) > 2 and els[2]:
                            if line[REMARKS] is None:
                                line[REMARKS] = []
                            line[REMARKS].append(els[2])
                        continue
                if tag == "SVC":
                    count = len(els)
                    if 4 <= count <= 6 and els[1] in procedures and els[2] and els[3] and (count < 5 or not els[4]):
                        charge = decimals.get(els[2])
                        if charge is None:
                            charge = number(els[2])
                        paid = decimals.get(els[3])
                        if paid is None:
                            paid = number(els[3])
                        units = els[5] if count == 6 else ""
                        if units and units not in decimals:
                            number(units)
                        line_dates, line_cas_list = {}, []  # (fastseg.new_line written out: no call)
                        line = [len(claim.lines) + 1, index, els[1], charge, paid, "", els[2], els[3], units, "",
                                line_dates, line_cas_list, None, None, None]
                    else:
                        line = _svc(els, component, procedures, len(claim.lines) + 1, index)
                        line_dates, line_cas_list = line[DATES], line[CAS]
                    claim.lines.append(line)
                    continue
                if tag not in _CLAIM_END:
                    if line is not None:
                        raise Ineligible("a claim segment after a service line")
                    _claim_segment(claim, els, index)
                    continue
                if index - loop_start > LOOP_GUARD:
                    raise Ineligible("a very long claim")
                paid_total += claim.paid
                yield "claim", claim
                claim = line = None
                state = 3
            else:
                els = piece.split(sep)
                tag = els[0]
            if state == 3:  # between claims (and the first segment after Table 1)
                if tag == "CLP":
                    loop_start = index
                    claim = _clp(els, index)
                    state = 4
                    continue
                if tag == "SE":
                    se = pad(els, 2)
                    if se[0] != str(index - st_index + 1) or se[1] != header.st02:
                        raise Ineligible("SE01 or SE02 wrong")
                    yield "end", SectionEnd(plbs, paid_total, plb_total)
                    state = 1
                    continue
                if tag == "LX" or tag == "TS3" or tag == "TS2":
                    loop_start = index
                elif tag == "PLB":
                    plb = _plb(els, component, index)
                    plbs.append(plb)
                    total = ZERO
                    for pair in plb.pairs:
                        total += pair[2]
                    plb_total += total
                else:
                    raise Ineligible("a segment not expected between claims")
                if index - loop_start > LOOP_GUARD:
                    raise Ineligible("a very long loop")
                continue
            if state == 2:  # Table 1
                if tag not in _HEADER_END:
                    party = _header_segment(header, els, index, party)
                    if index - st_index > LOOP_GUARD:
                        raise Ineligible("a very long Table 1")
                    continue
                if header.bpr is None or header.trn is None or header.payer is None or header.payee is None:
                    raise Ineligible("Table 1 incomplete")
                yield "section", header
                plbs = []
                paid_total = plb_total = ZERO
                loop_start = st_index
                state = 3
                # the segment that ended Table 1, read as between claims
                if tag == "CLP":
                    loop_start = index
                    claim = _clp(els, index)
                    state = 4
                elif tag == "SE":
                    se = pad(els, 2)
                    if se[0] != str(index - st_index + 1) or se[1] != header.st02:
                        raise Ineligible("SE01 or SE02 wrong")
                    yield "end", SectionEnd(plbs, paid_total, plb_total)
                    state = 1
                elif tag == "PLB":
                    plb = _plb(els, component, index)
                    plbs.append(plb)
                    total = ZERO
                    for pair in plb.pairs:
                        total += pair[2]
                    plb_total += total
                else:
                    loop_start = index  # LX, TS3, TS2
                continue
            if state == 1:  # between transaction sets
                if tag == "ST":
                    sets += 1
                    number_ += 1
                    st_index = index
                    st = pad(els, 3)
                    version = st[2] or gs[8]
                    if st[0] != "835" or version != VERSION:
                        raise Ineligible("a transaction set that is not a 005010X221A1 835")
                    header = Header()
                    header.number, header.st02, header.version = number_, st[1], version
                    party = None
                    state = 2
                    continue
                if tag == "GE":
                    ge = pad(els, 2)
                    if ge[0] != str(sets) or ge[1] != gs[6]:
                        raise Ineligible("GE wrong")
                    state = 5
                    continue
                raise Ineligible("a segment outside a transaction set")
            if state == 0:
                if index == 1:
                    if tag != "ISA" or len(els) != 17:
                        raise Ineligible("an ISA without 16 elements")
                    isa = els
                    continue
                if tag != "GS":
                    raise Ineligible("no GS after the ISA")
                gs = ["GS", *pad(els, 8)]
                state = 1
                continue
            if state == 5:
                iea = pad(els, 2)
                if tag != "IEA" or iea[0] != "1" or iea[1] != isa[13]:
                    raise Ineligible("IEA missing or wrong")
                state = 6
                continue
            raise Ineligible("segments after IEA")
    if end is not None:  # the next segment is the CLP the second part starts with
        if state == 4:
            paid_total += claim.paid
            yield "claim", claim
        elif state == 2:
            if header.bpr is None or header.trn is None or header.payer is None or header.payee is None:
                raise Ineligible("Table 1 incomplete")
            yield "section", header
        elif state != 3:
            raise Ineligible("the first part does not end inside a transaction set")
        yield "partial", SectionEnd(plbs, paid_total, plb_total)
        return
    if state != 6:
        raise Ineligible("the file ends inside the envelope")


def _line_cas(piece: str, sep: str, index: int) -> CasInfo:
    """A line's CAS segment (its text kept: ClaimWriter looks its JSON up by it)."""
    els = piece.split(sep)
    if len(els) == 4 and els[1] in GROUP_CODES and els[2] and els[3]:  # one triplet (the usual CAS)
        text = els[3]
        amount = number(text)
        total = ZERO + amount
        return cas_info(els[1], ((els[2], amount, text, "", 1),), total, total if els[1] == "PR" else None,
                        amount == 0, piece, index)
    cas = _cas(els, index)
    cas.text = piece
    return cas


_UNREAD = object()  # (a segment text not in a cache whose values may be None)


def _line_allowed(els: list[str]) -> str | None:
    """A line's AMT: its amount text when it is the allowed amount (AMT01 B6), else None; the amount checked."""
    text = els[2] if len(els) > 2 else ""
    if text:
        number(text)
    return text if els[1] == "B6" else None
