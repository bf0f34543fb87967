"""cob.remits_fast reads a clean 835 into exactly the RemitClaims (every field, `payments` included)
and claim-less findings that the general reader + from_era.remit_claim give (RemitStream with
plain=True, the reference): samples, era golden cases, the corpus, generated and mutated files,
and claims drawn by hypothesis; and it is the path taken for clean files."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cobpipe.cob.decision import ConvertOptions
from cobpipe.cob.remits import RemitStream
from cobpipe.pipeline import scan_era
from cobpipe.synth import generate_set
from edi.errors import EdiError
from mutate import apply_edits

REPO = Path(__file__).parents[3]
CORPUS = REPO.parent / "shared" / "corpus" / "835"
TODAY = dt.date(2026, 3, 25)


def outcome(path: Path, plain: bool, only: frozenset[str] | None = None):
    """(the (header, RemitClaim) pairs with each claim's payments read, the claim-less findings,
    the stream) or the refusal in words."""
    try:
        scan = scan_era(path, plain=plain)
        stream = RemitStream(scan, ConvertOptions(plain=plain, today=TODAY, only_claims=only))
        pairs = list(stream)
    except EdiError as exc:
        return (type(exc).__name__, str(exc)), None
    # payments compared on their own too: a deferred list must read as the reference's list
    return ([(h, r, list(r.payments), r.findings) for h, r in pairs], list(stream.findings)), stream


def same(path: Path, only: frozenset[str] | None = None) -> RemitStream | None:
    """Asserts both readers agree on the file; the fast stream (None when the file was refused)."""
    expected, _ = outcome(path, plain=True, only=only)
    actual, stream = outcome(path, plain=False, only=only)
    assert actual == expected, path.name
    return stream


def test_samples_and_era_golden_cases():
    files = [*sorted((REPO / "samples").glob("**/*.835")), *sorted((REPO / "tests" / "golden").glob("*/era.835"))]
    assert len(files) > 20
    fast = 0
    for path in files:
        stream = same(path)
        fast += stream.fast if stream is not None else 0
    assert fast > 20


def test_the_fast_read_is_taken_for_a_clean_sample():
    """Fails when the fast read silently stops being used (a clean, balanced sample)."""
    stream = same(REPO / "samples" / "cob" / "era.835")
    assert stream is not None and stream.slow == 0 and stream.fast == 14


def test_plain_is_the_general_reader():
    _, stream = outcome(REPO / "samples" / "cob" / "era.835", plain=True)
    assert stream.fast == 0 and stream.slow == 14


def test_only_claims():
    path = REPO / "samples" / "cob" / "era.835"
    (pairs, _), _ = outcome(path, plain=True)
    wanted = frozenset(r.claim_id for _, r, _, _ in pairs[::3])
    stream = same(path, only=wanted)
    assert stream is not None and stream.fast == 14  # every claim is read (totals), only some handed on


def test_corpus():
    if not CORPUS.is_dir():
        pytest.skip(f"public corpus not found at {CORPUS}")
    for path in sorted(CORPUS.iterdir()):
        same(path)


@pytest.mark.parametrize("seed,knobs", [
    (1, {}),
    (2, dict(claims_per_835=5, plb_fraction=1.0, reversal_fraction=0.3, crossover_fraction=0.3)),
    (3, dict(unbalanced_fraction=0.3, denial_fraction=0.3, claim_cas_fraction=0.5, max_lines=8)),
    (4, dict(bundled_fraction=0.3, oa23_fraction=0.3, patient_fraction=0.5, rendering_fraction=0.5)),
])
def test_generated(seed, knobs, tmp_path):
    made = generate_set(300, tmp_path, seed=seed, **knobs)
    stream = same(made.era)
    assert stream is not None and stream.fast > 200
    if knobs.get("unbalanced_fraction"):
        assert stream.slow > 0  # an unbalanced claim is the parser's, with its findings
    flat = tmp_path / "flat.835"
    flat.write_bytes(made.era.read_bytes().replace(b"~\n", b"~"))
    assert same(flat).fast == stream.fast


def test_claims_span_chunks(tmp_path, monkeypatch):
    """Chunks are cut before a CLP: with tiny reads a chunk holds one claim or grows to hold one."""
    from cobpipe.cob import remits_fast

    made = generate_set(40, tmp_path, seed=5, max_lines=8, claims_per_835=7)
    expected = same(made.era)
    monkeypatch.setattr(remits_fast, "READ_BYTES", 37)
    assert same(made.era).fast == expected.fast


def test_claims_handed_on_in_batches(tmp_path, monkeypatch):
    """FastRemits reads BATCH claims in a row (cache effects, see __iter__): any size, the same claims."""
    from cobpipe.cob import remits_fast

    made = generate_set(40, tmp_path, seed=5, max_lines=8, claims_per_835=7)
    expected = same(made.era)
    for size in (1, 3, 40, 41):
        monkeypatch.setattr(remits_fast, "BATCH", size)
        assert same(made.era).fast == expected.fast


def test_an_error_comes_after_the_claims_read_before_it(tmp_path, monkeypatch):
    """A batch cut short by an error is handed on first: the claims read before it reach the converter."""
    import os

    from cobpipe.cob import remits_fast

    made = generate_set(12, tmp_path, seed=3, claims_per_835=12)
    scan = scan_era(made.era)
    data = made.era.read_bytes()
    ids = [segment.split(b"*")[1].decode() for segment in data.replace(b"\n", b"").split(b"~")
           if segment.startswith(b"CLP*")]
    assert len(ids) == 12 and data.count(b"NM1*QC*") >= 3
    before = os.stat(made.era)
    with made.era.open("r+b") as stream:  # one segment more, same size and time: found at the end only
        stream.write(data.replace(b"NM1*QC*", b"NM1~QC*", 1))
    os.utime(made.era, ns=(before.st_atime_ns, before.st_mtime_ns))
    for size in (1, 5, 64):
        monkeypatch.setattr(remits_fast, "BATCH", size)
        read = []
        with pytest.raises(EdiError, match="changed while it was being converted"):
            for _, remit in RemitStream(scan, ConvertOptions(today=TODAY)):
                read.append(remit.claim_id)
        assert read == [i.strip() for i in ids]


def test_a_file_changed_after_the_scan_is_refused_in_one_line(tmp_path):
    made = generate_set(5, tmp_path, seed=3)
    scan = scan_era(made.era)
    with made.era.open("ab") as stream:
        stream.write(b"\n")
    with pytest.raises(EdiError, match="changed while it was being converted"):
        list(RemitStream(scan, ConvertOptions(today=TODAY)))


_BASE: dict[str, bytes] = {}
PIECES = [b"~", b"*", b"\n", b" ", b":", b">", b"^", b"0", b"1", b"-", b".", b"X", b"CLP*", b"SE*", b"~LX*1~",
          b"~CLP*X*1*10*5*5*12*ICN~", b"~SVC*HC:99213*10*5~", b"~SVC*HC>99213>25*10*10~", b"~CAS*PR*1*5~",
          b"~CAS*CO*45*0~", b"~DTM*472*20261399~", b"~DTM*233*20260101~", b"~LQ*HE*N130~", b"~MOA***MA01~",
          b"~NM1*TT*2*CARRIER*****PI*C1~", b"~NM1*PR*2*OTHER~", b"~PLB*1*20261231*L6*-1~", b"~TS3*1~",
          b"~REF*6R*A1~", b"~AMT*B6*1x~", b"~QTY*ZK*2~", b"~MIA*1~", b"~PER*CX~", b"~N1*XX*Y~"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.floats(0, 1), st.sampled_from(PIECES), st.integers(0, 3)), min_size=1, max_size=4),
       st.booleans())
def test_mutated_files(tmp_path_factory, edits, flat):
    if "text" not in _BASE:
        _BASE["text"] = generate_set(6, tmp_path_factory.mktemp("base"), seed=7, claims_per_835=3,
                                     crossover_fraction=0.5).era.read_bytes()
    path = tmp_path_factory.mktemp("mutated") / "era.835"
    path.write_bytes(apply_edits(_BASE["text"], edits, flat))
    same(path)


# --- claims drawn by hypothesis, balanced or not, with the segments and values a claim can hold ---

# each vocabulary: values the fast read vouches for, then values the parser reports (a claim drawn
# "odd" may take those, so both the fast read and its hand-over to the parser are exercised)
AMOUNTS = (["10", "10.00", "0.5", "-5", "2.5", "7.125", "1"], ["0", "0.00", "", " 3", "1e2", "x", "-0",
                                                                 "12345678901234567890.5"])
CODES = (["HC:99213", "HC:99213:25:59::::DESC", "HC:99213:25", "AD:D0120", "HC:99213::::::X"],
         ["HC", "HC:", "HC>99213", "99213", ":99213", ""])
GROUPS = (["CO", "PR", "OA", "PI"], ["XX", ""])
REASONS = (["45", "1", "2"], [""])
QUANTITIES = (["", "", "1"], ["x", " "])
CLAIM_SEGMENTS = (["NM1*QC*1*DOE*JO****MI*M1", "NM1*IL*1*DOE*AL****MI*M2", "NM1*QC*1*X", "NM1*TT*2*CARRIER*****PI*C1",
                   "NM1*TT*1*LAST*FIRST*MID**JR*PI*C2", "NM1*TT*2*NO ID", "NM1*PR*2*OTHER PAYER*****PI*P2",
                   "NM1*82*1*DOC", "DTM*050*20260101", "DTM*232*20260101", "DTM*233*20260101", "DTM*233*20260105",
                   "DTM*233*", "REF*F8*X", "AMT*AU*10", "QTY*CA*1", "MOA***MA01*MA02", "MOA*1.5*2*N1",
                   "MIA*1***4*MA1", "MIA*1*2*3*4*****************R1*R2", "PER*CX*NAME"],
                  ["DTM*232*2026", "AMT*AU*y", "MOA*x", "LQ*HE*N1", "TS3*1", "ZZZ*1", "QTY*CA* "])
LINE_SEGMENTS = (["DTM*472*20260101", "DTM*150*20260102", "DTM*151*20260103", "DTM*472*", "REF*6R*L1", "REF*6R",
                  "REF*LU*X", "AMT*B6*50", "AMT*B6*", "QTY*ZK*1", "LQ*HE*N130", "LQ*RX"],
                 ["DTM*472*20260230", "NM1*QC*1*LATE", "MOA***N2", "PER*CX", "AMT*B6*q"])
REVENUE = (["", "0450"], ["AB"])
UNITS = (["", "1", "2.0"], ["z"])
ORIGINALS = (["", "HC:99214", "HC:99214:26", ":99214"], ["HC", "HC:"])
STATUSES = (["1", "2", "4", "19", "22"], ["99", ""])


def pick(draw, vocabulary: tuple[list[str], list[str]], odd: bool) -> str:
    good, bad = vocabulary
    return draw(st.sampled_from(good + bad if odd else good))


def _cas(draw, odd: bool) -> tuple[str, Decimal, Decimal]:
    group = pick(draw, GROUPS, odd)
    triplets = [(pick(draw, REASONS, odd), pick(draw, AMOUNTS, odd), pick(draw, QUANTITIES, odd))
                for _ in range(draw(st.integers(1 - odd, 6 + odd)))]
    text = "*".join([group] + [f"{r}*{a}*{q}" for r, a, q in triplets]).rstrip("*")
    total = sum((Decimal(a) for _, a, _ in triplets if a.strip() and a.strip().lstrip("-").replace(".", "").isdigit()),
                Decimal(0))
    pr = total if group == "PR" else Decimal(0)
    return f"CAS*{text}", total, pr


@st.composite
def claim_text(draw, number: int) -> tuple[list[str], Decimal]:
    """A claim's segments, and CLP04 (for BPR02)."""
    odd = draw(st.integers(0, 2)) == 0
    balanced = draw(st.integers(0, 4)) > 0
    segments: list[str] = []
    cas_total = pr_total = Decimal(0)
    claim_level = []
    for _ in range(draw(st.integers(0, 2))):
        cas, total, pr = _cas(draw, odd)
        claim_level.append(cas)
        cas_total, pr_total = cas_total + total, pr_total + pr
    extras = [pick(draw, CLAIM_SEGMENTS, odd) for _ in range(draw(st.integers(0, 4)))]
    lines = []
    charge_total = paid_total = Decimal(0)
    for _ in range(draw(st.integers(0, 3))):
        charge = draw(st.sampled_from(["100", "100.00", "40", "0", "-20"]))
        line = []
        line_cas = Decimal(0)
        for _ in range(draw(st.integers(0, 2))):
            cas, total, pr = _cas(draw, odd)
            line.append(cas)
            line_cas, pr_total = line_cas + total, pr_total + pr
        paid = Decimal(charge) - line_cas if balanced else draw(st.sampled_from([Decimal(1), Decimal(0)]))
        svc = (f"SVC*{pick(draw, CODES, odd)}*{charge}*{paid}*{pick(draw, REVENUE, odd)}*{pick(draw, UNITS, odd)}"
               f"*{pick(draw, ORIGINALS, odd)}")
        svc += f"*{draw(st.sampled_from(['', '2', 'w'] if odd else ['', '2']))}" if draw(st.booleans()) else ""
        line.insert(0, svc.rstrip("*"))
        line += [pick(draw, LINE_SEGMENTS, odd) for _ in range(draw(st.integers(0, 3)))]
        lines.append(draw(st.permutations(line)) if odd and draw(st.integers(0, 9)) == 0 else line)
        charge_total += Decimal(charge)
        paid_total += paid
    if balanced:  # CLP04 = CLP03 - every CAS, the lines' being CLP03 - their SVC03s
        charge, paid = charge_total, paid_total - cas_total
    else:
        charge, paid = draw(st.sampled_from([Decimal(10), Decimal(0)])), Decimal(3)
    pr = pr_total if balanced else draw(st.sampled_from([Decimal(0), Decimal(5)]))
    status = pick(draw, STATUSES, odd)
    clp_id = pick(draw, ([f"C{number}", f" C{number} ", "C1"], [""]), odd)
    pr_text = draw(st.sampled_from([str(pr), "", "0.00"])) if pr == 0 else str(pr)
    tail = pick(draw, (["", "*11*1", "*11*1****1.5*0.5"], ["*11*1****x"]), odd)
    segments.append(f"CLP*{clp_id}*{status}*{charge}*{paid}*{pr_text}*12*ICN{number}{tail}")
    segments += claim_level + extras
    for line in lines:
        segments += line
    return segments, paid


