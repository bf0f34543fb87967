"""The claim index's offsets are appended as packed bytes (`spans._PACK_CONTEXT`, `index._PACK_CLAIM`),
not item by item: each claim's and context's fields in their order, read back as the integers they were."""
from __future__ import annotations

from cobpipe.claim837.index import ClaimIndex
from cobpipe.claim837.spans import _CONTEXT_FIELDS
from cobpipe.synth import generate_set


def test_claims_are_the_integers_added():
    index = ClaimIndex()
    index._add_claim("A1", 0, 3, 100, 2**40)
    index._add_claim("a1", 1, 0, 0, 7)
    assert index.claims.tolist() == [0, 3, 100, 2**40, 1, 0, 0, 7]
    assert index.by_id == {"A1": 0, "a1": 1} and index.by_folded == {"A1": 1}


def test_contexts_are_the_spans_of_their_loops(tmp_path):
    made = generate_set(20, tmp_path, seed=3, patient_fraction=0.5)
    data = made.claims.read_bytes()
    with ClaimIndex.build([made.claims]) as index:
        contexts = index.contexts.tolist()
        assert len(contexts) % _CONTEXT_FIELDS == 0 and contexts
        patients = 0
        for at in range(0, len(contexts), _CONTEXT_FIELDS):
            transaction, *spans = contexts[at:at + _CONTEXT_FIELDS]
            assert 0 <= transaction < len(index.envelopes)
            texts = [data[start:end].lstrip(b"\n") for start, end in zip(spans[::2], spans[1::2]) if start >= 0]
            assert texts[0].startswith(b"BHT*")
            assert [text.split(b"~")[0].split(b"*")[3] for text in texts[1:]] == [b"20", b"22", b"23"][:len(texts) - 1]
            patients += spans[6] >= 0
            assert (spans[6] < 0) == (spans[7] < 0)
        assert patients  # 2000C contexts too
        claims = index.claims.tolist()
        for number in range(len(claims) // 4):
            file_no, context, start, end = claims[4 * number:4 * number + 4]
            assert file_no == 0 and 0 <= context < len(contexts) // _CONTEXT_FIELDS
            assert data[start:end].lstrip(b"\n").startswith(b"CLM*")
