import textwrap
from decimal import Decimal

import pytest

from edi.errors import EdiError, UnsupportedTransactionError
from edi.reader import X12Reader
from edi.segment import Delimiters

from cobpipe.claim837 import ClaimFile, Envelope, OriginalClaim, iter_claims, iter_claims_from_reader, \
    parse_claims_text, split_segments

from claim837_support import DATA

ISA = "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *260401*0930*^*00501*000000005*0*T*:~"


def wrap(body: str, version: str = "005010X222A1", code: str = "837") -> str:
    """An interchange around ST..SE `body` (BHT onwards), with a correct SE01."""
    segments = [s for s in textwrap.dedent(body).strip().splitlines() if s.strip()]
    return "\n".join([
        ISA, f"GS*HC*SENDER*RECEIVER*20260401*0930*5*X*{version}~", f"ST*{code}*0001*{version}~",
        *segments, f"SE*{len(segments) + 2}*0001~", "GE*1*5~", "IEA*1*000000005~"]) + "\n"


HEADER = """\
    BHT*0019*00*REF1*20260401*0930*CH~
    NM1*41*2*SUBMITTER*****46*S1~
    PER*IC*DESK*TE*5555550100~
    NM1*40*2*RECEIVER*****46*R1~
"""
PROVIDER = """\
    HL*1**20*1~
    NM1*85*2*CLINIC*****XX*1234567893~
    N3*1 MAIN ST~
    N4*TOWN*OR*97000~
    REF*EI*931234567~
"""
SUBSCRIBER = """\
    HL*2*1*22*0~
    SBR*P*18*G1******CI~
    NM1*IL*1*DOE*JO****MI*M1~
    NM1*PR*2*PLAN*****PI*P1~
"""


def claim(claim_id: str, charge: str = "10", line_charge: str | None = None) -> str:
    return f"""\
    CLM*{claim_id}*{charge}***11:B:1*Y*A*Y*Y~
    HI*ABK:J069~
    LX*1~
    SV1*HC:99213*{line_charge or charge}*UN*1***1~
    DTP*472*D8*20260320~
"""


def read(text: str, name: str = "in.837") -> tuple[list[OriginalClaim], ClaimFile]:
    parser = ClaimFile.from_text(text, name)
    return list(parser), parser


def codes(parser: ClaimFile) -> list[str]:
    return [f.code for f in parser.findings]


# --- reading in context -------------------------------------------------------------------------

def test_claims_carry_their_context_and_envelope_ids():
    parser = iter_claims(DATA / "grouping.837")
    claims = list(parser)
    assert parser.findings == [] and parser.claims_read == 6
    assert [c.id for c in claims] == ["CLAIM-A1", "CLAIM-A2", "CLAIM-B1", "CLAIM-B2", "CLAIM-B3", "CLAIM-C1"]
    a1, a2, b1, b2, b3, c1 = claims
    assert a1.envelope == Envelope(source=str(DATA / "grouping.837"), isa_sender_qualifier="ZZ",
                                   isa_sender="MAPLECLINIC", isa_receiver_qualifier="ZZ", isa_receiver="CLEARHOUSE",
                                   isa_control="000000042", gs_sender="MAPLECLINIC", gs_receiver="CLEARHOUSE",
                                   gs_control="42", version="005010X222A1", st_control="0042", usage="T")
    assert a1.bht_reference == "GRP0401" and str(a1.bht_date) == "2026-04-01"
    assert a1.submitter.first.get(9) == "MAPLE01" and a1.receiver.first.get(9) == "CLEARHOUSE"
    assert a1.submitter_id == "MAPLE01"
    # claims under one HL share its loop objects; the HL tree follows HL01/HL02
    assert a1.subscriber is a2.subscriber and a1.patient is None and a1.subscriber_is_patient
    assert b1.patient is b2.patient and b3.patient is not b1.patient and b1.subscriber is b3.subscriber
    assert b3.patient.first.get(2) == b3.subscriber.first.get(1) == "3"
    assert c1.billing_provider is not a1.billing_provider
    assert c1.billing_provider.child("2010AA").first.get(9) == "1555444334"
    # context loops hold no child HLs and no claims
    assert [loop.id for loop in a1.billing_provider.children] == ["2010AA", "2010AB"]
    assert [loop.id for loop in b1.subscriber.children] == ["2010BA", "2010BB"]
    assert [loop.id for loop in b1.patient.children] == ["2010CA"]
    assert b1.patient.segment("PAT").get(1) == "19"


