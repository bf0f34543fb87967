import datetime as dt
import io
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edi.errors import EdiError
from edi.segment import Delimiters, Segment
from edi.writer import InterchangeSettings, Party, SequentialControlNumbers

from cobpipe.claim837 import ClaimFile, Loop, OriginalClaim, parse_claims_text, write_claims_837

from claim837_support import DATA, as_x222a1, corpus_files, pyx12_errors

SETTINGS = InterchangeSettings(Party("ZZ", "MAPLECLINIC"), Party("ZZ", "CLEARHOUSE"), usage="T")
NOW = dt.datetime(2026, 4, 2, 8, 15)
GOLDEN = DATA / "grouping.expected.837"


def fixture_claims() -> list[OriginalClaim]:
    return parse_claims_text((DATA / "grouping.837").read_text(), "grouping.837")


def write(claims, **options) -> tuple[str, object]:
    out = io.StringIO()
    options.setdefault("now", NOW)
    numbers = options.pop("numbers", SequentialControlNumbers(start=7))
    summary = write_claims_837(claims, out, SETTINGS, numbers, **options)
    return out.getvalue(), summary


def hl_tree(text: str) -> list[str]:
    return [line.rstrip("~") for line in text.splitlines() if line.startswith(("HL*", "CLM*"))]


def body(text: str) -> list[str]:
    """ST..SE content after BHT, as segment texts."""
    lines = text.splitlines()
    return lines[lines.index(next(x for x in lines if x.startswith("BHT"))) + 1: -3]


