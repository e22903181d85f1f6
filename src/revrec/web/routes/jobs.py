"""The Jobs page (SPEC §2): each job's schedule, last run and result; run one now, make it
active or inactive, change its schedule. Each has its JSON twin under /api/v1/jobs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from revrec.services import jobs, workflow
from revrec.web import render
from revrec.web.security import Actor, context_of, need

router = APIRouter()
Viewer = Annotated[Actor, Depends(need("view"))]
Runner = Annotated[Actor, Depends(need("run_jobs"))]
Configurer = Annotated[Actor, Depends(need("configure_jobs"))]
JobName = Annotated[str, Path(max_length=32)]


class Schedule(BaseModel):
    every: str | None = None
    cron: str | None = None


class Activity(BaseModel):
    active: bool


def _page(request: Request, actor: Actor) -> dict[str, Any]:
    return {"jobs": jobs.list_jobs(context_of(request, actor))}


@router.get("/jobs", response_class=HTMLResponse, include_in_schema=False)
def jobs_page(request: Request, actor: Viewer) -> HTMLResponse:
    return render.page(request, "jobs.html", _page(request, actor))


@router.post("/jobs/{name}/run", include_in_schema=False)
def run_form(request: Request, name: JobName, actor: Runner) -> Response:
    results = workflow.run_job(context_of(request, actor), name)
    render.flash(request, f"job {name} ran: " + "; ".join(_said(r.as_json()) for r in results))
    return render.back("/jobs")


@router.post("/jobs/{name}/active", include_in_schema=False)
def active_form(
    request: Request, name: JobName, actor: Configurer, active: Annotated[str, Form()]
) -> Response:
    on = active == "true"
    jobs.set_active(context_of(request, actor), name, active=on)
    render.flash(request, f"job {name} is {'active' if on else 'inactive'}")
    return render.back("/jobs")


@router.post("/jobs/{name}/schedule", include_in_schema=False)
def schedule_form(
    request: Request,
    name: JobName,
    actor: Configurer,
    every: Annotated[str, Form()] = "",
    cron: Annotated[str, Form()] = "",
) -> Response:
    jobs.set_schedule(context_of(request, actor), name, every=every, cron=cron)
    render.flash(request, f"job {name}: schedule saved")
    return render.back("/jobs")


def _said(result: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in result.items() if k != "job" and v not in ([], None))


@router.get("/api/v1/jobs", tags=["jobs"])
def jobs_api(request: Request, actor: Viewer) -> dict[str, Any]:
    """Every job: active, every, cron, last_run_at, last_result."""
    return {"rows": _page(request, actor)["jobs"]}


@router.post("/api/v1/jobs/{name}/run", tags=["jobs"])
def run_api(request: Request, name: JobName, actor: Runner) -> dict[str, Any]:
    """Run one job now, active or not; its result."""
    return {"rows": [r.as_json() for r in workflow.run_job(context_of(request, actor), name)]}


@router.put("/api/v1/jobs/{name}/active", tags=["jobs"])
def active_api(
    request: Request, name: JobName, body: Activity, actor: Configurer
) -> dict[str, Any]:
    """Make a job active or inactive."""
    jobs.set_active(context_of(request, actor), name, active=body.active)
    return {"name": name, "active": body.active}


@router.put("/api/v1/jobs/{name}/schedule", tags=["jobs"])
def schedule_api(
    request: Request, name: JobName, body: Schedule, actor: Configurer
) -> dict[str, Any]:
    """A job's interval (`15m`, `1h`, `1d`) or cron expression (UTC), not both."""
    jobs.set_schedule(context_of(request, actor), name, every=body.every, cron=body.cron)
    return {"name": name, "every": body.every, "cron": body.cron}
