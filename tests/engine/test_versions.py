"""engine.verdicts.versions: sales-order lines judged for a whole batch at once equal the
one-by-one judgement in processing order (the loop this function replaced)."""

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from revrec.engine.verdicts import versions


def _one_by_one(rows, owners, latest):
    """The reference: each row against the store and the rows accepted before it."""
    known = {c: (cu, cur) for c, cu, cur in owners}
    newest = {line: (version, content) for line, version, content in latest}
    new_contracts = {}
    out = []
    for line_id, contract, customer, currency, content in rows:
        owner = known.get(contract) or new_contracts.get(contract)
        if owner is not None and owner != (customer, currency):
            column = "customer_id" if owner[0] != customer else "currency"
            out.append(("failed", None, column))
            continue
        version, stored = newest.get(line_id, (0, ""))
        if stored == content:
            out.append(("duplicate", version, None))
            continue
        if owner is None:
            new_contracts[contract] = (customer, currency)
        newest[line_id] = (version + 1, content)
        out.append(("accepted", version + 1, None))
    return out


rows_strategy = st.lists(
    st.tuples(
        st.sampled_from(["L1", "L2", "L3", "L4"]),
        st.sampled_from(["C1", "C2", "C3"]),
        st.sampled_from(["ACME", "GLOBEX"]),
        st.sampled_from(["USD", "EUR"]),
        st.sampled_from(["h1", "h2", "h3"]),
    ),
    max_size=30,
)


@given(
    rows_strategy,
    st.lists(st.tuples(st.sampled_from(["C1", "C2"]), st.sampled_from(["ACME", "GLOBEX"]),
                       st.sampled_from(["USD", "EUR"])), unique_by=lambda t: t[0]),
    st.lists(st.tuples(st.sampled_from(["L1", "L2"]), st.integers(1, 4),
                       st.sampled_from(["h1", "h2"])), unique_by=lambda t: t[0]),
)  # fmt: skip
def test_a_batch_at_once_equals_one_by_one(rows, owners, latest):
    # A row's content hash covers its contract, customer and currency, as the real one does.
    rows = [(line, c, cu, cur, f"{c}|{cu}|{cur}|{h}") for line, c, cu, cur, h in rows]
    latest = [(line, v, f"C1|ACME|USD|{h}") for line, v, h in latest]
    frame = pl.DataFrame(
        rows,
        schema=dict.fromkeys(
            ("line_id", "contract_id", "customer_id", "currency", "content_hash"), pl.String
        ),
        orient="row",
    )
    judged = versions(
        frame,
        pl.DataFrame(
            owners, schema=dict.fromkeys(("contract_id", "_customer", "_currency"), pl.String),
            orient="row",
        ),
        pl.DataFrame(latest, schema={"line_id": pl.String, "_version": pl.Int64,
                                     "_stored": pl.String}, orient="row"),
    )  # fmt: skip
    got = judged.select("_verdict", "version", "_column").rows()
    expected = [
        (v, n if v != "failed" else None, c) for v, n, c in _one_by_one(rows, owners, latest)
    ]
    assert got == expected


def test_a_modification_a_duplicate_and_another_customer():
    frame = pl.DataFrame(
        [("L1", "C1", "ACME", "USD", "a"), ("L1", "C1", "ACME", "USD", "a"),
         ("L1", "C1", "ACME", "USD", "b"), ("L2", "C1", "GLOBEX", "USD", "c")],
        schema=["line_id", "contract_id", "customer_id", "currency", "content_hash"],
        orient="row",
    )  # fmt: skip
    judged = versions(
        frame,
        pl.DataFrame(schema={"contract_id": pl.String, "_customer": pl.String,
                             "_currency": pl.String}),
        pl.DataFrame([("L1", 2, "z")], schema={"line_id": pl.String, "_version": pl.Int64,
                                              "_stored": pl.String}, orient="row"),
    )  # fmt: skip
    assert judged.select("_verdict", "version", "_column", "_has").rows() == [
        ("accepted", 3, None, None),
        ("duplicate", 3, None, None),
        ("accepted", 4, None, None),
        ("failed", None, "customer_id", "ACME"),
    ]
