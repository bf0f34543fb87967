"""The SSH side of `cobpipe sftp-serve`: public-key logins against the partners' keys (_Gate), and
`serve`, which listens until told to stop and has every inbound scanned on a schedule.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import asyncssh

from ...acks.partners import PARTNERS
from ...ledger import Ledger
from ...logs import event
from ..layout import JobConfigError, Root
from ..outcome import JobOptions
from .config import PartnerKey, SftpSettings, load_host_key, load_partner_keys
from .hub import UploadHub
from .session import DropFolderSFTP

log = logging.getLogger("cobpipe.sftp")


class _Gate(asyncssh.SSHServer):
    """Public-key authentication against the partners' keys; the user name typed is ignored."""

    def __init__(self, keys: dict[bytes, PartnerKey], hub: UploadHub) -> None:
        self.keys = keys
        self.hub = hub
        self.partner = ""
        self.fingerprint = ""
        self._peer = None
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._peer = conn.get_extra_info("peername")

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        found = self.keys.get(key.public_data)
        if found is None:
            return False
        self.partner, self.fingerprint = found.partner, found.fingerprint
        return True

    def auth_completed(self) -> None:
        peer = str(self._peer[0]) if self._peer else None
        who = {"partner": self.partner, "fingerprint": self.fingerprint}
        event(log, "sftp.login", peer=peer, **who)


async def serve(root: Root, ledger: Ledger | None, options: JobOptions, settings: SftpSettings,
                stop: asyncio.Event, *, on_listening: Callable[[int], None] | None = None,
                hub: UploadHub | None = None, broker: str | None = None) -> None:
    """Serve until `stop` is set; every inbound (ROOT's and each partner's) is scanned at start and
    every `rescan_every` seconds (files dropped directly, files waiting for their IEA). Processing
    runs in the hub's worker process. A bad key line or host key raises JobConfigError naming it."""
    keys = load_partner_keys(settings.authorized_keys)
    host_key = load_host_key(settings.host_key)
    hub = hub or UploadHub(root, ledger, options, settings, broker=broker)
    hub.settings = settings
    for partner in sorted({k.partner for k in keys.values()}):
        hub.home(partner)
    _clean_stale_uploads(root, options.truncated_after)
    try:
        server = await asyncssh.create_server(
            lambda: _Gate(keys, hub), settings.host, settings.port,
            server_host_keys=[host_key],
            sftp_factory=lambda chan: DropFolderSFTP(chan, hub),
            allow_scp=False, agent_forwarding=False, x11_forwarding=False,
            password_auth=False, kbdint_auth=False, gss_host=None,
            login_timeout=settings.login_timeout,
        )
    except (OSError, asyncssh.Error, ValueError) as exc:
        hub.shutdown()
        raise JobConfigError(f"cannot start the SFTP server on {settings.host}:{settings.port}: "
                             f"{getattr(exc, 'strerror', None) or exc}") from exc
    port = server.sockets[0].getsockname()[1]
    event(log, "sftp.listening", host=settings.host, port=port, root=str(root.path),
          count=len({k.partner for k in keys.values()}))
    if on_listening is not None:
        on_listening(port)
    try:
        while not stop.is_set():
            if not hub.pending:
                hub.rescan()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.rescan_every)
    finally:
        server.close()
        await server.wait_closed()
        await asyncio.get_running_loop().run_in_executor(None, hub.shutdown)
        event(log, "sftp.stopped", port=port)


def _clean_stale_uploads(root: Root, older_than: float) -> None:
    """Staging files left by a server that died (their sessions are gone), in every partner home."""
    now = time.time()
    folders = [root.uploads] + sorted((root.path / PARTNERS).glob("*/inbound/.uploads"))
    for folder in folders:
        for leftover in folder.glob("*"):
            with contextlib.suppress(OSError):
                if leftover.is_file() and now - leftover.stat().st_mtime > older_than:
                    leftover.unlink()
