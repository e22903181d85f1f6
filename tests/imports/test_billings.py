from datetime import date

import polars as pl
from polars.testing import assert_frame_equal

from revrec.imports.billings import to_billings
from revrec.imports.files import read_upload
from revrec.imports.mappings import SHIPPED, Attribute, Mapping, to_attributes, with_upload_names
from revrec.imports.templates import template_frame

HEADS = [
    "doc_type", "doc_number", "doc_line_id", "doc_date", "amount", "currency", "customer_id",
    "so_line_id", "ref_doc_number", "ref_doc_line_id", "service_start_date", "service_end_date",
    "pob_template", "schedule_type",
]  # fmt: skip
# What a Recurly export gives, by attribute name (the mapping renamed the headings).
RECURLY = [
    "doc_number", "doc_line_id", "doc_date", "service_start_date", "service_end_date", "amount",
    "currency", "customer_id", "origin", "schedule_type", "days", "month_1",
]  # fmt: skip


def _raw(heads, rows):
    return pl.DataFrame(rows, schema=dict.fromkeys(heads, pl.String), orient="row").with_columns(
        pl.int_range(2, len(rows) + 2, dtype=pl.Int64).alias("line")
    )


def _errors(errors):
    return [(r["line"], r["column"], r["value"], r["message"]) for r in errors.to_dicts()]


def test_revrec_billings_good_rows_survive_and_every_problem_is_named():
    raw = _raw(
        HEADS,
        [
            ["INV", "I1", "I1-1", "2024-01-15", "1200.00", "usd", "A", "L1", None, None,
             "2024-01-01", "2024-12-31", None, None],
            ["CM", "C1", "C1-1", "2024-02-01", "100", "USD", "A", None, "I1", "I1-1",
             None, None, None, None],
            ["IVC", "V1", "V1-1", "2024-02-01", "-5.00", "USD", "A", None, None, "I1-1",
             None, None, None, None],
            ["XX", "I2", "I2-1", "2024-02-30", "1.234", "USD", "A", None, None, None,
             "2024-02-01", "2024-01-31", "nope", "weekly"],
            ["INV", "I3", "I3-1", "2024-01-15", "10", "JPY", "B", "L9", None, None,
             "2024-01-01", "2024-01-01", None, None],
            ["CMC", "X1", "X1-1", "2024-03-01", "100", "USD", "A", None, "C1", "C1-1",
             None, None, None, None],
        ],
    )  # fmt: skip
    good, errors = to_billings(raw, template_frame())
    assert good.select(
        "line", "doc_type", "doc_line_id", "amount", "signed_amount", "currency", "start", "end"
    ).rows() == [
        (2, "INV", "I1-1", 120_000, 120_000, "USD", date(2024, 1, 1), date(2025, 1, 1)),
        (3, "CM", "C1-1", 10_000, -10_000, "USD", date(2024, 2, 1), None),
        # A one-day service: the file's end date is inclusive.
        (6, "INV", "I3-1", 10, 10, "JPY", date(2024, 1, 1), date(2024, 1, 2)),
        (7, "CMC", "X1-1", 10_000, 10_000, "USD", date(2024, 3, 1), None),
    ]
    assert _errors(errors) == [
        (4, "amount", "-5.00", "expected an amount of 0 or more: doc_type gives the direction"),
        (4, "ref_doc_number", "",
         "a value is required for IVC, CM and CMC: the document line it refers to"),
        (5, "amount", "1.234", "too many decimals: USD allows 2"),
        (5, "doc_date", "2024-02-30", "not a day of the calendar"),
        (5, "doc_type", "XX", "unknown doc_type 'XX': expected one of INV, IVC, CM, CMC"),
        (5, "pob_template", "nope",
         ("unknown POB template 'nope': expected one of ratable_daily, monthly_prorate, "
         "monthly_full, monthly_mid, license_pit, delivery_end, milestone_evt, usage_billing")),
        (5, "schedule_type", "weekly",
         "unknown schedule_type 'weekly': expected one of evenly, at_range_start, at_range_end"),
        (5, "service_end_date", "2024-01-31", "service end is before service start"),
    ]  # fmt: skip