@st.composite
def era_text(draw) -> str:
    body = ["LX*1"]
    total = Decimal(0)
    for number in range(draw(st.integers(1, 4))):
        segments, paid = draw(claim_text(number))
        body += segments
        total += paid
    if draw(st.booleans()):
        body.append("PLB*1234567893*20261231*L6*-1.5")
        total += Decimal("1.5")
    amount = abs(total) if draw(st.booleans()) else Decimal(1)
    st_lines = ["ST*835*0001*005010X221A1",
                f"BPR*I*{amount}*{'C' if total >= 0 else 'D'}*ACH*CCP*01*999999992*DA*123456*1512345678**01*999988880"
                "*DA*98765*20260105",
                "TRN*1*EFT1*1512345678", "DTM*405*20260104", "N1*PR*SYNTHETIC HEALTH PLAN*XV*SYN01",
                "N1*PE*EXAMPLE CLINIC*XX*1234567893", *body]
    st_lines.append(f"SE*{len(st_lines) + 1}*0001")
    segments = ["ISA*00*          *00*          *ZZ*PAYERSYNTH     *ZZ*PROVSYNTH      *260105*1200*^*00501*000000101*0*T*:",
                "GS*HP*PAYERSYNTH*PROVSYNTH*20260105*1200*101*X*005010X221A1", *st_lines, "GE*1*101",
                "IEA*1*000000101"]
    end = draw(st.sampled_from(["~\n", "~"]))
    return "".join(s + end for s in segments)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(era_text())
