"""The fast `explain --format json` (fastscan + fastjson) writes the plain path's bytes, or hands
the file to the plain path (Ineligible): on the samples, the public corpus, synthetic files of
several seeds and knobs, hand-made edge cases and hypothesis-made 835s."""
from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cobpipe.cli import main
from cobpipe.codes import default_codebook
from cobpipe.explain.build import ExplainOptions
from cobpipe.explain.fastjson import write_json
from cobpipe.explain.fastscan import Ineligible
from cobpipe.explain.stream import iter_claims, survey_file, write_explain
from cobpipe.synth import generate

REPO = Path(__file__).resolve().parents[3]
CORPUS = Path("/work/shared/corpus/835")
SAMPLES = sorted([*REPO.glob("samples/**/*.835"), *(REPO / "tests/cobpipe/explain/cases").glob("*.835")])
CORPUS_FILES = sorted(CORPUS.glob("*")) if CORPUS.is_dir() else []
BOOK = default_codebook()

OPTION_SETS = [
    (ExplainOptions(), False),
    (ExplainOptions(show_phi=True), False),
    (ExplainOptions(), True),  # --findings-only
    (ExplainOptions(statuses=frozenset({"4", "22"})), False),
    (ExplainOptions(statuses=frozenset({"1"}), show_phi=True), True),
]


def plain(path: Path, options: ExplainOptions, findings_only: bool = False) -> tuple[str, bool, list]:
    survey = survey_file(str(path), BOOK, options, findings_only=findings_only)
    out = io.StringIO()
    write_explain(survey, "json", out, iter_claims(str(path), BOOK, options, survey))
    return out.getvalue(), survey.has_errors, survey.view.missing_claims


def fast(path: Path, options: ExplainOptions, findings_only: bool = False,
         split_at: int | None = None) -> tuple[str, bool, list] | None:
    out = io.StringIO()
    try:
        survey = write_json(str(path), BOOK, options, out, findings_only=findings_only, split_at=split_at,
                            parallel=split_at is not None)
    except Ineligible:
        assert out.getvalue() == "", "Ineligible after something was written"
        return None
    return out.getvalue(), survey.has_errors, survey.view.missing_claims


def same(path: Path, options: ExplainOptions = ExplainOptions(), findings_only: bool = False,
         split_at: int | None = None) -> bool:
    """Asserts the fast path's output equals the plain one's; returns whether the fast path took the file
    (`split_at`: read by two processes, the second from the first claim after that byte)."""
    got = fast(path, options, findings_only, split_at)
    if got is None:
        return False
    want = plain(path, options, findings_only)
    assert got[0] == want[0]
    assert got[1:] == want[1:]
    return True


def claim_ids(path: Path) -> list[str]:
    return [c["id"] for t in json.loads(plain(path, ExplainOptions())[0])["transactions"] for c in t["claims"]]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_samples_byte_identical(path):
    taken = [same(path, options, findings_only) for options, findings_only in OPTION_SETS]
    assert len(set(taken)) == 1  # options never decide eligibility
    ids = claim_ids(path) if taken[0] else []
    if ids:
        assert same(path, ExplainOptions(claim_ids=frozenset({ids[0], "NOSUCHCLAIM"})))
        assert same(path, ExplainOptions(claim_ids=frozenset({ids[-1]}), statuses=frozenset({"4"})))


def test_most_samples_take_the_fast_path():
    taken = [path.name for path in SAMPLES if same(path)]
    assert len(taken) >= len(SAMPLES) // 2, taken  # the test above is not vacuous
    assert "era.835" in taken and "unbalanced-line.835" in taken


@pytest.mark.skipif(not CORPUS_FILES, reason=f"public corpus not present at {CORPUS}")
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_corpus_byte_identical_or_plain(path):
    for options, findings_only in OPTION_SETS:
        same(path, options, findings_only)


@pytest.mark.skipif(not CORPUS_FILES, reason=f"public corpus not present at {CORPUS}")
def test_some_corpus_files_take_the_fast_path():
    assert sum(same(path) for path in CORPUS_FILES) >= 3


