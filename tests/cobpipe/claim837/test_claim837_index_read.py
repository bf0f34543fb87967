"""ClaimIndex._read (spans served from a window read ahead) gives what a read of each span gives, in
any order of asking and with any window size, across files; a closed index reads its files afresh."""
from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cobpipe.claim837 import index as claim_index
from cobpipe.claim837.index import ClaimIndex
from cobpipe.synth import generate_set
from edi.errors import EdiError


@functools.cache
def _files() -> tuple[str, ...]:
    folder = tempfile.mkdtemp(prefix="hi-index-read-")
    paths = []
    for seed in (5, 6):
        made = generate_set(12, Path(folder) / str(seed), seed=seed, patient_fraction=0.5, claims_per_837=1000)
        paths.append(str(made.claims))
    return tuple(paths)


def _pread(path: str, start: int, end: int) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.pread(fd, end - start, start)
    finally:
        os.close(fd)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([1, 7, 200, 1000, 16384]),
       st.lists(st.tuples(st.integers(0, 1), st.integers(0, 30_000), st.integers(0, 3_000)), min_size=1, max_size=30))
def test_read_is_the_files_bytes(window, spans):
    paths = _files()
    index = ClaimIndex.build([Path(p) for p in paths])
    assert index is not None
    saved = claim_index._WINDOW_BYTES
    claim_index._WINDOW_BYTES = window
    try:
        with index:
            for file_no, start, length in spans:
                assert index._read(file_no, start, start + length) == _pread(paths[file_no], start, start + length)
    finally:
        claim_index._WINDOW_BYTES = saved


@settings(max_examples=30, deadline=None)
@given(st.sampled_from([1, 300, 16384]), st.randoms(use_true_random=False))
def test_claims_read_through_the_window_in_any_order(window, random):
    paths = [Path(p) for p in _files()]
    reference = ClaimIndex.build(paths)
    numbers = list(range(len(reference.claims) // 4))
    expected = {n: (reference._storage(n), reference.claim(n).to_x12()) for n in numbers}
    reference.close()
    random.shuffle(numbers)
    saved = claim_index._WINDOW_BYTES
    claim_index._WINDOW_BYTES = window
    try:
        with ClaimIndex.build(paths) as index:
            assert {n: (index._storage(n), index.claim(n).to_x12()) for n in numbers} == expected
    finally:
        claim_index._WINDOW_BYTES = saved


def test_a_closed_index_checks_its_file_again(tmp_path):
    made = generate_set(5, tmp_path, seed=3)
    index = ClaimIndex.build([made.claims])
    claim_id = next(iter(index.by_id))
    assert index.claims_for(claim_id)  # the window now holds the file's start
    index.close()
    with made.claims.open("ab") as stream:
        stream.write(b"\n")
    with pytest.raises(EdiError, match="changed while it was being converted"):
        index.claims_for(claim_id)
