"""What a job did: its result for the user, and what happened to each stage row of its batch."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

DUPLICATE = "duplicate of a processed row: skipped"


@dataclass
class JobResult:
    job: str
    processed: int = 0
    error: int = 0
    duplicate: int = 0
    posted_lines: int = 0
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "job": self.job,
            "processed": self.processed,
            "error": self.error,
            "duplicate": self.duplicate,
            "posted_lines": self.posted_lines,
            "notes": self.notes,
        }


def message(column: str, value: object, text: str) -> dict[str, str]:
    return {"column": column, "value": "" if value is None else str(value), "message": text}


@dataclass
class Outcome:
    """What happened to each stage row of a batch.

    Rows judged one by one are in `rows` (row_id -> (status, messages)); rows judged as a whole
    column are in `done` (processed), `skipped` (duplicates) and `failed` (errors: line, column,
    value, message); `repeated` holds the repeats of an identical row of their file that was
    processed (duplicates, not judged themselves). A row is judged once.
    """

    rows: dict[int, tuple[str, list[dict[str, str]]]] = field(default_factory=dict)
    done: list[pl.Series] = field(default_factory=list)
    skipped: list[pl.Series] = field(default_factory=list)
    failed: list[pl.DataFrame] = field(default_factory=list)
    repeated: list[pl.Series] = field(default_factory=list)
    duplicates: int = 0

    def ok(self, row_id: int) -> None:
        self.rows[row_id] = ("processed", [])

    def duplicate(self, row_id: int) -> None:
        self.duplicates += 1
        self.rows[row_id] = ("processed", [message("", "", DUPLICATE)])

    def fail(self, row_id: int, column: str, value: object, text: str) -> None:
        status, found = self.rows.get(row_id, ("error", []))
        self.rows[row_id] = (
            "error",
            [*(found if status == "error" else []), message(column, value, text)],
        )

    def ok_all(self, row_ids: pl.Series) -> None:
        self.done.append(row_ids)

    def duplicate_all(self, row_ids: pl.Series) -> None:
        self.duplicates += row_ids.len()
        self.skipped.append(row_ids)

    def repeat_all(self, row_ids: pl.Series) -> None:
        """Rows that repeat an identical row of their file, which was processed."""
        self.duplicates += row_ids.len()
        self.repeated.append(row_ids)

    def fail_all(self, errors: pl.DataFrame) -> None:
        """Errors (line = row id, column, value, message), several per row in their order."""
        if errors.height:
            self.failed.append(errors.select("line", "column", "value", "message"))

    def counts(self) -> tuple[int, int]:
        """(processed, error) rows."""
        processed = sum(1 for st, _ in self.rows.values() if st == "processed")
        processed += sum(s.len() for s in (*self.done, *self.skipped, *self.repeated))
        error = sum(1 for st, _ in self.rows.values() if st == "error")
        error += sum(f["line"].n_unique() for f in self.failed)
        return processed, error

    def result(self, job: str) -> JobResult:
        processed, error = self.counts()
        return JobResult(job, processed=processed, error=error, duplicate=self.duplicates)
