"""The subledger repository (store.subledger): each line's newest version and what was
allocated, billed and posted for it, of one contract or all."""

from datetime import date

import pytest
import sqlalchemy as sa

from revrec.store import db
from revrec.store import schema as t
from revrec.store import subledger as store


@pytest.fixture
def conn(db_url):
    engine = db.engine(db_url)
    db.migrate(engine)
    with engine.begin() as connection:
        yield connection
    engine.dispose()


def _version(line_id, version, contract, start):
    return {
        "line_id": line_id, "version": version, "contract_id": contract, "line_no": 2,
        "content_hash": f"{line_id}{version}", "pob_template": "ratable_daily", "amount": 100_00,
        "quantity_micro": 1_000_000, "start": start, "end": date(2025, 1, 1),
        "effective_date": start, "period": "2024-03",
    }  # fmt: skip


def _billing(doc_line_id, line_id, amount):
    return {
        "doc_line_id": doc_line_id, "doc_type": "INV", "doc_number": "INV-1",
        "doc_date": date(2024, 3, 1), "line_id": line_id, "customer_id": "ACME",
        "currency": "USD", "amount": amount, "period": "2024-03", "content_hash": doc_line_id,
    }  # fmt: skip


@pytest.fixture
def subledger(conn):
    """Contract C1: L1 (two versions), L2; contract C2: L3."""
    conn.execute(
        t.contracts.insert(),
        [
            {"contract_id": "C1", "customer_id": "ACME", "currency": "USD"},
            {"contract_id": "C2", "customer_id": "ACME", "currency": "EUR"},
        ],
    )
    conn.execute(
        t.line_versions.insert(),
        [
            _version("L1", 1, "C1", date(2024, 1, 1)),
            _version("L1", 2, "C1", date(2024, 3, 1)),
            _version("L2", 1, "C1", date(2024, 1, 1)),
            _version("L3", 1, "C2", date(2024, 1, 1)),
        ],
    )
    conn.execute(
        t.allocations.insert(),
        [
            {"line_id": "L1", "version": 1, "allocated": 60_00},
            {"line_id": "L1", "version": 2, "allocated": 70_00},
            {"line_id": "L3", "version": 1, "allocated": 100_00},
        ],
    )
    conn.execute(t.billings.insert(), [_billing("B1", "L1", 50_00), _billing("B2", "L3", 100_00)])
    conn.execute(
        t.postings.insert(),
        [
            {"book": "PRIMARY", "line_id": "L1", "period": "2024-03", "amount": 5_00},
            {"book": "PRIMARY", "line_id": "L1", "period": "2024-02", "amount": 4_00},
            {"book": "LOCAL", "line_id": "L1", "period": "2024-03", "amount": 9_00},
            {"book": "PRIMARY", "line_id": "L3", "period": "2024-03", "amount": 8_00},
        ],
    )


@pytest.mark.usefixtures("subledger")
def test_each_line_is_read_at_its_newest_version_with_its_contracts_currency(conn):
    found = store.newest_versions(conn).sort("line_id")
    assert found.select("line_id", "version", "currency", "start").rows() == [
        ("L1", 2, "USD", date(2024, 3, 1)),
        ("L2", 1, "USD", date(2024, 1, 1)),
        ("L3", 1, "EUR", date(2024, 1, 1)),
    ]
    assert store.newest_versions(conn, "C2")["line_id"].to_list() == ["L3"]
    assert store.contract_exists(conn, "C1")
    assert not store.contract_exists(conn, "C9")
    assert store.line_exists(conn, "L2")
    assert not store.line_exists(conn, "L9")


@pytest.mark.usefixtures("subledger")
def test_allocations_billings_and_postings_are_read_for_one_contract_or_all(conn):
    assert sorted(store.allocations(conn, "C1").rows()) == [("L1", 1, 60_00), ("L1", 2, 70_00)]
    assert store.allocations(conn).height == 3
    assert store.billed(conn, "C2").rows() == [("L3", 100_00)]
    assert sorted(store.posted(conn, "PRIMARY", "C1").rows()) == [
        ("L1", "2024-02", 4_00),
        ("L1", "2024-03", 5_00),
    ]
    assert store.posted(conn, "LOCAL").rows() == [("L1", "2024-03", 9_00)]
    assert sorted(store.line_postings(conn, "PRIMARY", "L1").rows()) == [
        ("2024-02", 4_00),
        ("2024-03", 5_00),
    ]
    assert store.line_postings(conn, "PRIMARY", "L2").height == 0
    assert conn.execute(sa.select(sa.func.count()).select_from(t.postings)).scalar() == 4
