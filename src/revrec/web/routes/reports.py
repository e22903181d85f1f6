"""The Reports pages (SPEC §8): the list of reports; each report of a book and period with its
filters (contract, customer, item, POB template, currency, free attribute; the waterfall's rows
`by` and `periods`, the roll-forward's `periods`), its table with a totals row per currency
(`report_files.shown`, the frames the CLI shows), its chart (inline SVG, `web.charts`), every
row linked to its drill-down in the Workbench, and downloads as CSV, XLSX or JSON
(`report_files.write`, as `revrec report NAME --output FILE`); the reconciliation's checks.

The JSON twins: /api/v1/reports, /api/v1/reports/{name} (the document of `revrec report NAME
--format json`) and /api/v1/reports/{name}/download.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse
from starlette.background import BackgroundTask

from revrec.services import journals, periods, report_files, reports
from revrec.services.context import Context
from revrec.web import charts, render
from revrec.web.security import Actor, context_of, need

router = APIRouter()
Viewer = Annotated[Actor, Depends(need("view"))]
TEXT = r"^[^\x00-\x1f\x7f]*$"  # no control characters
ROWS_SHOWN = 200  # rows a report page's table shows at a time; the downloads have every row
# Each report: its title and what it shows (SPEC §8).
REPORTS = {
    "waterfall": (
        "Revenue Waterfall",
        (
            "Per line (or contract, customer, item, template): recognized to date, the next "
            "periods, thereafter, and total_scheduled = allocated - recognized."
        ),
    ),
    "liability": (
        "Liability",
        (
            "Per contract: the deferred revenue balance from opening to closing, and its scheduled "
            "part (§5.1)."
        ),
    ),
    "asset": (
        "Asset",
        (
            "Per contract: the contract asset from opening to closing, and the unbilled remaining "
            "revenue (scheduled)."
        ),
    ),
    "insight": (
        "Revenue Insight",
        (
            "Per contract: value, allocated, billed and recognized to date, deferred, contract "
            "asset, unbilled and the scheduled balance."
        ),
    ),
    "rpo": (
        "RPO",
        (
            "Remaining performance obligations per contract: within 12 months and beyond "
            "(ASC 606-10-50-13)."
        ),
    ),
    "rollforward": (
        "Roll-forward",
        (
            "Deferred revenue and contract asset per period: opening + billings - revenue "
            "± reclass = closing."
        ),
    ),
    "reconcile": (
        "Reconciliation",
        (
            "The Transfer JE checks: the reports' totals against each other and the journal's "
            "account balances against the reports' closing balances."
        ),
    ),
}
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}
GROUPS = Literal["line", "contract", "customer", "item", "template"]

Name = Annotated[
    str, Path(max_length=32, pattern=TEXT, description="waterfall, liability, asset, insight, "
              "rpo, rollforward or reconcile")
]  # fmt: skip
Book = Annotated[str, Query(max_length=64, pattern=TEXT, description="book (default: primary)")]
Period = Annotated[
    str, Query(pattern=r"^(\d{4}-\d{2})?$", description="YYYY-MM (default: the open period)")
]


def _text(description: str) -> Any:
    return Query(max_length=128, pattern=TEXT, description=description)


Contract = Annotated[str, _text("only this contract")]
Customer = Annotated[str, _text("only this customer")]
Item = Annotated[str, _text("only lines of this item code")]
Template = Annotated[str, _text("only lines of this POB template")]
Currency = Annotated[str, Query(max_length=3, pattern=TEXT, description="only this currency")]
Attribute = Annotated[
    str, Query(max_length=256, pattern=TEXT, description="NAME=VALUE: a free attribute")
]
By = Annotated[GROUPS, Query(description="the waterfall's rows")]
Periods = Annotated[
    int, Query(ge=1, le=120, description="periods the waterfall or roll-forward shows")
]
Format = Annotated[
    Literal["csv", "xlsx", "json"], Query(alias="format", description="the file's format")
]


@dataclass(frozen=True)
class Asked:
    """What a report request asks for: its book, period, filters, rows and periods (the form's
    and the query's values; blank: not asked)."""

    book: str
    period: str
    contract: str
    customer: str
    item: str
    template: str
    currency: str
    attribute: str
    by: str
    periods: int

    def filters(self) -> reports.Filters:
        return reports.Filters(
            self.contract or None,
            self.customer or None,
            self.item or None,
            self.template or None,
            self.currency or None,
            reports.Filters.attribute_of(self.attribute or None),
        )

    def query(self, **more: Any) -> str:
        """The query string that asks for it again (only the values given)."""
        values = {**self.__dict__, **more}
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})


