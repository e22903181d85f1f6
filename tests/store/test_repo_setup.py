"""The setup repository (store.setup): books and their periods, accounts, templates, the SSP
table, policies and settings, written and read back on SQLite and PostgreSQL."""

from datetime import date

import pytest
import sqlalchemy as sa

from revrec.store import db
from revrec.store import setup as store


@pytest.fixture
def conn(db_url):
    engine = db.engine(db_url)
    db.migrate(engine)
    with engine.begin() as connection:
        yield connection
    engine.dispose()


def _rows(conn, sql):
    return sorted(tuple(r) for r in conn.execute(sa.text(sql)))


def test_a_book_starts_with_one_open_period(conn):
    assert store.primary_book(conn) is None
    assert store.open_period(conn) is None
    store.add_book(conn, "PRIMARY", "usd", primary=True, period="2024-03")
    store.add_book(conn, "LOCAL", "EUR", primary=False, period="2024-03", independent=True)
    assert store.primary_book(conn) == "PRIMARY"
    assert store.book_names(conn) == ["LOCAL", "PRIMARY"]
    assert store.book_exists(conn, "LOCAL")
    assert not store.book_exists(conn, "NONE")
    assert store.open_period(conn) == "2024-03"
    assert store.open_period(conn, "LOCAL") == "2024-03"
    assert _rows(conn, "select name, currency from books") == [("LOCAL", "EUR"), ("PRIMARY", "USD")]


def test_a_renamed_book_keeps_its_periods_and_an_update_keeps_what_it_is_not_given(conn):
    store.add_book(conn, "PRIMARY", "USD", primary=True, period="2024-03", independent=True)
    store.rename_book(conn, "PRIMARY", "MAIN")
    store.update_book(conn, "MAIN", currency="EUR", methods={"license_pit": "ratable_daily"})
    assert store.primary_book(conn) == "MAIN"
    assert store.open_period(conn, "MAIN") == "2024-03"
    assert _rows(conn, "select book, period, status from periods") == [("MAIN", "2024-03", "open")]
    assert _rows(conn, "select name, currency, independent from books") == [("MAIN", "EUR", True)]


def test_accounts_templates_policies_and_settings_are_replaced_not_added(conn):
    store.set_account(conn, "", "default", "", "revenue", "4000")
    store.set_account(conn, "", "default", "", "revenue", "4100")
    store.set_account(conn, "", "template", "license_pit", "revenue", "4200")
    store.save_template(conn, "x", "ratable_monthly", {"convention": "full_month"}, [])
    store.save_template(conn, "x", "event", {}, ["milestone"])
    store.set_contract_policy(conn, "C1", "catch_up")
    store.set_contract_policy(conn, "C1", "prospective")
    store.set_setting(conn, "modification_policy", "catch_up")
    store.set_setting(conn, "modification_policy", "prospective")
    assert _rows(conn, "select scope, scope_key, role, gl_code from accounts") == [
        ("default", "", "revenue", "4100"),
        ("template", "license_pit", "revenue", "4200"),
    ]
    assert store.templates(conn) == [
        {"name": "x", "method": "event", "params": {}, "events": ["milestone"]}
    ]
    assert _rows(conn, "select * from contract_policies") == [("C1", "prospective")]
    assert _rows(conn, "select * from settings") == [("modification_policy", "prospective")]


def test_the_ssp_table_is_replaced_whole(conn):
    first = {
        "item_code": "SUP",
        "currency": "USD",
        "ssp": None,
        "ssp_percent_micro": 20_000_000,
        "valid_from": date(2024, 1, 1),
        "valid_to": None,
    }
    store.replace_ssp(conn, [first, {**first, "item_code": "LIC", "ssp": 100_00}])
    store.replace_ssp(conn, [{**first, "item_code": "NEW"}])
    found = _rows(conn, "select item_code, ssp, ssp_percent_micro from ssp")
    assert found == [("NEW", None, 20_000_000)]
    store.replace_ssp(conn, [])
    assert _rows(conn, "select item_code from ssp") == []
