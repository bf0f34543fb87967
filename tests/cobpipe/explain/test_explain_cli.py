"""`cobpipe explain` end to end: golden text and JSON for our synthetic 835s, every corpus 835 in
every format, filters, PHI masking, exit codes and unusable input."""
from __future__ import annotations

import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from cobpipe.cli import main

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"
CASE_NAMES = sorted(p.stem for p in CASES.glob("*.835"))
CORPUS_835 = Path(__file__).resolve().parents[4] / "shared" / "corpus" / "835"
CORPUS_FILES = sorted(CORPUS_835.glob("*")) if CORPUS_835.is_dir() else []
UPDATE = os.environ.get("COBPIPE_UPDATE_GOLDEN") == "1"
FORMATS = ("text", "json", "html")

#: every name and member id in cases/*.835 (NM1*QC / NM1*IL): never in output without --show-phi
PHI = ("QUILLFEATHER", "MARGO", "ZX9988776655", "BRAMBLEWICK", "THEO", "ROSA", "ZX1122334455", "ZX1122334400",
       "ASHGROVE", "ZX5550001111", "FENWICK", "1EG4TE5MK73", "LARKSPUR", "WENDELL", "ZX7770002222",
       "OSTERBY", "ZX3330004444", "WHITLOCK", "JUNO", "ZX4440005555", "PENHALLOW", "ZX6660007777")


def run(args: list[str], cwd: Path | None = None):
    runner = CliRunner()
    if cwd is None:
        return runner.invoke(main, ["explain", *args])
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return runner.invoke(main, ["explain", *args])
    finally:
        os.chdir(old)


def run_case(name: str, *args: str):
    return run([f"{name}.835", *args], cwd=CASES)


def test_cases_exist():
    assert {"claim-line-cas", "denial", "crossover", "reversal-correction", "split-claim", "plb-two-payments",
            "unbalanced"} <= set(CASE_NAMES)


# --- golden outputs ----------------------------------------------------------------------


@pytest.mark.parametrize("name", CASE_NAMES)
@pytest.mark.parametrize("fmt, suffix", [("text", "txt"), ("json", "json")])
def test_golden(name, fmt, suffix):
    result = run_case(name, "--format", fmt)
    assert result.exit_code == (1 if name == "unbalanced" else 0), result.output
    expected = CASES / f"{name}.{suffix}"
    if UPDATE:
        expected.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == expected.read_text(encoding="utf-8")


def data(name: str, *args: str) -> dict:
    result = run_case(name, "--format", "json", *args)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def claims(doc: dict) -> list[dict]:
    return [c for t in doc["transactions"] for c in t["claims"]]


def test_json_shape_and_exact_money():
    doc = data("claim-line-cas")
    header = doc["transactions"][0]["header"]
    assert header["payment_amount"] == "233.99" and header["payment_date"] == "2026-04-15"
    assert header["trace_number"] == "EFT0415001" and header["payment_method"] == "ACH"
    first, second = claims(doc)
    assert (first["id"], first["status_code"], first["status"]) == ("LINECAS01", "1", "Processed as primary")
    assert (first["charge"], first["paid"], first["patient_responsibility"]) == ("200.00", "120.00", "30.00")
    line = first["lines"][0]
    assert (line["procedure"], line["modifiers"], line["charge"], line["paid"], line["units"]) == (
        "99214", ["25"], "150.00", "90.00", "1")
    assert line["ref_6r"] == "LINECAS01-1"
    assert line["adjustments"][1] == {"group": "PR", "group_text": "patient responsibility", "reason": "3",
                                      "reason_text": "Copay", "amount": "30.00", "quantity": None}
    assert line["remarks"] == [{"code": "N130", "text": line["remarks"][0]["text"], "source": "LQ"}]
    assert [a["reason"] for a in second["adjustments"]] == ["253", "1"]
    assert second["adjustments"][0]["amount"] == "2.01"
    assert second["lines"][0]["adjustments"][1]["quantity"] == "2"
    assert second["remarks"][0]["code"] == "MA01"
    assert doc["transactions"][0]["plbs"] == []
    assert doc["balanced"] is True


