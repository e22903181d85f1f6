"""Uploaded files (SPEC §4.1, §4.4, §11.2): receiving one for an import, and what the upload
pages show.

Receiving: the file's base name made safe (it stays the file's name on its card; the import
knows a file again by its content, so uploading the same file twice changes nothing), its
bytes copied into a folder of its own under a size limit, and its content checked to be what
its extension says (a CSV is text, an XLSX a workbook); the folder is removed after the
import. The shell hands over an open binary file: nothing here knows HTTP.

Showing: the file cards of the transaction files, the mappings that fit each upload type, the
event names an event file may name, and one file's summary (its counts, notes and rows in
error). Each function a shell calls takes the Context and opens its own connection.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from revrec.errors import InputError
from revrec.services import mappings, stage
from revrec.services.context import Context
from revrec.services.imports import accepted_events
from revrec.store import stage as stage_store
from revrec.vocab import TAB_OF_TYPE, TRANSACTION_TYPES

SUFFIXES = (".csv", ".xlsx")
NAME_LENGTH = 200  # characters of a safe name (a file's name holds 255)
CHUNK = 1 << 20  # bytes copied at a time
SNIFF = 8192  # bytes of a CSV looked at for a NUL byte (binary content)
ZIP_MAGIC = b"PK\x03\x04"
TRANSACTION_TABS = tuple(TAB_OF_TYPE[kind] for kind in TRANSACTION_TYPES)


class TooLargeError(InputError):
    """An upload larger than the size limit."""


def size_text(size: int) -> str:
    """A byte count as people read it: '1000 bytes', '200 MB'."""
    for unit, factor in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


def too_large(limit: int) -> str:
    """The message of an upload over the limit."""
    return f"the file is larger than the upload limit of {size_text(limit)}"


def safe_name(filename: str | None) -> str:
    """The base name of an uploaded file as a browser sent it: the last part of a path of
    either slash style, every character but letters, digits, `_`, `-`, `.` and spaces made
    `_`, no leading dot or space, at most NAME_LENGTH characters (the extension kept). An
    InputError when no file was chosen or its extension is not .csv or .xlsx."""
    base = re.split(r"[\\/]", filename or "")[-1].strip()
    if not base:
        raise InputError("choose a file to upload")
    cleaned = re.sub(r"[^\w.\- ]", "_", base).lstrip(". ")
    suffix = Path(cleaned).suffix
    if suffix.lower() not in SUFFIXES or not Path(cleaned).stem:
        raise InputError(f"{base!r}: expected a CSV (.csv) or XLSX (.xlsx) file")
    if len(cleaned) > NAME_LENGTH:
        cleaned = cleaned[: NAME_LENGTH - len(suffix)].rstrip() + suffix
    return cleaned


def copy_limited(source: IO[bytes], target: Path, limit: int) -> int:
    """Copy an open file into `target` a chunk at a time; the bytes copied. A TooLargeError
    as soon as more than `limit` bytes have come."""
    copied = 0
    with target.open("wb") as out:
        while block := source.read(CHUNK):
            copied += len(block)
            if copied > limit:
                raise TooLargeError(too_large(limit))
            out.write(block)
    return copied


def check_content(path: Path) -> None:
    """An InputError unless the file's content is what its extension says: a CSV holds text
    (no NUL byte, not a zip archive), an XLSX is a zip archive holding a workbook."""
    if path.suffix.lower() == ".xlsx":
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError):
            names = set()
        if "xl/workbook.xml" not in names:
            raise InputError(f"{path.name}: the content is not an XLSX workbook")
        return
    with path.open("rb") as handle:
        head = handle.read(SNIFF)
    if head.startswith(ZIP_MAGIC):
        raise InputError(
            f"{path.name}: the content is a zip archive (an XLSX workbook?), not CSV text: "
            "name an XLSX file .xlsx"
        )
    if b"\x00" in head:
        raise InputError(f"{path.name}: the content is not text: expected a CSV file")


@contextmanager
def received(
    source: IO[bytes], folder: Path, filename: str | None, *, limit: int
) -> Iterator[Path]:
    """An uploaded file copied (at most `limit` bytes) into a new folder of `folder` under its
    safe name and checked, for the time of the `with` block; the folder is removed afterwards,
    also when the copy or the check fails."""
    name = safe_name(filename)
    place = Path(tempfile.mkdtemp(prefix="upload-", dir=folder))
    try:
        path = place / name
        copy_limited(source, path, limit)
        check_content(path)
        yield path
    finally:
        shutil.rmtree(place, ignore_errors=True)


def transaction_cards(ctx: Context, *, tab: str | None = None) -> list[dict[str, Any]]:
    """The cards of the sales-order, billing and cost files (those of one tab: contracts,
    documents or cost), newest first, as `stage.file_cards` makes them."""
    if tab is not None and tab not in TRANSACTION_TABS:
        raise InputError(f"unknown tab {tab!r}: expected one of {', '.join(TRANSACTION_TABS)}")
    cards = stage.file_cards(ctx, tab=tab)
    return [c for c in cards if c["upload_type"] in TRANSACTION_TYPES]


def mapping_choices(ctx: Context) -> list[dict[str, Any]]:
    """Each mapping's name and the upload types it has a part for, by name: what an upload
    form offers for each type."""
    found: dict[str, list[str]] = {}
    for m in mappings.list_mappings(ctx):
        found.setdefault(m["name"], []).append(m["upload_type"])
    return [{"name": name, "upload_types": kinds} for name, kinds in sorted(found.items())]


def event_names(ctx: Context) -> list[dict[str, Any]]:
    """The event names an event file may name: those the POB templates accept (with the
    templates), then the built-in ones every setup accepts; each by name."""
    with ctx.engine.connect() as conn:
        accepted = accepted_events(conn)
    named = [{"event": e, "templates": t} for e, t in sorted(accepted.items()) if t]
    builtin = [{"event": e, "templates": t} for e, t in sorted(accepted.items()) if not t]
    return named + builtin


def file_summary(ctx: Context, file_id: int) -> dict[str, Any]:
    """One uploaded file: its card (name, type, mapping, event, who and when, rows read and
    per status), the notes saying why rows wait, and its rows in error with their messages
    (line, messages [{column, value, message}]). An InputError for an unknown file."""
    found = [c for c in stage.file_cards(ctx) if c["file_id"] == file_id]
    if not found:
        raise InputError(f"no uploaded file with id {file_id}")
    with ctx.engine.connect() as conn:
        errors = stage_store.rows_of_file(conn, file_id, "error")
        notes = stage.pending_notes(conn)
    return {
        **found[0],
        "tab": TAB_OF_TYPE[found[0]["upload_type"]],
        "notes": notes,
        "errors": [{"line": line, "messages": json.loads(m)} for line, m in errors],
    }


def files_with_errors(ctx: Context, *, tab: str | None = None) -> list[dict[str, Any]]:
    """The cards of the files (of a tab) that have rows in error, newest first: those a
    corrected file may be re-submitted for."""
    return [c for c in stage.file_cards(ctx, tab=tab) if c["error"]]
