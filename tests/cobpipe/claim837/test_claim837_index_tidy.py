"""`OriginalClaim.indexed_tidy`: the claim index's word that `cob.tidy.tidy_loop` finds nothing to
do on a claim's parts (its text holds no `*~`, `:*` or `:~`), held to tidy_loop itself."""
from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cobpipe.claim837 import parse_claims_text
from cobpipe.claim837.claim import tidy_text as _tidy_text
from cobpipe.claim837.index import ClaimIndex
from cobpipe.cob.tidy import tidy_loop
from cobpipe.synth import generate_set

_ENVELOPE = ("ISA*", "GS*", "ST*", "SE*", "GE*", "IEA*", "HL*", "CLM*", "BHT*")


@functools.cache
def _clean_text() -> str:
    with tempfile.TemporaryDirectory() as folder:
        return generate_set(6, Path(folder), seed=11, patient_fraction=0.5).claims.read_text()


def _indexed(path: Path, text: str) -> list:
    path.write_text(text)
    index = ClaimIndex.build([path])
    if index is None:
        return []
    with index:
        return [claim for claim_id in index.by_id for claim in index.claims_for(claim_id)]


def _all_tidy(claim) -> bool:
    return all(tidy_loop(loop) is loop for loop in claim.loops())


def test_a_clean_file_gives_tidy_claims(tmp_path):
    claims = _indexed(tmp_path / "claims.837", _clean_text())
    assert len(claims) == 6
    # the fast path: every claim of a clean file says so (fails if the flag stops being set)
    assert all(claim.indexed_tidy for claim in claims)
    assert all(_all_tidy(claim) for claim in claims)


def test_only_the_index_sets_it(tmp_path):
    (claim,) = _indexed(tmp_path / "claims.837", _clean_text())[:1]
    assert claim.indexed_tidy
    assert not claim.copy().indexed_tidy and not claim.replace().indexed_tidy
    assert not any(c.indexed_tidy for c in parse_claims_text(_clean_text(), "claims.837"))


_MUTATIONS = ("*~", ":~", ":*")  # what each makes of a segment: empty last element, ":" at an end


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(_MUTATIONS)), max_size=4))
def test_the_flag_is_what_tidy_loop_finds(tmp_path, changes):
    lines = _clean_text().split("~\n")
    body = [n for n, line in enumerate(lines) if line and not line.startswith(_ENVELOPE)]
    for position, kind in changes:
        n = body[position % len(body)]
        line = lines[n]
        if kind == ":*" and "*" in line[4:]:  # an element (not the last) ending with ":"
            cut = line.index("*", line.index("*") + 1)
            lines[n] = line[:cut] + ":" + line[cut:]
        else:
            lines[n] = line + kind[0]  # a trailing empty element, or the last element ending with ":"
    claims = _indexed(tmp_path / "claims.837", "~\n".join(lines))
    assume(claims)
    for claim in claims:
        assert claim.indexed_tidy is _all_tidy(claim)


def test_tidy_text():
    assert _tidy_text("NM1*IL*1*A~N3*B~LX~HI*ABK:R509~")
    assert not _tidy_text("NM1*IL*1*A*~")
    assert not _tidy_text("HI*ABK:~")
    assert not _tidy_text("SV1*HC:*1~")


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="*:~AB", max_size=12))
def test_tidy_text_is_none_of_the_three_pairs(text):
    """tidy_text's reverse searches answer as the plain reading of its rule."""
    assert _tidy_text(text) is ("*~" not in text and ":*" not in text and ":~" not in text)
