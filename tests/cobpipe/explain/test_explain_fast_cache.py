"""What the fast path reads or writes once per segment text: a line's CAS (fastscan shares one
CasInfo among the lines whose CAS has the same text, and the writer keeps its JSON on it) on other
lines, other claims, several CAS on one line in either order, a zero amount (whose finding cites
each CAS's own segment); a line's AMT and a claim's DTM. Each writes the plain path's bytes."""
from __future__ import annotations

import json

import pytest

from cobpipe.explain.build import ExplainOptions

from test_explain_fast import OPTION_SETS, plain, same, x12

CAS_A, CAS_B, CAS_ZERO, CAS_QTY = "CAS*CO*45*30", "CAS*PR*3*20", "CAS*OA*23*0", "CAS*CO*45*30*2"


def _claim(ident: str, lines: list[list[str]]) -> list[str]:
    out = [f"CLP*{ident}*1*150*100*20*12*PCN{ident}", "NM1*QC*1*DOE*JANE****MI*1"]
    for n, cas in enumerate(lines, start=1):
        out += ["SVC*HC:99213*50*0", "DTM*472*20260101", *cas, f"REF*6R*{ident}-{n}"]
    return out


BODIES = {
    "same cas on every line": _claim("A", [[CAS_A]] * 3) + _claim("B", [[CAS_A], [CAS_A]]),
    "pairs in both orders and alone": _claim("A", [[CAS_A, CAS_B], [CAS_B, CAS_A], [CAS_A], [CAS_B]])
    + _claim("B", [[CAS_A, CAS_B], [CAS_A, CAS_B, CAS_ZERO]]),
    "zero amount repeated": _claim("A", [[CAS_ZERO], [CAS_A, CAS_ZERO], [CAS_ZERO]]) + _claim("B", [[CAS_ZERO]]),
    "quantity and none": _claim("A", [[CAS_QTY], [CAS_A], [], [CAS_QTY, CAS_QTY]]),
}


@pytest.mark.parametrize("name", list(BODIES))
def test_repeated_line_adjustments_byte_identical(tmp_path, name):
    path = tmp_path / "era.835"
    path.write_bytes(x12(BODIES[name]).encode("ascii"))
    for options, findings_only in OPTION_SETS:
        assert same(path, options, findings_only)


def test_zero_amount_findings_cite_each_segment(tmp_path):
    """Each zero-amount finding names its own CAS, whatever the other lines hold."""
    path = tmp_path / "era.835"
    path.write_bytes(x12(BODIES["zero amount repeated"]).encode("ascii"))
    assert same(path)
    document = json.loads(plain(path, ExplainOptions())[0])
    segments = [f["segment"] for claim in document["transactions"][0]["claims"] for line in claim["lines"]
                for f in line["findings"] if f["code"] == "ERA104"]
    assert len(segments) == 4 and len(set(segments)) == 4


# --- a line's AMT and a claim's DTM, read once per text (fastscan's caches): the first B6 of a line is
# its allowed amount whatever came before on other lines; a claim's first date of each qualifier wins

def _dated_claim(ident: str, dates: list[str], lines: list[list[str]]) -> list[str]:
    out = [f"CLP*{ident}*1*150*100*20*12*PCN{ident}", "NM1*QC*1*DOE*JANE****MI*1", *dates]
    for n, segments in enumerate(lines, start=1):
        out += ["SVC*HC:99213*50*50", "DTM*472*20260101", f"REF*6R*{ident}-{n}", *segments]
    return out


