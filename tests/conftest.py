"""Shared fixtures: where the public sample corpus and the repository's own samples live."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = REPO_ROOT.parent / "shared" / "corpus"
SAMPLES_DIR = REPO_ROOT / "samples"


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The public 835/837P corpus beside the repository (../shared/corpus); skips when absent.

    Tests read it in place: its files are never copied into the repository.
    """
    if not CORPUS_DIR.is_dir():
        pytest.skip(f"public sample corpus not found at {CORPUS_DIR}")
    return CORPUS_DIR


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """The repository's own synthetic samples (samples/)."""
    if not SAMPLES_DIR.is_dir():
        pytest.skip(f"samples folder not found at {SAMPLES_DIR}")
    return SAMPLES_DIR


@pytest.fixture(autouse=True)
def _private_user_state(tmp_path_factory, monkeypatch):
    """`cobpipe convert` keeps its control numbers in the user's state folder ($XDG_STATE_HOME):
    every test gets its own, so none writes to the real home folder or sees another test's numbers."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))


@pytest.fixture(autouse=True, scope="session")
def _private_user_cache(tmp_path_factory):
    """The guide check keeps its compiled maps and expressions in the user's cache folder
    ($XDG_CACHE_HOME, edi.ig_mapcache): one for the whole run, so no test writes to the real home
    folder and the run starts from an empty cache, as a fresh install does (the first process
    compiles, the later ones load what it kept)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield
