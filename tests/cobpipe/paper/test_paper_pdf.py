"""The paper claim PDF read back with pypdf: each CMS-1500 box found by its position on NUCC's grid,
for the seed's $33 example and for a child patient (2000C) with 8 lines (two forms), in both
layouts; the EOB page carries that claim only."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from cobpipe.codes import describe
from cobpipe.paper import PaperError, items_from_files, write_paper_pdf
from cobpipe.paper import grid
from cobpipe.paper.form import forms_for
from edi.segment import Segment

from paperpdf import CHILD_CLAIMS, CHILD_ERA, SEED_CLAIMS, SEED_ERA, box, boxes, form_pages, page_text, page_texts

TODAY = dt.date(2026, 3, 25)


@pytest.fixture(scope="module")
def seed_item():
    items = items_from_files(SEED_ERA, [SEED_CLAIMS], as_of=TODAY)
    assert [i.claim.id for i in items] == ["SEED001"]
    return items[0]


@pytest.fixture(scope="module")
def child_item():
    items = items_from_files(CHILD_ERA, [CHILD_CLAIMS], only=["CHILD08"], as_of=TODAY)
    assert [i.claim.id for i in items] == ["CHILD08"]
    return items[0]


def _write(tmp_path, items, layout):
    path = tmp_path / f"{layout}.paper.pdf"
    assert write_paper_pdf(items, path, layout=layout, today=TODAY) == len(items)
    return page_texts(path)


SEED_BOXES = {
    "carrier.1": "BLUE STAR INSURANCE",
    "1.group": "X", "1.medicare": None, "1.other": None, "1a": "SEC0005678",  # the secondary's member id
    "2": "SAMPLE, ALEX", "3.mm": "01", "3.dd": "15", "3.yyyy": "1980", "3.f": "X", "3.m": None,
    "4": "SAMPLE, ALEX", "5.street": "12 ELM STREET", "5.city": "SPRINGFIELD", "5.state": "IL",
    "5.zip": "62702-0002", "6.self": "X", "6.child": None,
    "7.street": "12 ELM STREET", "7.city": "SPRINGFIELD", "7.state": "IL", "7.zip": "62702-0002",
    "9": "SAMPLE, ALEX", "9a": "GRP100", "9d": "ACME HEALTH PLAN",  # the primary: other insured and plan
    "10a.no": "X", "10a.yes": None, "10b.no": "X", "10c.no": "X",
    "11": "GRP200", "11a.mm": "01", "11a.dd": "15", "11a.yyyy": "1980", "11a.f": "X",
    "11c": "BLUE STAR INSURANCE", "11d.yes": "X", "11d.no": None,
    "12": "SIGNATURE ON FILE", "13": "SIGNATURE ON FILE", "14.mm": None, "17": None,
    "21.ind": "0", "21.A": "J069", "21.B": None, "22.code": None, "23": None,
    "24a.from.mm@1": "03", "24a.from.dd@1": "10", "24a.from.yy@1": "26",
    "24a.to.mm@1": "03", "24a.to.dd@1": "10", "24a.to.yy@1": "26",
    "24b@1": "11", "24c@1": None, "24d.code@1": "99213", "24d.mod1@1": None, "24e@1": "A",
    "24f@1": "33 00", "24g@1": "1", "24j@1": "1245319599", "24d.code@2": None, "24f@2": None,
    "25": "371234567", "25.ein": "X", "25.ssn": None, "26": "SEED001", "27.yes": "X", "27.no": None,
    "28": "33 00", "29": "10 00",  # $33 charged, $10 paid by the primary
    "31": "SIGNATURE ON FILE", "31.date": "03 25 26",
    # no 2310C: the services were rendered at the billing provider's address
    "32.1": "SUNRISE PEDIATRICS", "32.2": "100 MAIN STREET", "32.3": "SPRINGFIELD IL 62701-0001", "32a": "1234567893",
    "33.1": "SUNRISE PEDIATRICS", "33.2": "100 MAIN STREET", "33.3": "SPRINGFIELD IL 62701-0001",
    "33.area": "555", "33.phone": "5550100", "33a": "1234567893", "page": None,
}


@pytest.mark.parametrize("layout", ["data", "full"])
def test_seed_claim_every_box(tmp_path, seed_item, layout):
    pages = _write(tmp_path, [seed_item], layout)
    forms = form_pages(pages)
    assert forms == [0], "one form for one line"
    found = boxes(pages[0])
    wrong = {key: (box(found, key), want) for key, want in SEED_BOXES.items() if box(found, key) != want}
    assert not wrong, wrong
    # nothing printed outside the boxes the claim fills
    placed = {(grid.spot(k).line, grid.spot(k).col) for k in SEED_BOXES if SEED_BOXES[k]}
    stray = {spot: text for spot, text in found.items()
             if not any(spot[0] == grid.spot(k).line and grid.spot(k).col <= spot[1] < grid.spot(k).col
                        + grid.spot(k).width for k in SEED_BOXES if SEED_BOXES[k])}
    assert not stray and placed


CHILD_COMMON = {
    "carrier.1": "BLUE STAR INSURANCE", "1a": "SEC8800002", "1.group": "X",
    "2": "HOLLOWAY, NORA, E", "3.mm": "04", "3.dd": "12", "3.yyyy": "2018", "3.f": "X",  # the child
    "4": "HOLLOWAY, GRACE, A",  # the secondary's insured: the mother
    "5.street": "44 ORCHARD LANE", "6.child": "X", "6.self": None, "7.street": "44 ORCHARD LANE",
    "7.zip": "62704-0004", "9": "HOLLOWAY, MARCUS, J",  # the primary's insured: the father
    "9a": "GRPA100", "9d": "ACME FAMILY PLAN", "11": "GRPB200", "11a.mm": None, "11c": "BLUE STAR FAMILY",
    "11d.yes": "X", "14.mm": "03", "14.dd": "01", "14.yyyy": "2026", "14.qual": "431",
    "17.qual": "DN", "17": "LENA OKAFOR", "17b": "1497758544",
    "21.ind": "0", "21.A": "J069", "21.B": "R509", "21.C": "H6690", "21.D": "R051", "21.E": None,
    "23": "AUTH4471", "26": "CHILD08", "27.yes": "X",
    "32.1": "SUNRISE PEDIATRICS ANNEX", "32.2": "200 CLINIC ROAD", "32.3": "SPRINGFIELD IL 62703-0003",
    "32a": "1093817462", "33a": "1234567893", "33.area": "217", "33.phone": "5550100",
}
# (code, modifier, pointers, charge, units, date) of the 8 lines, as billed
CHILD_LINES = [("99214", "25", "AB", "140 00", "1", "10"), ("87880", None, "A", "38 00", "1", "10"),
               ("94640", None, "BC", "45 00", "2", "10"), ("J7613", None, "B", "12 50", "3", "10"),
               ("99070", None, "A", "8 00", "1", "11"), ("71046", "26", "BCD", "96 00", "1", "11"),
               ("85025", None, "A", "22 00", "1", "11"), ("36415", None, "A", "10 00", "1", "11")]


@pytest.mark.parametrize("layout", ["data", "full"])
def test_child_patient_with_8_lines_takes_two_forms(tmp_path, child_item, layout):
    pages = _write(tmp_path, [child_item], layout)
    forms = form_pages(pages)
    assert forms == [0, 1], "8 lines: two forms, then the EOB"
    totals = []
    for number, index in enumerate(forms, start=1):
        found = boxes(pages[index])
        wrong = {key: (box(found, key), want) for key, want in CHILD_COMMON.items() if box(found, key) != want}
        assert not wrong, (number, wrong)
        assert box(found, "page") == f"PAGE {number} OF 2"
        rows = CHILD_LINES[6 * (number - 1): 6 * number]
        for row, (code, modifier, pointers, charge, units, day) in enumerate(rows, start=1):
            got = {k: box(found, f"{k}@{row}") for k in ("24d.code", "24d.mod1", "24e", "24f", "24g",
                                                         "24a.from.dd", "24a.to.dd", "24b", "24j")}
            assert got == {"24d.code": code, "24d.mod1": modifier, "24e": pointers, "24f": charge, "24g": units,
                           "24a.from.dd": day, "24a.to.dd": day, "24b": "11", "24j": "1245319599"}, (number, row)
        for row in range(len(rows) + 1, 7):
            assert box(found, f"24d.code@{row}") is None and box(found, f"24f@{row}") is None
        totals.append((box(found, "28"), box(found, "29")))
    # each form totals its own lines (NUCC item 28: the charges in its 24F); together they are the claim
    assert totals == [("339 50", "175 00"), ("32 00", "18 00")]
    assert sum(Decimal(t.replace(" ", ".")) for t, _ in totals) == Decimal("371.50")  # CLM02
    assert sum(Decimal(p.replace(" ", ".")) for _, p in totals) == Decimal("193.00")  # the primary's AMT*D


def test_the_eob_page_holds_that_claim_only(tmp_path, child_item):
    pages = _write(tmp_path, [child_item], "data")
    eob = "\n".join(page_text(texts) for texts in pages[2:])
    assert len(pages) >= 3 and "EXPLANATION OF BENEFITS" in eob
    assert "CLAIM CHILD08" in eob and "ACME2608800801" in eob and "HOLLOWAY, NORA E" in eob
    for code in ("HC 99214-25", "HC 87880", "HC 94640", "HC J7613", "HC 99070", "HC 71046-26", "HC 85025",
                 "HC 36415"):
        assert code in eob
    for group, reason in (("CO", "45"), ("CO", "97"), ("PR", "96"), ("PR", "1"), ("PR", "2"), ("PR", "3")):
        assert f"{group}-{reason}" in eob
        words = describe("carc", reason).split()[:3]
        assert " ".join(words) in " ".join(eob.split()), (reason, words)
    assert "371.50" in eob and "193.00" in eob and "86.00" in eob and "12.50" in eob
    assert "EFT20260324001" in eob and "ACME HEALTH PLAN" in eob
    # the other patient of the same remittance appears nowhere in the PDF
    everything = "\n".join(page_text(texts) for texts in pages)
    for other in ("OTHER02", "MERIDEW", "PRM9900003", "ACME2608800802", "OSCAR"):
        assert other not in everything


def test_seed_eob_shows_each_adjustment_with_group_and_reason(tmp_path, seed_item):
    pages = _write(tmp_path, [seed_item], "full")
    eob = page_text(pages[1])
    lines = eob.splitlines()
    co = next(line for line in lines if "CO-45" in line)
    pr = next(line for line in lines if "PR-1" in line)
    assert co.rstrip().endswith("13.00") and "contractual" in co.lower()
    assert pr.rstrip().endswith("10.00") and "Deductible" in pr
    assert "Claim total" in eob and "33.00" in eob and "SEED001" in eob


def test_full_layout_draws_the_form_and_data_layout_only_data(tmp_path, seed_item):
    data, full = _write(tmp_path, [seed_item], "data"), _write(tmp_path, [seed_item], "full")
    assert boxes(data[0]) == boxes(full[0]), "the same data at the same places in both layouts"
    captions = {t.text for t in full[0] if t.font.startswith("/Helvetica")}
    assert "HEALTH INSURANCE CLAIM FORM" in captions and "28. TOTAL CHARGE" in captions
    assert not [t for t in data[0] if not t.font.startswith("/Courier")], "data layout: nothing but data"


def test_several_claims_one_pdf_each_with_its_forms_and_eob(tmp_path, seed_item, child_item):
    pages = _write(tmp_path, [seed_item, child_item], "data")
    forms = form_pages(pages)
    assert forms == [0, 2, 3]
    assert "SEED001" in page_text(pages[1]) and "CHILD08" not in page_text(pages[1])
    assert "CHILD08" in page_text(pages[4]) and "SEED001" not in page_text(pages[4])


def test_box_29_left_blank_when_the_payer_billed_is_medicare(seed_item):
    claim = seed_item.claim.copy()
    sbr = claim.subscriber.segment("SBR")
    claim.subscriber.replace(sbr, sbr.replace_element(9, "MB"))
    page = forms_for(claim, today=TODAY)[0]
    assert "29" not in page.values and page.values["1.medicare"] == "X" and "1.group" not in page.values
    # CMS's MSP instructions: 4/6/7/11/11c describe the insurance primary to Medicare, 9-9d and 11d blank
    assert page.values["4"] == "SAME" and page.values["6.self"] == "X" and page.values["11"] == "GRP100"
    assert page.values["11c"] == "ACME HEALTH PLAN" and page.values["7.street"] == "12 ELM STREET"
    assert not {"9", "9a", "9d", "11d.yes", "11d.no", "11a.mm"} & set(page.values)
    assert page.values["1a"] == "SEC0005678" and page.values["2"] == "SAMPLE, ALEX"
    assert forms_for(seed_item.claim, today=TODAY)[0].values["29"].strip() == "10 00"


def test_a_claim_reported_without_lines_puts_amt_d_in_box_29(seed_item):
    claim = seed_item.claim.copy()
    for line in claim.lines:
        for adjudication in line.children_of("2430"):
            line.remove(adjudication)
    assert forms_for(claim, today=TODAY)[0].values["29"].strip() == "10 00"


def test_unknown_layout_and_failures_leave_nothing_behind(tmp_path, seed_item):
    with pytest.raises(PaperError):
        write_paper_pdf([seed_item], tmp_path / "x.pdf", layout="fancy")

    class Broken:
        claim = None
        reason = "boom"

    with pytest.raises(AttributeError):
        write_paper_pdf([seed_item, Broken()], tmp_path / "y.pdf")
    assert list(tmp_path.iterdir()) == [], "no PDF and no temporary file after a failure"
    failed = []
    written = tmp_path / "w.pdf"
    assert write_paper_pdf([Broken(), seed_item], written, on_error=lambda item, exc: failed.append(item.reason)) == 1
    assert failed == ["boom"] and form_pages(page_texts(written)) == [0]  # the good claim alone
    assert box(boxes(page_texts(written)[0]), "26") == "SEED001"
    assert written.stat().st_mode & 0o777 == 0o600, "claims are PHI: owner only"
    written.unlink()
    path = tmp_path / "z.pdf"
    path.write_bytes(b"old")
    with pytest.raises(AttributeError):
        write_paper_pdf([Broken()], path)
    assert path.read_bytes() == b"old", "a failed write keeps what was there"


def test_grid_boxes_fit_the_form_and_never_overlap():
    keys = list(grid.SPOTS) + [f"{k}@{row}" for k in grid.LINE_SPOTS for row in range(1, 7)]
    by_line: dict[int, list[tuple[int, int, str]]] = {}
    for key in keys:
        where = grid.spot(key)
        assert 1 <= where.line <= grid.LINES and where.col >= 1 and where.col + where.width - 1 <= grid.COLUMNS, key
        by_line.setdefault(where.line, []).append((where.col, where.col + where.width, key))
        # on the page: inside 8.5 x 11 with a margin
        assert 0 < grid.x_of(where.col) and grid.x_of(where.col + where.width) < grid.PAGE_WIDTH, key
        assert 0 < grid.baseline_of(where.line) < grid.PAGE_HEIGHT, key
        assert grid.spot_at(grid.x_of(where.col), grid.baseline_of(where.line)) == (where.line, where.col)
    for line, spans in by_line.items():
        spans.sort()
        for (a_start, a_end, a), (b_start, _, b) in zip(spans, spans[1:]):
            assert a_end <= b_start, f"line {line}: {a} overlaps {b}"
    # 10 characters per inch, 6 lines per inch
    assert grid.x_of(11) - grid.x_of(1) == pytest.approx(72.0)
    assert grid.baseline_of(1) - grid.baseline_of(7) == pytest.approx(72.0)


def test_names_and_addresses_follow_nucc_punctuation(seed_item):
    from cobpipe.paper.form import _address, money, person_name, zip_code

    nm1 = Segment.build("NM1", "IL", "1", "O'Neil-Smith", "Mary.", "Ann", "", "Jr.", "MI", "X1")
    assert person_name(nm1) == "O'NEIL-SMITH JR, MARY, A"
    accented = Segment.build("NM1", "IL", "1", "Muñoz\u4e2d\x07", "Zoë", "", "", "", "MI", "X1")
    assert person_name(accented) == "MUNOZ, ZOE"
    assert zip_code("627010001") == "62701-0001" and zip_code("62701") == "62701"
    assert money(Decimal("1234.5")) == " 1234 50" and money(Decimal("0")) == "    0 00"
    from cobpipe.claim837 import Loop
    loop = Loop("2010AA", [Segment.build("N3", "123 N. Main St., #101"), Segment.build("N4", "St. Louis", "MO", "631011234")])
    assert _address(loop) == ["123 N MAIN ST 101", "ST LOUIS MO 63101-1234"]


def test_box_22_for_a_replacement_claim(seed_item):
    claim = seed_item.claim.copy()
    clm = claim.claim.first
    claim.claim.replace(clm, clm.replace_element(5, "11:B:7"))
    claim.claim.add(Segment.build("REF", "F8", "BSI-778899"))
    values = forms_for(claim, today=TODAY)[0].values
    assert (values["22.code"], values["22.ref"]) == ("7", "BSI-778899")
    assert "22.code" not in forms_for(seed_item.claim, today=TODAY)[0].values


def test_a_split_claim_shows_every_part_of_the_primarys_payment(tmp_path):
    golden = SEED_ERA.parents[2] / "tests" / "golden" / "09-split-claim"
    items = items_from_files(golden / "era.835", [golden / "claims.837"], as_of=dt.date(2026, 4, 1))
    assert [len(i.payments) for i in items] == [2]
    pages = _write(tmp_path, items, "data")
    eob = "\n".join(page_text(texts) for texts in pages[1:])
    assert "ACME2608300901" in eob and "ACME2608300902" in eob  # both CLPs, each with its lines
    assert eob.count("CLAIM SPLIT01") == 2 and "HC 94010" in eob
    found = boxes(pages[0])
    assert box(found, "28") == "524 00" and box(found, "29") == "294 80"  # 400 + 124 charged, 225.20 + 69.60 paid


def _money_value(text: str) -> Decimal:
    dollars, cents = text.split()
    return Decimal(dollars) + Decimal(cents) / 100


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(count=st.integers(min_value=1, max_value=20))
def test_any_number_of_lines_splits_into_forms_of_six_whose_totals_add_up(child_item, count):
    claim = child_item.claim.copy()
    lines = claim.lines
    for line in lines:
        claim.claim.remove(line)
    for n in range(count):
        claim.claim.append(lines[n % len(lines)].copy())
    pages = forms_for(claim, today=TODAY)
    assert len(pages) == -(-count // 6)
    charged = paid = Decimal(0)
    for number, page in enumerate(pages, start=1):
        rows = {int(key.split("@")[1]) for key in page.values if "@" in key}
        assert rows == set(range(1, min(6, count - 6 * (number - 1)) + 1))
        assert page.values.get("page") == (f"PAGE {number} OF {len(pages)}" if len(pages) > 1 else None)
        form_lines = sum((_money_value(page.values[f"24f@{row}"]) for row in rows), Decimal(0))
        assert _money_value(page.values["28"]) == form_lines
        charged += form_lines
        paid += _money_value(page.values["29"])
    assert charged == sum((claim.line_charge(line) for line in claim.lines), Decimal(0))
    assert paid == sum((Decimal(a.first.get(2)) for line in claim.lines for a in line.children_of("2430")), Decimal(0))


@given(cents=st.integers(min_value=0, max_value=10**11))
def test_money_is_dollars_space_cents_and_reads_back(cents):
    from cobpipe.paper.form import money

    amount = Decimal(cents) / 100
    text = money(amount)
    assert len(text) >= 8 and text[-3] == " " and "." not in text and "," not in text
    assert _money_value(text) == amount


def test_large_amounts_are_never_cut(tmp_path, seed_item):
    claim = seed_item.claim.copy()
    clm = claim.claim.first
    claim.claim.replace(clm, clm.replace_element(2, "123456.78"))
    line = claim.lines[0]
    sv1 = line.segment("SV1")
    line.replace(sv1, sv1.replace_element(2, "123456.78"))
    item = type(seed_item)(claim, seed_item.payments, seed_item.header, "test")
    found = boxes(_write(tmp_path, [item], "data")[0])
    assert box(found, "28") == "123456 78"  # box 28 holds up to 7 dollar digits
    spot = grid.spot("24f@1")
    assert found[(spot.line, spot.col + spot.width - 9)] == "123456 78"  # grows left of 24F, cents in place


def test_a_drug_line_carries_its_ndc_in_the_shaded_area(tmp_path, seed_item):
    from cobpipe.claim837 import Loop

    claim = seed_item.claim.copy()
    line = claim.lines[0]
    line.add(Loop("2410", [Segment.build("LIN", "", "N4", "00409487201"), Segment.build("CTP", "", "", "", "2", "ML")]))
    item = type(seed_item)(claim, seed_item.payments, seed_item.header, "test")
    found = boxes(_write(tmp_path, [item], "data")[0])
    assert box(found, "24.supplemental@1") == "N400409487201 ML2"
    assert grid.spot("24.supplemental@1").line == grid.spot("24f@1").line - 1  # the shaded half above