AMT_AND_DTM_BODIES = {
    "allowed repeated, other amounts first": _dated_claim("A", [], [
        ["AMT*B6*50"], ["AMT*KH*5", "AMT*B6*50"], ["AMT*B6*40", "AMT*B6*50"], ["AMT*KH*5"], ["AMT*B6"],
        ["AMT*B6", "AMT*B6*50"], ["AMT*B6*50", "AMT*B6*40"], []]) + _dated_claim("B", [], [["AMT*KH*5"], ["AMT*B6*40"]]),
    "claim dates repeated": _dated_claim("A", ["DTM*050*20260301", "DTM*050*20260302", "DTM*232*20260101"], [[]])
    + _dated_claim("B", ["DTM*232*20260101", "DTM*233*20260102", "DTM*050*20260302"], [["AMT*B6*50"]])
    + _dated_claim("C", ["DTM*233*20260102", "DTM*232*20260101", "DTM*232*20260105"], [[]]),
    "parties repeated": _dated_claim("A", ["NM1*IL*1*ROE*RAY****MI*77", "NM1*TT*2*NEXT PLAN*****PI*9"], [[]])
    + _dated_claim("B", ["NM1*QC*1*DOE*JOHN****MI*2", "NM1*IL*1*ROE*RAY****MI*77"], [[]])
    + _dated_claim("C", ["NM1*TT*2*NEXT PLAN*****PI*9", "NM1*PR*2*OTHER PLAN*****PI*8"], [[]]),
}


@pytest.mark.parametrize("name", list(AMT_AND_DTM_BODIES))
def test_repeated_amounts_and_claim_dates_byte_identical(tmp_path, name):
    path = tmp_path / "era.835"
    path.write_bytes(x12(AMT_AND_DTM_BODIES[name]).encode("ascii"))
    for options, findings_only in OPTION_SETS:
        assert same(path, options, findings_only)
    document = json.loads(plain(path, ExplainOptions())[0])
    claims = document["transactions"][0]["claims"]
    if name.startswith("allowed"):  # (the cases are not vacuous: each allowed shape is there)
        assert [line["allowed"] for line in claims[0]["lines"]] == [
            "50.00", "50.00", "40.00", None, None, None, "50.00", None]
    elif name.startswith("parties"):  # the first NM1 of each kind: JANE (not JOHN) is claim B's patient
        assert [[p["name"] for p in c["people"]] for c in claims] == [["J*** D***", "R*** R***"]] * 2 + [["J*** D***"]]
        assert [(c["crossover_to"], c["corrected_payer"]) for c in claims] == [
            ("NEXT PLAN (9)", ""), ("", ""), ("NEXT PLAN (9)", "OTHER PLAN (8)")]
    else:
        assert [(c["received"], c["service_from"], c["service_to"]) for c in claims] == [
            ("2026-03-01", "2026-01-01", None), ("2026-03-02", "2026-01-01", "2026-01-02"),
            (None, "2026-01-01", "2026-01-02")]



@pytest.mark.parametrize("name", list(BODIES) + list(AMT_AND_DTM_BODIES))
def test_caches_emptied_as_they_fill_byte_identical(tmp_path, monkeypatch, name):
    """fastscan's caches of a line's CAS and AMT and a claim's NM1 (filled inline, emptied when
    full) kept to one or two texts: every lookup after the first text misses or finds a text just
    put there, and the bytes are the plain path's."""
    from cobpipe.explain import fastscan

    for limit_name in ("LINE_CAS_KEPT", "LINE_AMT_KEPT", "NM1_KEPT"):
        monkeypatch.setattr(fastscan, limit_name, 2)
    path = tmp_path / "era.835"
    path.write_bytes(x12({**BODIES, **AMT_AND_DTM_BODIES}[name]).encode("ascii"))
    for options, findings_only in OPTION_SETS:
        assert same(path, options, findings_only)

# --- amounts as JSON: the text way (no leading zero, at most two decimals) and the Decimal way ------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from cobpipe.codes import default_codebook  # noqa: E402
from cobpipe.explain import fmt  # noqa: E402
from cobpipe.explain.build import ViewBuilder  # noqa: E402
from cobpipe.explain.fastclaim import _SHORT_MONEY, _Words  # noqa: E402
from cobpipe.explain.fasttext import Ineligible, number  # noqa: E402

_digits = st.text(alphabet="0123456789", min_size=0, max_size=9)
_amount_text = st.one_of(
    st.builds(lambda sign, whole, dot, frac: sign + whole + dot + frac, st.sampled_from(["", "-"]), _digits,
              st.sampled_from(["", "."]), _digits),
    st.sampled_from(["0", "-0", "0.0", "-0.00", "0.", "-0.", "1.", ".5", "-.5", "00", "007.5", "10", "-10.1",
                     "0.001", "12345678901234567", "123456789012345678", "1234567890123456789", "1e5", "", "-"]))


