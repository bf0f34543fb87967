"""The billers' and analysts' web console (`cobpipe console ROOT`): work queue, secondary claim
screen, paper EOB entry, remittance explorer, files and runs, users and the audit log.

app.py (Starlette app factory and routes), auth.py (roles, passwords, sessions, CSRF), store.py
(the console's SQL), claims.py (the claim screen's model and Send), queue.py, explore.py,
people.py (masked CMS-1500 boxes), templates/ and static/ (no build step).
"""
from __future__ import annotations

from .app import Settings, create_app

__all__ = ["Settings", "create_app"]
