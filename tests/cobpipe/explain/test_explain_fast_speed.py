"""What the fast `explain --format json` does for speed leaves no trace: the collector is back on
after a run (written, handed over or failed), and the generated 835s the benchmark reads take the
fast path in one and in two processes (a change that made them fall back to the plain path would
pass every identity test and only show as time)."""
from __future__ import annotations

import gc
import io

import pytest

from cobpipe.codes import default_codebook
from cobpipe.explain.build import ExplainOptions
from cobpipe.explain.fastjson import write_json
from cobpipe.explain.fastscan import Ineligible
from cobpipe.synth import generate

from test_explain_fast import same, x12

BOOK = default_codebook()


@pytest.mark.parametrize("split", [False, True])
def test_collector_back_on_after_a_run(tmp_path, split):
    era, _claims = generate(60, tmp_path, seed=21)
    assert gc.isenabled()
    write_json(str(era), BOOK, ExplainOptions(), io.StringIO(), split_at=era.stat().st_size // 2 if split else None,
               parallel=split)
    assert gc.isenabled()


def test_collector_back_on_after_a_hand_over_and_stays_off_when_it_was(tmp_path):
    path = tmp_path / "era.835"
    path.write_bytes(x12(["CLP*C1*1*10*10**12", "XYZ*1"]).encode("ascii"))
    with pytest.raises(Ineligible):
        write_json(str(path), BOOK, ExplainOptions(), io.StringIO())
    assert gc.isenabled()
    gc.disable()
    try:
        era, _claims = generate(20, tmp_path, seed=22)
        write_json(str(era), BOOK, ExplainOptions(), io.StringIO(), parallel=False)
        assert not gc.isenabled()  # the caller's choice is kept
    finally:
        gc.enable()


def test_benchmark_shaped_file_takes_the_fast_path(tmp_path):
    """bench/run.py's 835 (the generator's defaults): read fast, alone and by two processes."""
    era, _claims = generate(400, tmp_path, seed=1)
    size = era.stat().st_size
    for split_at in (None, size // 2):
        assert same(era, ExplainOptions(), split_at=split_at)


# --- prescan: the literal-text search reads what one expression from every terminator read ------------

import re  # noqa: E402
from collections import Counter  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from cobpipe.explain import fasttext  # noqa: E402
from cobpipe.explain.fastprescan import prescan  # noqa: E402
from cobpipe.explain.fastscan import Resume  # noqa: E402


def reference_prescan(path: str, split_at: int | None) -> tuple[list[dict], tuple | None]:
    """The former prescan: one expression tried at every terminator, CLP01s counted one by one (its
    split taken at the CLP's own offset, as now, not at the terminator before it)."""
    sep, _component, term = fasttext.delimiters(path)
    s, t = re.escape(sep), re.escape(term)
    pattern = re.compile(rf"{t}\r?\n?(ST|CLP){s}([^{s}{t}]*)(?:{s}([^{s}{t}]*))?")
    sections, seen, reversed_ids, split = [], None, set(), None
    st_index, st02 = 0, ""
    text = path_text(path)
    for match in pattern.finditer(text):
        tag, first, second = match.groups()
        if tag == "ST":
            if seen is not None:
                sections.append({i: (n, i in reversed_ids) for i, n in seen.items() if n > 1})
            seen, reversed_ids = Counter(), set()
            st_index = text.count(term, 0, match.start() + 1) + 1
            st02 = first if second is None else second
            continue
        if seen is None:
            continue
        if split is None and split_at is not None and fasttext.text_start(path) + match.start(1) >= split_at:
            split = (fasttext.text_start(path) + match.start(1), text.count(term, 0, match.start() + 1) + 1,
                     len(sections) + 1, st_index, st02)
        seen[first] += 1
        status = BOOK.claim_status(second or "")
        if status and status.reversal:
            reversed_ids.add(first)
    if seen is not None:
        sections.append({i: (n, i in reversed_ids) for i, n in seen.items() if n > 1})
    return sections, split


def path_text(path: str) -> str:
    return open(path, "rb").read()[fasttext.text_start(path):].decode("ascii")


def _resume(found: Resume | None) -> tuple | None:
    return None if found is None else (found.offset, found.index, found.number, found.st_index, found.st02)


_ident = st.sampled_from(["A1", "A2", "CLP", "XCLP", "ST", "FIRST", "K9"])
_status = st.sampled_from(["1", "2", "4", "22", ""])


@st.composite
def transaction_sets(draw) -> list[list[str]]:
    sets = []
    for _ in range(draw(st.integers(1, 3))):
        body = []
        for _ in range(draw(st.integers(0, 6))):
            ident, status = draw(_ident), draw(_status)
            body.append(f"CLP*{ident}*{status}*10*10**12" if status else f"CLP*{ident}")
            # element text holding "CLP*" and "ST*" that starts no segment
            body.append(f"NM1*QC*1*{draw(_ident)}*{draw(_ident)}****MI*{draw(_ident)}")
            body.append("SVC*HC:99213*10*10")
        sets.append(body)
    return sets


def _file(sets: list[list[str]], layout: str, bom: bool) -> str:
    text = x12(sets[0], layout=layout)
    for number, body in enumerate(sets[1:], start=2):  # more transaction sets in the same group
        extra = x12(body, layout=layout).split(f"ST*835*")[1].split("GE*")[0]
        text = text.replace("GE*", f"ST*835*{number:04d}*" + extra.split("*", 1)[1] + "GE*", 1)
    return ("\ufeff" if bom else "") + text


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sets=transaction_sets(), layout=st.sampled_from(["~", "~\n", "~\r\n", "~\r"]), bom=st.booleans(),
       chunk=st.sampled_from([7, 40, 333, 1 << 20]), where=st.floats(0, 1.1))
