import polars as pl
import pytest

from revrec.errors import ConfigError, InputError
from revrec.imports.mappings import (
    SHIPPED,
    Attribute,
    Mapping,
    check_complete,
    check_headers,
    find,
    from_dict,
    from_rows,
    to_attributes,
    to_dict,
    to_rows,
    with_upload_names,
)

BILLING_HEADINGS = [
    "doc_type", "doc_number", "doc_line_id", "doc_date", "amount", "currency", "customer_id",
]  # fmt: skip
RECURLY_EXPORT = [
    "revenue_schedule_id", "invoice_number", "invoice_date", "invoice_state", "account_code",
    "accounting_code", "line_item_id", "line_item_start_date", "line_item_end_date", "origin",
    "days", "amount_per_day", "total_amount", "currency", "schedule_type",
    "revenue_recognition_date", "deferred_revenue_balance", "arrears",
    *(f"month_{k}" for k in range(1, 13)), "future_revenue", "invoice_origin",
]  # fmt: skip


def _required(name: str, upload_type: str) -> list[str]:
    return [a.upload_name for a in SHIPPED[name, upload_type].attributes if a.required]


def test_the_shipped_mappings_require_what_the_spec_makes_bold():
    assert sorted(SHIPPED) == [
        ("recurly", "billing"),
        ("revrec", "billing"),
        ("revrec", "cost"),
        ("revrec", "event"),
        ("revrec", "sales_order"),
    ]
    assert _required("revrec", "sales_order") == [
        "contract_id", "customer_id", "so_number", "so_line_id", "order_date", "item_code",
        "pob_template", "amount", "currency",
    ]  # fmt: skip
    assert _required("revrec", "billing") == BILLING_HEADINGS
    assert _required("revrec", "cost") == [
        "cost_id", "cost_type", "amount", "currency", "cost_date",
    ]  # fmt: skip
    # so_line_id or doc_line_id, and one of the three values of a release: checked per row.
    assert _required("revrec", "event") == ["event_date"]
    assert _required("recurly", "billing") == [
        "invoice_number", "line_item_id", "invoice_date", "total_amount", "currency",
        "account_code",
    ]  # fmt: skip
    assert all(m.strict for key, m in SHIPPED.items() if key[0] == "revrec")
    assert not SHIPPED["recurly", "billing"].strict


def test_the_recurly_mapping_reads_a_legacy_export_and_keeps_the_rest_as_free_attributes():
    mapped = check_headers(RECURLY_EXPORT, SHIPPED["recurly", "billing"])
    assert {h: a for h, a in mapped.items() if h != a} == {
        "invoice_number": "doc_number",
        "invoice_date": "doc_date",
        "account_code": "customer_id",
        "line_item_id": "doc_line_id",
        "line_item_start_date": "service_start_date",
        "line_item_end_date": "service_end_date",
        "total_amount": "amount",
    }
    assert mapped["month_12"] == "month_12"
    assert mapped["arrears"] == "arrears"


def test_headings_compare_without_case_spaces_or_a_byte_order_mark():
    headings = ["\ufeffDOC_TYPE", " Doc_Number ", *BILLING_HEADINGS[2:]]
    mapped = check_headers(headings, SHIPPED["revrec", "billing"])
    assert mapped["\ufeffDOC_TYPE"] == "doc_type"
    assert mapped[" Doc_Number "] == "doc_number"


def test_a_header_error_lists_every_missing_and_unknown_heading_with_the_closest_names():
    headings = ["doc_type", "doc_numbr", "doc_line_id", "doc_date", "amount", "currency",
                "customer", "colour"]  # fmt: skip
    with pytest.raises(InputError) as caught:
        check_headers(headings, SHIPPED["revrec", "billing"])
    assert str(caught.value) == (
        "the headings do not match the mapping 'revrec' for billing uploads: "
        "missing required heading 'doc_number' (closest in the file: 'doc_numbr'); "
        "missing required heading 'customer_id' (closest in the file: 'customer'); "
        "unknown heading 'doc_numbr' (closest expected: 'doc_number', 'ref_doc_number'); "
        "unknown heading 'customer' (closest expected: 'customer_id'); "
        "unknown heading 'colour' (no close match). "
        "Expected headings: required doc_type, doc_number, doc_line_id, doc_date, amount, "
        "currency, customer_id; optional so_line_id, ref_doc_number, ref_doc_line_id, "
        "service_start_date, service_end_date, item_code, pob_template, schedule_type, origin, "
        "invoice_state, invoice_origin, accounting_code"
    )


