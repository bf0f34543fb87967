"""The fast `explain` reads segments in the usual layouts (every terminator followed by LF, or no
line break) by splitting at terminator + LF or the terminator (fasttext._plain_pieces); any text
it reads must give the segments the
normalizing reader (fasttext._normalized, then a split at the terminator) gives, or be refused by
both. A test also fails if these layouts silently stop taking the split."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cobpipe.explain import fasttext
from cobpipe.explain.fasttext import Ineligible, pieces

TERM = "~"


def _reference(path: str, size: int) -> list[list[str]] | str:
    """The segments by the normalizing reader alone, a chunk at a time, or "refused" (control
    characters left to its isprintable, as before _chunks refused them)."""
    early = fasttext._PRINTABLE_OR_LINE_BREAK
    fasttext._PRINTABLE_OR_LINE_BREAK = bytes(range(256))  # _chunks lets every ASCII byte through
    try:
        found = []
        for body in fasttext._raw_bodies(path, TERM, size=size):
            segments = fasttext._normalized(body, TERM).split(TERM)
            segments.pop()
            found.append(segments)
        return found
    except Ineligible:
        return "refused"
    finally:
        fasttext._PRINTABLE_OR_LINE_BREAK = early


def _fast(path: str, size: int) -> list[list[str]] | str:
    try:
        return list(pieces(path, TERM, size=size))
    except Ineligible:
        return "refused"


_element = st.text(alphabet="AB1 .:-", min_size=0, max_size=6)
_segment = st.one_of(st.builds(lambda tag, els: "*".join([tag, *els]),
                               st.sampled_from(["CLP", "NM1", "SVC", "CAS", "DTM"]),
                               st.lists(_element, min_size=0, max_size=4)),
                     st.just(""))  # an empty segment (refused) now and then
# what may follow a terminator; mostly LF (the route under test), sometimes what the other
# layouts and the refused ones look like
# layouts the plain reader refuses are rare, so that most files are read and their segments compared
_after = st.sampled_from(["\n"] * 60 + ["", "\r\n", "\r", "\n\n", " \n", "\n "])
_stray = st.sampled_from([""] * 100 + [" ", "\n", "\t", "\x7f", "~", "\r"])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(segments=st.lists(st.tuples(_segment, _after, _stray, st.integers(0, 30)), min_size=1, max_size=25),
       size=st.sampled_from([5, 16, 64, 1 << 20]), layout=st.sampled_from(["\n", "", "\r\n"]))
def test_the_split_reads_what_the_normalizing_reader_reads(tmp_path, segments, size, layout):
    text = ""
    for segment, after, stray, at in segments:
        at = min(at, len(segment))
        # the usual layouts (LF, none, CRLF after every terminator), now and then broken
        after = layout if after == "\n" else after
        text += segment[:at] + stray + segment[at:] + TERM + after
    path = tmp_path / "era.835"
    path.write_bytes(text.encode("ascii"))
    assert _fast(str(path), size) == _reference(str(path), size)


@pytest.mark.parametrize("text", [
    "ISA*1~\nGS*2~\nST*835~\n",
    "ISA*1~\nGS*2 X~\nN1*PR*A PLAN~\n",
    "ISA*1~GS*2 X~N1*PR*A PLAN~",
    "ISA*1~\r\nGS*2 X~\r\nN1*PR*A PLAN~\r\n",
])
def test_the_usual_layouts_take_the_split(text):
    """The usual layouts are read by the split (None would mean the slower reader)."""
    got = fasttext._plain_pieces(text, TERM, TERM + ("\r\n" if "\r" in text else "\n"))
    assert got == fasttext._normalized(text, TERM).split(TERM)[:-1]


@pytest.mark.parametrize("text", ["A~B~\n", "A~\r\nB~\n", "A~\nB\nC~\n", "A~\nB~", "A~B", "A~\r\nB\rC~\r\n",
                                  "A~\r\nB\nC~\r\n", "A~\rB~\r\n", "A~\r\nB~\r"])
def test_other_layouts_are_left_to_the_normalizing_reader(text):
    assert fasttext._plain_pieces(text, TERM, TERM + ("\r\n" if "\r" in text else "\n")) is None


@pytest.mark.parametrize("text", ["A~\n~\n", " A~\n", "A ~\n", "A~\n B~\n", "A~\nB ~\n",
                                  "A~~", " A~", "A ~", "A~ B~", "A~B ~", "A~\r\n~\r\n", "A~\r\n B~\r\n"])
def test_blanks_and_empty_segments_are_refused(text):
    with pytest.raises(Ineligible):
        fasttext._plain_pieces(text, TERM, TERM + ("\r\n" if "\r" in text else "\n"))
    with pytest.raises(Ineligible):
        fasttext._normalized(text, TERM)


def test_many_blanks_are_searched_not_walked():
    """Past 256 blanks the body is searched for a blank next to a terminator (same verdicts)."""
    for after in ("\n", "", "\r\n"):
        fine = f"N1*PR*A B C D E F G H~{after}" * 100
        assert fasttext._plain_pieces(fine, TERM, TERM + ("\r\n" if "\r" in fine else "\n")) == fasttext._normalized(fine, TERM).split(TERM)[:-1]
        for bad in (fine + f"X ~{after}", fine + f"X~{after} Y~{after}"):
            with pytest.raises(Ineligible):
                fasttext._plain_pieces(bad, TERM, TERM + ("\r\n" if "\r" in bad else "\n"))
            with pytest.raises(Ineligible):
                fasttext._normalized(bad, TERM)


def test_a_control_character_is_refused_where_it_stands(tmp_path):
    path = tmp_path / "era.835"
    for text in ("A~\nB\x01~\n", "A~\nB~\n\x00", "A~\tB~\n"):
        path.write_bytes(text.encode("ascii"))
        assert _fast(str(path), 1 << 20) == "refused"
