"""Allocation of a contract's transaction price by relative SSP (SPEC §3), in minor units."""

import polars as pl

from revrec.engine.allocation import allocate

SCHEMA = {
    "contract_id": pl.String,
    "line_id": pl.String,
    "amount": pl.Int64,
    "method": pl.String,
    "quantity_micro": pl.Int64,
    "ssp_unit": pl.Int64,
    "exclude": pl.Boolean,
    "residual": pl.Boolean,
}


def line(
    line_id,
    amount,
    ssp=None,
    *,
    contract="C1",
    method="ratable_daily",
    quantity_micro=1_000_000,
    exclude=False,
    residual=False,
):
    return (contract, line_id, amount, method, quantity_micro, ssp, exclude, residual)


def allocated(*lines):
    """{line_id: allocated} and the errors, for lines given in file order."""
    frame, errors = allocate(pl.DataFrame(list(lines), schema=SCHEMA, orient="row"))
    return dict(zip(frame["line_id"], frame["allocated"], strict=True)), errors


def test_three_line_bundle_the_remainder_cent_goes_to_the_largest_remainder():
    # TP = 600.00 + 250.00 + 150.00 = 1,000.00; SSPs 200.00 : 300.00 : 400.00 (sum 900.00).
    # Shares: 22,222.22 / 33,333.33 / 44,444.44 cents; floors sum to 99,999, one cent is left.
    # Its remainder .44 is the largest, so TRN (the last line, not the first) gets the cent.
    result, errors = allocated(
        line("LIC", 60_000, ssp=20_000),
        line("SUP", 25_000, ssp=30_000),
        line("TRN", 15_000, ssp=40_000),
    )
    assert errors == []
    assert result == {"LIC": 22_222, "SUP": 33_333, "TRN": 44_445}


def test_equal_remainders_give_the_cent_to_the_earlier_line():
    # 100.00 over three equal SSPs: 33.33 each and a cent left; ties go to the earlier line.
    result, _ = allocated(
        line("A", 5_000, ssp=1_000), line("B", 3_000, ssp=1_000), line("C", 2_000, ssp=1_000)
    )
    assert result == {"A": 3_334, "B": 3_333, "C": 3_333}


def test_excluded_line_keeps_its_amount_and_stays_out_of_the_price():
    # TP = 500.00 + 500.00 = 1,000.00 split 600 : 400; X keeps its 300.00 though its SSP is big.
    result, errors = allocated(
        line("A", 50_000, ssp=60_000),
        line("B", 50_000, ssp=40_000),
        line("X", 30_000, ssp=100_000, exclude=True),
    )
    assert errors == []
    assert result == {"A": 60_000, "B": 40_000, "X": 30_000}


def test_upon_billing_line_keeps_its_amount():
    result, errors = allocated(
        line("A", 50_000, ssp=60_000),
        line("B", 50_000, ssp=40_000),
        line("U", 30_000, ssp=100_000, method="upon_billing"),
    )
    assert errors == []
    assert result == {"A": 60_000, "B": 40_000, "U": 30_000}


def test_a_line_without_ssp_uses_its_own_amount_as_its_ssp():
    # TP = 1,000.00; weights 1,200.00 (SSP) and 200.00 (B's own amount), sum 1,400.00.
    # A: 100,000 x 1,200 / 1,400 = 85,714.29; B: 100,000 x 200 / 1,400 = 14,285.71.
    # One cent is left and B's .71 beats A's .29.
    result, _ = allocated(line("A", 80_000, ssp=120_000), line("B", 20_000))
    assert result == {"A": 85_714, "B": 14_286}


def test_ssp_is_unit_price_times_quantity():
    # A: 3 x 100.00 = 300.00, B: 1 x 200.00; TP 450.00 -> 450 x 3/5 = 270.00 and 180.00.
    result, _ = allocated(
        line("A", 40_000, ssp=10_000, quantity_micro=3_000_000), line("B", 5_000, ssp=20_000)
    )
    assert result == {"A": 27_000, "B": 18_000}


def test_fractional_quantity():
    # A: 2.5 x 100.00 = 250.00, B: 1 x 50.00; TP 240.00 -> 240 x 250/300 = 200.00 and 40.00.
    result, _ = allocated(
        line("A", 20_000, ssp=10_000, quantity_micro=2_500_000), line("B", 4_000, ssp=5_000)
    )
    assert result == {"A": 20_000, "B": 4_000}


