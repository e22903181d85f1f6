"""The Audit page (SPEC §2): the audit log, newest first and paged, filtered by kind, user,
from and to date and period, each entry's before and after shown as fields; "Verify the chain"
(a read-only GET) recomputes the hash chain and names the first altered or removed entry. The
JSON twins are /api/v1/audit and /api/v1/audit/verify (`revrec audit list|verify`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from revrec.services import audit_views
from revrec.web import render
from revrec.web.security import Actor, context_of, need

router = APIRouter()
Viewer = Annotated[Actor, Depends(need("view"))]
DAY = r"^(\d{4}-\d{2}-\d{2})?$"
KINDS = "a kind (import, job, period, je...) or an action such as je.approve"
Kind = Annotated[str, Query(max_length=32, pattern=r"^[a-z_.]*$", description=KINDS)]
TEXT = r"^[^\x00-\x1f\x7f]*$"  # no control characters
User = Annotated[str, Query(max_length=64, pattern=TEXT, description="who acted")]
From = Annotated[str, Query(alias="from", pattern=DAY, description="on or after YYYY-MM-DD")]
To = Annotated[str, Query(alias="to", pattern=DAY, description="on or before YYYY-MM-DD")]
Period = Annotated[
    str, Query(pattern=r"^(\d{4}-(0[1-9]|1[0-2]))?$", description="the period an entry concerns")
]
Limit = Annotated[int, Query(ge=1, le=500, description="entries a page shows")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="newest entries skipped")]
Head = Annotated[
    str, Query(pattern=r"^([0-9a-fA-F]{64})?$", description="a head hash verify gave earlier")
]


@dataclass(frozen=True)
class Listing:
    """What a listing of the audit log asks for (the page's form and the API's query)."""

    kind: str
    user: str
    date_from: str
    date_to: str
    period: str
    limit: int
    offset: int

    def found(self, request: Request, actor: Actor) -> dict[str, Any]:
        return audit_views.newest_first(context_of(request, actor), **asdict(self))


def _listing(
    kind: Kind = "",
    user: User = "",
    date_from: From = "",
    date_to: To = "",
    period: Period = "",
    limit: Limit = audit_views.PAGE,
    offset: Offset = 0,
) -> Listing:
    return Listing(kind, user, date_from, date_to, period, limit, offset)


Listed = Annotated[Listing, Depends(_listing)]


@router.get("/audit", response_class=HTMLResponse, include_in_schema=False)
def audit_page(request: Request, actor: Viewer, asked: Listed) -> HTMLResponse:
    found = asked.found(request, actor)
    return render.page(request, "audit.html", {"log": found, "kinds": audit_views.KINDS})


@router.get("/audit/verify", response_class=HTMLResponse, include_in_schema=False)
def verify_page(request: Request, actor: Viewer, head: Head = "") -> HTMLResponse:
    ctx = context_of(request, actor)
    data = {
        "verify": audit_views.verify(ctx, head),
        "head": head,
        "log": audit_views.newest_first(ctx),
        "kinds": audit_views.KINDS,
    }
    return render.page(request, "audit.html", data)


@router.get("/api/v1/audit", tags=["audit"])
def audit_api(request: Request, actor: Viewer, asked: Listed) -> dict[str, Any]:
    """Audit entries, newest first (`offset` newest skipped, at most `limit`), filtered: of a
    kind or action, by a user, from and to a day (UTC, inclusive), of a period. Each: id, at,
    user, action, entity, period, before, after (values), prev_hash, hash; with `count`."""
    return asked.found(request, actor)


@router.get("/api/v1/audit/verify", tags=["audit"])
def verify_api(request: Request, actor: Viewer, head: Head = "") -> dict[str, object]:
    """Recompute the hash chain: ok, entries intact, the first altered or removed entry and the
    problem, and the head (id and hash) to keep elsewhere and give back as `head` later."""
    return audit_views.verify(context_of(request, actor), head)
