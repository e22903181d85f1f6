"""init and setup load (SPEC §2.1): idempotent, with clear errors."""

import json
from pathlib import Path

from helpers import query

EXAMPLES = Path(__file__).parents[2] / "examples"
TABLES = ("books", "periods", "accounts", "pob_templates", "contract_policies", "jobs", "settings")


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
    assert "convention expected one of" in str(result.exception)
    assert _dump(cli.url) == before


def test_a_setup_file_may_rename_the_primary_book_with_its_open_period(cli, tmp_path):
    cli("init", "--first-period", "2024-03")
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text("books:\n  - {name: MAIN, primary: true, currency: EUR}\n")
    cli("setup", "load", renamed)
    periods = json.loads(cli("period", "status", "--format", "json").stdout)
    assert periods == {"rows": [{"book": "MAIN", "period": "2024-03", "status": "open"}]}
    assert query(cli.url, "select name, is_primary, currency from books") == [("MAIN", True, "EUR")]
