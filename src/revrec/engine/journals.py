"""Journal lines of one book and period (SPEC §6): billings, revenue, the contract asset
reclass and contract costs, each as a balanced debit/credit pair with the GL code of its role.

Why these entries: per contract, billings credit deferred_revenue by B (billed to date), revenue
debits it by R (recognized to date), and the reclass credits it by the change of the contract
asset, whose changes telescope to asset_k = max(R - B, 0) from a zero opening. So the GL
deferred_revenue credit balance is B - R + max(R - B, 0) = max(B - R, 0), the §5.1 contract
liability, and contract_asset's debit balance is max(R - B, 0), the §5.1 contract asset.

Pure: frames in, frames out; Int64 minor units, a journal line has exactly one of debit and
credit positive. No I/O.
"""

from __future__ import annotations

import polars as pl

from revrec.engine.frames import ascending
from revrec.errors import InputError

ROLES = (
    "accounts_receivable",
    "deferred_revenue",
    "contract_asset",
    "revenue",
    "contract_cost_asset",
    "contract_cost_expense",
    "cost_clearing",
)
# scope: "default" (scope_key "") | "template" (a POB template name) | "item" (an item code).
# book "" means every book; a row for the book itself wins over a "" row of the same scope/key/role.
# Precedence: item > template > default (most specific wins).
ACCOUNT_SCHEMA = {
    "book": pl.String,
    "scope": pl.String,
    "scope_key": pl.String,
    "role": pl.String,
    "gl_code": pl.String,
}
SCOPES = ("item", "template", "default")  # most specific first
JOURNAL_SCHEMA = {
    "book": pl.String,
    "period": pl.Int64,
    "account": pl.String,  # the role
    "gl_code": pl.String,  # null: no GL code for the role at any scope
    "currency": pl.String,
    "debit": pl.Int64,
    "credit": pl.Int64,
    "contract_id": pl.String,
    "line_id": pl.String,  # null on reclass lines and contract-level costs
    "source": pl.String,
    "source_id": pl.String,
}
SOURCES = ("billing", "revenue", "reclass", "cost", "amortization")  # in output order
TOTAL_SCHEMA = {
    "book": pl.String,
    "period": pl.Int64,
    "currency": pl.String,
    "debit": pl.Int64,
    "credit": pl.Int64,
}
ACCOUNT_BALANCE_SCHEMA = {
    "book": pl.String,
    "period": pl.Int64,
    "account": pl.String,
    "gl_code": pl.String,
    "currency": pl.String,
    "debit": pl.Int64,
    "credit": pl.Int64,
}

# The inputs of `journal_lines`; amounts are signed Int64 minor units.
BILLINGS_SCHEMA = {
    "doc_line_id": pl.String,
    "doc_type": pl.String,  # INV | IVC | CM | CMC: the sign of amount already says which way
    "line_id": pl.String,
    "contract_id": pl.String,
    "currency": pl.String,
    "item_code": pl.String,
    "pob_template": pl.String,
    "amount": pl.Int64,  # INV, CMC positive; CM, IVC negative
}
REVENUE_SCHEMA = {
    "line_id": pl.String,
    "contract_id": pl.String,
    "currency": pl.String,
    "item_code": pl.String,
    "pob_template": pl.String,
    "amount": pl.Int64,  # the line's revenue posted in the period
}
RECLASS_SCHEMA = {
    "contract_id": pl.String,
    "currency": pl.String,
    "asset_before": pl.Int64,  # contract asset at the end of the previous period (null: 0)
    "asset_after": pl.Int64,  # contract asset at the end of this period (null: 0)
}
COSTS_SCHEMA = {
    "cost_id": pl.String,
    "line_id": pl.String,
    "contract_id": pl.String,
    "currency": pl.String,
    "item_code": pl.String,
    "pob_template": pl.String,
    "kind": pl.String,  # a key of COST_ENTRIES
    "amount": pl.Int64,
}
# kind: (debit role, credit role, source) of a positive amount.
COST_ENTRIES = {
    "capitalize": ("contract_cost_asset", "cost_clearing", "cost"),
    "expense": ("contract_cost_expense", "cost_clearing", "cost"),
    "amortize": ("contract_cost_expense", "contract_cost_asset", "amortization"),
}

