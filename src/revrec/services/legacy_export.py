"""`revrec export schedules` (SPEC §10): the legacy Revenue Recognition Schedules export, read,
computed and written a page of billing lines at a time, so a million schedules stream in flat
memory. The as-of date defaults to the Context's `now` (UTC); the engine never reads a clock.
"""

from __future__ import annotations

import codecs
import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date
from pathlib import Path
from typing import IO, cast

import polars as pl

from revrec.calendar import parse_date
from revrec.engine.legacy_schedules import INPUT_SCHEMA, legacy_schedules
from revrec.errors import InputError
from revrec.exports import legacy_schedules as legacy_file
from revrec.exports.xlsx import MAX_ROWS
from revrec.imports.checks import stable_id
from revrec.services.context import Context
from revrec.services.imports import templates_frame
from revrec.store import exports as store
from revrec.vocab import DOC_TYPES

# The invoice status filter: every document, charges (INV lines) or credits (CM lines).
STATUSES: dict[str, tuple[str, ...]] = {"all": DOC_TYPES, "charge": ("INV",), "credit": ("CM",)}
FORMATS = (".csv", ".xlsx")
Progress = Callable[[int, int], None]  # (rows written so far, rows in all)


@dataclass(frozen=True)
class Request:
    """What to export: the status filter, the invoice dates [first, last] (None: unbounded),
    and the as-of date (None: today, UTC)."""

    status: str = "all"
    first: date | None = None
    last: date | None = None
    as_of: date | None = None


def request(
    status: str = "all",
    first: str | None = None,
    last: str | None = None,
    as_of: str | None = None,
) -> Request:
    """The Request the options say, checked: a bad status or date is an InputError."""
    if status not in STATUSES:
        raise InputError(f"--status {status!r}: expected one of {', '.join(STATUSES)}")
    found = Request(status, _date("--from", first), _date("--to", last), _date("--as-of", as_of))
    if found.first is not None and found.last is not None and found.first > found.last:
        raise InputError(f"--from {found.first} is after --to {found.last}")
    return found


def _date(option: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return parse_date(text)
    except InputError as error:
        raise InputError(f"{option} {error}") from None


def output_format(path: Path | None) -> str:
    """csv or xlsx, by the output file's extension (no file: CSV on stdout)."""
    if path is None:
        return "csv"
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"--output {path.name}: expected a .csv or .xlsx file")
    return suffix[1:]


def export(
    ctx: Context,
    wanted: Request,
    *,
    output: Path | None = None,
    out: IO[str] | None = None,
    progress: Progress = lambda _done, _total: None,
) -> int:
    """Write the export into `output` (.csv or .xlsx, replaced whole once written) or as CSV on
    `out`; how many rows. More rows than an XLSX sheet holds is an InputError, before writing."""
    kind = output_format(output)
    as_of = wanted.as_of or ctx.now.astimezone(UTC).date()
    doc_types = STATUSES[wanted.status]
    with ctx.engine.begin() as conn:  # a store older than the kept rows: filled once
        store.ensure(conn)
    with ctx.engine.connect() as conn:
        store.snapshot(conn)
        total = store.count(conn, doc_types, wanted.first, wanted.last)
        if kind == "xlsx" and total > MAX_ROWS - 1:
            raise InputError(
                f"{total:,} schedules are more than an XLSX sheet holds ({MAX_ROWS - 1:,} "
                "rows): write a .csv file, or narrow the export with --status, --from or --to"
            )
        templates = templates_frame(conn)
        pages = _counted(
            _ahead(
                legacy_schedules(_input(page), templates, as_of)
                for page in store.pages(conn, doc_types, wanted.first, wanted.last)
            ),
            total,
            progress,
        )
        if output is None:
            return legacy_file.write_csv(pages, _bytes_of(out if out is not None else sys.stdout))
        with _replaced(output) as partial:
            if kind == "xlsx":
                return legacy_file.write_xlsx(pages, partial)
            with partial.open("wb") as handle:
                return legacy_file.write_csv(pages, handle)


def schema(*, output: Path | None = None, out: IO[str] | None = None) -> None:
    """The schema file (column, type, example, description) into `output` or on `out`."""
    output_format(output)
    if output is None:
        legacy_file.write_schema(out if out is not None else sys.stdout)
        return
    with _replaced(output) as partial:
        legacy_file.write_schema(path=partial, as_xlsx=output_format(output) == "xlsx")


def _input(page: pl.DataFrame) -> pl.DataFrame:
    """A store page as the engine takes it: with revenue_schedule_id, the stable hash of the
    doc_line_id (`imports.checks.stable_id`), kept by processing (`schedule_ids`) and made here
    for rows kept before it was (null)."""
    if page["revenue_schedule_id"].null_count():
        page = page.with_columns(
            pl.coalesce("revenue_schedule_id", schedule_ids(page)["revenue_schedule_id"])
        )
    return page.select(*INPUT_SCHEMA).cast(INPUT_SCHEMA)  # type: ignore[arg-type]


def schedule_ids(rows: pl.DataFrame) -> pl.DataFrame:
    """`rows` with revenue_schedule_id: the stable hash of the doc_line_id (decision 69)."""
    return stable_id(rows.drop("revenue_schedule_id", strict=False), "doc_line_id",
                     "revenue_schedule_id")  # fmt: skip


def _ahead(pages: Iterator[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    """The pages, each read and computed in a second thread while the one before is written
    (Polars and the database let go of the GIL: about a tenth faster). The connection is used
    by one thread at a time."""
    with ThreadPoolExecutor(1, thread_name_prefix="legacy-export") as pool:
        coming = pool.submit(next, pages, None)
        while (page := coming.result()) is not None:
            coming = pool.submit(next, pages, None)
            yield page


def _counted(
    pages: Iterable[pl.DataFrame], total: int, progress: Progress
) -> Iterator[pl.DataFrame]:
    done = 0
    progress(done, total)
    for page in pages:
        yield page
        done += page.height
        progress(done, total)


def _bytes_of(out: IO[str]) -> IO[bytes]:
    """The bytes under a text stream (stdout's buffer), else a writer decoding into it."""
    out.flush()
    binary = getattr(out, "buffer", None)
    return binary if binary is not None else cast("IO[bytes]", _Decoding(out))


class _Decoding:
    """Bytes written into a text stream (UTF-8, a character split between writes kept)."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.decoder = codecs.getincrementaldecoder("utf-8")()

    def write(self, data: bytes) -> int:
        self.out.write(self.decoder.decode(bytes(data)))
        return len(data)

    def flush(self) -> None:
        self.out.flush()


@contextlib.contextmanager
def _replaced(path: Path) -> Iterator[Path]:
    """A partial file beside `path`, renamed to it when written whole; removed on failure."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        yield partial
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
