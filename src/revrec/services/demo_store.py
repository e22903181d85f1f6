"""Loading the shipped examples into a store: `revrec init --demo` and the web app's demo."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
import yaml

import revrec
from revrec.errors import ConfigError
from revrec.services import process
from revrec.services import setup as setup_service
from revrec.services.imports import import_file

DEMO_FIRST_PERIOD = "2024-03"
IMPORTS = (
    ("sales_orders.csv", "sales_order", "revrec", None),
    ("billings.csv", "billing", "revrec", None),
    ("costs.csv", "cost", "revrec", None),
    ("recurly_revenue_schedules.csv", "billing", "recurly", None),
    ("events_milestone.csv", "event", "revrec", "milestone"),
)


def examples_folder() -> Path:
    """examples/ of a source checkout, or the copy packaged inside the wheel."""
    package = Path(revrec.__file__).parent
    for candidate in (package.parents[1] / "examples", package / "examples"):
        if (candidate / "setup.yaml").exists():
            return candidate
    raise ConfigError("the example files are not installed with this copy of revrec")


def load_demo(engine: sa.Engine, *, user: str, now: datetime) -> None:
    folder = examples_folder()
    with engine.begin() as conn:
        document = yaml.safe_load((folder / "setup.yaml").read_text(encoding="utf-8"))
        setup_service.load(conn, document, user=user, now=now)
    for name, upload_type, mapping, event in IMPORTS:
        with engine.begin() as conn:
            import_file(
                conn,
                folder / name,
                upload_type,
                mapping_name=mapping,
                user=user,
                now=now,
                event_name=event,
            )
        process.run(engine, user=user, now=now)
