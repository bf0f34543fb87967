"""The synthetic generator: deterministic, right sizes, IG-clean per pyx12, 835s balanced per the 835 model."""
from __future__ import annotations

import csv
import io
import json
import logging
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from cobpipe import era
from cobpipe.synth import GENERATOR_VERSION, SynthOptions, generate, generate_set
from cobpipe.synth.model import npi
from edi.reader import X12Reader

# every unusual path at once, with small transactions so several ST/BPR and PLB/FB appear
VARIETY = dict(denial_fraction=0.2, crossover_fraction=0.2, reversal_fraction=0.3, claim_cas_fraction=0.5,
               oa23_fraction=0.3, bundled_fraction=0.3, plb_fraction=1.0, secondary_absent_fraction=0.3,
               patient_fraction=0.5, rendering_fraction=0.5, claims_per_835=7, claims_per_837=25)


def segments(path: Path) -> list[list[str]]:
    """Our generator writes standard delimiters, one segment a line."""
    text = path.read_text(encoding="ascii")
    return [seg.strip("\n").split("*") for seg in text.split("~") if seg.strip()]


def check_835(path: Path) -> list[tuple[str, str]]:
    """Independent Decimal check of the 835 rules (cob-spec §2.2): S, C, T and CLP05 = ΣPR.

    Returns (rule, claim id or ST02) for every break.
    """
    problems: list[tuple[str, str]] = []
    bpr02 = clp04_total = plb_total = Decimal(0)
    claim = line = None

    def close_line():
        nonlocal line
        if line and line["charge"] - line["cas"] != line["paid"]:
            problems.append(("S", claim["id"]))
        line = None

    def close_claim():
        nonlocal claim
        close_line()
        if claim:
            if claim["charge"] - claim["cas"] != claim["paid"]:
                problems.append(("C", claim["id"]))
            if claim["status"] != "22" and claim["pr"] != claim["clp05"]:
                problems.append(("CLP05", claim["id"]))
        claim = None

    for seg in segments(path):
        tag = seg[0]
        if tag == "ST":
            st02, bpr02, clp04_total, plb_total = seg[2], Decimal(0), Decimal(0), Decimal(0)
        elif tag == "BPR":
            bpr02 = Decimal(seg[2])
        elif tag == "CLP":
            close_claim()
            claim = dict(id=seg[1], status=seg[2], charge=Decimal(seg[3]), paid=Decimal(seg[4]),
                         clp05=Decimal(seg[5]), cas=Decimal(0), pr=Decimal(0))
            clp04_total += claim["paid"]
        elif tag == "SVC":
            close_line()
            line = dict(charge=Decimal(seg[2]), paid=Decimal(seg[3]), cas=Decimal(0))
        elif tag == "CAS":
            amounts = [Decimal(seg[i]) for i in range(3, len(seg), 3) if seg[i]]
            assert all(a != 0 for a in amounts), seg  # CAS03 ≠ 0
            total = sum(amounts, Decimal(0))
            claim["cas"] += total  # the C rule counts claim- and line-level CAS
            if line is not None:
                line["cas"] += total
            if seg[1] == "PR":
                claim["pr"] += total
        elif tag == "PLB":
            close_claim()
            plb_total += sum(Decimal(seg[i]) for i in range(4, len(seg), 2))
        elif tag == "SE":
            close_claim()
            if bpr02 != clp04_total - plb_total:
                problems.append(("T", st02))
            assert bpr02 >= 0
    return problems


def pyx12_errors(path: Path) -> list[str]:
    """pyx12's validating parse; returns its error messages (it logs them on the 'pyx12' logger)."""
    import pyx12.params
    import pyx12.x12n_document

    class Collect(logging.Handler):
        def __init__(self) -> None:
            super().__init__(logging.ERROR)
            self.messages: list[str] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.messages.append(record.getMessage())

    handler = Collect()
    logger = logging.getLogger("pyx12")
    logger.addHandler(handler)
    try:
        json_out = io.StringIO()
        with open(path, encoding="ascii") as fd:
            ok = pyx12.x12n_document.x12n_document(pyx12.params.params(), fd, None, None, fd_json=json_out)
    finally:
        logger.removeHandler(handler)
    report = json.loads(json_out.getvalue())
    if not ok and not handler.messages:
        handler.messages.append("pyx12 rejected the file without a message")
    return handler.messages + _json_errors(report)