def test_contracts_are_allocated_separately():
    result, _ = allocated(
        line("A1", 50_000, ssp=60_000, contract="C1"),
        line("B1", 9_000, ssp=1_000, contract="C2"),
        line("A2", 50_000, ssp=40_000, contract="C1"),
        line("B2", 1_000, ssp=1_000, contract="C2"),
    )
    # C1: 1,000.00 by 600:400; C2: 100.00 by 1:1.
    assert result == {"A1": 60_000, "B1": 5_000, "A2": 40_000, "B2": 5_000}


def test_residual_line_gets_the_price_less_the_others_ssp():
    # TP = 700 + 300 + 100 = 1,100.00; B gets 2 x 200.00 = 400.00, C 150.00;
    # the residual line A gets 1,100 - 400 - 150 = 550.00.
    result, errors = allocated(
        line("A", 70_000, residual=True),
        line("B", 30_000, ssp=20_000, quantity_micro=2_000_000),
        line("C", 10_000, ssp=15_000),
    )
    assert errors == []
    assert result == {"A": 55_000, "B": 40_000, "C": 15_000}


def test_residual_others_get_ssp_times_a_fractional_quantity_rounded_half_even():
    # B: 3.33 x 1.5 = 4.995 -> 499.5 cents, a tie, to the even 500.
    # C: 3.33 x 2.5 = 8.325 -> 832.5 cents, a tie, to the even 832.
    # A: 2,000 - 500 - 832 = 668.
    result, errors = allocated(
        line("A", 1_000, residual=True),
        line("B", 500, ssp=333, quantity_micro=1_500_000),
        line("C", 500, ssp=333, quantity_micro=2_500_000),
    )
    assert errors == []
    assert result == {"A": 668, "B": 500, "C": 832}


def test_negative_residual_is_an_error_and_the_contract_gets_no_allocation():
    # TP = 500.00 but B's SSP alone is 550.00: the residual would be -50.00.
    result, errors = allocated(
        line("A", 30_000, residual=True),
        line("B", 20_000, ssp=55_000),
        line("OK", 10_000, ssp=10_000, contract="C2"),
    )
    assert [e.contract_id for e in errors] == ["C1"]
    assert "residual" in errors[0].message
    assert "negative" in errors[0].message
    assert result == {"A": None, "B": None, "OK": 10_000}


def test_ssps_summing_to_zero_are_an_error():
    result, errors = allocated(line("A", 6_000, ssp=0), line("B", 4_000, ssp=0))
    assert [e.contract_id for e in errors] == ["C1"]
    assert "sum to zero" in errors[0].message
    assert result == {"A": None, "B": None}


def test_yen_allocate_to_whole_yen():
    # TP = ¥100,000 by SSP ¥70,000 : ¥50,000 -> 58,333.33 and 41,666.67; the yen left goes
    # to B (.67 > .33).
    result, _ = allocated(line("A", 60_000, ssp=70_000), line("B", 40_000, ssp=50_000))
    assert result == {"A": 58_333, "B": 41_667}


def test_lines_with_no_ssp_column_keep_their_own_amounts():
    # Without SSPs every weight is the line's own amount, so allocation changes nothing.
    frame = pl.DataFrame(
        {
            "contract_id": ["C1", "C1"],
            "line_id": ["A", "B"],
            "amount": [12_345, 67_890],
            "method": ["ratable_daily", "point_in_time"],
        }
    )
    result, errors = allocate(frame)
    assert errors == []
    assert result["allocated"].to_list() == [12_345, 67_890]


def test_a_credit_contract_is_split_as_the_mirror_of_the_charge():
    # +100.00 by equal SSPs over three lines gives 33.34 / 33.33 / 33.33 (the tie goes to the
    # first line); -100.00 gives exactly the negatives, so a full credit reverses the charge.
    charge, _ = allocated(line("A", 10_000, 100), line("B", 0, 100), line("C", 0, 100))
    credit, _ = allocated(line("A", -10_000, 100), line("B", 0, 100), line("C", 0, 100))
    assert charge == {"A": 3_334, "B": 3_333, "C": 3_333}
    assert credit == {"A": -3_334, "B": -3_333, "C": -3_333}
