"""The first part's claims written straight into the output file (fastplace.InPlace): the bytes
are the plain path's whether the guessed head and section texts held (balanced files: nothing of
the first part copied) or not (files with findings, filters: the stretch moved out and the
document written as before); a file handed to the plain path is left as it was."""
from __future__ import annotations

import os

import pytest

from cobpipe.codes import default_codebook
from cobpipe.explain import fastjson, fastplace
from cobpipe.explain.build import ExplainOptions
from cobpipe.explain.fastjson import write_json
from cobpipe.explain.fastscan import Ineligible
from cobpipe.synth import generate

from test_explain_fast import OPTION_SETS, claim_ids, plain

BOOK = default_codebook()


class Watch:
    """Which spools were copied into the output, and whether the in-place stretch was moved out."""

    def __init__(self, monkeypatch) -> None:
        self.copied: list[int] = []  # spool numbers (0: this process's, 1: the forked one's)
        self.moved = 0
        copy, move_out = fastplace.Placer.copy, fastplace.InPlace.move_out

        def watched_copy(placer, number, first, end):
            if not placer.checking:
                self.copied.append(number)
            return copy(placer, number, first, end)

        def watched_move_out(inplace, end, spool):
            self.moved += 1
            return move_out(inplace, end, spool)

        monkeypatch.setattr(fastplace.Placer, "copy", watched_copy)
        monkeypatch.setattr(fastplace.InPlace, "move_out", watched_move_out)


def fast_file(tmp_path, era, options, findings_only=False, split_at=None, before=b""):
    """write_json to a real file opened for reading and writing, after `before`: (bytes after
    `before`, has_errors, missing claims), or None when the file went to the plain path (then
    the file must hold `before` alone)."""
    target = tmp_path / "out.json"
    target.write_bytes(before)
    with open(target, "r+", encoding="utf-8", newline="") as stream:
        stream.seek(0, os.SEEK_END)
        try:
            survey = write_json(str(era), BOOK, options, stream, findings_only=findings_only, split_at=split_at,
                                parallel=split_at is not None)
        except Ineligible:
            stream.flush()
            assert target.read_bytes() == before, "Ineligible left bytes in the output"
            assert stream.tell() == len(before)
            return None
    data = target.read_bytes()
    assert data.startswith(before)
    return data[len(before):].decode("utf-8"), survey.has_errors, survey.view.missing_claims


def same_in_file(tmp_path, era, options=ExplainOptions(), findings_only=False, split_at=None, before=b""):
    got = fast_file(tmp_path, era, options, findings_only, split_at, before)
    assert got is not None, "the fast path refused the file"
    want = plain(era, options, findings_only)
    assert got[0] == want[0]
    assert got[1:] == want[1:]


@pytest.mark.parametrize("split", [None, "middle"])
def test_balanced_file_written_in_place_without_a_copy_of_the_first_part(tmp_path, monkeypatch, split):
    era, _claims = generate(200, tmp_path, seed=31, claims_per_835=30)  # several transaction sets each part
    watch = Watch(monkeypatch)
    split_at = era.stat().st_size // 2 if split else None
    same_in_file(tmp_path, era, split_at=split_at)
    assert watch.moved == 0  # the guessed texts held
    assert 0 not in watch.copied  # the first part was not copied: it was in place
    if split:
        assert 1 in watch.copied