def test_drawn_claims_read_as_the_general_reader_reads_them(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("drawn") / "era.835"
    path.write_text(text, encoding="ascii")
    same(path)


BALANCED_CLAIM = ["LX*1", "CLP*A1*1*100*80*20*12*ICN", "NM1*QC*1*DOE*JO****MI*M1", "DTM*232*20260101",
                  "SVC*HC:99213:25*100*80**1", "DTM*472*20260101", "CAS*PR*1*20", "REF*6R*L1", "AMT*B6*100",
                  "LQ*HE*N130"]


def one_claim_era(path: Path, lines: list[str]) -> Path:
    st_lines = ["ST*835*0001*005010X221A1", "BPR*I*80*C*ACH*CCP*01*999999992*DA*123456*1512345678**01*999988880*DA"
                "*98765*20260105", "TRN*1*EFT1*1512345678", "N1*PR*PLAN", "N1*PE*CLINIC*XX*1234567893", *lines]
    st_lines.append(f"SE*{len(st_lines) + 1}*0001")
    segments = ["ISA*00*          *00*          *ZZ*PAYERSYNTH     *ZZ*PROVSYNTH      *260105*1200*^*00501*000000101*0*T*:",
                "GS*HP*PAYERSYNTH*PROVSYNTH*20260105*1200*101*X*005010X221A1", *st_lines, "GE*1*101",
                "IEA*1*000000101"]
    path.write_text("".join(s + "~\n" for s in segments), encoding="ascii")
    return path


def test_a_balanced_claim_like_the_drawn_ones_is_read_fast(tmp_path):
    """A claim like those drawn above, balanced and with nothing odd: the fast read's."""
    stream = same(one_claim_era(tmp_path / "era.835", BALANCED_CLAIM))
    assert stream is not None and (stream.fast, stream.slow) == (1, 0)


# balanced claims of every CAS shape: a line of two CAS, a line of none, claim-level CAS, none at all;
# dates repeated from line to line, changed, and of other qualifiers in between
SHAPED_CLAIMS = ["LX*1",
                 "CLP*A2*1*300*170*30*12*ICN2", "CAS*CO*45*10", "SVC*HC:99213*100*60**1", "DTM*472*20260101",
                 "CAS*CO*45*20", "CAS*PR*1*20", "SVC*HC:99214*120*120**1", "DTM*472*20260101",
                 "SVC*HC:99215*80*0**1", "DTM*472*20260102", "DTM*150*20260102", "CAS*CO*45*70",
                 "CAS*PR*2*5", "CAS*PR*2*5", "SVC*HC:99212*0*0**1", "DTM*150*20260102", "DTM*151*20260103",
                 "CLP*A3*1*50*50*0*12*ICN3", "SVC*HC:99213*50*50**1", "DTM*472*20260102",
                 "CLP*A4*1*50*40*10*12*ICN4", "CAS*PR*1*10", "DTM*232*20260101", "DTM*233*20260101",
                 "SVC*HC:99213*50*50**1", "SVC*HC:99213*-5*-5**1", "DTM*472*20260105",
                 "CLP*A5*22*-50*-40**12*ICN5", "CAS*PR*1*-10", "SVC*HC:99213*-50*-50**1"]


def test_balanced_claims_of_every_cas_and_date_shape_are_read_fast(tmp_path):
    """The claim reader's balancing sums start at their first term (not at ZERO: only their values
    are compared) and a DTM repeating the last one is not read again: such claims are read fast and
    as the general reader reads them."""
    stream = same(one_claim_era(tmp_path / "era.835", SHAPED_CLAIMS))
    assert stream is not None and (stream.fast, stream.slow) == (4, 0)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["20", "20.0", "20.00", "20.000", "19.995", "0.5", "7.25", "1.125"]),
                min_size=4, max_size=4))
