"""What a page reads, kept while nothing was audit-logged (decision 89): a journal's
reconciliation checks and its fingerprint, and the reports' Basis (kept while no entry that
may change the reports' inputs was logged: `audit.basis_mark`, decision 91). Every change to
the subledger (an import, a run, a step, a setup load) appends to the audit log, so the log's
head names the state a result was computed from. For reads only: a connection that has
written (and not yet audit-logged) must compute afresh."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import sqlalchemy as sa

from revrec.store import audit as audit_store

T = TypeVar("T")
KEPT = 32  # results kept: a few books and periods of the reports and cards being looked at
_kept: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_lock = threading.Lock()


def cached(
    conn: sa.Connection,
    key: tuple[Hashable, ...],
    compute: Callable[[], T],
    *,
    basis_only: bool = False,
) -> T:
    """`compute()`, or its result from the last time with the same key and audit log head
    (`basis_only`: the same newest entry that may change the reports' inputs,
    `audit.basis_mark`, for a result computed from those inputs alone). The head is read
    before `compute` reads anything, so a kept result is never older than its key."""
    head = audit_store.basis_mark(conn) if basis_only else audit_store.head(conn)
    full = (str(conn.engine.url), *key, basis_only, head)
    with _lock:
        if full in _kept:
            _kept.move_to_end(full)
            return _kept[full]  # type: ignore[no-any-return]
    computed = compute()
    with _lock:
        _kept[full] = computed
        while len(_kept) > KEPT:
            _kept.popitem(last=False)
    return computed


def clear() -> None:
    """Forget every kept result (the benchmarks' first requests)."""
    with _lock:
        _kept.clear()
