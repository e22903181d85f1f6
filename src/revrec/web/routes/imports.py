"""Import/Export → Transactions and Events (SPEC §4.1, §4.4, §11.2): the uploaded files as
cards, the "+" upload forms, the per-file summary; each with its JSON twin under /api/v1.

An upload: its Content-Length checked first (413 before any of the body is read), then the
multipart form read (Starlette spools the file to disk), the file copied under the size limit
into a folder of its own and checked (`services.uploads.received`), imported and processed
with `services.workflow.import_and_process` as `revrec import transactions|events` does, and
the folder removed. The forms post with htmx (a progress bar) and work as plain forms too.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from revrec.errors import InputError
from revrec.services import stage, uploads, workflow
from revrec.services.imports import ImportSummary
from revrec.vocab import TAB_OF_TYPE, TRANSACTION_TYPES
from revrec.web import render
from revrec.web.body_limit import FORM_OVERHEAD
from revrec.web.security import Actor, context_of, need
from revrec.words import counted

router = APIRouter()
Viewer = Annotated[Actor, Depends(need("view"))]
Importer = Annotated[Actor, Depends(need("import"))]
FileId = Annotated[int, Path(ge=1, le=2**31 - 1)]
MappingName = Annotated[str, Query(max_length=64, pattern=r"^[\w.\- ]*$")]
NAME_LENGTH = 255  # characters of a file's name
CONTROL = "".join(map(chr, range(32))) + "\x7f"


async def within_limit(request: Request) -> None:
    """A 413 before the body is read when its Content-Length is beyond the upload limit (the
    file's bytes are counted again while they are copied)."""
    limit = request.app.state.settings.max_upload_bytes
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit + FORM_OVERHEAD:
        raise HTTPException(413, uploads.too_large(limit))


Limited = Depends(within_limit)
# The multipart body of the upload routes, for the OpenAPI document (the routes read the form
# themselves, after the size check).
FILE_PART = {"type": "string", "format": "binary", "description": "a CSV or XLSX file"}


def _form_body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required}
    return {
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    }


TRANSACTION_BODY = _form_body(
    {
        "type": {"type": "string", "enum": list(TRANSACTION_TYPES)},
        "mapping": {"type": "string", "maxLength": 64, "default": "revrec"},
        "file": FILE_PART,
    },
    ["type", "file"],
)
EVENT_BODY = _form_body(
    {
        "event": {"type": "string", "maxLength": 128},
        "name": {"type": "string", "maxLength": NAME_LENGTH, "description": "default: the file's"},
        "file": FILE_PART,
    },
    ["event", "file"],
)


def _text(form: FormData, key: str, *, longest: int = 128) -> str:
    """A text field of the form, stripped ('' when missing); an InputError when it is too
    long or holds control characters."""
    value = form.get(key)
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > longest or any(c in CONTROL for c in text):
        raise InputError(f"{key}: expected at most {longest} printable characters")
    return text


def _upload_of(form: FormData) -> UploadFile:
    found = form.get("file")
    if not isinstance(found, UploadFile) or not found.filename:
        raise InputError("choose a file to upload")
    return found


def _transaction_type(form: FormData) -> str:
    upload_type = _text(form, "type")
    if upload_type not in TRANSACTION_TYPES:
        *first, last = TRANSACTION_TYPES
        raise InputError(f"type {upload_type!r}: expected {', '.join(first)} or {last}")
    return upload_type


def _imported(
    request: Request, actor: Actor, upload: UploadFile, upload_type: str, **options: Any
) -> ImportSummary:
    """The upload received (copied under the limit, checked), imported and processed; the
    copy removed. Runs in a worker thread: the import is synchronous."""
    settings = request.app.state.settings
    try:
        with uploads.received(
            upload.file,
            settings.folder("uploads"),
            upload.filename,
            limit=settings.max_upload_bytes,
        ) as path:
            return workflow.import_and_process(
                context_of(request, actor), path, upload_type, **options
            )
    except uploads.TooLargeError as error:
        raise HTTPException(413, str(error)) from None


async def _import_form(request: Request, actor: Actor, kind: str) -> ImportSummary:
    """Read an upload form (transactions or events) and import its file."""
    form = await request.form()
    try:
        if kind == "event":
            event = _text(form, "event")
            if not event:
                raise InputError("choose the event the file is for")
            name = _text(form, "name", longest=NAME_LENGTH) or None
            upload = _upload_of(form)
            return await run_in_threadpool(
                _imported, request, actor, upload, "event", event=event, name=name
            )
        upload_type = _transaction_type(form)
        mapping = _text(form, "mapping", longest=64) or "revrec"
        upload = _upload_of(form)
        return await run_in_threadpool(
            _imported, request, actor, upload, upload_type, mapping=mapping
        )
    finally:
        await form.close()


def said(summary: ImportSummary) -> str:
    """The summary as the CLI says it: 'x.csv: 3 rows read, 2 processed, ...'."""
    return (
        f"{summary.file}: {counted(summary.rows_read, 'row')} read, "
        f"{summary.processed} processed, {summary.future} future, "
        f"{summary.pending} pending, {summary.error} error, {summary.duplicate} duplicate"
    )


