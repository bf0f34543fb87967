"""The public 837P corpus (../shared/corpus/837p): lossless loop assignment and storage round trip."""
import pytest

from edi.reader import read_segments

from cobpipe.claim837 import ClaimFile, OriginalClaim

from claim837_support import corpus_file, corpus_files

FILES = corpus_files()
ENVELOPE = {"ISA", "IEA", "GS", "GE", "ST", "SE"}


def outline(loop, depth=0):
    """'2300' / '  2320' ... lines, one per loop, for readable structure asserts."""
    lines = ["  " * depth + loop.id]
    for child in loop.children:
        lines.extend(outline(child, depth + 1))
    return lines


@pytest.mark.skipif(not FILES, reason="public corpus not available")
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_segment_lands_in_a_claim_and_round_trips(path):
    parser = ClaimFile.open(path)
    claims = list(parser)
    assert claims, "every corpus file holds claims"
    seen: set[int] = set()
    for claim in claims:
        text = claim.to_x12()
        back = OriginalClaim.from_x12(text, envelope=claim.envelope)
        assert back.content_key() == claim.content_key()
        assert back.to_x12() == text
        indexes = [s.index for s in claim.iter_segments()]
        assert indexes == sorted(indexes), "segments keep their file order"
        seen.update(indexes)
    segments, _ = read_segments(path)
    missing = [s for s in segments if s.index not in seen and s.tag not in ENVELOPE]
    # only HLs without claims (C837005) may leave segments out, and the finding says so
    reported = {f.location.segment for f in parser.findings if f.code == "C837005"}
    assert [s.index for s in missing if s.tag == "HL"] == sorted(reported)
    if path.name.startswith("lfh_"):
        assert missing == [] and [f.code for f in parser.findings if f.code.startswith("C837")] == []


def test_secondary_claim_loops():
    (claim,) = ClaimFile.open(corpus_file("lfh_837p_demo.cob.example3.B.837"))
    assert outline(claim.claim) == [
        "2300", "  2310B", "  2310C", "  2320", "    2330A", "    2330B",
        "  2400", "    2430", "  2400", "    2430", "  2400", "    2430"]
    (other,) = claim.other_payers
    assert [s.tag + "*" + s.get(1) for s in other.segments] == ["SBR*P", "CAS*PR", "AMT*D", "AMT*EAF", "OI*"]
    assert other.child("2330B").first.get(9) == "999996666"
    assert [line.child("2430").first.get(2) for line in claim.lines] == ["40.00", "15.00", "21.04"]
    assert claim.lines[0].child("2430").segment("CAS").get(1) == "CO"
    assert claim.payer_id == "567890" and claim.subscriber.segment("SBR").get(1) == "S"
    assert claim.patient.child("2010CA").first.get(1) == "QC"
    assert [loop.id for loop in claim.billing_provider.children] == ["2010AA", "2010AB"]
    assert claim.envelope.version == "005010X222A2"


def test_patient_loop():
    (claim,) = ClaimFile.open(corpus_file("lfh_837p_demo.example1.837"))
    assert claim.id == "26463774" and not claim.subscriber_is_patient
    assert claim.subscriber.first.get(4) == "1" and claim.patient.first.get(2) == claim.subscriber.first.get(1)
    assert [s.tag for s in claim.patient.iter_segments()] == ["HL", "PAT", "NM1", "N3", "N4", "DMG"]
    assert outline(claim.claim) == ["2300", "  2400", "  2400", "  2400", "  2400"]
    assert claim.charge == claim.line_charge_total
    assert claim.billing_provider.segment("PRV").get(3) == "203BF0100Y"


def test_loose_files_parse_with_findings():
    parser = ClaimFile.open(corpus_file("ims_837_x12_complex.txt"))
    claims = list(parser)
    assert len(claims) == 6 and parser.transactions_read == 2
    assert max(len(c.other_payers) for c in claims) >= 3
    assert any(line.find("2430") for c in claims for line in c.lines)
    assert {f.code for f in parser.findings} >= {"ENV006", "C837007"}


def test_many_claims_file_streams_all_claims():
    parser = ClaimFile.open(corpus_file("ims_837_x12_many_claims.txt"))
    assert sum(1 for _ in parser) == 820
