"""ClaimRows (the index's reader) gives exactly the ledger rows of the full parse + to_x12."""
from pathlib import Path

import pytest

from edi.segment import Delimiters
from edi.writer import serialize

from cobpipe.claim837 import ClaimFile
from cobpipe.claim837.rows import ClaimRows
from cobpipe.ledger.core import _envelope_json, claim_key
from cobpipe.synth import generate

from claim837_support import DATA, corpus_files

REPO = Path(__file__).resolve().parents[3]
SAMPLES = [REPO / "samples/cob/claims.837", REPO / "samples/cob/seed-claims.837",
           REPO / "samples/bad/837p-missing-hi-bad-pos.837", DATA / "grouping.837"]

ISA = "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *260401*0930*^*00501*000000005*0*T*:~"
HEADER = ["BHT*0019*00*REF1*20260401*0930*CH", "NM1*41*2*SUBMITTER*****46*S1", "NM1*40*2*RECEIVER*****46*R1"]
PROVIDER = ["HL*1**20*1", "NM1*85*2*CLINIC*****XX*1234567893", "N3*1 MAIN ST", "N4*TOWN*OR*97000"]


def subscriber(hl: str, parent: str, child: str, member: str, payer: str) -> list[str]:
    return [f"HL*{hl}*{parent}*22*{child}", "SBR*P*18*G1******CI", f"NM1*IL*1*DOE*JO****MI*{member}",
            f"NM1*PR*2*PLAN*****PI*{payer}"]


def claim(claim_id: str) -> list[str]:
    return [f"CLM*{claim_id}*10***11:B:1*Y*A*Y*Y", "HI*ABK:J069", "LX*1", "SV1*HC:99213*10*UN*1***1",
            "DTP*472*D8*20260320"]


def wrap(segments: list[str]) -> str:
    body = ["ST*837*0001*005010X222A1", *segments, f"SE*{len(segments) + 2}*0001"]
    return "\n".join([ISA, "GS*HC*SENDER*RECEIVER*20260401*0930*5*X*005010X222A1~", *(s + "~" for s in body)]
                     ) + "\nGE*1*5~\nIEA*1*000000005~\n"


def expected(path: Path, only=None) -> list[tuple]:
    return [(*claim_key(c), c.to_x12(), _envelope_json(c)) for c in ClaimFile.open(path)
            if only is None or c.id in only]


def assert_same_rows(path: Path, only=None) -> list[tuple]:
    rows = ClaimRows.open(path, only=only)
    got = list(rows)
    assert got == expected(path, only)
    full = ClaimFile.open(path)
    list(full)
    # the same envelope and HL findings; only the checks inside a 2300 wait for the claim's parse
    inside_a_claim = {"C837006", "C837008"}
    assert [f for f in rows.findings if f.code not in inside_a_claim] == [
        f for f in full.findings if f.code not in inside_a_claim]
    return got


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_samples(path):
    assert assert_same_rows(path)


CORPUS = corpus_files()


@pytest.mark.skipif(not CORPUS, reason="public corpus not available")
@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_corpus(path):
    assert_same_rows(path)


def test_synthetic_claims_with_patients_and_several_transactions(tmp_path):
    _, claims = generate(300, tmp_path, seed=3, patient_fraction=0.5, claims_per_837=70)
    rows = assert_same_rows(claims)
    assert len(rows) == 300


def test_only_the_claims_asked_for(tmp_path):
    _, claims = generate(60, tmp_path, seed=4)
    wanted = frozenset(c.id for c in list(ClaimFile.open(claims))[::7])
    assert len(assert_same_rows(claims, wanted)) == len(wanted)


def test_irregular_hierarchies_and_segments(tmp_path):
    # a claim outside any subscriber (skipped), a patient HL naming an earlier subscriber, an
    # unknown HL03 read from its parent, segments out of place inside a claim, a subscriber with
    # several claims, a segment before the BHT
    first = subscriber("2", "1", "1", "M1", "P1")
    second = subscriber("3", "1", "0", "M3", "P3")
    patient = ["HL*4*2*23*0", "PAT*19", "NM1*QC*1*DOE*KIM"]
    odd = claim("ODD")[:2] + ["ZZZ*1", "NM1*82*1*OAK*PETER****XX*1245319599", "REF*G1*AUTH1"] + claim("ODD")[2:]
    unknown = subscriber("5", "1", "0", "M5", "P5")
    unknown[0] = "HL*5*1*99*0"
    segments = (["REF*87*X"] + HEADER + PROVIDER + claim("LOST") + first + second + claim("A") + odd
                + patient + claim("B") + claim("C") + unknown + claim("D"))
    path = tmp_path / "odd.837"
    path.write_text(wrap(segments))
    rows = assert_same_rows(path)
    assert [(r[0], r[2]) for r in rows] == [("A", "P3"), ("ODD", "P3"), ("B", "P1"), ("C", "P1"), ("D", "P5")]


def test_other_delimiters_and_layouts(tmp_path):
    source = SAMPLES[0]
    segments = list(ClaimFile.open(source).reader)
    other = Delimiters(element="|", component=">", repetition="!", segment="\n", suffix="")
    redelimited = tmp_path / "other.837"
    redelimited.write_text("".join(serialize(s, other) for s in segments))
    one_line = tmp_path / "one-line.837"
    one_line.write_text(source.read_text().replace("\n", ""))
    crlf = tmp_path / "crlf.837"
    crlf.write_bytes(source.read_bytes().replace(b"\n", b"\r\n"))
    reference = expected(source)
    for path in (redelimited, one_line, crlf):
        rows = assert_same_rows(path)
        assert [row[:4] for row in rows] == [row[:4] for row in reference]  # the envelope names the file


def test_a_truncated_file_is_reported_like_the_full_parse(tmp_path):
    text = SAMPLES[0].read_text()
    path = tmp_path / "cut.837"
    path.write_text(text[: len(text) * 2 // 3])
    assert_same_rows(path)
