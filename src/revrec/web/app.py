"""The web app: FastAPI with server-rendered pages and their JSON twins under /api/v1.

`create_app` opens the database once (checked to be current), adds the signed session cookie,
the count of each request's body against the upload limit (`web.body_limit`),
the static files (htmx, the stylesheet), every area's routers and the error handlers: a
revrec error is a page with its message or, under /api, `{"error": {"status", "message"}}`;
nothing answers with a stack trace.
"""

from __future__ import annotations

import html
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.middleware.sessions import SessionMiddleware

from revrec.errors import AccessError, ConfigError, InputError, RevrecError, StateError
from revrec.services import database
from revrec.web import render
from revrec.web.body_limit import BodyLimit
from revrec.web.routes import ROUTERS
from revrec.web.scheduler import Scheduler
from revrec.web.security import CsrfError, LoginRequiredError
from revrec.web.settings import Settings

log = logging.getLogger("revrec.web")
API = "/api/v1"


def status_of(error: RevrecError) -> int:
    """The HTTP status of a revrec error."""
    if isinstance(error, LoginRequiredError):
        return 401
    if isinstance(error, AccessError):
        return 403
    if isinstance(error, InputError):
        return 422
    if isinstance(error, StateError | ConfigError):
        return 409
    return 400


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    engine = database.open_engine(settings.database_url)
    database.check(engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        scheduler = None
        if settings.scheduler:
            scheduler = Scheduler(engine, settings.scheduler_tick_seconds, settings.clock)
            scheduler.start()
        app.state.scheduler = scheduler
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.stop()

    app = FastAPI(
        title="revrec",
        version="1",
        description="The revenue recognition subledger's REST API (SPEC §11.2): every page's "
        "JSON twin. Authenticate with `Authorization: Bearer <token>` (`revrec users token`).",
        docs_url=f"{API}/docs",
        redoc_url=None,
        openapi_url=f"{API}/openapi.json",
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.settings = settings
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="revrec_session",
        max_age=settings.session_hours * 3600,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    app.add_middleware(BodyLimit, limit=settings.max_upload_bytes)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    for router in ROUTERS:
        app.include_router(router)
    _handlers(app)
    return app


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API)


def _came_from(request: Request) -> str:
    """The page a refused form came from: its Referer when it is this site's, else the area's
    page (the first segment of the form's path: /jobs/x/run -> /jobs)."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc == request.url.netloc and referer.path:
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return "/" + request.url.path.strip("/").split("/")[0]


def _json_error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"status": status, "message": message}}, status_code=status)


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(RevrecError)
    async def revrec_error(request: Request, error: RevrecError) -> Response:
        status = status_of(error)
        if _is_api(request):
            return _json_error(status, str(error))
        if isinstance(error, LoginRequiredError):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        if request.method == "POST" and not isinstance(error, AccessError | CsrfError):
            # A refused step: back to the page it came from, with the reason.
            render.flash(request, str(error), "error")
            return RedirectResponse(_came_from(request), status_code=303)
        return render.page(request, "error.html", {"message": str(error)}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
            for e in error.errors()
        )
        if _is_api(request):
            return _json_error(422, problems)
        return render.page(request, "error.html", {"message": problems}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        if _is_api(request):
            return _json_error(error.status_code, str(error.detail))
        return render.page(
            request, "error.html", {"message": str(error.detail)}, status_code=error.status_code
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
        problem = database.problem(error)
        message = f"database: {problem}" if problem else "internal error: see the server's log"
        if _is_api(request):
            return _json_error(500, message)
        # Outside the session middleware here: a plain page, no layout.
        return HTMLResponse(
            f"<!doctype html><title>revrec: error</title><p>{html.escape(message)}</p>",
            status_code=500,
        )