def test_the_fast_reads_whole_cents_is_the_builders(tmp_path_factory, amounts):
    """RemitClaim.whole_cents as the fast read tells it (True, or None: not known) is what the
    builder's adjudication._whole_cents answers from the claim's amounts (CLP04, CLP05, claim and
    line CAS, SVC03), each of them drawn with 0-3 decimals."""
    from cobpipe.cob.adjudication import _whole_cents

    def written(value: Decimal) -> str:  # CLP04 and CLP05 in cents when they are: each amount's own exponent
        return f"{value:.2f}" if value == round(value, 2) else str(value)

    co, pr, claim_co, paid = amounts
    line_paid = Decimal(paid)
    charge = Decimal(co) + Decimal(pr) + line_paid
    path = one_claim_era(tmp_path_factory.mktemp("cents") / "era.835", [
        "LX*1", f"CLP*A1*1*{charge}*{written(line_paid - Decimal(claim_co))}*{written(Decimal(pr))}*12*ICN",
        f"CAS*CO*45*{claim_co}",
        f"SVC*HC:99213*{charge}*{paid}**1", f"CAS*CO*45*{co}", f"CAS*PR*1*{pr}"])
    (pairs, _), stream = outcome(path, plain=False)
    assert (stream.fast, stream.slow) == (1, 0)
    claim = pairs[0][1]
    told, claim.whole_cents = claim.whole_cents, None
    assert told is (True if _whole_cents(claim) else None)


