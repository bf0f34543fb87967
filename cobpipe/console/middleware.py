"""The console's outermost layer, around the Starlette app: one request log line each, and a plain
500 for an exception nothing else caught.
"""
from __future__ import annotations

import logging
import time

from starlette.applications import Starlette

from ..logs import error_fields, event

log = logging.getLogger("cobpipe.console")


class Guarded:
    """The outermost layer: request log lines (method, path, status, user; never query strings or
    form data) and a plain 500 for any unexpected exception, logged by type and source line only
    (an exception message may hold PHI), so no traceback reaches uvicorn's log."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.state = app.state

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = {"code": 500, "sent": False}

        async def sending(message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["sent"] = True
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:  # noqa: BLE001 - the last guard
            fields = {**error_fields(exc), "message": None, "status": 500}
            fields["where"] = f"{scope.get('method')} {scope.get('path')} ({fields.get('where', '?')})"
            event(log, "console.error", logging.ERROR, **fields)
            if not status["sent"]:
                body = b"internal error (logged)"
                await send({"type": "http.response.start", "status": 500,
                            "headers": [(b"content-type", b"text/plain"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
            status["code"] = 500
        event(log, "console.request", logging.INFO, where=f"{scope.get('method')} {scope.get('path')}",
              status=status["code"], elapsed_ms=round((time.monotonic() - started) * 1000, 1))