def test_denial_and_crossover_statuses_in_words():
    denial = claims(data("denial"))
    assert [(c["status_code"], c["status"]) for c in denial] == [("4", "Denied")] * 2
    assert [r["code"] for r in denial[0]["lines"][0]["remarks"]] == ["N290", "M51"]
    assert denial[1]["lines"] == [] and denial[1]["adjustments"][0]["reason"] == "29"
    crossover = claims(data("crossover"))
    assert crossover[0]["status_word"] == "crossover"
    assert crossover[0]["crossover_to"] == "GREAT LAKES MEDIGAP (GLM77)"
    assert crossover[0]["remarks"][0]["code"] == "MA18"


def test_plb_and_several_transaction_sets():
    doc = data("plb-two-payments")
    first, second = doc["transactions"]
    assert [(p["reason"], p["amount"]) for p in first["plbs"]] == [("L6", "-2.35"), ("WO", "40.00"), ("E3", "5.00")]
    assert first["plbs"][0]["reason_text"].startswith("Interest")
    assert first["total"] == {"stated": "57.35", "claims_paid": "100.00", "plb": "42.65", "computed": "57.35",
                              "balanced": True}
    assert second["header"]["trace_number"] == "CHK778899" and second["header"]["payment_method"] == "CHK"
    assert (first["number"], second["number"]) == (1, 2)


def test_unbalanced_shows_stated_and_computed():
    doc = data("unbalanced")
    claim = claims(doc)[0]
    assert claim["balanced"] is False and claim["verdict"] == "does not balance"
    codes = {f["code"]: f for f in claim["findings"]}
    assert (codes["ERA102"]["stated"], codes["ERA102"]["computed"]) == ("130.00", "135.00")
    assert codes["ERA101"]["line"] == 1 and codes["ERA101"]["segment"] is not None
    assert claim["lines"][0]["balanced"] is False and claim["lines"][1]["balanced"] is True
    total = doc["transactions"][0]["total"]
    assert (total["stated"], total["computed"], total["balanced"]) == ("140.00", "130.00", False)
    text = run_case("unbalanced").stdout
    assert "DOES NOT BALANCE" in text and "stated 130.00, computed 135.00" in text


# --- filters -----------------------------------------------------------------------------


def ids(name: str, *args: str) -> list[str]:
    return [c["id"] for c in claims(data(name, *args))]


def test_claim_filter_repeatable():
    assert ids("claim-line-cas", "--claim", "CLAIMCAS02") == ["CLAIMCAS02"]
    assert ids("claim-line-cas", "--claim", "CLAIMCAS02", "--claim", "LINECAS01") == ["LINECAS01", "CLAIMCAS02"]
    doc = data("claim-line-cas", "--claim", "LINECAS01")
    assert doc["filtered"] is True and doc["transactions"][0]["claims_in_transaction"] == 2


def test_missing_claim_is_reported_on_stderr():
    result = run_case("claim-line-cas", "--claim", "NOPE")
    assert result.exit_code == 1  # the claim asked for is not there: scripts must be able to tell
    assert "no claim NOPE" in result.stderr and "CLAIM " not in result.stdout


@pytest.mark.parametrize("status, expected", [
    ("22", ["REV01"]), ("reversal", ["REV01"]), ("1", ["REV01"]), ("primary", ["REV01"]),
])
def test_status_filter_codes_and_words(status, expected):
    assert ids("reversal-correction", "--status", status) == expected