def test_prescan_reads_as_one_expression_did(tmp_path, monkeypatch, sets, layout, bom, chunk, where):
    path = tmp_path / "era.835"
    path.write_bytes(_file(sets, layout, bom).encode("utf-8"))
    monkeypatch.setattr(fasttext, "CHUNK_BYTES", chunk)
    # (a lone CR after terminators: the scans refuse the file, and envelope_head, which the split
    # reads, refuses it too; prescan's counting is compared without a split there)
    split_at = None if layout == "~\r" else int(where * path.stat().st_size)
    want_sections, want_split = reference_prescan(str(path), split_at)
    sections, split = prescan(str(path), BOOK, split_at)
    assert sections == want_sections
    assert _resume(split) == want_split
    assert prescan(str(path), BOOK)[0] == want_sections


def test_prescan_finds_repeats_and_reversals_across_sets(tmp_path):
    """The hand-made case the property test above draws at random: a repeat with a reversal in set 1,
    a split claim in set 2, text holding CLP* and ST* inside elements."""
    sets = [["CLP*A1*1*10*10**12", "NM1*QC*1*XCLP*FIRST****MI*ST", "CLP*A1*22*-10*-10**12", "CLP*B*1*1*1**12"],
            ["CLP*C*1*5*5**12", "CLP*C*2*5*5**12", "CLP*A1*1*1*1**12"]]
    path = tmp_path / "era.835"
    path.write_bytes(_file(sets, "~\n", False).encode("ascii"))
    sections, _split = prescan(str(path), BOOK)
    assert sections == [{"A1": (2, True)}, {"C": (2, False)}]
    assert sections == reference_prescan(str(path), None)[0]


# --- start-up: the fast path loads neither the 835 reader nor the other renderers ------------------------

def test_fast_json_loads_no_835_reader_and_no_other_renderer(tmp_path):
    """A file that balances is explained without importing cobpipe.era (~13 ms) or the HTML and text
    renderers; an unbalanced one imports what its findings' words need, in either process."""
    import subprocess
    import sys

    era, _claims = generate(40, tmp_path, seed=23)
    unbalanced, _claims = generate(40, tmp_path / "u", seed=24, unbalanced_fraction=0.5)
    probe = ("import sys\nfrom cobpipe.cli import main\n"
             "try:\n    main(['explain', sys.argv[1], '--format', 'json', '-o', sys.argv[2]])\n"
             "except SystemExit as exc:\n    code = exc.code\n"
             "print(code, sorted(m for m in sys.modules if m.startswith(('cobpipe.era', 'cobpipe.explain.htmlout',"
             " 'cobpipe.explain.text'))))\n")
    env = {"PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", probe, str(era), str(tmp_path / "a.json")], capture_output=True,
                         text=True, timeout=300, env=env)
    assert out.stdout.strip() == "0 []", out.stderr
    out = subprocess.run([sys.executable, "-c", probe, str(unbalanced), str(tmp_path / "b.json")],
                         capture_output=True, text=True, timeout=300, env=env)
    assert out.stdout.startswith("1 ['cobpipe.era"), out.stderr


