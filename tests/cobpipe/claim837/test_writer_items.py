"""Claims made into items (claim837.writer_items) are written as write_claims_837 writes the claims:
the same bytes for any sequence of claims (hypothesis), including the merges writer._Level makes
and refuses (one subscriber with and without a patient), loops shared between claims or equal in
content, transaction sets cut anywhere, other delimiters, and a loop whose first item is a child loop.
"""
from __future__ import annotations

import datetime as dt
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cobpipe.claim837.loops import Loop
from cobpipe.claim837.parser import ClaimFile
from cobpipe.claim837.writer import write_claims_837
from cobpipe.claim837.writer_items import ItemHead, ItemMaker, write_items_837
from cobpipe.synth import generate_set
from edi.errors import EdiError
from edi.segment import STANDARD, Delimiters
from edi.writer import InterchangeSettings, Party, SequentialControlNumbers

NOW = dt.datetime(2026, 4, 1, 9, 30)
SETTINGS = InterchangeSettings(sender=Party("ZZ", "SENDER"), receiver=Party("ZZ", "RECEIVER"), usage="T")
OTHER = Delimiters(element="|", segment="!", component="^", repetition="{")


@pytest.fixture(scope="module")
def pool(tmp_path_factory) -> list:
    """Claims to draw from: generated ones, the same claim with and without its patient, and one
    whose billing provider loop is an equal copy (equal content, another object)."""
    made = generate_set(40, tmp_path_factory.mktemp("items"), seed=5, patient_fraction=0.5)
    with ClaimFile.open(made.claims) as claims:
        found = list(claims)
    with_patient = next(c for c in found if c.patient is not None)
    variants = [with_patient.replace(patient=None), found[0].replace(billing_provider=found[0].billing_provider.copy())]
    return found + variants


def both(claims: list, delimiters: Delimiters = STANDARD, per_set: int | None = None) -> tuple[str, str]:
    plain, items = io.StringIO(), io.StringIO()
    one = write_claims_837(claims, plain, SETTINGS, SequentialControlNumbers(), delimiters, NOW,
                           claims_per_transaction=per_set)
    maker = ItemMaker(delimiters)
    two = write_items_837([maker.item(c) for c in claims], items, SETTINGS, SequentialControlNumbers(), delimiters,
                          NOW, head=ItemHead.of(claims[0], delimiters), claims_per_transaction=per_set)
    assert (one.claims, one.billing_providers, one.subscribers, one.patients, one.segments, one.transactions,
            one.control_numbers) == (two.claims, two.billing_providers, two.subscribers, two.patients,
                                     two.segments, two.transactions, two.control_numbers)
    return plain.getvalue(), items.getvalue()


def test_the_file_as_read(pool):
    plain, items = both(pool[:40])
    assert plain == items


def test_one_subscriber_with_then_without_a_patient(pool):
    """writer._Level.matches compares the kind too: the subscriber HL is not shared."""
    with_patient = next(c for c in pool if c.patient is not None)
    claims = [with_patient, with_patient.replace(patient=None), with_patient]
    plain, items = both(claims)
    assert plain == items
    # billing, subscriber (HL04 1), patient, subscriber (HL04 0), subscriber (HL04 1), patient
    assert plain.count("HL*") == 6


def test_a_loop_with_a_child_loop_first(pool):
    claim = pool[0]
    nested = Loop(claim.billing_provider.id, children=[claim.billing_provider.copy()])
    plain, items = both([claim.replace(billing_provider=nested), claim])
    assert plain == items


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_any_sequence(pool, data):
    picks = data.draw(st.lists(st.integers(0, len(pool) - 1), min_size=1, max_size=30))
    runs = data.draw(st.lists(st.integers(1, 3), min_size=len(picks), max_size=len(picks)))
    claims = [pool[k] for k, n in zip(picks, runs) for _ in range(n)]  # repeats: shared loops
    delimiters = data.draw(st.sampled_from([STANDARD, OTHER]))
    per_set = data.draw(st.sampled_from([None, 1, 2, 3, 7]))
    plain, items = both(claims, delimiters, per_set)
    assert plain == items


def test_no_submitter_is_refused_the_same_way(pool):
    claim = pool[0]
    head = ItemHead.of(claim, STANDARD)
    head.submitter = None
    with pytest.raises(EdiError, match="no 1000A submitter loop"):
        write_items_837([ItemMaker().item(claim)], io.StringIO(), SETTINGS, SequentialControlNumbers(), head=head)
