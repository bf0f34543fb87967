"""CLI commands, one module each; every module lists its commands in COMMANDS."""
from __future__ import annotations

from . import bench, convert, explain, jobs, validate

COMMANDS = [command for module in (convert, explain, validate, jobs, bench) for command in module.COMMANDS]
