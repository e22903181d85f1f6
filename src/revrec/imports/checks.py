"""Row checks shared by the validators: blank cells, required values, choices, in-file duplicates,
error collection, and a content hash that is the same in every run and Polars version.

Every check is an expression giving a message (null when the cell is good). No I/O.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Concatenate, ParamSpec

import polars as pl

ERROR_SCHEMA = {"line": pl.Int64, "column": pl.String, "value": pl.String, "message": pl.String}
FIRST_DATA_LINE = 2  # line 1 of a file holds the headings
REQUIRED = "a value is required"
BOOLEANS = ("true", "false")
MAX_NAMES = 12  # "expected one of ..." lists at most this many names
MAX_CELL = 1_000  # characters in any cell of an upload (free attributes, texts)
MAX_ID = 128  # identifiers and codes, as the subledger stores them
LIMITS = {
    **dict.fromkeys(
        ("contract_id", "customer_id", "so_number", "so_line_id", "item_code", "pob_template",
         "doc_number", "doc_line_id", "ref_doc_number", "ref_doc_line_id", "cost_id",
         "event_id", "line_item_id", "invoice_number"),
        MAX_ID,
    ),
    "cost_type": 64,
}  # fmt: skip
SHOWN = 40  # characters of an over-long cell a message shows

P = ParamSpec("P")
Validator = Callable[Concatenate[pl.DataFrame, P], tuple[pl.DataFrame, pl.DataFrame]]


def bounded_cells(validate: Validator[P]) -> Validator[P]:
    """A validator whose rows with a cell over MAX_CELL characters are row errors before any
    other check (so parsing and hashing stay linear in the input), the others validated."""

    @functools.wraps(validate)
    def checked(
        raw: pl.DataFrame, /, *args: P.args, **kwargs: P.kwargs
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        if "line" not in raw.columns:
            raw = raw.with_row_index("line", offset=FIRST_DATA_LINE)
        cells = [c for c, dtype in raw.schema.items() if dtype == pl.String]
        if not cells:
            return validate(raw, *args, **kwargs)
        long = pl.any_horizontal(_over(c) for c in cells)
        too_long = _too_long(raw.filter(long), cells)
        good, errors = validate(raw.filter(~long.fill_null(value=False)), *args, **kwargs)
        return good, pl.concat([too_long, errors]).sort("line", "column", maintain_order=True)

    return checked


def _over(cell: str) -> pl.Expr:
    return pl.col(cell).str.len_chars() > LIMITS.get(cell, MAX_CELL)


def _too_long(rows: pl.DataFrame, cells: list[str]) -> pl.DataFrame:
    """One error per over-long cell: line, column, the cell's start, how long it is."""
    parts = [
        rows.filter(_over(c)).select(
            pl.col("line").cast(pl.Int64),
            pl.lit(c).alias("column"),
            (pl.col(c).str.slice(0, SHOWN) + pl.lit("...")).alias("value"),
            pl.format(
                "longer than {} characters ({} characters)",
                pl.lit(f"{LIMITS.get(c, MAX_CELL):,}"),
                pl.col(c).str.len_chars(),
            ).alias("message"),
        )
        for c in cells
    ]
    return pl.concat([pl.DataFrame(schema=ERROR_SCHEMA), *parts])


def prepare(raw: pl.DataFrame, attributes: Sequence[str]) -> pl.DataFrame:
    """Every attribute as a string column (absent ones all null), whitespace-only cells as null,
    and `line` (the file line; row order from line 2 when the caller has none), sorted by line."""
    frame = raw
    if "line" not in frame.columns:
        frame = frame.with_row_index("line", offset=FIRST_DATA_LINE)
    frame = frame.with_columns(
        pl.col("line").cast(pl.Int64),
        *(pl.lit(None, dtype=pl.String).alias(n) for n in attributes if n not in frame.columns),
    )
    cells = [c for c in frame.columns if c != "line"]
    return frame.with_columns(
        pl.when(pl.col(c).str.strip_chars() != "").then(pl.col(c)).alias(c)
        for c in cells
        if frame.schema[c] == pl.String
    ).sort("line")


def free_attributes(frame: pl.DataFrame, known: Iterable[str]) -> list[str]:
    """Columns that are neither a known attribute nor the line number, in file order."""
    skip = {*known, "line"}
    return [c for c in frame.columns if c not in skip and not c.startswith("_")]


def text(name: str) -> pl.Expr:
    """A cell for comparing: stripped (null stays null)."""
    return pl.col(name).str.strip_chars()


def required(name: str) -> pl.Expr:
    return pl.when(pl.col(name).is_null()).then(pl.lit(REQUIRED))