def test_a_free_heading_may_not_take_the_name_of_an_attribute_read_from_another_heading():
    headings = [h for h in RECURLY_EXPORT if h != "account_code"] + ["amount", "account_cod"]
    with pytest.raises(InputError) as caught:
        check_headers(headings, SHIPPED["recurly", "billing"])
    message = str(caught.value)
    assert message.startswith(
        "the headings do not match the mapping 'recurly' for billing uploads: "
        "missing required heading 'account_code' (closest in the file: 'account_cod'); "
        "heading 'amount' clashes with the attribute read from 'total_amount'. "
    )


def test_a_heading_given_twice_is_rejected():
    with pytest.raises(InputError, match="heading 'Amount' is given twice"):
        check_headers([*BILLING_HEADINGS, "Amount"], SHIPPED["revrec", "billing"])


def test_events_need_a_so_line_id_or_doc_line_id_heading():
    assert check_headers(["doc_line_id", "event_date", "percent"], SHIPPED["revrec", "event"]) == {
        "doc_line_id": "doc_line_id",
        "event_date": "event_date",
        "percent": "percent",
    }
    with pytest.raises(InputError) as caught:
        check_headers(["event_date", "percent"], SHIPPED["revrec", "event"])
    assert "missing heading: one of 'so_line_id' or 'doc_line_id' is required." in str(caught.value)


def test_a_file_is_renamed_to_attributes_and_errors_back_to_its_headings():
    raw = pl.DataFrame({"Invoice_Number": ["1001"], "line": [2]})
    mapping = Mapping(
        "mine", "billing", (Attribute("doc_number", "Invoice_Number", required=True),)
    )
    frame, mapped = to_attributes(raw, mapping)
    assert frame.columns == ["doc_number", "line"]
    errors = pl.DataFrame({"line": [2], "column": ["doc_number"], "value": ["x"], "message": ["m"]})
    assert with_upload_names(errors, mapped)["column"].to_list() == ["Invoice_Number"]


def test_mappings_go_to_plain_data_and_back_unchanged():
    for mapping in SHIPPED.values():
        assert from_dict(to_dict(mapping)) == mapping
    rows = [row for m in SHIPPED.values() for row in to_rows(m)]
    back = from_rows(reversed(rows))  # rows come back from a table in any order
    assert {(m.name, m.upload_type): m for m in back} == SHIPPED
    assert to_rows(SHIPPED["recurly", "billing"])[0] == {
        "mapping": "recurly",
        "upload_type": "billing",
        "strict": False,
        "position": 0,
        "attribute": "doc_number",
        "upload_name": "invoice_number",
        "required": True,
        "type": "string",
    }


