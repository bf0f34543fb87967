"""The texts each learned run's expression accepted before (edi.ig_known) decide as the expression does.

A run's check of a text is a dict lookup of the texts its expression accepted earlier in the file, the
expression itself on a miss; an expression whose texts do not come back gives up the lookups. Held
here: each check answers as `fullmatch` would, text after text, through restarts and giving up; a text
accepted by one expression is not taken by another; and the block path with the lookups reports what
the per-segment path reports (tests/edi/test_ig_blocks.py holds it on everything else).
"""
from __future__ import annotations

import re
from operator import call

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edi import ig_known
from edi.ig_known import Known, KnownTexts
from tests.edi.test_ig_blocks import _synthetic, outcome, same

DATE = re.compile(r"DTP\*472\*D8\*20[0-9]{2}(?:0[1-9]|1[0-2])[0-2][0-9]", re.S)
OTHER = re.compile(r"DTP\*573\*D8\*[0-9]{8}", re.S)
CODE = re.compile(r"LX\*[1-9][0-9]?", re.S)


class Run:
    """What edi.ig_blocks' _Run shows KnownTexts: its expressions, checks and times taken."""

    def __init__(self, patterns):
        self.patterns = patterns
        self.checks = []
        self.taken = 0


TEXTS = st.sampled_from([
    "DTP*472*D8*20260215", "DTP*472*D8*20261315", "DTP*573*D8*20260215", "DTP*573*D8*2026021",
    "LX*1", "LX*2", "LX*0", "LX*12", "DTP*472*D8*20260301", "DTP*472*D8*19990101", "LX*1*",
])


@settings(max_examples=300, deadline=None)
@given(limit=st.sampled_from([1, 2, 3, 1024]), room=st.sampled_from([0, 2, 5, 65536]),
       warm=st.sampled_from([1, 2, 256]), step=st.sampled_from([1, 2, 256]),
       steps=st.lists(st.tuples(st.integers(0, 2), st.lists(TEXTS, min_size=3, max_size=3)), max_size=60))
def test_each_check_answers_as_its_expression(limit, room, warm, step, steps):
    saved = ig_known.LIMIT, ig_known.ROOM, ig_known.WARM, ig_known.STEP
    ig_known.LIMIT, ig_known.ROOM, ig_known.WARM, ig_known.STEP = limit, room, warm, step
    try:
        known = KnownTexts()
        runs = [Run([DATE, CODE, OTHER]), Run([OTHER, OTHER, DATE]), Run([CODE, DATE, CODE])]
        for run in runs:
            known.attach(run)
        for which, texts in steps:
            run = runs[which]
            answers = [bool(call(check, text)) for check, text in zip(run.checks, texts)]
            assert answers == [p.fullmatch(text) is not None for p, text in zip(run.patterns, texts)]
            if all(map(call, run.checks, texts)):
                run.taken += 1  # as _Blocks.apply counts it
            late = Run([DATE, OTHER, CODE])  # a run learned later gets the expressions' current checks
            known.attach(late)
            assert [bool(call(c, t)) for c, t in zip(late.checks, texts)] == [
                p.fullmatch(t) is not None for p, t in zip(late.patterns, texts)]
        for k in known.by_pattern.values():
            assert len(k) <= limit
        kept = sum(map(len, known.by_pattern.values()))
        taken = sum(k.cap for k in known.by_pattern.values())
        assert kept <= taken == room - known.room  # the room given back by what was forgotten
        assert all(len(k) <= k.cap <= limit for k in known.by_pattern.values())
    finally:
        ig_known.LIMIT, ig_known.ROOM, ig_known.WARM, ig_known.STEP = saved


def test_a_text_one_expression_accepted_is_checked_by_another_afresh():
    known = KnownTexts()
    date, other = Run([DATE]), Run([OTHER])
    known.attach(date)
    known.attach(other)
    text = "DTP*472*D8*20260215"
    assert call(date.checks[0], text)
    assert call(date.checks[0], text)  # remembered
    assert not call(other.checks[0], text)
    assert not call(date.checks[0], "DTP*472*D8*20261315")
    assert not call(date.checks[0], "DTP*472*D8*20261315")  # a refused text is never remembered