def _asked(
    book: Book = "",
    period: Period = "",
    contract: Contract = "",
    customer: Customer = "",
    item: Item = "",
    template: Template = "",
    currency: Currency = "",
    attribute: Attribute = "",
    by: By = "line",
    periods: Periods = 12,
) -> Asked:
    return Asked(book, period, contract, customer, item, template, currency, attribute, by,
                 periods)  # fmt: skip


Report = Annotated[Asked, Depends(_asked)]


def _context(request: Request, actor: Actor, asked: Asked) -> Context:
    return replace(context_of(request, actor), book=asked.book or None)


def _report(ctx: Context, name: str, asked: Asked) -> reports.Report:
    return reports.report(
        ctx,
        name,
        period=asked.period or None,
        filters=asked.filters(),
        by=asked.by,
        periods=asked.periods,
    )


def _document(ctx: Context, name: str, asked: Asked) -> dict[str, Any]:
    """The report's JSON document, as `revrec report NAME --format json` writes it."""
    if name == "reconcile":
        journal, checks = journals.reconciliation(ctx, asked.period or None)
        return {
            "report": "reconcile",
            "book": journal.book,
            "period": journal.period,
            "pass": all(c.passed for c in checks),
            "checks": [c.as_json() for c in checks],
        }
    found = _report(ctx, name, asked)
    rows, totals = report_files.shown(found)
    return report_files.document(found, rows, totals)


def _links(name: str, keys: list[str], book: str, period: str) -> tuple[dict[str, str], str, str]:
    """Where each key column of a row leads, and where its figures lead (URL templates with
    {column} placeholders, the `link` filter's) with the column that link needs: a line to its
    explanation, a contract to the Workbench's contract, a customer, item or template to the
    Workbench's search, a roll-forward period to that period's liability report."""
    at = "?" + urlencode({"book": book, "period": period})
    if name == "rollforward":
        drill = "/reports/liability?" + urlencode({"book": book}) + "&period={period}"
        return {"period": drill}, drill, "period"
    links: dict[str, str] = {}
    figure: tuple[str, str] | None = None
    if "contract_id" in keys:
        links["contract_id"] = "/workbench/contracts/{contract_id}" + at
        figure = (links["contract_id"], "contract_id")
    if "so_line_id" in keys:
        links["so_line_id"] = "/workbench/lines/{so_line_id}" + at
        figure = (links["so_line_id"], "so_line_id")
    searched = {"customer_id": "customer", "item_code": "item", "pob_template": "template"}
    for key, field in searched.items():
        if key in keys:
            links[key] = f"/workbench?{field}={{{key}}}&" + urlencode({"book": book})
            figure = figure or (links[key], key)
    url, key = figure or ("", "")
    return links, url, key


def _page(ctx: Context, name: str, asked: Asked, offset: int = 0) -> dict[str, Any]:
    title, description = REPORTS.get(name, (name, ""))
    common = {
        "name": name,
        "title": title,
        "description": description,
        "reports": [{"name": k, "title": v[0]} for k, v in REPORTS.items()],
        "asked": asked,
        "periods": periods.status(ctx),
    }
    if name == "reconcile":
        return {**common, **_document(ctx, name, asked)}
    found = _report(ctx, name, asked)
    rows, totals = report_files.shown(found)
    document = report_files.document(found, rows, totals)
    keys = [c for c in rows.columns if c not in found.money]
    links, figure, figure_key = _links(name, keys, found.book, found.period)
    offset = min(offset, max(rows.height - 1, 0))
    shown = document["rows"][offset : offset + ROWS_SHOWN]
    if name == "waterfall":
        label = [k for k in keys if k != "currency"][-1]  # so_line_id, customer_id, ...
        made = charts.waterfall(
            document["rows"], label=label, periods=charts.period_columns(found.money)
        )
    elif name == "rollforward":
        made = charts.rollforward(document["rows"])
    else:
        made = []
    return {
        **common,
        "book": found.book,
        "period": found.period,
        "columns": rows.columns,
        "money": found.money,
        "rows": shown,
        "count": rows.height,
        "first": offset + 1,
        "previous": _paged(name, asked, offset - ROWS_SHOWN) if offset > 0 else None,
        "next": (
            _paged(name, asked, offset + ROWS_SHOWN) if offset + ROWS_SHOWN < rows.height else None
        ),
        "totals": document["totals"],
        "links": links,
        "figure_link": figure,
        "figure_key": figure_key,
        "charts": [{"chart": c, "svg": charts.svg(c)} for c in made],
        "downloads": {
            fmt: f"/reports/{quote(name)}/download?" + asked.query(format=fmt) for fmt in MEDIA
        },
    }