def test_a_setup_file_mapping_may_be_short_and_takes_defaults_from_the_revrec_mapping():
    mapping = from_dict(
        {
            "name": "netsuite",
            "upload_type": "billing",
            "strict": False,
            "attributes": {
                "doc_number": "Document Number",
                "doc_date": {"upload_name": "Date", "required": False},
                "region": "Region",
            },
        }
    )
    assert mapping == Mapping(
        "netsuite",
        "billing",
        (
            Attribute("doc_number", "Document Number", required=True, type="string"),
            Attribute("doc_date", "Date", required=False, type="date"),
            Attribute("region", "Region", required=False, type="string"),
        ),
        strict=False,
    )
    assert find("netsuite", "billing", [mapping]) is mapping
    assert find("recurly", "billing", [mapping]) is SHIPPED["recurly", "billing"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x", "upload_type": "invoice", "attributes": []},
         ("mapping 'x': unknown upload_type 'invoice': expected one of sales_order, billing, cost, "
         "event")),
        ({"name": "x", "upload_type": "cost", "attributes": {"amount": {"upload_name": "A",
                                                                        "type": "money"}}},
         ("mapping 'x': attribute 'amount': unknown type 'money': expected one of string, date, "
         "amount, number, integer, boolean, signed_amount, exclusive_date")),
        ({"name": "x", "upload_type": "cost", "attributes": {"amount": "A", "cost_id": "a"}},
         "mapping 'x': upload name given twice: a"),
        ({"name": "x", "upload_type": "cost", "attributes": {"line": "Line"}},
         "mapping 'x': 'line' is reserved for the file line number"),
        ({"name": "x", "upload_type": "cost", "attributes": {"cost_id": " LINE "}},
         "mapping 'x': 'LINE' is reserved for the file line number"),
        (["x"], "a mapping is a YAML mapping with the keys name, upload_type, strict, attributes"),
        ({"name": "x", "upload_type": "cost", "attributes": {}, "stict": False, "kind": "a"},
         ("mapping 'x': unknown keys 'stict', 'kind': expected some of name, upload_type, strict, "
          "attributes")),
        ({"name": "x", "upload_type": "cost", "attributes": {"cost_id": {"upload_name": "I",
                                                                         "requird": True}}},
         ("mapping 'x': attribute 'cost_id': unknown key 'requird': expected some of "
          "upload_name, required, type")),
        ({"name": "x", "upload_type": "cost", "attributes": [{"name": "cost_id", "upload": "I"}]},
         ("mapping 'x': attribute 'cost_id': unknown key 'upload': expected some of name, "
          "upload_name, required, type")),
        ({"name": "x", "upload_type": "cost", "attributes": {"cost_id": 2024}},
         "mapping 'x': attribute 'cost_id': upload_name 2024 is not text: put it in quotes"),
        ({"name": "x", "upload_type": "billing",
          "attributes": {"doc_date": {"upload_name": "D", "type": "signed_amount"}}},
         ("mapping 'x': attribute 'doc_date': the type signed_amount is only for the attribute "
          "amount of billing mappings")),
        ({"name": "x", "upload_type": "sales_order",
          "attributes": {"service_end_date": {"upload_name": "E", "type": "exclusive_date"}}},
         ("mapping 'x': attribute 'service_end_date': the type exclusive_date is only for the "
          "attribute service_end_date of billing mappings")),
    ],
)  # fmt: skip
def test_a_mapping_that_cannot_work_is_a_config_error(data, message):
    with pytest.raises(ConfigError) as caught:
        from_dict(data)
    assert str(caught.value) == message


def test_an_unknown_mapping_names_the_ones_there_are():
    with pytest.raises(InputError) as caught:
        find("recurly", "cost")
    assert str(caught.value) == "unknown mapping 'recurly' for cost uploads: expected one of revrec"


def test_the_shipped_mappings_are_complete_and_recurly_reads_signed_amounts_and_exclusive_ends():
    for mapping in SHIPPED.values():
        check_complete(mapping)
    types = {a.name: a.type for a in SHIPPED["recurly", "billing"].attributes}
    assert (types["amount"], types["service_end_date"]) == ("signed_amount", "exclusive_date")


@pytest.mark.parametrize(
    ("upload_type", "attributes", "message"),
    [
        ("billing", {"doc_number": "N", "amount": "A"},
         ("mapping 'x': billing uploads need the attributes doc_type, doc_line_id, doc_date, "
          "currency, customer_id: map each to a heading")),
        # A signed amount gives the doc_type (SPEC §4.3): only the doc_line_id is missing here.
        ("billing", {"doc_number": "N", "doc_date": "D", "currency": "C", "customer_id": "X",
                     "amount": {"upload_name": "A", "type": "signed_amount"}},
         "mapping 'x': billing uploads need the attribute doc_line_id: map it to a heading"),
        ("cost", {"cost_id": "I", "cost_type": "T", "amount": "A", "currency": "C",
                  "cost_date": "D"},
         "mapping 'x': cost uploads need one of the attributes so_line_id or contract_id"),
        ("event", {"event_date": "D", "percent": "P"},
         "mapping 'x': event uploads need one of the attributes so_line_id or doc_line_id"),
    ],
)  # fmt: skip
def test_a_mapping_must_map_what_its_upload_type_needs(upload_type, attributes, message):
    mapping = from_dict({"name": "x", "upload_type": upload_type, "attributes": attributes})
    with pytest.raises(ConfigError) as caught:
        check_complete(mapping)
    assert str(caught.value) == message
