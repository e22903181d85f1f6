"""The ordered judgement of billing rows that depend on the rows before them (SPEC §4.2, §5
step 2): IVC cancels an INV line in full only, a CM credits at most what remains billed, a CMC
cancels its CM, a document line is processed once; unknown references are findings.

Pure: the store's state comes in as plain values (`Ledger`), nothing is changed in place, and the
verdicts come back as data. No I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from revrec.money import format_minor

CONFLICT = "this document line was processed before with different content"
UNKNOWN_LINE = "unknown so_line_id: import the sales order first"


@dataclass(frozen=True)
class Ledger:
    """What judging a billing needs to know: every document line seen (doc_line_id -> its
    record: doc_type, doc_number, line_id, amount (signed), ref_doc_line_id, content_hash), the
    sales-order lines that exist, and the stored billings that refer to the known lines."""

    documents: Mapping[str, Mapping[str, Any]]
    lines: frozenset[str]
    history: tuple[tuple[str, str, int, str | None], ...] = ()  # doc_line, type, signed, ref


@dataclass(frozen=True)
class Verdict:
    """A row's verdict: accepted (with its billing record), duplicate, or an error."""

    row_id: int
    status: str  # accepted | duplicate | error
    record: Mapping[str, Any] | None = None
    column: str = ""
    value: object = None
    message: str = ""


@dataclass
class _State:
    documents: dict[str, Mapping[str, Any]]
    remaining: dict[str, int] = field(default_factory=dict)
    cancelled: set[str] = field(default_factory=set)

    def track(self, doc_line: str, kind: str, signed: int, ref: str | None) -> None:
        """Keep the remaining billed amount of each INV line as credits and cancellations
        arrive."""
        if kind == "INV":
            self.remaining[doc_line] = self.remaining.get(doc_line, 0) + signed
        elif kind in ("IVC", "CM") and ref is not None:
            self.remaining[ref] = self.remaining.get(ref, 0) + signed
        elif kind == "CMC" and ref is not None:
            self.cancelled.add(ref)
            original = self.documents.get(ref)
            if original is not None and original.get("ref_doc_line_id"):
                target = original["ref_doc_line_id"]
                self.remaining[target] = self.remaining.get(target, 0) + signed


def judge(ledger: Ledger, steps: Iterable[tuple[bool, Mapping[str, Any]]]) -> list[Verdict]:
    """Verdicts on billing rows in processing order. steps: (settled, row); a settled row was
    accepted already (it only joins the state at its place), the others are judged. A row has
    doc_type, doc_number, doc_line_id, doc_date, amount (positive), currency, so_line_id,
    ref_doc_number, ref_doc_line_id, content_hash, amount_text and `line` (its stage row id)."""
    state = _State(dict(ledger.documents))
    for doc_line, kind, signed, ref in ledger.history:
        state.track(doc_line, kind, signed, ref)
    verdicts: list[Verdict] = []
    for settled, row in steps:
        if settled:
            state.documents[row["doc_line_id"]] = row
            state.track(row["doc_line_id"], row["doc_type"], row["amount"], None)
            continue
        verdict = _judge_one(row, state, ledger.lines)
        if verdict.record is not None:
            record = verdict.record
            state.documents[row["doc_line_id"]] = {
                **row,
                "line_id": record["line_id"],
                "amount": record["amount"],
                "ref_doc_line_id": record["ref"],
            }
            state.track(row["doc_line_id"], row["doc_type"], record["amount"], record["ref"])
        verdicts.append(verdict)
    return verdicts


def _judge_one(row: Mapping[str, Any], state: _State, lines: frozenset[str]) -> Verdict:
    row_id, doc_line = row["line"], row["doc_line_id"]
    previous = state.documents.get(doc_line)
    if previous is not None:
        if previous["content_hash"] == row["content_hash"]:
            return Verdict(row_id, "duplicate")
        return Verdict(row_id, "error", None, "doc_line_id", doc_line, CONFLICT)
    kind = row["doc_type"]
    if kind == "INV" or (kind == "CM" and not row["ref_doc_line_id"]):
        return _judge_charge(row, lines)
    return _judge_reversal(row, state)


def _judge_charge(row: Mapping[str, Any], lines: frozenset[str]) -> Verdict:
    """An INV line, or a credit with no reference (its own billing-driven line)."""
    so_line, doc_line = row["so_line_id"], row["doc_line_id"]
    if so_line and so_line not in lines:
        return Verdict(row["line"], "error", None, "so_line_id", so_line, UNKNOWN_LINE)
    signed = row["amount"] if row["doc_type"] == "INV" else -row["amount"]
    record = {"line_id": so_line or doc_line, "amount": signed, "ref": None, "driven": not so_line}
    return Verdict(row["line"], "accepted", record)


def _judge_reversal(row: Mapping[str, Any], state: _State) -> Verdict:
    """An IVC, CM or CMC against the document line it refers to."""
    kind, ref = row["doc_type"], row["ref_doc_line_id"]
    original = state.documents.get(ref)
    if original is None or original["doc_number"] != row["ref_doc_number"]:
        text = f"{kind} references unknown document {row['ref_doc_number']} line {ref}"
        return Verdict(row["line"], "error", None, "ref_doc_line_id", ref, text)
    problem = _reversal_problem(row, original, ref, state)
    if problem is not None:
        return Verdict(row["line"], "error", None, *problem)
    signed = row["amount"] if kind == "CMC" else -row["amount"]
    record = {"line_id": original["line_id"], "amount": signed, "ref": ref, "driven": False}
    return Verdict(row["line"], "accepted", record)


def _reversal_problem(
    row: Mapping[str, Any], original: Mapping[str, Any], ref: str, state: _State
) -> tuple[str, object, str] | None:
    """Why an IVC, CM or CMC cannot apply to its original line (column, value, message)."""
    kind, amount, currency = row["doc_type"], row["amount"], row["currency"]
    left = state.remaining.get(ref, 0)
    wrong_original = {
        "IVC": ("INV", "an IVC cancels an INV line"),
        "CM": ("INV", "a CM credits an INV line"),
        "CMC": ("CM", "a CMC cancels a credit memo line that is not yet cancelled"),
    }
    expected, message = wrong_original[kind]
    if original["doc_type"] != expected or (kind == "CMC" and ref in state.cancelled):
        return "ref_doc_line_id", ref, message
    if kind == "IVC" and left == 0:
        message = f"{ref} is already cancelled or credited in full: nothing remains billed"
    elif kind == "IVC" and amount != left:
        message = (
            "partial invoice cancellations are not permitted: "
            f"the remaining amount of {ref} is {format_minor(left, currency)}"
        )
    elif kind == "CM" and amount > left:
        left_text = format_minor(left, currency)
        message = f"the credit exceeds the remaining billed amount of {ref}: {left_text}"
    elif kind == "CMC" and amount != -original["amount"]:
        message = f"a CMC must match its credit memo: {format_minor(-original['amount'], currency)}"
    else:
        return None
    return "amount", row["amount_text"], message
