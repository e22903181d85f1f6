"""The mappings repository (store.mappings): a user mapping's rows replaced per upload type."""

import pytest

from revrec.imports.mappings import SHIPPED, from_rows, to_rows
from revrec.store import db
from revrec.store import mappings as store


@pytest.fixture
def conn(db_url):
    engine = db.engine(db_url)
    db.migrate(engine)
    with engine.begin() as connection:
        yield connection
    engine.dispose()


def _renamed(mapping, name):
    return [{**row, "mapping": name} for row in to_rows(mapping)]


def test_a_mapping_is_replaced_per_upload_type_and_read_back_by_name(conn):
    billing, cost = SHIPPED["revrec", "billing"], SHIPPED["revrec", "cost"]
    store.replace(conn, "mine", "billing", _renamed(billing, "mine"))
    store.replace(conn, "mine", "billing", _renamed(billing, "mine"))
    store.replace(conn, "mine", "cost", _renamed(cost, "mine"))
    store.replace(conn, "other", "cost", _renamed(cost, "other"))
    mine = from_rows(store.rows(conn, "mine"))
    assert sorted(m.upload_type for m in mine) == ["billing", "cost"]
    assert {m.upload_type: m.attributes for m in mine}["billing"] == billing.attributes
    assert len(from_rows(store.rows(conn))) == 3


def test_the_longest_names_the_table_holds():
    assert store.max_lengths() == {"mapping": 64, "upload_type": 32, "attribute": 64,
                                   "upload_name": 128, "type": 16}  # fmt: skip