def test_status_filter_words_for_flags():
    assert ids("crossover", "--status", "crossover") == ["XOVER01"]
    assert ids("denial", "--status", "denied") == ["DENY01", "DENY02"]
    assert ids("denial", "--status", "denial") == ["DENY01", "DENY02"]
    assert ids("crossover", "--status", "4") == []
    assert ids("crossover", "--status", "19", "--status", "1") == ["XOVER01", "XOVER02"]


def test_filter_to_balanced_claims_exits_clean_even_if_the_payment_does_not_balance():
    assert run_case("unbalanced").exit_code == 1
    assert run_case("unbalanced", "--status", "4").exit_code == 0


def test_unknown_status_word_is_a_usage_error():
    result = run_case("denial", "--status", "paid-ish")
    assert result.exit_code == 2 and "paid-ish" in result.output


# --- PHI -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CASE_NAMES)
@pytest.mark.parametrize("fmt", FORMATS)
def test_phi_is_masked_in_every_format(name, fmt):
    result = run_case(name, "--format", fmt)
    assert result.exit_code in (0, 1)
    output = result.stdout.upper()
    leaked = [value for value in PHI if value in output]
    assert leaked == []


def test_show_phi_shows_names_and_ids():
    result = run_case("claim-line-cas", "--show-phi")
    assert "QUILLFEATHER, MARGO" in result.stdout and "ZX9988776655" in result.stdout
    masked = run_case("claim-line-cas").stdout
    assert "M*** Q***" in masked and "****6655" in masked


# --- HTML ------------------------------------------------------------------------------------


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)


def test_html_is_one_self_contained_page():
    html = run_case("plb-two-payments", "--format", "html").stdout
    parser = _Tags()
    parser.feed(html)
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert "script" not in parser.tags and "link" not in parser.tags and "img" not in parser.tags
    assert not any(name in ("src", "href") or name.startswith("on") for name, _ in parser.attrs)
    assert "http" not in html and "url(" not in html and "@import" not in html
    assert html.count("<style>") == 1 and html.count('<section class="remit">') == 2


def test_html_escapes_file_content(tmp_path):
    text = (CASES / "claim-line-cas.835").read_text(encoding="utf-8")
    text = text.replace("N1*PR*MAPLE HEALTH PLAN", "N1*PR*<script>alert(1)</script> & CO")
    text = text.replace("CLP*LINECAS01*", "CLP*<b>X\"'*")
    (tmp_path / "evil.835").write_text(text, encoding="utf-8")
    html = run(["evil.835", "--format", "html"], cwd=tmp_path).stdout
    assert "<script>" not in html and "<b>X" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; CO" in html and "&lt;b&gt;X&quot;&#x27;" in html


# --- options, exit codes, unusable input ------------------------------------------------------


def test_json_flag_and_output_file(tmp_path):
    out = tmp_path / "report" / "era.json"
    result = run_case("split-claim", "--json", "-o", str(out))
    assert result.exit_code == 0 and result.stdout == ""
    assert [c["id"] for c in claims(json.loads(out.read_text()))] == ["SPLIT01", "SPLIT01"]


def test_user_codes_override_descriptions(tmp_path):
    codes = tmp_path / "carc.csv"
    codes.write_text("code,description\n45,OUR OFFICE WORDING FOR 45\n", encoding="utf-8")
    result = run_case("claim-line-cas", "--codes", str(codes))
    assert "OUR OFFICE WORDING FOR 45" in result.stdout


def test_bad_user_codes_file_is_one_line_exit_2(tmp_path):
    codes = tmp_path / "carc.csv"
    codes.write_text("code,description,start_date\n45,ok,2020-02-31\n", encoding="utf-8")
    result = run_case("claim-line-cas", "--codes", str(codes))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("cobpipe: ") and "line 2" in result.stderr and result.stderr.count("\n") == 1


def test_unwritable_output_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_case("split-claim", "-o", str(blocker / "sub" / "out.txt"))
    assert result.exit_code == 2 and "cannot write" in result.stderr and "Traceback" not in result.output


