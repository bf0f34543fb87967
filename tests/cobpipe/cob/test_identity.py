"""identity: the converter's remembered payer answers are the payer list's, whether the refs asked
about are the same objects, equal ones or different ones; loop_payer makes one PayerRef per payer."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cobpipe.cob import identity
from cobpipe.cob.identity import RememberedPayers, loop_payer
from cobpipe.claim837.loops import Loop
from cobpipe.payers import PayerList, PayerRef
from edi.segment import Segment

IDS = ["12345", "1123456789", "123456789", "BSI01", "22222", "", "60054"]
NAMES = ["Blue Star Insurance", "BLUE STAR INS CO", "Aetna", "", "Other Payer"]
refs = st.builds(PayerRef, st.lists(st.sampled_from(IDS), max_size=3).map(tuple), st.sampled_from(NAMES))


def seg(text: str) -> Segment:
    tag, *elements = text.split("*")
    return Segment(tag, tuple(elements))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(refs, refs), min_size=1, max_size=12), st.data())
def test_remembered_answers_are_the_lists(pairs, data):
    plain = PayerList.load()
    remembered = RememberedPayers(plain)
    asked = []
    for a, b in pairs:
        asked.append((a, b))
        if data.draw(st.booleans()):  # equal but distinct objects: the answer by value, not by id
            asked.append((PayerRef(a.ids, a.name), PayerRef(b.ids, b.name)))
    for a, b in asked + asked:  # the second round is answered from memory
        assert remembered.same(a, b) == plain.same(a, b)
    assert len(remembered._same_by_id) <= len(set(asked))  # equal refs share one entry


def test_remembered_answers_are_forgotten_past_the_limit():
    remembered = RememberedPayers(PayerList.load())
    sender = PayerRef(("12345",), "Aetna")
    for n in range(RememberedPayers.LIMIT + 10):
        assert remembered.same(sender, PayerRef((str(n),), "")) is False
    assert len(remembered._same_by_id) <= RememberedPayers.LIMIT


def payer_loop(*texts: str) -> Loop:
    return Loop("2010BB", [seg(t) for t in texts])


def test_two_loops_naming_one_payer_give_one_ref():
    """Fails if loop_payer stops sharing refs (RememberedPayers would miss by identity every claim)."""
    first = loop_payer(payer_loop("NM1*PR*2*BLUE STAR*****PI*22222", "REF*2U*BSI01"))
    second = loop_payer(payer_loop("NM1*PR*2*BLUE STAR*****PI*22222", "REF*2U*BSI01"))
    assert first == PayerRef(("22222", "BSI01"), "BLUE STAR")
    assert first is second
    other = loop_payer(payer_loop("NM1*PR*2*BLUE STAR*****PI*22222"))
    assert other == PayerRef(("22222",), "BLUE STAR") and other is not first


def test_the_shared_refs_stay_bounded():
    for n in range(5000):
        loop_payer(payer_loop(f"NM1*PR*2*PAYER {n}*****PI*{n}"))
    assert len(identity._REFS) <= 4096
    assert len(identity._LOOP_PAYERS) <= 256


def test_a_loop_without_a_first_segment_names_no_payer():
    assert loop_payer(None) == PayerRef()
    assert loop_payer(Loop("2010BB")) == PayerRef()
    assert loop_payer(Loop("2010BB", [], [payer_loop("NM1*PR*2*X*****PI*1")])) == PayerRef()


def test_a_loop_edited_in_place_is_read_again():
    loop = payer_loop("NM1*PR*2*BLUE STAR*****PI*22222")
    assert loop_payer(loop).ids == ("22222",)
    loop.items.append(seg("REF*2U*BSI01"))
    assert loop_payer(loop).ids == ("22222", "BSI01")


def plain_loop_payer(loop: Loop | None) -> PayerRef:
    """loop_payer as it read a loop before its one pass over the items: the reference."""
    if loop is None or loop.first is None:
        return PayerRef()
    nm1 = loop.first
    ids = [nm1.get(9)] + [ref.get(2) for ref in loop.segments_of("REF") if ref.get(1) in ("2U", "FY", "NF", "EI")]
    return PayerRef(tuple(i for i in ids if i), nm1.get(3))


PAYER_TEXTS = ["NM1*PR*2*BLUE STAR*****PI*22222", "NM1*PR*2*X", "NM1*PR", "NM1", "NM1*PR*2*****PI*", "REF*2U*BSI01",
               "REF*FY*1", "REF*NF", "REF*EI*12-3456789*X", "REF*F8*ZZ1", "REF", "REF*2U*", "N3*1 ROAD", "PER*IC*X", "PER*2U*77"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(PAYER_TEXTS).map(seg), st.just(None)), max_size=6))
def test_loop_payer_reads_what_the_plain_reading_reads(items):
    """Each REF qualifier counted or not, NM1 missing, short or not first, a child loop among the items."""
    loop = Loop("2010BB", [i if i is not None else payer_loop("NM1*PR*2*INNER*****PI*9") for i in items])
    assert loop_payer(loop) == plain_loop_payer(loop)
    assert loop_payer(loop) == plain_loop_payer(loop)  # the remembered answer


SUBSCRIBER_ITEMS = ["HL*2*1*22*0", "SBR*P*18*G1******CI", "SBR*s", "SBR", "PAT*01", "DMG*D8*19800101*F",
                    "2010BA", "2010BB", "2010BB REF", "2010BB N3", "2010BB short", "2010BB empty"]


def subscriber_item(name: str):
    """A 2000B item: a segment, or a 2010BA/2010BB loop of one of the shapes billed_to tells apart."""
    loops = {"2010BA": ("2010BA", ["NM1*IL*1*DOE*JO****MI*M1"]),
             "2010BB": ("2010BB", ["NM1*PR*2*BLUE STAR*****PI*22222"]),
             "2010BB REF": ("2010BB", ["NM1*PR*2*BLUE STAR*****PI*22222", "REF*2U*BSI01"]),
             "2010BB N3": ("2010BB", ["NM1*PR*2*GREEN*****PI*3", "N3*1 ROAD", "N4*X*IL*60601"]),
             "2010BB short": ("2010BB", ["NM1*PR*2*X"]),
             "2010BB empty": ("2010BB", [])}
    if name in loops:
        loop_id, texts = loops[name]
        return Loop(loop_id, [seg(t) for t in texts])
    return seg(name)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(SUBSCRIBER_ITEMS), max_size=6))
def test_billed_to_reads_what_billed_payer_and_billed_level_read(names):
    """billed_to (one pass, the payer remembered by its NM1) against billed_payer and billed_level:
    no SBR or 2010BB, several of each, a 2010BB with a REF or an address, short or empty."""
    from cobpipe.claim837.claim import Envelope, OriginalClaim

    subscriber = Loop("2000B", [subscriber_item(name) for name in names])
    claim = OriginalClaim(Envelope(), Loop("HEADER"), Loop("2000A"), subscriber, None,
                          Loop("2300", [seg("CLM*C1*10")]))
    for _ in range(2):  # the remembered answer too
        assert identity.billed_to(claim) == (identity.billed_payer(claim), identity.billed_level(claim))


def test_a_payer_named_by_its_nm1_alone_is_the_shared_ref():
    """Fails if nm1_payer stops giving loop_payer's shared ref (the remembered answers go by identity)."""
    texts = ["NM1*PR*2*BLUE STAR*****PI*22222", "NM1*PR*2*X", "NM1*PR", "NM1*PR*2*****PI*"]
    for text in texts:
        assert identity.nm1_payer(seg(text)) is loop_payer(payer_loop(text))