def test_a_billing_without_an_so_line_is_recognized_by_its_template_or_schedule_type():
    raw = _raw(
        HEADS,
        [
            ["INV", "I1", "a", "2024-01-15", "300", "USD", "A", None, None, None,
             "2024-01-01", "2024-03-31", None, "evenly"],
            ["INV", "I1", "b", "2024-01-15", "300", "USD", "A", None, None, None,
             "2024-01-01", "2024-03-31", "monthly_full", "evenly"],
            ["INV", "I1", "c", "2024-01-15", "300", "USD", "A", None, None, None,
             "2024-01-01", "2024-03-31", None, "AT_RANGE_END"],
            # No service end: whole on the start, whatever the schedule type says.
            ["INV", "I1", "d", "2024-01-15", "300", "USD", "A", None, None, None,
             "2024-01-10", None, None, "evenly"],
            ["INV", "I1", "e", "2024-01-15", "300", "USD", "A", None, None, None,
             None, None, None, None],
            ["INV", "I1", "f", "2024-01-15", "300", "USD", "A", None, None, None,
             "2024-01-01", "2024-03-31", None, None],
            ["INV", "I1", "g", "2024-01-15", "300", "USD", "A", "L1", None, None,
             "2024-01-01", "2024-03-31", None, None],
        ],
    )  # fmt: skip
    good, errors = to_billings(raw, template_frame())
    assert good.select(
        "doc_line_id", "billing_driven", "method", "convention", "at", "start", "end"
    ).rows() == [
        ("a", True, "ratable_daily", None, None, date(2024, 1, 1), date(2024, 4, 1)),
        ("b", True, "ratable_monthly", "full_month", None, date(2024, 1, 1), date(2024, 4, 1)),
        ("c", True, "point_in_time", None, "range_end", date(2024, 1, 1), date(2024, 4, 1)),
        ("d", True, "point_in_time", None, "start", date(2024, 1, 10), None),
        ("e", True, "point_in_time", None, "start", date(2024, 1, 15), None),
        ("g", False, None, None, None, date(2024, 1, 1), date(2024, 4, 1)),
    ]
    assert _errors(errors) == [
        (7, "schedule_type", "", ("a billing with no so_line_id needs a pob_template or a "
         "schedule_type: expected one of evenly, at_range_start, at_range_end")),
    ]  # fmt: skip


def test_recurly_totals_are_signed_and_its_service_end_is_already_exclusive():
    raw = _raw(
        RECURLY,
        [
            ["1001", "a1", "2017-06-01 00:00:00 UTC", "2017-06-01 00:00:00 UTC",
             "2017-07-01 00:00:00 UTC", "30.00", "USD", "acc1", "plan", "evenly", "30", "30.00"],
            ["1002", "a2", "2017-06-05 00:00:00 UTC", "2017-06-05 00:00:00 UTC",
             "2017-07-01 00:00:00 UTC", "-10.00", "USD", "acc1", "plan", "evenly", "26", "-10.00"],
            ["1003", "a3", "2017-06-05T10:00:00Z", "2017-06-05", None, "5.00", "USD", "acc1",
             "credit", "at_range_start", None, "-5.00"],
            ["1004", "a4", "2017-06-05", "2017-06-05", "2017-06-04", "5.001", "USD", "acc1",
             "one_time", "at_range_end", None, None],
        ],
    )  # fmt: skip
    good, errors = to_billings(raw, template_frame(), "recurly")
    assert good.select(
        "doc_type", "amount", "signed_amount", "doc_date", "start", "end", "method", "at"
    ).rows() == [
        ("INV", 3_000, 3_000, date(2017, 6, 1), date(2017, 6, 1), date(2017, 7, 1),
         "ratable_daily", None),
        ("CM", 1_000, -1_000, date(2017, 6, 5), date(2017, 6, 5), date(2017, 7, 1),
         "ratable_daily", None),
        ("CM", 500, -500, date(2017, 6, 5), date(2017, 6, 5), None, "point_in_time", "start"),
    ]  # fmt: skip
    # A credit with no reference is its own billing-driven line; the export's extra columns stay.
    assert good["billing_driven"].to_list() == [True, True, True]
    assert good.select("days", "month_1").rows() == [
        ("30", "30.00"),
        ("26", "-10.00"),
        (None, "-5.00"),
    ]
    assert _errors(errors) == [
        (5, "amount", "5.001", "too many decimals: USD allows 2"),
        (5, "service_end_date", "2017-06-04", "service end is before service start"),
    ]


def test_a_recurly_credit_that_names_only_half_of_its_reference_is_an_error():
    raw = _raw(
        [*RECURLY[:9], "ref_doc_number", "ref_doc_line_id"],
        [
            ["1005", "a5", "2017-06-05", None, None, "-5", "USD", "acc1", "credit", "1001", "a1"],
            ["1006", "a6", "2017-06-05", None, None, "-5", "USD", "acc1", "credit", "1001", None],
        ],
    )
    good, errors = to_billings(raw, template_frame(), "recurly")
    assert good.select("doc_line_id", "doc_type", "ref_doc_line_id", "billing_driven").rows() == [
        ("a5", "CM", "a1", False)
    ]
    assert _errors(errors) == [
        (3, "ref_doc_line_id", "",
         "a value is required for IVC, CM and CMC: the document line it refers to"),
    ]  # fmt: skip


