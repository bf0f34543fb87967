"""Before the fast `explain --format json` reads a file (fastjson.write_json): the CLP01s each
transaction set holds more than once (split claims and reversals get a note on every part), and
where a second process can start. It runs before the two processes start, so it is kept cheap.

    repeats, split = prescan(path, codebook, split_at)
"""
from __future__ import annotations

import re
from collections import Counter
from operator import itemgetter

from cobpipe.codes import CodeBook

from . import fasttext
from .fastclaim import _bound
from .fastscan import Resume
from .fasttext import Ineligible, delimiters, envelope_head, text_start


def prescan(path: str, codebook: CodeBook, split_at: int | None = None) -> tuple[list[dict], Resume | None]:
    """For each transaction set, CLP01 -> (times, one of them is a reversal) for the CLP01s seen
    more than once (stream._repeat_notes); and, when `split_at` is given, where a second process
    can start: the first CLP at or after byte `split_at` (None when there is none). write_json
    checks what the scans read against this, so a layout the scans refuse is never used.

    It runs before the two processes start, so it is kept cheap: it reads the bytes (the scans
    refuse what is not ASCII), an expression that starts with the literal "CLP" (the engine skips
    to it, ~3x faster than one starting at every terminator), looking behind for a terminator, LF
    or CR (a line break not after a terminator is refused by the scans), finds every claim of a
    stretch without an ST at once, and Counter counts their CLP01s in C; only the STs (a few per
    file) and the split are looked at one by one, and terminators are counted up to the split."""
    sep, _component, term_text = delimiters(path)
    s, t = re.escape(sep.encode("ascii")), re.escape(term_text.encode("ascii"))
    term = term_text.encode("ascii")
    element = b"[^" + s + t + b"]*"
    clp = re.compile(b"CLP(?<=[" + t + b"\r\n]CLP)" + s + b"(" + element + b")(?:" + s + b"(" + element + b"))?")
    st_pattern = re.compile(b"ST" + s + b"(" + element + b")(?:" + s + b"(" + element + b"))?")
    sections: list[dict[str, tuple[int, bool]]] = []
    idents: list[bytes] | None = None  # the CLP01s of the transaction set being read
    reversed_ids: set[bytes] = set()
    reversal: dict[bytes | None, bool] = {}  # CLP02 -> a reversal
    split: Resume | None = None
    st_index, st02 = 0, ""  # (of the transaction set the split is in: counted only up to it)

    def close() -> None:
        if idents is not None:
            sections.append({_text(ident): (n, ident in reversed_ids) for ident, n in Counter(idents).items()
                             if n > 1})

    carry = b""
    base, counted = text_start(path), 0  # the file offset of chunk[0]; terminators before it (until the split)
    with open(path, "rb") as stream:
        stream.seek(base)
        while data := stream.read(fasttext.CHUNK_BYTES):
            chunk = carry + data
            cut = chunk.rfind(term)  # the next chunk starts at the last terminator: a match is never cut
            if cut < 0:
                if len(chunk) > 1 << 20:
                    raise Ineligible("a segment longer than a chunk")
                carry = chunk
                continue
            carry = chunk[cut:]
            # (chunk[0] is a terminator or the file's first character: a match at 0 starts no segment)
            sts = [m for m in st_pattern.finditer(chunk, 1, cut) if _starts_segment(chunk, m.start(), term[0])]
            start = 1
            upto = 0  # terminators of chunk[:upto] are in `counted`
            for st in [*sts, None]:  # the stretches between STs
                end = cut if st is None else st.start()
                if idents is not None and start < end:
                    if split is None and split_at is not None and base + end > split_at:
                        found = clp.search(chunk, max(start, split_at - base), end)
                        if found is not None:
                            at = found.start()
                            counted += chunk.count(term, upto, at)
                            upto = at
                            isa, gs = envelope_head(path)
                            split = Resume(base + at, counted + 1, len(sections) + 1, st_index, st02, isa, gs)
                    claims = clp.findall(chunk, start, end)
                    idents += map(_first, claims)
                    for status in set(map(_second, claims)):
                        if status not in reversal:
                            _bound(reversal)
                            found_status = codebook.claim_status(_text(status))
                            reversal[status] = bool(found_status and found_status.reversal)
                        if reversal[status]:
                            reversed_ids.update(ident for ident, code in claims if code == status)
                if st is not None:
                    close()
                    idents, reversed_ids = [], set()
                    if split is None and split_at is not None:  # (only the split's ST is needed: once it is
                        counted += chunk.count(term, upto, st.start())  # found, or with no split, the
                        upto = st.start()  # terminators are not counted, ~1.7 ms a MB)
                        st_index = counted + 1
                    first, second = st.groups()
                    st02 = _text(first if second is None else second)
                    start = st.start()
            if split is None and split_at is not None:
                counted += chunk.count(term, upto, cut)
            base += cut
    close()  # (the carry is the last terminator and what follows it: IEA's, no ST or CLP)
    return sections, split


def _text(value: bytes) -> str:
    try:
        return value.decode("ascii")
    except UnicodeDecodeError:
        raise Ineligible("text that is not ASCII") from None


_first, _second = itemgetter(0), itemgetter(1)


def _starts_segment(chunk: bytes, at: int, term: int) -> bool:
    """chunk[at] starts a segment: after the terminator (a byte), alone or followed by LF, CR or CRLF."""
    before = at - 1
    if chunk[before] == 10:  # LF
        before -= 1
    if before >= 0 and chunk[before] == 13:  # CR
        before -= 1
    return before >= 0 and chunk[before] == term
