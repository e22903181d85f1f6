"""One pure run of the revenue engine over any set of contracts: the seam processing (and a
cluster) partitions on. Contracts are independent: a run over all of them equals the union of
runs over any split of them into parts.

Pure: frames in, frames out; no I/O, clock, database or threads of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from revrec.engine import costs as cost_rules
from revrec.engine import journals, methods, month_end
from revrec.engine.allocation import allocate
from revrec.engine.balances import BALANCE_COLUMNS, balances
from revrec.engine.frames import ascending, joined, summed
from revrec.engine.modifications import SEGMENT_SCHEMA, prospective_chain
from revrec.engine.schedules import apply_actions, schedule
from revrec.vocab import POLICIES

# Every version of every line of the contracts in the run.
LINE_SCHEMA = {
    "line_id": pl.String,
    "version": pl.Int64,
    "contract_id": pl.String,
    "currency": pl.String,
    "billing_driven": pl.Boolean,
    "line_no": pl.Int64,
    "item_code": pl.String,
    "pob_template": pl.String,  # null: recognized by its schedule_type (billing-driven)
    "schedule_type": pl.String,
    "amount": pl.Int64,
    "quantity_micro": pl.Int64,
    "ssp_unit": pl.Int64,
    "exclude": pl.Boolean,
    "residual": pl.Boolean,
    "start": pl.Date,
    "end": pl.Date,  # exclusive
    "effective_date": pl.Date,
    "modification_policy": pl.String,  # the line's own, null: the contract's or the default
}
ALLOCATION_SCHEMA = {"line_id": pl.String, "version": pl.Int64, "allocated": pl.Int64}
BILLING_SCHEMA = {"line_id": pl.String, "doc_date": pl.Date, "amount": pl.Int64}
# A billing's document columns for its journal lines; when absent: the doc date's month, INV or
# CM by sign, and an id made of the line, date and amount.
BILLING_DOC_SCHEMA = {"doc_line_id": pl.String, "doc_type": pl.String, "period": pl.Int64}
EVENT_SCHEMA = {
    "line_id": pl.String,
    "event_date": pl.Date,
    "seq": pl.Int64,
    "action": pl.String,
    "kind": pl.String,
    "value_micro": pl.Int64,
}
POSTING_SCHEMA = {"book": pl.String, "line_id": pl.String, "period": pl.Int64, "amount": pl.Int64}
BOOK_SCHEMA = {"book": pl.String, "open_period": pl.Int64}
OVERRIDE_SCHEMA = {"book": pl.String, "pob_template": pl.String, "method": pl.String}
POLICY_SCHEMA = {"contract_id": pl.String, "policy": pl.String}
FINDING_SCHEMA = {
    "book": pl.String,
    "contract_id": pl.String,
    "line_id": pl.String,
    "message": pl.String,
}
BALANCE_KEYS = {"book": pl.String, "contract_id": pl.String, "currency": pl.String}


@dataclass(frozen=True)
class Inputs:
    """What the engine reads; periods are month indexes (calendar.parse_period)."""

    lines: pl.DataFrame  # LINE_SCHEMA
    billings: pl.DataFrame  # BILLING_SCHEMA: signed amounts
    events: pl.DataFrame  # EVENT_SCHEMA: releases and actions
    stored_allocations: pl.DataFrame  # ALLOCATION_SCHEMA: earlier versions' allocations
    posted: pl.DataFrame  # POSTING_SCHEMA: what was posted to closed periods
    books: pl.DataFrame  # BOOK_SCHEMA: each book's open period
    overrides: pl.DataFrame  # OVERRIDE_SCHEMA: book method overrides
    templates: pl.DataFrame  # methods.TEMPLATE_SCHEMA
    policies: pl.DataFrame  # POLICY_SCHEMA: contract modification policies
    default_policy: str = POLICIES[0]
    costs: pl.DataFrame = field(  # costs.COST_SCHEMA: the contracts' costs
        default_factory=lambda: pl.DataFrame(schema=cost_rules.COST_SCHEMA)
    )
    posted_costs: pl.DataFrame = field(  # costs.COST_POSTING_SCHEMA of closed periods
        default_factory=lambda: pl.DataFrame(schema=cost_rules.COST_POSTING_SCHEMA)
    )
    accounts: pl.DataFrame = field(  # journals.ACCOUNT_SCHEMA: GL codes per book and scope
        default_factory=lambda: pl.DataFrame(schema=journals.ACCOUNT_SCHEMA)
    )
    # Whether the run writes the month-end (journal lines, cost postings): a report, which
    # reads schedules, postings and balances only, skips it.
    month_end: bool = True


@dataclass(frozen=True)
class Outputs:
    allocations: pl.DataFrame  # ALLOCATION_SCHEMA: the newest version of each allocated line
    schedules: pl.DataFrame  # book, line_id, period, amount: each line's whole schedule
    postings: pl.DataFrame  # POSTING_SCHEMA: the open period's posting of each book
    balances: pl.DataFrame  # BALANCE_KEYS, billed, recognized, allocated and §5.1 balances
    findings: pl.DataFrame  # FINDING_SCHEMA: what could not be done, as data
    journal: pl.DataFrame  # journals.JOURNAL_SCHEMA: each book's open-period journal lines
    cost_postings: pl.DataFrame  # costs.COST_POSTING_SCHEMA: each book's open-period costs


def run(inputs: Inputs) -> Outputs:
    """Allocate, schedule and post every line of the contracts in `inputs`, in every book."""
    versions, based, billed = _prepared(inputs)
    allocated, errors = allocate(based)
    billed = billed.filter(allocated["allocated"].is_not_null())  # as `_allocated` keeps lines
    findings = [
        pl.DataFrame(
            [(None, e.contract_id, None, e.message) for e in errors],
            schema=FINDING_SCHEMA,
            orient="row",
        )
    ]
    allocated = _allocated(allocated)
    schedules, postings = [], []
    for book, open_period in inputs.books.select("book", "open_period").iter_rows():
        rows, found = _book_schedule(inputs, book, versions, allocated)
        findings.append(found)
        schedules.append(rows.select(pl.lit(book).alias("book"), pl.all()))
        postings.append(_open_posting(rows, inputs.posted, book, open_period))
    posted = _frames(postings, POSTING_SCHEMA)
    scheduled = _frames(schedules, POSTING_SCHEMA)
    balanced = _balances(inputs, allocated, posted, billed)
    if inputs.month_end:
        journal, costs, found = _month_end(inputs, allocated, scheduled, posted, balanced)
    else:
        journal = pl.DataFrame(schema=journals.JOURNAL_SCHEMA)
        costs = pl.DataFrame(schema=cost_rules.COST_POSTING_SCHEMA)
        found = pl.DataFrame(schema=FINDING_SCHEMA)
    return Outputs(
        allocations=allocated.select(ALLOCATION_SCHEMA.keys()),
        schedules=scheduled,
        postings=posted,
        balances=balanced,
        findings=pl.concat([*findings, found]),
        journal=journal,
        cost_postings=costs,
    )


def prepared(inputs: Inputs) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(every version with its modification policy, the newest version of each line with its
    method before book overrides): what allocation reads (`allocation.allocate`)."""
    versions, based, _ = _prepared(inputs)
    return versions, based