@pytest.mark.parametrize("seed,knobs", [
    (1, {}),
    (2, {"unbalanced_fraction": 0.2, "claim_cas_fraction": 0.4}),
    (3, {"reversal_fraction": 0.3, "denial_fraction": 0.2, "claims_per_835": 40}),
    (5, {"unbalanced_fraction": 0.5, "reversal_fraction": 0.5, "claims_per_835": 7}),
], ids=["1", "2", "3", "5"])
def test_in_place_writes_the_plain_bytes(tmp_path, seed, knobs):
    """Balanced or not, filtered or not, one process or two split anywhere, after other bytes."""
    era, _claims = generate(120, tmp_path, seed=seed, **knobs)
    size = era.stat().st_size
    for split_at in (None, 0, size // 3, size // 2, size - 2000, size):
        for options, findings_only in OPTION_SETS:
            same_in_file(tmp_path, era, options, findings_only, split_at)
    ids = claim_ids(era)
    same_in_file(tmp_path, era, ExplainOptions(claim_ids=frozenset({ids[0], ids[-1], "NOSUCH"})), split_at=size // 2)
    same_in_file(tmp_path, era, split_at=size // 2, before=b"something before\n")


def test_unbalanced_file_is_moved_out_and_written_as_before(tmp_path, monkeypatch):
    era, _claims = generate(80, tmp_path, seed=5, unbalanced_fraction=0.5, claims_per_835=20)
    watch = Watch(monkeypatch)
    same_in_file(tmp_path, era, split_at=era.stat().st_size // 2, before=b"x")
    assert watch.moved == 1 and 0 in watch.copied


def test_a_file_handed_over_leaves_the_output_as_it_was(tmp_path):
    era, _claims = generate(60, tmp_path, seed=11)
    text = era.read_text()
    for where in (len(text) * 2 // 3, len(text) // 4):  # found by the second part, by the first
        era.write_text(text[:where] + text[where:].replace("DTM*472*", "DTM*472*2026133", 1))
        for split_at in (None, len(text) // 2):
            assert fast_file(tmp_path, era, ExplainOptions(), split_at=split_at, before=b"kept\n") is None


def test_only_a_file_read_and_written_is_used_in_place(tmp_path):
    """A file opened for writing only or for appending cannot be checked or written at offsets."""
    target = tmp_path / "x.json"
    for mode in ("w", "a", "a+"):
        with open(target, mode, encoding="utf-8", newline="") as stream:
            assert fastplace.InPlace.of(stream) is None, mode
    with open(target, "w+", encoding="latin-1", newline="") as stream:
        assert fastplace.InPlace.of(stream) is None  # not UTF-8
    with open(target, "w+", encoding="utf-8", newline="") as stream:
        stream.write("ab")
        inplace = fastplace.InPlace.of(stream)
        assert inplace is not None and inplace.base == 2


def test_in_place_off_spools_both_parts(tmp_path, monkeypatch):
    era, _claims = generate(60, tmp_path, seed=3)
    watch = Watch(monkeypatch)
    target = tmp_path / "out.json"
    with open(target, "w+", encoding="utf-8", newline="") as stream:
        write_json(str(era), BOOK, ExplainOptions(), stream, split_at=era.stat().st_size // 2, in_place=False)
    assert target.read_text(encoding="utf-8") == plain(era, ExplainOptions())[0]
    assert sorted(set(watch.copied)) == [0, 1]


def test_benchmark_shaped_file_is_written_in_place(tmp_path, monkeypatch):
    """bench/run.py's 835 (the generator's defaults) through the CLI's atomic writer: the first part
    in place, its guessed texts right (a change that made it fall back would only show as time)."""
    from click.testing import CliRunner

    from cobpipe.cli import main

    monkeypatch.setattr(fastjson, "PARALLEL_BYTES", 0)  # two processes, as at the benchmark's sizes
    era, _claims = generate(300, tmp_path, seed=1)
    watch = Watch(monkeypatch)
    target = tmp_path / "era.json"
    result = CliRunner().invoke(main, ["explain", str(era), "--format", "json", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert watch.moved == 0 and 0 not in watch.copied and 1 in watch.copied
    assert target.read_text(encoding="utf-8") == plain(era, ExplainOptions())[0]


def test_a_wrong_text_of_the_right_length_is_caught(tmp_path, monkeypatch):
    """Every byte in place is compared, not only where the claims start: a section start written
    wrong but as long as the right one sends the document the slow way, with the right bytes."""
    era, _claims = generate(100, tmp_path, seed=7, claims_per_835=20)
    write = fastplace.InPlace.write

    def wrong(inplace, data):
        return write(inplace, data.replace(b'"verdict": "balanced",\n      "claims"',  # a section's, not a claim's
                                           b'"verdict": "BALANCED",\n      "claims"'))

    monkeypatch.setattr(fastplace.InPlace, "write", wrong)
    watch = Watch(monkeypatch)
    same_in_file(tmp_path, era, split_at=era.stat().st_size // 2)
    assert watch.moved == 1