KNOBS = [
    (1, {}),
    (2, {"unbalanced_fraction": 0.2, "claim_cas_fraction": 0.4}),
    (3, {"reversal_fraction": 0.3, "denial_fraction": 0.2, "crossover_fraction": 0.2, "claims_per_835": 40}),
    (4, {"patient_fraction": 0.9, "bundled_fraction": 0.3, "oa23_fraction": 0.3, "max_lines": 12,
         "plb_fraction": 1.0, "claims_per_835": 25}),
    (5, {"unbalanced_fraction": 0.5, "reversal_fraction": 0.5, "claims_per_835": 7}),
]


@pytest.mark.parametrize("seed,knobs", KNOBS, ids=[str(s) for s, _ in KNOBS])
def test_synthetic_files_byte_identical(tmp_path, seed, knobs):
    era, _claims = generate(300, tmp_path, seed=seed, **knobs)
    for options, findings_only in OPTION_SETS:
        assert same(era, options, findings_only)
    ids = claim_ids(era)
    assert same(era, ExplainOptions(claim_ids=frozenset({ids[0], ids[len(ids) // 2], "NOSUCH"})))


@pytest.mark.parametrize("seed,knobs", KNOBS[1:4], ids=[str(s) for s, _ in KNOBS[1:4]])
def test_two_processes_write_the_same_bytes(tmp_path, seed, knobs):
    """The second process starts at the first claim after a byte: at the first claim of the file, in
    the middle of a transaction set, near the end, past the last claim (one process then)."""
    era, _claims = generate(200, tmp_path, seed=seed, **knobs)
    size = era.stat().st_size
    for split_at in (0, 1200, size // 3, size // 2, size - 3000, size):
        for options, findings_only in OPTION_SETS[:3]:
            assert same(era, options, findings_only, split_at=split_at)
    ids = claim_ids(era)
    assert same(era, ExplainOptions(claim_ids=frozenset({ids[0], ids[-1], "NOSUCH"})), split_at=size // 2)


def test_crlf_file_in_one_and_two_processes(tmp_path):
    era, _claims = generate(150, tmp_path, seed=12, reversal_fraction=0.2, claims_per_835=30)
    era.write_bytes(era.read_bytes().replace(b"~\n", b"~\r\n"))
    size = era.stat().st_size
    for split_at in (None, size // 3, size // 2):
        assert same(era, ExplainOptions(), split_at=split_at)


@pytest.mark.parametrize("chunk", [61, 97, 1000, 4093])
def test_any_chunk_size_reads_the_same(tmp_path, monkeypatch, chunk):
    """Chunks cut anywhere: inside a segment, between a terminator and its LF, inside a CRLF."""
    import cobpipe.explain.fasttext as fasttext

    monkeypatch.setattr(fasttext, "CHUNK_BYTES", chunk)
    era, _claims = generate(40, tmp_path, seed=chunk, reversal_fraction=0.3, claims_per_835=15)
    for layout in (b"~\n", b"~\r\n", b"~"):
        text = era.read_bytes().removeprefix(b"\xef\xbb\xbf").replace(b"~\r\n", b"~\n").replace(b"~\n", layout)
        era.write_bytes(b"\xef\xbb\xbf" + text if layout == b"~" else text)  # a byte order mark too
        size = era.stat().st_size
        for split_at in (None, size // 2):
            assert same(era, ExplainOptions(), split_at=split_at), (layout, split_at)


def test_two_processes_hand_over_what_they_cannot_read(tmp_path):
    era, _claims = generate(60, tmp_path, seed=11)
    text = era.read_text()
    for where, finder in ((len(text) * 2 // 3, "second"), (len(text) // 4, "first")):
        era.write_text(text[:where] + text[where:].replace("DTM*472*", "DTM*472*2026133", 1))
        assert fast(era, ExplainOptions()) is None, finder
        assert fast(era, ExplainOptions(), split_at=len(text) // 2) is None, finder  # that part finds it


@pytest.mark.parametrize("two_processes", [False, True])
def test_cli_fast_and_plain_write_the_same_file(tmp_path, monkeypatch, two_processes):
    import cobpipe.explain.fastjson as fastjson

    if two_processes:  # as a file of PARALLEL_BYTES or more is read on two cores
        monkeypatch.setattr(fastjson, "PARALLEL_BYTES", 0)
    era, _claims = generate(120, tmp_path, seed=9, unbalanced_fraction=0.3, reversal_fraction=0.2)
    runner = CliRunner()
    outputs = {}
    for engine in ("fast", "plain"):
        monkeypatch.setenv("COBPIPE_EXPLAIN_ENGINE", engine)
        target = tmp_path / f"{engine}.json"
        result = runner.invoke(main, ["explain", str(era), "--format", "json", "-o", str(target)])
        stdout = runner.invoke(main, ["explain", str(era), "--json", "--findings-only"])
        outputs[engine] = (result.exit_code, target.read_bytes(), stdout.exit_code, stdout.stdout)
    assert outputs["fast"] == outputs["plain"]
    assert outputs["fast"][0] == 1  # unbalanced claims: findings


def test_stdout_pipe_and_appended_file_get_the_same_bytes(tmp_path):
    """Spooled claims go to a real output by os.sendfile: a pipe, a file opened for appending."""
    import os
    import subprocess
    import sys

    era, _claims = generate(150, tmp_path, seed=13, unbalanced_fraction=0.2)
    command = [sys.executable, "-m", "cobpipe.cli", "explain", str(era), "--json"]
    plain_env = {**os.environ, "COBPIPE_EXPLAIN_ENGINE": "plain"}
    want = subprocess.run(command, env=plain_env, capture_output=True, timeout=300)
    got = subprocess.run(command, capture_output=True, timeout=300)
    assert (got.returncode, got.stdout) == (want.returncode, want.stdout) and want.stdout
    target = tmp_path / "appended.json"
    target.write_bytes(b"before\n")
    with open(target, "ab") as out:
        subprocess.run(command, stdout=out, timeout=300)
    assert target.read_bytes() == b"before\n" + want.stdout


# --- hand-made 835s ----------------------------------------------------------------------------------

ISA = "ISA*00*          *00*          *ZZ*PAYERSYNTH     *ZZ*PROVSYNTH      *260105*1200*^*00501*000000101*0*T*:"


def x12(body: list[str], *, amount: str = "100", layout: str = "~\n", header: list[str] | None = None) -> str:
    st = ["ST*835*0001*005010X221A1",
          f"BPR*I*{amount}*C*ACH*CCP*01*999999992*DA*123456*1512345678**01*999988880*DA*98765*20260105",
          "TRN*1*EFT0001*1512345678", "DTM*405*20260104", "N1*PR*SYNTHETIC HEALTH PLAN*XV*SYN01",
          "N1*PE*EXAMPLE CLINIC*XX*1234567893", *(header or []), "LX*1", *body]
    st.append(f"SE*{len(st) + 1}*0001")
    segs = [ISA, "GS*HP*PAYERSYNTH*PROVSYNTH*20260105*1200*101*X*005010X221A1", *st, "GE*1*101", "IEA*1*000000101"]
    return "".join(s + layout for s in segs)


CLAIM = ["CLP*C1*1*150*100*20*12*PCN1", "NM1*QC*1*DOE*JANE*Q**JR*MI*123456789", "NM1*IL*1*DOE*JOHN****MI*55",
         "NM1*TT*2*NEXT PLAN*****PI*99", "DTM*232*20260101", "DTM*233*20260102", "MOA***MA01*N1",
         "SVC*HC:99213:25:59*150*100**2*HC:99214*3", "DTM*472*20260101", "CAS*CO*45*30*1*253*0", "CAS*PR*3*20",
         "REF*6R*L1", "AMT*B6*120", "LQ*HE*M15"]

EDGE_CASES = {
    "plain": (x12(CLAIM), True),
    "no layout": (x12(CLAIM, layout="~"), True),
    "show unbalanced": (x12([*CLAIM[:-4], "CAS*PR*3*25", "REF*6R*L1"]), True),
    "zero cas": (x12([*CLAIM, "CLP*C2*4*10*0**12", "CAS*CO*45*10*1*B7*0"], amount="100"), True),
    "repeat and reversal": (x12([*CLAIM, "CLP*C1*22*-150*-100*-20*12", "CAS*PR*3*-20*", "CAS*CO*45*-30",
                                 "CLP*C1*1*150*100*20*12", "CAS*PR*3*20", "CAS*CO*45*30"], amount="100"), True),
    "debit": (x12(["CLP*C9*22*-10*-10**12", "CAS*CO*45*0.00"], amount="10").replace("*10*C*", "*10*D*"), True),
    "payer contact and rdm": (x12(CLAIM, header=["N3*1 MAIN", "N4*TOWN*CT*06101", "RDM*BM*X"]), True),
    "crlf": (x12(CLAIM, layout="~\r\n"), True),
    "cr alone": (x12(CLAIM, layout="~\r"), False),
    "cr inside": (x12(CLAIM).replace("PCN1", "PC\rN1"), False),
    "blank line": (x12(CLAIM).replace("LX*1~\n", "LX*1~\n\n"), False),
    "trailing blank": (x12(CLAIM).replace("REF*6R*L1~", "REF*6R*L1 ~"), False),
    "non ascii name": (x12(CLAIM).replace("DOE*JANE", "DÖE*JANE"), False),
    "bad date": (x12(CLAIM).replace("DTM*472*20260101", "DTM*472*20261301"), False),
    "bad amount": (x12(CLAIM).replace("AMT*B6*120", "AMT*B6*12O"), False),
    "unknown segment": (x12([*CLAIM, "XYZ*1"]), False),
    "nm1 after svc": (x12([*CLAIM, "NM1*82*1*DOC"]), False),
    "foreign separator": (x12(CLAIM).replace("HC:99213:25:59", "HC>99213"), False),
    "se count": (x12(CLAIM).replace("SE*", "SE*9"), False),
    "bad clp02": (x12(CLAIM).replace("CLP*C1*1*", "CLP*C1*99*"), False),
    "cas group": (x12(CLAIM).replace("CAS*PR*3*20", "CAS*CR*3*20"), False),
    "byte order mark": ("\ufeff" + x12(CLAIM), True),
    "bom in the middle": (x12(CLAIM).replace("LX*1~", "LX*1~\ufeff"), False),
    "bare ref 6r first": (x12([*CLAIM[:-3], "REF*6R", "REF*6R*L2", "AMT*B6*120"]), True),
    "two ref 6r": (x12([*CLAIM[:-3], "REF*6R*L1*NOTE", "REF*6R*L2", "AMT*B6*120", "AMT*B6*1"]), True),
    "quoted name": (x12(CLAIM).replace("NEXT PLAN", 'NEXT "PLAN" \\ X'), True),
}


@pytest.mark.parametrize("name", list(EDGE_CASES))
def test_edge_cases(tmp_path, name):
    text, fast_expected = EDGE_CASES[name]
    path = tmp_path / "era.835"
    path.write_bytes(text.encode("utf-8"))
    for options, findings_only in OPTION_SETS:
        assert same(path, options, findings_only) is fast_expected


# --- hypothesis: random claims, the two paths agree --------------------------------------------------

_code = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=5)
_amount = st.one_of(st.decimals(min_value=-99999, max_value=99999, places=2, allow_nan=False).map(str),
                    st.integers(-500, 500).map(str), st.sampled_from(["0", "0.00", "-0", "1.", ".5", "1.005"]))
_name = st.text(alphabet="ABCXYZ '\"\\-.,&", min_size=0, max_size=8)
_date8 = st.one_of(st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31)).map(lambda d: d.strftime("%Y%m%d")),
                   st.just(""))


@st.composite
def claims(draw) -> list[str]:
    out = []
    for n in range(draw(st.integers(1, 3))):
        status = draw(st.sampled_from(["1", "2", "3", "4", "19", "20", "22", "23", "25"]))
        ident = draw(st.sampled_from(["A1", "A2", f"K{n}"]))
        pr = draw(st.sampled_from(["", "0", "5", "20"]))
        out.append(f"CLP*{ident}*{status}*{draw(_amount)}*{draw(_amount)}*{pr}*{draw(_code)}*{draw(_name)}")
        for entity in draw(st.lists(st.sampled_from(["QC", "IL", "74", "GB", "TT", "PR", "82"]), max_size=4)):
            out.append(f"NM1*{entity}*{draw(st.sampled_from(['1', '2']))}*{draw(_name)}*{draw(_name)}*"
                       f"{draw(_name)}**{draw(_name)}*MI*{draw(_name)}")
        for qualifier in draw(st.lists(st.sampled_from(["232", "233", "050"]), max_size=3)):
            out.append(f"DTM*{qualifier}*{draw(_date8)}")
        if draw(st.booleans()):
            out.append(f"CAS*{draw(st.sampled_from(['CO', 'PR', 'OA', 'PI']))}*{draw(_code)}*{draw(_amount)}")
        if draw(st.booleans()):
            out.append(f"MOA***{draw(_code)}")
        for _ in range(draw(st.integers(0, 3))):
            proc = draw(st.sampled_from(["HC:99213", "HC:99213:25", "HC:A1:::::DESC", "AD:D0120"]))
            billed = draw(st.sampled_from(["", "HC:99214", "HC:99215:59"]))
            units = draw(st.sampled_from(["", "1", "2.50", "0"]))
            out.append(f"SVC*{proc}*{draw(_amount)}*{draw(_amount)}**{units}*{billed}")
            for qualifier in draw(st.lists(st.sampled_from(["472", "150", "151"]), max_size=2)):
                out.append(f"DTM*{qualifier}*{draw(_date8)}")
            for _ in range(draw(st.integers(0, 2))):
                triplets = "*".join(f"{draw(_code)}*{draw(_amount)}*" for _ in range(draw(st.integers(1, 3))))
                out.append(f"CAS*{draw(st.sampled_from(['CO', 'PR', 'OA', 'PI']))}*{triplets}")
            if draw(st.booleans()):
                out.append(f"REF*6R*{draw(_code)}")
            if draw(st.booleans()):
                out.append(f"AMT*B6*{draw(_amount)}")
            if draw(st.booleans()):
                out.append(f"LQ*HE*{draw(_code)}")
    return out


_MUTATIONS = st.just(("", "")) | st.sampled_from([("DTM*472*", "DTM*472*2026023"), ("*MI*", "*MI* "), ("CAS*CO*", "CAS*CR*"),
                               ("SVC*HC:", "SVC*HC>"), ("LQ*HE*", "LQ*HE"), ("REF*6R*", "REF*6R*\u00e9")])
TAKEN: list[bool] = []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=claims(), amount=_amount, findings_only=st.booleans(), show_phi=st.booleans(), mutation=_MUTATIONS)
def test_hypothesis_claims(tmp_path, body, amount, findings_only, show_phi, mutation):
    """Random claims (and a few mutants the fast path must hand over): both paths agree."""
    path = tmp_path / "era.835"
    path.write_bytes(x12(body, amount=amount).replace(*mutation, 1).encode("utf-8"))
    TAKEN.append(same(path, ExplainOptions(show_phi=show_phi), findings_only))


def test_hypothesis_claims_mostly_take_the_fast_path():
    """Run after test_hypothesis_claims (file order): the examples were not all handed over."""
    if not TAKEN:
        pytest.skip("test_hypothesis_claims did not run in this session")
    assert sum(TAKEN) >= len(TAKEN) // 4, (sum(TAKEN), len(TAKEN))
