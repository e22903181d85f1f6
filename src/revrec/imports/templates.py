"""POB templates as a frame: template name -> recognition method and its parameters.

No I/O: the store or the setup file supplies the rows; this module only shapes them.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from revrec.imports.checks import names


@dataclass(frozen=True)
class PobTemplate:
    name: str
    method: str
    convention: str | None = None
    at: str | None = None
    events: tuple[str, ...] = ()


DEFAULT_TEMPLATES = (
    PobTemplate("ratable_daily", "ratable_daily"),
    PobTemplate("monthly_prorate", "ratable_monthly", convention="prorate_days"),
    PobTemplate("monthly_full", "ratable_monthly", convention="full_month"),
    PobTemplate("monthly_mid", "ratable_monthly", convention="mid_month"),
    PobTemplate("license_pit", "point_in_time", at="start"),
    PobTemplate("delivery_end", "point_in_time", at="end"),
    PobTemplate("milestone_evt", "event", events=("milestone",)),
    PobTemplate("usage_billing", "upon_billing"),
)


def template_frame(templates: tuple[PobTemplate, ...] = DEFAULT_TEMPLATES) -> pl.DataFrame:
    return pl.DataFrame(
        [(t.name, t.method, t.convention, t.at) for t in templates],
        schema={
            "pob_template": pl.String,
            "method": pl.String,
            "convention": pl.String,
            "at": pl.String,
        },
        orient="row",
    )


def with_templates(frame: pl.DataFrame, templates: pl.DataFrame) -> tuple[pl.DataFrame, pl.Expr]:
    """Join each row's `pob_template` to `_method`, `_convention`, `_at`; and the message for a
    template name that is given but unknown."""
    known = templates.select(
        "pob_template",
        pl.col("method").alias("_method"),
        pl.col("convention").alias("_convention"),
        pl.col("at").alias("_at"),
    ).unique("pob_template", keep="first", maintain_order=True)
    shown = names(known["pob_template"].drop_nulls().to_list())
    message = pl.when(pl.col("pob_template").is_not_null() & pl.col("_method").is_null()).then(
        pl.concat_str(
            pl.lit("unknown POB template '"),
            pl.col("pob_template"),
            pl.lit(f"': expected one of {shown or '(no templates are set up)'}"),
        )
    )
    return frame.join(known, on="pob_template", how="left", maintain_order="left"), message
