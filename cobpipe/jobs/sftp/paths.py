"""The only way from an SFTP client's path to a local one.

A session sees "/", "/inbound" and "/outbound" of its partner's home and the files directly in
those two: no '..' component, no subfolders, no symlinks (never followed), no hidden names except
the client's own uploads in progress (which session.py lists from its own table, not from disk).
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

import asyncssh

from ...acks.partners import PartnerRoot
from ..layout import is_ignored_name

AREAS = ("inbound", "outbound")


def resolve(path: bytes) -> tuple[str, str | None]:
    """('/', None), ('inbound'|'outbound', None) or (area, file name); raises for anything else."""
    try:
        text = path.decode("utf-8")
    except UnicodeDecodeError:
        raise asyncssh.SFTPNoSuchFile("file names must be UTF-8") from None
    if "\x00" in text or "\\" in text:
        raise asyncssh.SFTPPermissionDenied("invalid path")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise asyncssh.SFTPPermissionDenied("'..' is not allowed")
    if not parts:
        return "/", None
    if parts[0] not in AREAS:
        raise asyncssh.SFTPNoSuchFile("no such file (only /inbound and /outbound exist)")
    if len(parts) == 1:
        return parts[0], None
    if len(parts) > 2:
        raise asyncssh.SFTPNoSuchFile("no subfolders here")
    return parts[0], parts[1]


def area_dir(home: PartnerRoot, area: str) -> Path:
    """The local folder of an area ("/" is the partner's home)."""
    if area == "inbound":
        return home.inbound
    if area == "outbound":
        return home.outbound
    return home.home


def visible_file(home: PartnerRoot, area: str, name: str) -> Path:
    """A real, regular, visible file in inbound/ or outbound/ (symlinks are not files here)."""
    if is_ignored_name(name) and area == "outbound":
        raise asyncssh.SFTPNoSuchFile("no such file")
    local = area_dir(home, area) / name
    try:
        info = os.lstat(local)
    except FileNotFoundError:
        raise asyncssh.SFTPNoSuchFile("no such file") from None
    if not stat.S_ISREG(info.st_mode) or (area == "inbound" and is_ignored_name(name)):
        raise asyncssh.SFTPNoSuchFile("no such file")
    return local


def normalized(path: bytes) -> bytes:
    """What realpath answers: '.' and '..' applied textually ('..' above '/' stays at '/'); whether
    the result exists is for resolve() to say when the client uses it."""
    text = path.decode("utf-8", "replace")
    parts: list[str] = []
    for part in text.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
        else:
            parts.append(part)
    return ("/" + "/".join(parts)).encode()
