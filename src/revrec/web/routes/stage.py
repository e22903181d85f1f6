"""Import/Export → Stage Area (SPEC §4.4): the stage rows by tab, filtered by status, file,
accounting date and text, with their messages and the notes saying why rows wait, a page of
100 rows at a time; deleting selected rows after a confirmation step (a page of its own, so
it works without JavaScript). Each with its JSON twin under /api/v1/stage, as
`revrec stage list|delete` answer."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from revrec.errors import InputError
from revrec.services import stage, uploads
from revrec.web import render
from revrec.web.security import Actor, context_of, need
from revrec.words import counted

router = APIRouter()
Viewer = Annotated[Actor, Depends(need("view"))]
Deleter = Annotated[Actor, Depends(need("delete_rows"))]
PAGE = 100  # rows a page shows
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]
Tab = Annotated[str, Query(max_length=16, pattern=r"^[A-Za-z]*$")]
Status = Annotated[str, Query(max_length=16, pattern=r"^[A-Za-z]*$")]
FileName = Annotated[str, Query(max_length=255, pattern=PRINTABLE)]
Text = Annotated[str, Query(max_length=200, pattern=PRINTABLE)]
Offset = Annotated[int, Query(ge=0, le=10**9)]


class RowIds(BaseModel):
    row_ids: list[RowId] = Field(min_length=1, max_length=10_000)


def _day(text: str, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{name} {text!r}: expected a date YYYY-MM-DD") from None


def _listing(
    request: Request,
    actor: Actor,
    filters: dict[str, Any],
    *,
    limit: int,
    offset: int,
) -> stage.StageListing:
    return stage.list_rows(
        context_of(request, actor),
        tab=filters["tab"] or None,
        status=filters["status"] or None,
        file=filters["file"] or None,
        text=filters["text"] or None,
        date_from=filters["from"],
        date_to=filters["to"],
        limit=limit,
        offset=offset,
    )


def _query(filters: dict[str, Any], **changed: Any) -> str:
    """The page's query string with some filters changed (empty ones left out)."""
    shown = {k: v for k, v in {**filters, **changed}.items() if v not in (None, "", 0)}
    return urlencode(shown)


@router.get("/stage", response_class=HTMLResponse, include_in_schema=False)
def stage_page(
    request: Request,
    actor: Viewer,
    tab: Tab = "",
    status: Status = "",
    file: FileName = "",
    date_from: Annotated[str, Query(alias="from", max_length=10)] = "",
    date_to: Annotated[str, Query(alias="to", max_length=10)] = "",
    text: Text = "",
    offset: Offset = 0,
) -> HTMLResponse:
    filters = {
        "tab": tab.lower(),
        "status": status.lower(),
        "file": file,
        "from": _day(date_from, "from"),
        "to": _day(date_to, "to"),
        "text": text,
    }
    found = _listing(request, actor, filters, limit=PAGE + 1, offset=offset)
    ctx = context_of(request, actor)
    shown = {**filters, "from": date_from, "to": date_to}
    rows = found.rows[:PAGE]
    data = {
        "rows": rows,
        "notes": found.notes,
        "filters": shown,
        "first": offset + 1,
        "last": offset + len(rows),
        "tabs": [("", "All"), *((t, t.capitalize()) for t in stage.TABS)],
        "tab_links": {t: _query(shown, tab=t) for t in ("", *stage.TABS)},
        "statuses": stage.STATUS_FILTERS,
        "files": sorted({c["file"] for c in stage.file_cards(ctx)}),
        "with_errors": uploads.files_with_errors(ctx, tab=tab.lower() or None),
        "next": _query(shown, offset=offset + PAGE) if len(found.rows) > PAGE else None,
        "previous": _query(shown, offset=max(offset - PAGE, 0)) if offset else None,
        "back": _query(shown, offset=offset),
    }
    return render.page(request, "stage.html", data)


@router.post("/stage/delete", include_in_schema=False)
def delete_form(
    request: Request,
    actor: Deleter,
    row_id: Annotated[list[RowId] | None, Form()] = None,
    confirm: Annotated[str, Form(max_length=3)] = "",
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Without `confirm=yes`: the confirmation page ('Delete 2 stage rows?'); with it, the rows
    deleted and back to the listing."""
    if not row_id:
        raise InputError("select the rows to delete first")
    ctx = context_of(request, actor)
    if confirm != "yes":
        count = stage.check_deletable(ctx, row_id)
        data = {"confirm": {"count": count, "row_ids": row_id, "back": back}}
        return render.page(request, "stage.html", data)
    deleted = stage.delete_rows(ctx, row_id)
    render.flash(request, f"deleted {counted(deleted, 'stage row')}")
    return render.back("/stage", **dict(parse_qsl(back)))


@router.get("/api/v1/stage", tags=["stage"])
def stage_api(
    request: Request,
    actor: Viewer,
    tab: Tab = "",
    status: Status = "",
    file: FileName = "",
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    text: Text = "",
    limit: Annotated[int, Query(ge=1, le=10_000)] = PAGE,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Stage rows, oldest first, as `revrec stage list --format json`: {"rows": [{row_id,
    tab, file, line, status, key, period, messages [{column, value, message}]}], "notes":
    why rows wait}. Filters: tab, status (or `duplicate`), file name, accounting date from/to
    (inclusive), text (in the key, a value or a message); `limit` rows from `offset`."""
    filters = {
        "tab": tab,
        "status": status,
        "file": file,
        "from": date_from,
        "to": date_to,
        "text": text,
    }
    found = _listing(request, actor, filters, limit=limit, offset=offset)
    return {"rows": found.rows, "notes": found.notes}


@router.post("/api/v1/stage/delete", tags=["stage"])
def delete_api(request: Request, body: RowIds, actor: Deleter) -> dict[str, Any]:
    """Delete stage rows (kept as deleted, with who and when; audit-logged), as `revrec stage
    delete --yes`: all of them or, when one is processed, already deleted or unknown, none
    (422)."""
    return {"deleted": stage.delete_rows(context_of(request, actor), body.row_ids)}
