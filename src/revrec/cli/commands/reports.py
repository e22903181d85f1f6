"""`revrec report waterfall|liability|asset|insight|rpo|rollforward|reconcile` (SPEC §8)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from revrec.cli import render
from revrec.cli.commands.journals import PeriodOption
from revrec.cli.options import FormatOption, context
from revrec.cli.render import Format

if TYPE_CHECKING:
    from revrec.services.reports import Filters

report_app = typer.Typer(no_args_is_help=True, help="Reports (SPEC §8).")

OutputOption = Annotated[
    Path | None,
    typer.Option("--output", help="a .csv, .xlsx or .json file (the extension picks the format)"),
]
ContractOption = Annotated[str | None, typer.Option("--contract", help="one contract")]
CustomerOption = Annotated[str | None, typer.Option("--customer", help="one customer")]
ItemOption = Annotated[str | None, typer.Option("--item", help="one item code")]
TemplateOption = Annotated[str | None, typer.Option("--template", help="one POB template")]
CurrencyOption = Annotated[str | None, typer.Option("--currency", help="one currency")]
AttributeOption = Annotated[
    str | None, typer.Option("--attribute", help="NAME=VALUE: lines with this free attribute")
]
PeriodsOption = Annotated[
    int, typer.Option("--periods", help="how many periods (months) the report shows")
]
ByOption = Annotated[
    str, typer.Option("--by", help="rows per line, contract, customer, item or template")
]


def _filters(
    contract: str | None,
    customer: str | None,
    item: str | None,
    template: str | None,
    currency: str | None,
    attribute: str | None,
) -> Filters:
    from revrec.services.reports import Filters

    return Filters(contract, customer, item, template, currency, Filters.attribute_of(attribute))


def _show(
    cli: typer.Context,
    name: str,
    *,
    period: str | None,
    filters: Filters,
    output: Path | None,
    fmt: Format,
    by: str = "line",
    periods: int = 12,
) -> None:
    from revrec.services import report_files, reports

    if output is not None:
        report_files.check_output(output)
    found = reports.report(context(cli), name, period=period, filters=filters, by=by,
                           periods=periods)  # fmt: skip
    if output is not None:
        report_files.write(found, output)
        typer.echo(f"{name} {found.book} {found.period}: {found.rows.height} rows -> {output}")
        return
    rows, totals = report_files.shown(found)
    if fmt is Format.json:
        render.emit_json(report_files.document(found, rows, totals))
    elif fmt is Format.csv:
        render.frame(rows, fmt)
    else:
        render.table(rows, title=f"{name} {found.book} {found.period}")
        render.table(totals, title="totals per currency")


@report_app.command("waterfall")
def waterfall(
    cli: typer.Context,
    period: PeriodOption = None,
    by: ByOption = "line",
    periods: PeriodsOption = 12,
    contract: ContractOption = None,
    customer: CustomerOption = None,
    item: ItemOption = None,
    template: TemplateOption = None,
    currency: CurrencyOption = None,
    attribute: AttributeOption = None,
    output: OutputOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Revenue Waterfall: recognized to date, the next N periods, thereafter, total scheduled."""
    filters = _filters(contract, customer, item, template, currency, attribute)
    _show(cli, "waterfall", period=period, filters=filters, output=output, fmt=fmt, by=by,
          periods=periods)  # fmt: skip


def _contract_report(name: str, help_text: str) -> None:
    def command(
        cli: typer.Context,
        period: PeriodOption = None,
        contract: ContractOption = None,
        customer: CustomerOption = None,
        item: ItemOption = None,
        template: TemplateOption = None,
        currency: CurrencyOption = None,
        attribute: AttributeOption = None,
        output: OutputOption = None,
        fmt: FormatOption = Format.table,
    ) -> None:
        filters = _filters(contract, customer, item, template, currency, attribute)
        _show(cli, name, period=period, filters=filters, output=output, fmt=fmt)

    command.__doc__ = help_text
    report_app.command(name)(command)


_contract_report("liability", "Liability: deferred revenue per contract, opening to closing.")
_contract_report("asset", "Asset: the contract asset per contract, opening to closing.")
_contract_report("insight", "Revenue Insight: per contract, value to scheduled balance.")
_contract_report("rpo", "Remaining performance obligations: within 12 months and beyond.")


@report_app.command("rollforward")
def rollforward(
    cli: typer.Context,
    period: PeriodOption = None,
    periods: PeriodsOption = 12,
    contract: ContractOption = None,
    customer: CustomerOption = None,
    item: ItemOption = None,
    template: TemplateOption = None,
    currency: CurrencyOption = None,
    attribute: AttributeOption = None,
    output: OutputOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Roll-forward of deferred revenue and the contract asset, period by period."""
    filters = _filters(contract, customer, item, template, currency, attribute)
    _show(cli, "rollforward", period=period, filters=filters, output=output, fmt=fmt,
          periods=periods)  # fmt: skip


@report_app.command("reconcile")
def report_reconcile(
    cli: typer.Context, period: PeriodOption = None, fmt: FormatOption = Format.table
) -> None:
    """The reconciliation of a book's journal with the reports, figure by figure."""
    from revrec.services import columns, journals

    journal, checks = journals.reconciliation(context(cli), period)
    passed = all(c.passed for c in checks)
    rows = [c.as_json() for c in checks]
    if fmt is Format.json:
        render.emit_json({"report": "reconcile", "book": journal.book, "period": journal.period,
                          "pass": passed, "checks": rows})  # fmt: skip
    else:
        shown = [{**r, "left": str(r["left"]), "right": str(r["right"])} for r in rows]
        render.rows(shown, columns.CHECK_COLUMNS, fmt, title=f"{journal.book} {journal.period}")
    if not passed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
