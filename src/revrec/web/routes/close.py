"""The Period Close page (SPEC §7): the close checklist of the open period, "Open New Period"
with a confirmation that works without JavaScript (a required "I have reviewed the checklist"
box, and "acknowledge the error rows" when there are some), and every book's periods with their
status. A refused close is flashed with the message naming what is missing. The JSON twins are
/api/v1/close and /api/v1/periods (`revrec period status|close`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from revrec.errors import InputError
from revrec.services import close, periods
from revrec.web import render
from revrec.web.security import Actor, context_of, need

router = APIRouter()
Viewer = Annotated[Actor, Depends(need("view"))]
Closer = Annotated[Actor, Depends(need("close"))]
Box = Annotated[str, Form(max_length=8)]  # a checkbox: "yes" when ticked


class Closing(BaseModel):
    acknowledge_errors: bool = False


def _page(request: Request, actor: Actor) -> dict[str, Any]:
    ctx = context_of(request, actor)
    return {"checklist": close.checklist(ctx).as_json(), "periods": periods.status(ctx)}


def _done(result: close.Closed) -> dict[str, Any]:
    return {
        "closed": result.closed,
        "opened": result.opened,
        "books": result.books,
        "jobs": [job.as_json() for job in result.jobs],
    }


@router.get("/close", response_class=HTMLResponse, include_in_schema=False)
def close_page(request: Request, actor: Viewer) -> HTMLResponse:
    return render.page(request, "close.html", _page(request, actor))


@router.post("/close", include_in_schema=False)
def close_form(
    request: Request, actor: Closer, reviewed: Box = "", acknowledge_errors: Box = ""
) -> Response:
    if reviewed != "yes":
        raise InputError("tick the box: I have reviewed the checklist, to open the new period")
    done = close.close(context_of(request, actor), acknowledge_errors=acknowledge_errors == "yes")
    render.flash(
        request, f"period {done.closed} closed; {done.opened} is open ({', '.join(done.books)})"
    )
    for job in done.jobs:
        render.flash(request, f"{job.job}: processed {job.processed}, error {job.error}")
    return render.back("/close", book=request.query_params.get("book"))


@router.get("/api/v1/close", tags=["close"])
def checklist_api(request: Request, actor: Viewer) -> dict[str, Any]:
    """The close checklist of the open period: each item (`rows`: name, ok, detail, warning),
    the books a close moves, whether error rows wait to be acknowledged, and `ready`."""
    return close.checklist(context_of(request, actor)).as_json()


@router.post("/api/v1/close", tags=["close"])
def close_api(request: Request, body: Closing, actor: Closer) -> dict[str, Any]:
    """Open New Period: closes the open period and opens the next, refused (409) naming each
    checklist item missing; error rows need `acknowledge_errors`. The jobs' results follow."""
    return _done(
        close.close(context_of(request, actor), acknowledge_errors=body.acknowledge_errors)
    )


@router.get("/api/v1/periods", tags=["close"])
def periods_api(request: Request, actor: Viewer) -> dict[str, Any]:
    """Every period of every book with its status: future, open, closed (`revrec period
    status`)."""
    return {"rows": periods.status(context_of(request, actor))}
