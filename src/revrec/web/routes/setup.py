"""The Setup pages (SPEC §2, §11.2): books, periods, accounts, POB templates, SSP, mappings, jobs
and (for an admin) users; an admin uploads a setup file, edits a POB template or an SSP row, and
manages users and their API tokens. Each page and form has its JSON twin under /api/v1/setup and
/api/v1/users, calling the same service (`services.setup_views`, `services.users`)."""

from __future__ import annotations

import re
import secrets
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from revrec.errors import InputError
from revrec.services import mappings, periods, setup_views, users
from revrec.web import render
from revrec.web.security import Actor, context_of, need

router = APIRouter()
Viewer = Annotated[Actor, Depends(need("view"))]
Admin = Annotated[Actor, Depends(need("setup"))]
UserAdmin = Annotated[Actor, Depends(need("users"))]

USER_NAME = r"^[A-Za-z0-9_.@-]{1,64}$"
PLAIN_TEXT = r"^[^\x00-\x1f\x7f]*$"  # one line, no control characters
UserName = Annotated[str, Path(max_length=64, pattern=USER_NAME)]
TemplateName = Annotated[str, Path(min_length=1, max_length=128, pattern=PLAIN_TEXT)]
MappingName = Annotated[str, Path(min_length=1, max_length=64, pattern=PLAIN_TEXT)]
Text = Annotated[str, Form(max_length=128, pattern=PLAIN_TEXT)]
Password = Annotated[str, Form(max_length=1024)]
CHUNK = 1 << 16


class NewUser(BaseModel):
    name: str = Field(max_length=64, description="1-64 letters, digits or _ . @ -")
    role: str = Field(max_length=16, description="admin, accountant or viewer")
    password: str = Field(max_length=1024, description="at least 8 characters")


class UserChange(BaseModel):
    role: str | None = Field(None, max_length=16, description="a new role")
    active: bool | None = Field(None, description="allow or refuse the user's logins")
    password: str | None = Field(None, max_length=1024, description="a new password")


class NewToken(BaseModel):
    label: str = Field(
        "script", min_length=1, max_length=128, pattern=PLAIN_TEXT, description="what it is for"
    )


def _page(request: Request, actor: Actor) -> dict[str, Any]:
    return setup_views.overview(
        context_of(request, actor), with_users=users.allowed(actor.role, "users")
    )


# The pages.


@router.get("/setup", response_class=HTMLResponse, include_in_schema=False)
def setup_page(request: Request, actor: Viewer) -> HTMLResponse:
    return render.page(request, "setup.html", _page(request, actor))


@router.get("/setup/templates/{name}", response_class=HTMLResponse, include_in_schema=False)
def template_page(request: Request, name: TemplateName, actor: Viewer) -> HTMLResponse:
    found = setup_views.template(context_of(request, actor), name)
    return render.page(
        request, "setup_template.html", {"template": found, "choices": setup_views.choices()}
    )


@router.get("/setup/ssp", response_class=HTMLResponse, include_in_schema=False)
def ssp_page(
    request: Request,
    actor: Viewer,
    item_code: Annotated[str, Query(max_length=128, pattern=PLAIN_TEXT)] = "",
    currency: Annotated[str, Query(max_length=3, pattern=PLAIN_TEXT)] = "",
    valid_from: Annotated[str, Query(max_length=10, pattern=PLAIN_TEXT)] = "",
) -> HTMLResponse:
    ctx = context_of(request, actor)
    found = setup_views.ssp_row(ctx, item_code, currency, valid_from) if item_code else None
    return render.page(
        request,
        "setup_ssp.html",
        {"row": found, "rows": setup_views.ssp(ctx)},
    )


@router.get("/setup/mappings/{name}/export", include_in_schema=False)
def mapping_export(
    request: Request,
    name: MappingName,
    actor: Viewer,
    upload_type: Annotated[str, Query(max_length=32, pattern=PLAIN_TEXT)] = "",
) -> Response:
    """A mapping (every part, or the part of one upload type) as `revrec mapping export`
    writes it: a setup file of its own."""
    text = mappings.export_mapping(context_of(request, actor), name, upload_type or None)
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", "_".join(v for v in (name, upload_type) if v))
    return PlainTextResponse(
        text,
        media_type="application/yaml",
        headers={"Content-Disposition": f'attachment; filename="mapping_{safe}.yaml"'},
    )


# The admin's forms.