@pytest.mark.parametrize("units", ["1", "1.0", "01", "2", ""])
def test_a_lines_units_read_as_the_general_reader_writes_them(tmp_path, units):
    """SVC05 as the general reader reads it, digit for digit (equal Decimals may differ in exponent,
    which an SVD05 would show): one unit, nearly every line, is not parsed."""
    path = one_claim_era(tmp_path / "era.835", [f"SVC*HC:99213:25*100*80**{units}" if s.startswith("SVC")
                                                else s for s in BALANCED_CLAIM])
    (general, _), _ = outcome(path, plain=True)
    (fast, _), stream = outcome(path, plain=False)

    def units_of(pairs) -> list:
        return [None if line.paid_units is None else line.paid_units.as_tuple()
                for _, claim, _, _ in pairs for line in claim.lines]

    assert stream.fast == 1 and units_of(fast) == units_of(general)


@pytest.mark.parametrize("ref", ["REF*6R*L1*MORE", "REF*6R", "REF*6R*", "REF*6RX*L1", "REF*LU*6R*L1"])
def test_a_lines_ref_6r_reads_as_the_general_reader_reads_it(tmp_path, ref):
    stream = same(one_claim_era(tmp_path / "era.835", [ref if s == "REF*6R*L1" else s for s in BALANCED_CLAIM]))
    assert stream is not None and (stream.fast, stream.slow) == (1, 0)


@pytest.mark.parametrize("kept, odd", [("DTM*472*20260101", "DTP*472*20260101"), ("CAS*PR*1*20", "CAT*PR*1*20"),
                                       ("CAS*PR*1*20", "CA*PR*1*20"), ("AMT*B6*100", "AMX*B6*100"),
                                       ("AMT*B6*100", "AM*B6*100"), ("NM1*QC*1*DOE*JO****MI*M1", "NM2*QC*1*DOE"),
                                       ("SVC*HC:99213:25*100*80**1", "SVD*HC:99213:25*100*80**1"),
                                       ("AMT*B6*100", "QTZ*ZK*1"), ("REF*6R*L1", "RE*6R*L1"),
                                       ("REF*6R*L1", "RFF*6R*L1")])
def test_a_tag_sharing_a_read_tags_first_letters_is_left_to_the_parser(tmp_path, kept, odd):
    """The claim reader tells CAS, DTM, SVC, AMT/QTY, NM1 and REF apart by their first character and
    checks the tag where it reads the segment: another tag in their place (ERA008) goes to the parser."""
    stream = same(one_claim_era(tmp_path / "era.835", [odd if s == kept else s for s in BALANCED_CLAIM]))
    assert stream is not None and (stream.fast, stream.slow) == (0, 1)


def test_deferred_payments_read_as_a_list_wherever_the_claim_goes():
    """A fast claim's payments are made when first read: by a pickle (batch workers), a copy, or
    dataclasses.replace, as by the paper EOB."""
    import copy
    import dataclasses
    import pickle

    from cobpipe.cob.remit import RemitClaim

    path = REPO / "samples" / "cob" / "era.835"
    (expected, _), _ = outcome(path, plain=True)
    scan = scan_era(path)
    fast = [r for _, r in RemitStream(scan, ConvertOptions(today=TODAY))]
    slot = RemitClaim.__dict__["payments"].slot
    assert all(type(slot.__get__(r)) is tuple for r in fast)  # not made until read (a tuple: deferred)
    for remit, (_, reference, payments, _) in zip(fast, expected):
        for other in (pickle.loads(pickle.dumps(remit)), copy.deepcopy(remit), dataclasses.replace(remit)):
            assert other == reference and type(other.payments) is list and other.payments == payments
        assert type(slot.__get__(remit)) is list  # read once, kept


