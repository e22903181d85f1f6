"""The Transfer JE pages (SPEC §6): a journal card per book for a period, with its state and
who took each step, its totals, the reconciliation inline and the steps the state and role
allow (Approve for Transfer, Revoke, Mark as transferred, Summarize); a journal's lines; the GL
export files a transfer recorded; the trial balance once summarized. Each has its JSON twin
under /api/v1/journals, calling the same `services.journals` function as `revrec je`.

An approval carries the fingerprint of the journal the page showed: a journal that changed
since is refused, and the user reviews it again.
"""

from __future__ import annotations

import dataclasses
import pathlib
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from pydantic import BaseModel, Field

from revrec.services import journals, periods
from revrec.services.context import Context
from revrec.web import render
from revrec.web.security import Actor, context_of, need

router = APIRouter()
Viewer = Annotated[Actor, Depends(need("view"))]
Approver = Annotated[Actor, Depends(need("approve"))]
Transferrer = Annotated[Actor, Depends(need("transfer"))]
Summarizer = Annotated[Actor, Depends(need("summarize"))]

PERIOD = r"^\d{4}-(0[1-9]|1[0-2])$"
FINGERPRINT = r"^[0-9a-f]{64}$"
Book = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$", description="a book")
]
Period = Annotated[str, Path(pattern=PERIOD, description="YYYY-MM")]
Kind = Annotated[str, Path(pattern=r"^(summary|detail)$", description="summary or detail")]
OPEN = "YYYY-MM (default: each book's open period)"
PeriodQuery = Annotated[
    str, Query(max_length=7, pattern=r"^(\d{4}-(0[1-9]|1[0-2]))?$", description=OPEN)
]
Limit = Annotated[int, Query(ge=1, le=1000, description="lines a page shows")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="lines skipped")]
Back = Annotated[str, Form(max_length=500)]


class Approval(BaseModel):
    seen: str | None = Field(
        default=None,
        pattern=FINGERPRINT,
        description="the fingerprint of the journal reviewed (GET .../{book}/{period}): the "
        "approval is refused when the journal changed since",
    )


def _of(request: Request, actor: Actor, book: str) -> Context:
    return dataclasses.replace(context_of(request, actor), book=book)


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _back(back: str) -> Response:
    """303 to the Transfer JE page a form came from (only a /journals page of this site)."""
    return render.back(back if back.startswith("/journals") else "/journals")


def _gl_folder(request: Request, book: str, period: str) -> pathlib.Path:
    """Where "Mark as transferred" writes a journal's GL export: gl-export/BOOK/PERIOD in the
    app's work folder (a book's name made safe as a folder name)."""
    folder: pathlib.Path = request.app.state.settings.folder("gl-export")
    return folder / re.sub(r"[^\w-]", "_", book) / period


# Pages.


@router.get("/journals", response_class=HTMLResponse, include_in_schema=False)
def journals_page(request: Request, actor: Viewer, period: PeriodQuery = "") -> HTMLResponse:
    ctx = context_of(request, actor)
    known = periods.status(ctx)
    data = {
        "cards": journals.cards(ctx, period or None),
        "period": period,
        "periods": sorted({p["period"] for p in known if p["status"] != "future"}, reverse=True),
        "books": sorted({p["book"] for p in known}),
        "here": _here(request),
    }
    return render.page(request, "journals.html", data)


@router.get("/journals/{book}/{period}", response_class=HTMLResponse, include_in_schema=False)
def journal_page(
    request: Request,
    book: Book,
    period: Period,
    actor: Viewer,
    limit: Limit = journals.LINES_PAGE,
    offset: Offset = 0,
) -> HTMLResponse:
    ctx = _of(request, actor, book)
    data = {
        "card": journals.card(ctx, period),
        "lines": journals.lines_page(ctx, period, limit=limit, offset=offset),
        "here": _here(request),
    }
    return render.page(request, "journal.html", data)


@router.post("/journals/{book}/{period}/approve", include_in_schema=False)
def approve_form(
    request: Request,
    book: Book,
    period: Period,
    actor: Approver,
    seen: Annotated[str, Form(pattern=FINGERPRINT)],
    back: Back = "/journals",
) -> Response:
    journals.approve(_of(request, actor, book), period, seen=seen)
    render.flash(request, f"journal {book} {period} approved for transfer")
    return _back(back)


@router.post("/journals/{book}/{period}/revoke", include_in_schema=False)
def revoke_form(
    request: Request, book: Book, period: Period, actor: Approver, back: Back = "/journals"
) -> Response:
    _, state = journals.revoke(_of(request, actor, book), period)
    render.flash(request, f"journal {book} {period} is {state} again")
    return _back(back)


@router.post("/journals/{book}/{period}/transfer", include_in_schema=False)
def transfer_form(
    request: Request, book: Book, period: Period, actor: Transferrer, back: Back = "/journals"
) -> Response:
    folder = _gl_folder(request, book, period)
    journals.transfer(_of(request, actor, book), period, folder=folder)
    render.flash(request, f"journal {book} {period} transferred: the GL export files are recorded")
    return _back(back)