def test_a_repeated_doc_line_id_with_other_content_is_an_error_on_the_later_row():
    row = ["INV", "I1", "I1-1", "2024-01-15", "10", "USD", "A", "L1", None, None, None, None,
           None, None]  # fmt: skip
    raw = _raw(HEADS, [row, row, [*row[:4], "11", *row[5:]]])
    good, errors = to_billings(raw, template_frame())
    assert good.select("line", "duplicate").rows() == [(2, False), (3, True)]
    assert _errors(errors) == [
        (4, "doc_line_id", "I1-1", ("doc_line_id 'I1-1' is also on line 2 with other content: "
         "expected one row per doc_line_id")),
    ]  # fmt: skip


def test_the_output_columns():
    raw = _raw(HEADS, [])
    good, errors = to_billings(raw, template_frame())
    assert good.columns == [
        "line", "doc_type", "doc_number", "doc_line_id", "doc_date", "amount", "signed_amount",
        "currency", "customer_id", "so_line_id", "ref_doc_number", "ref_doc_line_id", "start",
        "end", "item_code", "pob_template", "schedule_type", "origin", "invoice_state",
        "invoice_origin", "accounting_code", "billing_driven", "method", "convention", "at",
        "duplicate",
    ]  # fmt: skip
    assert good.schema["amount"] == pl.Int64
    assert good.schema["end"] == pl.Date
    assert errors.height == 0


def test_a_recurly_export_file_from_reading_to_row_errors_named_by_its_headings(tmp_path):
    path = tmp_path / "recurly.csv"
    path.write_text(
        "revenue_schedule_id;invoice_number;invoice_date;account_code;line_item_id;"
        "line_item_start_date;line_item_end_date;origin;total_amount;currency;schedule_type\n"
        "1;1001;2017-06-01 00:00:00 UTC;acc1;a1;2017-06-01 00:00:00 UTC;"
        "2017-07-01 00:00:00 UTC;plan;30.00;USD;evenly\n"
        "2;1002;2017-06-02 00:00:00 UTC;acc1;a2;2017-06-02 00:00:00 UTC;;credit;-1.005;USD;"
        "at_range_start\n",
        encoding="utf-8-sig",
    )
    frame, mapped = to_attributes(read_upload(path), SHIPPED["recurly", "billing"])
    good, errors = to_billings(frame, template_frame(), "recurly")
    assert good.select(
        "doc_line_id", "doc_type", "amount", "end", "revenue_schedule_id"
    ).rows() == [("a1", "INV", 3_000, date(2017, 7, 1), "1")]
    assert _errors(with_upload_names(errors, mapped)) == [
        (3, "total_amount", "-1.005", "too many decimals: USD allows 2")
    ]


def test_the_recurly_rules_travel_with_the_mapping_not_its_name():
    """A user's copy of recurly (amount signed_amount, service end exclusive_date) reads a
    Recurly file as recurly does; typed as the revrec mapping types them, as revrec does."""
    raw = _raw(
        RECURLY[:10],
        [
            ["1001", "a1", "2017-06-01", "2017-06-01", "2017-07-01", "30.00", "USD", "acc1",
             "plan", "evenly"],
            ["1002", "a2", "2017-06-05", "2017-06-05", "2017-07-01", "-10.00", "USD", "acc1",
             "credit", "evenly"],
        ],
    )  # fmt: skip
    recurly = SHIPPED["recurly", "billing"]
    copy = Mapping("my_recurly", "billing", recurly.attributes, strict=False)
    good, errors = to_billings(raw, template_frame(), copy)
    for same in (
        to_billings(raw, template_frame(), "recurly"),
        to_billings(raw, template_frame(), recurly),
    ):
        assert_frame_equal(same[0], good)
        assert_frame_equal(same[1], errors)
    assert good.select("doc_type", "amount", "signed_amount", "end").rows() == [
        ("INV", 3_000, 3_000, date(2017, 7, 1)),
        ("CM", 1_000, -1_000, date(2017, 7, 1)),
    ]
    assert errors.height == 0

    revrec_types = {"signed_amount": "amount", "exclusive_date": "date"}
    plain = Mapping(
        "plain",
        "billing",
        tuple(
            Attribute(a.name, a.upload_name, a.required, revrec_types.get(a.type, a.type))
            for a in recurly.attributes
        ),
    )
    good, errors = to_billings(raw, template_frame(), plain)
    assert good.height == 0
    assert _errors(errors) == [
        (2, "doc_type", "", "a value is required"),
        (3, "amount", "-10.00", "expected an amount of 0 or more: doc_type gives the direction"),
        (3, "doc_type", "", "a value is required"),
    ]