def _json_errors(node) -> list[str]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "errors" and value:
                found += [str(v) for v in value]
            else:
                found += _json_errors(value)
    elif isinstance(node, list):
        for value in node:
            found += _json_errors(value)
    return found


@pytest.fixture(scope="module")
def pair50(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth50")
    generate_set(50, out, seed=11)
    return out


@pytest.fixture(scope="module")
def variety(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("variety")
    generate_set(60, out, seed=5, **VARIETY)
    return out


def test_same_seed_gives_byte_identical_files(tmp_path):
    a = generate_set(40, tmp_path / "a", seed=3, unbalanced_fraction=0.1)
    generate_set(40, tmp_path / "b", seed=3, unbalanced_fraction=0.1)
    for name in ("era.835", "claims.837", "coverage.csv", "synth.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    c = generate_set(40, tmp_path / "c", seed=4)
    assert c.claims.read_bytes() != a.claims.read_bytes()
    assert c.era.read_bytes() != a.era.read_bytes()


def test_a_claim_does_not_depend_on_how_many_are_generated(tmp_path):
    small, large = generate_set(5, tmp_path / "s", seed=9), generate_set(12, tmp_path / "l", seed=9)
    clms = lambda p: [s for s in segments(p) if s[0] in ("CLM", "SV1", "REF")]  # noqa: E731
    assert clms(large.claims)[:len(clms(small.claims))] == clms(small.claims)


def test_generate_returns_the_pair(tmp_path):
    era, claims = generate(3, tmp_path, seed=1)
    assert (era.name, claims.name) == ("era.835", "claims.837")
    assert era.read_text().startswith("ISA*") and claims.read_text().startswith("ISA*")


@pytest.mark.parametrize("n", [1, 7, 130])
def test_claim_counts_and_transactions(tmp_path, n):
    result = generate_set(n, tmp_path, seed=2, claims_per_837=50, claims_per_835=20)
    s837, s835 = segments(result.claims), segments(result.era)
    clm01 = [s[1] for s in s837 if s[0] == "CLM"]
    assert len(clm01) == len(set(clm01)) == n == result.counts["claims"]
    assert {s[1] for s in s835 if s[0] == "CLP"} == set(clm01)
    assert sum(1 for s in s837 if s[0] == "ST") == -(-n // 50)
    assert sum(1 for s in s835 if s[0] == "ST") == sum(1 for s in s835 if s[0] == "BPR") == -(-n // 20)
    assert sum(1 for s in s837 if s[0] == "LX") == result.counts["service_lines"]
    manifest = json.loads(result.manifest.read_text())
    assert manifest["n_claims"] == n and manifest["generator_version"] == GENERATOR_VERSION


def test_claim_offset_gives_distinct_ids(tmp_path):
    a = generate_set(5, tmp_path / "a", seed=1)
    b = generate_set(5, tmp_path / "b", seed=1, claim_offset=5)
    ids = lambda p: {s[1] for s in segments(p) if s[0] == "CLM"}  # noqa: E731
    assert not ids(a.claims) & ids(b.claims)
    assert ids(b.claims) == {f"SYN{k:08d}" for k in range(6, 11)}


def test_envelopes_are_counted_right(pair50):
    for name in ("claims.837", "era.835"):
        reader = X12Reader.open(pair50 / name)
        assert sum(1 for _ in reader) > 50
        assert reader.findings == [], name


def test_837_charges_lines_and_controls(variety):
    """C0: CLM02 = ΣSV102; REF*6R unique within the claim; HI has what SV107 points at."""
    claim = None
    for seg in segments(variety / "claims.837") + [["HL"]]:
        if seg[0] in ("HL", "SE") and claim:
            assert claim["clm02"] == claim["lines"], claim["id"]
            assert len(claim["controls"]) == len(set(claim["controls"]))
            claim = None
        if seg[0] == "CLM":
            claim = dict(id=seg[1], clm02=Decimal(seg[2]), lines=Decimal(0), controls=[], dx=0)
            assert seg[5] == "11:B:1"
        elif seg[0] == "HI":
            claim["dx"] = len(seg) - 1
            assert seg[1].startswith("ABK:")
        elif seg[0] == "SV1":
            claim["lines"] += Decimal(seg[2])
            assert seg[3] == "UN" and seg[1].startswith("HC:")
            assert max(int(p) for p in seg[7].split(":")) <= claim["dx"]
        elif seg[0] == "REF" and seg[1] == "6R":
            claim["controls"].append(seg[2])


def test_secondary_in_2320_or_in_coverage_file(tmp_path):
    result = generate_set(80, tmp_path, seed=8, secondary_absent_fraction=0.4)
    in_claim, claim_id = set(), None
    for seg in segments(result.claims):
        if seg[0] == "CLM":
            claim_id = seg[1]
        elif seg[0] == "SBR" and seg[1] == "S":
            in_claim.add(claim_id)
    with open(result.coverage, newline="") as stream:
        rows = list(csv.DictReader(stream))
    in_file = {row["claim_id"] for row in rows}
    assert len(in_file) == result.counts["secondary_absent"] > 0
    assert not in_claim & in_file and len(in_claim | in_file) == 80
    assert all(row["payer_id"] and row["member_id"] for row in rows)
    assert all(row["subscriber_last_name"] for row in rows if row["relationship"] != "18")


def test_secondary_absent_extremes(tmp_path):
    none_missing = generate_set(10, tmp_path / "a", seed=1, secondary_absent_fraction=0)
    all_missing = generate_set(10, tmp_path / "b", seed=1, secondary_absent_fraction=1)
    assert none_missing.coverage.read_text().count("\n") == 1  # header only
    assert all_missing.coverage.read_text().count("\n") == 11
    assert not any(s[0] == "SBR" and s[1] == "S" for s in segments(all_missing.claims))


def test_statuses_appear_as_asked(variety):
    statuses = Counter(s[2] for s in segments(variety / "era.835") if s[0] == "CLP")
    assert {"1", "4", "19", "22"} <= set(statuses)
    s835 = segments(variety / "era.835")
    # each reversal comes right before its correction, which points back at it with REF*F8
    clps = [(i, s) for i, s in enumerate(s835) if s[0] == "CLP"]
    for (i, clp), (_, following) in zip(clps, clps[1:]):
        if clp[2] == "22":
            assert following[1] == clp[1] and following[2] == "1"
            assert Decimal(clp[3]) < 0
    crossover_claims = {s[1] for s in s835 if s[0] == "CLP" and s[2] == "19"}
    assert crossover_claims and sum(1 for s in s835 if s[0] == "NM1" and s[1] == "TT") == len(crossover_claims)
    assert any(s[0] == "PLB" for s in s835)


@pytest.mark.parametrize("files", ["pair50", "variety"])
def test_pyx12_finds_nothing(files, request):
    folder = request.getfixturevalue(files)
    for name in ("claims.837", "era.835"):
        assert pyx12_errors(folder / name) == [], name


def era_findings(path: Path) -> Counter:
    """Finding codes of the 835 model (cobpipe.era): S = ERA101, C = ERA102, T = ERA103, CLP05 = ERA105."""
    codes: Counter = Counter()
    for remittance in era.read_remittances(path):
        for _ in remittance.claims():
            pass
        codes.update(f.code for f in remittance.findings)
    return codes


@pytest.mark.parametrize("files", ["pair50", "variety"])
def test_835_balances(files, request):
    assert era_findings(request.getfixturevalue(files) / "era.835") == Counter()


def test_unbalanced_fraction_breaks_exactly_the_counted_claims(tmp_path):
    result = generate_set(120, tmp_path, seed=4, unbalanced_fraction=0.25)
    codes = era_findings(result.era)
    assert codes["ERA101"] == result.counts["unbalanced_line"] > 0
    assert codes["ERA102"] == result.counts["unbalanced_claim"] > 0
    assert set(codes) == {"ERA101", "ERA102"}  # BPR02 follows the stated CLP04s: T holds


def test_own_decimal_check_agrees_with_the_era_model(tmp_path):
    """check_835 is an independent computation of the same rules: both must see the same breaks."""
    result = generate_set(120, tmp_path, seed=4, unbalanced_fraction=0.25, **{
        k: v for k, v in VARIETY.items() if k != "claims_per_837"})
    codes = era_findings(result.era)
    rules = Counter(rule for rule, _ in check_835(result.era))
    assert codes["ERA101"] == rules["S"] == result.counts["unbalanced_line"]
    assert codes["ERA102"] == rules["C"] == result.counts["unbalanced_claim"]
    assert codes["ERA103"] == rules["T"] == 0 and rules["CLP05"] == 0


def test_a_wrong_payment_is_caught(tmp_path):
    result = generate_set(5, tmp_path, seed=1, denial_fraction=0, reversal_fraction=0, crossover_fraction=0)
    text = result.era.read_text()
    bpr = next(line for line in text.splitlines() if line.startswith("BPR*"))
    amount = bpr.split("*")[2]
    result.era.write_text(text.replace(bpr, bpr.replace(f"*{amount}*", f"*{Decimal(amount) + 1}*", 1)))
    assert ("T", "0001") in check_835(result.era)
    assert era_findings(result.era)["ERA103"] == 1


def test_knobs_are_checked(tmp_path):
    with pytest.raises(ValueError):
        generate(5, tmp_path, denial_fraction=1.5)
    with pytest.raises(ValueError):
        generate(5, tmp_path, denial_fraction=0.6, reversal_fraction=0.6)
    with pytest.raises(TypeError, match="no_such_knob"):
        generate(5, tmp_path, no_such_knob=1)
    with pytest.raises(ValueError):
        generate(0, tmp_path)
    assert "unbalanced_fraction" in SynthOptions.knob_names()


def test_names_and_ids_are_obviously_fake(pair50):
    s837 = segments(pair50 / "claims.837")
    member_ids = [s[9] for s in s837 if s[0] == "NM1" and s[1] == "IL"]
    assert member_ids and all(m.startswith("ZZ") for m in member_ids)
    assert all(s[3].startswith("ZZ") for s in s837 if s[0] == "NM1" and s[1] == "PR")


def test_npi_check_digit():
    assert npi("123456789") == "1234567893"  # the CMS example
    assert npi("999999999")[-1].isdigit()


def test_synth_command(tmp_path):
    from cobpipe.cli import main

    result = CliRunner().invoke(main, ["synth", "12", "--out", str(tmp_path), "--seed", "3",
                                       "--knob", "unbalanced_fraction=0.5", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["n_claims"] == 12 and summary["options"]["unbalanced_fraction"] == 0.5
    assert (tmp_path / "era.835").is_file() and (tmp_path / "claims.837").is_file()
    bad = CliRunner().invoke(main, ["synth", "3", "--out", str(tmp_path), "--knob", "nope=1"])
    assert bad.exit_code == 2


def test_bytes_do_not_depend_on_the_process(tmp_path):
    """Same seed in two interpreters with different hash seeds: same bytes (no set or hash order leaks)."""
    import os
    import subprocess
    import sys

    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        subprocess.run([sys.executable, "-m", "cobpipe.cli", "synth", "30", "--seed", "5", "--out",
                        str(tmp_path / hash_seed)], check=True, env=env, capture_output=True)
    for name in ("era.835", "claims.837", "coverage.csv"):
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes(), name