def test_claim_properties():
    claims = parse_claims_text((DATA / "grouping.837").read_text())
    a1, b3 = claims[0], claims[4]
    assert a1.charge == Decimal("150") and a1.line_charge_total == Decimal("150")
    assert a1.frequency == "1" and a1.payer_id == "NW001" and a1.other_payers == []
    assert [line.first.get(1) for line in a1.lines] == ["1", "2"]
    assert a1.line_charge(a1.lines[1]) == Decimal("50")
    assert [loop.id for loop in b3.claim.children] == ["2310B", "2320", "2400"]
    (other,) = b3.other_payers
    assert [loop.id for loop in other.children] == ["2330A", "2330B"]
    assert other.child("2330B").segment("REF", "F8").get(2) == "PAYERCLAIM7"
    assert [loop.id for loop in b3.lines[0].children] == ["2420E", "2430"]
    assert b3.lines[0].child("2430").segment("DTP", "573").get(3) == "20260330"
    assert [loop.id for loop in claims[5].lines[0].children] == ["2410"]


def test_x222a2_is_read_as_837p():
    claims, parser = read(wrap(HEADER + PROVIDER + SUBSCRIBER + claim("A"), version="005010X222A2"))
    assert [c.id for c in claims] == ["A"] and parser.findings == []
    assert claims[0].envelope.version == "005010X222A2"


# --- unusable input -----------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "version"), [
    ("837", "005010X223A2"),  # institutional
    ("837", "005010X224A2"),  # dental
    ("835", "005010X221A1"),
    ("837", "004010X098A1"),
])
def test_other_transactions_raise_naming_the_file(code, version):
    text = wrap(HEADER + PROVIDER + SUBSCRIBER + claim("A"), version=version, code=code)
    with pytest.raises(UnsupportedTransactionError) as err:
        parse_claims_text(text, "wrong.x12")
    assert err.value.path == "wrong.x12" and "wrong.x12" in str(err.value)
    assert err.value.segment == 3  # the ST


def test_a_gs08_for_another_guide_is_refused_even_if_st03_says_837p():
    text = wrap(HEADER + PROVIDER + SUBSCRIBER + claim("A")).replace("*X*005010X222A1~", "*X*005010X223A2~")
    with pytest.raises(UnsupportedTransactionError):
        parse_claims_text(text, "mixed.x12")


# --- structural findings ------------------------------------------------------------------------

def test_claim_outside_a_subscriber_hl_is_a_finding_and_skipped():
    claims, parser = read(wrap(HEADER + PROVIDER + claim("LOST") + SUBSCRIBER + claim("OK")))
    assert [c.id for c in claims] == ["OK"]
    (finding,) = parser.findings
    assert finding.code == "C837001" and finding.location.claim == "LOST" and finding.location.tag == "CLM"
    assert finding.location.path == "in.837" and finding.location.segment == 13


def test_hl_with_an_unknown_parent_is_a_finding():
    orphan = SUBSCRIBER.replace("HL*2*1*22*0", "HL*2*9*22*0")
    claims, parser = read(wrap(HEADER + PROVIDER + orphan + claim("A")))
    assert [c.id for c in claims] == ["A"]
    assert codes(parser) == ["C837002"]
    patient = "HL*3*7*23*0~\nPAT*19~\nNM1*QC*1*DOE*KIM~\n"
    claims, parser = read(wrap(HEADER + PROVIDER + SUBSCRIBER.replace("22*0", "22*1") + patient + claim("B")))
    assert [c.id for c in claims] == ["B"] and codes(parser) == ["C837002"]


def test_hl_tree_problems_are_findings():
    # duplicate HL01, an unknown HL03, a subscriber without claims, HL04 that does not match
    body = (HEADER + PROVIDER + SUBSCRIBER + SUBSCRIBER.replace("HL*2*1*22*0", "HL*3*1*22*1") + claim("A")
            + SUBSCRIBER.replace("HL*2*1*22*0", "HL*3*1*99*0") + claim("B"))
    claims, parser = read(wrap(body))
    assert [c.id for c in claims] == ["A", "B"]
    assert codes(parser) == ["C837005", "C837009", "C837007", "C837003"]
    assert claims[1].subscriber.id == "2000B"  # level read from its parent, a billing provider


