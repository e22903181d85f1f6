"""The home page: each book's open period, its journals, the stage area and the jobs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from revrec.services import journals, periods, stage
from revrec.services.context import Context
from revrec.services.jobs import list_jobs
from revrec.web import render
from revrec.web.security import Actor, context_of, need

router = APIRouter()
Viewer = Annotated[Actor, Depends(need("view"))]


def overview(ctx: Context) -> dict[str, Any]:
    found = periods.status(ctx)
    open_periods = [p for p in found if p["status"] == "open"]
    return {
        "open_periods": open_periods,
        "journals": [
            j
            for p in open_periods
            for j in journals.list_journals(ctx, p["period"])
            if j["book"] == p["book"]
        ],
        "stage": stage.overview(ctx),
        "jobs": list_jobs(ctx),
    }


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home_page(request: Request, actor: Viewer) -> HTMLResponse:
    return render.page(request, "home.html", overview(context_of(request, actor)))


@router.get("/api/v1/overview", tags=["home"])
def home_api(request: Request, actor: Viewer) -> dict[str, Any]:
    """Each book's open period, its journals, the stage area's rows per status, the jobs."""
    return overview(context_of(request, actor))
