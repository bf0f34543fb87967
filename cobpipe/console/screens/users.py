"""Users and the audit log: adding users, changing roles and passwords, disabling (never the last
admin, never oneself), and the audit log's pages.
"""
from __future__ import annotations

import math

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import auth
from .. import claims as claimmod
from ..store import ROLES, ConsoleStore
from ..web import Console, Visitor


def routes(console: Console) -> list[Route]:
    store, render, guard, posted = console.store, console.render, console.guard, console.posted

    async def users_page(request: Request) -> Response:
        visitor = await guard(request, "users")
        message = ""
        if request.method == "POST":
            data = await posted(request, visitor)
            message = _user_change(store, visitor, data)
        return render(request, "users.html", users=store.users(), roles=ROLES, message=message)

    async def audit_page(request: Request) -> Response:
        await guard(request, "audit")
        page = max(1, claimmod.to_int(request.query_params.get("page"), 1))
        rows, total = store.audit_page(100, (page - 1) * 100)
        return render(request, "audit.html", rows=rows, page=page, pages=max(1, math.ceil(total / 100)))

    return [
        Route("/users", users_page, methods=["GET", "POST"]),
        Route("/audit", audit_page),
    ]


def _user_change(store: ConsoleStore, visitor: Visitor, data) -> str:
    action = str(data.get("action") or "")
    name = str(data.get("name") or "").strip()[:64]
    try:
        if action == "add":
            role = str(data.get("role") or "biller")
            if not name or not name.replace(".", "").replace("-", "").replace("_", "").isalnum():
                return "a user name is letters, digits, '.', '-' or '_'"
            store.add_user(name, role, auth.hash_password(str(data.get("password") or "")))
            store.audit(visitor.user.name, "user.add", name, {"role": role})
            return f"user {name} added as {role}"
        user = store.user(name)
        if user is None:
            return f"no user {name}"
        if action == "role":
            role = str(data.get("role") or "")
            if user.role == "admin" and role != "admin" and store.active_admins() <= 1:
                return "the last admin keeps the admin role"
            store.set_role(name, role)
            store.audit(visitor.user.name, "user.role", name, {"from": user.role, "to": role})
            return f"{name} is now {role}"
        if action in ("disable", "enable"):
            if action == "disable" and name == visitor.user.name:
                return "you cannot disable yourself"
            store.set_disabled(name, action == "disable")
            store.audit(visitor.user.name, f"user.{action}", name)
            return f"{name} {action}d"
        if action == "password":
            store.set_password(name, auth.hash_password(str(data.get("password") or "")))
            store.audit(visitor.user.name, "user.password", name)
            return f"password of {name} changed (their sessions ended)"
    except ValueError as exc:
        return str(exc)
    return "unknown action"
