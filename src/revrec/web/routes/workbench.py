"""The Revenue Workbench (SPEC §11.2): find contracts (by id, customer or any text of their
lines, paged); a contract's lines with their allocation, its schedule by period, versions,
events, billings, costs, journal lines and §5.1 balances (`services.workbench.contract`); a
line's explanation (`services.explain`, as `revrec explain LINE_ID`). Every report figure
drills down to one of these pages.

The JSON twins: /api/v1/workbench/contracts, /api/v1/workbench/contracts/{contract_id} and
/api/v1/lines/{line_id}/explain (the document of `revrec explain LINE_ID --format json`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse

from revrec.services import explain, workbench
from revrec.services.context import Context
from revrec.web import render
from revrec.web.security import Actor, context_of, need

router = APIRouter()
Viewer = Annotated[Actor, Depends(need("view"))]
TEXT = r"^[^\x00-\x1f\x7f]*$"  # no control characters

Book = Annotated[str, Query(max_length=64, pattern=TEXT, description="book (default: primary)")]
Period = Annotated[
    str, Query(pattern=r"^(\d{4}-\d{2})?$", description="YYYY-MM (default: the open period)")
]
Text = Annotated[
    str,
    Query(max_length=workbench.MAX_TEXT, pattern=TEXT, description="text in the contract id, "
          "customer, or a line's id, item code, POB template or free attributes (any case)"),
]  # fmt: skip
Customer = Annotated[str, Query(max_length=128, pattern=TEXT, description="exactly this customer")]
Item = Annotated[str, Query(max_length=128, pattern=TEXT, description="a line of this item code")]
Template = Annotated[
    str, Query(max_length=128, pattern=TEXT, description="a line of this POB template")
]
Limit = Annotated[int, Query(ge=1, le=workbench.MAX_PAGE, description="contracts a page shows")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="contracts skipped")]
ContractId = Annotated[str, Path(min_length=1, max_length=128, pattern=TEXT)]
LineId = Annotated[str, Path(min_length=1, max_length=128, pattern=TEXT)]
# A line's explanation, section by section: its key, heading and what it shows.
SECTIONS = (
    (
        "versions",
        "Versions",
        (
            "The line's versions; catch_up: what the period processed posted beyond its schedule; "
            "kept and remainder: a prospective change's split."
        ),
    ),
    (
        "changes",
        "Changes",
        "The periods in which the contract's lines changed, and this line at their end.",
    ),
    ("segments", "Segments", "What the schedule adds up (a prospective change adds a segment)."),
    (
        "curve",
        "Schedule curve",
        (
            "cumulative = round_half_even(total x elapsed / length); amount = the difference from "
            "the period before (SPEC §1)."
        ),
    ),
    ("events", "Events and holds", "Releases, holds and the other actions (SPEC §5.2)."),
    (
        "periods",
        "Scheduled and posted",
        "The schedule beside what the book posted (difference = posted - scheduled).",
    ),
    ("billings", "Billings", "The contract's billings."),
)
MONEY = (
    "amount", "allocated", "catch_up", "kept", "remainder", "total", "cumulative", "scheduled",
    "before_actions", "posted", "posted_to_date", "difference", "ssp_unit", "ssp", "exact",
    "floor", "extra", "list_price", "billed", "recognized", "open_period", "debit", "credit",
)  # fmt: skip


def _context(request: Request, actor: Actor, book: str) -> Context:
    return replace(context_of(request, actor), book=book or None)


@dataclass(frozen=True)
class Search:
    """What a contract search asks for (the page's form and the API's query; blank: not
    asked)."""

    book: str
    q: str
    customer: str
    item: str
    template: str
    limit: int
    offset: int

    def found(self, request: Request, actor: Actor) -> dict[str, Any]:
        return workbench.search(
            _context(request, actor, self.book),
            self.q or None,
            customer=self.customer or None,
            item=self.item or None,
            template=self.template or None,
            limit=self.limit,
            offset=self.offset,
        )

    def page_link(self, offset: int) -> str:
        """The page of the same search from `offset` on."""
        asked = {"book": self.book, "q": self.q, "customer": self.customer, "item": self.item,
                 "template": self.template}  # fmt: skip
        shown = {k: v for k, v in asked.items() if v}
        return "/workbench?" + urlencode({**shown, "limit": self.limit, "offset": offset})


def _search(
    book: Book = "",
    q: Text = "",
    customer: Customer = "",
    item: Item = "",
    template: Template = "",
    limit: Limit = workbench.PAGE,
    offset: Offset = 0,
) -> Search:
    return Search(book, q, customer, item, template, limit, offset)


Searched = Annotated[Search, Depends(_search)]


@router.get("/workbench", response_class=HTMLResponse, include_in_schema=False)
def workbench_page(request: Request, actor: Viewer, asked: Searched) -> HTMLResponse:
    found = asked.found(request, actor)
    pages = {
        side: asked.page_link(offset)
        for side, offset in (("previous", found["previous_offset"]), ("next", found["next_offset"]))
        if offset is not None
    }
    book = asked.book
    at = "?" + urlencode({"book": book}) if book else ""
    return render.page(request, "workbench.html", {**found, "book": book, "pages": pages, "at": at})


@router.get(
    "/workbench/contracts/{contract_id:path}", response_class=HTMLResponse, include_in_schema=False
)
def contract_page(
    request: Request, contract_id: ContractId, actor: Viewer, book: Book = "", period: Period = ""
) -> HTMLResponse:
    found = workbench.contract(_context(request, actor, book), contract_id, period=period or None)
    at = "?" + urlencode({"book": found["book"], "period": found["period"]})
    return render.page(request, "workbench_contract.html", {**found, "at": at, "money": MONEY})


@router.get("/workbench/lines/{line_id:path}", response_class=HTMLResponse, include_in_schema=False)
def line_page(
    request: Request, line_id: LineId, actor: Viewer, book: Book = "", period: Period = ""
) -> HTMLResponse:
    found = explain.explain(_context(request, actor, book), line_id, period=period or None)
    at = "?" + urlencode({"book": found["book"], "period": found["period"]})
    data = {
        **found,
        "at": at,
        "money": MONEY,
        "sections": SECTIONS,
        "balance_rules": explain.BALANCE_RULES,
    }
    return render.page(request, "workbench_line.html", data)


@router.get("/api/v1/workbench/contracts", tags=["workbench"])
def contracts_api(request: Request, actor: Viewer, asked: Searched) -> dict[str, Any]:
    """Contracts whose id or customer contains `q` (any case), or one of whose lines has it in
    its id, item code, POB template or free attributes; `customer`, `item`, `template` match
    exactly. By contract_id, paged: `{"q", "count", "limit", "offset", "previous_offset",
    "next_offset", "rows": [{contract_id, customer_id, currency, billing_driven, lines}]}`."""
    return asked.found(request, actor)


@router.get("/api/v1/workbench/contracts/{contract_id:path}", tags=["workbench"])
def contract_api(
    request: Request, contract_id: ContractId, actor: Viewer, book: Book = "", period: Period = ""
) -> dict[str, Any]:
    """A contract in a book at a period's end: its facts, lines (with SSP, share and
    allocation), allocation, schedule (the waterfall of its lines), versions, events,
    billings, costs, journal lines and §5.1 balances; money in major units."""
    return workbench.contract(_context(request, actor, book), contract_id, period=period or None)


@router.get("/api/v1/lines/{line_id:path}/explain", tags=["workbench"])
def explain_api(
    request: Request, line_id: LineId, actor: Viewer, book: Book = "", period: Period = ""
) -> dict[str, Any]:
    """How a line's figures came about at a period's end (default the open one), as `revrec
    explain LINE_ID --format json`: the allocation, versions, changes, segments, schedule
    curve, events, scheduled and posted per period, billings, §5.1 balances and notes."""
    return explain.explain(_context(request, actor, book), line_id, period=period or None)