def names(values: Iterable[str]) -> str:
    """'a, b, c' for a message; long lists are cut with a count."""
    found = list(values)
    shown = ", ".join(found[:MAX_NAMES])
    return f"{shown}, ... ({len(found)} in all)" if len(found) > MAX_NAMES else shown


def choice(cell: pl.Expr, name: str, allowed: Sequence[str], what: str) -> pl.Expr:
    """'unknown <what> 'x': expected one of ...' when a given (normalized) cell is not allowed."""
    return pl.when(cell.is_not_null() & ~cell.is_in(list(allowed))).then(
        pl.concat_str(
            pl.lit(f"unknown {what} '"),
            pl.col(name),
            pl.lit(f"': expected one of {names(allowed)}"),
        )
    )


def boolean(name: str) -> tuple[pl.Expr, pl.Expr]:
    """(Boolean, message) of a true/false cell; empty is null."""
    cell = text(name).str.to_lowercase()
    message = pl.when(cell.is_not_null() & ~cell.is_in(list(BOOLEANS))).then(
        pl.lit("expected true or false")
    )
    return cell == "true", message


def duplicates(frame: pl.DataFrame, key: str, content: Sequence[str]) -> pl.DataFrame:
    """Add `duplicate` (an identical repeat of an earlier row with the same key) and
    `_err:<key>:duplicate` (a repeat with different content), judged against the key's first row.
    """
    error = f"_err:{key}:duplicate"
    # Most keys are unique: only the rows of repeated keys are compared.
    repeated = frame.filter(pl.col(key).is_not_null() & pl.col(key).is_duplicated()).select(
        "line", key, pl.struct(content).hash(7).alias("_content")
    )
    first = pl.col("_first")
    repeated = repeated.with_columns(
        pl.col("line").first().over(key).alias("_first"),
        (pl.col("_content") == pl.col("_content").first().over(key)).alias("_same"),
    ).select(
        "line",
        ((pl.col("line") != first) & pl.col("_same")).alias("duplicate"),
        pl.when((pl.col("line") != first) & ~pl.col("_same"))
        .then(
            pl.concat_str(
                pl.lit(f"{key} '"),
                pl.col(key),
                pl.lit("' is also on line "),
                first.cast(pl.String),
                pl.lit(f" with other content: expected one row per {key}"),
            )
        )
        .alias(error),
    )
    return frame.join(repeated, on="line", how="left", maintain_order="left").with_columns(
        pl.col("duplicate").fill_null(value=False)
    )


def first_of_group(frame: pl.DataFrame, group: str, cells: dict[str, pl.Expr]) -> pl.DataFrame:
    """For each out -> cell: add `out` (the first non-null value of the cell in the group) and
    `out`_line (the line it is on)."""
    # Windows over dense integer codes are much cheaper than over the group's strings.
    frame = frame.with_columns(pl.col(group).rank("dense").alias("_group"))
    return frame.with_columns(
        expr
        for out, cell in cells.items()
        for expr in (
            cell.filter(cell.is_not_null()).first().over("_group").alias(out),
            pl.col("line").filter(cell.is_not_null()).first().over("_group").alias(f"{out}_line"),
        )
    ).drop("_group")


def collect_errors(frame: pl.DataFrame, keys: Iterable[str]) -> pl.DataFrame:
    """Row errors (line, column, value, message) from the `_err:<column>[:<tag>]` columns."""
    keys = list(keys)
    if not keys:
        return pl.DataFrame(schema=ERROR_SCHEMA)
    bad = frame.filter(pl.any_horizontal(pl.col(f"_err:{k}").is_not_null() for k in keys))
    parts = []
    for key in keys:
        column = key.split(":")[0]
        found = bad.filter(pl.col(f"_err:{key}").is_not_null())
        if found.height:
            value = pl.col(column).cast(pl.String) if column in bad.columns else pl.lit(None)
            parts.append(
                found.select(
                    "line",
                    pl.lit(column).alias("column"),
                    value.fill_null("").alias("value"),
                    pl.col(f"_err:{key}").alias("message"),
                )
            )
    if not parts:
        return pl.DataFrame(schema=ERROR_SCHEMA)
    return pl.concat(parts).sort("line", "column", maintain_order=True)


