"""CLI commands, one module each; add a new one to COMMANDS."""
from __future__ import annotations

import importlib

_MODULES = ("validate", "explain", "convert", "jobs", "bench")


def _load() -> list:
    commands = []
    for name in _MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue  # command not written yet
            raise
        commands.extend(getattr(module, "COMMANDS", ()))
    return commands


COMMANDS = _load()
