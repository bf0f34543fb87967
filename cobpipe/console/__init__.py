"""The billers' and analysts' web console (`cobpipe console ROOT`): work queue, secondary claim
screen, paper EOB entry, remittance explorer, files and runs, users and the audit log.

app.py (the Starlette app put together), screens/ (one module a screen, its routes), web.py (what
every screen uses: the Console, visitors, CSRF-checked forms, rendering), middleware.py (request
logs, the last-resort 500), auth.py (roles, passwords, sessions, CSRF), store.py (the console's
SQL), claims/ (the claim screen's form, checks and Send), queue.py, explore.py, uploads.py,
people.py (masked CMS-1500 boxes), templates/ and static/ (no build step).
"""
from __future__ import annotations

from .app import Settings, create_app

__all__ = ["Settings", "create_app"]
