"""Streaming: claims are yielded while the file is still being read, and are not kept behind."""
from __future__ import annotations

import gc
import io
import weakref

import edi.reader
from cobpipe.era import RemittanceReader
from edi.reader import X12Reader

from conftest import interchange, transaction

CLAIM = """
    CLP*C{n}*1*100*80*0*12*PCN{n}
    SVC*HC:99213*100*80**1
    CAS*CO*45*20
    REF*6R*C{n}-1
"""


class CountingStream(io.StringIO):
    """A text stream that remembers how many characters the reader has taken so far."""

    consumed = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk


def test_claims_arrive_before_the_file_is_read_and_are_not_retained(monkeypatch):
    monkeypatch.setattr(edi.reader, "CHUNK_CHARS", 512)
    count = 2000
    body = "".join(CLAIM.format(n=n) for n in range(count))
    text = interchange(transaction(body, amount=str(80 * count)))
    stream = CountingStream(text)
    reader = RemittanceReader(X12Reader(stream, "big.835"))
    (remit,) = [r for r in _read(reader, stream, len(text), count)]
    assert remit.totals.claim_count == count and remit.findings == []


def _read(reader, stream, size, count):
    for remit in reader:
        assert stream.consumed < size // 10  # the header is parsed from the first chunks
        first = None
        for n, claim in enumerate(remit.claims()):
            if n == 0:
                first = weakref.ref(claim)
                assert stream.consumed < size // 10
            if n == count // 2:
                gc.collect()
                assert first() is None, "a streamed claim is still referenced after the next ones"
                assert stream.consumed < size * 3 // 4
            del claim
        yield remit
