"""The benchmark: generate N realistic sales-order lines as CSV, then time reading the file and
the engine on it, in one run, so the ratio engine / read_csv is a property of this machine.

Writes only into the folder it is given.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import polars as pl

from revrec.engine import journals
from revrec.engine.allocation import allocate
from revrec.engine.schedules import schedule
from revrec.imports.sales_orders import to_lines
from revrec.imports.templates import template_frame

if TYPE_CHECKING:
    from revrec.services.context import Context

T = TypeVar("T")
USER = "bench"  # who acts in the audit log of the bench's own store
CURRENCIES = ("USD", "EUR", "GBP", "JPY", "KWD")
EXPONENTS = (2, 2, 2, 0, 3)
TEMPLATES = (
    "ratable_daily",
    "monthly_prorate",
    "monthly_full",
    "monthly_mid",
    "license_pit",
    "delivery_end",
    "milestone_evt",
)


@dataclass
class BenchResult:
    lines: int
    read_csv_s: float
    stages: dict[str, float] = field(default_factory=dict)
    schedule_rows: int = 0
    peak_rss_mb: float = 0.0

    @property
    def ratios(self) -> dict[str, float]:
        return {name: seconds / self.read_csv_s for name, seconds in self.stages.items()}

    def as_json(self) -> dict[str, object]:
        return {
            "lines": self.lines,
            "read_csv_s": round(self.read_csv_s, 6),
            "stages": {k: round(v, 6) for k, v in self.stages.items()},
            "ratios": {k: round(v, 3) for k, v in self.ratios.items()},
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "schedule_rows": self.schedule_rows,
            "lines_per_s": round(self.lines / sum(self.stages.values())),
        }


def _rand(seed: int, modulo: int) -> pl.Expr:
    """A deterministic pseudo-random integer in [0, modulo) per row."""
    return (pl.int_range(pl.len(), dtype=pl.UInt64).hash(seed) % modulo).cast(pl.Int64)


def generate_sales_orders(n: int) -> pl.DataFrame:
    """N sales-order lines in the `revrec` upload names: 1-6 lines a contract, 1-36 month terms,
    mixed templates and currencies; amounts as major-unit strings with the currency's decimals."""
    frame = pl.DataFrame({"i": pl.int_range(n, dtype=pl.Int64, eager=True)})
    frame = frame.with_columns((pl.col("i") // 3 + _rand(2, 2)).alias("k")).with_columns(
        # A contract has one currency: take it from the contract number.
        (pl.col("k") % len(CURRENCIES)).alias("c"),
        _rand(3, len(TEMPLATES)).alias("t"),
        (pl.date(2023, 1, 1) + pl.duration(days=_rand(4, 1095))).alias("start"),
        (_rand(5, 36) + 1).alias("months"),
        (_rand(6, 5_000_000) + 100).alias("units"),
        (_rand(7, 3) + 1).alias("qty"),
        _rand(8, 4).alias("has_ssp"),
    )
    digits = pl.col("c").replace_strict(list(range(len(CURRENCIES))), list(EXPONENTS))
    whole = pl.col("units") // pl.lit(10).pow(digits)
    frac = (pl.col("units") % pl.lit(10).pow(digits)).cast(pl.String).str.pad_start(3, "0")
    amount = (
        pl.when(digits == 0)
        .then(whole.cast(pl.String))
        .otherwise(pl.format("{}.{}", whole, frac.str.slice(pl.lit(3) - digits)))
    )
    ssp_units = pl.col("units") * (90 + _rand(9, 20)) // 100
    ssp = pl.when(pl.col("has_ssp") > 0).then(
        pl.when(digits == 0)
        .then((ssp_units // 1).cast(pl.String))
        .otherwise(
            pl.format(
                "{}.{}",
                ssp_units // pl.lit(10).pow(digits),
                (ssp_units % pl.lit(10).pow(digits))
                .cast(pl.String)
                .str.pad_start(3, "0")
                .str.slice(pl.lit(3) - digits),
            )
        )
    )
    end = pl.col("start").dt.offset_by(pl.format("{}mo", pl.col("months"))) - pl.duration(days=1)
    return frame.select(
        pl.format("C{}", pl.col("k")).alias("contract_id"),
        pl.format("CUST{}", pl.col("k") // 4).alias("customer_id"),
        pl.format("SO{}", pl.col("k")).alias("so_number"),
        pl.format("L{}", pl.col("i")).alias("so_line_id"),
        pl.col("start").dt.to_string("%Y-%m-%d").alias("order_date"),
        pl.format("ITEM{}", pl.col("t")).alias("item_code"),
        pl.col("t")
        .replace_strict(list(range(len(TEMPLATES))), list(TEMPLATES))
        .alias("pob_template"),
        amount.alias("amount"),
        pl.col("c")
        .replace_strict(list(range(len(CURRENCIES))), list(CURRENCIES))
        .alias("currency"),
        pl.col("start").dt.to_string("%Y-%m-%d").alias("service_start_date"),
        end.dt.to_string("%Y-%m-%d").alias("service_end_date"),
        pl.col("qty").cast(pl.String).alias("quantity"),
        ssp.alias("ssp"),
    )


def milestone_events(lines: pl.DataFrame) -> pl.DataFrame:
    """One or two milestone events for each event-based line (half, then the rest)."""
    evt = lines.filter(pl.col("method") == "event").select("line_id", "start", "end")
    first = evt.select(
        "line_id",
        (pl.col("start") + pl.duration(days=30)).alias("event_date"),
        pl.lit(0).alias("seq"),
        pl.lit("cumulative_percent").alias("kind"),
        pl.lit(50_000_000, dtype=pl.Int64).alias("value_micro"),
    )
    second = evt.select(
        "line_id",
        pl.col("end").alias("event_date"),
        pl.lit(1).alias("seq"),
        pl.lit("percent").alias("kind"),
        pl.lit(50_000_000, dtype=pl.Int64).alias("value_micro"),
    )
    return pl.concat([first, second])


def _timed(stages: dict[str, float], name: str, work: Callable[[], T]) -> T:
    began = time.perf_counter()
    result = work()
    stages[name] = time.perf_counter() - began
    return result


def _read_csv(stages: dict[str, float], path: Path) -> pl.DataFrame:
    """`read_csv` of the file, the fastest of three reads (the first one in a process also
    starts Polars' threads and may find the file out of the page cache): every ratio is then
    to the best this machine does."""
    found = pl.DataFrame()
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        found = pl.read_csv(path, infer_schema=False)
        best = min(best, time.perf_counter() - began)
    stages["read_csv"] = best
    return found


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def run(n: int, folder: Path, progress: Callable[[str], None] = lambda _: None) -> BenchResult:
    """Generate the file in `folder`, then time read_csv, prepare and the engine."""
    path = folder / f"sales_orders_{n}.csv"
    if not path.exists():
        progress(f"generating {n:,} lines -> {path}")
        generate_sales_orders(n).write_csv(path)
    progress("reading the CSV")
    stages: dict[str, float] = {}
    raw = _read_csv(stages, path)
    progress("validating and converting to engine lines")
    templates = template_frame()
    lines, errors = _timed(stages, "prepare", lambda: to_lines(raw, templates))
    if errors.height:
        msg = f"generated data has {errors.height} row errors: {errors.head(3)}"
        raise RuntimeError(msg)
    progress("allocating and scheduling")
    began = time.perf_counter()
    allocated, _ = allocate(lines)
    segments = allocated.select(
        "line_id", pl.col("allocated").alias("total"), "method", "convention", "at", "start", "end"
    )
    events = milestone_events(allocated)
    rows, _ = schedule(segments, events=events)
    stages["engine"] = time.perf_counter() - began
    progress("writing the busiest month's journal")
    _timed(stages, "journals", lambda: busiest_journal(allocated, rows))
    read_s = stages.pop("read_csv")
    return BenchResult(
        lines=lines.height,
        read_csv_s=read_s,
        stages=stages,
        schedule_rows=rows.height,
        peak_rss_mb=_peak_rss_mb(),
    )


def busiest_journal(allocated: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    """The journal of the month with the most schedule rows, as if every line were invoiced in
    full that month (one INV per line, 1M billing entries for 1M lines), with that month's
    revenue and each contract's reclass."""
    period = rows.group_by("period").len().sort("len", "period", descending=True)["period"][0]
    keys = allocated.select("line_id", "contract_id", "currency", "item_code", "pob_template")
    revenue = rows.filter(pl.col("period") == period).join(keys, on="line_id", how="inner")
    billings = allocated.select(
        pl.col("line_id").alias("doc_line_id"), pl.lit("INV").alias("doc_type"), "line_id",
        "contract_id", "currency", "item_code", "pob_template", pl.col("allocated").alias("amount"),
    )  # fmt: skip
    signed = pl.concat(
        [
            revenue.select("contract_id", "currency", "amount"),
            billings.select("contract_id", "currency", (-pl.col("amount")).alias("amount")),
        ]
    )
    reclass = (
        signed.group_by("contract_id", "currency")
        .agg(pl.col("amount").sum())
        .select(
            "contract_id",
            "currency",
            pl.lit(0, dtype=pl.Int64).alias("asset_before"),
            pl.max_horizontal("amount", pl.lit(0, dtype=pl.Int64)).alias("asset_after"),
        )
    )
    accounts = pl.DataFrame(
        [("", "default", "", role, code) for role, code in
         (("accounts_receivable", "1200"), ("deferred_revenue", "2400"),
          ("contract_asset", "1300"), ("revenue", "4000"))],
        schema=journals.ACCOUNT_SCHEMA, orient="row",
    )  # fmt: skip
    return journals.journal_lines(
        book="PRIMARY", period=period, billings=billings, revenue=revenue, reclass=reclass,
        costs=pl.DataFrame(schema=journals.COSTS_SCHEMA), accounts=accounts,
    )  # fmt: skip


RECURLY_HEADS = (
    "invoice_number", "invoice_date", "invoice_state", "account_code", "accounting_code",
    "line_item_id", "line_item_start_date", "line_item_end_date", "origin", "total_amount",
    "currency", "schedule_type", "invoice_origin",
)  # fmt: skip


def generate_recurly_billings(n: int, first_day: str = "2024-03-01") -> pl.DataFrame:
    """N Recurly-style invoice lines of one month: plans billed evenly over 1-12 months,
    one-time charges at range start, and about 1 in 20 lines a credit (negative total)."""
    frame = pl.DataFrame({"i": pl.int_range(n, dtype=pl.Int64, eager=True)})
    start = pl.lit(first_day).str.to_date() + pl.duration(days=_rand(11, 28))
    kind = _rand(12, 20)
    frame = frame.with_columns(
        start.alias("start"),
        (_rand(13, 12) + 1).alias("months"),
        (_rand(14, 200_000) + 100).alias("cents"),
        kind.alias("kind"),
    )
    end = pl.col("start").dt.offset_by(pl.format("{}mo", pl.col("months")))
    credit = pl.col("kind") == 0
    one_time = pl.col("kind") == 1
    cents = pl.when(credit).then(-pl.col("cents")).otherwise(pl.col("cents"))
    amount = pl.format(
        "{}{}.{}",
        pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        cents.abs() // 100,
        (cents.abs() % 100).cast(pl.String).str.pad_start(2, "0"),
    )
    return frame.select(
        pl.format("{}", 100_000 + pl.col("i") // 3).alias("invoice_number"),
        pl.col("start").dt.to_string("%Y-%m-%d 00:00:00 UTC").alias("invoice_date"),
        pl.lit("paid").alias("invoice_state"),
        pl.format("ACCT{}", pl.col("i") // 7).alias("account_code"),
        pl.lit("plan_fee").alias("accounting_code"),
        pl.format("li{}", pl.col("i")).alias("line_item_id"),
        pl.col("start").dt.to_string("%Y-%m-%d 00:00:00 UTC").alias("line_item_start_date"),
        pl.when(one_time).then(None).otherwise(end.dt.to_string("%Y-%m-%d 00:00:00 UTC"))
        .alias("line_item_end_date"),
        pl.when(credit).then(pl.lit("credit")).when(one_time).then(pl.lit("charge"))
        .otherwise(pl.lit("plan")).alias("origin"),
        amount.alias("total_amount"),
        pl.lit("USD").alias("currency"),
        pl.when(one_time).then(pl.lit("at_range_start")).otherwise(pl.lit("evenly"))
        .alias("schedule_type"),
        pl.when(credit).then(pl.lit("refund")).otherwise(pl.lit("purchase"))
        .alias("invoice_origin"),
    )  # fmt: skip


def run_store(
    ctx: Context, n: int, folder: Path, progress: Callable[[str], None] = lambda _: None
) -> BenchResult:
    """Import + process of N Recurly-style billing lines into a fresh store (the Context's
    database, created here), beside read_csv of the same file. Every step carries the
    Context's `now`; the store's audit log names the bench as who acted."""
    from revrec.services import process  # noqa: PLC0415
    from revrec.services import setup as setup_service  # noqa: PLC0415
    from revrec.services.imports import import_file  # noqa: PLC0415
    from revrec.store import db  # noqa: PLC0415

    ctx = replace(ctx, user=USER)
    path = folder / f"recurly_{n}.csv"
    if not path.exists():
        progress(f"generating {n:,} billing lines -> {path}")
        generate_recurly_billings(n).write_csv(path)
    stages: dict[str, float] = {}
    _read_csv(stages, path)
    db.migrate(ctx.engine)
    with ctx.engine.begin() as conn:
        setup_service.init(conn, first_period="2024-03", currency="USD", user=ctx.user,
                           now=ctx.now)  # fmt: skip
    progress("importing")
    began = time.perf_counter()
    with ctx.engine.begin() as conn:
        summary = import_file(conn, path, "billing", mapping_name="recurly", user=ctx.user,
                              now=ctx.now)  # fmt: skip
    stages["import"] = time.perf_counter() - began
    if summary.error:
        msg = f"generated billings have {summary.error} row errors: {summary.errors[:3]}"
        raise RuntimeError(msg)
    progress("processing")
    began = time.perf_counter()
    process.run(ctx)
    stages["process"] = time.perf_counter() - began
    progress("legacy export")
    _timed(stages, "legacy_export", lambda: _legacy_export(ctx, folder))
    progress("waterfall")
    _waterfall(ctx, stages)
    _month_end(ctx, folder, stages, progress)
    ctx.engine.dispose()
    return BenchResult(lines=n, read_csv_s=stages.pop("read_csv"), stages=stages,
                       peak_rss_mb=_peak_rss_mb())  # fmt: skip


def _legacy_export(ctx: Context, folder: Path) -> int:
    """The legacy schedules export of every billing line, as CSV (SPEC §10)."""
    from revrec.services import legacy_export  # noqa: PLC0415

    path = folder / "legacy_schedules.csv"
    return legacy_export.export(ctx, legacy_export.Request(), output=path)


def _waterfall(ctx: Context, stages: dict[str, float]) -> None:
    """The Revenue Waterfall of the open period over every line: `report_basis` (reading the
    subledger and the engine run the reports share), `waterfall` (the report's frame function)
    and `waterfall_report` (the whole service call, as `revrec report waterfall` makes it)."""
    from revrec.engine import reports as rules  # noqa: PLC0415
    from revrec.services import reports  # noqa: PLC0415
    from revrec.services.book_period import book_period  # noqa: PLC0415

    with ctx.engine.connect() as conn:
        journal = book_period(conn, ctx, None)
        data = _timed(stages, "report_basis", lambda: reports.basis(conn, journal))
    _timed(stages, "waterfall", lambda: rules.waterfall(data))
    _timed(stages, "waterfall_report", lambda: reports.report(ctx, "waterfall"))


def _month_end(
    ctx: Context,
    folder: Path,
    stages: dict[str, float],
    progress: Callable[[str], None],
) -> None:
    """Approve, transfer, summarize and close the processed period (the close includes the
    new period's processing run over every line)."""
    from revrec.services import close, journals  # noqa: PLC0415

    steps: list[tuple[str, Callable[[], object]]] = [
        ("approve", lambda: journals.approve(ctx)),
        ("transfer", lambda: journals.transfer(ctx, folder=folder / "gl-export")),
        ("summarize", lambda: journals.summarize(ctx)),
        ("close", lambda: close.close(ctx)),
    ]
    for name, step in steps:
        progress(name)
        _timed(stages, name, step)
