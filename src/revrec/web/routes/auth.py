"""Logging in and out, and who the API sees (`GET /api/v1/me`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from revrec.errors import AccessError
from revrec.services import users
from revrec.web import render
from revrec.web.security import Actor, check_csrf, context_of, log_in, log_out, need

router = APIRouter()
Viewer = Annotated[Actor, Depends(need("view"))]


class Me(BaseModel):
    name: str
    role: str
    allowed: list[str]


def _safe_next(target: str | None) -> str:
    """Only a path of this site (never another host) to go on to after the login."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, next: str = "/") -> Response:  # noqa: A002
    return render.page(request, "login.html", {"next": _safe_next(next)})


@router.post("/login", include_in_schema=False)
async def login(
    request: Request,
    name: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",  # noqa: A002
) -> Response:
    # The login form carries the CSRF token of the anonymous session too (login CSRF).
    await check_csrf(request, Actor("anonymous", "viewer", "session"))
    try:
        user = users.authenticate(context_of(request), name, password)
    except AccessError as error:
        return render.page(
            request, "login.html", {"next": _safe_next(next), "error": str(error)}, status_code=401
        )
    log_in(request, user["name"])
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", include_in_schema=False)
async def logout(request: Request, _actor: Viewer) -> Response:
    log_out(request)
    return RedirectResponse("/login", status_code=303)


@router.get("/api/v1/me", tags=["auth"])
def me(actor: Viewer) -> Me:
    """Who the request is authenticated as, and the actions the role allows."""
    allowed = [a for a in users.PERMISSIONS if users.allowed(actor.role, a)]
    return Me(name=actor.name, role=actor.role, allowed=allowed)