def test_what_the_fast_path_writes_out_is_the_835_readers_own():
    from decimal import Decimal

    from cobpipe.era.codes import severity_of
    from cobpipe.era.model import format_money
    from cobpipe.era.status import CLAIM_STATUS
    from cobpipe.explain import fastclaim, fastscan

    assert fastscan.CLAIM_STATUS_CODES == frozenset(CLAIM_STATUS)
    for code in ("ERA101", "ERA102", "ERA103", "ERA104", "ERA105"):
        assert fastclaim._severity(code) == str(severity_of(code))
    for value in (None, Decimal("1"), Decimal("-0.5"), Decimal("1.005"), Decimal("12E+2"), Decimal("0.00")):
        assert fastclaim._m(value) == format_money(value)


# --- the copied claims' writeback starts as they are copied (the output's fsync then waits for less) ------

def test_start_writeback_on_a_file_a_pipe_and_a_closed_descriptor(tmp_path):
    import os

    from cobpipe.explain.fastplace import _start_writeback

    target = tmp_path / "out.json"
    with open(target, "wb") as out:
        out.write(b"x" * 100_000)
        out.flush()
        _start_writeback(out.fileno())
        out.write(b"y")
    assert target.read_bytes() == b"x" * 100_000 + b"y"  # the bytes stay as written
    with open(target, "r+b") as out:  # the advice on a range only (the part just copied)
        out.seek(50_000)
        out.write(b"z" * 10_000)
        out.flush()
        _start_writeback(out.fileno(), 50_000, 10_000)
    assert target.read_bytes() == b"x" * 50_000 + b"z" * 10_000 + b"x" * 40_000 + b"y"
    read, write = os.pipe()
    try:
        _start_writeback(write)  # a pipe: the system refuses, nothing is raised
    finally:
        os.close(read)
        os.close(write)
    _start_writeback(write)  # closed by now: nothing is raised either


# --- a masked person's JSON up to the id is remembered per role, name and id qualifier -------------------

PEOPLE = ["CLP*P1*1*10*10**12", "NM1*QC*1*DOE*JANE****MI*123456789", "NM1*IL*1*DOE*JANE****MI*55",
          "CLP*P2*1*10*10**12", "NM1*QC*1*DOE*JANE****MR*987654321", "NM1*IL*1*DOE*JOHN****MI*55",
          "CLP*P3*1*10*10**12", "NM1*QC*1*DOE*JANE****MI*1234", "NM1*74*1*DOE*JANE****C*12345678",
          "CLP*P4*1*10*10**12", "NM1*QC*2*DOE*JANE****MI*123456789", "NM1*QC*1*DOE JR*JANE A****MI*1",
          "CLP*P5*1*10*10**12", "NM1*QC*1*DÖE*JANE****MI*1"]


@pytest.mark.parametrize("show_phi", [False, True])
def test_same_people_in_other_roles_ids_and_qualifiers(tmp_path, show_phi):
    path = tmp_path / "era.835"
    path.write_bytes(x12(PEOPLE[:-2], amount="40").encode("ascii"))
    assert same(path, ExplainOptions(show_phi=show_phi))
    path.write_bytes(x12(PEOPLE, amount="50").encode("utf-8"))  # a non-ASCII name: the plain path's
    assert not same(path, ExplainOptions(show_phi=show_phi))


def test_claims_are_written_out_in_small_blocks(tmp_path, monkeypatch):
    """A pass writes its JSON out in blocks of a few hundred KB (fastjson.FLUSH_PIECES): texts of
    megabytes cost ~13% more CPU over a pass (the allocator maps fresh pages for each)."""
    from cobpipe.explain import fastplace

    sizes: list[int] = []
    write = fastplace.InPlace.write

    def watched(inplace, data):
        sizes.append(len(data))
        return write(inplace, data)

    monkeypatch.setattr(fastplace.InPlace, "write", watched)
    era, _claims = generate(600, tmp_path, seed=1)
    with open(tmp_path / "out.json", "w+", encoding="utf-8", newline="") as stream:
        write_json(str(era), BOOK, ExplainOptions(), stream, parallel=False)
    assert sum(sizes) > 2 << 20  # (the claims went through InPlace.write)
    assert max(sizes) <= 512 << 10
