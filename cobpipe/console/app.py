"""The console's web application: `create_app(root, ledger)` -> a Starlette app.

Every page needs a session (see auth.py for roles, sessions and CSRF); PHI is masked until a user
with the `phi` permission reveals a claim, and every reveal, download and change is written to the
audit log. Request logs are JSON lines without query strings or form data (cobpipe.logs).

This module only assembles: the shared parts (web.Console), each screen's routes (screens/), the
static files, the error pages, and the outermost layer (middleware.Guarded).
"""
from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from ..ledger import Ledger
from . import claims as claimmod
from .middleware import Guarded
from .screens import claim, files, login, paper, queue, remittances, users
from .web import HERE, Console, Redirect, Settings

__all__ = ["Settings", "create_app"]

SCREENS = (login, queue, claim, paper, remittances, files, users)  # their routes, in this order


def create_app(root: Path, ledger: Ledger, *, settings: Settings | None = None) -> Starlette:
    settings = settings or Settings(Path(root))
    console = Console(ledger, settings)
    claimmod.recover_pending(ledger, settings.outbound)
    routes = [route for screen in SCREENS for route in screen.routes(console)]
    routes.append(Mount("/static", StaticFiles(directory=HERE / "static"), name="static"))

    async def http_error(request: Request, exc: HTTPException) -> Response:
        return console.render(request, "error.html", exc.status_code, status=exc.status_code, message=exc.detail)

    async def redirect(request: Request, exc: Redirect) -> Response:
        return RedirectResponse(exc.target, 303)

    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error, Redirect: redirect})
    app.state.store = console.store
    return Guarded(app)