@router.post("/journals/{book}/{period}/summarize", include_in_schema=False)
def summarize_form(
    request: Request, book: Book, period: Period, actor: Summarizer, back: Back = "/journals"
) -> Response:
    journals.summarize(_of(request, actor, book), period)
    render.flash(request, f"journal {book} {period} summarized: its trial balance is stored")
    return _back(back)


@router.get("/journals/{book}/{period}/export/{kind}", include_in_schema=False)
def export_download(
    request: Request, book: Book, period: Period, kind: Kind, actor: Viewer
) -> FileResponse:
    return _file(_of(request, actor, book), period, kind)


def _file(ctx: Context, period: str, kind: str) -> FileResponse:
    path, sha256 = journals.export_file(ctx, period, kind)
    return FileResponse(
        path, media_type="text/csv", filename=path.name, headers={"X-Content-SHA256": sha256}
    )


# The JSON twins.


@router.get("/api/v1/journals", tags=["journals"])
def journals_api(request: Request, actor: Viewer, period: PeriodQuery = "") -> dict[str, Any]:
    """Each book's journals (`?book=` one book's; `?period=` one period's, else every period
    that is not future): state, debit and credit per currency, lines (`revrec je list`)."""
    return {"rows": journals.list_journals(context_of(request, actor), period or None)}


@router.get("/api/v1/journals/cards", tags=["journals"])
def cards_api(request: Request, actor: Viewer, period: PeriodQuery = "") -> dict[str, Any]:
    """The Transfer JE page's cards: every book's journal of the period (default each book's
    open one; `?book=` one book's) with its steps, totals, files, fingerprint, reconciliation,
    next step and, once summarized, trial balance."""
    return {"rows": journals.cards(context_of(request, actor), period or None)}


@router.get("/api/v1/journals/{book}/{period}", tags=["journals"])
def journal_api(
    request: Request,
    book: Book,
    period: Period,
    actor: Viewer,
    limit: Limit = journals.LINES_PAGE,
    offset: Offset = 0,
) -> dict[str, Any]:
    """A journal's card (`journal`: state, steps, totals, files, `fingerprint`,
    `reconciliation`, next step, trial balance) and a page of its lines (`rows`, money in major
    units; `count` lines in all; `prev_offset`/`next_offset`)."""
    ctx = _of(request, actor, book)
    return {
        "journal": journals.card(ctx, period),
        **journals.lines_page(ctx, period, limit=limit, offset=offset),
    }


@router.post("/api/v1/journals/{book}/{period}/approve", tags=["journals"])
def approve_api(
    request: Request, book: Book, period: Period, body: Approval, actor: Approver
) -> dict[str, Any]:
    """Approve for Transfer: refused unless the reconciliation passes and, with `seen`, unless
    the journal is still the one of that fingerprint (409)."""
    journals.approve(_of(request, actor, book), period, seen=body.seen)
    return {"book": book, "period": period, "state": "approved"}


@router.post("/api/v1/journals/{book}/{period}/revoke", tags=["journals"])
def revoke_api(request: Request, book: Book, period: Period, actor: Approver) -> dict[str, Any]:
    """Undo the journal's last step (never in a closed period); the state it is in again."""
    _, state = journals.revoke(_of(request, actor, book), period)
    return {"book": book, "period": period, "state": state}


@router.post("/api/v1/journals/{book}/{period}/transfer", tags=["journals"])
def transfer_api(
    request: Request, book: Book, period: Period, actor: Transferrer
) -> dict[str, Any]:
    """Mark as transferred: writes the GL export (summary and detail CSV) and records both
    files with their SHA-256 (download them from .../export/summary and .../export/detail)."""
    ctx = _of(request, actor, book)
    journals.transfer(ctx, period, folder=_gl_folder(request, book, period))
    return {
        "book": book,
        "period": period,
        "state": "transferred",
        "files": journals.card(ctx, period)["files"],
    }


@router.post("/api/v1/journals/{book}/{period}/summarize", tags=["journals"])
def summarize_api(
    request: Request, book: Book, period: Period, actor: Summarizer
) -> dict[str, Any]:
    """Summarize: store the balances by account; the trial balance (`rows`)."""
    ctx = _of(request, actor, book)
    journals.summarize(ctx, period)
    return {
        "book": book,
        "period": period,
        "state": "summarized",
        "rows": journals.trial_balance_rows(ctx, period),
    }


@router.get("/api/v1/journals/{book}/{period}/trial-balance", tags=["journals"])
def trial_balance_api(
    request: Request, book: Book, period: Period, actor: Viewer
) -> dict[str, Any]:
    """A summarized journal's trial balance: account, gl_code, currency, the period's debit and
    credit, the closing balance (`revrec je show --trial-balance`)."""
    return {"rows": journals.trial_balance_rows(_of(request, actor, book), period)}


@router.get(
    "/api/v1/journals/{book}/{period}/export/{kind}",
    tags=["journals"],
    response_class=FileResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "the recorded CSV file"}},
)
def export_api(
    request: Request, book: Book, period: Period, kind: Kind, actor: Viewer
) -> FileResponse:
    """A GL export file the transfer recorded (`summary` or `detail`), only while its bytes
    still have the recorded SHA-256 (header `X-Content-SHA256`); else 409."""
    return _file(_of(request, actor, book), period, kind)
