"""The warm-up a batch runs before forking its converting processes (edi.validate_pipe.warm,
cobpipe.batch._warm): its 837P is one the guide check finds nothing in, in any output delimiters,
it fills the guide check's per-process tables, and a batch runs it only when a forked process
will check an ERA itself."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from edi import ig
from edi.segment import Delimiters
from edi.validate_pipe import warm, warm_text

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("delimiters", [None, Delimiters(), Delimiters("|", ">", "!", "~", "\n"),
                                        Delimiters("*", ":", "^", "~", ""), Delimiters("^", "}", "{", "'", "\r\n")])
def test_warm_up_837p_has_no_finding(delimiters):
    # a sample with findings would stop the check early and warm less: it must stay clean
    text = warm_text(delimiters)
    if delimiters is not None:
        assert text.startswith(f"ISA{delimiters.element}00{delimiters.element}")
        assert text.count(delimiters.segment) == 116
    assert ig.validate_text(text, capped=False) == []


def test_warm_up_ignores_what_it_cannot_check():
    # delimiters that also occur in the sample's values: findings, never an error
    warm(Delimiters("-", ".", "^", "~", "\n"))
    warm(Delimiters(" ", ":", "^", "~", ""))


def _fresh(code: str) -> str:
    """`code` run in a fresh interpreter (the caches are per process); its printed line."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=True)
    return done.stdout.strip()


def test_warm_fills_the_guide_checks_tables():
    assert _fresh("""
        from edi import ig_map, ig_regex, validate_pipe
        before = (ig_map.load_map.cache_info().currsize, len(ig_regex._cache))
        validate_pipe.warm()
        after = (ig_map.load_map.cache_info().currsize, len(ig_regex._cache))
        print(before, after[0] >= 2, after[1] > 20)
    """) == "(0, 0) True True"


@pytest.mark.parametrize("sizes, from_, validate, warmed", [
    ([10, 20], 2000, True, True),      # both checked in their converting process
    ([10, 5000], 2000, True, True),    # one of them is
    ([5000, 6000], 2000, True, False),  # each checked by a process of its own: nothing to share
    ([10, 20], 2000, False, False),    # no guide check
    ([10], 2000, True, False),         # one ERA: converted in the batch's process, no fork
])
def test_batch_warms_only_for_forked_guide_checks(sizes, from_, validate, warmed):
    assert _fresh(f"""
        from types import SimpleNamespace
        from edi import ig_map
        from cobpipe.batch import _warm
        from cobpipe.pipeline import ConvertOptions
        _warm([SimpleNamespace(claims=n) for n in {sizes!r}],
              ConvertOptions(validate_ig={validate!r}, pipe_validation_from={from_!r}))
        print(ig_map.load_map.cache_info().currsize > 0)
    """) == str(warmed)