def test_codes_dir_environment(tmp_path, monkeypatch):
    (tmp_path / "rarc.csv").write_text("code,description\nN130,ENV DIR WORDING\n", encoding="utf-8")
    monkeypatch.setenv("COBPIPE_CODES_DIR", str(tmp_path))
    assert "ENV DIR WORDING" in run_case("claim-line-cas").stdout


@pytest.mark.parametrize("content", [b"", b"\x00\x01\x02binary" * 50, b"hello, not X12\n"])
def test_unusable_input_is_one_line_and_exit_2(tmp_path, content):
    path = tmp_path / "bad.835"
    path.write_bytes(content)
    result = run([str(path)])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("cobpipe: ")
    assert "Traceback" not in result.output


def test_an_837_is_not_an_835(tmp_path):
    claims_file = Path(__file__).resolve().parents[3] / "samples" / "cob" / "seed-claims.837"
    if not claims_file.exists():
        pytest.skip("seed 837 sample not present")
    result = run([str(claims_file)])
    assert result.exit_code == 2 and "not an 835" in result.stderr


def test_missing_file_is_a_usage_error(tmp_path):
    result = run([str(tmp_path / "nope.835")])
    assert result.exit_code == 2


# --- the public corpus -----------------------------------------------------------------------


@pytest.mark.skipif(not CORPUS_FILES, reason="shared corpus not present")
@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.name for p in CORPUS_FILES])
@pytest.mark.parametrize("fmt", FORMATS)
def test_corpus_835_every_format(path, fmt):
    result = run([str(path), "--format", fmt])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (0, 1), result.output
    assert result.stdout
    if fmt == "json":
        doc = json.loads(result.stdout)
        assert doc["transactions"] and (doc["balanced"] is (result.exit_code == 0))
        for claim in claims(doc):
            for value in (claim["charge"], claim["paid"]):
                assert re.fullmatch(r"-?\d+\.\d{2,}", value), value


@pytest.mark.skipif(not CORPUS_FILES, reason="shared corpus not present")
def test_corpus_fragment_without_envelope_works():
    fragment = CORPUS_835 / "e835_blue_cross_nc_sample.txt"
    result = run([str(fragment), "--format", "json"])
    assert result.exit_code in (0, 1)
    doc = json.loads(result.stdout)
    assert any(f["code"] == "ENV011" for f in doc["findings"])
    assert len(claims(doc)) == 1 and len(claims(doc)[0]["lines"]) == 3


# --- the 835 model's own synthetic samples (samples/era) -----------------------------------

SAMPLES_ERA = Path(__file__).resolve().parents[3] / "samples" / "era"
SAMPLE_FILES = sorted(SAMPLES_ERA.glob("*.835"))


def _phi_in(path: Path) -> set[str]:
    """Names and member ids of NM1*QC/IL/74/GB in an 835 (what masking must hide)."""
    values: set[str] = set()
    for raw in path.read_text(encoding="utf-8").split("~"):
        parts = raw.strip().split("*")
        if parts[0] == "NM1" and len(parts) > 1 and parts[1] in ("QC", "IL", "74", "GB"):
            values.update(p for i, p in enumerate(parts) if i in (3, 4, 9) and len(p) > 1)
    return values


@pytest.mark.skipif(not SAMPLE_FILES, reason="samples/era not present")
@pytest.mark.parametrize("path", SAMPLE_FILES, ids=[p.name for p in SAMPLE_FILES])
@pytest.mark.parametrize("fmt", FORMATS)
def test_samples_era_every_format_masked(path, fmt):
    result = run([str(path), "--format", fmt])
    assert result.exit_code == (1 if "unbalanced" in path.name else 0), result.output
    phi = _phi_in(path)
    assert phi, "the sample names a patient"
    words = set(re.findall(r"[A-Z0-9]+", result.stdout.upper()))
    assert [value for value in phi if value.upper() in words] == []