_ENTRY_SCHEMA = {  # beside source_id
    "contract_id": pl.String,
    "line_id": pl.String,
    "currency": pl.String,
    "item_code": pl.String,
    "pob_template": pl.String,
    "amount": pl.Int64,
}
_ORDER = ["_rank", "source_id", "contract_id", "line_id", "currency", "amount"]
_BATCH = 100_000  # entries: journals of more are sorted and doubled one source at a time


def journal_lines(
    *,
    book: str,
    period: int,
    billings: pl.DataFrame,
    revenue: pl.DataFrame,
    reclass: pl.DataFrame,
    costs: pl.DataFrame,
    accounts: pl.DataFrame,
) -> pl.DataFrame:
    """The journal lines (JOURNAL_SCHEMA) of `book` in `period`.

    Each non-zero entry gives a debit line then a credit line of |amount|; a negative amount
    swaps the two roles. Zero (and null) amounts write nothing. Sorted by source (SOURCES
    order), source_id, contract_id, line_id, currency, amount. Raises InputError for a cost
    kind not in COST_ENTRIES or an account scope not in SCOPES.
    """
    _check_kinds(costs)
    resolved = _resolved(accounts, book)
    entries = [
        (billings, "doc_line_id", "billing", "accounts_receivable", "deferred_revenue"),
        (revenue, "line_id", "revenue", "deferred_revenue", "revenue"),
        (_reclassed(reclass), "contract_id", "reclass", "contract_asset", "deferred_revenue"),
    ]
    entries += [
        (costs.filter(pl.col("kind") == kind), "cost_id", source, debit, credit)
        for kind, (debit, credit, source) in COST_ENTRIES.items()
    ]
    collected = pl.collect_all(
        [_entries(frame, source_id, source, debit, credit).filter(pl.col("amount") != 0)
         for frame, source_id, source, debit, credit in entries]
    )  # fmt: skip
    coded, constants = _coded(collected, resolved)
    # Sorted and doubled in batches of whole sources, in SOURCES order: sorting each batch on
    # its own and concatenating them is the stable sort of them all by _ORDER, whose first key
    # is the source's rank. Big journals go one source at a time (no frame of every entry to
    # gather from), small ones at once (fewer steps).
    batches = [list(range(len(coded)))]
    if sum(part.height for part in coded) > _BATCH:
        batches = [[i for i, entry in enumerate(entries) if entry[2] == name] for name in SOURCES]
    lines = [pl.DataFrame(schema=JOURNAL_SCHEMA)]
    for batch in batches:
        live = [i for i in batch if coded[i].height]
        if not live:
            continue
        group = pl.concat([coded[i] for i in live])
        # Keyless parts of one pair of roles: the roles and GL codes are constants.
        fixed = constants[live[0]]
        if any(constants[i] != fixed for i in live[1:]):
            fixed = None
        lines.append(_lines(group, _order(group), book, period, fixed))
    return pl.concat(lines)


def _check_kinds(costs: pl.DataFrame) -> None:
    known = pl.col("kind").is_in(list(COST_ENTRIES)).fill_null(value=False)
    unknown = costs.filter(~known)["kind"].cast(pl.String).fill_null("null").unique().sort()
    if unknown.len():
        raise InputError(
            f"unknown cost kind(s) {', '.join(unknown.to_list())}: expected {tuple(COST_ENTRIES)}"
        )


def _reclassed(reclass: pl.DataFrame) -> pl.DataFrame:
    """The reclass entries: each contract's change of contract asset, on no line or item."""
    return reclass.with_columns(
        pl.lit(None, dtype=pl.String).alias("line_id"),
        pl.lit(None, dtype=pl.String).alias("item_code"),
        pl.lit(None, dtype=pl.String).alias("pob_template"),
        (
            pl.col("asset_after").fill_null(0).cast(pl.Int64)
            - pl.col("asset_before").fill_null(0).cast(pl.Int64)
        ).alias("amount"),
    )


