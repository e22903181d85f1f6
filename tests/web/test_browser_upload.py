"""A 100,000-row sales-order file uploaded through the Transactions page in a real browser:
the progress bar moves to 100 %, the page says it is importing and processing, and the file's
summary page follows with every row processed. Not a timed test: `make bench-web` times pages."""

import re

import polars as pl
from browser import SQLITE_ONLY, login
from playwright.sync_api import expect

pytest_plugins = ("browser",)
pytestmark = SQLITE_ONLY
ROWS = 100_000
TEMPLATES = ("license_pit", "support_monthly", "saas_daily")


def big_file(path):
    """ROWS sales-order lines, four to a contract, in the revrec mapping's columns."""
    i = pl.int_range(ROWS, eager=True)
    pl.DataFrame(
        {
            "contract_id": ("BIG-" + (i // 4).cast(pl.String)),
            "customer_id": ("CUST-" + (i // 40).cast(pl.String)),
            "so_number": ("SO-BIG-" + (i // 4).cast(pl.String)),
            "so_line_id": ("SO-BIG-L" + i.cast(pl.String)),
            "order_date": "2024-03-01",
            "item_code": "ITEM",
            "pob_template": pl.Series([TEMPLATES[k % 3] for k in range(ROWS)]),
            "amount": ((i % 900 + 100).cast(pl.String) + ".00"),
            "currency": "USD",
            "service_start_date": "2024-03-01",
            "service_end_date": "2025-02-28",
        }
    ).write_csv(path)
    return path


def test_a_100k_row_upload_shows_its_progress_and_finishes(page, tmp_path):
    path = big_file(tmp_path / "big_orders.csv")
    login(page, "accountant")
    page.goto("/transactions?type=sales_order&mapping=revrec")
    page.locator("#upload-form input[type=file]").set_input_files(str(path))
    page.get_by_role("button", name="Upload and process").click()
    status = page.locator("#upload-form [data-upload-status]")
    expect(status).to_have_text("Importing and processing…")
    assert page.locator("#upload-form progress").evaluate("bar => bar.value") == 100
    page.wait_for_url(re.compile(r"/files/\d+$"), timeout=240_000)
    expect(page.locator("p.flash").first).to_have_text(
        f"big_orders.csv: {ROWS} rows read, {ROWS} processed, 0 future, 0 pending, 0 error, "
        "0 duplicate"
    )