def check(frame: pl.DataFrame, checks: dict[str, pl.Expr]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(frame of the rows without errors, row errors) for `checks`: key -> message expression."""
    frame = frame.with_columns(expr.alias(f"_err:{key}") for key, expr in checks.items())
    keys = [c.removeprefix("_err:") for c in frame.columns if c.startswith("_err:")]
    errors = collect_errors(frame, keys)
    good = frame.filter(~pl.col("line").is_in(errors["line"].unique().implode()))
    return good.drop(f"_err:{k}" for k in keys), errors


# A polynomial hash over the UTF-8 bytes, mod two primes: written here, so it never changes
# with a Polars upgrade (Expr.hash may), and an id built from it stays the same id.
_PRIMES = (2_147_483_629, 2_147_483_587)
_BASES = (1_000_003, 7_919_111)
_CHUNK = 13  # hex digits per term: 52 bits, reduced mod the prime before multiplying


_WIDE = 40  # chunks computed as columns; rows longer than 40 x 13 hex digits go by pieces


def stable_hash(frame: pl.DataFrame, parts: Sequence[pl.Expr], out: str) -> pl.DataFrame:
    """Add `out`: 19 decimal digits identifying the content of `parts` (null counts as empty).

    Linear in the input: rows up to _WIDE chunks are hashed with one expression per chunk,
    longer ones (rare) piece by piece; both give the same value."""
    joined = pl.concat_str([p.cast(pl.String).fill_null("") for p in parts], separator="\x1f")
    frame = frame.with_columns(joined.str.encode("hex").alias("_hex"))
    longest = frame.select(pl.col("_hex").str.len_bytes().max()).item() or 0
    if longest <= _WIDE * _CHUNK:  # lazily: a fifth faster than the same eager columns
        return frame.lazy().with_columns(_wide_hash(longest).alias(out)).drop("_hex").collect()
    long = pl.col("_hex").str.len_bytes() > _WIDE * _CHUNK
    indexed = frame.with_row_index("_hash_row")
    short = indexed.filter(~long).with_columns(_wide_hash(_WIDE * _CHUNK).alias(out))
    by_pieces = _piece_hash(indexed.filter(long), out)
    return pl.concat([short, by_pieces]).sort("_hash_row").drop("_hash_row", "_hex")


def stable_id(frame: pl.DataFrame, column: str, out: str) -> pl.DataFrame:
    """Add `out`: the stable hash of `column` (`stable_hash`) as an Int64 (19 digits, below
    2^63): the same id for the same text in any database and run."""
    hashed = stable_hash(frame, [pl.col(column)], out)
    return hashed.with_columns(pl.col(out).cast(pl.Int64))


def _wide_hash(longest: int) -> pl.Expr:
    chunks = [
        pl.col("_hex")
        .str.slice(_CHUNK * k, _CHUNK)
        .str.to_integer(base=16, strict=False)
        .fill_null(0)
        for k in range(-(-longest // _CHUNK))
    ]
    length = pl.col("_hex").str.len_bytes().cast(pl.Int64)
    sums = [
        pl.sum_horizontal(length, *(c % p * pow(b, k + 1, p) % p for k, c in enumerate(chunks))) % p
        for p, b in zip(_PRIMES, _BASES, strict=True)
    ]
    return (sums[0] * _PRIMES[1] + sums[1]).cast(pl.String).str.zfill(19)


def _powers(base: int, prime: int, count: int) -> list[int]:
    """base^1 .. base^count mod prime."""
    found, power = [], 1
    for _ in range(count):
        power = power * base % prime
        found.append(power)
    return found


def _piece_hash(frame: pl.DataFrame, out: str) -> pl.DataFrame:
    """The same hash as _wide_hash, one row per chunk of `_hex` (linear in the length)."""
    longest = frame.select(pl.col("_hex").str.len_bytes().max()).item() or 0
    count = max(-(-longest // _CHUNK), 1)
    pieces = (
        frame.select(
            "_hash_row", pl.col("_hex").str.extract_all(f"[0-9a-f]{{1,{_CHUNK}}}").alias("_c")
        )
        .explode("_c")
        .with_columns(
            pl.int_range(pl.len(), dtype=pl.Int64).over("_hash_row").alias("_k"),
            pl.col("_c").str.to_integer(base=16, strict=False).fill_null(0).alias("_v"),
        )
    )
    terms = []
    for n, (p, b) in enumerate(zip(_PRIMES, _BASES, strict=True)):
        powers = pl.Series(_powers(b, p, count), dtype=pl.Int64)
        term = (pl.col("_v") % p) * pl.lit(powers).gather(pl.col("_k")) % p
        terms.append(term.sum().alias(f"_s{n}"))
    sums = pieces.group_by("_hash_row").agg(terms)
    length = pl.col("_hex").str.len_bytes().cast(pl.Int64)
    value = ((length + pl.col("_s0")) % _PRIMES[0]) * _PRIMES[1] + (
        length + pl.col("_s1")
    ) % _PRIMES[1]
    return (
        frame.join(sums, on="_hash_row", how="left")
        .with_columns(value.cast(pl.String).str.zfill(19).alias(out))
        .drop("_s0", "_s1")
    )