def _lines(
    entries: pl.DataFrame,
    order: pl.Series,
    book: str,
    period: int,
    fixed: dict[str, str | None] | None = None,
) -> pl.DataFrame:
    """Each entry twice in a row, in `order` (row indexes of the entries): its debit line
    (side 0), then its credit line (side 1); a negative amount swaps the entry's two roles.
    One gather puts the entries in order and doubles them. fixed: the roles and GL codes
    (_debit, _credit, _debit_gl, _credit_gl) when every entry has the same."""
    roles = ["_debit", "_credit", "_debit_gl", "_credit_gl"]
    same = ["currency", "contract_id", "line_id", "source", "source_id"]
    entries = entries.select(*same, "amount", *([] if fixed else roles))
    if max(entries.n_chunks("all"), default=1) > 1:  # gathers from one chunk are faster
        entries = entries.rechunk()
    index = pl.int_range(0, 2 * entries.height, dtype=pl.Int64, eager=True)
    lines = entries[order.cast(pl.Int64).gather(index // 2)]
    lines = lines.with_columns((index % 2).alias("_side"))
    amount, debit_side = pl.col("amount"), pl.col("_side") == 0
    first = debit_side == (amount > 0)  # the line takes its entry's debit role

    def role(name: str) -> pl.Expr:
        return pl.lit(fixed[name], dtype=pl.String) if fixed else pl.col(name)

    return lines.select(
        pl.lit(book, dtype=pl.String).alias("book"),
        pl.lit(period, dtype=pl.Int64).alias("period"),
        pl.when(first).then(role("_debit")).otherwise(role("_credit")).alias("account"),
        pl.when(first).then(role("_debit_gl")).otherwise(role("_credit_gl")).alias("gl_code"),
        "currency",
        pl.when(debit_side).then(amount.abs()).otherwise(0).alias("debit"),
        pl.when(debit_side).then(0).otherwise(amount.abs()).alias("credit"),
        "contract_id",
        "line_id",
        "source",
        "source_id",
    ).select(pl.col(name).cast(dtype) for name, dtype in JOURNAL_SCHEMA.items())


def unbalanced(lines: pl.DataFrame) -> pl.DataFrame:
    """The journals (book, period, currency) whose debits and credits differ, with their sums
    (TOTAL_SCHEMA), sorted; empty when every journal balances."""
    return (
        _sums(lines, ["book", "period", "currency"])
        .filter(pl.col("debit") != pl.col("credit"))
        .select(pl.col(name).cast(dtype) for name, dtype in TOTAL_SCHEMA.items())
    )


def account_balances(lines: pl.DataFrame) -> pl.DataFrame:
    """Debits and credits summed per book, period, account, GL code and currency
    (ACCOUNT_BALANCE_SCHEMA), sorted; a null GL code sorts last."""
    keys = ["book", "period", "account", "gl_code", "currency"]
    return _sums(lines, keys).select(
        pl.col(name).cast(dtype) for name, dtype in ACCOUNT_BALANCE_SCHEMA.items()
    )


def _sums(lines: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    return (
        lines.lazy()
        .group_by(keys)
        .agg(pl.col("debit").sum().cast(pl.Int64), pl.col("credit").sum().cast(pl.Int64))
        .sort(keys, nulls_last=True)
        .collect()
    )


def _entries(
    frame: pl.DataFrame, source_id: str, source: str, debit: str, credit: str
) -> pl.LazyFrame:
    """One entry per row: its keys, signed amount, source rank and the roles of a positive
    amount."""
    return frame.lazy().select(
        pl.col(source_id).cast(pl.String).alias("source_id"),
        *(pl.col(name).cast(dtype) for name, dtype in _ENTRY_SCHEMA.items()),
        pl.lit(SOURCES.index(source), dtype=pl.Int64).alias("_rank"),
        pl.lit(source, dtype=pl.String).alias("source"),
        pl.lit(debit, dtype=pl.String).alias("_debit"),
        pl.lit(credit, dtype=pl.String).alias("_credit"),
    )


def _resolved(accounts: pl.DataFrame, book: str) -> pl.DataFrame:
    """The accounts that apply to `book`: per scope, key and role, the book's own row over a ""
    row (then the smallest GL code, should a key be given twice). Rows without a code are
    ignored."""
    known = pl.col("scope").is_in(SCOPES).fill_null(value=False)
    unknown = accounts.filter(~known)["scope"].fill_null("null").unique().sort()
    if unknown.len():
        raise InputError(
            f"unknown account scope(s) {', '.join(unknown.to_list())}: expected {SCOPES}"
        )
    return (
        accounts.filter(
            pl.col("book").is_in([book, ""]) & pl.col("gl_code").is_not_null(),
        )
        .with_columns(
            pl.when(pl.col("scope") == "default")
            .then(pl.lit(""))
            .otherwise(pl.col("scope_key"))
            .alias("scope_key")
        )
        .sort(pl.col("book") != book, "gl_code")
        .unique(["scope", "scope_key", "role"], keep="first", maintain_order=True)
        .select("scope", "scope_key", "role", "gl_code")
    )


def _gl_codes(keys: pl.DataFrame, accounts: pl.DataFrame) -> pl.DataFrame:
    """The GL code of each (account, item_code, pob_template): the item's, else the
    template's, else the default; null when none has one."""

    def scoped(scope: str, key: str) -> pl.DataFrame:
        return accounts.filter(pl.col("scope") == scope).select(
            pl.col("scope_key").alias(key),
            pl.col("role").alias("account"),
            pl.col("gl_code").alias(f"_{scope}"),
        )

    return (
        keys.join(scoped("item", "item_code"), on=["account", "item_code"], how="left")
        .join(scoped("template", "pob_template"), on=["account", "pob_template"], how="left")
        .join(
            accounts.filter(pl.col("scope") == "default").select(
                pl.col("role").alias("account"), pl.col("gl_code").alias("_default")
            ),
            on="account",
            how="left",
        )
        .select(
            "account",
            "item_code",
            "pob_template",
            pl.coalesce("_item", "_template", "_default").alias("gl_code"),
        )
    )


_KEYS = ["_debit", "_credit", "item_code", "pob_template"]


def _coded(
    parts: list[pl.DataFrame], accounts: pl.DataFrame
) -> tuple[list[pl.DataFrame], list[dict[str, str | None] | None]]:
    """Each part's entries (one pair of roles each) with the GL codes (_debit_gl, _credit_gl)
    of their roles, item_code and pob_template, in their order; and for each part whose
    entries all have the same roles and codes, those (_debit, _credit, _debit_gl, _credit_gl),
    else None."""
    # A part whose lines have no item or template (billing-driven lines, reclass entries) has
    # one key: its codes are constants, where a join would match every row to the same codes.
    keyless = [all(p[k].null_count() == p.height for k in _KEYS[2:]) for p in parts]
    keys = [
        part.select(_KEYS).head(1) if alone else part.select(_KEYS)
        for part, alone in zip(parts, keyless, strict=True)
    ]
    codes = _entry_codes(pl.concat(keys), accounts)
    coded: list[pl.DataFrame] = []
    constants: list[dict[str, str | None] | None] = []
    for part, alone in zip(parts, keyless, strict=True):
        if part.height == 0 or not alone:
            coded.append(
                part.join(codes, on=_KEYS, how="left", nulls_equal=True, maintain_order="left")
            )
            constants.append(None)
            continue
        first = part.row(0, named=True)
        code = codes.filter(
            (pl.col("_debit") == first["_debit"])
            & (pl.col("_credit") == first["_credit"])
            & pl.col("item_code").is_null()
            & pl.col("pob_template").is_null()
        ).row(0, named=True)
        fixed = {name: code[name] for name in ("_debit", "_credit", "_debit_gl", "_credit_gl")}
        coded.append(
            part.with_columns(
                pl.lit(fixed[name], dtype=pl.String).alias(name)
                for name in ("_debit_gl", "_credit_gl")
            )
        )
        constants.append(fixed)
    return coded, constants


def _entry_codes(entries: pl.DataFrame, accounts: pl.DataFrame) -> pl.DataFrame:
    """The GL codes (_debit_gl, _credit_gl) of each distinct (_debit, _credit, item_code,
    pob_template) of the entries."""
    keys = entries.select("_debit", "_credit", "item_code", "pob_template").unique()
    scope = ["item_code", "pob_template"]
    roles = pl.concat(
        [keys.select(pl.col(side).alias("account"), *scope) for side in ("_debit", "_credit")]
    ).unique()
    codes = _gl_codes(roles, accounts)
    for side in ("_debit", "_credit"):
        keys = keys.join(
            codes.rename({"account": side, "gl_code": f"{side}_gl"}),
            on=[side, *scope],
            how="left",
            nulls_equal=True,
        )
    return keys


def _order(entries: pl.DataFrame) -> pl.Series:
    """The row indexes of the entries sorted stably by _ORDER."""
    first = _ORDER[:2]
    # Most sources have one entry per source_id: then rank and source_id alone order them.
    if entries["source_id"].null_count() == 0:
        if ascending(entries, first):
            return pl.int_range(entries.height, dtype=pl.Int64, eager=True)
        by_id = entries.select(pl.arg_sort_by(first).cast(pl.Int64)).to_series()
        if ascending(entries.select(first)[by_id], first):
            return by_id
    return (
        entries.select(_ORDER)
        .with_row_index("_i")
        .sort(_ORDER, nulls_last=True, maintain_order=True)["_i"]
        .cast(pl.Int64)
    )