def _prepared(inputs: Inputs) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series]:
    """`prepared`, and what each of its newest versions is billed (null: nothing), in their
    order: what the balances read."""
    versions = _with_policy(inputs.lines, inputs.policies, inputs.default_policy)
    latest = _latest(versions, inputs.billings)
    based = methods.resolve(latest.drop("_billed"), inputs.templates)
    return versions, based, latest["_billed"]


def _allocated(based: pl.DataFrame) -> pl.DataFrame:
    """The allocated lines, without the methods allocation read (each book resolves its own)."""
    return based.filter(pl.col("allocated").is_not_null()).drop("method", "convention", "at")


def book_segments(inputs: Inputs, book: str) -> pl.DataFrame:
    """Each allocated line's segments in one book (modifications.SEGMENT_SCHEMA), as `run`
    schedules them: its newest version, or the chain of a prospective modification."""
    versions, based = prepared(inputs)
    allocated, _ = allocate(based)
    return _book_segments(inputs, book, versions, _allocated(allocated))


def _book_segments(
    inputs: Inputs, book: str, versions: pl.DataFrame, allocated: pl.DataFrame
) -> pl.DataFrame:
    overrides = inputs.overrides.filter(pl.col("book") == book).select("pob_template", "method")
    lines = methods.resolve(allocated, inputs.templates, overrides)
    return _segments(lines, versions, inputs.stored_allocations)