def test_golden_output():
    text, summary = write(fixture_claims())
    if os.environ.get("COBPIPE_UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()
    assert summary.claims == 6 and summary.billing_providers == 2 and summary.subscribers == 3
    assert summary.patients == 2 and summary.bht_reference == "0000000070007"
    assert summary.control_numbers == [("ISA", 7), ("GS", 7), ("ST", 7)]
    assert (summary.isa13, summary.gs06, summary.st02) == (7, 7, 7)
    assert summary.segments == int(text.splitlines()[-3].split("*")[1].rstrip("~"))


def test_rewriting_a_file_keeps_every_claim_and_the_hl_tree():
    source = (DATA / "grouping.837").read_text()
    text, _ = write(fixture_claims())
    assert body(text) == body(source)  # same loops, same HL numbers: the input was numbered 1..n
    lines = text.splitlines()
    assert lines[2] == "ST*837*0007*005010X222A1~"
    assert lines[3] == "BHT*0019*00*0000000070007*20260402*0815*CH~"
    assert lines[4:7] == source.splitlines()[4:7]  # 1000A and 1000B of the first claim
    again = parse_claims_text(text)
    for before, after in zip(fixture_claims(), again, strict=True):
        assert after.claim.content_key() == before.claim.content_key()
        assert after.subscriber.same_content(before.subscriber)


def test_output_is_valid_837p():
    text, _ = write(fixture_claims())
    assert pyx12_errors(text) == []
    parser = ClaimFile.from_text(text, "out.837")
    assert len(list(parser)) == 6 and parser.findings == []  # envelope counts and HL tree check out


def test_claims_beyond_the_transaction_limit_open_another_transaction_set():
    """The TR3 recommends at most 5000 claims per ST-SE: each set gets its own BHT, 1000A/1000B and
    an HL tree numbered from 1, all in one group; reading it back gives the same claims."""
    claims = fixture_claims()
    text, summary = write(claims, claims_per_transaction=4)
    sets = text.split("ST*837*")[1:]
    assert len(sets) == 2 and [s.count("CLM*") for s in sets] == [4, 2]
    for number, part in zip((7, 8), sets):
        assert part.startswith(f"{number:04d}*005010X222A1~")
        assert f"BHT*0019*00*{7:09d}{number:04d}*" in part
        assert "\nNM1*41*" in part and "\nNM1*40*" in part and "\nHL*1**20*1~" in part
        segment_count = part.count("~\n") - (2 if part is sets[-1] else 0)  # up to SE, not GE/IEA
        assert f"SE*{segment_count}*{number:04d}~" in part
    assert "GE*2*7~" in text
    assert summary.transactions == [(7, 4), (8, 2)] and summary.claims == 6
    assert summary.control_numbers == [("ISA", 7), ("GS", 7), ("ST", 7), ("ST", 8)]
    assert pyx12_errors(text) == []
    parser = ClaimFile.from_text(text, "out.837")
    again = list(parser)
    assert parser.findings == []
    assert [c.claim.content_key() for c in again] == [c.claim.content_key() for c in claims]


def test_a_named_reference_stays_unique_across_transaction_sets():
    text, summary = write(fixture_claims(), claims_per_transaction=5, reference="X" * 30)
    assert [x.split("*")[3] for x in text.splitlines() if x.startswith("BHT*")] == ["X" * 30, "X" * 28 + "-2"]
    assert summary.bht_reference == "X" * 30


LFH = corpus_files("lfh_")


@pytest.mark.skipif(not LFH, reason="public corpus not available")
@pytest.mark.parametrize("path", LFH, ids=[p.name for p in LFH])
def test_corpus_rewritten_adds_no_pyx12_errors(path):
    source = as_x222a1(path.read_text())
    claims = parse_claims_text(source, path.name)
    text, summary = write(claims)
    assert summary.claims == len(claims)
    before = pyx12_errors(source)
    after = pyx12_errors(text)
    assert set(after) <= set(before)
    if path.name in ("lfh_837p_demo.cob.example3.B.837", "lfh_837p_demo.cob.example3.C.837",
                     "lfh_837p_demo.example1.837"):
        assert after == []
    reread = parse_claims_text(text)
    assert [c.claim.content_key() for c in reread] == [c.claim.content_key() for c in claims]


def test_identical_context_from_separate_reads_shares_hls():
    a1 = fixture_claims()[0]
    a2 = fixture_claims()[1]  # another parse: other objects, same billing provider and subscriber
    b1, b2 = fixture_claims()[2:4]
    text, summary = write([a1, a2, b1, b2])
    assert hl_tree(text) == [
        "HL*1**20*1", "HL*2*1*22*0", "CLM*CLAIM-A1*150***11:B:1*Y*A*Y*Y", "CLM*CLAIM-A2*80***11:B:1*Y*A*Y*Y",
        "HL*3*1*22*1", "HL*4*3*23*0", "CLM*CLAIM-B1*120***11:B:1*Y*A*Y*Y", "CLM*CLAIM-B2*60***11:B:1*Y*A*Y*Y"]
    assert (summary.billing_providers, summary.subscribers, summary.patients) == (1, 2, 1)


def test_only_consecutive_claims_merge():
    a1, a2, b1, b2, b3, c1 = fixture_claims()
    text, summary = write([a1, c1, a2, b3, b1])
    assert hl_tree(text) == [
        "HL*1**20*1", "HL*2*1*22*0", "CLM*CLAIM-A1*150***11:B:1*Y*A*Y*Y",
        "HL*3**20*1", "HL*4*3*22*0", "CLM*CLAIM-C1*95***11:B:1*Y*A*Y*Y",
        "HL*5**20*1", "HL*6*5*22*0", "CLM*CLAIM-A2*80***11:B:1*Y*A*Y*Y",
        "HL*7*5*22*1", "HL*8*7*23*0", "CLM*CLAIM-B3*200***11:B:1*Y*A*Y*Y",
        "HL*9*7*23*0", "CLM*CLAIM-B1*120***11:B:1*Y*A*Y*Y"]
    assert (summary.billing_providers, summary.subscribers, summary.patients) == (3, 4, 2)
    assert pyx12_errors(text) == []


def test_different_subscriber_content_gets_its_own_hl():
    a1, a2 = fixture_claims()[:2]
    changed = a2.subscriber.copy()
    changed.replace(changed.segment("SBR"), Segment.build("SBR", "P", "18", "GRP999", None, None, None, None,
                                                          None, "CI"))
    a2 = OriginalClaim(a2.envelope, a2.header, a2.billing_provider, changed, a2.patient, a2.claim)
    text, summary = write([a1, a2])
    assert hl_tree(text)[:5] == ["HL*1**20*1", "HL*2*1*22*0", "CLM*CLAIM-A1*150***11:B:1*Y*A*Y*Y",
                                 "HL*3*1*22*0", "CLM*CLAIM-A2*80***11:B:1*Y*A*Y*Y"]
    assert "SBR*P*18*GRP999******CI~" in text.splitlines()


def test_subscriber_with_own_claims_and_patients_gets_two_hls():
    # the same 2000B content once as patient (HL04=0, claims) and once over a 2000C (HL04=1)
    a1, _, b1, *_ = fixture_claims()
    as_dependent = OriginalClaim(b1.envelope, b1.header, a1.billing_provider, a1.subscriber, b1.patient, b1.claim)
    text, _ = write([a1, as_dependent])
    assert hl_tree(text) == ["HL*1**20*1", "HL*2*1*22*0", "CLM*CLAIM-A1*150***11:B:1*Y*A*Y*Y",
                             "HL*3*1*22*1", "HL*4*3*23*0", "CLM*CLAIM-B1*120***11:B:1*Y*A*Y*Y"]


def test_streams_from_iter_claims_and_other_delimiters():
    delims = Delimiters("|", ">", "!", "~", "\n")
    text, summary = write(ClaimFile.open(DATA / "grouping.837"), delimiters=delims,
                          transaction_version="005010X222A1", reference="BATCH42")
    assert text.startswith("ISA|") and "BHT|0019|00|BATCH42|20260402|0815|CH~" in text
    assert "SV1|HC>73110>RT|200|UN|1|||1~" in text
    reread = parse_claims_text(text)
    assert [c.content_key()[4:] for c in reread] == [c.content_key()[4:] for c in fixture_claims()]
    assert summary.bht_reference == "BATCH42"


def test_submitter_and_receiver_can_be_given():
    submitter = Loop("1000A", [Segment.build("NM1", "41", "2", "OUR CLEARINGHOUSE", None, None, None, None, "46",
                                             "OURS"), Segment.build("PER", "IC", "EDI", "TE", "5555550111")])
    receiver = Loop("1000B", [Segment.build("NM1", "40", "2", "SECOND PAYER", None, None, None, None, "46", "FC")])
    text, _ = write(fixture_claims()[:1], submitter=submitter, receiver=receiver)
    assert text.splitlines()[4:7] == ["NM1*41*2*OUR CLEARINGHOUSE*****46*OURS~", "PER*IC*EDI*TE*5555550111~",
                                      "NM1*40*2*SECOND PAYER*****46*FC~"]


def test_no_claims_writes_nothing():
    out = io.StringIO()
    numbers = SequentialControlNumbers()
    summary = write_claims_837([], out, SETTINGS, numbers, now=NOW)
    assert out.getvalue() == "" and summary.claims == 0 and summary.control_numbers == []
    assert numbers.next_number("ISA", "ZZ:MAPLECLINIC", "ZZ:CLEARHOUSE") == 1  # none used


def test_claim_without_submitter_loop_is_an_error():
    claim = fixture_claims()[0]
    bare = OriginalClaim(claim.envelope, Loop("HEADER", [claim.bht]), claim.billing_provider, claim.subscriber,
                         None, claim.claim)
    with pytest.raises(EdiError) as err:
        write([bare])
    assert err.value.claim == "CLAIM-A1"


CLAIMS = fixture_claims()


def without_hl(claim: OriginalClaim) -> tuple[str, ...]:
    """Claim content after the header (BHT differs), without HL segments (renumbered)."""
    return tuple(k for k in claim.content_key()[4:] if not k.startswith("HL*"))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(range(len(CLAIMS))), min_size=1, max_size=12))