def _want(text: str) -> str | None:
    try:
        return '"' + fmt.money_plain(number(text)) + '"'
    except Ineligible:
        return None


@settings(max_examples=400, deadline=None)
@given(text=_amount_text)
def test_money_text_is_money_plain(text):
    words = _Words(ViewBuilder(default_codebook(), ExplainOptions()))
    want = _want(text)
    if want is None:  # not a plain number: refused as before, never written
        with pytest.raises(Ineligible):
            words.money_text(text)
    else:
        assert words.money_text(text) == want
        assert words.money_text(text) == want  # and from the cache


def test_money_text_takes_both_ways():
    """The cases above go through the text way and through Decimal (both branches are exercised)."""
    assert _SHORT_MONEY.match("-0.5") and _SHORT_MONEY.match("156") and _SHORT_MONEY.match("1.")
    assert not _SHORT_MONEY.match("007.5") and not _SHORT_MONEY.match("0.001") and not _SHORT_MONEY.match(".5")
    words = _Words(ViewBuilder(default_codebook(), ExplainOptions()))
    for text, want in [("-0", '"0.00"'), ("-0.0", '"0.00"'), ("1.", '"1.00"'), ("-0.5", '"-0.50"'),
                       ("007.5", '"7.50"'), ("0.001", '"0.001"'), (".5", '"0.50"'), ("156", '"156.00"')]:
        assert words.money_text(text) == want == _want(text)


# --- envelope_head reads small chunks: the ISA and GS it gives are those of a whole-chunk read ------

from cobpipe.explain import fasttext  # noqa: E402

from test_explain_fast import CLAIM  # noqa: E402


@pytest.mark.parametrize("layout", ["~", "~\n", "~\r\n"])
@pytest.mark.parametrize("bom", ["", "\ufeff"])
@pytest.mark.parametrize("chunk", [1, 2, 3, 50, 105, 106, 107, 108, 170, 4096])
def test_envelope_head_in_small_chunks(tmp_path, monkeypatch, layout, bom, chunk):
    path = tmp_path / "era.835"
    text = x12(CLAIM, layout=layout).replace("GS*HP*", "GS*HP*" + "X" * 300, 1)
    path.write_bytes((bom + text).encode("utf-8"))
    sep, _component, term = fasttext.delimiters(str(path))
    segments = next(fasttext.pieces(str(path), term))  # the whole file in one chunk
    want = (segments[0].split(sep), ["GS", *fasttext.pad(segments[1].split(sep), 8)])
    monkeypatch.setattr(fasttext, "ENVELOPE_BYTES", chunk)
    assert fasttext.envelope_head(str(path)) == want


def test_envelope_head_refuses_a_file_without_gs(tmp_path):
    path = tmp_path / "era.835"
    path.write_bytes(x12(CLAIM).split("GS*")[0].encode("ascii"))
    with pytest.raises(Ineligible):
        fasttext.envelope_head(str(path))


# --- a line with more findings than the plain parser keeps of one code goes to the plain path ------

@pytest.mark.parametrize("zero_cas,taken", [(8, True), (9, False)])
def test_a_line_with_over_50_findings_is_read_the_plain_way(tmp_path, zero_cas, taken):
    """Six zero amounts a CAS: 8 CAS make 48 ERA104 findings on the line (the fast path), 9 make 54 (plain)."""
    zeros = "CAS*OA*23*0*1*23*0*1*23*0*1*23*0*1*23*0*1*23*0"
    body = ["CLP*A*1*50*50**12*PCNA", "NM1*QC*1*DOE*JANE****MI*1", "SVC*HC:99213*50*50", "DTM*472*20260101",
            *[zeros] * zero_cas, "REF*6R*A-1"]
    path = tmp_path / "era.835"
    path.write_bytes(x12(body, amount="50").encode("ascii"))
    assert same(path) is taken


# --- claim_findings takes a one-CAS line's total as the CasInfo's own (no second addition to ZERO) --