def test_unexpected_segments_stay_in_their_loop():
    odd = claim("A").replace("HI*ABK:J069~", "HI*ABK:J069~\n    ZZZ*1~").replace(
        "DTP*472*D8*20260320~", "DTP*472*D8*20260320~\n    NM1*ZZ*1*ODD~\n    N3*2 SIDE ST~")
    claims, parser = read(wrap(HEADER + PROVIDER + SUBSCRIBER + odd))
    (a,) = claims
    assert [s.tag for s in a.claim.segments] == ["CLM", "HI", "ZZZ"]
    assert [s.tag for s in a.lines[0].segments] == ["LX", "SV1", "DTP", "NM1", "N3"]
    assert codes(parser) == ["C837008", "C837008", "C837008"]
    assert parser.findings[0].location.loop == "2300" and parser.findings[0].location.claim == "A"


def test_out_of_order_segments_keep_their_place():
    # a 2300 REF after the 2310B loop: it belongs to 2300 and keeps its position
    text = claim("A").replace("LX*1~", "NM1*82*1*OAK*PETER****XX*1245319599~\n    REF*G1*AUTH1~\n    LX*1~")
    claims, parser = read(wrap(HEADER + PROVIDER + SUBSCRIBER + text))
    (a,) = claims
    assert [i.id if hasattr(i, "id") and not hasattr(i, "tag") else i.tag for i in a.claim.items] == [
        "CLM", "HI", "2310B", "2400"]
    assert a.claim.child("2310B").segment("REF").get(2) == "AUTH1"  # REF is also a 2310B segment
    assert parser.findings == []


def test_bad_amounts_are_findings_and_raise_only_when_used():
    claims, parser = read(wrap(HEADER + PROVIDER + SUBSCRIBER + claim("A", charge="1O", line_charge="x")))
    (a,) = claims
    assert codes(parser) == ["C837006", "C837006"]
    with pytest.raises(EdiError) as err:
        a.charge
    assert err.value.claim == "A" and err.value.path == "in.837"
    with pytest.raises(EdiError):
        a.line_charge_total


def test_bad_bht_date_is_a_warning():
    claims, parser = read(wrap((HEADER + PROVIDER + SUBSCRIBER + claim("A")).replace("20260401", "20261301")))
    assert codes(parser) == ["C837012"] and claims[0].bht_date is None


# --- streaming ----------------------------------------------------------------------------------

class CountingReader:
    """A stand-in reader that counts how many segments the parser pulled."""

    def __init__(self, text: str) -> None:
        self.inner = X12Reader.from_text(text, "big.837")
        self.name = "big.837"
        self.findings = self.inner.findings
        self.pulled = 0

    def __iter__(self):
        for seg in self.inner:
            self.pulled += 1
            yield seg


def test_claims_stream_one_at_a_time():
    text = wrap(HEADER + PROVIDER + SUBSCRIBER + "".join(claim(f"C{n}") for n in range(2000)))
    reader = CountingReader(text)
    parser = iter_claims_from_reader(reader)
    first = next(parser)
    assert first.id == "C0" and reader.pulled < 30  # one claim read ahead at most
    rest = list(parser)
    assert len(rest) == 1999 and reader.pulled == 3 + 4 + 5 + 4 + 2000 * 5 + 3


# --- storage form -------------------------------------------------------------------------------

def test_storage_form_round_trips():
    for original in iter_claims(DATA / "grouping.837"):
        text = original.to_x12()
        assert text.startswith("BHT*0019*00*GRP0401*") and "ISA" not in text and "ST*837" not in text
        back = OriginalClaim.from_x12(text, envelope=original.envelope)
        assert back.content_key() == original.content_key()
        assert back.to_x12() == text and back.envelope == original.envelope
        assert back.id == original.id and back.payer_id == original.payer_id
        assert (back.patient is None) == (original.patient is None)
        other = Delimiters("|", ">", "!", "\n", "")
        assert OriginalClaim.from_x12(original.to_x12(other), other).content_key() == original.content_key()


def test_storage_form_with_layout_reads_as_the_plain_form():
    """The plain form (one segment a line) is split without stripping each piece; any other layout
    (CRLF, indentation, blank lines, no line breaks) is stripped the careful way, to the same segments."""
    original = next(iter(iter_claims(DATA / "grouping.837")))
    text = original.to_x12()
    plain = split_segments(text)
    assert [s.index for s in plain] == [s.line for s in plain] == list(range(1, len(plain) + 1))
    for variant in (text.replace("~\n", "~\r\n"), "  " + text.replace("~\n", "~\n\t"),
                    text.replace("~\n", "~\n\n"), text.replace("~\n", "~")):
        assert [(s.tag, s.elements) for s in split_segments(variant)] == [(s.tag, s.elements) for s in plain]
    assert [s.line for s in split_segments(text.replace("~\n", "~\n\n"))][:3] == [1, 3, 5]


