"""Rendering pages: the Jinja environment, the layout's values, flash messages, redirects.

Templates get what a service returned, unchanged; they format and never compute.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from revrec.services import users
from revrec.web.security import CSRF_FIELD, csrf_token

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _link(template: str, row: dict[str, Any]) -> str:
    """A URL template with {column} placeholders filled from a row, each value URL-quoted."""
    return template.format_map({k: quote(str(v), safe="") for k, v in row.items()})


templates.env.filters["link"] = _link
NAV = (
    ("/", "Home", "home"),
    ("/transactions", "Transactions", "transactions"),
    ("/events", "Events", "events"),
    ("/stage", "Stage Area", "stage"),
    ("/workbench", "Workbench", "workbench"),
    ("/reports", "Reports", "reports"),
    ("/journals", "Transfer JE", "journals"),
    ("/close", "Period Close", "close"),
    ("/jobs", "Jobs", "jobs"),
    ("/setup", "Setup", "setup"),
    ("/audit", "Audit", "audit"),
)


def page(
    request: Request, template: str, data: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """A page: the template with the service's data, the layout's navigation, the user, the
    CSRF token for its forms and the flash messages waiting in the session."""
    actor = getattr(request.state, "actor", None)
    values = {
        "request": request,
        "data": data,
        "actor": actor,
        "nav": NAV,
        "csrf_field": CSRF_FIELD,
        "csrf": csrf_token(request),
        "flashes": request.session.pop("flash", []),
        "can": (lambda action: actor is not None and users.allowed(actor.role, action)),
        "book": request.query_params.get("book", ""),
    }
    return templates.TemplateResponse(request, template, values, status_code=status_code)


def flash(request: Request, message: str, kind: str = "ok") -> None:
    """A message shown once, on the next page (kind: ok or error)."""
    request.session.setdefault("flash", []).append({"kind": kind, "message": message})
    request.session["flash"] = request.session["flash"]


def back(path: str, **query: Any) -> RedirectResponse:
    """303 to a page after a form (POST-redirect-GET), with its query."""
    shown = {k: v for k, v in query.items() if v not in (None, "")}
    return RedirectResponse(path + (f"?{urlencode(shown)}" if shown else ""), status_code=303)