def _after_upload(request: Request, summary: ImportSummary) -> Response:
    """On to the file's summary page (htmx: as a full page load), with the summary and its
    notes flashed."""
    render.flash(request, said(summary), "error" if summary.error else "ok")
    for note in summary.notes:
        render.flash(request, f"note: {note}")
    target = f"/files/{summary.file_id}"
    if request.headers.get("hx-request"):
        return Response(status_code=200, headers={"HX-Redirect": target})
    return render.back(target)


def _choice(value: str, allowed: tuple[str, ...] | list[str], default: str) -> str:
    return value if value in allowed else default


@router.get("/transactions", response_class=HTMLResponse, include_in_schema=False)
def transactions_page(
    request: Request,
    actor: Viewer,
    tab: Annotated[str, Query(max_length=16)] = "",
    upload_type: Annotated[str, Query(alias="type", max_length=16)] = "",
    mapping: MappingName = "",
) -> HTMLResponse:
    ctx = context_of(request, actor)
    cards = uploads.transaction_cards(ctx, tab=tab or None)
    chosen_type = _choice(upload_type, TRANSACTION_TYPES, "")
    if not chosen_type:
        chosen_type = {TAB_OF_TYPE[k]: k for k in TRANSACTION_TYPES}.get(tab, "sales_order")
    choices = uploads.mapping_choices(ctx)
    fitting = [m["name"] for m in choices if chosen_type in m["upload_types"]]
    data = {
        "cards": cards,
        "tab": tab,
        "tabs": uploads.TRANSACTION_TABS,
        "types": TRANSACTION_TYPES,
        "mappings": choices,
        "chosen": {
            "type": chosen_type,
            "mapping": _choice(mapping, fitting, "revrec" if "revrec" in fitting else ""),
            "open": bool(upload_type or mapping) or not cards,
        },
    }
    return render.page(request, "transactions.html", data)


@router.post("/transactions/upload", include_in_schema=False)
async def transactions_upload(
    request: Request, _limit: Annotated[None, Limited], actor: Importer
) -> Response:
    return _after_upload(request, await _import_form(request, actor, "transaction"))


@router.get("/events", response_class=HTMLResponse, include_in_schema=False)
def events_page(
    request: Request,
    actor: Viewer,
    event: Annotated[str, Query(max_length=128)] = "",
) -> HTMLResponse:
    ctx = context_of(request, actor)
    cards = stage.file_cards(ctx, tab="events")
    names = uploads.event_names(ctx)
    known = [e["event"] for e in names]
    data = {
        "cards": cards,
        "events": names,
        "chosen": {
            "event": _choice(event, known, known[0] if known else ""),
            "open": bool(event) or not cards,
        },
    }
    return render.page(request, "events.html", data)


@router.post("/events/upload", include_in_schema=False)
async def events_upload(
    request: Request, _limit: Annotated[None, Limited], actor: Importer
) -> Response:
    return _after_upload(request, await _import_form(request, actor, "event"))


@router.get("/files/{file_id}", response_class=HTMLResponse, include_in_schema=False)
def file_page(request: Request, file_id: FileId, actor: Viewer) -> HTMLResponse:
    summary = uploads.file_summary(context_of(request, actor), file_id)
    return render.page(request, "file.html", summary)


def _answer(summary: ImportSummary) -> dict[str, Any]:
    return {**summary.counts(), "file_id": summary.file_id, "notes": summary.notes}


@router.get("/api/v1/files", tags=["imports"])
def files_api(
    request: Request,
    actor: Viewer,
    tab: Annotated[str | None, Query(max_length=16, pattern=r"^[a-z]*$")] = None,
) -> dict[str, Any]:
    """The uploaded files as cards, newest first (of one stage tab: contracts, documents,
    cost, events): file_id, file, upload_type, mapping, event, uploaded_by, uploaded_at,
    rows_read and the rows per status (as `revrec stage files --format json`)."""
    return {"rows": stage.file_cards(context_of(request, actor), tab=tab or None)}


@router.get("/api/v1/files/{file_id}", tags=["imports"])
def file_api(request: Request, file_id: FileId, actor: Viewer) -> dict[str, Any]:
    """One uploaded file: its card, its stage tab, the notes saying why rows wait, and its
    rows in error (line, messages [{column, value, message}])."""
    return uploads.file_summary(context_of(request, actor), file_id)


@router.get("/api/v1/events/names", tags=["imports"])
def event_names_api(request: Request, actor: Viewer) -> dict[str, Any]:
    """The event names an event file may name: those of the POB templates (with the
    templates that accept them), then the built-in ones."""
    return {"rows": uploads.event_names(context_of(request, actor))}


@router.post("/api/v1/transactions", tags=["imports"], openapi_extra=TRANSACTION_BODY)
async def transactions_api(
    request: Request, _limit: Annotated[None, Limited], actor: Importer
) -> dict[str, Any]:
    """Import a sales-order, billing or cost file (multipart: type, mapping (default revrec),
    file), then run the active jobs: the import summary of `revrec import transactions
    --format json` (file, rows_read, processed, future, pending, error, duplicate) with the
    file_id and the notes. 413 beyond the upload limit."""
    return _answer(await _import_form(request, actor, "transaction"))


@router.post("/api/v1/events", tags=["imports"], openapi_extra=EVENT_BODY)
async def events_api(
    request: Request, _limit: Annotated[None, Limited], actor: Importer
) -> dict[str, Any]:
    """Import an event file for one event (multipart: event, name (default: the file's name),
    file), then run the active jobs: the import summary with the file_id and the notes."""
    return _answer(await _import_form(request, actor, "event"))
