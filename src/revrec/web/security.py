"""Who asks and what they may do: the session or API token of a request, its role, and CSRF.

A browser logs in and holds a signed, HTTP-only session cookie (Starlette's SessionMiddleware)
with the user's name and a CSRF token; a script sends `Authorization: Bearer <token>`. The user
and role are read from the database on every request. A state-changing request with a session
cookie must carry the session's CSRF token (form field `csrf_token` or header `X-CSRF-Token`);
a token-authenticated request carries no cookie, so it needs none. Which role may do what is
`services.users.PERMISSIONS`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from revrec.errors import AccessError
from revrec.services import users
from revrec.services.context import Context

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class LoginRequiredError(AccessError):
    """Nobody is logged in (a page redirects to the login; the API answers 401)."""


class CsrfError(AccessError):
    """A state-changing request without the session's CSRF token."""


@dataclass(frozen=True)
class Actor:
    name: str
    role: str
    via: str  # "session" or "token"


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made with the session)."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


def log_in(request: Request, name: str) -> None:
    """A new session for the user: a new CSRF token too (no session fixation)."""
    request.session.clear()
    request.session["user"] = name
    request.session["csrf"] = secrets.token_urlsafe(32)


def log_out(request: Request) -> None:
    request.session.clear()


def context_of(request: Request, actor: Actor | None = None) -> Context:
    """The Context of a request: the app's engine, the acting user, now, and the `book` query
    parameter (empty: the primary book)."""
    book = request.query_params.get("book") or None
    name = actor.name if actor is not None else "anonymous"
    return Context(request.app.state.engine, name, request.app.state.settings.clock(), book)


def actor_of(request: Request) -> Actor | None:
    """Who sent the request: a bearer token's user, else the session's, else None."""
    base = Context(request.app.state.engine, "anonymous", request.app.state.settings.clock())
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        found = users.token_user(base, header[7:].strip())
        if found is None:
            raise AccessError("the API token is unknown or its user is inactive")
        return Actor(found["name"], found["role"], "token")
    name = request.session.get("user")
    if not name:
        return None
    found = users.user_of(base, str(name))
    if found is None:
        request.session.clear()
        return None
    return Actor(found["name"], found["role"], "session")


async def check_csrf(request: Request, actor: Actor) -> None:
    """A CsrfError unless a state-changing session request carries the session's token."""
    if request.method in SAFE_METHODS or actor.via == "token":
        return
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not secrets.compare_digest(str(expected), sent):
        raise CsrfError("the form is missing its CSRF token or it is stale: reload the page")


def need(action: str) -> Callable[[Request], Coroutine[Any, Any, Actor]]:
    """A FastAPI dependency: the Actor, when logged in, allowed `action`, and (for a change)
    holding the CSRF token."""

    async def dependency(request: Request) -> Actor:
        actor = actor_of(request)
        if actor is None:
            raise LoginRequiredError("log in first")
        users.require(actor.role, action)
        await check_csrf(request, actor)
        request.state.actor = actor
        return actor

    return dependency
