"""Every request's body counted as it arrives: past the upload limit and a form's overhead, the
read is refused with a 413. A body with a Content-Length over it is refused before it is read
(routes.imports.within_limit); one sent in chunks has none, and without this count Starlette
would spool all of it to disk before any route could look at its size."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from revrec.services import uploads

FORM_OVERHEAD = 8192  # bytes a multipart form adds to its file: boundaries, the other fields


class BodyLimit:
    """ASGI middleware: a request whose body passes `limit` + FORM_OVERHEAD bytes gets a 413
    (raised from the read, so the app's error handlers answer it) and is read no further."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit + FORM_OVERHEAD:
                    raise HTTPException(413, uploads.too_large(self.limit))
            return message

        await self.app(scope, counted, send)
