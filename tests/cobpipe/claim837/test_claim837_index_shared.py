"""`ClaimIndex.claim` keeps the last claim's envelope, header and 2000A for the next claim
(`_shared_context`) and makes a claim's 2000C when first used (`_DeferredHL`, as its 2000B): claims
asked in any order, across files, transaction sets and billing providers, are the claims
`OriginalClaim.from_x12` reads from their storage text (the ledger's path), loop by loop and
segment by segment."""
from __future__ import annotations

import functools
import json
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from cobpipe.claim837.claim import Envelope, OriginalClaim
from cobpipe.claim837.index import ClaimIndex, _DeferredHL
from cobpipe.synth import generate_set

from test_claim837_index_place import tree

GROUPING = Path(__file__).parent / "data" / "grouping.837"  # two billing providers in one transaction set


@functools.cache
def _paths() -> tuple[Path, ...]:
    folder = Path(tempfile.mkdtemp(prefix="hx-index-shared-"))
    made = generate_set(14, folder, seed=11, patient_fraction=0.5, claims_per_837=4)  # four transaction sets
    return made.claims, GROUPING


def _as_read_back(index: ClaimIndex, number: int) -> OriginalClaim:
    text, envelope = index._storage(number)
    return OriginalClaim.from_x12(text, envelope=Envelope.from_dict(json.loads(envelope)))


def _same(claim: OriginalClaim, expected: OriginalClaim) -> None:
    assert claim.envelope == expected.envelope
    assert [(loop.id, tree(loop)) for loop in claim.loops()] == [(loop.id, tree(loop)) for loop in expected.loops()]


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(0, 6))
def test_claims_in_any_order_are_their_storage_texts(random, repeats):
    with ClaimIndex.build(_paths()) as index:
        numbers = list(range(len(index.claims) // 4))
        assert len(numbers) == 20
        random.shuffle(numbers)
        numbers += numbers[:repeats]  # some asked again, after others
        for number in numbers:
            _same(index.claim(number), _as_read_back(index, number))


def test_claims_in_file_order_share_their_header_and_2000a():
    with ClaimIndex.build([GROUPING]) as index:
        claims = [index.claim(number) for number in range(len(index.claims) // 4)]
        providers = [claim.billing_provider for claim in claims]
        assert len({id(loop) for loop in providers}) == 2  # one object a billing provider
        assert len({id(claim.header) for claim in claims}) == 1
        for number, claim in enumerate(claims):
            _same(claim, _as_read_back(index, number))


def test_a_2000c_is_made_when_first_used():
    with ClaimIndex.build(_paths()[:1]) as index:
        numbers = [n for n in range(len(index.claims) // 4) if _as_read_back(index, n).patient is not None]
        assert numbers
        claim = index.claim(numbers[0])
        assert type(claim.patient) is _DeferredHL and claim.patient.id == "2000C"
        expected = _as_read_back(index, numbers[0]).patient
        assert tree(claim.patient) == tree(expected)  # made now, as placed eagerly
        assert type(claim.patient) is not _DeferredHL