@pytest.mark.parametrize("room", [0, 100])
def test_an_expression_whose_texts_do_not_come_back_gives_up(monkeypatch, room):
    monkeypatch.setattr(ig_known, "LIMIT", 2)
    monkeypatch.setattr(ig_known, "ROOM", room)  # (no room: it gives up at once)
    known = KnownTexts()
    first, second = Run([CODE, DATE]), Run([DATE, DATE])
    known.attach(first)
    known.attach(second)
    for day in ("01", "02", "03"):  # three new texts, no run taken: no hits
        assert call(second.checks[0], f"DTP*472*D8*202601{day}")
    assert first.checks[1] == DATE.fullmatch and second.checks == [DATE.fullmatch, DATE.fullmatch]
    assert first.checks[0] != CODE.fullmatch and isinstance(first.checks[0].__self__, Known)
    later = Run([DATE])
    known.attach(later)
    assert later.checks == [DATE.fullmatch]
    assert len(known.of(DATE)) == 0


def _days(count, start=0):
    return [f"DTP*472*D8*2026{1 + (start + d) // 28:02d}{1 + (start + d) % 28:02d}" for d in range(count)]


def test_an_expression_whose_texts_stop_coming_back_gives_up_before_its_limit(monkeypatch):
    monkeypatch.setattr(ig_known, "WARM", 4)
    monkeypatch.setattr(ig_known, "STEP", 4)  # (LIMIT and ROOM as they are: far from reached)
    known = KnownTexts()
    run = Run([DATE])
    known.attach(run)
    looked = [*_days(4) * 3,  # four texts, then back twice (the first look, at the fifth, only marks)
              *(day for day in _days(4, start=4) for _ in range(2)),  # four new ones, each back once
              *_days(4, start=8)]  # four new ones never back
    for text in looked:
        assert call(run.checks[0], text)
        run.taken += 1
    assert isinstance(run.checks[0].__self__, Known) and len(known.of(DATE)) == 12
    assert call(run.checks[0], _days(1, start=12)[0])  # the third look: four misses, no hit since the second
    assert run.checks == [DATE.fullmatch] and len(known.of(DATE)) == 0
    later = Run([DATE])
    known.attach(later)
    assert later.checks == [DATE.fullmatch]


def test_an_expression_whose_texts_still_come_back_at_times_keeps_remembering(monkeypatch):
    monkeypatch.setattr(ig_known, "WARM", 4)
    monkeypatch.setattr(ig_known, "STEP", 4)
    known = KnownTexts()
    run = Run([DATE])
    known.attach(run)
    for number, text in enumerate(_days(40)):  # a new text each time, every fourth back once (one in five hits)
        for _ in range(2 if number % 4 == 0 else 1):
            assert call(run.checks[0], text)
            run.taken += 1
    assert isinstance(run.checks[0].__self__, Known) and len(known.of(DATE)) == 40


def test_an_expression_whose_texts_come_back_starts_again(monkeypatch):
    monkeypatch.setattr(ig_known, "LIMIT", 2)
    known = KnownTexts()
    run = Run([CODE])
    known.attach(run)
    for text in ("LX*1", "LX*2"):
        assert call(run.checks[0], text)
    run.taken = 10  # ten lookups, two misses: mostly hits
    assert call(run.checks[0], "LX*3")
    assert isinstance(run.checks[0].__self__, Known) and list(known.of(CODE)) == ["LX*3"]


def test_the_block_path_takes_remembered_texts(tmp_path, monkeypatch):
    text = _synthetic(tmp_path)
    missed = []
    missing = Known.__missing__

    def counting(self, segment):
        missed.append(segment)
        return missing(self, segment)

    monkeypatch.setattr(Known, "__missing__", counting)
    found = same(text)
    checked = sum(1 for _ in text.split("~"))
    assert missed and len(missed) < checked // 2  # most texts of the runs were looked up, not matched
    # restarting and giving up at every few texts changes nothing
    for limit in (1, 3):
        monkeypatch.setattr(ig_known, "LIMIT", limit)
        assert outcome(text, True) == found


@pytest.mark.parametrize("seed", range(3))
def test_a_text_accepted_elsewhere_is_not_taken_in_a_place_that_refuses_it(tmp_path, seed):
    text = _synthetic(tmp_path, seed=seed + 40)
    segs = text.split("~")
    payers = [i for i, s in enumerate(segs) if s.lstrip().startswith("NM1*PR*")]
    provider = next(s for s in segs if s.lstrip().startswith("NM1*82*"))  # accepted in its own place
    for i in payers[-3:]:
        segs[i] = provider  # where the payer belongs, in blocks whose shape was learned
    issues, _lines = same("~".join(segs))
    assert issues
