"""The columns of each listing as shown (names and types, in order), for the CLI and the web app.

Definitions only: an empty listing keeps its headings because its frame is built with these.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl
from polars._typing import PolarsDataType

from revrec.vocab import STATUSES

Columns = Mapping[str, PolarsDataType]

STAGE_ROW_COLUMNS: Columns = {
    "row_id": pl.Int64,
    "tab": pl.String,
    "file": pl.String,
    "line": pl.Int64,
    "status": pl.String,
    "key": pl.String,
    "period": pl.String,
    "messages": pl.String,
}
FILE_CARD_COLUMNS: Columns = {
    "file_id": pl.Int64,
    "file": pl.String,
    "upload_type": pl.String,
    "mapping": pl.String,
    "event": pl.String,
    "uploaded_by": pl.String,
    "uploaded_at": pl.String,
    "rows_read": pl.Int64,
    **dict.fromkeys(STATUSES, pl.Int64),
    "duplicate": pl.Int64,
}
JOB_COLUMNS: Columns = {
    "name": pl.String,
    "active": pl.Boolean,
    "every": pl.String,
    "cron": pl.String,
    "last_run_at": pl.String,
    "last_result": pl.String,
}
# One job's run (`revrec process`, `revrec jobs run`): its notes are shown apart.
JOB_RUN_COLUMNS: Columns = {
    "job": pl.String,
    "processed": pl.Int64,
    "error": pl.Int64,
    "duplicate": pl.Int64,
    "posted_lines": pl.Int64,
}
MAPPING_COLUMNS: Columns = {
    "name": pl.String,
    "upload_type": pl.String,
    "source": pl.String,
    "strict": pl.Boolean,
    "attributes": pl.Int64,
}
PERIOD_COLUMNS: Columns = {"book": pl.String, "period": pl.String, "status": pl.String}
# The money columns of a subledger line, shown in major units of the line's currency.
LINE_MONEY_COLUMNS = ("allocated", "billed", "recognized", "open_period")
POSTING_COLUMNS = ("period", "currency", "amount", "to_date")
BENCH_COLUMNS: Columns = {
    "stage": pl.String,
    "seconds": pl.Float64,
    "ratio_to_read_csv": pl.Float64,
}
JOURNAL_COLUMNS: Columns = {
    "book": pl.String,
    "period": pl.String,
    "state": pl.String,
    "debit": pl.String,
    "credit": pl.String,
    "currency": pl.String,
    "lines": pl.Int64,
}
CHECK_COLUMNS: Columns = {
    "name": pl.String,
    "currency": pl.String,
    "left": pl.String,
    "right": pl.String,
    "pass": pl.Boolean,
}
CHECKLIST_COLUMNS: Columns = {
    "name": pl.String,
    "ok": pl.Boolean,
    "detail": pl.String,
    "warning": pl.Boolean,
}

USER_COLUMNS: Columns = {
    "name": pl.String,
    "role": pl.String,
    "active": pl.Boolean,
    "created_at": pl.String,
}

PAGE_BENCH_COLUMNS: Columns = {
    "path": pl.String,
    "status": pl.Int64,
    "first_ms": pl.Float64,
    "median_ms": pl.Float64,
    "max_ms": pl.Float64,
    "bytes": pl.Int64,
}
