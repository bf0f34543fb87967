"""Helpers shared by the 837P model tests: the public corpus folder and a pyx12 validation run."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

HERE = Path(__file__).parent
DATA = HERE / "data"
CORPUS_837P = Path(__file__).resolve().parents[4] / "shared" / "corpus" / "837p"


def corpus_files(prefix: str = "") -> list[Path]:
    if not CORPUS_837P.is_dir():
        return []
    return sorted(p for p in CORPUS_837P.iterdir() if p.is_file() and p.name.startswith(prefix))


def corpus_file(name: str) -> Path:
    path = CORPUS_837P / name
    if not path.is_file():
        pytest.skip(f"public corpus file {name} not available")
    return path


def as_x222a1(text: str) -> str:
    """The LFH examples use errata 005010X222A2, for which pyx12 has no map; the content is A1."""
    return text.replace("005010X222A2", "005010X222A1")


def pyx12_errors(text: str) -> list[str]:
    """Every error pyx12 reports for an X12 text (empty = valid against 837.5010.X222.A1)."""
    import pyx12.params
    import pyx12.x12n_document

    report = io.StringIO()
    pyx12.x12n_document.x12n_document(pyx12.params.params(), io.StringIO(text), None, None, None, report)
    errors: list[str] = []

    def collect(node) -> None:
        if isinstance(node, dict):
            for item in node.get("errors", []) or []:
                errors.append(f"{item.get('err_cde')} {item.get('err_str')}")
            for value in node.values():
                if isinstance(value, (list, dict)):
                    collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(json.loads(report.getvalue()))
    return errors
