"""Signing in and out: the login form (a one-time token against cross-site posts, failed attempts
locked per user name), the session cookie, logout, and the front door.
"""
from __future__ import annotations

import datetime as dt
import logging
import time

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ...logs import event
from .. import auth
from ..web import Console, local

log = logging.getLogger("cobpipe.console")


def routes(console: Console) -> list[Route]:
    store, settings, render = console.store, console.settings, console.render
    guard, posted = console.guard, console.posted
    failures = _Failures()

    async def login_page(request: Request, message: str = "", status: int = 200) -> Response:
        nonce = auth.new_token()
        response = render(request, "login.html", status, login_token=nonce, message=message)
        response.set_cookie(auth.LOGIN_COOKIE, nonce, httponly=True, samesite="strict",
                            secure=settings.policy.secure_cookie, max_age=1800)
        return response

    async def login(request: Request) -> Response:
        if request.method == "GET":
            return await login_page(request)
        form = await request.form()
        if not auth.same(form.get("login_token"), request.cookies.get(auth.LOGIN_COOKIE)):
            return await login_page(request, "The login form expired: try again.", 403)
        name = str(form.get("name") or "").strip()[:64]
        password = str(form.get("password") or "")
        if failures.locked(name):
            store.audit(name or "-", "login.locked")
            return await login_page(request, "Too many failed attempts: wait 15 minutes.", 429)
        user = store.user(name) if name else None
        ok = auth.verify_password(user.password_hash if user else None, password)
        if not ok or user is None or user.disabled:
            failures.add(name)
            store.audit(name or "-", "login.failed")
            # no name in the log line: people type their password into the name field (the audit
            # log, inside the ledger, keeps what was typed as the name)
            event(log, "console.login_failed", logging.WARNING)
            return await login_page(request, "Wrong name or password.", 401)
        failures.clear(name)
        if auth.needs_rehash(user.password_hash):
            store.set_password(user.name, auth.hash_password(password))
        token, csrf = auth.new_token(), auth.new_token()
        at = dt.datetime.now(dt.timezone.utc)
        store.add_session(auth.token_hash(token), user.name, csrf, auth.expiry(at, at, settings.policy))
        store.audit(user.name, "login")
        event(log, "console.login", user=user.name)
        response = RedirectResponse(local(str(form.get("next") or ""), "/queue"), 303)
        response.set_cookie(auth.SESSION_COOKIE, token, httponly=True, samesite="strict",
                            secure=settings.policy.secure_cookie)
        response.delete_cookie(auth.LOGIN_COOKIE)
        return response

    async def logout(request: Request) -> Response:
        visitor = await guard(request)
        await posted(request, visitor)
        store.end_session(visitor.session.token_hash)
        store.audit(visitor.user.name, "logout")
        response = RedirectResponse("/login", 303)
        response.delete_cookie(auth.SESSION_COOKIE)
        return response

    async def home(request: Request) -> Response:
        await guard(request)
        return RedirectResponse("/queue", 303)

    return [
        Route("/", home),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
    ]


class _Failures:
    """Failed logins per user name: after 5 in 15 minutes, that name is locked for 15 minutes."""

    LIMIT, WINDOW = 5, 900.0

    def __init__(self) -> None:
        self.seen: dict[str, list[float]] = {}

    def locked(self, name: str) -> bool:
        now = time.monotonic()
        recent = [t for t in self.seen.get(name, []) if now - t < self.WINDOW]
        self.seen[name] = recent
        return len(recent) >= self.LIMIT

    def add(self, name: str) -> None:
        self.seen.setdefault(name, []).append(time.monotonic())

    def clear(self, name: str) -> None:
        self.seen.pop(name, None)