_TEXT = st.text(max_size=6)
_MONEY = st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-10**6, max_value=10**6)
_DAY = st.none() | st.dates()


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_the_unfrozen_makers_make_what_the_classes_make(data):
    """from_era's makers (a twin filled, then its __class__ assigned) give cls(...): equal, same hash and
    repr, frozen, picklable, of the class itself."""
    import dataclasses
    import pickle

    from cobpipe.cob.cas import Adjustment
    from cobpipe.cob.from_era import _adjustment, _billed_line, _remitted_line
    from cobpipe.cob.match import BilledLine, RemittedLine

    mods = st.lists(_TEXT, max_size=4).map(tuple)
    cases = [
        (Adjustment, _adjustment, (_TEXT, _TEXT, _MONEY, st.none() | _MONEY)),
        (RemittedLine, _remitted_line, (st.integers(1, 99), st.none() | st.integers(1, 10**6), _TEXT, _TEXT, _TEXT,
                                        mods, _TEXT, mods, _MONEY, st.none() | _MONEY, _DAY)),
        (BilledLine, _billed_line, (_TEXT, _TEXT, _TEXT, _TEXT, mods, _MONEY, st.none() | _MONEY, _DAY)),
    ]
    for cls, make, strategies in cases:
        values = [data.draw(s) for s in strategies]
        made, expected = make(*values), cls(*values)
        assert type(made) is cls
        assert made == expected and hash(made) == hash(expected) and repr(made) == repr(expected)
        assert pickle.loads(pickle.dumps(made)) == expected
        with pytest.raises(dataclasses.FrozenInstanceError):
            made.__setattr__(dataclasses.fields(cls)[0].name, values[0])


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_the_line_maker_makes_what_remit_line_makes(data):
    """remits_fast._remit_line (RemitLine positionally, without its __init__) gives RemitLine(match,
    ...) of a RemittedLine with those values: equal, same repr, picklable, copyable, of the class
    itself; the line is its own `match`, which reads as the RemittedLine it was made from."""
    import copy
    import dataclasses
    import pickle

    from cobpipe.cob.cas import Adjustment
    from cobpipe.cob.match import RemittedLine
    from cobpipe.cob.remit import RemitLine
    from cobpipe.cob.remits_fast import _remit_line

    mods = st.lists(_TEXT, max_size=4).map(tuple)
    matched = [data.draw(s) for s in (st.integers(1, 99), st.none() | st.integers(1, 10**6), _TEXT, _TEXT, _TEXT,
                                      mods, _TEXT | st.just(""), mods, _MONEY, st.none() | _MONEY, _DAY)]
    rest = [data.draw(_MONEY), data.draw(st.none() | _MONEY), data.draw(mods),
            data.draw(st.lists(st.builds(Adjustment, _TEXT, _TEXT, _MONEY, st.none() | _MONEY), max_size=3))]
    remitted = RemittedLine(*matched)
    made, expected = _remit_line(*matched, *rest, None), RemitLine(remitted, *rest)
    assert type(made) is RemitLine
    assert made == expected and repr(made) == repr(expected)
    for other in (pickle.loads(pickle.dumps(made)), copy.deepcopy(made), copy.copy(made)):
        assert other == expected and type(other) is RemitLine
    line = made.match
    assert line is made
    for field in dataclasses.fields(RemittedLine):
        assert getattr(line, field.name) == getattr(remitted, field.name)
    assert (line.billed_code, line.billed_modifiers) == (remitted.billed_code, remitted.billed_modifiers)
    assert made.charge == remitted.charge


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_the_claim_maker_makes_what_remit_claim_makes(data):
    """remits_fast._remit_claim (RemitClaim without its __init__) gives RemitClaim(...): equal, same
    repr, picklable, of the class itself, and a deferred `payments` (a tuple) read through the class's slot
    (made on first read, then kept), as RemitClaim's own __init__ stores it."""
    import copy
    import dataclasses
    import pickle

    from cobpipe.cob.remit import RemitClaim
    from cobpipe.cob.remits_fast import _remit_claim

    texts = st.lists(_TEXT, max_size=3)
    values = [data.draw(_TEXT), data.draw(_TEXT), data.draw(_MONEY), data.draw(_MONEY), data.draw(_MONEY),
              data.draw(_TEXT), data.draw(_TEXT), data.draw(texts), data.draw(texts),
              data.draw(st.none() | st.integers(1, 10**6)), data.draw(_DAY), None, data.draw(st.none() | _TEXT),
              data.draw(st.sets(_TEXT, max_size=3)), data.draw(st.booleans()), 1, False, [],
              data.draw(texts), data.draw(st.frozensets(_TEXT, max_size=3)), data.draw(st.sampled_from([None, True]))]
    payments = values[18]
    slot = RemitClaim.__dict__["payments"].slot
    for deferred in (False, True):
        if deferred:
            values[18] = (list, tuple(payments))  # (load, *arguments): list(payments) when read
        made, expected = _remit_claim(*values), RemitClaim(*values)
        assert type(made) is RemitClaim
        if deferred:
            assert type(slot.__get__(made)) is tuple  # not read until asked for
        assert made == expected and repr(made) == repr(expected)
        assert made.whole_cents is expected.whole_cents  # (not compared by ==)
        assert type(slot.__get__(made)) is list and made.payments == payments  # read once, kept
        for other in (pickle.loads(pickle.dumps(made)), copy.deepcopy(made), dataclasses.replace(made)):
            assert other == expected
        made.paid = Decimal(-1)  # not frozen, as the class
        assert made.paid == Decimal(-1)


def _guarded(text: str):
    """remits_text._amount as it was written before its shortcut: the parser's value, within the guard."""
    from cobpipe.era.context import _decimal

    value = _decimal(text)
    if value is None:
        return None
    return value if value.as_tuple().exponent >= -6 and value.adjusted() < 13 else None


@settings(max_examples=500, deadline=None)
@example("9999999999999.999999")
@example("10000000000000")
@example("-12345678901234")
@example("1.1234567")
@example("00000000000001.5")
@example("1.")
@example("-0")
@example(" 5")
@given(st.from_regex(r"\A ?-?[0-9]{0,15}(\.[0-9]{0,8})? ?\Z") | st.text(max_size=12))
def test_an_amount_reads_as_the_parser_reads_it(text):
    """_amount's shortcut for plain digits gives the guarded parser value, to the exponent."""
    from cobpipe.cob.remits_text import _amount

    _amount.cache_clear()
    got, expected = _amount(text), _guarded(text)
    assert got == expected and str(got) == str(expected)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["PR", "CO", "OA"]), _MONEY), max_size=4),
       st.lists(st.lists(st.tuples(st.sampled_from(["PR", "CO"]), _MONEY), max_size=3), max_size=3))
