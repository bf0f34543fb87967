"""The limits of `cobpipe sftp-serve` that depend on more than one request (SftpSettings holds their
numbers): sessions per partner, a partner's quota of bytes waiting in its inbound, and the
free-disk floor below which uploads are refused. The per-session limits (open handles, the size of
one upload) are checked where the request is, in session.py.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

import asyncssh

from ...acks.partners import PartnerRoot
from .config import SftpSettings


class PartnerSessions:
    """How many SFTP sessions each partner has open (shared by all sessions, in the hub)."""

    def __init__(self) -> None:
        self.count: dict[str, int] = {}

    def open(self, partner: str, limit: int) -> bool:
        """Count one more session for `partner`; False (and nothing counted) at the limit."""
        if self.count.get(partner, 0) >= limit:
            return False
        self.count[partner] = self.count.get(partner, 0) + 1
        return True

    def close(self, partner: str) -> None:
        left = self.count.get(partner, 0) - 1
        if left > 0:
            self.count[partner] = left
        else:
            self.count.pop(partner, None)


def room_refusal(settings: SftpSettings, root: Path, home: PartnerRoot, extra: int):
    """(reason, message, SFTP error class) when `extra` more bytes would break the disk floor of
    ROOT's disk or the partner's quota; None when there is room. The disk is checked first: it is
    one statvfs, the quota a listing of the partner's inbound."""
    if free_disk(root) - extra < settings.min_free_disk:
        return ("disk-full", "the server's disk is nearly full: upload refused, try again later",
                asyncssh.SFTPNoSpaceOnFilesystem)
    if waiting_bytes(home) + extra > settings.quota:
        return ("quota", f"quota of {settings.quota} bytes waiting in /inbound reached: "
                         "upload refused until your files are processed",
                asyncssh.SFTPQuotaExceeded)
    return None


def free_disk(root: Path) -> int:
    info = os.statvfs(root)
    return info.f_bavail * info.f_frsize


def waiting_bytes(home: PartnerRoot) -> int:
    """What the partner has in its inbound, uploads in progress included (the quota counts this)."""
    total = 0
    for folder in (home.inbound, home.uploads):
        with contextlib.suppress(FileNotFoundError), os.scandir(folder) as entries:
            for entry in entries:
                with contextlib.suppress(OSError):
                    if entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
    return total
