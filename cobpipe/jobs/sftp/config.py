"""`cobpipe sftp-serve`'s settings (SftpSettings: where it listens, its keys, its limits) and the
trading partners' keys: one authorized-keys file whose key comments name the partners.

A bad line is refused at start with the file and line named (JobConfigError), never skipped: a
key that silently did not load would lock a partner out with no clue why.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import asyncssh

from ...acks.partners import valid_partner
from ..layout import JobConfigError

MB = 1 << 20


@dataclass(slots=True)
class SftpSettings:
    host: str
    port: int
    authorized_keys: Path
    host_key: Path
    rescan_every: float = 60.0
    login_timeout: float = 30.0
    max_handles: int = 64  # open files per session
    max_sessions: int = 4  # SFTP sessions per partner at once
    max_upload: int = 100 * MB  # bytes of one upload
    quota: int = 1024 * MB  # bytes a partner may have waiting in its inbound (uploads included)
    min_free_disk: int = 256 * MB  # below this much free space on ROOT's disk, uploads are refused


@dataclass(frozen=True, slots=True)
class PartnerKey:
    partner: str
    key: asyncssh.SSHKey
    fingerprint: str
    line: int


def load_partner_keys(path: Path) -> dict[bytes, PartnerKey]:
    """{public key blob: PartnerKey} from an OpenSSH authorized-keys file; JobConfigError naming the
    file and line for a line that is not a public key, has options, or has no partner comment."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise JobConfigError(f"{path}: authorized-keys file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise JobConfigError(f"{path}: cannot read the authorized-keys file: {getattr(exc, 'strerror', None) or exc}") from None
    keys: dict[bytes, PartnerKey] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{path}:{number}"
        if not line.startswith(("ssh-", "ecdsa-", "sk-")):
            raise JobConfigError(f"{where}: not a public key line (key options are not supported here; "
                                 "write 'TYPE KEY PARTNER')")
        try:
            key = asyncssh.import_public_key(line)
        except (asyncssh.KeyImportError, ValueError) as exc:
            raise JobConfigError(f"{where}: not a usable public key ({exc})") from None
        comment = key.get_comment()
        if not comment:
            raise JobConfigError(f"{where}: the key has no comment naming its partner "
                                 "(write 'TYPE KEY PARTNER', e.g. 'ssh-ed25519 AAAA... acme-billing')")
        if not valid_partner(comment):
            raise JobConfigError(f"{where}: partner name {comment!r} is not usable as a folder name "
                                 "(letters, digits, '.', '_', '-'; 64 at most)")
        blob = key.public_data
        if blob in keys and keys[blob].partner != comment:
            raise JobConfigError(f"{where}: this key is already line {keys[blob].line}'s, for partner "
                                 f"{keys[blob].partner!r}")
        keys[blob] = PartnerKey(comment, key, key.get_fingerprint("sha256"), number)
    if not keys:
        raise JobConfigError(f"{path}: no keys in the authorized-keys file")
    return keys


def load_host_key(path: Path) -> asyncssh.SSHKey:
    try:
        return asyncssh.read_private_key(str(path))
    except FileNotFoundError:
        raise JobConfigError(f"{path}: host key file not found (create it once with "
                             f"ssh-keygen -t ed25519 -N '' -f {path})") from None
    except (OSError, asyncssh.KeyImportError, ValueError) as exc:
        raise JobConfigError(f"{path}: not a usable private host key ({getattr(exc, 'strerror', None) or exc})") from None
