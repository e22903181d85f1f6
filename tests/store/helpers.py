"""Small builders for store tests: CSV files written in the test, queries on the store."""

import csv

import sqlalchemy as sa

from revrec.store import db

SO_HEADS = [
    "contract_id",
    "customer_id",
    "so_number",
    "so_line_id",
    "order_date",
    "item_code",
    "pob_template",
    "amount",
    "currency",
    "service_start_date",
    "service_end_date",
]
BILL_HEADS = [
    "doc_type",
    "doc_number",
    "doc_line_id",
    "doc_date",
    "amount",
    "currency",
    "customer_id",
    "so_line_id",
    "ref_doc_number",
    "ref_doc_line_id",
    "service_start_date",
    "service_end_date",
]


def write_csv(path, heads, rows):
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(heads)
        writer.writerows(rows)
    return path


def so(
    line_id,
    amount,
    *,
    contract="C1",
    customer="ACME",
    template="saas_daily",
    start="2024-03-01",
    end="2025-02-28",
    order_date=None,
    currency="USD",
):
    return [
        contract,
        customer,
        f"SO-{contract}",
        line_id,
        order_date or start,
        "ITEM",
        template,
        amount,
        currency,
        start,
        end,
    ]


def bill(
    kind,
    number,
    line,
    date,
    amount,
    *,
    so_line="",
    ref_number="",
    ref_line="",
    customer="ACME",
    currency="USD",
    start="",
    end="",
):
    return [
        kind,
        number,
        line,
        date,
        amount,
        currency,
        customer,
        so_line,
        ref_number,
        ref_line,
        start,
        end,
    ]


def query(url, sql, **params):
    engine = db.engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


def postings(url, book="PRIMARY"):
    return {
        (line, period): amount
        for line, period, amount in query(
            url, "select line_id, period, amount from postings where book = :b", b=book
        )
    }


def statuses(url):
    return {
        line: (status, messages)
        for line, status, messages in query(
            url, "select line, status, messages from stage_rows order by row_id"
        )
    }


# One primary USD book with every account of the month-end (SPEC §2), for setup files of tests.
PRIMARY_BOOK = """
books:
  - {name: PRIMARY, primary: true, currency: USD}
accounts: {accounts_receivable: "1200", deferred_revenue: "2400", contract_asset: "1300",
           revenue: "4000", contract_cost_asset: "1500", contract_cost_expense: "6100",
           cost_clearing: "2150"}
"""


def start(cli, tmp_path, setup, first_period="2024-01"):
    """`revrec init` at the first period, then `setup load` of this setup file's text."""
    cli("init", "--first-period", first_period)
    (tmp_path / "setup.yaml").write_text(setup)
    cli("setup", "load", tmp_path / "setup.yaml")


def month_end(cli, tmp_path, *, book="PRIMARY", close=True):
    """Approve, transfer and summarize the open period's journal of a book; then close it."""
    for step in ("approve", "transfer", "summarize"):
        extra = ("--output", tmp_path / "gl") if step == "transfer" else ()
        cli("--book", book, "je", step, *extra)
    if close:
        cli("period", "close", "--yes")
