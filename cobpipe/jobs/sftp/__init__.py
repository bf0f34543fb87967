"""`cobpipe sftp-serve`: each trading partner uploads into its own inbound/ and downloads from its
own outbound/.

Partners. Every line of the authorized-keys file names its partner in the key's comment field, as
OpenSSH writes it (`ssh-ed25519 AAAA... acme-billing`); keys with the same comment are one partner.
Only those keys get in (no passwords, no keyboard-interactive, no GSS, no shell, exec, scp or port
forwarding); the user name the client types is ignored and never logged: the log names the partner
and the key's fingerprint. A partner's home is ROOT/partners/<partner>/ (cobpipe.acks.partners), and
its session sees only:

    /inbound    upload here (its own uploads in progress are listed; nothing can be read back)
    /outbound   its secondary 837Ps, reports and TA1/999 acknowledgments (read, then remove)

Nothing else of ROOT is reachable: every path is resolved by paths.resolve against those two folders
of the partner's home alone -- no '..' component, no subfolders, no symlinks (never followed, never
created), no hidden names except the client's own temporary upload names.

Uploads. Each is written to a hidden staging file in the partner's inbound/.uploads/ and moved into
its inbound/ (never overwriting) only when finished, which is ONLY:
  * an explicit close, by the client, of a handle opened for writing under the final name, or
  * a rename by the client from a temporary name (x.filepart, x.tmp, .x) to its final name.
It is moved before the close or rename is acknowledged (a server killed afterwards finds it there at
start). Handles asyncssh closes because the channel or connection went away (an OpenSSH `sftp`
killed mid-`put`, a dropped connection) never finish an upload, whatever the bytes: the staging file
is deleted and the abort logged; nothing is processed and nothing reaches the ledger. A finished
upload without its IEA is rejected as "truncated"; binary bytes as "not X12: binary data".

Limits (SftpSettings): open handles per session, sessions (connections) per partner, the size of one
upload, a partner's quota (bytes waiting in its inbound, uploads in progress included) and a
free-disk floor below which uploads are refused. Each refusal is one SFTP error with a clear message
and one log line (once per session or upload, not per request).

Processing never happens in the server's process: the drop-folder step (process_inbound) runs in a
worker process (a one-process pool, restarted if it dies), so hostile input cannot grow the
server's memory; the server only streams bytes to disk and looks at a file's head and tail.

The package, each module below the ones that use it:
    server.py    the SSH side: key logins (_Gate) and `serve`, the listening loop
    session.py   one SFTP session: requests on files and folders, uploads while they are written
    paths.py     client path -> local path, the only way there
    limits.py    sessions per partner, quota, free-disk floor
    hub.py       what the sessions share: finished uploads, the worker pool
    worker.py    the worker process that processes each upload
    config.py    SftpSettings and the partners' keys
"""
from __future__ import annotations

import warnings

with warnings.catch_warnings():
    # cryptography 51 deprecates DSA, which asyncssh names as it is imported (a warning a line of
    # stderr, six of them): the server's start-up errors are one line, and DSA is no key it needs
    warnings.filterwarnings("ignore", message="DSA is deprecated")
    import asyncssh  # noqa: F401 - first here, for every module of this package

from .config import PartnerKey, SftpSettings, load_host_key, load_partner_keys
from .hub import UploadHub
from .server import serve
from .session import DropFolderSFTP

__all__ = ["DropFolderSFTP", "PartnerKey", "SftpSettings", "UploadHub", "load_host_key", "load_partner_keys",
           "serve"]
