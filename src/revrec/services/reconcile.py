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
from typing import Any

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
    ledger: Ledger | None = None,
) -> list[Check]:
    """Every check of a book's journal through `period` (the open period when approving).
    `read`: for a page or listing only, never a step (the checks and the reports' Basis may
    come from `read_cache`). `figures`: the report side, as `figures_of` computes it, kept for
    the same inputs (`approved_figures`), instead of computing it again. `ledger`: the GL side,
    as `ledger_of` computes it; else the one kept at approve while the journal's lines cannot
    have changed (`kept_ledger`), else read afresh."""
    if figures is not None:
        return _checks(conn, book, period, figures, ledger)
    if read:
        kept = read_cache.cached(
            conn,
            ("checks", book, period),
            lambda: _checks(conn, book, period, figures_of(conn, book, period, read=True), ledger),
        )
        return list(kept)
    return _checks(conn, book, period, figures_of(conn, book, period), ledger)


def figures_of(conn: sa.Connection, book: str, period: str, *, read: bool = False) -> pl.DataFrame:
    """The reports' side of the checks: per currency, the figures of `_report_totals` from
    one engine run over the subledger as of the period (`read`: the Basis may be kept)."""
    journal = Journal(book, period)
    data = reports.cached_basis(conn, journal) if read else reports.basis(conn, journal)
    return _report_totals(data)


def figures_json(figures: pl.DataFrame, ledger: Ledger | None = None) -> str:
    """What the journal card keeps at approve (decisions 91 and 94): the report figures
    (`report`) and the GL side (`gl`: the account balances, the period's totals per currency and
    the lines without a GL code)."""
    document: dict[str, Any] = {"report": figures.sort("currency").to_dicts()}
    if ledger is not None:
        document["gl"] = {
            "balances": ledger.balances.select(*BALANCE_SCHEMA).to_dicts(),
            "totals": ledger.totals,
            "missing": ledger.missing,
        }
    return json.dumps(document, separators=(",", ":"))


def _kept(conn: sa.Connection, book: str, period: str) -> tuple[dict[str, Any], int] | None:
    """The document `figures_json` kept on the journal card and its basis mark, if any (a list:
    the report figures alone, as approve kept them before decision 94)."""
    kept = store.figures(conn, book, period)
    if kept is None:
        return None
    document = json.loads(kept[0])
    return (document if isinstance(document, dict) else {"report": document}), kept[1]


def approved_figures(conn: sa.Connection, book: str, period: str) -> pl.DataFrame | None:
    """The figures a journal was last approved with, while no audit entry since could have
    changed what the reports read (`audit.basis_mark`: they depend on nothing else); else
    None (decision 91)."""
    kept = _kept(conn, book, period)
    if kept is None or kept[1] != audit_store.basis_mark(conn):
        return None
    schema = {"currency": pl.String, **dict.fromkeys(FIGURES, pl.Int64)}
    return pl.DataFrame(kept[0]["report"], schema=schema)


@dataclass(frozen=True, eq=False)
class Ledger:
    """The GL side of the checks: the account balances through the period (BALANCE_SCHEMA:
    the period's debit and credit and the balance per account, GL code and currency), the
    period's debit, credit and line count per currency (`store.totals`) and how many lines
    through the period have no GL code."""

    balances: pl.DataFrame
    totals: list[dict[str, Any]]
    missing: int


BALANCE_SCHEMA = {
    "account": pl.String, "gl_code": pl.String, "currency": pl.String,
    "debit": pl.Int64, "credit": pl.Int64, "balance": pl.Int64,
}  # fmt: skip


def ledger_of(conn: sa.Connection, book: str, period: str) -> Ledger:
    """The GL side read afresh: from one pass over the lines after the last trial balance
    stored (`store.ledger`)."""
    return Ledger(*store.ledger(conn, book, period))


def kept_ledger(conn: sa.Connection, book: str, period: str) -> Ledger | None:
    """The GL side approve computed, while the journal's lines cannot have changed since: the
    journal is approved or further (no processing run writes a book's lines then; a revoke to
    draft drops it, decision 94). Summarized, the balances and the period's debits and credits
    are the stored trial balance's (the same figures: summarize stored these balances); the
    currencies with lines, their line counts and the lines without a GL code are approve's.
    None for a draft, or a journal approved before decision 94: read it afresh."""
    state = store.card(conn, book, period)["state"]
    kept = None if state == store.DRAFT else _kept(conn, book, period)
    if kept is None or kept[0].get("gl") is None:
        return None
    gl = kept[0]["gl"]
    totals = [dict(t) for t in gl["totals"]]
    if state != "summarized":
        balances = pl.DataFrame(gl["balances"], schema=BALANCE_SCHEMA)
        return Ledger(balances, totals, int(gl["missing"]))
    balances = store.balances(conn, book, period)
    moved = {
        str(r["currency"]): r
        for r in balances.group_by("currency").agg(pl.col("debit", "credit").sum()).to_dicts()
    }
    for total in totals:
        found = moved.get(total["currency"], {})
        total.update(debit=int(found.get("debit") or 0), credit=int(found.get("credit") or 0))
    return Ledger(balances, totals, int(gl["missing"]))


def forget_ledger(conn: sa.Connection, book: str, period: str) -> None:
    """Drop the GL side kept at approve (its lines may change again: a revoke to draft); the
    report figures stay, kept by their basis mark."""
    kept = _kept(conn, book, period)
    if kept is not None and kept[0].pop("gl", None) is not None:
        store.save_figures(conn, book, period, kept[1], json.dumps(kept[0], separators=(",", ":")))


def _checks(
    conn: sa.Connection, book: str, period: str, figures: pl.DataFrame, ledger: Ledger | None
) -> list[Check]:
    if ledger is None:
        ledger = kept_ledger(conn, book, period) or ledger_of(conn, book, period)
    gl = ledger.balances
    found = [
        Check(
            "contracts changed since the last processing run", "", line_store.touched_count(conn), 0
        ),
        Check(
            "stage rows pending", "", stage_store.status_count(conn, "pending", through=period), 0
        ),
        Check("journal lines without a GL code", "", ledger.missing, 0),
    ]
    found += [
        Check("journal debits = credits", t["currency"], t["debit"], t["credit"])
        for t in ledger.totals
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
        # total_scheduled (T - R) is the same whatever the month columns: one is enough.
        rules.waterfall(data, periods=1).select("currency", "total_scheduled"),
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