@router.post("/setup/file", include_in_schema=False)
def file_form(request: Request, actor: Admin, file: Annotated[UploadFile, File()]) -> Response:
    name = FilePath(file.filename or "").name[:128] or "the setup file"
    folder = request.app.state.settings.folder("uploads")
    spooled = folder / f"setup-{secrets.token_hex(8)}.yaml"
    try:
        _spool(file, spooled, request.app.state.settings.max_upload_bytes, name)
        counts = setup_views.load_upload(context_of(request, actor), spooled, name)
    finally:
        spooled.unlink(missing_ok=True)
    render.flash(request, f"{name}: loaded " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    return render.back("/setup")


def _spool(upload: UploadFile, path: FilePath, limit: int, name: str) -> None:
    """Copy an upload to a file of the work folder, refusing one larger than the limit."""
    size = 0
    with path.open("wb") as out:
        while chunk := upload.file.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise InputError(f"{name}: the file is larger than {limit} bytes")
            out.write(chunk)
    upload.file.close()


@router.post("/setup/templates", include_in_schema=False)
def template_form(
    request: Request,
    actor: Admin,
    name: Text,
    method: Text,
    convention: Text = "",
    at: Text = "",
    events: Annotated[str, Form(max_length=2000, pattern=PLAIN_TEXT)] = "",
) -> Response:
    done = setup_views.save_template(
        context_of(request, actor),
        name=name,
        method=method,
        convention=convention,
        at=at,
        events=events,
    )
    render.flash(request, f"POB template {name.strip()} {done}")
    return render.back(f"/setup/templates/{quote(name.strip(), safe='')}")


@router.post("/setup/ssp", include_in_schema=False)
def ssp_form(
    request: Request,
    actor: Admin,
    item_code: Text,
    currency: Text,
    ssp: Text = "",
    ssp_percent_of_list: Text = "",
    valid_from: Text = "",
    valid_to: Text = "",
) -> Response:
    done = setup_views.save_ssp(
        context_of(request, actor),
        item_code=item_code,
        currency=currency,
        ssp=ssp,
        ssp_percent_of_list=ssp_percent_of_list,
        valid_from=valid_from,
        valid_to=valid_to,
    )
    shown = " ".join(v.strip() for v in (item_code, currency.upper(), valid_from) if v.strip())
    render.flash(request, f"SSP row {shown} {done}")
    return render.back("/setup#ssp")


@router.post("/setup/users", include_in_schema=False)
def user_add_form(
    request: Request, actor: UserAdmin, name: Text, role: Text, password: Password
) -> Response:
    users.add_user(context_of(request, actor), name, role, password)
    render.flash(request, f"user {name} added ({role})")
    return render.back("/setup#users")


@router.post("/setup/users/{name}/role", include_in_schema=False)
def user_role_form(request: Request, name: UserName, actor: UserAdmin, role: Text) -> Response:
    setup_views.change_user(context_of(request, actor), name, role=role)
    render.flash(request, f"user {name} is {role}")
    return render.back("/setup#users")


@router.post("/setup/users/{name}/active", include_in_schema=False)
def user_active_form(request: Request, name: UserName, actor: UserAdmin, active: Text) -> Response:
    on = active == "true"
    setup_views.change_user(context_of(request, actor), name, active=on)
    render.flash(request, f"user {name} is {'active' if on else 'inactive'}")
    return render.back("/setup#users")


@router.post("/setup/users/{name}/password", include_in_schema=False)
def user_password_form(
    request: Request, name: UserName, actor: UserAdmin, password: Password
) -> Response:
    setup_views.change_user(context_of(request, actor), name, password=password)
    render.flash(request, f"user {name}: password reset")
    return render.back("/setup#users")


@router.post("/setup/users/{name}/tokens", include_in_schema=False)
def user_token_form(
    request: Request, name: UserName, actor: UserAdmin, label: Text = "script"
) -> Response:
    label = label.strip() or "script"
    token = users.make_token(context_of(request, actor), name, label)
    # Shown once, on this answer: neither kept in the session nor cached.
    shown = render.page(request, "setup_token.html", {"name": name, "label": label, "token": token})
    shown.headers["Cache-Control"] = "no-store"
    return shown


# The JSON twins.


@router.get("/api/v1/setup", tags=["setup"])
def setup_api(request: Request, actor: Viewer) -> dict[str, Any]:
    """Every section of the Setup page: books, periods, accounts, templates, ssp, mappings,
    jobs, choices and (for an admin, else null) users."""
    return _page(request, actor)


@router.get("/api/v1/setup/books", tags=["setup"])
def books_api(request: Request, actor: Viewer) -> dict[str, Any]:
    """Every book: name, primary, currency, independent, methods (POB template -> method
    overrides), open_period."""
    return {"rows": setup_views.books(context_of(request, actor))}


@router.get("/api/v1/setup/periods", tags=["setup"])
def periods_api(request: Request, actor: Viewer) -> dict[str, Any]:
    """Every period of every book with its status, as `revrec period status --format json`."""
    return {"rows": periods.status(context_of(request, actor))}


@router.get("/api/v1/setup/accounts", tags=["setup"])
def accounts_api(request: Request, actor: Viewer) -> dict[str, Any]:
    """Every GL code: book (null: every book), scope (default, template, item), applies_to,
    role, gl_code."""
    return {"rows": setup_views.accounts(context_of(request, actor))}


@router.get("/api/v1/setup/templates", tags=["setup"])
def templates_api(request: Request, actor: Viewer) -> dict[str, Any]:
    """Every POB template: name, method, params, events, accounts (role -> GL code)."""
    return {"rows": setup_views.templates(context_of(request, actor))}


@router.get("/api/v1/setup/templates/{name}", tags=["setup"])
def template_api(request: Request, name: TemplateName, actor: Viewer) -> dict[str, Any]:
    """One POB template, as the listing shows it."""
    return setup_views.template(context_of(request, actor), name)


@router.get("/api/v1/setup/ssp", tags=["setup"])
def ssp_api(request: Request, actor: Viewer) -> dict[str, Any]:
    """The SSP table: item_code, currency, ssp (major units) or ssp_percent_of_list,
    valid_from, valid_to."""
    return {"rows": setup_views.ssp(context_of(request, actor))}


@router.get("/api/v1/setup/mappings", tags=["setup"])
def mappings_api(request: Request, actor: Viewer) -> dict[str, Any]:
    """Every mapping part, as `revrec mapping list --format json`, with its attribute_map
    (name, upload_name, required, type per attribute)."""
    return {"rows": setup_views.mapping_rows(context_of(request, actor))}


@router.post("/api/v1/setup", tags=["setup"])
def load_api(
    request: Request,
    actor: Admin,
    document: Annotated[dict[str, Any], Body(examples=[{"ssp": []}])],
) -> dict[str, Any]:
    """Apply a setup document (SPEC §2.1; the keys of `revrec setup load`'s YAML: books,
    accounts, defaults, pob_templates, ssp, contract_policies, jobs, mappings) as JSON: checked
    whole, then loaded; a key left out leaves that part alone, `ssp` replaces the table. Dates
    (valid_from, valid_to) are YYYY-MM-DD text. The counts loaded per section."""
    return {"loaded": setup_views.load_document(context_of(request, actor), document)}


@router.get("/api/v1/users", tags=["users"])
def users_api(request: Request, actor: UserAdmin) -> dict[str, Any]:
    """Every user: name, role, active, created_at and tokens (label, created_at)."""
    return {"rows": setup_views.user_rows(context_of(request, actor))}


@router.post("/api/v1/users", tags=["users"])
def user_add_api(request: Request, body: NewUser, actor: UserAdmin) -> dict[str, Any]:
    """Add a user with a role and a password."""
    users.add_user(context_of(request, actor), body.name, body.role, body.password)
    return {"name": body.name, "role": body.role, "active": True}


@router.patch("/api/v1/users/{name}", tags=["users"])
def user_change_api(
    request: Request, name: UserName, body: UserChange, actor: UserAdmin
) -> dict[str, Any]:
    """Change a user's role, activity or password (an admin cannot deactivate or demote
    themselves)."""
    setup_views.change_user(
        context_of(request, actor),
        name,
        role=body.role,
        password=body.password,
        active=body.active,
    )
    found = [u for u in setup_views.user_rows(context_of(request, actor)) if u["name"] == name]
    return found[0]


@router.post("/api/v1/users/{name}/tokens", tags=["users"])
def token_api(
    request: Request, name: UserName, actor: UserAdmin, body: NewToken | None = None
) -> dict[str, Any]:
    """A new API token for a user, shown once: send it as `Authorization: Bearer <token>`."""
    label = body.label if body is not None else "script"
    token = users.make_token(context_of(request, actor), name, label)
    return {"name": name, "label": label, "token": token}