def test_a_payer_named_by_its_nm1_alone_is_the_shared_ref_after_the_shared_refs_start_afresh():
    """Regression: when the shared refs were cleared (4,096 kept), nm1_payer still gave the copy it
    remembered from before, no longer the shared one (the suite's order made the test above fail)."""
    text = "NM1*PR*2*BLUE STAR*****PI*22222"
    remembered = identity.nm1_payer(seg(text))
    for n in range(4097):  # as many other payers as make the shared refs start afresh
        identity.shared_ref((f"P{n}",), "OTHER")
    assert identity.nm1_payer(seg(text)) is loop_payer(payer_loop(text))
    assert identity.nm1_payer(seg(text)) == remembered


def test_the_835_payer_of_every_transaction_set_is_one_shared_ref(tmp_path):
    """era_payer gives the shared copy (shared_ref): the converter asks the payer list with it for every
    claim, and RememberedPayers finds its answers by identity (each set's header is read afresh)."""
    from cobpipe.cob.decision import ConvertOptions
    from cobpipe.cob.remits import RemitStream
    from cobpipe.pipeline import scan_era
    from cobpipe.synth import generate_set

    made = generate_set(12, tmp_path, seed=3, claims_per_835=3)  # four transaction sets, one payer
    headers = list({id(header): header for header, _ in RemitStream(scan_era(made.era), ConvertOptions())}.values())
    assert len(headers) > 1
    senders = [identity.era_payer(header) for header in headers]
    payer = headers[0].payer
    plain = PayerRef(tuple(i for i in (payer.id, payer.ref("2U"), headers[0].trace.payer_id) if i), payer.name)
    assert all(sender is senders[0] for sender in senders) and senders[0] == plain
    remembered = RememberedPayers(PayerList.load())
    first = remembered.same(senders[0], plain)
    entries = len(remembered._same_by_id)
    assert all(remembered.same(sender, senders[0]) == first for sender in senders)
    assert len(remembered._same_by_id) == entries  # every later question answered by identity