from decimal import Decimal  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(_amount_text, min_size=1, max_size=6))
def test_a_cas_total_added_to_zero_again_is_the_same_decimal(texts):
    """A CasInfo's total is ZERO plus its amounts (fastscan._line_cas, fastseg._cas); adding it to
    ZERO once more, as the loop over a line's CAS does, gives the same Decimal: value, exponent, sign.
    So do a claim's sums of its lines' CAS and PR totals (ZERO plus those totals), which
    claim_findings takes as the claim's own when it has no claim CAS."""
    zero = Decimal(0)
    try:
        amounts = [number(text) for text in texts]
    except Ineligible:
        return
    total = zero
    for amount in amounts:
        total += amount
    assert (zero + total).as_tuple() == total.as_tuple()


# --- a line is a list (fastseg.Line): the usual SVC's, written out in fastscan, is fastseg.new_line's ----

SVC_SHAPES = ["SVC*HC:99213*50*40", "SVC*HC:99213:25*50*40**2", "SVC*HC:99213*50*40*0450", "SVC*HC:99213*50*40***",
              "SVC*HC:99213*50*40**2*HC:99214*3", "SVC*HC:99213*50*40**2*", "SVC*NU:0450*50.5*40.25**1.5"]


@pytest.mark.parametrize("svc", SVC_SHAPES)
def test_usual_svc_line_is_new_lines(tmp_path, svc):
    """Whichever way fastscan reads an SVC (written out for 4 to 6 elements without SVC04 and an
    SVC01 already checked, else fastseg._svc), the line is fastseg's layout: the SVC's items as
    new_line makes them, then the dates, CAS, REF*6R, AMT*B6 and LQ read after it."""
    from cobpipe.explain import fastseg
    from cobpipe.explain.fastscan import scan
    from cobpipe.explain.fasttext import _Cache

    path = tmp_path / "era.835"
    line_segments = [svc, "DTM*472*20260101", "CAS*CO*45*10", "REF*6R*A-1", "AMT*B6*40", "LQ*HE*N130"]
    path.write_bytes(x12(["CLP*A*1*100*80**12*PCNA", *line_segments, *line_segments]).encode("ascii"))
    lines = [line for kind, claim in scan(str(path)) if kind == "claim" for line in claim.lines]
    assert len(lines) == 2  # (the second SVC01 is known: the written-out way when its shape allows)
    for ordinal, line in enumerate(lines, start=1):
        want = fastseg._svc(svc.split("*"), ":", _Cache(8), ordinal, line[fastseg.INDEX])
        assert line[:fastseg.DATES] == want[:fastseg.DATES]
        assert len(line) == len(want) == fastseg.REMARKS + 1
        assert line[fastseg.DATES] == {"472": '"2026-01-01"'}
        assert [cas.text for cas in line[fastseg.CAS]] == ["CAS*CO*45*10"]
        assert (line[fastseg.REF_6R], line[fastseg.ALLOWED], line[fastseg.REMARKS]) == ("A-1", "40", ["N130"])


# --- Claim and CasInfo have no __init__ (fastseg: made by _clp and cas_info, which set every slot) ----

def test_claim_and_cas_info_makers_set_every_slot():
    from cobpipe.explain import fastseg

    claim = fastseg._clp("CLP*A*1*150*100*20*12*PCNA".split("*"), 7)
    assert {slot: hasattr(claim, slot) for slot in fastseg.Claim.__slots__} == dict.fromkeys(fastseg.Claim.__slots__,
                                                                                           True)
    assert (claim.index, claim.parties, claim.dates, claim.cas, claim.lines, claim.moa_remarks, claim.mia_remarks) == (
        7, {}, {}, [], [], (), ())
    cas = fastseg._cas("CAS*PR*1*30**2*5".split("*"), 9)
    assert all(hasattr(cas, slot) for slot in fastseg.CasInfo.__slots__)
    assert (cas.group, cas.total, cas.pr_total, cas.zero, cas.text, cas.index, cas.json) == (
        "PR", 35, 35, False, None, 9, None)
    assert [triplet[:3] for triplet in cas.triplets] == [("1", 30, "30"), ("2", 5, "5")]