def _paged(name: str, asked: Asked, offset: int) -> str:
    """The report page's link to its rows from `offset` on (the same filters)."""
    more = {"offset": offset} if offset > 0 else {}
    return f"/reports/{quote(name)}?" + asked.query(**more)


Offset = Annotated[int, Query(ge=0, le=10**9, description="the first row the table shows")]


@router.get(
    "/reports",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=[Depends(need("view"))],
)
def reports_page(request: Request, book: Book = "") -> HTMLResponse:
    listed = [{"name": k, "title": v[0], "description": v[1]} for k, v in REPORTS.items()]
    query = "?" + urlencode({"book": book}) if book else ""
    return render.page(request, "reports.html", {"reports": listed, "query": query})


@router.get("/reports/{name}", response_class=HTMLResponse, include_in_schema=False)
def report_page(
    request: Request, name: Name, actor: Viewer, asked: Report, offset: Offset = 0
) -> HTMLResponse:
    ctx = _context(request, actor, asked)
    template = "reports_reconcile.html" if name == "reconcile" else "reports_report.html"
    return render.page(request, template, _page(ctx, name, asked, offset))


def _download(request: Request, ctx: Context, name: str, asked: Asked, fmt: str) -> FileResponse:
    """The report written as a file into a folder of its own under the work folder's `reports`,
    sent, then removed (also when writing it fails)."""
    found = _report(ctx, name, asked)
    folder = FilePath(tempfile.mkdtemp(dir=request.app.state.settings.folder("reports")))
    try:
        path = folder / f"{found.name}.{fmt}"
        report_files.write(found, path)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        path,
        media_type=MEDIA[fmt],
        filename=f"{found.name}-{found.book}-{found.period}.{fmt}",
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


@router.get("/reports/{name}/download", include_in_schema=False)
def download_page(
    request: Request, name: Name, actor: Viewer, asked: Report, fmt: Format = "csv"
) -> FileResponse:
    return _download(request, _context(request, actor, asked), name, asked, fmt)


@router.get("/api/v1/reports", tags=["reports"], dependencies=[Depends(need("view"))])
def reports_api() -> dict[str, Any]:
    """The reports: name, title and what each shows."""
    return {"rows": [{"name": k, "title": v[0], "description": v[1]} for k, v in REPORTS.items()]}


@router.get("/api/v1/reports/{name}", tags=["reports"])
def report_api(request: Request, name: Name, actor: Viewer, asked: Report) -> dict[str, Any]:
    """A report of a book at a period's end, as `revrec report NAME --format json`:
    `{"report", "book", "period", "rows", "totals"}` (money in major units, totals per
    currency); `reconcile`: `{"report", "book", "period", "pass", "checks"}`. `by` and `periods`
    apply to the waterfall (`periods` to the roll-forward too)."""
    return _document(_context(request, actor, asked), name, asked)


@router.get(
    "/api/v1/reports/{name}/download",
    tags=["reports"],
    response_class=FileResponse,
    responses={200: {"content": {media: {} for media in MEDIA.values()}}},
)
def download_api(
    request: Request, name: Name, actor: Viewer, asked: Report, fmt: Format = "csv"
) -> FileResponse:
    """The report as a CSV, XLSX or JSON file, as `revrec report NAME --output FILE` writes it
    (not the reconciliation)."""
    return _download(request, _context(request, actor, asked), name, asked, fmt)