def test_patient_adjustments_sum_every_pr_amount(claim_level, lines):
    from cobpipe.cob.cas import Adjustment
    from cobpipe.cob.match import RemittedLine
    from cobpipe.cob.remit import RemitClaim, RemitLine

    matched = RemittedLine(1, None, "", "HC", "99213", (), "", (), Decimal(0), None, None)

    def adjustments(pairs):
        return [Adjustment(group, "1", amount, None) for group, amount in pairs]

    claim = RemitClaim("C1", "1", Decimal(0), Decimal(0), Decimal(0), "", "", adjustments(claim_level),
                       [RemitLine(matched, Decimal(0), None, (), adjustments(line)) for line in lines], None, None)
    expected = sum((a for g, a in claim_level if g == "PR"), Decimal(0)) + sum(
        (a for line in lines for g, a in line if g == "PR"), Decimal(0))
    assert claim.patient_adjustments == expected and str(claim.patient_adjustments) == str(expected)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(GROUPS[0] + GROUPS[1]), st.sampled_from(REASONS[0] + REASONS[1] + ["A1"]),
       st.sampled_from(AMOUNTS[0] + AMOUNTS[1]) | st.from_regex(r"\A-?[0-9]{1,4}(\.[0-9]{0,3})?\Z"))
def test_a_one_triplet_cas_reads_as_the_general_loop_reads_it(group, reason, amount):
    """_cas's shortcut (4 elements) against its loop, which a trailing empty quantity sends it to."""
    from cobpipe.cob.remits_text import _cas

    _cas.cache_clear()
    short, looped = _cas(f"CAS*{group}*{reason}*{amount}"), _cas(f"CAS*{group}*{reason}*{amount}*")
    assert short == looped and str(short) == str(looped)


def _bodies(text: str) -> list[str]:
    """A chunk's segment texts as FastRemits._chunks makes them."""
    bodies = (text if text.endswith("\n") or "~\n" not in text else text + "\n").split(
        "~\n" if "~\n" in text else "~")
    bodies.pop()
    return bodies


@pytest.mark.parametrize("flat", [False, True])
def test_claim_ends_found_in_the_text_are_where_the_segment_walk_finds_them(tmp_path, flat):
    """_Ends (a regular expression over a chunk's text) answers what `_end` (segment by segment)
    answers, after every segment: with and without line feeds, segments without elements."""
    from cobpipe.cob.remits_fast import _end, _Ends

    made = generate_set(60, tmp_path, seed=2, claims_per_835=7, plb_fraction=1.0, reversal_fraction=0.3)
    texts = [made.era.read_text(), *(p.read_text() for p in sorted((REPO / "samples").glob("**/*.835")))]
    texts.append("CLP*1*1*1*1~LX~NM1*QC~SE*3*1~TS3*1~CAS*CO*1*1~PLB*1~LX*2~TS2*1~CLP*2~SVC*HC:1~")
    for text in texts:
        if flat:
            text = text.replace("~\n", "~")
        elif "~\n" not in text:
            text = text.replace("~", "~\n")
        text = text.rstrip("\n")
        bodies = _bodies(text)
        ends = _Ends(text + ("\n" if "~\n" in text else ""), len(bodies))
        assert [ends.after(i) for i in range(len(bodies))] == [_end(bodies, i + 1, len(bodies))
                                                                 for i in range(len(bodies))]


