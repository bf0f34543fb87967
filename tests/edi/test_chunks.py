"""edi.chunks: whole segments per chunk, at the right file offsets, whatever the chunk size."""
from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edi.chunks import Unterminated, terminated_chunks

segments = st.lists(st.text(alphabet="ABCDEFGHIJ0123456789*:^ \n", min_size=0, max_size=40), min_size=0, max_size=30)


@settings(max_examples=200, deadline=None)
@given(segments, st.sampled_from([b"", b"\n", b"\r\n  ", b"\x1a"]), st.integers(min_value=1, max_value=64))
def test_chunks_are_the_file_cut_after_terminators(parts, tail, size):
    text = "".join(p + "~" for p in parts).encode("ascii")
    seen = b""
    for block, cut, offset in terminated_chunks(io.BytesIO(text + tail), size=size):
        piece = block[:cut]
        assert piece.endswith(b"~")
        assert offset == len(seen)  # where the piece starts in the file
        assert text[offset:offset + cut] == piece
        seen += piece
    assert seen == text


def test_text_after_the_last_terminator_is_refused():
    with pytest.raises(Unterminated, match="after the last"):
        list(terminated_chunks(io.BytesIO(b"ISA*00~ST*835"), size=4))


def test_a_file_without_terminators_is_refused_once_the_carry_is_too_long(monkeypatch):
    import edi.chunks

    monkeypatch.setattr(edi.chunks, "LONGEST_CARRY", 100)
    with pytest.raises(Unterminated, match="no segment terminator"):
        list(terminated_chunks(io.BytesIO(b"x" * 1000), size=10))
