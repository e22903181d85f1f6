"""The reconciliation of a book's journal with the subledger (SPEC §8 "Reconciliation", §6):
what "Approve for Transfer" and the period close require, figure by figure.

The seed's four checks over the reports of the period (`services.reports.basis`, one engine run):
Σ waterfall total_scheduled = Σ liability scheduled + Σ asset scheduled = Σ insight
scheduled_balance, and the journal's account balances equal the reports' closing balances
(deferred revenue, contract asset); then receivables, revenue and contract costs. Each check is
one figure per currency, its two sides and whether they agree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import polars as pl
import sqlalchemy as sa

from revrec.engine import reports as rules
from revrec.money import format_minor
from revrec.services import read_cache, reports
from revrec.services.book_period import Journal
from revrec.store import audit as audit_store
from revrec.store import journals as store
from revrec.store import lines as line_store
from revrec.store import stage as stage_store


@dataclass(frozen=True)
class Check:
    name: str
    currency: str
    left: int
    right: int

    @property
    def passed(self) -> bool:
        return self.left == self.right

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "currency": self.currency,
            "left": format_minor(self.left, self.currency) if self.currency else self.left,
            "right": format_minor(self.right, self.currency) if self.currency else self.right,
            "pass": self.passed,
        }

    def failure(self) -> str:
        shown = self.as_json()
        where = f" ({self.currency})" if self.currency else ""
        return f"{self.name}{where}: {shown['left']} != {shown['right']}"


def checks(
    conn: sa.Connection,
    book: str,
    period: str,
    *,
    read: bool = False,
    figures: pl.DataFrame | None = None,
) -> list[Check]:
    """Every check of a book's journal through `period` (the open period when approving).
    `read`: for a page or listing only, never a step (the checks and the reports' Basis may
    come from `read_cache`). `figures`: the report side, as `figures_of` computes it, kept for
    the same inputs (`approved_figures`), instead of computing it again."""
    if figures is not None:
        return _checks(conn, book, period, figures)
    if read:
        kept = read_cache.cached(
            conn,
            ("checks", book, period),
            lambda: _checks(conn, book, period, figures_of(conn, book, period, read=True)),
        )
        return list(kept)
    return _checks(conn, book, period, figures_of(conn, book, period))


def figures_of(conn: sa.Connection, book: str, period: str, *, read: bool = False) -> pl.DataFrame:
    """The reports' side of the checks: per currency, the figures of `_report_totals` from
    one engine run over the subledger as of the period (`read`: the Basis may be kept)."""
    journal = Journal(book, period)
    data = reports.cached_basis(conn, journal) if read else reports.basis(conn, journal)
    return _report_totals(data)


def figures_json(figures: pl.DataFrame) -> str:
    """The figures as the journal card keeps them (decision 91)."""
    return json.dumps(figures.sort("currency").to_dicts(), separators=(",", ":"))


def approved_figures(conn: sa.Connection, book: str, period: str) -> pl.DataFrame | None:
    """The figures a journal was last approved with, while no audit entry since could have
    changed what the reports read (`audit.basis_mark`: they depend on nothing else); else
    None (decision 91)."""
    kept = store.figures(conn, book, period)
    if kept is None or kept[1] != audit_store.basis_mark(conn):
        return None
    schema = {"currency": pl.String, **dict.fromkeys(FIGURES, pl.Int64)}
    return pl.DataFrame(json.loads(kept[0]), schema=schema)


def _checks(conn: sa.Connection, book: str, period: str, figures: pl.DataFrame) -> list[Check]:
    gl = store.account_balances(conn, book, period)
    found = [
        Check(
            "contracts changed since the last processing run", "", line_store.touched_count(conn), 0
        ),
        Check(
            "stage rows pending", "", stage_store.status_count(conn, "pending", through=period), 0
        ),
        Check("journal lines without a GL code", "", store.missing_gl_codes(conn, book, period), 0),
    ]
    movement = store.totals(conn, book, period)
    found += [
        Check("journal debits = credits", t["currency"], t["debit"], t["credit"]) for t in movement
    ]
    costs = store.cost_totals(conn, book, period)
    for row in figures.sort("currency").iter_rows(named=True):
        cur = row["currency"]
        found += [
            Check("waterfall total_scheduled = liability + asset scheduled", cur,
                  row["total_scheduled"], row["liability_scheduled"] + row["asset_scheduled"]),
            Check("liability + asset scheduled = insight scheduled_balance", cur,
                  row["liability_scheduled"] + row["asset_scheduled"], row["scheduled_balance"]),
            Check("GL deferred_revenue = liability closing_balance", cur,
                  _balance(gl, "deferred_revenue", cur, credit=True), row["liability_closing"]),
            Check("GL contract_asset = asset closing_balance", cur,
                  _balance(gl, "contract_asset", cur), row["asset_closing"]),
            Check("GL accounts_receivable = insight billed_to_date", cur,
                  _balance(gl, "accounts_receivable", cur), row["billed_to_date"]),
            Check("GL revenue = insight recognized_to_date", cur,
                  _balance(gl, "revenue", cur, credit=True), row["recognized_to_date"]),
            Check("GL contract_cost_asset = capitalized - amortized", cur,
                  _balance(gl, "contract_cost_asset", cur),
                  _cost(costs, cur, "capitalize") - _cost(costs, cur, "amortize")),
        ]  # fmt: skip
    return found


FIGURES = (
    "total_scheduled", "liability_scheduled", "liability_closing", "asset_scheduled",
    "asset_closing", "scheduled_balance", "billed_to_date", "recognized_to_date",
)  # fmt: skip


def _report_totals(data: rules.Basis) -> pl.DataFrame:
    """Per currency, the report figures the reconciliation compares (SPEC §8): Σ waterfall
    total_scheduled, Σ liability and asset scheduled and closing balances, and the insight's
    scheduled_balance, billed and recognized to date."""
    parts = [
        rules.waterfall(data).select("currency", "total_scheduled"),
        rules.liability(data).select(
            "currency",
            pl.col("scheduled").alias("liability_scheduled"),
            pl.col("closing_balance").alias("liability_closing"),
        ),
        rules.asset(data).select(
            "currency",
            pl.col("scheduled").alias("asset_scheduled"),
            pl.col("closing_balance").alias("asset_closing"),
        ),
        rules.insight(data).select(
            "currency", "scheduled_balance", "billed_to_date", "recognized_to_date"
        ),
    ]
    per_currency = [part.group_by("currency").agg(pl.all().sum()) for part in parts]
    joined = per_currency[0]
    for part in per_currency[1:]:
        joined = joined.join(part, on="currency", how="full", coalesce=True)
    return joined.fill_null(0).select("currency", *FIGURES)


def _balance(gl: pl.DataFrame, account: str, currency: str, *, credit: bool = False) -> int:
    rows = gl.filter((pl.col("account") == account) & (pl.col("currency") == currency))
    net = int(rows["balance"].sum())
    return -net if credit else net


def _cost(costs: pl.DataFrame, currency: str, kind: str) -> int:
    rows = costs.filter((pl.col("currency") == currency) & (pl.col("kind") == kind))
    return int(rows["amount"].sum())
