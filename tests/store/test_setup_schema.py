"""The setup file's schema alone (SPEC §2.1): no database, no CLI."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from revrec.errors import InputError
from revrec.services.setup import ACCOUNT_ROLES
from revrec.services.setup_check import SetupFileError, Stored, check
from revrec.services.setup_file import parse_setup
from revrec.services.setup_schema import Accounts

EXAMPLES = Path(__file__).parents[2] / "examples"
STORED = Stored(
    primary="PRIMARY",
    books=frozenset({"PRIMARY", "LOCAL"}),
    templates=frozenset({"monthly_full", "license_pit"}),
)


def _problems(text, stored=None):
    """The message lines of a setup text that check refuses."""
    with pytest.raises(SetupFileError) as refused:
        check(parse_setup(text).document, stored, source="s.yaml")
    return [str(p) for p in refused.value.problems]


def _one(text, stored=None):
    [found] = _problems(text, stored)
    return found


def test_the_example_file_is_a_valid_setup():
    setup = check(yaml.safe_load((EXAMPLES / "setup.yaml").read_text()), STORED)
    assert [(b.name, b.primary, b.methods) for b in setup.books] == [
        ("PRIMARY", True, {}),
        ("LOCAL", False, {"support_monthly": "ratable_daily"}),
    ]
    assert [t.stored_params() for t in setup.pob_templates] == [
        {"at": "start"},
        {"convention": "full_month"},
        {},
        {},
    ]
    assert [row.row()["ssp"] for row in setup.ssp] == [7_500_000, None, 2_500_000]
    assert setup.ssp[1].row()["ssp_percent_micro"] == 20_000_000
    assert setup.ssp[1].valid_from == date(2024, 1, 1)
    assert tuple(Accounts.model_fields) == ACCOUNT_ROLES


PROBLEMS = [
    (
        "books: [{name: A, primary: yes, independent: true}]",
        "books[0].independent: only a secondary book is independent (of the primary book)",
    ),
    (
        "books: [{name: A, currency: EURO}]",
        "books[0].currency: unknown currency 'EURO': expected an ISO 4217 code",
    ),
    (
        "books: [{name: ''}]",
        "books[0].name: expected a book name, got an empty string",
    ),
    (
        "books: [{name: 7}]",
        "books[0].name: expected a book name (a string), got the number 7",
    ),
    (
        "books: [{name: BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB}]",
        (
            "books[0].name: 'BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' is "
            "longer than 64 characters"
        ),
    ),
    (
        "books: {name: A}",
        "books: expected a list, got a mapping",
    ),
    (
        "books: [A]",
        "books[0]: expected a mapping, got the string 'A'",
    ),
    (
        "books: [{name: A, methods: [x]}]",
        "books[0].methods: expected a mapping, got the list ['x']",
    ),
    (
        "accounts: {revenue: 4000.5}",
        "accounts.revenue: expected a GL code (a string or an integer), got the number 4000.5",
    ),
    (
        "accounts: {revenue: 0x1F}",
        "accounts.revenue: write 0x1F in quotes: YAML reads it as the number 31",
    ),
    (
        "accounts: {bank: '1200'}",
        "accounts.bank: unknown key: expected one of " + ", ".join(ACCOUNT_ROLES),
    ),
    (
        "defaults: {modification_policy: catchup}",
        (
            "defaults.modification_policy: 'catchup' is not a modification policy; did you mean "
            "'catch_up'?"
        ),
    ),
    (
        "pob_templates: [{name: t, method: ratable_daily, params: {conventon: full_month}}]",
        "pob_templates[0].params.conventon: unknown key; did you mean 'convention'?",
    ),
    (
        "pob_templates: [{name: t, method: point_in_time, params: {convention: full_month}}]",
        (
            "pob_templates[0].params.convention: only a ratable_monthly template has a convention; "
            "this one is point_in_time"
        ),
    ),
    (
        "pob_templates: [{name: t, method: ratable_monthly, params: {at: end}}]",
        (
            "pob_templates[0].params.at: only a point_in_time template has the parameter at; this "
            "one is ratable_monthly"
        ),
    ),
    (
        "pob_templates: [{name: t, method: point_in_time, params: {at: finish}}]",
        (
            "pob_templates[0].params.at: 'finish' is not a point in time: expected one of start, "
            "end, range_end"
        ),
    ),
    (
        "pob_templates: [{name: t, method: ratable_daily, events: [go]}]",
        "pob_templates[0].events: only an event template lists events; this one is ratable_daily",
    ),
    (
        "pob_templates: [{name: t, method: event}]",
        (
            "pob_templates[0].events: an event template lists the events it accepts, such as "
            "[milestone]"
        ),
    ),
    (
        "pob_templates: [{name: t, method: event, events: [go, 5]}]",
        "pob_templates[0].events[1]: expected an event name (a string), got the number 5",
    ),
    (
        "pob_templates: [{method: event, events: [go]}]",
        "pob_templates[0].name: missing: this key is required",
    ),
    (
        "ssp: [{item_code: A, currency: USD}]",
        "ssp[0]: give exactly one of ssp, ssp_percent_of_list",
    ),
    (
        "ssp: [{item_code: A, currency: USD, ssp: '1', ssp_percent_of_list: '2'}]",
        "ssp[0]: give exactly one of ssp, ssp_percent_of_list",
    ),
    (
        "ssp: [{item_code: A, currency: USD, ssp: '1,000.00'}]",
        "ssp[0].ssp: '1,000.00' is not a number: expected digits such as 75000.00",
    ),
    (
        "ssp: [{item_code: A, currency: USD, ssp: true}]",
        "ssp[0].ssp: expected an amount (a number such as 75000.00), got true",
    ),
    (
        "ssp: [{item_code: A, currency: USD, ssp: .inf}]",
        "ssp[0].ssp: expected an amount (a number such as 75000.00), got the number inf",
    ),
    (
        "ssp: [{item_code: A, currency: JPY, ssp: 10.5}]",
        "ssp[0].ssp: '10.5' has 1 decimals; JPY allows at most 0",
    ),
    (
        "ssp: [{item_code: A, currency: USD, ssp_percent_of_list: -1}]",
        "ssp[0].ssp_percent_of_list: -1 is not a percent from 0 to 100",
    ),
    (
        "ssp: [{item_code: A, currency: USD, ssp_percent_of_list: 0.1234567}]",
        "ssp[0].ssp_percent_of_list: 0.1234567 has more than 6 decimals",
    ),
    (
        "ssp: [{item_code: A, currency: USD, ssp: '1', valid_from: '2024-01-01'}]",
        (
            "ssp[0].valid_from: expected a date, got the string '2024-01-01': write the date "
            "without quotes"
        ),
    ),
    (
        "ssp: [{item_code: A, currency: USD, ssp: '1', valid_from: 2024-02-30}]",
        "ssp[0].valid_from: '2024-02-30' is not a date: expected YYYY-MM-DD, such as 2024-01-01",
    ),
    (
        "ssp: [{item_code: A, currency: USD, ssp: '1', valid_to: 2024-01-01 10:00:00}]",
        "ssp[0].valid_to: expected a date YYYY-MM-DD, got the date and time 2024-01-01 10:00:00",
    ),
    (
        (
            "ssp: [{item_code: A, currency: USD, ssp: '1', valid_from: 2024-02-01, valid_to: "
            "2024-01-31}]"
        ),
        "ssp[0].valid_to: 2024-01-31 is before valid_from 2024-02-01",
    ),
    (
        "contract_policies: [{contract_id: C1}]",
        "contract_policies[0].modification_policy: missing: this key is required",
    ),
    (
        "contract_policies: [{contract_id: C1, modification_policy: 1}]",
        (
            "contract_policies[0].modification_policy: expected a modification policy: one of "
            "catch_up, prospective; got the number 1"
        ),
    ),
    (
        "jobs: [{name: revenue_process, every: 1h, cron: '0 2 * * *'}]",
        "jobs[0].cron: give either every or cron, not both",
    ),
    (
        "jobs: [{name: nightly}]",
        (
            "jobs[0].name: 'nightly' is not a job: expected one of transaction_import, "
            "event_import, revenue_process"
        ),
    ),
    (
        "jobs: [{name: revenue_process, every: 60}]",
        (
            "jobs[0].every: the number 60 is not an interval: expected a whole number of minutes, "
            "hours or days, such as 15m, 1h or 1d"
        ),
    ),
    (
        "jobs: [{name: revenue_process, cron: 5}]",
        (
            "jobs[0].cron: the number 5 is not a cron expression: expected five fields "
            "(minute hour day month weekday), such as '0 2 * * *'"
        ),
    ),
    (
        (
            "mappings: [{name: revrec, upload_type: cost, attributes: {cost_id: I, cost_type: T, "
            "amount: A, currency: C, cost_date: D, so_line_id: S}}]"
        ),
        (
            "mappings[0]: mapping 'revrec' is shipped with revrec and cannot be replaced: "
            "give your mapping another name"
        ),
    ),
    (
        "mappings: [{name: acme, upload_type: cost, stict: false, attributes: {}}]",
        (
            "mappings[0]: mapping 'acme': unknown key 'stict': expected some of name, upload_type, "
            "strict, attributes"
        ),
    ),
    (
        "bookz: []",
        "bookz: unknown key; did you mean 'books'?",
    ),
]


@pytest.mark.parametrize(("text", "message"), PROBLEMS)
def test_each_problem_is_one_line_with_its_path(text, message):
    assert _one(text) == message


@pytest.mark.parametrize("every", ["15m", "1h", "1d", "9999m", " 2h "])
def test_an_interval_is_a_whole_number_and_a_unit(every):
    assert check({"jobs": [{"name": "revenue_process", "every": every}]}).jobs[0].every == (
        every.strip()
    )


@pytest.mark.parametrize("every", ["0m", "15", "1.5h", "15 m", "1w", "1H", "10000m", "01h", ""])
def test_other_intervals_are_refused(every):
    with pytest.raises(SetupFileError, match=r"jobs\[0\]\.every: .* is not an interval"):
        check({"jobs": [{"name": "revenue_process", "every": every}]})


@pytest.mark.parametrize("cron", ["0 2 * * *", "*/15 * * * mon-fri", "0 0 1 1,7 *"])
def test_a_cron_expression_has_five_fields_croniter_accepts(cron):
    assert check({"jobs": [{"name": "revenue_process", "cron": cron}]}).jobs[0].cron == cron


@pytest.mark.parametrize("cron", ["@hourly", "* * * * * *", "61 * * * *", "* * * *", "soon"])
def test_other_cron_expressions_are_refused(cron):
    with pytest.raises(SetupFileError, match=r"jobs\[0\]\.cron: .* is not a cron expression"):
        check({"jobs": [{"name": "revenue_process", "cron": cron}]})


def test_numbers_come_from_their_text_never_through_a_float():
    text = (
        "accounts: {revenue: 04000}\n"
        "ssp:\n"
        "  - {item_code: A, currency: USD, ssp: 75000.50}\n"
        "  - {item_code: B, currency: USD, ssp: 0400}\n"
        "  - {item_code: C, currency: USD, ssp_percent_of_list: 12.345678}\n"
    )
    document = parse_setup(text).document
    assert document["ssp"][0]["ssp"] == Decimal("75000.50")
    setup = check(document)
    assert setup.accounts.codes() == {"revenue": "04000"}  # not the octal number 2048
    assert [row.row()["ssp"] for row in setup.ssp[:2]] == [7_500_050, 40_000]
    assert setup.ssp[2].row()["ssp_percent_micro"] == 12_345_678
    # A document another YAML reader made holds floats: each is read as its shortest spelling.
    floats = check(yaml.safe_load(text))
    assert [row.row()["ssp"] for row in floats.ssp[:2]] == [7_500_050, 25_600]
    refused = "ssp[0].ssp: '0.125' has 3 decimals; USD allows at most 2"
    assert _one("ssp: [{item_code: A, currency: USD, ssp: 0.125}]") == refused
    with pytest.raises(SetupFileError, match=r"'0\.125' has 3 decimals"):
        check({"ssp": [{"item_code": "A", "currency": "USD", "ssp": 0.125}]})


def test_every_problem_comes_in_the_order_of_the_file():
    text = (
        "jobs: [{active: maybe, name: revenue_proces}]\n"
        "pob_templates:\n"
        "  - {method: telepathy, evnets: [x], name: 5}\n"
        "books:\n"
        "  - {name: A, primary: true}\n"
        "  - {name: B, primary: true, currency: 1}\n"
    )
    assert _problems(text) == [
        "jobs[0].active: expected true or false, got the string 'maybe'",
        "jobs[0].name: 'revenue_proces' is not a job; did you mean 'revenue_process'?",
        (
            "pob_templates[0].method: 'telepathy' is not a method: expected one of ratable_daily, "
            "ratable_monthly, point_in_time, event, upon_billing"
        ),
        "pob_templates[0].evnets: unknown key; did you mean 'events'?",
        "pob_templates[0].name: expected a POB template name (a string), got the number 5",
        "books[1].primary: a second primary book: books[0] is the primary book",
        "books[1].currency: expected a currency code such as USD, got the number 1",
    ]


def test_the_message_names_the_file_and_counts_the_problems():
    with pytest.raises(SetupFileError) as refused:
        check({"jobs": [{"name": "x"}], "bookz": []}, source="s.yaml")
    assert str(refused.value) == (
        "s.yaml: 2 problems:\n"
        "jobs[0].name: 'x' is not a job: expected one of transaction_import, event_import, "
        "revenue_process\n"
        "bookz: unknown key; did you mean 'books'?"
    )
    with pytest.raises(SetupFileError) as unnamed:
        check({"bookz": []})
    assert str(unnamed.value) == "the setup file: bookz: unknown key; did you mean 'books'?"


def test_names_given_twice_are_problems():
    text = (
        "books: [{name: A}, {name: A}]\n"
        "pob_templates: [{name: t, method: ratable_daily}, {name: t, method: upon_billing}]\n"
        "contract_policies:\n"
        "  - {contract_id: 17, modification_policy: catch_up}\n"
        "  - {contract_id: '17', modification_policy: prospective}\n"
        "jobs: [{name: event_import}, {name: event_import, active: false}]\n"
    )
    assert _problems(text) == [
        "books[1].name: 'A' is given twice: also books[0]",
        "pob_templates[1].name: 't' is given twice: also pob_templates[0]",
        "contract_policies[1].contract_id: '17' is given twice: also contract_policies[0]",
        "jobs[1].name: 'event_import' is given twice: also jobs[0]",
    ]


def test_against_the_database_one_primary_book_and_known_templates():
    text = (
        "books:\n"
        "  - {name: LOCAL, primary: true}\n"
        "  - {name: X, methods: {monthly_ful: event, mine: event, license_pit: event, zz: event}}\n"
        "pob_templates: [{name: mine, method: ratable_daily}]\n"
    )
    assert _problems(text, STORED) == [
        (
            "books[0].name: 'LOCAL' is a secondary book: the primary book PRIMARY cannot take its "
            "name"
        ),
        (
            "books[1].methods.monthly_ful: 'monthly_ful' is not a POB template; did you mean "
            "'monthly_full'?"
        ),
        "books[1].methods.zz: 'zz' is not a POB template of this file or the database",
    ]
    # Without the database, only what the file says is checked.
    assert check(parse_setup(text).document).books[0].name == "LOCAL"
    demoted = "books: [{name: PRIMARY, primary: false}]"
    assert _one(demoted, STORED) == (
        "books[0].primary: PRIMARY is the primary book: give it primary: true (a setup file "
        "cannot make it secondary)"
    )
    renamed = check(
        parse_setup("books: [{name: PRIMARY}, {name: MAIN, primary: true}]").document, STORED
    )
    assert [b.name for b in renamed.books] == ["PRIMARY", "MAIN"]


@pytest.mark.parametrize("text", ["", "# a comment\n", "{}", "books:\njobs:\n"])
def test_an_empty_file_is_an_error(text):
    with pytest.raises(InputError) as refused:
        check(parse_setup(text).document, source="s.yaml")
    assert str(refused.value) == "s.yaml: the setup file is empty"


def test_a_setup_file_is_a_mapping():
    with pytest.raises(InputError) as refused:
        check(parse_setup("- books").document, source="s.yaml")
    assert str(refused.value) == (
        "s.yaml: a setup file is a mapping of the keys books, accounts, defaults, pob_templates, "
        "ssp, contract_policies, jobs, mappings; got the list ['books']"
    )


def test_yaml_that_cannot_be_read_is_one_line():
    with pytest.raises(InputError) as refused:
        parse_setup("books: [\n", "s.yaml")
    assert str(refused.value).startswith("s.yaml: the setup file is not valid YAML: line 2")


@pytest.mark.parametrize(
    ("text", "where", "code"),
    [
        (
            'pob_templates:\n  - {name: "bad\\0name", method: point_in_time}\n',
            "line 2, column 12",
            "0000",
        ),
        ('books:\n  - {name: "B\\x07", primary: true}\n', "line 2, column 12", "0007"),
        ('"acc\\x1bounts": {}\n', "line 1, column 1", "001B"),
    ],
)
def test_a_control_character_in_a_text_is_refused_where_it_stands(text, where, code):
    """A NUL would reach PostgreSQL (which refuses it) as a traceback; any control character
    but a tab or a line break is refused while the file is read."""
    with pytest.raises(InputError) as refused:
        parse_setup(text, "s.yaml")
    assert str(refused.value).startswith(f"s.yaml: the setup file is not valid YAML: {where}: ")
    assert str(refused.value).endswith(f"holds the control character U+{code}")
    assert parse_setup('books:\n  - {name: "tab\\there"}\n').document == {
        "books": [{"name": "tab\there"}]
    }
