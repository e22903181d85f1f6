"""init and setup load (SPEC §2.1): idempotent, with clear errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import query

EXAMPLES = Path(__file__).parents[2] / "examples"
TABLES = (
    "books",
    "periods",
    "accounts",
    "pob_templates",
    "contract_policies",
    "jobs",
    "settings",
    "mappings",
)


def _dump(url):
    state = {table: sorted(map(repr, query(url, f"select * from {table}"))) for table in TABLES}  # noqa: S608
    state["ssp"] = sorted(
        map(
            repr,
            query(
                url,
                "select item_code, currency, ssp, ssp_percent_micro, valid_from, valid_to from ssp",
            ),
        )
    )
    return state


def test_loading_the_same_setup_twice_changes_nothing(cli):
    cli("init", "--first-period", "2024-03", "--currency", "USD")
    cli("setup", "load", EXAMPLES / "setup.yaml")
    first = _dump(cli.url)
    cli("setup", "load", EXAMPLES / "setup.yaml")
    cli("init")
    assert _dump(cli.url) == first
    periods = json.loads(cli("period", "status", "--format", "json").stdout)
    assert periods == {
        "rows": [
            {"book": "LOCAL", "period": "2024-03", "status": "open"},
            {"book": "PRIMARY", "period": "2024-03", "status": "open"},
        ]
    }
    # 20 percent of list price is stored exactly: 20 x 1e6.
    assert ("SUP", "USD", None, 20_000_000) in [
        r[:4] for r in query(cli.url, "select item_code, currency, ssp, ssp_percent_micro from ssp")
    ]


def test_a_bad_setup_file_is_refused_with_a_message_and_changes_nothing(cli, tmp_path):
    cli("init", "--first-period", "2024-03")
    before = _dump(cli.url)
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "pob_templates:\n  - {name: x, method: ratable_monthly, params: {convention: weekly}}\n"
    )
    result = cli("setup", "load", bad, ok=False)
    assert result.exit_code != 0
    assert str(result.exception) == (
        f"{bad}: pob_templates[0].params.convention: 'weekly' is not a convention: "
        "expected one of prorate_days, full_month, mid_month"
    )
    assert _dump(cli.url) == before


def test_a_setup_file_may_rename_the_primary_book_with_its_open_period(cli, tmp_path):
    cli("init", "--first-period", "2024-03")
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text("books:\n  - {name: MAIN, primary: true, currency: EUR}\n")
    cli("setup", "load", renamed)
    periods = json.loads(cli("period", "status", "--format", "json").stdout)
    assert periods == {"rows": [{"book": "MAIN", "period": "2024-03", "status": "open"}]}
    assert query(cli.url, "select name, is_primary, currency from books") == [("MAIN", True, "EUR")]


def _written(url):
    """The setup tables and the number of audit entries: what a refused file must not change."""
    return {**_dump(url), "audit": query(url, "select count(*) from audit_log")}


# Each defect of a setup file that once gave a traceback or was stored silently, and its message.
DEFECTS = [
    (
        "books:\n  - {name: PRIMARY, primary: true}\n  - {name: LOCAL, primary: true}\n",
        "books[1].primary: a second primary book: books[0] is the primary book",
    ),
    (
        "ssp:\n  - {item_code: LIC, currency: USD, ssp: '1.00', valid_from: 2024-13-01}\n",
        "ssp[0].valid_from: '2024-13-01' is not a date: expected YYYY-MM-DD, such as 2024-01-01",
    ),
    (
        "pob_templates:\n  - {name: m, method: event, events: milestone}\n",
        "pob_templates[0].events: expected a list, got the string 'milestone'",
    ),
    (
        "accounts: {revenue: [1, 2]}\n",
        "accounts.revenue: expected a GL code (a string or an integer), got the list [1, 2]",
    ),
    (
        "jobs:\n  - {name: revenue_process, active: maybe}\n",
        "jobs[0].active: expected true or false, got the string 'maybe'",
    ),
    (
        "jobs:\n  - {name: revenue_process, every: soon}\n",
        (
            "jobs[0].every: 'soon' is not an interval: expected a whole number of minutes, "
            "hours or days, such as 15m, 1h or 1d"
        ),
    ),
    (
        "jobs:\n  - {name: revenue_process, cron: '61 * * * *'}\n",
        (
            "jobs[0].cron: '61 * * * *' is not a cron expression: expected five fields "
            "(minute hour day month weekday), such as '0 2 * * *'"
        ),
    ),
    (
        "books:\n  - {name: LOCAL, methods: {monthly_full: telepathy}}\n",
        (
            "books[0].methods.monthly_full: 'telepathy' is not a method: expected one of "
            "ratable_daily, ratable_monthly, point_in_time, event, upon_billing"
        ),
    ),
    (
        "ssp:\n  - {item_code: LIC, currency: USD, ssp: -5}\n",
        "ssp[0].ssp: -5 is negative: an SSP is zero or more",
    ),
    (
        (
            "pob_templates:\n  - {name: a, method: ratable_daily}\n"
            "  - {name: m, method: event, evnets: [milestone]}\n"
        ),
        "pob_templates[1].evnets: unknown key; did you mean 'events'?",
    ),
    # Against the database: init's templates are known, others not; the primary book stays one.
    (
        "books:\n  - {name: LOCAL, methods: {monthly_ful: ratable_daily}}\n",
        (
            "books[0].methods.monthly_ful: 'monthly_ful' is not a POB template; did you mean "
            "'monthly_full'?"
        ),
    ),
    (
        "books:\n  - {name: PRIMARY, currency: USD}\n",
        (
            "books[0].primary: PRIMARY is the primary book: give it primary: true (a setup file "
            "cannot make it secondary)"
        ),
    ),
    (
        "ssp:\n  - {item_code: LIC, currency: USD, ssp: 75000.001}\n",
        "ssp[0].ssp: '75000.001' has 3 decimals; USD allows at most 2",
    ),
]


@pytest.mark.parametrize(("text", "message"), DEFECTS)
def test_each_defect_is_refused_with_its_path_and_changes_nothing(cli, tmp_path, text, message):
    cli("init", "--first-period", "2024-03")
    before = _written(cli.url)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    result = cli("setup", "load", bad, ok=False)
    assert (result.exit_code, str(result.exception)) == (1, f"{bad}: {message}")
    assert _written(cli.url) == before


FIVE_PROBLEMS = """\
books:
  - {name: PRIMARY, primary: true, currency: USD}
  - {name: LOCAL, primary: true, currency: USD}
