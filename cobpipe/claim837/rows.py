"""The ledger rows of an 837P file, read without building each claim's loop tree.

`ClaimFile` builds every claim as loops, and the ledger then serializes that tree back into its
storage form. For the throwaway index of `cobpipe convert` that is work done twice: the index needs
only each claim's key and its storage text, and the claim is parsed again when an ERA asks for it.
`ClaimRows` reads the file with the same reader and the same HL logic (`_TransactionBuilder`), so
the context loops (header, 2000A, 2000B, 2000C) and every structure decision are the parser's own;
a claim's 2300 segments, which are most of the file, are kept as text in the order read.

That text is the storage form `OriginalClaim.to_x12` writes: the parser puts every segment from a
CLM up to the next HL, CLM or SE into that claim's 2300 tree, and the tree read depth first is the
order of the file (a segment only ever joins a loop that is still open, after the loops closed
before it). tests/cobpipe/claim837/test_claim837_rows.py holds both readers to the same rows.
"""
from __future__ import annotations

from collections.abc import Iterator

from edi.reader import X12Reader, iter_transactions
from edi.segment import STANDARD, Delimiters, Segment
from edi.writer import serialize

from ..ledger.core import _envelope_text
from .claim import Envelope, OriginalClaim
from .loops import Loop
from .parser import ClaimFile, _TransactionBuilder

# (CLM01, submitter id, payer id, storage text, envelope JSON): ledger.core.claim_key and to_x12
ClaimRow = tuple[str, str, str, str, str]

_CONTEXT_CACHE = 64  # context loops whose text is kept: consecutive claims mostly share theirs


def _is_standard(delimiters: Delimiters) -> bool:
    """Whether a segment read with these delimiters serializes in the storage form's (standard)
    delimiters as its elements joined by `*`: nothing to translate, nothing that could collide."""
    return (delimiters.element, delimiters.component, delimiters.repetition, delimiters.segment) == (
        STANDARD.element, STANDARD.component, STANDARD.repetition, STANDARD.segment)


class _Storage:
    """Segments to storage-form text: `serialize(segment, STANDARD)`, without its translation and
    collision checks for segments read in the standard delimiters (they cannot need either)."""

    def __init__(self) -> None:
        self._delimiters: Delimiters | None = None
        self._standard = False

    def line(self, segment: Segment) -> str:
        delimiters = segment.delimiters
        if delimiters is not self._delimiters:
            self._delimiters, self._standard = delimiters, _is_standard(delimiters)
        if self._standard:
            return "*".join((segment.tag, *segment.elements)) + "~\n"
        return serialize(segment, STANDARD)


class _RowBuilder(_TransactionBuilder):
    """`_TransactionBuilder` whose claims are rows: the HL loops are built as the parser builds them,
    the claim's own segments go to text as they are read."""

    def __init__(self, envelope: Envelope, envelope_json: str, path: str, findings: list,
                 only: frozenset[str] | None, storage: _Storage) -> None:
        super().__init__(envelope, path, findings)
        self.envelope_json = envelope_json
        self.only = only
        self.storage = storage
        self.claim_text: list[str] | None = None  # None while the claim is not wanted
        self.context_text: dict[int, tuple[Loop, str]] = {}

    def open_claim(self, seg: Segment) -> None:
        super().open_claim(seg)
        wanted = self.claim_usable and (self.only is None or seg.get(1) in self.only
                                            or seg.get(1).upper() in self.only)  # CLP01 upper-cased by the payer
        self.claim_text = [self.storage.line(seg)] if wanted else None

    def place(self, seg: Segment) -> None:
        if self.claim is None:
            super().place(seg)
        elif self.claim_text is not None:
            self.claim_text.append(self.storage.line(seg))

    def finish_claim(self):  # a ClaimRow, or None
        claim, text = self.claim, self.claim_text
        if claim is None:
            return None
        self.claim, self.claim_text = None, None
        if not self.claim_usable:
            return None
        assert self.billing is not None and self.subscriber is not None
        for loop in (self.billing, self.subscriber, self.patient):
            if loop is not None:
                self.claims_under[id(loop)] = self.claims_under.get(id(loop), 0) + 1
        if text is None:  # not in `only`
            return None
        # the key as ledger.core.claim_key reads it from the parsed claim (the CLM is all of the
        # 2300 it looks at)
        keyed = OriginalClaim(self.envelope, self.header, self.billing, self.subscriber, self.patient, claim)
        context = [self._text(loop) for loop in (self.header, self.billing, self.subscriber, self.patient)
                   if loop is not None]
        return (keyed.id, keyed.submitter_id, keyed.payer_id, "".join(context + text), self.envelope_json)

    def _text(self, loop: Loop) -> str:
        cached = self.context_text.get(id(loop))
        if cached is not None and cached[0] is loop:
            return cached[1]
        if len(self.context_text) >= _CONTEXT_CACHE:
            self.context_text.clear()
        text = "".join(map(self.storage.line, loop.iter_segments()))
        self.context_text[id(loop)] = (loop, text)
        return text


class ClaimRows(ClaimFile):
    """Iterator over the ledger rows (`ClaimRow`) of one 837P file, optionally only the claims whose
    CLM01 is in `only`; `findings` as on ClaimFile, apart from the checks made inside a claim's 2300
    (its SV102 amounts, segments out of place there), which happen when the claim is parsed."""

    def __init__(self, reader, only: frozenset[str] | None = None) -> None:
        self.only = only
        super().__init__(reader)

    @classmethod
    def open(cls, path, name: str | None = None, only: frozenset[str] | None = None) -> "ClaimRows":
        return cls(X12Reader.open(path, name), only)

    def _read(self) -> Iterator[ClaimRow]:  # type: ignore[override]
        storage = _Storage()
        for ts in iter_transactions(self.reader):
            self._check_transaction(ts)
            self.transactions_read += 1
            envelope = Envelope.of(self.name, ts.isa, ts.gs, ts.st)
            builder = _RowBuilder(envelope, _envelope_text(envelope), self.name, self.structure_findings,
                                  self.only, storage)
            for row in builder.run(ts.segments):
                self.claims_read += 1
                yield row