def test_any_claim_sequence_writes_a_consistent_hl_tree(order):
    claims = [CLAIMS[i] for i in order]
    text, summary = write(claims)
    parser = ClaimFile.from_text(text, "out.837")
    again = list(parser)
    # HL01 1..n, known parents, HL04 matching what follows, no HL without claims
    assert parser.findings == []
    assert [without_hl(c) for c in again] == [without_hl(c) for c in claims]
    runs = sum(1 for i, c in enumerate(claims)
               if i == 0 or c.billing_provider.content_key() != claims[i - 1].billing_provider.content_key())
    assert summary.billing_providers == runs
    assert summary.claims == len(claims)


class _CountingStream(io.StringIO):
    """A stream that records each write, to see how the writer hands text over."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


def test_each_claim_with_its_new_hl_loops_is_one_stream_write():
    # _write_hierarchy gathers a claim's new HL loops and its 2300 into one write_all (one
    # serialization and one stream write a claim): the same bytes as before, fewer writes
    claims = fixture_claims()
    stream = _CountingStream()
    write_claims_837(claims, stream, SETTINGS, SequentialControlNumbers(start=7), now=NOW)
    assert stream.getvalue() == GOLDEN.read_text()
    # ISA, GS, ST, BHT, 1000A, 1000B, one per claim, SE, GE, IEA
    assert len(stream.writes) == 6 + len(claims) + 3
    claim_writes = [text for text in stream.writes if "\nCLM*" in text or text.startswith("CLM*")]
    assert len(claim_writes) == len(claims)
    assert all(text.count("CLM*") == 1 for text in claim_writes)
    assert claim_writes[0].startswith("HL*1**20*1~")  # the first claim's write opens its HLs too