@pytest.mark.parametrize("flat", [False, True])
def test_a_share_reads_its_windows_claims_as_the_whole_read_does(tmp_path, monkeypatch, flat):
    """A process of a split conversion (Share) skips the other windows' claims: it hands on what the
    whole read hands on of its windows (and every part of a repeated CLP01 up to its last window),
    and the process of the last window has the file's claim-less findings of the whole read."""
    from cobpipe.cob import remits_fast
    from cobpipe.cob.remits_fast import Share

    made = generate_set(120, tmp_path, seed=3, claims_per_835=25, plb_fraction=1.0, reversal_fraction=0.3)
    path = made.era
    if flat:
        path = tmp_path / "flat.835"
        path.write_bytes(made.era.read_bytes().replace(b"~\n", b"~"))
    monkeypatch.setattr(remits_fast, "READ_BYTES", 1500)  # many chunks, windows changing within them
    scan = scan_era(path).repeated_only()
    assert scan.clp_counts and scan.clean is not None
    options = ConvertOptions(today=TODAY)
    whole = RemitStream(scan, options)
    pairs = [(h, r, list(r.payments)) for h, r in whole]
    skipped = 0
    for processes in (2, 3):
        windows = 4 * processes
        cuts = tuple(scan.clean.segments * k // windows for k in range(windows))
        for p in range(processes):
            share = Share(cuts, frozenset(range(p, windows, processes)), frozenset(scan.clp_counts))
            stream = RemitStream(scan, options, share)
            got = [(h, r, list(r.payments)) for h, r in stream]
            stop = share.stop
            assert got == [(h, r, payments) for h, r, payments in pairs
                           if share.window_of(r.segment) in share.mine
                           or (r.claim_id in share.keep and (stop is None or r.segment < stop))]
            if windows - 1 in share.mine:
                assert stream.findings == whole.findings  # the sets' totals, skipped chunks' CLP04s in them
            skipped += stream.skipped
    assert skipped > 0  # chunks of other windows' claims alone are skipped whole (others_paid)


@pytest.mark.parametrize("flat", [False, True])
def test_a_share_with_no_claim_after_its_stop_reads_to_the_end_unrefused(tmp_path, flat):
    """A process whose last window ends after the file's last CLP meets no claim to stop at and reads
    to the file's end: it counts no terminators (only the process that reads to the end unstopped,
    the last window's, checks them), so it is not refused as a changed file; the last window's
    process still refuses a file changed after the scan."""
    import os

    from cobpipe.cob.remits_fast import Share

    made = generate_set(12, tmp_path, seed=3, claims_per_835=12)
    path = made.era
    if flat:
        path = tmp_path / "flat.835"
        path.write_bytes(made.era.read_bytes().replace(b"~\n", b"~"))
    scan = scan_era(path).repeated_only()
    options = ConvertOptions(today=TODAY)
    whole = [(h, r) for h, r in RemitStream(scan, options)]
    after = scan.clean.segments - 1  # the GE: the last window holds no claim
    first, last = (Share((0, after), frozenset({k}), frozenset(scan.clp_counts)) for k in (0, 1))
    assert first.stop == after and last.stop is None
    assert [(h, r) for h, r in RemitStream(scan, options, first)] == whole
    data = path.read_bytes()
    before = os.stat(path)
    with path.open("r+b") as stream:  # one segment more, same size and time
        stream.write(data.replace(b"NM1*QC*", b"NM1~QC*", 1))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    with pytest.raises(EdiError, match="changed while it was being converted"):
        list(RemitStream(scan, options, last))


@pytest.mark.parametrize("separator", ["~\n", "~"])
def test_others_claims_at_a_chunks_start_are_paid_as_the_claim_skip_reads_them(separator):
    """others_paid: the CLP04s of the claims at a chunk's start, in order, up to the first the segment
    walk must read (anything but claims, a claim to keep, a CLP04 that is not an amount, a CLP at or
    after `until`), where to read on and the segments before it."""
    from cobpipe.cob.remits_share import others_paid

    def chunk(*segments):
        return "".join(s + separator for s in segments)

    claims = ("CLP*A*1*10*7.5*0*12*X", "NM1*QC*1*N", "SVC*HC:1*10*7.5", "CAS*CO*45*2.5", "CLP* B *1*3*3",
              "CLP*C*4*5*0*0*12", "SVC*HC:2*5*0", "CAS*CO*50*5")
    paid = [Decimal("7.5"), Decimal(3), Decimal(0)]
    text = chunk(*claims)

    def read_on(index):  # (where claims[index] starts in the text, the segments before it)
        return len(chunk(*claims[:index])), index

    assert others_paid(text, separator, frozenset(), 10, 100) == (paid, len(text), len(claims))
    assert others_paid(text, separator, frozenset({"X"}), 10, 100) == (paid, len(text), len(claims))
    for keep, index in (({"A"}, 0), ({"B"}, 4), ({"C"}, 5)):  # CLP01 as the skip compares it, stripped
        assert others_paid(text, separator, frozenset(keep), 10, 100) == (paid[:[0, 4, 5].index(index)],
                                                                           *read_on(index))
    for until, index in ((10, 0), (11, 4), (14, 4), (15, 5), (16, 8)):  # the first CLP at or after until read on
        assert others_paid(text, separator, frozenset(), 10, until) == (paid[:[0, 4, 5, 8].index(index)],
                                                                         *read_on(index))
    for odd in ("LX*2", "SE*30*0001", "PLB*1*20261231*WO:1*5", "TS3*1", "TS2*1", "LX"):
        odd_text = chunk(*claims[:4], odd, *claims[4:])
        assert others_paid(odd_text, separator, frozenset(), 10, 100) == (paid[:1], *read_on(4))
    assert others_paid(chunk(*claims[1:]), separator, frozenset(), 10, 100) == ([], 0, 0)  # not a CLP first
    for clp in ("CLP*D*1*10", "CLP*D*1*10*", "CLP*D*1*10*X1"):
        assert others_paid(chunk(*claims, clp), separator, frozenset(), 10, 100) == (paid, *read_on(8))


@pytest.mark.parametrize("separator", ["~\n", "~"])
def test_others_paid_with_the_callers_other_end_reads_as_with_its_own(separator):
    """The fast read hands others_paid the rest of a chunk's first other end (other_end, found once a
    chunk): the answers are those of the search others_paid makes itself, on every rest of a chunk."""
    from cobpipe.cob.remits_share import other_end, others_paid

    segments = ["CLP*A*1*10*7.5*0*12*X", "SVC*HC:1*10*7.5", "CAS*CO*45*2.5", "CLP*B*1*3*3", "LX*2",
                "CLP*C*4*5*0*0*12", "SVC*HC:2*5*0", "PLB*1*20261231*WO:1*5", "CLP*D*1*4*4", "SE*30*0001"]
    text = "".join(s + separator for s in segments)
    ends = other_end(text, separator)
    assert ends == text.index(separator + "LX") + len(separator)
    for start in [0] + [m + len(separator) for m in range(len(text)) if text.startswith(separator + "CLP", m)]:
        rest = text[start:]
        carried = ends - start if ends >= start else other_end(rest, separator)
        assert carried == other_end(rest, separator)
        for keep in (frozenset(), frozenset({"B"}), frozenset({"C", "D"})):
            assert others_paid(rest, separator, keep, 1, 100, carried) == others_paid(rest, separator, keep, 1, 100)
