"""Who may do what in the console: passwords (argon2id), sessions, CSRF tokens and roles.

Roles (one per user):

  biller   works the queue: opens claims, reveals names and member ids (audited), edits and sends
           secondary claims, keys paper EOBs, downloads inputs and outputs (audited). Cannot
           manage users or read the audit log.
  analyst  read-only: the queue, claim screens, the remittance explorer, files and runs, with
           names and member ids always masked (no reveal, no downloads: those files hold PHI).
           Cannot send, key or change anything.
  admin    everything a biller can, plus users (add, role, disable, reset password) and the audit log.

Sessions: a random 256-bit cookie value (HttpOnly, SameSite=Strict), stored only as its SHA-256;
it expires after IDLE minutes without a request and ABSOLUTE hours after login, whichever first.
Every POST carries the session's CSRF token (compared in constant time); the login form carries a
one-time token bound to a pre-login cookie.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

PERMISSIONS = {
    "biller": frozenset({"view", "phi", "send", "download"}),
    "analyst": frozenset({"view"}),
    "admin": frozenset({"view", "phi", "send", "download", "users", "audit"}),
}

SESSION_COOKIE = "cobpipe_session"
LOGIN_COOKIE = "cobpipe_login"
MIN_PASSWORD = 10

_hasher = PasswordHasher()  # argon2id, the library's current recommended parameters
# verified against when the user does not exist, so a wrong name takes as long as a wrong password
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    idle: dt.timedelta = dt.timedelta(minutes=30)
    absolute: dt.timedelta = dt.timedelta(hours=12)
    secure_cookie: bool = False  # set the Secure flag (behind HTTPS)


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password must have at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return False


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a).encode(), str(b).encode())


def allowed(role: str, permission: str) -> bool:
    return permission in PERMISSIONS.get(role, frozenset())


def expiry(created_at: dt.datetime, at: dt.datetime, policy: SessionPolicy) -> dt.datetime:
    """When a session seen at `at` ends: IDLE from now, but never after ABSOLUTE from its login."""
    return min(at + policy.idle, created_at + policy.absolute)