def test_storage_form_holds_exactly_one_claim():
    claims = parse_claims_text((DATA / "grouping.837").read_text())
    with pytest.raises(EdiError):
        OriginalClaim.from_x12(claims[0].to_x12() + claims[1].claim.to_x12())
    with pytest.raises(EdiError):
        OriginalClaim.from_x12(claims[0].to_x12().split("CLM*")[0])


def test_envelope_dict_round_trip():
    env = next(iter_claims(DATA / "grouping.837")).envelope
    assert Envelope.from_dict({**env.to_dict(), "unknown": "x"}) == env


def test_the_reader_keeps_no_claim_it_has_yielded():
    import gc
    import weakref

    subscribers = "".join(SUBSCRIBER.replace("HL*2*", f"HL*{n + 2}*") + claim(f"C{n}") for n in range(500))
    parser = ClaimFile.from_text(wrap(HEADER + PROVIDER + subscribers), "big.837")
    refs = [weakref.ref(next(parser)) for _ in range(400)]
    gc.collect()
    assert sum(ref() is not None for ref in refs) <= 1  # at most the last one, still being built on
    assert len(list(parser)) == 100 and parser.findings == []


def test_guide_named_loops_replace_and_copy():
    a1 = next(iter_claims(DATA / "grouping.837"))
    assert a1.loop_2010aa.first.get(1) == "85" and a1.loop_2010ba.first.get(1) == "IL"
    assert a1.loop_2010bb is a1.payer and a1.loop_2010ca is None
    other = a1.replace(patient=None, claim=a1.claim.copy())
    assert other.subscriber is a1.subscriber and other.claim is not a1.claim
    with pytest.raises(TypeError):
        a1.replace(lines=[])
    deep = a1.copy()
    deep.claim.remove(deep.lines[0])
    deep.subscriber.remove(deep.subscriber.segment("SBR"))
    assert len(a1.lines) == 2 and a1.sbr is not None and len(deep.lines) == 1 and deep.sbr is None


def test_closing_stops_reading(tmp_path):
    path = tmp_path / "x.837"
    path.write_text(wrap(HEADER + PROVIDER + SUBSCRIBER + claim("A") + claim("B")))
    with ClaimFile.open(path) as parser:
        assert next(parser).id == "A"
    with pytest.raises(StopIteration):
        next(parser)


def test_every_hl_without_claims_is_reported():
    empty_provider = PROVIDER.replace("HL*1**20*1", "HL*3**20*1")
    dependents = (SUBSCRIBER.replace("HL*2*1*22*0", "HL*2*1*22*1")
                  + "HL*3*2*23*0~\nPAT*19~\nNM1*QC*1*DOE*KIM~\n")
    body = HEADER + PROVIDER + dependents + SUBSCRIBER.replace("HL*2*", "HL*4*") + claim("A") + empty_provider
    claims, parser = read(wrap(body.replace("HL*3**20*1", "HL*5**20*1")))
    assert [c.id for c in claims] == ["A"]
    reported = [(f.code, f.location.tag, f.location.loop) for f in parser.findings]
    assert reported == [("C837005", "HL", "2000C"), ("C837005", "HL", "2000B"), ("C837005", "HL", "2000A")]


def test_patient_hl_after_a_later_subscriber_hl_reads_under_its_parent():
    # HL 4 (patient) names subscriber HL 2 although subscriber HL 3 came in between
    first = SUBSCRIBER.replace("HL*2*1*22*0", "HL*2*1*22*1")
    second = SUBSCRIBER.replace("HL*2*1*22*0", "HL*3*1*22*0").replace("MI*M1", "MI*M3").replace("PI*P1", "PI*P3")
    patient = "HL*4*2*23*0~\nPAT*19~\nNM1*QC*1*DOE*KIM~\n"
    body = HEADER + PROVIDER + first + second + claim("A") + patient + claim("B")
    claims, parser = read(wrap(body))
    assert [c.id for c in claims] == ["A", "B"]
    assert claims[0].subscriber.first.get(1) == "3" and claims[0].payer_id == "P3"
    assert claims[1].subscriber.first.get(1) == "2" and claims[1].payer_id == "P1"
    assert claims[1].patient.first.get(2) == "2"
    # subscriber HL 2 has a claim after all: no C837005 for it, and the odd order is a warning
    (finding,) = parser.findings
    assert finding.code == "C837002" and finding.severity.name == "WARNING"
    assert finding.location.segment == 26 and "DOE" not in finding.message
