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