def _month_end(
    inputs: Inputs,
    allocated: pl.DataFrame,
    schedules: pl.DataFrame,
    postings: pl.DataFrame,
    balances: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(each book's open-period journal, cost postings, findings) of the run's contracts."""
    lines = allocated.select(month_end.LINE_KEYS)
    costs = inputs.costs
    if costs.height:
        costs = costs.join(lines.select("contract_id").unique(), on="contract_id", how="semi")
    cost_posted, cost_found = month_end.cost_postings(
        costs, inputs.posted_costs, schedules, allocated, inputs.books
    )
    billings = _documented(inputs.billings)
    parts = [pl.DataFrame(schema=journals.JOURNAL_SCHEMA)]
    for book, open_period in inputs.books.select("book", "open_period").iter_rows():
        parts.append(
            month_end.journal(
                book,
                open_period,
                lines=lines,
                billings=billings,
                postings=postings,
                posted=inputs.posted,
                balances=balances,
                costs=costs,
                cost_posted=cost_posted,
                accounts=inputs.accounts,
            )
        )
    journal = pl.concat(parts)
    owners = costs.select("cost_id", "contract_id")
    found = pl.concat(
        [
            cost_found.join(owners, on="cost_id", how="left").select(
                pl.lit(None, dtype=pl.String).alias("book"),
                "contract_id",
                pl.lit(None, dtype=pl.String).alias("line_id"),
                pl.col("message"),  # it names its cost already
            ),
            journals.unbalanced(journal).select(
                "book",
                pl.lit(None, dtype=pl.String).alias("contract_id"),
                pl.lit(None, dtype=pl.String).alias("line_id"),
                pl.format(
                    "journal {} {} does not balance: debit {}, credit {}",
                    "currency",
                    "period",
                    "debit",
                    "credit",
                ).alias("message"),
            ),
        ]
    ).cast(FINDING_SCHEMA)  # type: ignore[arg-type]
    return journal, cost_posted, found


def _documented(billings: pl.DataFrame) -> pl.DataFrame:
    """Billings with their document columns (BILLING_DOC_SCHEMA), defaulted when absent."""
    month = pl.col("doc_date").dt.year().cast(pl.Int64) * 12 + pl.col("doc_date").dt.month() - 1
    defaults = {
        "doc_line_id": pl.format("{}:{}:{}", "line_id", "doc_date", "amount"),
        "doc_type": pl.when(pl.col("amount") < 0).then(pl.lit("CM")).otherwise(pl.lit("INV")),
        "period": month.cast(pl.Int64),
    }
    missing = [expr.alias(name) for name, expr in defaults.items() if name not in billings.columns]
    return billings.with_columns(missing).cast(BILLING_DOC_SCHEMA)  # type: ignore[arg-type]


def _frames(parts: list[pl.DataFrame], schema: dict[str, type[pl.DataType]]) -> pl.DataFrame:
    """The parts as one frame of this schema (an empty one when there are none)."""
    typed = [part.select(pl.col(n).cast(t) for n, t in schema.items()) for part in parts]
    return pl.concat([pl.DataFrame(schema=schema), *typed])


def _with_policy(lines: pl.DataFrame, policies: pl.DataFrame, default: str) -> pl.DataFrame:
    """Each version's modification policy: the contract's, else the line's own, else the
    default (SPEC §2.1 contract_policies and defaults)."""
    if policies.height == 0:  # most stores: no contract has a policy of its own
        return lines.with_columns(
            pl.coalesce(
                pl.lit(None, dtype=pl.String), "modification_policy", pl.lit(default)
            ).alias("policy")
        )
    return (
        lines.join(
            policies.select("contract_id", pl.col("policy").alias("_contract_policy")),
            on="contract_id",
            how="left",
            maintain_order="left",
        )
        .with_columns(
            pl.coalesce("_contract_policy", "modification_policy", pl.lit(default)).alias("policy")
        )
        .drop("_contract_policy")
    )


def _latest(versions: pl.DataFrame, billings: pl.DataFrame) -> pl.DataFrame:
    """The newest version of each line, in contract and line order, with `_billed`, the sum
    of its signed billings (null: none); a billing-driven line's amount is that sum (SPEC §3)."""
    latest = versions
    # Modified lines: most batches have none, and lines in id order have none at a glance.
    if not ascending(versions, ["line_id"]) and versions["line_id"].is_duplicated().any():
        latest = versions.sort("line_id", "version").group_by("line_id", maintain_order=True).last()
    if (
        billings.schema["amount"] == pl.Int64
        and ascending(billings, ["line_id"])
        and billings["line_id"].equals(latest["line_id"])
    ):  # one billing a line, in line order (billing-driven lines): each is its sum
        latest = latest.with_columns(billings["amount"].alias("_billed"))
    else:
        billed = billings.lazy().group_by("line_id").agg(pl.col("amount").sum().alias("_billed"))
        latest = latest.join(billed.collect(), on="line_id", how="left", maintain_order="left")
    latest = latest.with_columns(
        pl.when(pl.col("billing_driven"))
        .then(pl.col("_billed").fill_null(0))
        .otherwise(pl.col("amount"))
        .alias("amount")
    )
    order = ["contract_id", "line_no", "line_id"]
    return latest if ascending(latest, order, strict=False) else latest.sort(order)


def _book_schedule(
    inputs: Inputs, book: str, versions: pl.DataFrame, allocated: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each allocated line's schedule in one book (line_id, period, amount), after actions."""
    segments = _book_segments(inputs, book, versions, allocated)
    events = inputs.events
    if events.height:
        events = events.filter(pl.col("line_id").is_in(allocated["line_id"].implode()))
    released = pl.col("action") == "release"
    # `schedule` takes the billings of its upon_billing segments (allocated lines) only.
    billings = inputs.billings
    rows, errors = schedule(
        segments,
        events=events.filter(released).select(
            "line_id", "event_date", "seq", "kind", "value_micro"
        ),
        billings=billings.select("line_id", "doc_date", "amount"),
    )
    rows = apply_actions(
        rows, events.filter(~released).select("line_id", "event_date", "seq", "action")
    )
    found = pl.DataFrame(
        [(book, None, e.line_id, e.message) for e in errors], schema=FINDING_SCHEMA, orient="row"
    )
    return rows, found


def _segments(lines: pl.DataFrame, versions: pl.DataFrame, stored: pl.DataFrame) -> pl.DataFrame:
    """Each line's segments in a book: its newest version with its allocation (catch-up, first
    versions, and measured methods, decision 4), or, when its newest version is prospective,
    the chain of its versions from its last catch-up one on (modifications.prospective_chain)."""
    simple = (
        (pl.col("policy") != "prospective")
        | (pl.col("version") == 1)
        | pl.col("method").is_in(["event", "upon_billing"])
    )
    plain = (
        lines.filter(simple)
        .with_columns(pl.col("allocated").alias("total"), pl.lit(None, dtype=pl.Date).alias("cap"))
        .select(SEGMENT_SCHEMA.keys())
    )
    chained = lines.filter(~simple)
    if chained.height == 0:
        return plain
    how = chained.select(
        "line_id", pl.col("version").alias("_newest"), "allocated", "method", "convention", "at"
    )
    history = (
        versions.join(how, on="line_id", how="inner")
        .join(stored, on=["line_id", "version"], how="left")
        .with_columns(
            pl.when(pl.col("version") == pl.col("_newest"))
            .then(pl.col("allocated"))
            .otherwise(pl.coalesce(pl.col("allocated_right"), pl.col("amount")))
            .alias("total")
        )
        .sort("line_id", "version")
    )
    return pl.concat([plain, prospective_chain(history)], how="vertical_relaxed")


def _open_posting(
    rows: pl.DataFrame, posted: pl.DataFrame, book: str, open_period: int
) -> pl.DataFrame:
    """The open period's posting: the schedule through it minus what closed periods posted
    (the open period of `modifications.effective_schedule`), in line order."""
    closed = posted.lazy().filter((pl.col("book") == book) & (pl.col("period") < open_period))
    # Only the open period is posted: later months of the schedule cannot change it.
    through = rows.lazy().filter(pl.col("period") <= open_period)
    columns = (
        pl.lit(book).alias("book"),
        "line_id",
        pl.lit(open_period, dtype=pl.Int64).alias("period"),
        pl.col("amount").fill_null(0).alias("amount"),
    )
    due = through.select("line_id", pl.col("amount").cast(pl.Int64))
    if closed.select(pl.len()).collect().item() == 0:
        # Nothing posted before: sorted first, each line's months are next to each other.
        months = due.sort("line_id").collect()
        if not ascending(months, ["line_id"]):
            months = months.group_by("line_id", maintain_order=True).agg(pl.col("amount").sum())
        return months.select(columns).filter(pl.col("amount") != 0)
    # Due minus done: one sum per line of the months due and the closed postings negated.
    done = closed.select("line_id", -pl.col("amount").cast(pl.Int64))
    net = pl.concat([due, done]).group_by("line_id").agg(pl.col("amount").sum())
    return net.select(columns).filter(pl.col("amount") != 0).sort("line_id", "period").collect()


def _balances(
    inputs: Inputs, allocated: pl.DataFrame, postings: pl.DataFrame, billed: pl.Series
) -> pl.DataFrame:
    """The §5.1 balances per book and contract at the end of each book's open period.

    billed: what each allocated line is billed (null: nothing), in their order."""
    if ascending(allocated, ["contract_id"]):
        return _line_balances(inputs, allocated, postings, billed)
    # One plan: its rows come in no given order (nor did they ever).
    contract = allocated.lazy().select("line_id", "contract_id", "currency")
    billed_contract = (
        inputs.billings.lazy()
        .join(contract, on="line_id", how="inner")
        .group_by("contract_id")
        .agg(pl.col("amount").sum().alias("billed"))
    )
    total = (
        allocated.lazy()
        .group_by("contract_id", "currency")
        .agg(pl.col("allocated").sum().alias("allocated"))
    )
    recognized = (
        pl.concat([inputs.posted.lazy(), postings.lazy()])
        .join(contract, on="line_id", how="inner")
        .group_by("book", "contract_id")
        .agg(pl.col("amount").sum().alias("recognized"))
    )
    frame = (
        inputs.books.lazy()
        .select("book")
        .join(total, how="cross")
        .join(billed_contract, on="contract_id", how="left")
        .join(recognized, on=["book", "contract_id"], how="left")
        .with_columns(pl.col("billed", "recognized").fill_null(0))
        .collect()
    )
    return balances(frame).select(
        *BALANCE_KEYS, "billed", "recognized", "allocated", *BALANCE_COLUMNS
    )


def _line_balances(
    inputs: Inputs, allocated: pl.DataFrame, postings: pl.DataFrame, billed: pl.Series
) -> pl.DataFrame:
    """`_balances` when every contract has one allocated line (billing-driven lines): each
    contract's sums are its line's, and no line needs grouping into its contract."""
    lines = allocated.select(
        "line_id", "contract_id", "currency", "allocated", billed.fill_null(0).alias("billed")
    )
    ids = lines.select("line_id")
    parts = []
    for book in inputs.books["book"]:
        # What closed periods posted plus the open period's posting, each summed by line.
        recognized = pl.zeros(lines.height, dtype=pl.Int64, eager=True)
        for posts in (inputs.posted, postings):
            mine = posts.filter(pl.col("book") == book)
            if mine.height:
                sums = summed(mine, "line_id", "amount", "_sum")
                recognized += joined(ids, sums, "line_id", "left")["_sum"].fill_null(0)
        parts.append(
            lines.select(pl.lit(book, dtype=pl.String).alias("book"), pl.all()).with_columns(
                recognized.alias("recognized")
            )
        )
    if not parts:  # no books
        parts = [
            lines.clear().select(
                pl.lit(None, dtype=pl.String).alias("book"),
                pl.all(),
                pl.lit(None, dtype=pl.Int64).alias("recognized"),
            )
        ]
    frame = pl.concat(parts)
    return balances(frame).select(
        *BALANCE_KEYS, "billed", "recognized", "allocated", *BALANCE_COLUMNS
    )


def part(inputs: Inputs, contracts: list[str]) -> Inputs:
    """The inputs of these contracts only: what a cluster partition (or a retry of one
    contract) runs on. A run over the parts of any split equals the run over the whole."""
    keep = pl.col("contract_id").is_in(pl.Series(contracts, dtype=pl.String).implode())
    lines = inputs.lines.filter(keep)
    ids = pl.col("line_id").is_in(lines["line_id"].unique().implode())
    costs = inputs.costs.filter(keep)
    return Inputs(
        lines=lines,
        billings=inputs.billings.filter(ids),
        events=inputs.events.filter(ids),
        stored_allocations=inputs.stored_allocations.filter(ids),
        posted=inputs.posted.filter(ids),
        books=inputs.books,
        overrides=inputs.overrides,
        templates=inputs.templates,
        policies=inputs.policies.filter(keep),
        default_policy=inputs.default_policy,
        costs=costs,
        posted_costs=inputs.posted_costs.filter(
            pl.col("cost_id").is_in(costs["cost_id"].implode())
        ),
        accounts=inputs.accounts,
        month_end=inputs.month_end,
    )


def concat(parts: list[Outputs]) -> Outputs:
    """The outputs of runs over disjoint sets of contracts, as one."""
    names = ("allocations", "schedules", "postings", "balances", "findings", "journal",
             "cost_postings")  # fmt: skip
    joined = {name: pl.concat([getattr(p, name) for p in parts]) for name in names}
    return Outputs(**joined)