accounts: {revenue: "4000"}
pob_templates:
  - {name: ok, method: ratable_daily}
  - {name: m, method: event, evnets: [milestone]}
  - {name: e, method: event, events: milestone}
jobs:
  - {name: revenue_process, active: "maybe"}
  - {name: event_import, cron: "61 * * * *"}
"""


def test_every_problem_is_reported_at_once_in_file_order_and_nothing_is_written(
    db_url, cli, tmp_path
):
    cli("init", "--first-period", "2024-03")
    before = _written(cli.url)
    bad = tmp_path / "five.yaml"
    bad.write_text(FIVE_PROBLEMS, encoding="utf-8")
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "revrec", "--db", db_url, "setup", "load", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [
        f"error: {bad}: 5 problems:",
        "books[1].primary: a second primary book: books[0] is the primary book",
        "pob_templates[1].evnets: unknown key; did you mean 'events'?",
        "pob_templates[2].events: expected a list, got the string 'milestone'",
        "jobs[0].active: expected true or false, got the string 'maybe'",
        (
            "jobs[1].cron: '61 * * * *' is not a cron expression: expected five fields "
            "(minute hour day month weekday), such as '0 2 * * *'"
        ),
    ]
    # Neither the good entries (accounts, pob_templates[0]) nor the audit log are written.
    assert _written(cli.url) == before


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n# and another\n", "{}\n"])
def test_an_empty_setup_file_is_an_error_not_loaded(cli, tmp_path, text):
    cli("init", "--first-period", "2024-03")
    before = _written(cli.url)
    empty = tmp_path / "empty.yaml"
    empty.write_text(text, encoding="utf-8")
    result = cli("setup", "load", empty, ok=False)
    assert (result.exit_code, str(result.exception)) == (1, f"{empty}: the setup file is empty")
    assert _written(cli.url) == before


def test_numbers_are_read_exactly_from_their_text(cli, tmp_path):
    cli("init", "--first-period", "2024-03")
    exact = tmp_path / "exact.yaml"
    exact.write_text(
        "accounts: {revenue: 04000, deferred_revenue: 2400}\n"
        "ssp:\n"
        "  - {item_code: A, currency: USD, ssp: 75000.5}\n"
        "  - {item_code: B, currency: USD, ssp: 0.10}\n"
        "  - {item_code: C, currency: JPY, ssp: 1200}\n"
        "  - {item_code: D, currency: USD, ssp_percent_of_list: 12.345678}\n",
        encoding="utf-8",
    )
    cli("setup", "load", exact)
    rows = query(cli.url, "select item_code, ssp, ssp_percent_micro from ssp order by item_code")
    assert rows == [
        ("A", 7_500_050, None),
        ("B", 10, None),
        ("C", 1200, None),
        ("D", None, 12_345_678),
    ]
    codes = query(cli.url, "select role, gl_code from accounts where scope = 'default'")
    assert {"revenue": "04000", "deferred_revenue": "2400"}.items() <= dict(codes).items()


def test_method_overrides_name_templates_of_the_file_or_the_database(cli, tmp_path):
    cli("init", "--first-period", "2024-03")
    setup = tmp_path / "setup.yaml"
    setup.write_text(
        "books:\n"
        "  - {name: LOCAL, currency: USD, methods: {mine: ratable_daily, monthly_full: event}}\n"
        "pob_templates:\n  - {name: mine, method: ratable_monthly}\n",
        encoding="utf-8",
    )
    assert cli("setup", "load", setup).stdout == f"{setup}: loaded 1 books, 1 pob_templates\n"
    first = _dump(cli.url)
    cli("setup", "load", setup)
    assert _dump(cli.url) == first
    assert query(cli.url, "select params from pob_templates where name = 'mine'") in (
        [({"convention": "prorate_days"},)],
        [('{"convention": "prorate_days"}',)],
    )


def test_the_primary_book_cannot_take_the_name_of_a_secondary_book(cli, tmp_path):
    cli("init", "--first-period", "2024-03")
    cli("setup", "load", EXAMPLES / "setup.yaml")  # books PRIMARY and LOCAL
    before = _written(cli.url)
    bad = tmp_path / "bad.yaml"
    bad.write_text("books:\n  - {name: LOCAL, primary: true}\n", encoding="utf-8")
    result = cli("setup", "load", bad, ok=False)
    assert str(result.exception) == (
        f"{bad}: books[0].name: 'LOCAL' is a secondary book: the primary book PRIMARY cannot "
        "take its name"
    )
    assert _written(cli.url) == before


def test_a_renamed_primary_book_is_renamed_first_whatever_the_order(cli, tmp_path):
    cli("init", "--first-period", "2024-03")
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text(
        "books:\n  - {name: PRIMARY, currency: USD}\n  - {name: MAIN, primary: true}\n",
        encoding="utf-8",
    )
    cli("setup", "load", renamed)
    first = _dump(cli.url)
    assert query(cli.url, "select name, is_primary from books order by name") == [
        ("MAIN", True),
        ("PRIMARY", False),
    ]
    cli("setup", "load", renamed)
    assert _dump(cli.url) == first
